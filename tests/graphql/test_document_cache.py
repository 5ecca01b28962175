"""Parsed and validated documents are kept between requests, without weakening any check."""

from unittest import mock

from graphql import DocumentNode, validate

from tests.factories import Caller
from tests.graphql.conftest import Post, data

VIEWER = "query Me { viewer { party { id } } }"


async def test_a_repeated_document_is_validated_once(gql: Post, developer: Caller) -> None:
    # A document no other test sends, so that the first request is sure to validate it.
    query = "query DocumentCacheOnce { viewer { party { name } } }"
    with mock.patch("strawberry.schema.schema.validate", wraps=validate) as validating:
        first = data(await gql(query, caller=developer))
        second = data(await gql(query, caller=developer))
    assert first == second
    assert validating.call_count == 1


async def test_a_repeated_document_is_not_hashed_again(gql: Post, developer: Caller) -> None:
    # Hashing a document walks its whole tree, node by node: a cached one is known by identity.
    query = "query DocumentCacheKnown { viewer { party { name } } }"
    first = data(await gql(query, caller=developer))
    with mock.patch.object(DocumentNode, "__hash__", autospec=True) as hashing:
        second = data(await gql(query, caller=developer))
    assert second == first
    assert hashing.call_count == 0


async def test_a_cached_document_still_meets_every_check(gql: Post, developer: Caller) -> None:
    assert data(await gql(VIEWER, caller=developer))["viewer"]["party"]["id"]
    # The same document with a refused key, without one, and with a variable too long.
    refused = await gql(VIEWER, caller=Caller(developer.principal, "lumen_0000000_nope"))
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    anonymous = await gql(VIEWER)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    search = "query P($text: String!) { locations(first: 1, search: $text) { totalCount } }"
    long_text = "x" * 20_000
    too_long = await gql(search, {"text": long_text}, caller=developer)
    assert too_long["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_invalid_document_is_refused_each_time(gql: Post, developer: Caller) -> None:
    for _ in range(2):
        answer = await gql("{ viewer { noSuchField } }", caller=developer)
        assert "noSuchField" in answer["errors"][0]["message"]
        assert answer["data"] is None
