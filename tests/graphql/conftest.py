"""GraphQL helpers: post an operation as a caller and read the answer."""

from collections.abc import Awaitable
from typing import Any, Protocol

import httpx
import pytest

from schema.execution import LeanExecutionContext
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


@pytest.fixture
def completions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The types whose values graphql-core's own completion is asked for, as they come."""
    completed: list[str] = []
    complete_value = LeanExecutionContext.complete_value

    def counting(self: LeanExecutionContext, *args: Any, **kwargs: Any) -> Any:
        completed.append(str(args[0]))
        return complete_value(self, *args, **kwargs)

    monkeypatch.setattr(LeanExecutionContext, "complete_value", counting)
    return completed
