"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL when
`LUMEN_TEST_DATABASE_URL` names one), sessions, callers and the ASGI app."""

import asyncio
import os
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, off_net
from app.core.db import Database, sync_url
from app.core.demo import seed_reference_data
from app.core.geography import Location
from app.core.migrate import upgrade
from app.core.off_net import OffNetOffer
from app.core.qualification import OFF_NET_MAX_MBPS
from app.core.tables import metadata
from app.main import create_app
from app.settings import Settings, get_settings
from tests.factories import Caller, make_caller

POSTGRES_URL = os.environ.get("LUMEN_TEST_DATABASE_URL")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On PostgreSQL, skip the slow suites that the SQLite run already covers."""
    if not POSTGRES_URL:
        return
    once = pytest.mark.skip(reason="database-independent suite: runs once, on SQLite")
    for item in items:
        if item.get_closest_marker("once"):
            item.add_marker(once)


def _worker_database(url: str) -> str:
    """The database of this test process: the named one, or with several processes
    (`pytest -n`), one of its own beside it, made on first use."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    named = make_url(url)
    own = f"{named.database}_{worker}"
    engine = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        found = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": own})
        if found.first() is None:
            connection.execute(text(f'CREATE DATABASE "{own}"'))
    engine.dispose()
    return named.set(database=own).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_schema() -> str | None:
    """On PostgreSQL, the schema is built once by the real migrations."""
    if not POSTGRES_URL:
        return None
    url = _worker_database(POSTGRES_URL)
    engine = create_engine(sync_url(url))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema and reference data, built once and copied per test."""
    path = tmp_path_factory.mktemp("template") / "lumen.db"
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()

    async def load() -> None:
        database = Database.connect(f"sqlite:///{path}")
        async with database.session() as session:
            await seed_reference_data(session)
        await database.dispose()

    asyncio.run(load())
    # One self-contained file: fold the write-ahead log back in before copying it.
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    return path


@pytest.fixture
def database_url(
    tmp_path: Path, postgres_schema: str | None, sqlite_template: Path
) -> Iterator[str]:
    """A database with the current schema, the address book and the catalog."""
    if postgres_schema:
        engine = create_engine(sync_url(postgres_schema))
        with engine.begin() as connection:
            tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        yield postgres_schema
        return
    path = tmp_path / "lumen.db"
    shutil.copyfile(sqlite_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def settings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for a test: its own database, instant fulfilment."""
    for name, value in {
        "LUMEN_DATABASE_URL": database_url,
        "LUMEN_ENVIRONMENT": "test",
        "LUMEN_FULFILMENT_ACK_SECONDS": "0",
        "LUMEN_FULFILMENT_COMPLETE_SECONDS": "0",
        "LUMEN_SEED_DEMO": "false",
        "LUMEN_TRUSTED_HOSTS": "testserver,127.0.0.1,localhost",
        # Budgets no ordinary test reaches; the rate-limit tests set their own.
        "LUMEN_RATE_LIMIT_PER_KEY": "1000000/minute",
        "LUMEN_RATE_LIMIT_ANONYMOUS": "1000000/minute",
        "LUMEN_AUTH_FAILURES_LIMIT": "1000000/minute",
        # Test listeners live on loopback.
        "LUMEN_WEBHOOK_ALLOW_PRIVATE": "true",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
async def database(settings: Settings, postgres_schema: str | None) -> AsyncIterator[Database]:
    """The test's database, with the address book and catalog loaded."""
    db = Database.connect(settings.database_url)
    if postgres_schema:
        async with db.session() as session:
            await seed_reference_data(session)
    yield db
    await db.dispose()


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    """A session on the test's database."""
    async with database.session() as s:
        yield s


@pytest.fixture
async def developer(session: AsyncSession) -> Caller:
    """A developer party with an API key."""
    return await make_caller(session, "developer", name="Nimbus Labs")


@pytest.fixture
async def other_developer(session: AsyncSession) -> Caller:
    """A second, unrelated developer party."""
    return await make_caller(session, "developer", name="Quanta Devices")


@pytest.fixture
async def carrier(session: AsyncSession) -> Caller:
    """A carrier party with an API key: it uses Sonata and the TMF APIs."""
    return await make_caller(session, "carrier", name="Meridian Wholesale")


@pytest.fixture
async def other_carrier(session: AsyncSession) -> Caller:
    """A second, unrelated carrier."""
    return await make_caller(session, "carrier", name="Northwind Carrier Services")


@pytest.fixture
async def ops(session: AsyncSession) -> Caller:
    """An operations principal, who sees every party."""
    return await make_caller(session, "ops", name="Lumen Operations")


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the real ASGI app (its background workers off: tests drive them)."""
    app = create_app(settings, run_workers=False)
    app.state.database = database
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture(autouse=True)
def _restore_clock() -> Iterator[None]:
    yield
    clock.set_clock(None)


@pytest.fixture
def partner_covers_off_net(monkeypatch: pytest.MonkeyPatch) -> None:
    """A partner carrier that serves every off-net place up to 10 Gbps, at the core's seam."""

    async def offer(session: AsyncSession, *, location: Location) -> OffNetOffer:
        return OffNetOffer(partner="Test partner", max_mbps=OFF_NET_MAX_MBPS)

    monkeypatch.setattr(off_net, "off_net_offer", offer)
