"""TMF callers: enterprises, one of the audiences that use the TM Forum APIs."""

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.factories import Caller, make_caller


@pytest.fixture
async def customer(session: AsyncSession) -> Caller:
    """An enterprise party with an API key."""
    return await make_caller(session, "enterprise", name="Nimbus Labs")


@pytest.fixture
async def other_customer(session: AsyncSession) -> Caller:
    """A second, unrelated enterprise party."""
    return await make_caller(session, "enterprise", name="Quanta Devices")
