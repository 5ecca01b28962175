"""The event feed on PostgreSQL: what any connection commits is heard, in order, once; what is
rolled back is not; a lost listening connection is replaced."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import text

from app.core.db import Database
from app.core.event_feed import CHANNEL, EventFeed
from app.core.events import EntityKind, Event, EventKind, record
from tests.factories import Caller

pytestmark = pytest.mark.postgres_only


async def _until(done: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.fixture
async def feed(postgres_schema: str | None, database: Database) -> AsyncIterator[EventFeed]:
    """A running feed on the test's database."""
    if not postgres_schema:
        pytest.skip("the event feed listens on PostgreSQL")
    running = EventFeed(database, retry_seconds=0.05)
    task = asyncio.create_task(running.run_forever())
    try:
        await asyncio.wait_for(running.listening.wait(), 10)
        yield running
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _commit_events(database: Database, party_id: str, ids: list[str]) -> None:
    async with database.session() as session:
        for entity_id in ids:
            record(
                session,
                party_id=party_id,
                entity=EntityKind.ORDER,
                entity_id=entity_id,
                kind=EventKind.CREATED,
            )
        await session.commit()


async def test_committed_events_are_heard_in_order_and_rolled_back_ones_are_not(
    feed: EventFeed, database: Database, developer: Caller
) -> None:
    heard: list[Event] = []
    notices: list[int] = []

    async def keep(events: list[Event]) -> None:
        heard.extend(events)

    feed.follow(keep)
    feed.on_notice(lambda: notices.append(1))
    async with database.session() as session:
        record(
            session,
            party_id=developer.party_id,
            entity=EntityKind.ORDER,
            entity_id="ord_rolled_back",
            kind=EventKind.CREATED,
        )
        await session.flush()
        await session.rollback()
    # One statement of 700 events: a payload holds at most 300, so three notifications.
    wanted = [f"ord_{n:03}" for n in range(700)]
    await _commit_events(database, developer.party_id, wanted)
    await _until(lambda: len(heard) >= len(wanted))
    assert [e.entity_id for e in heard] == wanted
    assert len(notices) == 3
    assert feed.heard == heard[-1].seq


async def test_a_feed_whose_connection_is_lost_listens_again(
    feed: EventFeed, database: Database, developer: Caller
) -> None:
    heard: list[str] = []

    async def keep(events: list[Event]) -> None:
        heard.extend(e.entity_id for e in events)

    feed.follow(keep)
    async with database.session() as session:
        ended = await session.exec(  # type: ignore[call-overload]
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query = :listen"
            ),
            params={"listen": f"LISTEN {CHANNEL}"},
        )
        assert ended.scalars().all() == [True]
    await _until(lambda: not feed.listening.is_set())
    await asyncio.wait_for(feed.listening.wait(), 10)
    await _commit_events(database, developer.party_id, ["ord_after"])
    await _until(lambda: heard == ["ord_after"])
