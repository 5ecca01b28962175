"""Reading an order by id costs one statement: the order comes with its items (and, on MEF,
its buyer and the state history of the order and its items)."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, events, ordering
from app.core.db import Database
from app.core.events import Channel, EntityKind, EventKind
from rest_facades.mef.flavours import SONATA
from tests.factories import Caller, line_spec
from tests.statements import counting

TMF622 = "/tmf-api/productOrderingManagement/v4/productOrder"


@pytest.fixture
async def order(session: AsyncSession, carrier: Caller) -> ordering.OrderWithItems:
    """An order of two items."""
    spec = await line_spec(session)
    return await ordering.place(
        session,
        principal=carrier.principal,
        channel=Channel.SONATA,
        items=[ordering.ItemRequest(spec=spec), ordering.ItemRequest(spec=spec)],
    )


@pytest.mark.parametrize(
    ("face", "statements"),
    [(f"{SONATA.base_path('product_order').rstrip('/')}/productOrder", 1), (TMF622, 1)],
)
async def test_an_order_by_id_is_read_in_few_statements(
    client: httpx.AsyncClient,
    database: Database,
    carrier: Caller,
    order: ordering.OrderWithItems,
    face: str,
    statements: int,
) -> None:
    with counting(database) as ran:
        response = await client.get(f"{face}/{order.order.id}", headers=carrier.headers)
    assert response.status_code == 200, response.text
    assert len(response.json()["productOrderItem"]) == 2
    # Besides the statement that authenticates the key (which a process remembers a while).
    assert len([s for s in ran if "FROM apikey" not in s]) == statements, ran


async def test_another_partys_order_is_still_not_found(
    client: httpx.AsyncClient, other_carrier: Caller, order: ordering.OrderWithItems
) -> None:
    for face in (f"{SONATA.base_path('product_order').rstrip('/')}/productOrder", TMF622):
        response = await client.get(f"{face}/{order.order.id}", headers=other_carrier.headers)
        assert response.status_code == 404, response.text


async def test_the_state_history_read_with_the_order_is_the_events(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    carrier: Caller,
    order: ordering.OrderWithItems,
) -> None:
    """The order's and each item's state changes, in the order they happened, at the moments
    the events hold (microseconds included); other events and other entities' are left out."""
    moment = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    clock.set_clock(lambda: moment)
    first, second = order.items
    party = carrier.principal.party_id
    for entity, entity_id, kind, state in [
        (EntityKind.ORDER_ITEM, second.id, EventKind.STATE_CHANGED, "in_progress"),
        (EntityKind.ORDER, order.order.id, EventKind.STATE_CHANGED, "in_progress"),
        (EntityKind.ORDER_ITEM, first.id, EventKind.ATTRIBUTE_CHANGED, "acknowledged"),
        (EntityKind.ORDER_ITEM, first.id, EventKind.STATE_CHANGED, "completed"),
        (EntityKind.ORDER, "ord_another", EventKind.STATE_CHANGED, "completed"),
    ]:
        moment += timedelta(minutes=1, microseconds=1)
        events.record(
            session, party_id=party, entity=entity, entity_id=entity_id, kind=kind, state=state
        )
        await session.commit()
    with counting(database) as ran:
        response = await client.get(
            f"{SONATA.base_path('product_order')}productOrder/{order.order.id}",
            headers=carrier.headers,
        )
    assert len([s for s in ran if "FROM apikey" not in s]) == 1, ran
    answer = response.json()
    assert [c["state"] for c in answer["stateChange"]] == ["acknowledged", "inProgress"]
    assert answer["stateChange"][1]["changeDate"] == "2026-03-01T09:32:15.123458Z"
    items = {item["id"]: item["stateChange"] for item in answer["productOrderItem"]}
    assert items == {
        "1": [{"changeDate": "2026-03-01T09:34:15.123460Z", "state": "completed"}],
        "2": [{"changeDate": "2026-03-01T09:31:15.123457Z", "state": "inProgress"}],
    }


async def test_operations_read_the_same_order(
    client: httpx.AsyncClient, carrier: Caller, ops: Caller, order: ordering.OrderWithItems
) -> None:
    path = f"{SONATA.base_path('product_order')}productOrder/{order.order.id}"
    seen = await client.get(path, headers=carrier.headers)
    by_ops = await client.get(path, headers=ops.headers)
    assert by_ops.status_code == 200, by_ops.text
    assert by_ops.json() == seen.json()
    assert [c["state"] for c in by_ops.json()["stateChange"]] == ["acknowledged"]
