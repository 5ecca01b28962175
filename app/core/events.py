"""The outbox: every state change writes an event in its own transaction; a dispatcher delivers
pending events to in-process handlers and to subscriptions registered through the faces."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import clock
from app.core.db import Database, StrEnumType, UTCDateTime, commit, new_id
from app.core.errors import InvalidRequest

# `Channel` lives with the parties, whose audiences decide which channels they may use.
from app.core.parties import Channel as Channel
from app.core.parties import Principal, get_scoped, resolve_buyer, scoped

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    """What happened to an entity."""

    CREATED = "created"
    STATE_CHANGED = "state_changed"
    ATTRIBUTE_CHANGED = "attribute_changed"
    DELETED = "deleted"


class DeliveryStatus(StrEnum):
    """Where one event stands with one receiver."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Event(SQLModel, table=True):
    """A fact about an entity, written in the transaction that made it true."""

    # `seq` orders events; `id` is the stable identity that receivers de-duplicate on.
    seq: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=BigInteger().with_variant(Integer(), "sqlite"),
    )
    id: str = Field(default_factory=lambda: new_id("evt"), unique=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    entity: str = Field(max_length=40)
    entity_id: str = Field(index=True, max_length=40)
    kind: EventKind = Field(sa_type=StrEnumType(EventKind, 20))
    state: str | None = Field(default=None, max_length=40)
    previous_state: str | None = Field(default=None, max_length=40)
    channel: str | None = Field(default=None, max_length=12)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    occurred_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    # Set once deliveries exist for it; a flag, not a cursor, because on PostgreSQL a lower
    # `seq` can commit after a higher one and a cursor would step over it.
    fanned_out: bool = Field(default=False, index=True)


class Subscription(SQLModel, table=True):
    """A party's request to be told of events, by a transport that a face registered."""

    id: str = Field(default_factory=lambda: new_id("sub"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    transport: str = Field(max_length=60)
    callback: str = Field(max_length=1000)
    query: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """One event on its way to one receiver: a handler name or `subscription:<id>`."""

    event_id: str = Field(foreign_key="event.id", primary_key=True, max_length=40)
    receiver: str = Field(primary_key=True, max_length=100)
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING, sa_type=StrEnumType(DeliveryStatus, 12), index=True
    )
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    last_error: str | None = Field(default=None, max_length=1000)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def record(
    session: AsyncSession,
    *,
    party_id: str,
    entity: str,
    entity_id: str,
    kind: EventKind,
    state: str | None = None,
    previous_state: str | None = None,
    channel: str | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Add an event to the caller's unit of work; it commits with the change it describes."""
    event = Event(
        party_id=party_id,
        entity=entity,
        entity_id=entity_id,
        kind=kind,
        state=state,
        previous_state=previous_state,
        channel=channel,
        data=data or {},
    )
    session.add(event)
    return event


def events_query(*, principal: Principal) -> SelectOfScalar[Event]:
    """The caller's events, newest first, as a statement to page through."""
    return scoped(Event, principal).order_by(col(Event.seq).desc())


async def list_events(
    session: AsyncSession,
    *,
    principal: Principal,
    entity: str | None = None,
    entity_id: str | None = None,
    entity_ids: list[str] | None = None,
    after_seq: int = 0,
    limit: int = 100,
) -> list[Event]:
    """The caller's events in the order they happened (of one entity, or of several)."""
    statement = scoped(Event, principal).where(col(Event.seq) > after_seq)
    if entity:
        statement = statement.where(Event.entity == entity)
    if entity_id:
        statement = statement.where(Event.entity_id == entity_id)
    if entity_ids is not None:
        statement = statement.where(col(Event.entity_id).in_(entity_ids))
    return list((await session.exec(statement.order_by(col(Event.seq)).limit(limit))).all())


async def recent_events(
    session: AsyncSession, *, principal: Principal, limit: int = 50
) -> list[Event]:
    """The newest events the caller may see, newest first."""
    statement = scoped(Event, principal).order_by(col(Event.seq).desc()).limit(limit)
    return list((await session.exec(statement)).all())


Handler = Callable[[Event], Awaitable[None]]
Transport = Callable[[Subscription, Event], Awaitable[None]]
Matcher = Callable[[Subscription, Event], bool]


@dataclass
class _TransportEntry:
    send: Transport
    matches: Matcher


class Dispatcher:
    """Delivers events at least once to handlers and subscriptions, retrying with backoff."""

    def __init__(
        self,
        database: Database,
        *,
        max_attempts: int = 8,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        batch_size: int = 200,
    ) -> None:
        self.database = database
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.batch_size = batch_size
        self.handlers: dict[str, tuple[Handler, Callable[[Event], bool]]] = {}
        self.transports: dict[str, _TransportEntry] = {}
        self._wakeup = asyncio.Event()

    def add_handler(
        self, name: str, handler: Handler, accepts: Callable[[Event], bool] = lambda _e: True
    ) -> None:
        """Deliver every accepted event to an in-process handler."""
        self.handlers[name] = (handler, accepts)

    def add_transport(
        self, name: str, send: Transport, matches: Matcher = lambda _s, _e: True
    ) -> None:
        """Deliver events to subscriptions whose `transport` is `name`."""
        self.transports[name] = _TransportEntry(send, matches)

    def backoff(self, attempts: int) -> timedelta:
        """Delay before the next attempt after `attempts` failures (exponential, capped)."""
        return timedelta(seconds=min(self.max_delay, self.base_delay * 2 ** (attempts - 1)))

    def wake(self) -> None:
        """Ask a running loop to dispatch now rather than at its next poll."""
        self._wakeup.set()

    async def fan_out(self) -> int:
        """Create deliveries for events not yet fanned out; returns how many events it saw."""
        async with self.database.session() as session:
            fresh = (
                await session.exec(
                    select(Event)
                    .where(col(Event.fanned_out).is_(False))
                    .order_by(col(Event.seq))
                    .limit(self.batch_size)
                )
            ).all()
            if not fresh:
                return 0
            subscriptions = (await session.exec(select(Subscription))).all()
            for event in fresh:
                for name, (_, accepts) in self.handlers.items():
                    if accepts(event):
                        session.add(Delivery(event_id=event.id, receiver=name))
                for sub in subscriptions:
                    entry = self.transports.get(sub.transport)
                    # An agent that placed an order for a buyer hears of it too.
                    concerned = {event.party_id, event.data.get("placed_by_party_id")}
                    if entry and sub.party_id in concerned and entry.matches(sub, event):
                        session.add(Delivery(event_id=event.id, receiver=f"subscription:{sub.id}"))
                event.fanned_out = True
                session.add(event)
            try:
                await session.commit()
            except IntegrityError:
                # Another dispatcher fanned these out first; its deliveries stand.
                await session.rollback()
            return len(fresh)

    async def deliver_due(self) -> int:
        """Attempt every pending delivery that is due; returns how many succeeded."""
        now = clock.now()
        async with self.database.session() as session:
            due = (
                await session.exec(
                    select(Delivery, Event)
                    .join(Event, col(Event.id) == col(Delivery.event_id))
                    .where(
                        Delivery.status == DeliveryStatus.PENDING,
                        col(Delivery.next_attempt_at) <= now,
                    )
                    .order_by(col(Event.seq))
                    .limit(self.batch_size)
                )
            ).all()
            sub_ids = [
                d.receiver.split(":", 1)[1]
                for d, _ in due
                if d.receiver.startswith("subscription:")
            ]
            subscriptions = (
                {
                    s.id: s
                    for s in (
                        await session.exec(
                            select(Subscription).where(col(Subscription.id).in_(sub_ids))
                        )
                    ).all()
                }
                if sub_ids
                else {}
            )
            delivered = 0
            for delivery, event in due:
                try:
                    await self._send(delivery, event, subscriptions)
                except Exception as exc:  # a receiver's failure must not stop the others
                    delivery.attempts += 1
                    delivery.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                    if delivery.attempts >= self.max_attempts:
                        delivery.status = DeliveryStatus.FAILED
                        log.warning(
                            "delivery of %s to %s abandoned: %s",
                            event.id,
                            delivery.receiver,
                            delivery.last_error,
                        )
                    else:
                        delivery.next_attempt_at = now + self.backoff(delivery.attempts)
                else:
                    delivery.attempts += 1
                    delivery.status = DeliveryStatus.DELIVERED
                    delivery.delivered_at = clock.now()
                    delivery.last_error = None
                    delivered += 1
                session.add(delivery)
            await session.commit()
            return delivered

    async def _send(
        self, delivery: Delivery, event: Event, subscriptions: dict[str, Subscription]
    ) -> None:
        if delivery.receiver.startswith("subscription:"):
            subscription = subscriptions.get(delivery.receiver.split(":", 1)[1])
            if subscription is None:
                return  # unsubscribed since: nothing left to deliver to
            entry = self.transports.get(subscription.transport)
            if entry is None:
                raise LookupError(f"no transport '{subscription.transport}' in this process")
            await entry.send(subscription, event)
            return
        handler = self.handlers.get(delivery.receiver)
        if handler is None:
            raise LookupError(f"no handler '{delivery.receiver}' in this process")
        await handler[0](event)

    async def run_once(self) -> int:
        """Fan out everything new, then deliver what is due."""
        while await self.fan_out() == self.batch_size:
            pass
        return await self.deliver_due()

    async def run_forever(self, poll_seconds: float) -> None:
        """Dispatch until cancelled, waking early when `wake()` is called."""
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("event dispatch failed; retrying at the next poll")
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=poll_seconds)
            except TimeoutError:
                pass
            self._wakeup.clear()


async def subscribe(
    session: AsyncSession,
    *,
    principal: Principal,
    transport: str,
    callback: str,
    query: str | None = None,
    buyer_party_id: str | None = None,
) -> Subscription:
    """Register the caller (or a buyer it acts for) for events delivered by `transport` to
    `callback`."""
    if not callback.startswith(("http://", "https://")):
        raise InvalidRequest("callback must be an absolute http(s) URL", field="callback")
    subscription = Subscription(
        party_id=await resolve_buyer(session, principal, buyer_party_id),
        transport=transport,
        callback=callback,
        query=query,
    )
    session.add(subscription)
    await commit(session)
    return subscription


async def unsubscribe(session: AsyncSession, *, principal: Principal, subscription_id: str) -> None:
    """Remove one of the caller's subscriptions."""
    subscription = await get_scoped(
        session, Subscription, subscription_id, principal, what="subscription"
    )
    await session.delete(subscription)
    await commit(session)


async def get_subscription(
    session: AsyncSession, *, principal: Principal, subscription_id: str
) -> Subscription:
    """One of the caller's subscriptions."""
    return await get_scoped(session, Subscription, subscription_id, principal, what="subscription")
