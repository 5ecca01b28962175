"""An order's items and their relations read ahead of execution answer exactly as when each
field loads them itself, however the query reaches them (fragments, aliases, `edges`)."""

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.db import Database
from tests.factories import Caller, make_order
from tests.graphql.conftest import Post, data
from tests.statements import counting

ITEM = "state product { code } aEnd { name } zEnd { name } service { id }"
# `node` through a named fragment, an aliased field and an inline fragment on the interface.
NODE = f"""
query Node($id: ID!) {{
  node(id: $id) {{ ...Order ... on Node {{ id }} }}
}}
fragment Order on Order {{ id lines: items {{ ... on OrderItem {{ {ITEM} }} }} quote {{ id }} }}
"""
LIST = f"""
{{ viewer {{ orders(first: 5) {{
  edges {{ node {{ id lines: items {{ {ITEM} }} quote {{ id }} }} }}
  nodes {{ id }}
}} }} }}
"""
# Payloads of mutations hand out orders that were not read ahead: their fields load them.
CANCEL = f"""
mutation Cancel($id: ID!) {{
  cancelOrder(input: {{orderId: $id, reason: "changed plans"}}) {{
    order {{ id lines: items {{ {ITEM} }} quote {{ id }} }} userErrors {{ code }}
  }}
}}
"""


def _without_state(order: dict[str, Any]) -> dict[str, Any]:
    """The order as read ahead, less what a cancellation changes."""
    return order | {
        "lines": [{k: v for k, v in line.items() if k != "state"} for line in order["lines"]]
    }


async def test_items_read_ahead_answer_as_loaded_ones(
    gql: Post, database: Database, session: AsyncSession, developer: Caller
) -> None:
    await make_order(session, developer)
    await make_order(session, developer)
    listed = data(await gql(LIST, caller=developer))["viewer"]["orders"]
    assert len(listed["edges"]) == 2
    order = listed["edges"][0]["node"]
    assert all(edge["node"]["lines"][0]["product"]["code"] for edge in listed["edges"])

    with counting(database) as statements:
        node = data(await gql(NODE, {"id": order["id"]}, caller=developer))["node"]
    assert node == order
    # The order, then its items, offerings and sites (the quote is none): one batch each.
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 5

    cancelled = data(await gql(CANCEL, {"id": order["id"]}, caller=developer))["cancelOrder"]
    assert cancelled["userErrors"] == []
    assert _without_state(cancelled["order"]) == _without_state(order)
