"""GraphQL helpers: post an operation as a caller and read the answer."""

from collections.abc import Awaitable
from typing import Any, Protocol

import httpx
import pytest

from tests.factories import Caller

Answer = dict[str, Any]


class Post(Protocol):
    """Posts one GraphQL operation, optionally as a caller."""

    def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None = None
    ) -> Awaitable[Answer]: ...


@pytest.fixture
def gql(client: httpx.AsyncClient) -> Post:
    """POST /graphql and return the JSON answer (any HTTP status)."""

    async def post(
        query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None = None
    ) -> Answer:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=caller.headers if caller else {},
        )
        answer: Answer = response.json()
        return answer

    return post


def data(answer: Answer) -> dict[str, Any]:
    """The `data` of an answer that must have no errors."""
    assert "errors" not in answer, answer.get("errors")
    result: dict[str, Any] = answer["data"]
    return result
