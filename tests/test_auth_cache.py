"""A process remembers API keys' principals for a few seconds; revocation still takes effect."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from app.core.db import CoreConfig, Database
from app.core.parties import PrincipalCache, revoke_api_key
from app.main import create_app
from app.settings import Settings
from tests.factories import Caller, make_caller
from tests.statements import counting

TMF_ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
TTL_SECONDS = 0.5


@pytest.fixture
async def cached() -> AsyncIterator[list[Database]]:
    """The databases made in a test, closed after it."""
    made: list[Database] = []
    yield made
    for database in made:
        await database.dispose()


async def _serving(
    settings: Settings, cached: list[Database], *, ttl_seconds: float = TTL_SECONDS
) -> tuple[httpx.AsyncClient, Database]:
    database = Database.connect(
        settings.database_url,
        config=CoreConfig(principals=PrincipalCache(ttl_seconds=ttl_seconds)),
    )
    cached.append(database)
    app = create_app(settings, run_workers=False)
    app.state.database = database
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    return client, database


async def _carrier(settings: Settings, cached: list[Database]) -> Caller:
    """A carrier whose key was made (and authenticated once) by another process: the served
    process has not seen it yet."""
    # Made through the served database, `make_caller`'s own check of the key would already
    # be remembered, and the first request would find it only if it came after the TTL.
    elsewhere = Database.connect(settings.database_url)
    cached.append(elsewhere)
    async with elsewhere.session() as session:
        return await make_caller(session, "carrier", name="Cached Carrier")


async def test_a_known_key_is_not_looked_up_again(
    settings: Settings, cached: list[Database]
) -> None:
    # Long enough that nothing expires on a loaded machine: this test is about hits.
    client, database = await _serving(settings, cached, ttl_seconds=60)
    carrier = await _carrier(settings, cached)
    async with client:
        with counting(database) as first:
            assert (await client.get(TMF_ORDERS, headers=carrier.headers)).status_code == 200
        with counting(database) as again:
            assert (await client.get(TMF_ORDERS, headers=carrier.headers)).status_code == 200
        # The same key with a wrong secret is refused, not served from memory.
        forged = {"Authorization": carrier.headers["Authorization"][:-4] + "abcd"}
        assert (await client.get(TMF_ORDERS, headers=forged)).status_code == 401
    assert len(again) == len(first) - 1
    assert any("FROM apikey" in statement for statement in first)
    assert not any("FROM apikey" in statement for statement in again)


async def test_a_key_revoked_in_the_process_stops_working_at_once(
    settings: Settings, cached: list[Database]
) -> None:
    client, database = await _serving(settings, cached)
    carrier = await _carrier(settings, cached)
    async with client:
        assert (await client.get(TMF_ORDERS, headers=carrier.headers)).status_code == 200
        async with database.session() as session:
            key_id = carrier.key.split("_")[1]
            await revoke_api_key(session, principal=carrier.principal, key_id=key_id)
        assert (await client.get(TMF_ORDERS, headers=carrier.headers)).status_code == 401


async def test_a_key_revoked_by_another_process_stops_working_within_the_ttl(
    settings: Settings, cached: list[Database]
) -> None:
    client, _ = await _serving(settings, cached)
    # Another process: its own engine and its own memory of keys.
    _, elsewhere = await _serving(settings, cached)
    carrier = await _carrier(settings, cached)
    async with client:
        assert (await client.get(TMF_ORDERS, headers=carrier.headers)).status_code == 200
        async with elsewhere.session() as session:
            key_id = carrier.key.split("_")[1]
            await revoke_api_key(session, principal=carrier.principal, key_id=key_id)
        await asyncio.sleep(TTL_SECONDS + 0.1)
        refused = await client.get(TMF_ORDERS, headers=carrier.headers)
    assert refused.status_code == 401
    assert refused.json()["reason"] == "the API key is unknown or revoked"
