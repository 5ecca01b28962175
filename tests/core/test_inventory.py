"""Inventory: products of a party and their lifecycle."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, inventory
from app.core.catalog import ProductSpec
from app.core.errors import IllegalTransition, NotAuthorized, NotFound
from app.core.inventory import ProductFilter, ProductState
from app.core.parties import Principal
from tests.factories import DALLAS, Caller, location_id, make_product


async def test_products_are_listed_by_state_for_their_party_only(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    mine = await make_product(session, developer)
    theirs = await make_product(session, other_developer)
    listed = await inventory.list_products(session, principal=developer.principal)
    assert [p.id for p in listed] == [mine.id]
    active = await inventory.list_products(
        session, principal=ops.principal, states={ProductState.ACTIVE}
    )
    assert {p.id for p in active} == {mine.id, theirs.id}
    assert (
        await inventory.list_products(
            session, principal=developer.principal, states={ProductState.TERMINATED}
        )
        == []
    )
    with pytest.raises(NotFound):
        await inventory.get_product(session, principal=developer.principal, product_id=theirs.id)


async def test_ops_suspend_and_resume_a_product(
    session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    product = await make_product(session, developer)
    delivered_version = product.version
    with pytest.raises(NotAuthorized):
        await inventory.suspend(session, principal=developer.principal, product_id=product.id)
    suspended = await inventory.suspend(session, principal=ops.principal, product_id=product.id)
    assert suspended.state is ProductState.SUSPENDED
    with pytest.raises(IllegalTransition):
        await inventory.suspend(session, principal=ops.principal, product_id=product.id)
    resumed = await inventory.resume(session, principal=ops.principal, product_id=product.id)
    assert resumed.state is ProductState.ACTIVE
    assert resumed.version == delivered_version + 2


async def test_a_single_ended_product_has_no_z_end(
    session: AsyncSession, developer: Caller
) -> None:
    spec = ProductSpec(
        offering_id="internet-access",
        a_location_id=await location_id(session, DALLAS),
        z_location_id=None,
        bandwidth_mbps=500,
        term_months=36,
    )
    product = await make_product(session, developer, spec=spec)
    assert product.z_site_id is None
    assert product.offering_id == "internet-access"
    assert product.spec() == spec


async def test_products_are_filtered_by_ids_offerings_orders_sites_accounts_and_dates(
    session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    start = datetime(2025, 3, 1, 12, tzinfo=UTC)
    clock.set_clock(lambda: start)
    line = await make_product(session, developer)
    clock.set_clock(lambda: start + timedelta(days=2))
    spec = ProductSpec(
        offering_id="internet-access",
        a_location_id=await location_id(session, DALLAS),
        z_location_id=None,
        bandwidth_mbps=500,
        term_months=36,
    )
    internet = await make_product(session, developer, spec=spec)

    async def ids(principal: Principal = developer.principal, **where: Any) -> list[str]:
        statement = inventory.products_query(principal=principal, where=ProductFilter(**where))
        return [p.id for p in (await session.exec(statement)).all()]

    assert await ids() == [internet.id, line.id]
    assert await ids(ids=[line.id, "prd_missing"]) == [line.id]
    assert await ids(ids=[]) == []
    assert await ids(offering_ids={"internet-access"}) == [internet.id]
    assert await ids(order_ids=[line.order_id]) == [line.id]
    assert await ids(site_id=line.z_site_id) == [line.id]
    assert await ids(site_id=internet.a_site_id) == [internet.id]
    assert await ids(billing_account_id=line.billing_account_id) == [internet.id, line.id]
    assert await ids(billing_account_id="ba_other") == []
    midway = start + timedelta(days=1)
    assert await ids(started_after=midway) == [internet.id]
    assert await ids(started_before=midway) == [line.id]
    assert await ids(updated_after=midway, updated_before=midway + timedelta(days=2)) == [
        internet.id
    ]
    assert await ids(ops.principal, party_id="pty_other") == []
    assert await ids(ops.principal, party_id=developer.party_id) == [internet.id, line.id]
