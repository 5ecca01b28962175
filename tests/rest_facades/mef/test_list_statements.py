"""Every MEF list pages and filters in SQL: a page costs the same statements over 10 rows as
over 1,000, and its total counts every row, not a window of them."""

from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import insert
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, geography, ordering, qualification, quoting, tickets
from app.core.db import Database
from app.core.events import Channel
from app.core.geography import AddressInput, Location, Site
from app.core.quoting import QuoteKind
from app.core.tickets import IncidentType
from rest_facades.mef.flavours import SONATA
from tests.factories import CHICAGO, Caller, line_spec, make_order, make_product, make_ticket
from tests.statements import counting

PAGE = 50
# A template row made through the core, for one list; the test copies it in bulk.
Template = Callable[[AsyncSession, Caller, Caller], Awaitable[SQLModel]]


async def _site(session: AsyncSession, buyer: Caller, ops: Caller) -> SQLModel:
    return await geography.create_site(
        session, principal=buyer.principal, address=AddressInput(text=CHICAGO)
    )


async def _product(session: AsyncSession, buyer: Caller, ops: Caller) -> SQLModel:
    return await make_product(session, buyer)


async def _poq(session: AsyncSession, buyer: Caller, ops: Caller) -> SQLModel:
    made, _ = await qualification.qualify(
        session,
        principal=buyer.principal,
        specs=[await line_spec(session)],
        channel=Channel.SONATA,
        project_id="rollout",
    )
    return made


async def _quote(session: AsyncSession, buyer: Caller, ops: Caller) -> SQLModel:
    made = await quoting.request_quote(
        session,
        principal=buyer.principal,
        specs=[await line_spec(session)],
        kind=QuoteKind.BUDGETARY,
        channel=Channel.SONATA,
        project_id="rollout",
    )
    return made.quote


async def _order(session: AsyncSession, buyer: Caller, ops: Caller) -> SQLModel:
    placed = await make_order(session, buyer, channel=Channel.SONATA, project_id="rollout")
    return placed.order


async def _cancellation(session: AsyncSession, buyer: Caller, ops: Caller) -> SQLModel:
    placed = await make_order(session, buyer, channel=Channel.SONATA)
    asked = await ordering.ask_to_cancel(
        session, principal=buyer.principal, order_id=placed.order.id
    )
    return asked.cancellation


async def _date_change(session: AsyncSession, buyer: Caller, ops: Caller) -> SQLModel:
    placed = await make_order(session, buyer, channel=Channel.SONATA)
    moved = await ordering.ask_to_move_date(
        session,
        principal=buyer.principal,
        order_id=placed.order.id,
        item_id=placed.items[0].id,
        requested_completion_at=clock.now() + timedelta(days=40),
    )
    return moved.change


async def _ticket(session: AsyncSession, buyer: Caller, ops: Caller) -> SQLModel:
    return await make_ticket(session, buyer)


async def _incident(session: AsyncSession, buyer: Caller, ops: Caller) -> SQLModel:
    product = await make_product(session, buyer)
    return await tickets.open_incident(
        session,
        principal=ops.principal,
        product_id=product.id,
        incident_type=IncidentType.REPAIR,
        description="Fibre cut",
    )


LISTS: dict[str, tuple[str, str, Template, dict[str, str]]] = {
    "sites": ("geographic_site", "/geographicSite", _site, {"city": "Chicago"}),
    "products": ("product_inventory", "/product", _product, {"status": "active"}),
    "qualifications": (
        "product_offering_qualification",
        "/productOfferingQualification",
        _poq,
        {"projectId": "rollout", "state": "done.ready"},
    ),
    "quotes": ("quote", "/quote", _quote, {"projectId": "rollout", "quoteLevel": "budgetary"}),
    "orders": (
        "product_order",
        "/productOrder",
        _order,
        {"projectId": "rollout", "state": "acknowledged", "orderDate.gt": "2000-01-01T00:00:00Z"},
    ),
    "cancellations": (
        "product_order",
        "/cancelProductOrder",
        _cancellation,
        {"state": "acknowledged"},
    ),
    "date changes": (
        "product_order",
        "/modifyProductOrderItemRequestedDeliveryDate",
        _date_change,
        {"state": "done", "requestedCompletionDate.gt": "2000-01-01T00:00:00Z"},
    ),
    "tickets": ("trouble_ticket", "/troubleTicket", _ticket, {"status": "acknowledged"}),
    "incidents": ("trouble_ticket", "/incident", _incident, {"incidentType": "repair"}),
}


async def _copy(session: AsyncSession, template: SQLModel, count: int, start: int) -> None:
    """`count` copies of a row in one INSERT statement (a site, at as many new places)."""
    row = template.model_dump()
    copies = [{**row, "id": f"{row['id'][:24]}-{start + n:05d}"} for n in range(count)]
    if isinstance(template, Site):
        # A buyer has one site per place.
        found = await session.get(Location, template.location_id)
        assert found is not None
        place = found.model_dump()
        places = [
            {**place, "id": f"{place['id'][:24]}-{start + n:05d}", "street_number": f"{n + start}B"}
            for n in range(count)
        ]
        await session.exec(insert(Location).values(places))
        copies = [{**c, "location_id": p["id"]} for c, p in zip(copies, places, strict=True)]
    await session.exec(insert(type(template)).values(copies))
    await session.commit()


@pytest.mark.parametrize("name", sorted(LISTS))
async def test_a_list_costs_the_same_statements_for_10_and_1000_rows(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    carrier: Caller,
    ops: Caller,
    name: str,
) -> None:
    api, path, make, criteria = LISTS[name]
    template = await make(session, carrier, ops)
    url = f"{SONATA.base_path(api).rstrip('/')}{path}"

    async def page() -> tuple[int, httpx.Response]:
        with counting(database) as statements:
            response = await client.get(
                url, headers=carrier.headers, params={"limit": PAGE, **criteria}
            )
        assert response.status_code == 200, response.text
        return len(statements), response

    await _copy(session, template, 9, 0)
    few, first = await page()
    assert (len(first.json()), first.headers["x-total-count"]) == (10, "10")
    await _copy(session, template, 990, 9)
    many, second = await page()
    assert (len(second.json()), second.headers["x-total-count"]) == (PAGE, "1000")
    assert many == few
