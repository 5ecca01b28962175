"""`node` on an order reads the order, its items and their sites in one statement, and a
process that keeps the catalog answers its offerings without reading them, until one changes:
in this process at once, in another once its event feed hears of the change."""

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import func, insert, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import catalog, ordering
from app.core.catalog import Offering, OfferingCache
from app.core.db import CoreConfig, Database
from app.core.event_feed import CHANNEL, EventFeed
from app.core.events import Channel, Event
from app.main import create_app
from app.settings import Settings
from tests.factories import Caller, line_spec
from tests.graphql.conftest import Answer, data
from tests.statements import counting

NODE = """
query Order($id: ID!) { node(id: $id) { ... on Order {
  id state externalId price { monthlyRecurring }
  items { position bandwidthMbps product { code name } aEnd { name } zEnd { name } }
} } }
"""
LIST = """
{ viewer { orders(first: 1) { nodes {
  id state externalId price { monthlyRecurring }
  items { position bandwidthMbps product { code name } aEnd { name } zEnd { name } }
} } } }
"""
TMF_OFFERING = "/tmf-api/productCatalogManagement/v4/productOffering"


def _gid(order_id: str) -> str:
    return base64.b64encode(f"Order:{order_id}".encode()).decode()


async def _two_items(session: AsyncSession, caller: Caller) -> ordering.OrderWithItems:
    """An order of two lines between the same two sites."""
    spec = await line_spec(session)
    return await ordering.place(
        session,
        principal=caller.principal,
        channel=Channel.GRAPHQL,
        items=[
            ordering.ItemRequest(spec=spec),
            ordering.ItemRequest(spec=replace(spec, bandwidth_mbps=spec.bandwidth_mbps * 10)),
        ],
    )


async def _post(client: httpx.AsyncClient, caller: Caller, query: str, **variables: str) -> Answer:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=caller.headers
    )
    answer: Answer = response.json()
    return answer


def _selects(statements: list[str]) -> int:
    return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])


async def test_node_reads_an_order_with_its_items_and_sites_in_one_statement(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    developer: Caller,
    other_developer: Caller,
    ops: Caller,
) -> None:
    placed = await _two_items(session, developer)
    with counting(database) as statements:
        node = data(await _post(client, developer, NODE, id=_gid(placed.order.id)))["node"]
    # The key, the order with its items and sites, the catalog: where it took five.
    assert _selects(statements) == 3
    assert [item["position"] for item in node["items"]] == [1, 2]
    assert node["items"][0]["aEnd"]["name"]
    assert node["items"][0]["zEnd"]["name"]
    listed = data(await _post(client, developer, LIST))["viewer"]["orders"]["nodes"]
    assert listed == [node]
    # Another party's order is none of this caller's business, read ahead or not.
    stranger = data(await _post(client, other_developer, NODE, id=_gid(placed.order.id)))
    assert stranger == {"node": None}
    # Operations staff see every party's.
    assert data(await _post(client, ops, NODE, id=_gid(placed.order.id)))["node"] == node


@pytest.fixture
async def kept(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    """A client of an app whose database keeps the catalog, as `lumen serve` configures it."""
    app = create_app(settings, run_workers=False)
    database = Database.connect(settings.database_url, config=CoreConfig(offerings=OfferingCache()))
    app.state.database = database
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, database
    await database.dispose()


async def test_a_kept_catalog_is_not_read_again_until_an_offering_changes(
    kept: tuple[httpx.AsyncClient, Database],
    session: AsyncSession,
    developer: Caller,
    ops: Caller,
) -> None:
    client, database = kept
    placed = await _two_items(session, developer)
    order_id = _gid(placed.order.id)
    first = data(await _post(client, developer, NODE, id=order_id))["node"]
    with counting(database) as statements:
        again = data(await _post(client, developer, NODE, id=order_id))["node"]
    assert again == first
    # The key and the order with its items and sites: the catalog is kept.
    assert _selects(statements) == 2

    offering_id = placed.items[0].offering_id
    renamed = await client.patch(
        f"{TMF_OFFERING}/{offering_id}", json={"name": "Renamed line"}, headers=ops.headers
    )
    assert renamed.status_code == 200, renamed.text
    after = data(await _post(client, developer, NODE, id=order_id))["node"]
    assert {item["product"]["name"] for item in after["items"]} == {"Renamed line"}


async def test_a_kept_catalog_is_dropped_by_any_write_to_offerings(
    settings: Settings, session: AsyncSession
) -> None:
    cache = OfferingCache()
    database = Database.connect(settings.database_url, config=CoreConfig(offerings=cache))
    try:
        async with database.session() as reading:
            known = await catalog.offerings_by_id(reading, [])
        assert cache.holds
        # A bulk INSERT, which no flush sees, drops it too once it commits.
        row = known["ethernet-line"].model_dump() | {"id": "bulk-line", "name": "Bulk line"}
        async with database.session() as writing:
            await writing.exec(insert(Offering).values(**row))
            assert cache.holds
            await writing.commit()
        assert not cache.holds
        async with database.session() as reading:
            found = await catalog.offerings_by_id(reading, ["bulk-line"])
        assert found["bulk-line"].name == "Bulk line"
    finally:
        await database.dispose()


async def test_a_catalog_read_under_way_when_it_is_dropped_is_not_kept(
    session: AsyncSession,
) -> None:
    cache = OfferingCache()
    real = catalog.list_offerings

    async def dropped_meanwhile(s: AsyncSession, *, include_retired: bool) -> list[Offering]:
        found = await real(s, include_retired=include_retired)
        cache.drop()  # a change heard while the read was under way
        return found

    catalog.list_offerings = dropped_meanwhile  # type: ignore[assignment]
    try:
        read = await cache.by_id(session, ["ethernet-line"])
    finally:
        catalog.list_offerings = real
    assert "ethernet-line" in read
    assert not cache.holds
    untrusted = OfferingCache(trusted=lambda: False)
    await untrusted.by_id(session, [])
    assert not untrusted.holds


async def _until(done: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.mark.postgres_only
async def test_an_offering_changed_through_one_process_is_seen_by_the_others_next_read(
    settings: Settings,
    postgres_schema: str | None,
    session: AsyncSession,
    developer: Caller,
    ops: Caller,
) -> None:
    if not postgres_schema:
        pytest.skip("processes hear each other's events on PostgreSQL")
    placed = await _two_items(session, developer)
    order_id = _gid(placed.order.id)
    offering_id = placed.items[0].offering_id
    one, other = create_app(settings, run_workers=False), create_app(settings, run_workers=False)
    to_one = httpx.AsyncClient(transport=httpx.ASGITransport(app=one), base_url="http://t")
    to_other = httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://t")
    async with (
        one.router.lifespan_context(one),
        other.router.lifespan_context(other),
        to_one,
        to_other,
    ):
        cache: OfferingCache = other.state.offerings
        feed: EventFeed = other.state.feed
        await asyncio.wait_for(feed.listening.wait(), 10)

        async def names() -> set[str]:
            node = data(await _post(to_other, developer, NODE, id=order_id))["node"]
            return {item["product"]["name"] for item in node["items"]}

        assert await names() != {"Renamed line"}
        assert cache.holds
        renamed = await to_one.patch(
            f"{TMF_OFFERING}/{offering_id}", json={"name": "Renamed line"}, headers=ops.headers
        )
        assert renamed.status_code == 200, renamed.text
        # The other process's next read once it has heard of the change.
        latest = (await session.exec(select(func.max(Event.seq)))).one() or 0
        await _until(lambda: feed.heard >= latest)
        assert await names() == {"Renamed line"}
        assert cache.holds

        # A lost listening connection drops the catalog: what it misses meanwhile goes unheard.
        await _end_listening(session)
        await _until(lambda: not feed.listening.is_set())
        assert not cache.holds
        await asyncio.wait_for(feed.listening.wait(), 10)
        assert await names() == {"Renamed line"}
        assert cache.holds


async def _end_listening(session: AsyncSession) -> None:
    ended = await session.exec(  # type: ignore[call-overload]
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query = :listen"
        ),
        params={"listen": f"LISTEN {CHANNEL}"},
    )
    assert True in ended.scalars().all()
