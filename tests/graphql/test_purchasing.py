"""The headline call and its siblings: one mutation from addresses to an order."""

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import ordering, quoting
from app.core.parties import Audience, Principal
from tests.factories import Caller
from tests.graphql.conftest import Post, data

ORDER_CONNECTION = """
mutation Buy($input: OrderConnectionInput!) {
  orderConnection(input: $input) {
    order {
      id state channel price { monthlyRecurring oneTime currency }
      items { state product { code } aEnd { name } zEnd { name } }
    }
    quote { id state }
    price { monthlyRecurring oneTime currency }
    confidence serviceability leadTimeDays dryRun replayed
    aEnd { name address { line } }
    userErrors { field code message alternatives }
  }
}
"""

HEADLINE = {
    "aEnd": {"address": "350 E Cermak Rd, Chicago, IL 60616"},
    "zEnd": {"address": "60 Hudson St, New York, NY 10013"},
    "bandwidthMbps": 1000,
    "termMonths": 12,
}


async def _buy(gql: Post, caller: Caller, **changes: Any) -> dict[str, Any]:
    answer = await gql(ORDER_CONNECTION, {"input": HEADLINE | changes}, caller=caller)
    result: dict[str, Any] = data(answer)["orderConnection"]
    return result


async def _orders(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(ordering.Order))).one()


async def test_the_headline_call_orders_a_connection(
    gql: Post, developer: Caller, session: AsyncSession
) -> None:
    bought = await _buy(gql, developer, idempotencyKey="my-first-order")
    assert bought["userErrors"] == []
    order = bought["order"]
    assert order["state"] == "ACKNOWLEDGED"
    assert order["channel"] == "GRAPHQL"
    assert order["price"]["currency"] == "USD"
    assert Decimal(order["price"]["monthlyRecurring"]) > 0
    assert order["price"] == bought["price"]
    assert order["items"][0]["product"]["code"] == "ethernet-line"
    assert order["items"][0]["aEnd"]["name"] == "Lakeside Technology Center"
    assert order["items"][0]["zEnd"]["name"] == "60 Hudson Street"
    assert bought["quote"]["state"] == "ACCEPTED"
    assert (bought["confidence"], bought["serviceability"]) == ("GREEN", "ON_NET")
    assert bought["aEnd"]["address"]["line"] == "350 E Cermak Rd, Chicago, IL 60616"
    assert await _orders(session) == 1


async def test_a_dry_run_prices_and_buys_nothing(
    gql: Post, developer: Caller, session: AsyncSession
) -> None:
    priced = await _buy(gql, developer, dryRun=True)
    assert priced["userErrors"] == []
    assert priced["dryRun"] is True
    assert priced["order"] is None
    assert priced["quote"] is None
    assert Decimal(priced["price"]["monthlyRecurring"]) > 0
    assert await _orders(session) == 0
    bought = await _buy(gql, developer)
    assert bought["order"]["price"] == priced["price"]


async def test_a_retry_with_the_same_key_returns_the_same_order(
    gql: Post, developer: Caller, session: AsyncSession
) -> None:
    first = await _buy(gql, developer, idempotencyKey="k1")
    again = await _buy(gql, developer, idempotencyKey="k1")
    assert again["order"]["id"] == first["order"]["id"]
    assert again["replayed"] is True
    assert await _orders(session) == 1
    quotes = (await session.exec(select(func.count()).select_from(quoting.Quote))).one()
    assert quotes == 1

    other = await _buy(gql, developer, idempotencyKey="k1", bandwidthMbps=500)
    assert other["order"] is None
    assert [e["code"] for e in other["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await _orders(session) == 1


async def test_an_address_that_does_not_match_offers_alternates(
    gql: Post, developer: Caller, session: AsyncSession
) -> None:
    refused = await _buy(gql, developer, aEnd={"address": "350 Cermak, Chicago"})
    assert refused["order"] is None
    [error] = refused["userErrors"]
    assert (error["field"], error["code"]) == ("aEnd", "ADDRESS_NOT_FOUND")
    assert "350 E Cermak Rd, Chicago, IL 60616" in error["alternatives"]
    assert await _orders(session) == 0


async def test_both_bad_addresses_are_reported_at_once(gql: Post, developer: Caller) -> None:
    refused = await _buy(
        gql,
        developer,
        aEnd={"address": "1 Nowhere Lane, Atlantis"},
        zEnd={"address": "2 Elsewhere Road, Lemuria"},
    )
    assert [e["field"] for e in refused["userErrors"]] == ["aEnd", "zEnd"]


async def test_a_bandwidth_we_do_not_sell_is_refused_with_alternatives(
    gql: Post, developer: Caller, session: AsyncSession
) -> None:
    refused = await _buy(gql, developer, bandwidthMbps=300)
    [error] = refused["userErrors"]
    assert (error["field"], error["code"]) == ("bandwidthMbps", "UNSUPPORTED_BANDWIDTH")
    assert error["alternatives"] == ["200 Mbps", "500 Mbps"]
    assert await _orders(session) == 0


@pytest.mark.usefixtures("partner_covers_off_net")
async def test_a_connection_that_cannot_be_delivered_suggests_a_speed(
    gql: Post, developer: Caller
) -> None:
    refused = await _buy(
        gql,
        developer,
        aEnd={"address": "7135 S Decatur Blvd, Las Vegas, NV 89118"},
        bandwidthMbps=100000,
    )
    [error] = refused["userErrors"]
    assert error["code"] == "NOT_SERVICEABLE"
    assert error["alternatives"][0].startswith("10000 Mbps")


async def test_buying_needs_an_api_key(gql: Post) -> None:
    answer = await gql(ORDER_CONNECTION, {"input": HEADLINE})
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    stranger = Caller(Principal(party_id="nobody", audience=Audience.DEVELOPER), "lumen_x_y")
    bad = await gql(ORDER_CONNECTION, {"input": HEADLINE}, caller=stranger)
    assert bad["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_internet_access_and_ports(gql: Post, developer: Caller) -> None:
    internet = data(
        await gql(
            """mutation($i: OrderInternetAccessInput!) { orderInternetAccess(input: $i) {
             order { state items { product { kind } bandwidthMbps aEnd { name } zEnd { name } } }
             userErrors { field code } } }""",
            {
                "i": {
                    "site": {
                        "streetNumber": "1950",
                        "streetName": "N Stemmons Fwy",
                        "city": "Dallas",
                        "state": "TX",
                        "postcode": "75207",
                    },
                    "bandwidthMbps": 500,
                    "termMonths": 36,
                }
            },
            caller=developer,
        )
    )["orderInternetAccess"]
    assert internet["userErrors"] == []
    item = internet["order"]["items"][0]
    assert item["product"]["kind"] == "INTERNET_ACCESS"
    assert item["zEnd"] is None
    port = data(
        await gql(
            """mutation($i: OrderPortInput!) { orderPort(input: $i) {
             order { items { bandwidthMbps product { kind } } } userErrors { field code } } }""",
            {
                "i": {
                    "site": {"address": "624 S Grand Ave, Los Angeles, CA 90017"},
                    "speedMbps": 2000,
                    "termMonths": 12,
                }
            },
            caller=developer,
        )
    )["orderPort"]
    assert port["userErrors"] == [{"field": "speedMbps", "code": "UNSUPPORTED_BANDWIDTH"}]


async def test_a_newcomer_can_price_without_a_key(gql: Post) -> None:
    priced = data(
        await gql(
            """{ price(input: {product: ETHERNET_LINE, aEnd: {address: "111 8th Ave, New York, NY"},
                           zEnd: {address: "165 Halsey St, Newark, NJ"},
                           bandwidthMbps: 10000, termMonths: 36}) {
               price { monthlyRecurring oneTime currency } confidence leadTimeDays
               userErrors { code } } }"""
        )
    )["price"]
    assert priced["userErrors"] == []
    assert priced["confidence"] == "GREEN"
    assert Decimal(priced["price"]["oneTime"]) >= 0


async def test_quote_then_accept(gql: Post, developer: Caller, other_developer: Caller) -> None:
    quoted = data(
        await gql(
            """mutation($i: RequestQuoteInput!) { requestQuote(input: $i) {
             quote { id kind state validUntil price { monthlyRecurring }
                     items { confidence aEnd { name } zEnd { name } } }
             userErrors { field code } } }""",
            {
                "i": {
                    "items": [
                        {
                            "product": "ETHERNET_LINE",
                            "aEnd": HEADLINE["aEnd"],
                            "zEnd": HEADLINE["zEnd"],
                            "bandwidthMbps": 1000,
                            "termMonths": 24,
                        },
                        {
                            "product": "INTERNET_ACCESS",
                            "aEnd": HEADLINE["zEnd"],
                            "bandwidthMbps": 100,
                            "termMonths": 24,
                        },
                    ]
                }
            },
            caller=developer,
        )
    )["requestQuote"]
    quote = quoted["quote"]
    assert (quote["kind"], quote["state"]) == ("FIRM", "APPROVED_ORDERABLE")
    assert len(quote["items"]) == 2
    accept = """mutation($i: AcceptQuoteInput!) { acceptQuote(input: $i) {
                  order { state items { position } quote { id state } }
                  userErrors { field code } } }"""
    stolen = data(await gql(accept, {"i": {"quoteId": quote["id"]}}, caller=other_developer))[
        "acceptQuote"
    ]
    assert stolen == {"order": None, "userErrors": [{"field": "quoteId", "code": "NOT_FOUND"}]}
    accepted = data(await gql(accept, {"i": {"quoteId": quote["id"]}}, caller=developer))[
        "acceptQuote"
    ]
    assert accepted["userErrors"] == []
    assert [i["position"] for i in accepted["order"]["items"]] == [1, 2]
    assert accepted["order"]["quote"] == {"id": quote["id"], "state": "ACCEPTED"}


async def test_a_quote_item_with_a_bad_address_names_the_item(gql: Post, developer: Caller) -> None:
    quoted = data(
        await gql(
            """mutation($i: RequestQuoteInput!) { requestQuote(input: $i) {
             quote { id } userErrors { field code } } }""",
            {
                "i": {
                    "items": [
                        {
                            "product": "INTERNET_ACCESS",
                            "aEnd": {"address": "nowhere at all"},
                            "bandwidthMbps": 100,
                            "termMonths": 24,
                        }
                    ]
                }
            },
            caller=developer,
        )
    )["requestQuote"]
    assert quoted == {
        "quote": None,
        "userErrors": [{"field": "items[0].aEnd", "code": "ADDRESS_NOT_FOUND"}],
    }
