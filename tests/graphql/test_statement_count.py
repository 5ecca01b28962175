"""Relations load in batches: a page of 50 orders costs as many statements as a page of 5."""

from unittest.mock import ANY

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.db import Database
from tests.factories import Caller, make_order, make_product, make_ticket
from tests.graphql.conftest import Post, data
from tests.statements import copies, counting

ORDERS = """
query Orders($first: Int!) {
  viewer {
    orders(first: $first) {
      totalCount
      edges { node {
        id state price { monthlyRecurring }
        quote { id }
        items {
          state product { name bandwidthsMbps }
          aEnd { name location { name address { line } serviceability { level } } }
          zEnd { name location { name } }
          service { id state aEnd { name } product { code } }
        }
      } }
    }
    tickets(first: $first) { nodes { id service { id name } notes { text } } }
  }
}
"""


async def _statements_for(gql: Post, database: Database, caller: Caller, first: int) -> int:
    with counting(database) as statements:
        answer = data(await gql(ORDERS, {"first": first}, caller=caller))
    assert len(answer["viewer"]["orders"]["edges"]) == first
    return len(statements)


async def test_fifty_orders_cost_the_same_statements_as_five(
    gql: Post, database: Database, session: AsyncSession, developer: Caller
) -> None:
    async def add(count: int) -> None:
        for _ in range(count):
            product = await make_product(session, developer)
            await make_ticket(session, developer, product_id=product.id)

    await add(5)
    few = await _statements_for(gql, database, developer, 5)
    await add(45)
    many = await _statements_for(gql, database, developer, 50)
    assert many == few
    # Key check, counts and pages, then one batch per relation: a small, fixed number.
    assert few <= 16


async def test_a_hundred_orders_with_items_cost_the_same_statements_as_ten(
    gql: Post, database: Database, session: AsyncSession, developer: Caller
) -> None:
    placed = await make_order(session, developer)
    item = placed.items[0]

    async def more(count: int, prefix: str) -> None:
        # One INSERT per table, however many orders.
        await copies(session, placed.order, count, lambda n: {"id": f"ord_{prefix}{n}"})
        await copies(
            session,
            item,
            count,
            lambda n: {"id": f"oi_{prefix}{n}", "order_id": f"ord_{prefix}{n}"},
        )

    await more(9, "ten")
    ten = await _statements_for(gql, database, developer, 10)
    await more(90, "hundred")
    hundred = await _statements_for(gql, database, developer, 100)
    assert hundred == ten


async def test_a_list_is_counted_only_when_its_total_is_asked(
    gql: Post, database: Database, session: AsyncSession, developer: Caller
) -> None:
    await make_order(session, developer)
    query = "query { viewer { orders(first: 5) { %s edges { node { id } } } } }"
    answers, runs = [], []
    for asked in (
        "totalCount",
        "... on OrderConnection { totalCount }",
        "pageInfo { hasNextPage }",
    ):
        with counting(database) as statements:
            answers.append(data(await gql(query % asked, caller=developer)))
        runs.append(statements)
    counted, in_fragment, uncounted = runs
    assert [len(s) for s in runs] == [len(counted), len(counted), len(counted) - 1]
    assert any("count(" in s.lower() for s in in_fragment)
    assert not any("count(" in s.lower() for s in uncounted)
    assert answers[0] == answers[1] == {"viewer": {"orders": {"totalCount": 1, "edges": [ANY]}}}
    assert answers[2]["viewer"]["orders"]["pageInfo"] == {"hasNextPage": False}
