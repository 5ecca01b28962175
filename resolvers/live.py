"""Live updates: core events fanned out to this process's open GraphQL subscriptions (from the
dispatcher on SQLite, from the event feed of every process on PostgreSQL)."""

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

from app.core.events import EntityKind, Event

QUEUE_SIZE = 1000
# What subscriptions follow: orders and tickets for their owners, and for the operations feed
# the steps around them (qualifications, quotes, products going into service, bills).
LIVE_ENTITIES = frozenset(
    {
        EntityKind.ORDER,
        EntityKind.ORDER_ITEM,
        EntityKind.TICKET,
        EntityKind.QUALIFICATION,
        EntityKind.QUOTE,
        EntityKind.PRODUCT,
        EntityKind.BILL,
    }
)


class LiveEvents:
    """A broadcaster: the dispatcher publishes, each open subscription listens on a queue."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Event]] = set()

    async def publish(self, event: Event) -> None:
        """Offer an event to every listener; a listener that fell far behind loses the oldest."""
        for queue in list(self._queues):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    async def publish_all(self, events: list[Event]) -> None:
        """Offer every accepted event of a batch, in order."""
        for event in events:
            if self.accepts(event):
                await self.publish(event)

    @staticmethod
    def accepts(event: Event) -> bool:
        """Only the entities that subscriptions follow are published."""
        return event.entity in LIVE_ENTITIES

    @contextlib.asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue of events for as long as the subscription is open."""
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    @property
    def listeners(self) -> int:
        """How many subscriptions are open."""
        return len(self._queues)


async def events_for(live: LiveEvents) -> AsyncGenerator[Event, None]:
    """Every published event, until the subscriber goes away."""
    async with live.listen() as queue:
        while True:
            yield await queue.get()
