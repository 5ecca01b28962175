"""A deprecated GraphQL field still answers beside its successor."""

from sqlmodel.ext.asyncio.session import AsyncSession

from tests.factories import Caller, make_order
from tests.graphql.conftest import Post, data

EVENTS = "{ viewer { events(first: 5) { nodes { entity entityKind } } } }"


async def test_an_event_names_its_entity_kind_and_still_its_entity(
    gql: Post, session: AsyncSession, developer: Caller
) -> None:
    await make_order(session, developer)
    await session.commit()

    nodes = data(await gql(EVENTS, caller=developer))["viewer"]["events"]["nodes"]

    assert {"entity": "order", "entityKind": "ORDER"} in nodes
