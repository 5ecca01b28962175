"""Orders seeded in bulk read on every face like orders placed through the API, and stay with
their own party."""

import httpx
import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import bulk_seed
from app.core.db import Database
from app.core.events import Event
from app.core.ordering import Order, OrderItem, OrderState
from app.core.parties import Audience, issue_api_key

SONATA = "/mefApi/sonata/productOrderingManagement/v10/productOrder"
CANTATA = "/mefApi/cantata/productOrderingManagement/v5/productOrder"
TMF622 = "/tmf-api/productOrderingManagement/v4/productOrder"
ORDERS = 3000
PARTIES = 6


@pytest.fixture
async def seeded(database: Database) -> bulk_seed.Seeded:
    """Three thousand orders across two carriers, two enterprises and two developers."""
    done: list[int] = []
    found = await bulk_seed.seed_orders(
        database, orders=ORDERS, parties=PARTIES, secret="test", progress=done.append
    )
    assert sum(done) == ORDERS
    return found


async def _copied(session: AsyncSession, seeded: bulk_seed.Seeded, audience: Audience) -> str:
    """A party of the audience whose orders are all copies, with a key of its own."""
    return await issue_api_key(session, party_id=seeded.party_ids[audience][1], name="test")


async def _oldest(session: AsyncSession, party_id: str) -> Order:
    statement = select(Order).where(Order.party_id == party_id).order_by(col(Order.created_at))
    return (await session.exec(statement)).first()  # type: ignore[return-value]


async def test_rows_are_complete_and_spread(
    session: AsyncSession, seeded: bulk_seed.Seeded
) -> None:
    orders = (await session.exec(select(func.count()).select_from(Order))).one()
    assert orders == ORDERS
    per_party = (
        await session.exec(select(Order.party_id, func.count()).group_by(col(Order.party_id)))
    ).all()
    assert sorted(n for _, n in per_party) == [ORDERS // PARTIES] * PARTIES
    items = (await session.exec(select(func.count()).select_from(OrderItem))).one()
    assert items == ORDERS
    # Every order tells its story: created, accepted, delivered.
    created = await session.exec(
        select(func.count()).where(Event.entity == "order", Event.kind == "created")
    )
    assert created.one() == ORDERS
    # The copied history is delivered already: nothing waits to be fanned out but the
    # templates' own events.
    waiting = await session.exec(select(func.count()).where(col(Event.fanned_out).is_(False)))
    assert waiting.one() < 100
    states = (await session.exec(select(Order.state).distinct())).all()
    assert states == [OrderState.COMPLETED]
    # A copy's story is told in order: placed first, delivered last.
    copied = await _oldest(session, seeded.party_ids[Audience.ENTERPRISE][1])
    story = (
        await session.exec(
            select(Event).where(Event.entity_id == copied.id).order_by(col(Event.seq))
        )
    ).all()
    assert [(e.kind, e.state) for e in (story[0], story[-1])] == [
        ("created", "acknowledged"),
        ("state_changed", "completed"),
    ]
    assert [e.occurred_at for e in story] == sorted(e.occurred_at for e in story)


async def test_seeded_orders_read_on_every_face(
    client: httpx.AsyncClient, session: AsyncSession, seeded: bulk_seed.Seeded
) -> None:
    carrier = {"Authorization": f"Bearer {await _copied(session, seeded, Audience.CARRIER)}"}
    enterprise = {"Authorization": f"Bearer {await _copied(session, seeded, Audience.ENTERPRISE)}"}
    developer = {"Authorization": f"Bearer {await _copied(session, seeded, Audience.DEVELOPER)}"}
    carrier_order = await _oldest(session, seeded.party_ids[Audience.CARRIER][1])
    enterprise_order = await _oldest(session, seeded.party_ids[Audience.ENTERPRISE][1])

    sonata = await client.get(f"{SONATA}/{carrier_order.id}", headers=carrier)
    assert sonata.status_code == 200, sonata.text
    assert sonata.json()["state"] == "completed"
    assert sonata.json()["productOrderItem"][0]["state"] == "completed"
    tmf = await client.get(f"{TMF622}/{carrier_order.id}", headers=carrier)
    assert tmf.status_code == 200, tmf.text
    assert tmf.json()["state"] == "completed"
    cantata = await client.get(f"{CANTATA}/{enterprise_order.id}", headers=enterprise)
    assert cantata.status_code == 200, cantata.text

    listed = await client.get(f"{TMF622}?limit=100", headers=carrier)
    assert listed.status_code == 200
    assert listed.headers["X-Total-Count"] == str(ORDERS // PARTIES)
    assert len(listed.json()) == 100
    # Newest first, each order at its own moment.
    moments = [order["orderDate"] for order in listed.json()]
    assert moments == sorted(moments, reverse=True)
    assert len(set(moments)) == len(moments)
    deep = await client.get(f"{SONATA}?offset={ORDERS // PARTIES - 1}&limit=10", headers=carrier)
    assert deep.status_code == 200
    assert [order["id"] for order in deep.json()] == [carrier_order.id]

    query = "{ viewer { orders(first: 5) { totalCount nodes { id state items { state } } } } }"
    graphql = await client.post("/graphql", json={"query": query}, headers=developer)
    assert "errors" not in graphql.json(), graphql.text
    orders = graphql.json()["data"]["viewer"]["orders"]
    assert orders["totalCount"] == ORDERS // PARTIES
    node_id = orders["nodes"][0]["id"]
    node = await client.post(
        "/graphql",
        json={
            "query": "query($id: ID!) { node(id: $id) { ... on Order { id state } } }",
            "variables": {"id": node_id},
        },
        headers=developer,
    )
    assert node.json()["data"]["node"] == {"id": node_id, "state": "COMPLETED"}


async def test_seeded_orders_stay_with_their_party(
    client: httpx.AsyncClient, session: AsyncSession, seeded: bulk_seed.Seeded
) -> None:
    carriers = seeded.party_ids[Audience.CARRIER]
    theirs = await _oldest(session, carriers[1])
    # The first carrier's key, made by the seed, does not reach the second carrier's orders.
    first = {"Authorization": f"Bearer {seeded.keys[Audience.CARRIER]}"}
    assert (await client.get(f"{SONATA}/{theirs.id}", headers=first)).status_code == 404
    assert (await client.get(f"{TMF622}/{theirs.id}", headers=first)).status_code == 404
    listed = await client.get(f"{TMF622}?limit=1000", headers=first)
    assert {order["id"] for order in listed.json()}.isdisjoint({theirs.id})
    assert listed.headers["X-Total-Count"] == str(ORDERS // PARTIES)
