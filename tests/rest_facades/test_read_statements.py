"""Reading an order by id costs few statements: the order comes with its items (and, on MEF,
its buyer) in one statement; Sonata adds one for the order's state history."""

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import ordering
from app.core.db import Database
from app.core.events import Channel
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
    [(f"{SONATA.base_path('product_order').rstrip('/')}/productOrder", 2), (TMF622, 1)],
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
