"""A GraphQL answer leaves what it read (rows, views, loaders) to be freed at once as the
request ends, not to the garbage collector, whose pauses grow with the requests in flight and
hold up every other request (a health probe among them)."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm.state import InstanceState
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from resolvers.context import GraphQLContext
from resolvers.loaders import Loaders
from schema.execution import LeanExecutionContext
from tests.factories import Caller, make_product
from tests.graphql.conftest import Post, data

ORDERS = """{ viewer { orders(first: 10) { totalCount nodes { id price { monthlyRecurring }
  items { state product { code } aEnd { name } zEnd { name } } } } } }"""


@contextmanager
def cyclic_garbage() -> Iterator[list[object]]:
    """What the block leaves that only the garbage collector can free."""
    gc.collect()
    left: list[object] = []
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield left
        gc.collect()
        left.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


async def test_a_page_of_orders_is_freed_as_its_request_ends(
    gql: Post, session: AsyncSession, developer: Caller
) -> None:
    for _ in range(3):
        await make_product(session, developer)
    await gql(ORDERS, caller=developer)  # plans and caches made on first use
    with cyclic_garbage() as left:
        answer = data(await gql(ORDERS, caller=developer))
    assert answer["viewer"]["orders"]["totalCount"] == 3
    kept = [o for o in left if isinstance(o, SQLModel | InstanceState | Loaders)]
    assert kept == []
    # Nor the execution, nor the request's context with its session.
    assert [o for o in left if isinstance(o, LeanExecutionContext | GraphQLContext)] == []
