"""The platform's SQLite driver answers as SQLAlchemy's stock aiosqlite dialect does, in one trip
to aiosqlite's thread per statement, and keeps SQLite's locking off the event loop."""

import asyncio
import importlib.metadata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from packaging.specifiers import SpecifierSet
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    exc,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.core.db import _sqlite_pragmas, make_engine
from app.core.sqlite_driver import OneHopSQLiteDialect

pytestmark = pytest.mark.once

metadata = MetaData()
things = Table(
    "thing",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), unique=True, nullable=False),
    Column("size", Integer, nullable=False),
)


async def _engine(path: Path, *, stock: bool) -> AsyncEngine:
    if stock:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine = make_engine(f"sqlite:///{path}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    return engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """The platform's engine on a fresh SQLite file with one table."""
    made = await _engine(tmp_path / "one-hop.db", stock=False)
    yield made
    await made.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry per call queued for an aiosqlite connection's thread."""
    queued: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        queued.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return queued


async def _exercise(engine: AsyncEngine) -> dict[str, Any]:
    """What a caller sees of inserts, executemany, updates, selects and errors."""
    seen: dict[str, Any] = {}
    async with engine.connect() as connection:
        inserted = await connection.execute(insert(things).values(name="a", size=1))
        seen["lastrowid"] = inserted.lastrowid
        seen["primary key"] = tuple(inserted.inserted_primary_key or ())
        seen["bulk"] = (
            await connection.execute(
                insert(things).returning(things.c.id),
                [{"name": f"b{n}", "size": n} for n in range(5)],
            )
        ).all()
        many = await connection.exec_driver_sql(
            "INSERT INTO thing (name, size) VALUES (?, ?)", [("c1", 7), ("c2", 8)]
        )
        seen["executemany rowcount"] = many.rowcount
        changed = await connection.execute(
            update(things)
            .where(things.c.name == bindparam("which"))
            .values(size=bindparam("new_size")),
            [{"which": "b1", "new_size": 10}, {"which": "b2", "new_size": 20}],
        )
        seen["update many rowcount"] = changed.rowcount
        changed = await connection.execute(update(things).where(things.c.size < 5).values(size=0))
        seen["update rowcount"] = changed.rowcount
        result = await connection.execute(select(things).order_by(things.c.id))
        seen["columns"] = list(result.keys())
        seen["rows"] = result.all()
        seen["one"] = (await connection.execute(select(func.count()).select_from(things))).one()
        seen["none"] = (await connection.execute(select(things).where(things.c.id < 0))).all()
        with pytest.raises(exc.IntegrityError):
            await connection.execute(insert(things).values(name="a", size=2))
        with pytest.raises(exc.OperationalError):
            await connection.exec_driver_sql("SELEKT 1")
        await connection.commit()
        streamed = await connection.stream(select(things.c.name).order_by(things.c.id))
        seen["streamed"] = [row async for row in streamed]
    return seen


async def test_answers_as_the_stock_dialect_does(tmp_path: Path) -> None:
    answers = []
    for stock in (True, False):
        engine = await _engine(tmp_path / f"stock-{stock}.db", stock=stock)
        try:
            answers.append(await _exercise(engine))
        finally:
            await engine.dispose()
    stock_answer, one_hop_answer = answers
    assert one_hop_answer == stock_answer
    assert one_hop_answer["lastrowid"] == 1
    assert one_hop_answer["executemany rowcount"] == 2
    assert one_hop_answer["update many rowcount"] == 2
    assert one_hop_answer["update rowcount"] == 4
    assert len(one_hop_answer["rows"]) == 8


def test_sqlite_urls_get_the_one_hop_driver_and_others_do_not() -> None:
    assert isinstance(make_engine("sqlite:///unused.db").dialect, OneHopSQLiteDialect)
    assert isinstance(make_engine("sqlite+aiosqlite:///unused.db").dialect, OneHopSQLiteDialect)
    postgres = make_engine("postgresql://user@127.0.0.1/unused")
    assert postgres.dialect.driver == "psycopg"


def test_the_private_aiosqlite_api_it_uses_is_there() -> None:
    # The pin in pyproject.toml covers the versions whose internals the driver relies on.
    assert importlib.metadata.version("aiosqlite") in SpecifierSet(">=0.20,<0.22")
    assert asyncio.iscoroutinefunction(aiosqlite.Connection._execute)
    assert isinstance(aiosqlite.Connection._conn, property)


async def test_one_trip_per_statement_and_none_to_end_a_read(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with AsyncSession(engine) as session:
        await session.execute(select(things))  # connects first
        trips.clear()
        for _ in range(5):
            await session.execute(select(things).where(things.c.id == 1))
        assert len(trips) == 5
        await session.rollback()
    # Neither the session's rollback nor the pool's reset goes to the thread after reads.
    assert len(trips) == 5

    trips.clear()
    async with AsyncSession(engine) as session:
        await session.execute(insert(things).values(name="x", size=1))
        await session.commit()
    assert len(trips) == 2  # the statement and the commit


async def test_an_unfinished_write_is_rolled_back_when_its_connection_returns(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.connect() as connection:
        await connection.execute(insert(things).values(name="left", size=1))
        trips.clear()
    assert len(trips) == 1  # the pool's reset rolled back
    async with engine.connect() as connection:
        assert (await connection.execute(select(things))).all() == []
        # The rollback released SQLite's write lock: another write goes through at once.
        await connection.exec_driver_sql("PRAGMA busy_timeout=0")
        await connection.execute(insert(things).values(name="next", size=2))
        await connection.commit()


async def test_a_write_through_a_server_side_cursor_is_rolled_back_too(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        streamed = await connection.stream(
            insert(things).values(name="streamed", size=1).returning(things.c.id)
        )
        assert [row.id async for row in streamed] == [1]
    assert await _sizes(engine) == []


async def test_an_insert_refused_by_a_constraint_leaves_its_transaction_to_roll_back(
    engine: AsyncEngine,
) -> None:
    async with AsyncSession(engine) as session:
        await session.execute(insert(things).values(name="dup", size=1))
        await session.commit()
    async with AsyncSession(engine) as session:
        await session.execute(insert(things).values(name="kept?", size=1))
        with pytest.raises(exc.IntegrityError):
            await session.execute(insert(things).values(name="dup", size=2))
    async with AsyncSession(engine) as session:
        names = (await session.execute(select(things.c.name))).scalars().all()
    assert names == ["dup"]


async def test_a_writer_waiting_for_the_lock_leaves_the_event_loop_free(
    engine: AsyncEngine,
) -> None:
    await _fill(engine)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async with engine.connect() as first, engine.connect() as second:
        await first.execute(update(things).values(size=1))  # holds SQLite's write lock
        ticker = asyncio.create_task(tick())
        waiting = asyncio.create_task(second.execute(update(things).values(size=2)))
        # Readers go on meanwhile, and see the last committed rows.
        readers = [_sizes(engine) for _ in range(3)]
        assert await asyncio.gather(*readers) == [[0, 0, 0]] * 3
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await first.commit()
        await waiting
        await second.commit()
        ticker.cancel()
    # The loop ran all the while the second writer slept on the lock in aiosqlite's thread.
    assert ticks >= 10
    assert await _sizes(engine) == [2, 2, 2]


async def _fill(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(things), [{"name": f"t{n}", "size": 0} for n in range(3)])


async def _sizes(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(things.c.size))).scalars())
