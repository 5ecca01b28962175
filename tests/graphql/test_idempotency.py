"""`idempotencyKey` on buying mutations: one order and one quote per key, retries replayed."""

import asyncio
from typing import Any

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import ordering, quoting
from tests.factories import Caller
from tests.graphql.conftest import Post, data

CONCURRENT_RETRIES = 50
ORDER_CONNECTION = """
mutation Buy($input: OrderConnectionInput!) {
  orderConnection(input: $input) {
    order { id }
    quote { id }
    replayed
    userErrors { field code message }
  }
}
"""
HEADLINE = {
    "aEnd": {"address": "350 E Cermak Rd, Chicago, IL 60616"},
    "zEnd": {"address": "60 Hudson St, New York, NY 10013"},
    "bandwidthMbps": 1000,
    "termMonths": 12,
}


async def _count(session: AsyncSession, table: Any) -> int:
    count: int = (await session.exec(select(func.count()).select_from(table))).one()
    return count


async def _buy(gql: Post, caller: Caller, **changes: Any) -> dict[str, Any]:
    answer = await gql(ORDER_CONNECTION, {"input": HEADLINE | changes}, caller=caller)
    result: dict[str, Any] = data(answer)["orderConnection"]
    return result


async def test_concurrent_retries_make_one_quote_and_one_order(
    gql: Post, developer: Caller, session: AsyncSession
) -> None:
    answers = await asyncio.gather(
        *(_buy(gql, developer, idempotencyKey="race") for _ in range(CONCURRENT_RETRIES))
    )
    bought = [a for a in answers if a["order"] is not None]
    waited_too_long = [a for a in answers if a["order"] is None]
    for refused in waited_too_long:
        assert [e["code"] for e in refused["userErrors"]] == ["IDEMPOTENCY_KEY_IN_USE"]
    assert bought
    assert all(a["userErrors"] == [] for a in bought)
    assert len({a["order"]["id"] for a in bought}) == 1
    assert len({a["quote"]["id"] for a in bought}) == 1
    assert sorted(a["replayed"] for a in bought) == [False] + [True] * (len(bought) - 1)
    assert await _count(session, ordering.Order) == 1
    assert await _count(session, quoting.Quote) == 1


async def test_the_same_key_for_another_connection_is_refused(
    gql: Post, developer: Caller, session: AsyncSession
) -> None:
    first = await _buy(gql, developer, idempotencyKey="k")
    other = await _buy(gql, developer, idempotencyKey="k", bandwidthMbps=500)
    assert other["order"] is None
    assert other["userErrors"] == [
        {
            "field": "idempotencyKey",
            "code": "IDEMPOTENCY_KEY_REUSED",
            "message": "this idempotency key was used for a different request",
        }
    ]
    again = await _buy(gql, developer, idempotencyKey="k")
    assert (again["order"], again["replayed"]) == (first["order"], True)
    assert await _count(session, ordering.Order) == 1
    assert await _count(session, quoting.Quote) == 1


async def test_another_party_with_the_same_key_gets_its_own_order(
    gql: Post, developer: Caller, other_developer: Caller, session: AsyncSession
) -> None:
    mine = await _buy(gql, developer, idempotencyKey="shared")
    theirs = await _buy(gql, other_developer, idempotencyKey="shared")
    assert mine["order"]["id"] != theirs["order"]["id"]
    assert (mine["replayed"], theirs["replayed"]) == (False, False)
    assert await _count(session, ordering.Order) == 2


async def test_a_refused_purchase_keeps_the_key_free(
    gql: Post, developer: Caller, session: AsyncSession
) -> None:
    refused = await _buy(gql, developer, idempotencyKey="k", bandwidthMbps=300)
    assert refused["order"] is None
    assert refused["userErrors"]
    fixed = await _buy(gql, developer, idempotencyKey="k")
    assert fixed["order"] is not None
    assert fixed["replayed"] is False
    assert await _count(session, quoting.Quote) == 1


async def test_accepting_a_quote_twice_with_a_key_orders_once(
    gql: Post, developer: Caller, session: AsyncSession
) -> None:
    quote = data(
        await gql(
            """mutation($input: RequestQuoteInput!) {
                 requestQuote(input: $input) { quote { id } userErrors { code } } }""",
            {"input": {"items": [HEADLINE | {"product": "ETHERNET_LINE"}]}},
            caller=developer,
        )
    )["requestQuote"]["quote"]
    accept = """mutation($input: AcceptQuoteInput!) {
                  acceptQuote(input: $input) { order { id } userErrors { code } } }"""
    variables = {"input": {"quoteId": quote["id"], "idempotencyKey": "accept-1"}}
    answers = await asyncio.gather(*(gql(accept, variables, caller=developer) for _ in range(5)))
    orders = {data(a)["acceptQuote"]["order"]["id"] for a in answers}
    assert len(orders) == 1
    assert await _count(session, ordering.Order) == 1
