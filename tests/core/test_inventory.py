"""Inventory: products of a party and their lifecycle."""

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import inventory
from app.core.catalog import ProductSpec
from app.core.errors import IllegalTransition, NotAuthorized, NotFound
from app.core.inventory import ProductState
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
