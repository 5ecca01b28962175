"""Depth, token, alias and cost limits; error masking; no batching; the exported schema."""

from pathlib import Path

import httpx
import pytest

from app.core import catalog
from schema.root import MAX_ALIASES, MAX_COST, MAX_DEPTH, schema
from tests.factories import Caller
from tests.graphql.conftest import Post, data

SCHEMA_FILE = Path(__file__).parents[2] / "schema.graphql"


async def test_every_answer_reports_its_cost(gql: Post) -> None:
    answer = await gql("{ productOfferings(first: 3) { totalCount nodes { name } } }")
    assert data(answer)["productOfferings"]["totalCount"] == 3
    # productOfferings (1) + totalCount (1) + 3 x (nodes (1) + name (1))
    assert answer["extensions"]["cost"] == {"requested": 8, "maximum": MAX_COST}


async def test_an_expensive_query_is_refused_before_it_runs(gql: Post, developer: Caller) -> None:
    nested = """{ viewer { orders(first: 100) { edges { node { items { product { name }
                 aEnd { location { locations: name } } } } } } }
                 a: productOfferings(first: 100) { nodes { name } } }"""
    cheap = await gql(nested, caller=developer)
    assert "errors" not in cheap
    costly = (
        "{ "
        + " ".join(
            f"l{i}: locations(first: 100) {{ edges {{ node {{ name address {{ line city state }} "
            f"serviceability {{ level distanceKm }} }} }} }}"
            for i in range(12)
        )
        + " }"
    )
    refused = await gql(costly)
    assert refused["data"] is None
    error = refused["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_EXPENSIVE"
    assert error["extensions"]["cost"] > MAX_COST


async def test_deep_queries_are_refused(gql: Post) -> None:
    deep = "{ productOfferings { " + "edges { node { " * 7 + "name" + " } }" * 7 + " } }"
    answer = await gql(deep)
    assert answer["data"] is None
    assert "exceeds maximum operation depth" in answer["errors"][0]["message"]
    assert MAX_DEPTH < 7 * 2 + 1


async def test_too_many_aliases_are_refused(gql: Post) -> None:
    aliased = (
        "{ "
        + " ".join(f"a{i}: productOfferings {{ totalCount }}" for i in range(MAX_ALIASES + 1))
        + " }"
    )
    answer = await gql(aliased)
    assert answer["data"] is None
    assert "aliases" in answer["errors"][0]["message"]


async def test_page_sizes_are_capped_at_100(gql: Post) -> None:
    answer = await gql("{ locations(first: 101) { totalCount } }")
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unexpected_errors_are_masked(gql: Post, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(catalog, "list_offerings", broken)
    answer = await gql("{ productOfferings { totalCount } }")
    assert answer["errors"][0]["message"] == "Unexpected error."
    assert "hunter2" not in str(answer)


async def test_batched_requests_are_not_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json=[{"query": "{ productOfferings { totalCount } }"}] * 2
    )
    assert response.status_code == 400


async def test_graphiql_is_served_in_development(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_the_served_schema_is_the_exported_one() -> None:
    assert SCHEMA_FILE.read_text() == str(schema) + "\n", (
        "the schema changed: run `lumen export-schema` and commit schema.graphql"
    )
