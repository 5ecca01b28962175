"""Every process hears of every committed event: on PostgreSQL a trigger on the event table
notifies the `lumen_events` channel when a transaction commits, and each process listens."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import psycopg
from sqlmodel import col, select

from app.core.db import Database
from app.core.events import Event

log = logging.getLogger(__name__)

CHANNEL = "lumen_events"
EventsHandler = Callable[[list[Event]], Awaitable[None]]


def seqs_of(payload: str) -> list[int]:
    """The event seqs a notification names (comma-separated, as the trigger sends them)."""
    return [int(part) for part in payload.split(",") if part.strip().isdigit()]


class EventFeed:
    """Listens on its own connection for events committed by any process, and hands them to
    this process's followers in the order they committed."""

    def __init__(
        self,
        database: Database,
        *,
        retry_seconds: float = 1.0,
        max_retry_seconds: float = 30.0,
        check_seconds: float = 30.0,
    ) -> None:
        self.database = database
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        # A connection that heard nothing for this long is asked whether it is still there.
        self.check_seconds = check_seconds
        # Set while the feed listens: events committed from then on are heard.
        self.listening = asyncio.Event()
        # The highest seq heard and handed on.
        self.heard = 0
        self._wakers: list[Callable[[], None]] = []
        self._gaps: list[Callable[[], None]] = []
        self._followers: list[tuple[EventsHandler, Callable[[], bool]]] = []
        url = database.engine.url.set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)

    def on_notice(self, wake: Callable[[], None]) -> None:
        """Call `wake()` whenever events commit (to start work early rather than at a poll)."""
        self._wakers.append(wake)

    def on_gap(self, callback: Callable[[], None]) -> None:
        """Call `callback()` whenever events may have gone unheard: the connection was lost,
        listens again, or the events of a notice could not be read."""
        self._gaps.append(callback)

    def _gap(self) -> None:
        for callback in self._gaps:
            callback()

    def follow(self, handler: EventsHandler, *, wanted: Callable[[], bool] = lambda: True) -> None:
        """Hand committed events to `handler`, read only while `wanted()` holds."""
        self._followers.append((handler, wanted))

    async def run_forever(self) -> None:
        """Listen until cancelled, connecting again (with backoff) when the connection is lost."""
        delay = self.retry_seconds
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self._gap()  # what committed while it did not listen went unheard
                    self.listening.set()
                    delay = self.retry_seconds
                    while True:
                        async for notice in connection.notifies(timeout=self.check_seconds):
                            await self._hand_on(seqs_of(notice.payload))
                        await connection.execute("SELECT 1")
            except (psycopg.Error, OSError) as exc:
                self.listening.clear()
                self._gap()
                log.warning("event feed lost its connection (%s); listening in %g s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_seconds)

    async def _hand_on(self, seqs: list[int]) -> None:
        if not seqs:
            return
        for wake in self._wakers:
            wake()
        followers = [handler for handler, wanted in self._followers if wanted()]
        if followers:
            try:
                async with self.database.session() as session:
                    events = list(
                        (
                            await session.exec(
                                select(Event)
                                .where(col(Event.seq).in_(seqs))
                                .order_by(col(Event.seq))
                            )
                        ).all()
                    )
                    # Detached as read, so that nothing the session does later expires them.
                    session.expunge_all()
                for handler in followers:
                    await handler(events)
            except Exception:
                # A follower's failure (or a lost pool connection) costs these events only.
                self._gap()
                log.exception("handing on events %s failed", seqs)
        self.heard = max(self.heard, *seqs)
