"""MEF callers: a carrier on Sonata, an enterprise on Cantata, as each flavour serves."""

from collections.abc import Iterator

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.factories import Caller, make_caller
from tests.partner_server import partner_process, prepare_partner_database

AUDIENCE_BY_FLAVOUR = {"sonata": "carrier", "cantata": "enterprise"}


def _audience(request: pytest.FixtureRequest) -> str:
    """The audience that buys through the flavour under test (Sonata where none is named)."""
    flavour = request.getfixturevalue("flavour") if "flavour" in request.fixturenames else None
    return AUDIENCE_BY_FLAVOUR[flavour or "sonata"]


@pytest.fixture
async def customer(session: AsyncSession, request: pytest.FixtureRequest) -> Caller:
    """A buyer with an API key, of the audience that the flavour under test serves."""
    return await make_caller(session, _audience(request), name="Nimbus Labs")


@pytest.fixture
async def other_customer(session: AsyncSession, request: pytest.FixtureRequest) -> Caller:
    """A second, unrelated buyer of the same audience."""
    return await make_caller(session, _audience(request), name="Quanta Devices")


@pytest.fixture(scope="session")
def partner_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo partner carrier (another instance of this platform), one server per test
    process, shared by every module that buys off-net access from it."""
    folder = tmp_path_factory.mktemp("partner")
    prepare_partner_database(folder)
    with partner_process(folder) as url:
        yield url
