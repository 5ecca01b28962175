"""A process keeps a database connection open for every request at work and its background
loops, so that a steady load opens none: on SQLite a connection is a thread of its own, on
PostgreSQL a login."""

import asyncio

from sqlalchemy import event

from app.main import SPARE_CONNECTIONS, create_app
from app.settings import Settings


async def test_a_load_of_every_place_at_work_opens_no_connection_once_warm(
    settings: Settings,
) -> None:
    app = create_app(settings, run_workers=False)
    database = app.state.database
    at_once = settings.max_concurrent_requests + SPARE_CONNECTIONS
    opened = 0

    def count(*_: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(database.engine.sync_engine, "connect", count)

    async def round_of_work() -> None:
        """`at_once` sessions, each holding its connection until all of them hold one."""
        holding = 0
        everyone = asyncio.Event()

        async def hold() -> None:
            nonlocal holding
            async with database.session() as session:
                await session.connection()
                holding += 1
                if holding == at_once:
                    everyone.set()
                await everyone.wait()

        await asyncio.wait_for(asyncio.gather(*(hold() for _ in range(at_once))), 30)

    try:
        await round_of_work()
        assert opened == at_once
        opened = 0
        await round_of_work()
        await round_of_work()
        assert opened == 0
    finally:
        await database.dispose()
