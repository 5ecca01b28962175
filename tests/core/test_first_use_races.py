"""Rows created on a party's first use (its default billing account, its site at a building)
exist once, however many of its first requests race to create them."""

import asyncio

import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import billing, geography
from app.core.billing import BillingAccount
from app.core.db import Database
from app.core.geography import Site
from tests.factories import CHICAGO, Caller, location_id

pytestmark = pytest.mark.postgres_only


async def _race(database: Database, create: object, rounds: int = 2) -> list[str]:
    """Run `create` in two transactions that overlap: the first commits after the second has
    tried to insert the same row."""

    async def one(delay: float) -> str:
        async with database.session() as session:
            made = await create(session)  # type: ignore[operator]
            await asyncio.sleep(delay)
            await session.commit()
            return str(made.id)

    return list(await asyncio.gather(one(0.3), one(0.0)))


async def test_two_first_orders_of_a_party_share_one_default_billing_account(
    postgres_schema: str | None, database: Database, session: AsyncSession, carrier: Caller
) -> None:
    if not postgres_schema:
        pytest.skip("needs LUMEN_TEST_DATABASE_URL naming a PostgreSQL server")
    party_id = carrier.principal.party_id

    first, second = await _race(database, lambda s: billing.ensure_account(s, party_id=party_id))

    assert first == second
    count = await session.exec(
        select(func.count()).where(
            BillingAccount.party_id == party_id, col(BillingAccount.is_default).is_(True)
        )
    )
    assert count.one() == 1


async def test_two_first_orders_at_a_building_share_one_site(
    postgres_schema: str | None, database: Database, session: AsyncSession, carrier: Caller
) -> None:
    if not postgres_schema:
        pytest.skip("needs LUMEN_TEST_DATABASE_URL naming a PostgreSQL server")
    party_id = carrier.principal.party_id
    location = await geography.get_location(
        session, await location_id(session, CHICAGO), principal=carrier.principal
    )

    first, second = await _race(
        database, lambda s: geography.ensure_site(s, party_id=party_id, location=location)
    )

    assert first == second
    count = await session.exec(
        select(func.count()).where(Site.party_id == party_id, Site.location_id == location.id)
    )
    assert count.one() == 1
