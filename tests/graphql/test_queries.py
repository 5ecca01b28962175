"""The read side: the viewer's connections, Relay paging, nodes, reference data and ops figures."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import to_base64

from app.core import billing, clock, inventory, ordering, quoting, tickets
from app.core.catalog import STANDARD_OFFERINGS
from app.core.events import Channel, Event
from app.core.geography import list_sites
from app.core.ordering import ItemAction, ItemRequest
from app.core.quoting import QuoteKind
from app.core.tickets import Severity
from tests.factories import (
    DALLAS,
    LA_NEAR_NET,
    NEW_YORK,
    Caller,
    complete,
    line_spec,
    make_order,
    make_product,
    make_ticket,
)
from tests.graphql.conftest import Answer, Post, data


def gid(type_name: str, core_id: str) -> str:
    """The Relay global id of a core object."""
    return to_base64(type_name, core_id)


def ids(connection: dict[str, Any]) -> list[str]:
    """The ids of a connection's nodes, in page order."""
    return [node["id"] for node in connection["nodes"]]


def error_code(answer: Answer) -> str:
    """The code of an answer's only error."""
    [error] = answer["errors"]
    code: str = error["extensions"]["code"]
    return code


class StoppedClock:
    """The core's clock, standing still until a test moves it."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC).replace(microsecond=0)
        clock.set_clock(lambda: self.at)

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.at += timedelta(**delta)


VIEWER = """
query {
  viewer {
    party { id name audience }
    sites(first: 100) { totalCount nodes { id location { name } } }
    orders(first: 100) { totalCount nodes { id channel state } }
    acknowledged: orders(state: [ACKNOWLEDGED], first: 100) { totalCount nodes { id } }
    sonata: orders(channel: SONATA, first: 100) { totalCount nodes { id channel } }
    sonataDone: orders(channel: SONATA, state: [COMPLETED]) { totalCount }
    services(first: 100) { totalCount nodes { id state } }
    terminated: services(state: [TERMINATED]) { totalCount nodes { id } }
    inService: services(state: [ACTIVE, SUSPENDED]) { totalCount nodes { id } }
    quotes(first: 100) { totalCount nodes { id kind } }
    tickets(first: 100) { totalCount nodes { id service { id } } }
    openTickets: tickets(state: [ACKNOWLEDGED]) { totalCount nodes { id } }
    invoices(first: 100) { totalCount nodes { id kind } }
    events(first: 100) { totalCount nodes { id entity entityId } }
  }
}
"""


async def _events_of(session: AsyncSession, party_id: str) -> list[str]:
    found = await session.exec(select(Event.id).where(Event.party_id == party_id))
    return list(found.all())


async def test_the_viewer_sees_its_own_objects_and_nothing_else(
    gql: Post, session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    kept = await make_product(session, developer)
    ticket = await make_ticket(session, developer, product_id=kept.id)
    gone = await make_product(session, developer, spec=await line_spec(session, DALLAS, NEW_YORK))
    disconnect = await ordering.place(
        session,
        principal=developer.principal,
        channel=Channel.GRAPHQL,
        items=[ItemRequest(action=ItemAction.DELETE, product_id=gone.id)],
    )
    await complete(session, disconnect.order)
    in_flight = await make_order(session, developer)
    partner = await make_order(
        session, developer, channel=Channel.SONATA, spec=await line_spec(session, LA_NEAR_NET)
    )
    quote = await quoting.request_quote(
        session,
        principal=developer.principal,
        specs=[await line_spec(session)],
        kind=QuoteKind.FIRM,
        channel=Channel.GRAPHQL,
    )
    invoice = await billing.bill_on_demand(session, principal=developer.principal)

    stranger = await make_ticket(session, other_developer)
    stranger_order = await make_order(session, other_developer, channel=Channel.SONATA)
    stranger_quote = await quoting.request_quote(
        session,
        principal=other_developer.principal,
        specs=[await line_spec(session)],
        kind=QuoteKind.BUDGETARY,
        channel=Channel.GRAPHQL,
    )
    stranger_bill = await billing.bill_on_demand(session, principal=other_developer.principal)

    viewer = data(await gql(VIEWER, caller=developer))["viewer"]

    assert viewer["party"] == {
        "id": gid("Party", developer.party_id),
        "name": "Nimbus Labs",
        "audience": "DEVELOPER",
    }
    sites = await list_sites(session, principal=developer.principal)
    assert sorted(ids(viewer["sites"])) == sorted(gid("Site", s.id) for s in sites)
    # Chicago, New York, Dallas and Los Angeles: one site per place, however many orders use it.
    assert viewer["sites"]["totalCount"] == 4

    orders = viewer["orders"]
    every_order = {kept.order_id, gone.order_id, disconnect.order.id}
    every_order |= {in_flight.order.id, partner.order.id}
    assert orders["totalCount"] == 5
    assert set(ids(orders)) == {gid("Order", o) for o in every_order}
    assert viewer["acknowledged"]["totalCount"] == 2
    assert set(ids(viewer["acknowledged"])) == {
        gid("Order", in_flight.order.id),
        gid("Order", partner.order.id),
    }
    assert viewer["sonata"] == {
        "totalCount": 1,
        "nodes": [{"id": gid("Order", partner.order.id), "channel": "SONATA"}],
    }
    assert viewer["sonataDone"] == {"totalCount": 0}

    assert viewer["services"]["totalCount"] == 2
    assert {(s["id"], s["state"]) for s in viewer["services"]["nodes"]} == {
        (gid("Service", kept.id), "ACTIVE"),
        (gid("Service", gone.id), "TERMINATED"),
    }
    assert viewer["terminated"] == {"totalCount": 1, "nodes": [{"id": gid("Service", gone.id)}]}
    assert viewer["inService"] == {"totalCount": 1, "nodes": [{"id": gid("Service", kept.id)}]}

    assert viewer["quotes"] == {
        "totalCount": 1,
        "nodes": [{"id": gid("Quote", quote.quote.id), "kind": "FIRM"}],
    }
    assert viewer["tickets"] == {
        "totalCount": 1,
        "nodes": [{"id": gid("Ticket", ticket.id), "service": {"id": gid("Service", kept.id)}}],
    }
    assert viewer["openTickets"]["totalCount"] == 1
    assert viewer["invoices"] == {
        "totalCount": 1,
        "nodes": [{"id": gid("Invoice", invoice.bill.id), "kind": "ON_DEMAND"}],
    }

    events = viewer["events"]
    mine = await _events_of(session, developer.party_id)
    assert events["totalCount"] == len(mine) < 100
    assert {e["id"] for e in events["nodes"]} == set(mine)
    strangers = {stranger.id, stranger_order.order.id, stranger_quote.quote.id}
    assert not strangers & {e["entityId"] for e in events["nodes"]}
    assert gid("Invoice", stranger_bill.bill.id) not in ids(viewer["invoices"])


async def test_a_new_party_has_empty_connections(gql: Post, developer: Caller) -> None:
    viewer = data(
        await gql(
            """{ viewer { orders { totalCount edges { cursor }
                 pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }
                 sites { totalCount } services { totalCount } quotes { totalCount }
                 tickets { totalCount } invoices { totalCount } events { totalCount } } }""",
            caller=developer,
        )
    )["viewer"]
    assert viewer["orders"] == {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }
    assert all(viewer[name] == {"totalCount": 0} for name in viewer if name != "orders")


PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String) {
  viewer {
    orders(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id createdAt } }
      nodes { id createdAt }
    }
  }
}
"""


# The same pages without their total, which the list then does not count.
UNCOUNTED_PAGE = PAGE.replace("      totalCount\n", "")


async def _page(gql: Post, caller: Caller, **arguments: Any) -> dict[str, Any]:
    counted = arguments.pop("counted", True)
    query = PAGE if counted else UNCOUNTED_PAGE
    orders: dict[str, Any] = data(await gql(query, arguments, caller=caller))["viewer"]["orders"]
    assert ("totalCount" in orders) == counted
    assert orders["nodes"] == [edge["node"] for edge in orders["edges"]]
    if orders["edges"]:
        assert orders["pageInfo"]["startCursor"] == orders["edges"][0]["cursor"]
        assert orders["pageInfo"]["endCursor"] == orders["edges"][-1]["cursor"]
    return orders


async def _walk_forward(
    gql: Post, caller: Caller, size: int, *, counted: bool = True
) -> list[dict[str, Any]]:
    pages, after = [], None
    while True:
        page = await _page(gql, caller, first=size, after=after, counted=counted)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]


async def _walk_backward(gql: Post, caller: Caller, size: int) -> list[dict[str, Any]]:
    pages, before = [], None
    while True:
        page = await _page(gql, caller, last=size, before=before)
        pages.append(page)
        if not page["pageInfo"]["hasPreviousPage"]:
            return pages
        before = page["pageInfo"]["startCursor"]


async def test_paging_through_orders_both_ways(
    gql: Post, session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    time = StoppedClock()
    placed = []
    for _ in range(7):
        placed.append((await make_order(session, developer)).order.id)
        time.advance(minutes=1)
    await make_order(session, other_developer)
    newest_first = [gid("Order", order_id) for order_id in reversed(placed)]

    forward = await _walk_forward(gql, developer, 3)
    assert [len(p["edges"]) for p in forward] == [3, 3, 1]
    assert [n["id"] for p in forward for n in p["nodes"]] == newest_first
    assert all(p["totalCount"] == 7 for p in forward)
    assert [p["pageInfo"]["hasPreviousPage"] for p in forward] == [False, True, True]
    assert [p["pageInfo"]["hasNextPage"] for p in forward] == [True, True, False]
    created = [n["createdAt"] for p in forward for n in p["nodes"]]
    assert created == sorted(created, reverse=True)

    backward = await _walk_backward(gql, developer, 3)
    assert [len(p["edges"]) for p in backward] == [3, 3, 1]
    assert [n["id"] for p in reversed(backward) for n in p["nodes"]] == newest_first
    assert [p["pageInfo"]["hasNextPage"] for p in backward] == [False, True, True]
    assert [p["pageInfo"]["hasPreviousPage"] for p in backward] == [True, True, False]

    everything = await _page(gql, developer, first=100)
    assert [n["id"] for n in everything["nodes"]] == newest_first
    assert everything["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": everything["edges"][0]["cursor"],
        "endCursor": everything["edges"][-1]["cursor"],
    }
    # A cursor names a place in the list: the same order has the same cursor on every page.
    cursors = {e["node"]["id"]: e["cursor"] for p in forward + backward for e in p["edges"]}
    assert cursors == {e["node"]["id"]: e["cursor"] for e in everything["edges"]}

    middle = await _page(gql, developer, first=2, after=forward[0]["edges"][1]["cursor"])
    assert [n["id"] for n in middle["nodes"]] == newest_first[2:4]
    between = await _page(
        gql,
        developer,
        after=everything["edges"][1]["cursor"],
        before=everything["edges"][5]["cursor"],
    )
    assert [n["id"] for n in between["nodes"]] == newest_first[2:5]
    assert (between["pageInfo"]["hasPreviousPage"], between["pageInfo"]["hasNextPage"]) == (
        True,
        True,
    )
    beyond = await _page(gql, developer, first=3, after=everything["edges"][-1]["cursor"])
    assert (beyond["edges"], beyond["pageInfo"]["hasNextPage"]) == ([], False)
    assert beyond["pageInfo"]["startCursor"] is None
    nothing = await _page(gql, developer, first=0)
    assert (nothing["edges"], nothing["totalCount"]) == ([], 7)

    # Without `totalCount` the list is not counted, and every page answers the same.
    def uncounted(page: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in page.items() if name != "totalCount"}

    assert await _walk_forward(gql, developer, 3, counted=False) == [uncounted(p) for p in forward]
    for cursor, size in ((None, 7), (None, 6), (None, 0), (everything["edges"][-1]["cursor"], 3)):
        for others in ({}, {"before": everything["edges"][5]["cursor"]}):
            arguments = {"first": size, "after": cursor} | others
            assert await _page(gql, developer, counted=False, **arguments) == uncounted(
                await _page(gql, developer, **arguments)
            )
    assert await _page(gql, developer, counted=False, after=cursors[newest_first[1]]) == (
        uncounted(await _page(gql, developer, after=cursors[newest_first[1]]))
    )


async def test_orders_placed_in_the_same_instant_page_the_same_way_every_time(
    gql: Post, session: AsyncSession, developer: Caller
) -> None:
    StoppedClock()
    placed = {(await make_order(session, developer)).order.id for _ in range(5)}
    # created_at ties, so only the id orders them: every page must agree on that order.
    forward = await _walk_forward(gql, developer, 2)
    walked = [n["id"] for p in forward for n in p["nodes"]]
    assert sorted(walked) == sorted(gid("Order", order_id) for order_id in placed)
    backward = await _walk_backward(gql, developer, 2)
    assert [n["id"] for p in reversed(backward) for n in p["nodes"]] == walked
    everything = await _page(gql, developer, first=5)
    assert [n["id"] for n in everything["nodes"]] == walked


async def test_page_sizes_and_cursors_are_checked(gql: Post, developer: Caller) -> None:
    for arguments in ({"first": 101}, {"last": 101}, {"first": -1}):
        refused = await gql(PAGE, arguments, caller=developer)
        assert error_code(refused) == "BAD_USER_INPUT"
        assert refused["data"] is None
    assert "errors" not in await gql(PAGE, {"first": 100}, caller=developer)
    broken = to_base64("offset", "x")  # decodes, but names no offset
    for cursor in ("not a cursor", "b2Zmc2V0Oi0x", broken, gid("Order", "1")):
        for direction in ("after", "before"):
            refused = await gql(PAGE, {"first": 1, direction: cursor}, caller=developer)
            assert error_code(refused) == "BAD_USER_INPUT", (direction, cursor)


NODES = """
query Nodes($order: ID!, $service: ID!, $quote: ID!, $ticket: ID!, $invoice: ID!,
            $site: ID!, $location: ID!, $offering: ID!, $party: ID!) {
  order: node(id: $order) { __typename id ... on Order { state channel } }
  service: node(id: $service) { __typename id ... on Service { state } }
  quote: node(id: $quote) { __typename id ... on Quote { kind } }
  ticket: node(id: $ticket) { __typename id ... on Ticket { summary } }
  invoice: node(id: $invoice) { __typename id ... on Invoice { kind } }
  site: node(id: $site) { __typename id ... on Site { location { name } } }
  location: node(id: $location) { __typename id ... on Location { name } }
  offering: node(id: $offering) { __typename id ... on ProductOffering { code } }
  party: node(id: $party) { __typename id ... on Party { name } }
}
"""


async def test_node_resolves_every_type_for_its_owner_only(
    gql: Post, session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    assert ticket.product_id is not None
    placed = await make_order(session, developer, channel=Channel.SONATA)
    quote = await quoting.request_quote(
        session,
        principal=developer.principal,
        specs=[await line_spec(session)],
        kind=QuoteKind.FIRM,
        channel=Channel.GRAPHQL,
    )
    invoice = await billing.bill_on_demand(session, principal=developer.principal)
    [site, *_] = await list_sites(session, principal=developer.principal)
    core_ids = {
        "order": ("Order", placed.order.id),
        "service": ("Service", ticket.product_id),
        "quote": ("Quote", quote.quote.id),
        "ticket": ("Ticket", ticket.id),
        "invoice": ("Invoice", invoice.bill.id),
        "site": ("Site", site.id),
        "location": ("Location", site.location_id),
        "offering": ("ProductOffering", "ethernet-line"),
        "party": ("Party", developer.party_id),
    }
    variables = {alias: gid(*pair) for alias, pair in core_ids.items()}

    mine = data(await gql(NODES, variables, caller=developer))
    assert {alias: (n["__typename"], n["id"]) for alias, n in mine.items()} == {
        alias: (pair[0], variables[alias]) for alias, pair in core_ids.items()
    }
    assert mine["order"]["state"] == "ACKNOWLEDGED"
    assert mine["order"]["channel"] == "SONATA"
    assert mine["service"]["state"] == "ACTIVE"
    assert mine["quote"]["kind"] == "FIRM"
    assert mine["ticket"]["summary"] == "Link down"
    assert mine["invoice"]["kind"] == "ON_DEMAND"
    assert mine["site"]["location"]["name"] == mine["location"]["name"]
    assert mine["offering"]["code"] == "ethernet-line"
    assert mine["party"]["name"] == "Nimbus Labs"

    public = {"location", "offering"}
    for intruder in (other_developer, None):
        theirs = data(await gql(NODES, variables, caller=intruder))
        assert {alias for alias, node in theirs.items() if node is not None} == public
        assert {alias: theirs[alias] for alias in public} == {
            alias: mine[alias] for alias in public
        }


async def test_node_is_null_for_ids_that_do_not_exist(
    gql: Post, session: AsyncSession, developer: Caller
) -> None:
    placed = await make_order(session, developer)
    query = "query($id: ID!) { node(id: $id) { id } }"
    for global_id in (
        gid("Order", "ord_0000000000000000"),
        gid("Ticket", placed.order.id),  # a real id, of another type
        gid("Location", "loc_0000000000000000"),
        gid("ProductOffering", "carrier-pigeon"),
        gid("Party", "pty_0000000000000000"),
        gid("Event", "evt_0000000000000000"),  # a type, but not a node type
        gid("Viewer", developer.party_id),
        gid("Nothing", placed.order.id),  # no such type
    ):
        assert data(await gql(query, {"id": global_id}, caller=developer)) == {"node": None}
    found = data(await gql(query, {"id": gid("Order", placed.order.id)}, caller=developer))
    assert found == {"node": {"id": gid("Order", placed.order.id)}}
    garbled = await gql(query, {"id": "not a global id"}, caller=developer)
    assert "GlobalID" in garbled["errors"][0]["message"]  # said, not masked


async def test_the_viewer_needs_a_key(gql: Post, client: httpx.AsyncClient) -> None:
    anonymous = await gql("{ viewer { party { id } } }")
    assert error_code(anonymous) == "UNAUTHENTICATED"
    assert anonymous["data"] is None
    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { party { id } } }"},
        headers={"Authorization": "Bearer lumen_nope_nope"},
    )
    assert error_code(response.json()) == "UNAUTHENTICATED"


LOCATIONS = """
query Locations($search: String, $near: NearInput, $first: Int) {
  locations(search: $search, near: $near, first: $first) {
    totalCount
    nodes { name onNet address { city } serviceability { level distanceKm } }
  }
}
"""


async def _locations(gql: Post, **arguments: Any) -> dict[str, Any]:
    found: dict[str, Any] = data(await gql(LOCATIONS, arguments))["locations"]
    return found


async def test_locations_by_text_without_a_key(gql: Post) -> None:
    chicago = await _locations(gql, search="chicago")
    assert chicago["totalCount"] == 2
    by_name = {n["name"]: n for n in chicago["nodes"]}
    assert by_name["Lakeside Technology Center"]["serviceability"] == {
        "level": "ON_NET",
        "distanceKm": 0.0,
    }
    exchange = by_name["Chicago Board of Trade area exchange"]
    assert not exchange["onNet"]
    # About 2.7 km from Lakeside: farther than the 2 km that counts as near-net.
    assert exchange["serviceability"]["level"] == "OFF_NET"
    assert 2.0 < exchange["serviceability"]["distanceKm"] < 3.5

    by_street = await _locations(gql, search="60 Hudson")
    assert [n["name"] for n in by_street["nodes"]] == ["60 Hudson Street"]
    assert (await _locations(gql, search="atlantis"))["totalCount"] == 0
    everything = await _locations(gql, first=100)
    assert everything["totalCount"] == len(everything["nodes"]) == 36


@pytest.mark.parametrize("search", ["%%%_%", "%", "_", "\\", "*", "  "])
async def test_wildcards_in_a_location_search_match_only_themselves(gql: Post, search: str) -> None:
    found = (await _locations(gql, search=search, first=100))["totalCount"]
    # No address of the book holds these characters: nothing matches, rather than everything;
    # a blank search is no search.
    assert found == (36 if not search.strip() else 0)
    # Among words, punctuation is ignored as before: `60 Hudson St.` finds 60 Hudson Street.
    assert (await _locations(gql, search="60 hudson%"))["totalCount"] == 1
    assert (await _locations(gql, search="Gas & Electric"))["totalCount"] == 1


async def test_locations_near_a_point_nearest_first(gql: Post) -> None:
    one_wilshire = {"latitude": 34.0489, "longitude": -118.2546}
    near = await _locations(gql, near=one_wilshire | {"radiusKm": 5})
    assert [n["name"] for n in near["nodes"]] == [
        "One Wilshire",
        "Wilshire Grand exchange",
        "Alameda data center",
    ]
    levels = [n["serviceability"] for n in near["nodes"]]
    assert [s["level"] for s in levels] == ["ON_NET", "NEAR_NET", "ON_NET"]
    assert 0 < levels[1]["distanceKm"] < 2.0
    closer = await _locations(gql, near=one_wilshire | {"radiusKm": 1})
    assert [n["name"] for n in closer["nodes"]] == ["One Wilshire", "Wilshire Grand exchange"]

    unbounded = await _locations(gql, near=one_wilshire, first=100)
    assert unbounded["totalCount"] == 36
    cities = [n["address"]["city"] for n in unbounded["nodes"]]
    assert cities[:3] == ["Los Angeles"] * 3
    assert cities[-1] == "Boston"  # the farthest from Los Angeles
    both = await _locations(gql, search="new york", near={"latitude": 40.741, "longitude": -74.0})
    assert [n["name"] for n in both["nodes"]] == [
        "111 Eighth Avenue",
        "32 Avenue of the Americas",
        "60 Hudson Street",
    ]


async def test_the_catalog_without_a_key(gql: Post) -> None:
    offerings = data(
        await gql(
            """{ productOfferings { totalCount nodes { id code kind bandwidthsMbps
                 minTermMonths maxTermMonths } } }"""
        )
    )["productOfferings"]
    assert offerings["totalCount"] == 3
    assert [n["code"] for n in offerings["nodes"]] == sorted(o["id"] for o in STANDARD_OFFERINGS)
    assert [n["id"] for n in offerings["nodes"]] == [
        gid("ProductOffering", n["code"]) for n in offerings["nodes"]
    ]
    assert all(n["bandwidthsMbps"] for n in offerings["nodes"])


OPS = """
query {
  ops {
    ordersByState { state count }
    ordersByChannel { channel count }
    orderCycleTime { sampleSize p50Hours p90Hours p99Hours }
    openTicketsBySeverity { severity count }
    monthlyRecurringRevenue { amount currency }
    recentEvents(first: 5) { totalCount nodes { id occurredAt } }
    orders(first: 100) { totalCount nodes { id } }
    sonata: orders(channel: SONATA) { totalCount nodes { id } }
    tickets(first: 100) { totalCount nodes { id } }
    openTickets: tickets(state: [ACKNOWLEDGED]) { totalCount }
  }
}
"""


async def test_ops_figures_are_for_operations_staff_only(gql: Post, developer: Caller) -> None:
    refused = await gql(OPS, caller=developer)
    assert error_code(refused) == "NOT_AUTHORIZED"
    assert refused["data"] is None
    anonymous = await gql("{ ops { ordersByState { state count } } }")
    assert error_code(anonymous) == "UNAUTHENTICATED"
    assert anonymous["data"] is None


async def test_ops_figures_across_every_party(
    gql: Post, session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    time = StoppedClock()
    started = time.at
    added = [
        await make_order(session, developer),
        await make_order(session, other_developer),
        await make_order(session, other_developer, channel=Channel.CANTATA),
    ]
    for hours, placed in zip((2, 4, 6), added, strict=True):
        time.at = started + timedelta(hours=hours)
        await complete(session, placed.order)
    products = []
    for placed in added:
        [item] = await ordering.items_of(session, placed.order.id)
        assert item.product_id is not None
        products.append(
            await inventory.get_product(
                session, principal=ops.principal, product_id=item.product_id
            )
        )
    disconnect = await ordering.place(
        session,
        principal=developer.principal,
        channel=Channel.GRAPHQL,
        items=[ItemRequest(action=ItemAction.DELETE, product_id=products[0].id)],
    )
    time.advance(hours=8)
    await complete(session, disconnect.order)
    time.advance(hours=1)
    sonata = await make_order(session, developer, channel=Channel.SONATA)
    graphql = await make_order(session, other_developer)

    significant = await tickets.open_ticket(
        session,
        principal=developer.principal,
        channel=Channel.GRAPHQL,
        summary="Down",
        description="No light",
        severity=Severity.SIGNIFICANT,
    )
    await tickets.open_ticket(
        session,
        principal=other_developer.principal,
        channel=Channel.TMF,
        summary="Slow",
        description="Loss on the line",
        severity=Severity.MINOR,
    )
    withdrawn = await tickets.open_ticket(
        session,
        principal=other_developer.principal,
        channel=Channel.GRAPHQL,
        summary="Slow",
        description="Never mind",
        severity=Severity.EXTENSIVE,
    )
    await tickets.cancel(session, principal=other_developer.principal, ticket_id=withdrawn.id)

    figures = data(await gql(OPS, caller=ops))["ops"]

    by_state = {c["state"]: c["count"] for c in figures["ordersByState"]}
    assert by_state == dict.fromkeys(by_state, 0) | {"COMPLETED": 4, "ACKNOWLEDGED": 2}
    assert len(by_state) == len(ordering.OrderState)
    by_channel = {c["channel"]: c["count"] for c in figures["ordersByChannel"]}
    assert by_channel == {"GRAPHQL": 4, "SONATA": 1, "CANTATA": 1, "TMF": 0, "INTERNAL": 0}
    assert figures["orderCycleTime"] == {
        "sampleSize": 4,
        "p50Hours": 5.0,
        "p90Hours": 7.4,
        "p99Hours": 7.94,
    }
    by_severity = {c["severity"]: c["count"] for c in figures["openTicketsBySeverity"]}
    assert by_severity == {"MINOR": 1, "MODERATE": 0, "SIGNIFICANT": 1, "EXTENSIVE": 0}
    # The disconnected product is no longer billed; the other two are, whoever owns them.
    in_service = products[1].monthly_cents + products[2].monthly_cents
    revenue = figures["monthlyRecurringRevenue"]
    assert (Decimal(revenue["amount"]), revenue["currency"]) == (Decimal(in_service) / 100, "USD")
    assert in_service > 0

    every_event = (await session.exec(select(func.count()).select_from(Event))).one()
    recent = figures["recentEvents"]
    assert recent["totalCount"] == every_event
    newest = (await session.exec(select(Event).order_by(col(Event.seq).desc()).limit(5))).all()
    assert [n["id"] for n in recent["nodes"]] == [e.id for e in newest]

    every_order = [p.order.id for p in [*added, disconnect, sonata, graphql]]
    assert figures["orders"]["totalCount"] == 6
    assert set(ids(figures["orders"])) == {gid("Order", o) for o in every_order}
    assert figures["sonata"] == {
        "totalCount": 1,
        "nodes": [{"id": gid("Order", sonata.order.id)}],
    }
    assert figures["tickets"]["totalCount"] == 3
    assert gid("Ticket", significant.id) in ids(figures["tickets"])
    assert figures["openTickets"] == {"totalCount": 2}


async def test_ops_cycle_time_without_completed_orders(
    gql: Post, session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    await make_order(session, developer)
    figures = data(
        await gql(
            """{ ops { orderCycleTime { sampleSize p50Hours p90Hours p99Hours }
                 monthlyRecurringRevenue { amount } } }""",
            caller=ops,
        )
    )["ops"]
    assert figures == {
        "orderCycleTime": {"sampleSize": 0, "p50Hours": None, "p90Hours": None, "p99Hours": None},
        "monthlyRecurringRevenue": {"amount": "0.00"},
    }
