"""Off-net reach against a real second carrier: another instance of this platform, served by
uvicorn on a loopback port as the demo partner, sells us the access we resell."""

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import partners
from app.core.db import CoreConfig, Database
from app.core.fulfilment import FulfilmentEngine, PartnerOutcomes
from app.core.geography import Location
from app.core.ordering import Order, OrderItem, OrderState
from app.core.parties import Audience, Principal, Scope
from app.core.partners import PartnerWork, PartnerWorkState
from app.logging import redact
from app.main import create_app
from app.settings import Settings
from rest_facades.mef.partner_client import ORDER_PATH, QUOTE_PATH, SonataPartnerClient
from rest_facades.mef.partner_listener import LISTENER_PATH
from tests.factories import Caller, location_id, make_caller
from tests.partner_server import PARTNER_KEY, FaultyProxy

DALLAS = "1950 N Stemmons Fwy, Dallas, TX 75207"
HOUSTON = "660 Greens Pkwy, Houston, TX 77067"
OPS = Principal(party_id="pty_ops", audience=Audience.OPS, scopes=frozenset(Scope))
SETTLE_SECONDS = 40.0
TIMEOUT_SECONDS = 4.0
PATIENT_SECONDS = 60.0


@pytest.fixture
async def proxy(partner_url: str) -> AsyncIterator[FaultyProxy]:
    """The way to the partner, which each test can make misbehave."""
    async with FaultyProxy(partner_url).running() as running:
        yield running


@pytest.fixture
def patient() -> None:
    """Asked for by tests that count the partner's requests: a retry after a timeout on a
    loaded machine would count as a request of its own."""


@pytest.fixture
async def gateway(request: pytest.FixtureRequest) -> AsyncIterator[SonataPartnerClient]:
    """Our Sonata client of partners: short timeouts and waits for a fast suite."""
    client = SonataPartnerClient(
        # Long enough for a partner on a loaded machine, short enough for the slow-partner test.
        timeout_seconds=PATIENT_SECONDS if "patient" in request.fixturenames else TIMEOUT_SECONDS,
        attempts=2,
        backoff_seconds=0.05,
        breaker_threshold=3,
        breaker_reset_seconds=60,
    )
    yield client
    await client.close()


@pytest.fixture
async def ours(
    settings: Settings, database: Database, gateway: SonataPartnerClient
) -> AsyncIterator[Database]:
    """Our platform's database, with the partner client wired into its core."""
    wired = Database.connect(settings.database_url, config=CoreConfig(partners=gateway))
    yield wired
    await wired.dispose()


@pytest.fixture
async def client(settings: Settings, ours: Database) -> AsyncIterator[httpx.AsyncClient]:
    """Our platform's faces (workers off: the test drives them)."""
    app = create_app(settings, run_workers=False)
    app.state.database = ours
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        yield c


@pytest.fixture
async def partner(session: AsyncSession, proxy: FaultyProxy) -> partners.Partner:
    """The partner, registered as covering Houston, reached through the proxy."""
    return await partners.register_partner(
        session,
        principal=OPS,
        given=partners.PartnerInput(
            name="Cascade Access Networks",
            base_url=proxy.url,
            auth=partners.PartnerAuth.API_KEY,
            api_key=PARTNER_KEY,
            margin_percent=Decimal(20),
            metros=["Houston, TX"],
        ),
    )


def _workers(
    ours: Database, gateway: SonataPartnerClient
) -> tuple[FulfilmentEngine, partners.PartnerWorker]:
    engine = FulfilmentEngine(ours, ack_after=timedelta(0), complete_after=timedelta(0))
    worker = partners.PartnerWorker(
        ours, gateway, PartnerOutcomes(), poll_after=timedelta(seconds=0.2)
    )
    return engine, worker


async def settle(
    ours: Database, gateway: SonataPartnerClient, done: Callable[[], Awaitable[bool]]
) -> None:
    """Run our fulfilment and partner work until `done` holds."""
    engine, worker = _workers(ours, gateway)
    deadline = time.monotonic() + SETTLE_SECONDS
    while not await done():
        if time.monotonic() > deadline:
            async with ours.session() as s:
                work = (await s.exec(select(PartnerWork))).all()
                orders = (await s.exec(select(Order))).all()
                seen = [(o.id, o.state, o.next_step_at, o.state_reason) for o in orders]
                held = [(w.order_id, w.state, w.reason, w.next_attempt_at) for w in work]
            raise AssertionError(f"not settled in time: {seen} {held}")
        await engine.tick()
        await worker.tick()
        await asyncio.sleep(0.2)


async def order_state(ours: Database, order_id: str) -> Order:
    async with ours.session() as s:
        order = await s.get(Order, order_id)
        assert order is not None
        s.expunge(order)
        return order


async def work_of(ours: Database, order_id: str) -> list[PartnerWork]:
    async with ours.session() as s:
        found = await partners.work_of_order(s, order_id)
        s.expunge_all()
        return found


async def graphql(client: httpx.AsyncClient, caller: Caller, query: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query}, headers=caller.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def order_id(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


async def partner_quote(
    partner_url: str, location: dict[str, str], mbps: int, months: int
) -> tuple[int, int]:
    """What the partner charges us for a port, asked of it directly."""
    body = {
        "buyerRequestedQuoteLevel": "firm",
        "instantSyncQuote": True,
        "relatedContactInformation": [
            {
                "role": "buyerContactInformation",
                "name": "T",
                "emailAddress": "t@x.example",
                "number": "1",
            }
        ],
        "quoteItem": [
            {
                "id": "1",
                "action": "add",
                "product": {
                    "productOffering": {"id": "ethernet-port"},
                    "productConfiguration": {
                        "@type": "urn:mef:lso:spec:sonata:carrier-ethernet-operator-uni:v5.0.0:all",
                        "ingressBandwidthProfile": [{"cir": {"irValue": mbps, "irUnits": "MBPS"}}],
                    },
                    "place": [{"@type": "FieldedAddress", "role": "INSTALL_LOCATION", **location}],
                },
                "requestedQuoteItemTerm": {
                    "name": "t",
                    "duration": {"amount": months, "units": "calendarMonths"},
                    "endOfTermAction": "autoRenew",
                },
            }
        ],
    }
    async with httpx.AsyncClient(base_url=partner_url) as http:
        answer = await http.post(
            f"{QUOTE_PATH}/quote", json=body, headers={"Authorization": f"Bearer {PARTNER_KEY}"}
        )
    assert answer.status_code == 201, answer.text
    monthly = one_time = 0
    for charge in answer.json()["quoteItem"][0]["quoteItemPrice"]:
        cents = round(Decimal(str(charge["price"]["dutyFreeAmount"]["value"])) * 100)
        if charge["priceType"] == "recurring":
            monthly += cents
        else:
            one_time += cents
    return monthly, one_time


async def partner_orders(partner_url: str, external_id: str) -> list[dict[str, Any]]:
    """The partner's own record of the orders that carry our external id."""
    async with httpx.AsyncClient(base_url=partner_url) as http:
        found = await http.get(
            f"{ORDER_PATH}/productOrder",
            params={"externalId": external_id},
            headers={"Authorization": f"Bearer {PARTNER_KEY}"},
        )
        assert found.status_code == 200, found.text
        return [
            (
                await http.get(
                    f"{ORDER_PATH}/productOrder/{o['id']}",
                    headers={"Authorization": f"Bearer {PARTNER_KEY}"},
                )
            ).json()
            for o in found.json()
        ]


HOUSTON_FIELDS = {
    "streetNr": "660",
    "streetName": "Greens Pkwy",
    "city": "Houston",
    "stateOrProvince": "TX",
    "postcode": "77067",
    "country": "US",
}
CONNECTION = (
    f'aEnd: {{address: "{DALLAS}"}}, zEnd: {{address: "{HOUSTON}"}}, '
    "bandwidthMbps: 1000, termMonths: 12"
)


async def order_connection(client: httpx.AsyncClient, caller: Caller) -> str:
    data = await graphql(
        client,
        caller,
        f"mutation {{ orderConnection(input: {{{CONNECTION}}}) "
        "{ order { id } price { monthlyRecurring oneTime } userErrors { code message } } }",
    )
    assert data["orderConnection"]["userErrors"] == []
    return order_id(data["orderConnection"]["order"]["id"])


async def test_graphql_developer_buys_off_net_access_from_the_partner(
    client: httpx.AsyncClient,
    session: AsyncSession,
    developer: Caller,
    partner: partners.Partner,
    partner_url: str,
    ours: Database,
    gateway: SonataPartnerClient,
) -> None:
    """The price is the partner's plus our margin plus our own segment; the order completes
    when the partner's does, and both carriers have a record of it."""
    priced = await graphql(
        client,
        developer,
        f"{{ price(input: {{product: ETHERNET_LINE, {CONNECTION}}}) "
        "{ price { monthlyRecurring oneTime } confidence serviceability userErrors { code } } }",
    )
    their_monthly, their_one_time = await partner_quote(partner_url, HOUSTON_FIELDS, 1000, 12)
    async with ours.session() as s:
        from app.core.catalog import BoughtAccess, ProductSpec, get_offering, price
        from app.core.geography import Serviceability, get_locations

        spec = ProductSpec(
            offering_id="ethernet-line",
            a_location_id=await location_id(s, DALLAS),
            z_location_id=await location_id(s, HOUSTON),
            bandwidth_mbps=1000,
            term_months=12,
        )
        found = await get_locations(s, [spec.a_location_id, spec.z_location_id or ""])
        own = price(
            await get_offering(s, "ethernet-line"),
            spec,
            [
                (found[spec.a_location_id], Serviceability.ON_NET),
                (found[spec.z_location_id or ""], Serviceability.OFF_NET),
            ],
            {spec.z_location_id or "": BoughtAccess("x", 0, 0)},
        )
    answer = priced["price"]
    assert answer["serviceability"] == "OFF_NET"
    assert answer["confidence"] == "YELLOW"
    assert Decimal(answer["price"]["monthlyRecurring"]) * 100 == own.monthly_cents + round(
        their_monthly * Decimal("1.2")
    )
    assert Decimal(answer["price"]["oneTime"]) * 100 == own.one_time_cents + round(
        their_one_time * Decimal("1.2")
    )

    ours_id = await order_connection(client, developer)

    async def in_progress_with_reason() -> bool:
        order = await order_state(ours, ours_id)
        return order.state is OrderState.IN_PROGRESS

    await settle(ours, gateway, in_progress_with_reason)
    waiting = await order_state(ours, ours_id)
    assert "Cascade Access Networks" in (waiting.state_reason or "")

    async def completed() -> bool:
        return (await order_state(ours, ours_id)).state is OrderState.COMPLETED

    await settle(ours, gateway, completed)
    [work] = await work_of(ours, ours_id)
    assert work.state is PartnerWorkState.COMPLETED
    [theirs] = await partner_orders(partner_url, work.id)
    assert theirs["state"] == "completed"
    assert theirs["id"] == work.partner_order_id
    async with ours.session() as s:
        [item] = (await s.exec(select(OrderItem).where(OrderItem.order_id == ours_id))).all()
        assert item.product_id is not None
    node = base64.b64encode(f"Order:{ours_id}".encode()).decode()
    shown = await graphql(
        client, developer, f'{{ node(id: "{node}") {{ ... on Order {{ state }} }} }}'
    )
    assert shown["node"]["state"] == "COMPLETED"


async def placed_with_partner(
    ours: Database, gateway: SonataPartnerClient, ours_id: str
) -> PartnerWork:
    """Run our side until the partner has taken our order; our work record of it."""

    async def placed() -> bool:
        return any(w.partner_order_id for w in await work_of(ours, ours_id))

    await settle(ours, gateway, placed)
    [work] = await work_of(ours, ours_id)
    return work


async def test_cantata_enterprise_order_completes_through_the_partner(
    client: httpx.AsyncClient,
    session: AsyncSession,
    partner: partners.Partner,
    partner_url: str,
    ours: Database,
    gateway: SonataPartnerClient,
) -> None:
    """An enterprise's Cantata order for a line to an off-net place is one order to it, which
    completes when the partner's completes."""
    from tests.rest_facades.mef.test_product_order import line_order

    enterprise = await make_caller(session, "enterprise", name="Acme Manufacturing")
    body = await line_order(session, "cantata")
    body["productOrderItem"][0]["product"]["place"][1]["id"] = await location_id(session, HOUSTON)
    placed = await client.post(
        "/mefApi/cantata/productOrderingManagement/v5/productOrder",
        json=body,
        headers=enterprise.headers,
    )
    assert placed.status_code == 201, placed.text
    ours_id = placed.json()["id"]

    async def completed() -> bool:
        return (await order_state(ours, ours_id)).state is OrderState.COMPLETED

    async def waiting() -> bool:
        return (await order_state(ours, ours_id)).state is OrderState.IN_PROGRESS

    await settle(ours, gateway, waiting)
    seen = await client.get(
        f"/mefApi/cantata/productOrderingManagement/v5/productOrder/{ours_id}",
        headers=enterprise.headers,
    )
    assert "Cascade Access Networks" in seen.json()["stateChange"][-1]["changeReason"]
    await settle(ours, gateway, completed)
    [work] = await work_of(ours, ours_id)
    [theirs] = await partner_orders(partner_url, work.id)
    assert theirs["state"] == "completed"
    shown = await client.get(
        f"/mefApi/cantata/productOrderingManagement/v5/productOrder/{ours_id}",
        headers=enterprise.headers,
    )
    assert shown.json()["state"] == "completed"


async def test_a_lost_answer_is_not_ordered_twice_and_a_down_partner_holds_the_work(
    client: httpx.AsyncClient,
    developer: Caller,
    partner: partners.Partner,
    partner_url: str,
    proxy: FaultyProxy,
    ours: Database,
    gateway: SonataPartnerClient,
) -> None:
    """The partner takes our order but the answer is lost, then the partner is down: the work
    is held; a restarted platform finds the partner's order by our externalId instead of
    placing a second one, and completes."""
    ours_id = await order_connection(client, developer)
    proxy.mode = "lose_answer"
    engine, worker = _workers(ours, gateway)
    await engine.tick()
    await worker.tick()
    proxy.mode = "drop"
    async with ours.session() as s:
        work = (await s.exec(select(PartnerWork).where(PartnerWork.order_id == ours_id))).one()
        work.next_attempt_at = work.updated_at
        s.add(work)
        await s.commit()
    await worker.tick()
    [held] = await work_of(ours, ours_id)
    assert held.state is PartnerWorkState.TO_PLACE
    assert held.partner_order_id is None
    assert (held.reason or "").startswith("held: Cascade Access Networks is unavailable")
    assert (await order_state(ours, ours_id)).state is OrderState.IN_PROGRESS
    assert len(await partner_orders(partner_url, held.id)) == 1

    # The platform restarts (a new client and workers, the work only in the database); the
    # partner is back.
    proxy.mode = "pass"
    restarted = SonataPartnerClient(
        timeout_seconds=TIMEOUT_SECONDS, attempts=2, backoff_seconds=0.05
    )
    async with ours.session() as s:
        work = (await s.exec(select(PartnerWork).where(PartnerWork.order_id == ours_id))).one()
        work.next_attempt_at = work.updated_at
        s.add(work)
        await s.commit()

    async def completed() -> bool:
        return (await order_state(ours, ours_id)).state is OrderState.COMPLETED

    try:
        await settle(ours, restarted, completed)
    finally:
        await restarted.close()
    [theirs] = await partner_orders(partner_url, held.id)
    assert theirs["state"] == "completed"


async def test_a_failing_or_slow_partner_opens_its_breaker(
    client: httpx.AsyncClient,
    developer: Caller,
    partner: partners.Partner,
    proxy: FaultyProxy,
    gateway: SonataPartnerClient,
) -> None:
    """500s are retried, then the place is not serviceable for now; a partner slower than the
    timeout is given up on in bounded time; after enough failures calls stop reaching it."""
    price = (
        f"{{ price(input: {{product: ETHERNET_LINE, {CONNECTION}}}) "
        "{ price { monthlyRecurring } userErrors { code message } } }"
    )

    def unavailable(answer: dict[str, Any]) -> bool:
        [error] = answer["price"]["userErrors"]
        return answer["price"]["price"] is None and error["code"] == "PARTNER_UNAVAILABLE"

    proxy.mode = "error"
    started = time.monotonic()
    answer = await graphql(client, developer, price)
    # What two quick attempts cost on this machine now.
    baseline = time.monotonic() - started
    assert unavailable(answer)
    assert "Cascade Access Networks" in answer["price"]["userErrors"][0]["message"]
    assert len(proxy.seen) == 2  # one retry
    proxy.mode, proxy.delay = "slow", 30.0
    started = time.monotonic()
    answer = await graphql(client, developer, price)
    assert unavailable(answer)
    # Two attempts cut off at the timeout, never the partner's 30 s per attempt.
    assert time.monotonic() - started < baseline + 3 * TIMEOUT_SECONDS
    proxy.mode = "drop"
    await graphql(client, developer, price)
    assert gateway.health(partner.id).breaker == "opened"
    before = len(proxy.seen)
    proxy.mode = "pass"
    answer = await graphql(client, developer, price)
    assert unavailable(answer)
    assert len(proxy.seen) == before
    health = gateway.health(partner.id)
    assert health.calls == 3
    assert health.success_rate == 0


async def test_a_request_waiting_on_a_slow_partner_holds_no_place_of_the_process(
    settings: Settings,
    ours: Database,
    developer: Caller,
    partner: partners.Partner,
    proxy: FaultyProxy,
) -> None:
    """With one place for requests at work, a price waiting on a slow partner lets another
    request be served meanwhile, and is answered once the partner answers."""
    app = create_app(settings.model_copy(update={"max_concurrent_requests": 1}), run_workers=False)
    app.state.database = ours
    price = (
        f"{{ price(input: {{product: ETHERNET_LINE, {CONNECTION}}}) "
        "{ price { monthlyRecurring } userErrors { code message } } }"
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        proxy.mode, proxy.delay = "slow", TIMEOUT_SECONDS / 2
        waiting = asyncio.create_task(graphql(client, developer, price))
        await asyncio.sleep(TIMEOUT_SECONDS / 8)
        viewer = await asyncio.wait_for(
            graphql(client, developer, "{ viewer { orders(first: 1) { nodes { id } } } }"),
            TIMEOUT_SECONDS / 4,
        )
        assert viewer["viewer"]["orders"]["nodes"] == []
        assert not waiting.done()
        answer = await waiting
    assert answer["price"]["userErrors"] == []
    assert answer["price"]["price"]["monthlyRecurring"]
    assert proxy.seen  # the price was the partner's


async def test_a_partner_refusal_fails_the_customer_order_with_its_reason(
    client: httpx.AsyncClient,
    developer: Caller,
    partner: partners.Partner,
    proxy: FaultyProxy,
    ours: Database,
    gateway: SonataPartnerClient,
) -> None:
    """A partner that refuses our order fails the customer's order, saying why."""
    ours_id = await order_connection(client, developer)
    proxy.mode = "refuse_orders"

    async def failed() -> bool:
        return (await order_state(ours, ours_id)).state is OrderState.FAILED

    await settle(ours, gateway, failed)
    order = await order_state(ours, ours_id)
    assert "no capacity left at this address" in (order.state_reason or "")
    [work] = await work_of(ours, ours_id)
    assert work.state is PartnerWorkState.REJECTED
    node = base64.b64encode(f"Order:{ours_id}".encode()).decode()
    shown = await graphql(
        client, developer, f'{{ node(id: "{node}") {{ ... on Order {{ state stateReason }} }} }}'
    )
    assert shown["node"]["state"] == "FAILED"
    assert "Cascade Access Networks refused" in shown["node"]["stateReason"]


async def test_the_partner_that_priced_the_order_sells_it_at_its_quote(
    client: httpx.AsyncClient,
    session: AsyncSession,
    developer: Caller,
    partner: partners.Partner,
    partner_url: str,
    proxy: FaultyProxy,
    ours: Database,
    gateway: SonataPartnerClient,
) -> None:
    """Coverage that moves to another partner after the order is placed does not move the
    order: it is bought from the partner that priced it, referring to that partner's quote;
    and an order whose pricing partner is disabled before buying fails, saying why."""
    ours_id = await order_connection(client, developer)
    # A second partner (first by name, so the one coverage now picks) takes over Houston.
    await partners.update_partner(
        session, principal=OPS, partner_id=partner.id, given=partners.PartnerInput(metros=[])
    )
    other = await partners.register_partner(
        session,
        principal=OPS,
        given=partners.PartnerInput(
            name="Acme Last Mile",
            base_url=proxy.url,
            auth=partners.PartnerAuth.API_KEY,
            api_key=PARTNER_KEY,
            metros=["Houston, TX"],
        ),
    )

    async def completed() -> bool:
        return (await order_state(ours, ours_id)).state is OrderState.COMPLETED

    await settle(ours, gateway, completed)
    [work] = await work_of(ours, ours_id)
    assert work.partner_id == partner.id
    assert work.quote_id
    [theirs] = await partner_orders(partner_url, work.id)
    assert theirs["productOrderItem"][0]["quoteItem"]["quoteId"] == work.quote_id

    # Priced by the second partner, which operations then disable: the order fails.
    second_id = await order_connection(client, developer)
    await partners.update_partner(
        session, principal=OPS, partner_id=other.id, given=partners.PartnerInput(enabled=False)
    )

    async def failed() -> bool:
        return (await order_state(ours, second_id)).state is OrderState.FAILED

    await settle(ours, gateway, failed)
    order = await order_state(ours, second_id)
    assert "Acme Last Mile, the partner that priced the access" in (order.state_reason or "")
    assert await partner_orders(partner_url, (await work_of(ours, second_id))[0].id) == []


async def test_a_customer_cancellation_cancels_the_partner_order(
    client: httpx.AsyncClient,
    developer: Caller,
    partner: partners.Partner,
    partner_url: str,
    ours: Database,
    gateway: SonataPartnerClient,
) -> None:
    """Cancelling our order cancels what we bought for it."""
    ours_id = await order_connection(client, developer)
    work = await placed_with_partner(ours, gateway, ours_id)
    node = base64.b64encode(f"Order:{ours_id}".encode()).decode()
    cancelled = await graphql(
        client,
        developer,
        f'mutation {{ cancelOrder(input: {{orderId: "{node}"}}) {{ userErrors {{ message }} }} }}',
    )
    assert cancelled["cancelOrder"]["userErrors"] == []

    async def done() -> bool:
        [now] = await work_of(ours, ours_id)
        return (await order_state(ours, ours_id)).state is OrderState.CANCELLED and (
            now.state is PartnerWorkState.CANCELLED
        )

    await settle(ours, gateway, done)
    [theirs] = await partner_orders(partner_url, work.id)
    assert theirs["state"] in {"assessingCancellation", "pendingCancellation", "cancelled"}


DOWNTOWN = "1001 Main St, Houston, TX 77002"
DOWNTOWN_FIELDS = {
    "streetNr": "1001",
    "streetName": "Main St",
    "city": "Houston",
    "stateOrProvince": "TX",
    "postcode": "77002",
    "country": "US",
}
TAMPA = "655 N Franklin St, Tampa, FL 33602"
POQ_CALL = "POST /mefApi/sonata/productOfferingQualification/v7/productOfferingQualification"
QUOTE_CALL = f"POST {QUOTE_PATH}/quote"


def asked(proxy: FaultyProxy) -> tuple[int, int]:
    """How many POQs and quotes the partner was sent."""
    return proxy.seen.count(POQ_CALL), proxy.seen.count(QUOTE_CALL)


@pytest.mark.usefixtures("patient")
async def test_off_net_places_qualify_through_the_partner_s_poq_on_every_face(
    client: httpx.AsyncClient,
    ours: Database,
    carrier: Caller,
    developer: Caller,
    partner: partners.Partner,
    proxy: FaultyProxy,
) -> None:
    """A place the partner serves qualifies through its POQ (and is priced by its quote); one
    it cannot serve is refused with the partner's own reason on Sonata POQ, TMF679 and GraphQL;
    while the partner cannot be reached the answer says so, at once."""
    from tests.rest_facades.mef.test_product_offering_qualification import configuration, poq

    def port_at(fields: dict[str, str]) -> dict[str, Any]:
        return {
            "productOffering": {"id": "ethernet-port"},
            "productConfiguration": configuration("sonata", "ethernet_port"),
            "place": [{"@type": "FieldedAddress", "role": "INSTALL_LOCATION", **fields}],
        }

    body = poq(
        {"id": "served", "action": "add", "product": port_at(HOUSTON_FIELDS)},
        {"id": "refused", "action": "add", "product": port_at(DOWNTOWN_FIELDS)},
    )
    answer = await client.post(
        "/mefApi/sonata/productOfferingQualification/v7/productOfferingQualification",
        json=body,
        headers=carrier.headers,
    )
    assert answer.status_code == 201, answer.text
    served, refused = answer.json()["productOfferingQualificationItem"]
    assert served["serviceabilityConfidence"] in {"green", "yellow"}
    assert refused["serviceabilityConfidence"] == "red"
    # The partner's own words: the downtown place is off its network too.
    assert "Cascade Access Networks" in refused["serviceabilityConfidenceReason"]
    assert "no partner carrier serves it" in refused["serviceabilityConfidenceReason"]
    assert asked(proxy) == (2, 1), proxy.seen  # a quote only where the partner qualified it

    # GraphQL (no key needed) and TMF679 give the same refusal, from the kept answer.
    priced = await client.post(
        "/graphql",
        json={
            "query": f'{{ price(input: {{product: ETHERNET_PORT, aEnd: {{address: "{DOWNTOWN}"}},'
            " bandwidthMbps: 10000, termMonths: 12}) { price { monthlyRecurring }"
            " userErrors { code message } } }"
        },
    )
    [error] = priced.json()["data"]["price"]["userErrors"]
    assert error["code"] == "NOT_SERVICEABLE"
    assert "no partner carrier serves it" in error["message"]
    from tests.test_addresses import _tmf_validate

    validated = await _tmf_validate(
        client,
        carrier,
        {k: v for k, v in DOWNTOWN_FIELDS.items() if k != "streetNr"}
        | {"streetName": "1001 Main St"},
    )
    place = validated.json()["validGeographicAddress"]["id"]
    tmf = await client.post(
        "/tmf-api/productOfferingQualification/v4/productOfferingQualification",
        headers=carrier.headers,
        json={
            "productOfferingQualificationItem": [
                {
                    "id": "1",
                    "action": "add",
                    "product": {
                        "productOffering": {"id": "ethernet-port"},
                        "place": [{"id": place, "role": "aEnd"}],
                        "productCharacteristic": [{"name": "bandwidth", "value": 10000}],
                    },
                }
            ]
        },
    )
    assert tmf.status_code == 201, tmf.text
    [tmf_item] = tmf.json()["productOfferingQualificationItem"]
    assert tmf_item["qualificationItemResult"] == "unqualified"
    assert "no partner carrier serves it" in tmf_item["eligibilityUnavailabilityReason"][0]["label"]
    async with ours.session() as s:
        kept = (await s.exec(select(partners.PartnerQuote))).all()
    assert asked(proxy) == (2, 1), [k.place for k in kept]

    # A partner that cannot be reached: a clear answer, soon, and nothing kept.
    proxy.mode = "drop"
    started = time.monotonic()
    other = poq({"id": "1", "action": "add", "product": port_at({**HOUSTON_FIELDS})})
    other["productOfferingQualificationItem"][0]["product"]["productConfiguration"] = configuration(
        "sonata", "ethernet_port"
    )
    other["productOfferingQualificationItem"][0]["product"]["place"][0]["streetNr"] = "661"
    down = await client.post(
        "/mefApi/sonata/productOfferingQualification/v7/productOfferingQualification",
        json=other,
        headers=carrier.headers,
    )
    assert time.monotonic() - started < 10
    assert down.status_code == 201, down.text
    assert down.json()["state"] == "done.unableToProvide"
    [item] = down.json()["productOfferingQualificationItem"]
    assert item["serviceabilityConfidence"] == "red"
    assert "cannot be asked now" in item["serviceabilityConfidenceReason"]


@pytest.mark.usefixtures("patient")
async def test_the_partner_is_asked_once_per_order_and_not_again_for_a_price(
    client: httpx.AsyncClient,
    settings: Settings,
    developer: Caller,
    partner: partners.Partner,
    proxy: FaultyProxy,
    gateway: SonataPartnerClient,
) -> None:
    """`orderConnection` asks the partner once (one POQ, one quote), and key-less prices of the
    same line then come from the kept answer; with no time to keep answers, each asks again."""
    await order_connection(client, developer)
    assert asked(proxy) == (1, 1)
    query = (
        f"{{ price(input: {{product: ETHERNET_LINE, {CONNECTION}}}) "
        "{ price { monthlyRecurring } userErrors { code } } }"
    )
    for _ in range(3):
        priced = await client.post("/graphql", json={"query": query})
        assert priced.json()["data"]["price"]["price"]["monthlyRecurring"], priced.text
    assert asked(proxy) == (1, 1)

    unkept = Database.connect(
        settings.database_url,
        config=CoreConfig(partners=gateway, partner_quote_ttl=timedelta(0)),
    )
    try:
        for _ in range(2):
            async with unkept.session() as s:
                houston = await s.get(Location, await location_id(s, HOUSTON))
                assert houston is not None
                await partners.off_net_access(s, houston, bandwidth_mbps=1000, term_months=24)
    finally:
        await unkept.dispose()
    assert asked(proxy) == (3, 3)


async def test_notifications_count_only_when_signed_with_the_partner_s_secret(
    client: httpx.AsyncClient,
    developer: Caller,
    ops: Caller,
    partner: partners.Partner,
    partner_url: str,
    ours: Database,
    gateway: SonataPartnerClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Registering at the partner's hub keeps the secret it signs with (never shown); a forged,
    unsigned or replayed (stale) notification is refused in MEF form, a good one makes the work
    due at once, and a duplicate changes nothing."""
    from standardwebhooks import Webhook

    from tests.live_server import free_port

    caplog.set_level(logging.DEBUG)
    ours_id = await order_connection(client, developer)
    engine, _ = _workers(ours, gateway)
    worker = partners.PartnerWorker(
        ours,
        gateway,
        PartnerOutcomes(),
        poll_after=timedelta(minutes=10),
        # Nothing listens there: the partner's own deliveries fail; this test sends them.
        listener_url=f"http://127.0.0.1:{free_port()}{LISTENER_PATH}",
    )
    deadline = time.monotonic() + SETTLE_SECONDS
    while not any(w.partner_order_id for w in await work_of(ours, ours_id)):
        assert time.monotonic() < deadline
        await engine.tick()
        await worker.tick()
    [work] = await work_of(ours, ours_id)
    async with ours.session() as s:
        registered = await s.get(partners.Partner, partner.id)
        assert registered is not None
        secret = registered.listener_secret
    assert secret is not None
    assert secret.startswith("whsec_")
    shown = await client.post(
        "/graphql",
        json={"query": "{ ops { partners { name hasCredentials } } }"},
        headers=ops.headers,
    )
    assert shown.status_code == 200
    assert secret not in shown.text

    path = (
        f"{LISTENER_PATH}/{partner.id}/mefApi/sonata/productOrderingNotification/v10"
        "/listener/productOrderStateChangeEvent"
    )
    event = {
        "eventId": "ev-1",
        "eventType": "productOrderStateChangeEvent",
        "event": {"id": work.partner_order_id},
    }
    payload = json.dumps(event)

    def signed(key: str, moment: datetime, event_id: str = "ev-1") -> dict[str, str]:
        return {
            "content-type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": Webhook(key).sign(event_id, moment, payload),
        }

    now = datetime.now(UTC)
    forged = signed("whsec_" + base64.b64encode(b"x" * 32).decode(), now)
    stale = signed(secret, now - timedelta(minutes=30))
    for headers in ({"content-type": "application/json"}, forged, stale):
        refused = await client.post(path, content=payload, headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.json()["code"] in {"missingCredentials", "invalidCredentials"}
    [still] = await work_of(ours, ours_id)
    assert still.next_attempt_at is not None
    assert still.next_attempt_at > still.updated_at + timedelta(minutes=5)  # not woken

    good = signed(secret, now)
    for _ in range(2):
        assert (await client.post(path, content=payload, headers=good)).status_code == 204
    [due] = await work_of(ours, ours_id)
    assert due.next_attempt_at is not None
    # Woken: its next attempt came minutes forward (a loaded machine may have tried it once
    # meanwhile and put the next try a few seconds off).
    assert due.next_attempt_at < still.next_attempt_at - timedelta(minutes=4)
    stranger = json.dumps({**event, "event": {"id": "ord_not_ours"}})
    assert (
        await client.post(
            path,
            content=stranger,
            headers={
                **good,
                "webhook-signature": Webhook(secret).sign("ev-2", now, stranger),
                "webhook-id": "ev-2",
            },
        )
    ).status_code == 204

    async def completed() -> bool:
        return (await order_state(ours, ours_id)).state is OrderState.COMPLETED

    await settle(ours, gateway, completed)
    assert len(await partner_orders(partner_url, work.id)) == 1
    # Every line that leaves the platform goes through the redacting formatter.
    assert secret not in redact(caplog.text)


@pytest.mark.usefixtures("patient")
async def test_a_line_with_both_ends_off_net_is_bought_from_partners_at_both_ends(
    client: httpx.AsyncClient,
    session: AsyncSession,
    developer: Caller,
    partner: partners.Partner,
    proxy: FaultyProxy,
    partner_url: str,
    ours: Database,
    gateway: SonataPartnerClient,
) -> None:
    """Houston to Tampa, both off our network: first both ends from one partner, then each
    end from its own partner; each end is priced and bought from the partner that reaches it,
    and our order completes when every partner order has."""
    await partners.update_partner(
        session,
        principal=OPS,
        partner_id=partner.id,
        given=partners.PartnerInput(metros=["Houston, TX", "Tampa, FL"]),
    )
    line = (
        f'aEnd: {{address: "{HOUSTON}"}}, zEnd: {{address: "{TAMPA}"}}, '
        "bandwidthMbps: 1000, termMonths: 12"
    )

    async def buy() -> tuple[str, Decimal]:
        data = await graphql(
            client,
            developer,
            f"mutation {{ orderConnection(input: {{{line}}}) "
            "{ order { id } price { monthlyRecurring } userErrors { code message } } }",
        )
        assert data["orderConnection"]["userErrors"] == []
        placed = data["orderConnection"]
        return order_id(placed["order"]["id"]), Decimal(placed["price"]["monthlyRecurring"])

    houston_monthly, _ = await partner_quote(partner_url, HOUSTON_FIELDS, 1000, 12)
    tampa_fields = {
        "streetNr": "655",
        "streetName": "N Franklin St",
        "city": "Tampa",
        "stateOrProvince": "FL",
        "postcode": "33602",
        "country": "US",
    }
    tampa_monthly, _ = await partner_quote(partner_url, tampa_fields, 1000, 12)
    one_partner, one_price = await buy()
    assert asked(proxy) == (2, 2)  # one POQ and one quote per end

    async def both_ends_planned() -> bool:
        return len(await work_of(ours, one_partner)) == 2

    await settle(ours, gateway, both_ends_planned)

    # Tampa from a second partner (the same carrier's API, registered apart, at 50 %).
    second = await partners.register_partner(
        session,
        principal=OPS,
        given=partners.PartnerInput(
            name="Bayside Fibre",
            base_url=proxy.url,
            auth=partners.PartnerAuth.API_KEY,
            api_key=PARTNER_KEY,
            margin_percent=Decimal(50),
            metros=["Tampa, FL"],
        ),
    )
    await partners.update_partner(
        session,
        principal=OPS,
        partner_id=partner.id,
        given=partners.PartnerInput(metros=["Houston, TX"]),
    )
    two_partners, two_price = await buy()
    # Only the Tampa end's access changed: its partner's price with 50 % instead of 20 %.
    assert (two_price - one_price) * 100 == round(tampa_monthly * Decimal("1.5")) - round(
        tampa_monthly * Decimal("1.2")
    )
    assert houston_monthly > 0

    async def both_completed() -> bool:
        states = [(await order_state(ours, o)).state for o in (one_partner, two_partners)]
        return states == [OrderState.COMPLETED] * 2

    await settle(ours, gateway, both_completed)
    for ours_id, names in (
        (one_partner, {partner.id}),
        (two_partners, {partner.id, second.id}),
    ):
        work = await work_of(ours, ours_id)
        assert len(work) == 2
        assert {w.partner_id for w in work} == names
        for w in work:
            assert w.state is PartnerWorkState.COMPLETED
            [theirs] = await partner_orders(partner_url, w.id)
            assert theirs["state"] == "completed"
            assert theirs["id"] == w.partner_order_id
        async with ours.session() as s:
            [item] = (await s.exec(select(OrderItem).where(OrderItem.order_id == ours_id))).all()
            assert item.product_id is not None
