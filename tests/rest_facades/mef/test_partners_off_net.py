"""Off-net reach against a real second carrier: another instance of this platform, served by
uvicorn on a loopback port as the demo partner, sells us the access we resell."""

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import partners
from app.core.db import CoreConfig, Database
from app.core.fulfilment import FulfilmentEngine, PartnerOutcomes
from app.core.ordering import Order, OrderItem, OrderState
from app.core.parties import Audience, Principal, Scope
from app.core.partners import PartnerWork, PartnerWorkState
from app.main import create_app
from app.settings import Settings
from rest_facades.mef.partner_client import ORDER_PATH, QUOTE_PATH, SonataPartnerClient
from rest_facades.mef.partner_listener import LISTENER_PATH
from tests.factories import Caller, location_id, make_caller
from tests.partner_server import PARTNER_KEY, FaultyProxy, partner_process

DALLAS = "1950 N Stemmons Fwy, Dallas, TX 75207"
HOUSTON = "660 Greens Pkwy, Houston, TX 77067"
OPS = Principal(party_id="pty_ops", audience=Audience.OPS, scopes=frozenset(Scope))
SETTLE_SECONDS = 40.0


@pytest.fixture(scope="module")
def partner_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The partner carrier, one server for the whole module."""
    with partner_process(tmp_path_factory.mktemp("partner")) as url:
        yield url


@pytest.fixture
async def proxy(partner_url: str) -> AsyncIterator[FaultyProxy]:
    """The way to the partner, which each test can make misbehave."""
    async with FaultyProxy(partner_url).running() as running:
        yield running


@pytest.fixture
async def gateway() -> AsyncIterator[SonataPartnerClient]:
    """Our Sonata client of partners: short timeouts and waits for a fast suite."""
    client = SonataPartnerClient(
        timeout_seconds=1.5,
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
    restarted = SonataPartnerClient(timeout_seconds=1.5, attempts=2, backoff_seconds=0.05)
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
        "{ confidence userErrors { code } } }"
    )
    proxy.mode = "error"
    answer = await graphql(client, developer, price)
    assert answer["price"]["confidence"] == "RED"
    assert len(proxy.seen) == 2  # one retry
    proxy.mode, proxy.delay = "slow", 5.0
    started = time.monotonic()
    answer = await graphql(client, developer, price)
    assert answer["price"]["confidence"] == "RED"
    assert time.monotonic() - started < 6.0
    proxy.mode = "drop"
    await graphql(client, developer, price)
    assert gateway.health(partner.id).breaker == "opened"
    before = len(proxy.seen)
    proxy.mode = "pass"
    answer = await graphql(client, developer, price)
    assert answer["price"]["confidence"] == "RED"
    assert len(proxy.seen) == before
    health = gateway.health(partner.id)
    assert health.calls == 3
    assert health.success_rate == 0


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


async def test_notifications_prompt_a_read_and_a_duplicate_changes_nothing(
    client: httpx.AsyncClient,
    developer: Caller,
    partner: partners.Partner,
    partner_url: str,
    ours: Database,
    gateway: SonataPartnerClient,
) -> None:
    """A partner's notification (twice, as listeners may get) makes the work due at once; an
    unknown order's notification is ignored."""
    ours_id = await order_connection(client, developer)
    work = await placed_with_partner(ours, gateway, ours_id)
    event = {
        "eventId": "ev-1",
        "eventType": "productOrderStateChangeEvent",
        "event": {"id": work.partner_order_id},
    }
    path = (
        f"{LISTENER_PATH}/{partner.id}/mefApi/sonata/productOrderingNotification/v10"
        "/listener/productOrderStateChangeEvent"
    )
    for _ in range(2):
        assert (await client.post(path, json=event)).status_code == 204
    stranger = {**event, "event": {"id": "ord_not_ours"}}
    assert (await client.post(path, json=stranger)).status_code == 204
    [due] = await work_of(ours, ours_id)
    assert due.next_attempt_at is not None
    assert due.next_attempt_at <= due.updated_at + timedelta(seconds=5)

    async def completed() -> bool:
        return (await order_state(ours, ours_id)).state is OrderState.COMPLETED

    await settle(ours, gateway, completed)
    assert len(await partner_orders(partner_url, work.id)) == 1


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
