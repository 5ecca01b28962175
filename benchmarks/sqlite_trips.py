"""What a SQLite statement costs through SQLAlchemy's stock aiosqlite dialect and through the
platform's one-trip driver: CPU and trips to aiosqlite's thread, in turn on one scratch file.

`python -m benchmarks.sqlite_trips [--statements 2000] [--rounds 3]`"""

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite
from sqlalchemy import Column, Integer, MetaData, String, Table, event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.core.db import _sqlite_pragmas
from app.core.sqlite_driver import DRIVERNAME

metadata = MetaData()
rows = Table(
    "row",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("n", Integer),
    Column("s", String),
)
ROWS = 1000


class Trips:
    """Counts the calls queued for aiosqlite connections' threads."""

    def __init__(self) -> None:
        self.count = 0
        original = aiosqlite.Connection._execute

        async def counted(
            connection: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any
        ) -> Any:
            self.count += 1
            return await original(connection, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

        aiosqlite.Connection._execute = counted  # type: ignore[method-assign,assignment]


async def _selects(engine: AsyncEngine, n: int) -> None:
    async with AsyncSession(engine) as session:
        for i in range(n):
            (await session.execute(select(rows).where(rows.c.id == i % ROWS + 1))).all()


async def _read_sessions(engine: AsyncEngine, n: int) -> None:
    for i in range(n):
        async with AsyncSession(engine) as session:
            (await session.execute(select(rows).where(rows.c.id == i % ROWS + 1))).all()
            await session.rollback()


async def _write_sessions(engine: AsyncEngine, n: int) -> None:
    for i in range(n):
        async with AsyncSession(engine) as session:
            await session.execute(update(rows).where(rows.c.id == i % ROWS + 1).values(n=i))
            await session.commit()


CASES: dict[str, Callable[[AsyncEngine, int], Awaitable[None]]] = {
    "select by key (in one session)": _selects,
    "session: one select, then its rollback": _read_sessions,
    "session: one update, then its commit": _write_sessions,
}


async def _measure(
    trips: Trips, drivername: str, path: str, n: int
) -> dict[str, tuple[float, float]]:
    engine = create_async_engine(f"{drivername}:///{path}")
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        if (await connection.execute(select(rows.c.id).limit(1))).first() is None:
            await connection.execute(insert(rows), [{"n": i, "s": f"r{i}"} for i in range(ROWS)])
    measured = {}
    for name, case in CASES.items():
        await case(engine, 10)
        trips.count, cpu = 0, time.process_time()
        await case(engine, n)
        cpu = time.process_time() - cpu
        measured[name] = (cpu / n * 1e6, trips.count / n)
    await engine.dispose()
    return measured


async def compare(statements: int, rounds: int) -> None:
    """Print CPU (all threads) and trips per case, stock and one-trip in turn."""
    trips = Trips()
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(1, rounds + 1):
            for label, drivername in (("stock", "sqlite+aiosqlite"), ("one trip", DRIVERNAME)):
                measured = await _measure(trips, drivername, f"{scratch}/trips.db", statements)
                for name, (micros, per_call) in measured.items():
                    print(f"{round_} {label:8} {name:40} {micros:6.0f} us  {per_call:.1f} trips")


def main() -> None:
    """Compare the two drivers as asked on the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sqlite_trips", description=__doc__)
    parser.add_argument("--statements", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(compare(args.statements, args.rounds))


if __name__ == "__main__":
    main()
