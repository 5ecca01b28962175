"""The outbox: every state change writes an event in its own transaction; a dispatcher delivers
pending events to in-process handlers and to subscriptions registered through the faces."""

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    BindParameter,
    CompoundSelect,
    Index,
    Integer,
    ScalarSelect,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Field, SQLModel, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random

from app.core import clock
from app.core.db import Database, StrEnumType, UTCDateTime, commit, new_id
from app.core.errors import IllegalTransition, NotFound
from app.core.parties import Audience, Party, Principal, get_scoped, resolve_buyer, scoped

# `Channel` lives with the parties, whose audiences decide which channels they may use.
from app.core.parties import Channel as Channel
from app.core.webhooks import check_callback, new_secret

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    """What happened to an entity."""

    CREATED = "created"
    STATE_CHANGED = "state_changed"
    ATTRIBUTE_CHANGED = "attribute_changed"
    DELETED = "deleted"
    # The party must act before work goes on: book a visit for a work order.
    APPOINTMENT_REQUIRED = "appointment_required"


# The kinds of event that put an entity into a state (`state_history`).
STATE_KINDS = (EventKind.CREATED, EventKind.STATE_CHANGED)


class EventAudience(StrEnum):
    """Which parties' listeners hear of an event."""

    # The party it is about (and an agent that acted for it).
    OWNER = "owner"
    # Every party: a fact of the public catalog.
    EVERYONE = "everyone"
    # Operations staff only: e.g. an offering still in design.
    OPS = "ops"


class EntityKind(StrEnum):
    """What kind of core object an event is about; faces compare `Event.entity` with these."""

    ORDER = "order"
    ORDER_ITEM = "order_item"
    QUALIFICATION = "qualification"
    QUOTE = "quote"
    QUOTE_ITEM = "quote_item"
    PRODUCT = "product"
    TICKET = "ticket"
    INCIDENT = "incident"
    BILL = "bill"
    WORK_ORDER = "work_order"
    APPOINTMENT = "appointment"
    # The people, organisations and accounts a party keeps (as `relations.Holder` names them).
    PERSON = "person"
    ORGANIZATION = "organization"
    ACCOUNT = "account"
    BILLING_ACCOUNT = "billing_account"
    # Entries of the public catalog.
    OFFERING = "offering"
    SPECIFICATION = "specification"
    CATEGORY = "category"
    CATALOG = "catalog"
    PRICE = "price"


class DeliveryStatus(StrEnum):
    """Where one event stands with one receiver."""

    PENDING = "pending"
    DELIVERED = "delivered"
    # Parked after its last attempt: operations staff see it and may replay it.
    FAILED = "failed"


class Event(SQLModel, table=True):
    """A fact about an entity, written in the transaction that made it true."""

    # The history of some of a party's entities, without reading the party's every event.
    __table_args__ = (Index("ix_event_party_entity", "party_id", "entity_id", "seq"),)
    # `seq` orders events; `id` is the stable identity that receivers de-duplicate on.
    seq: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=BigInteger().with_variant(Integer(), "sqlite"),
    )
    id: str = Field(default_factory=lambda: new_id("evt"), unique=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    entity: EntityKind = Field(sa_type=StrEnumType(EntityKind, 40))
    entity_id: str = Field(index=True, max_length=40)
    kind: EventKind = Field(sa_type=StrEnumType(EventKind, 20))
    state: str | None = Field(default=None, max_length=40)
    previous_state: str | None = Field(default=None, max_length=40)
    channel: Channel | None = Field(default=None, sa_type=StrEnumType(Channel, 12))
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    audience: EventAudience = Field(
        default=EventAudience.OWNER, sa_type=StrEnumType(EventAudience, 12)
    )
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
    # Signs every delivery; kept to sign with, shown to its owner once, never logged.
    secret: str = Field(default_factory=new_secret, max_length=60, repr=False)
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
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The lease of the dispatcher that claimed it: others leave it alone until `locked_until`,
    # so that a crashed process's claim runs out and the delivery is tried again.
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_by: str | None = Field(default=None, max_length=40)

    @property
    def subscription_id(self) -> str | None:
        """The subscription it goes to; None for an in-process handler."""
        kind, _, name = self.receiver.partition(":")
        return name if kind == "subscription" else None


def record(
    session: AsyncSession,
    *,
    party_id: str,
    entity: EntityKind,
    entity_id: str,
    kind: EventKind,
    state: str | None = None,
    previous_state: str | None = None,
    channel: Channel | None = None,
    data: dict[str, Any] | None = None,
    audience: EventAudience = EventAudience.OWNER,
) -> Event:
    """Add an event to the caller's unit of work; it commits with the change it describes.
    `party_id` owns it; `audience` says whose listeners hear of it besides."""
    event = Event(
        party_id=party_id,
        audience=audience,
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


def record_change(
    session: AsyncSession,
    *,
    party_id: str,
    entity: EntityKind,
    entity_id: str,
    before: dict[str, Any],
    after: dict[str, Any],
    also_changed: bool = False,
    data: dict[str, Any] | None = None,
) -> None:
    """Add the events of a change of a row's fields (`before` and `after` it, a `state` among
    them) to the caller's unit of work: a state change if its state moved, an attribute change
    if any other field did (or `also_changed`, for what lives beyond the row)."""
    common: dict[str, Any] = {"party_id": party_id, "entity": entity, "entity_id": entity_id}
    state, previous = after.get("state"), before.get("state")
    if state != previous:
        record(
            session,
            **common,
            kind=EventKind.STATE_CHANGED,
            state=state,
            previous_state=previous,
            data=data,
        )
    others = {k for k in before.keys() | after.keys() if k != "state"}
    if also_changed or any(before.get(k) != after.get(k) for k in others):
        record(session, **common, kind=EventKind.ATTRIBUTE_CHANGED, state=state, data=data)


def events_query(*, principal: Principal) -> SelectOfScalar[Event]:
    """The caller's events, newest first, as a statement to page through."""
    return scoped(Event, principal).order_by(col(Event.seq).desc())


async def list_events(
    session: AsyncSession,
    *,
    principal: Principal,
    entity: EntityKind | None = None,
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


@dataclass(frozen=True)
class StateChange:
    """A state an entity entered (or was created in), and when."""

    seq: int
    entity: EntityKind
    entity_id: str
    kind: EventKind
    state: str
    occurred_at: datetime


class _JSONRows(FunctionElement[Any]):
    """The rows of a statement's columns as one JSON array of arrays (SQLite, PostgreSQL)."""

    type = JSON()
    inherit_cache = True


@compiles(_JSONRows)
def _json_rows_sqlite(element: _JSONRows, compiler: SQLCompiler, **kw: Any) -> str:
    columns = ", ".join(compiler.process(c, **kw) for c in element.clauses)
    return f"json_group_array(json_array({columns}))"


@compiles(_JSONRows, "postgresql")
def _json_rows_postgresql(element: _JSONRows, compiler: SQLCompiler, **kw: Any) -> str:
    columns = ", ".join(compiler.process(c, **kw) for c in element.clauses)
    # json_agg of no rows is NULL, where SQLite's json_group_array is `[]`.
    return f"coalesce(json_agg(json_build_array({columns})), '[]'::json)"


def state_history(
    *, entity_ids: CompoundSelect[str], party_ids: Sequence[BindParameter[str]] | None
) -> ScalarSelect[Any]:
    """The events that put the entities `entity_ids` selects into a state, of the parties
    `party_ids` (parameters; `None` for every party), as one value (see
    `state_changes`) to select beside the entity itself: its history then costs no statement
    of its own."""
    # Neither ordered nor limited: ordered by `seq`, SQLite would walk the party's every
    # event in that order rather than look up these entities' (the caller sorts them).
    rows = _JSONRows(
        Event.seq, Event.entity, Event.entity_id, Event.kind, Event.state, Event.occurred_at
    )
    statement = select(rows).where(
        col(Event.entity_id).in_(entity_ids),
        # A comparison per kind: `in_` with a list would be an expanding parameter, whose SQL
        # is rendered anew on every execution.
        or_(*(col(Event.kind) == kind for kind in STATE_KINDS)),
        col(Event.state).is_not(None),
    )
    if party_ids is not None:
        statement = statement.where(col(Event.party_id).in_(party_ids))
    return statement.scalar_subquery()


def state_changes(value: list[list[Any]] | None) -> list[StateChange]:
    """The state changes that a `state_history` column holds, in the order they happened."""
    changes = [
        StateChange(
            seq=seq,
            entity=EntityKind(entity),
            entity_id=entity_id,
            kind=EventKind(kind),
            state=state,
            occurred_at=_moment(occurred_at),
        )
        for seq, entity, entity_id, kind, state, occurred_at in value or ()
    ]
    # An aggregate keeps no order that SQL promises.
    return sorted(changes, key=lambda change: change.seq)


def _moment(text: str) -> datetime:
    # SQLite keeps UTC without an offset; PostgreSQL's JSON gives the session's offset.
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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


@dataclass
class _Claimed:
    """A delivery this dispatcher holds the lease of, with what it needs to be attempted."""

    delivery: Delivery
    event: Event
    subscription: Subscription | None


def _hears(event: Event, subscription: Subscription, audience: str) -> bool:
    """Whether the owner of a subscription, of `audience`, may hear of an event."""
    if event.audience is EventAudience.EVERYONE:
        return True
    if event.audience is EventAudience.OPS:
        return audience == Audience.OPS
    # An agent that placed an order for a buyer hears of it too.
    return subscription.party_id in {event.party_id, event.data.get("placed_by_party_id")}


class Dispatcher:
    """Delivers events at least once to handlers and subscriptions, retrying with backoff.

    Deliveries run concurrently: at most `per_receiver` at a time to one receiver and
    `concurrency` in all, so a slow receiver holds up only itself. Each delivery is claimed
    with a lease (`SELECT ... FOR UPDATE SKIP LOCKED`), so that of several processes on one
    database exactly one attempts it.
    """

    def __init__(
        self,
        database: Database,
        *,
        max_attempts: int = 8,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        jitter: float = 0.25,
        batch_size: int = 200,
        attempt_timeout: float = 10.0,
        per_receiver: int = 4,
        concurrency: int = 32,
    ) -> None:
        self.database = database
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self.batch_size = batch_size
        self.attempt_timeout = attempt_timeout
        self.per_receiver = per_receiver
        self.concurrency = concurrency
        # Long enough for an attempt and the recording of its outcome.
        self.lease = timedelta(seconds=attempt_timeout + 60)
        self.handlers: dict[str, tuple[Handler, Callable[[Event], bool]]] = {}
        self.transports: dict[str, _TransportEntry] = {}
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: Counter[str] = Counter()
        # This dispatcher's leases with deliveries not yet recorded: given back when it stops.
        self._leases: Counter[str] = Counter()
        self._delivered = 0
        # SQLite has a single writer: this dispatcher's own transactions take turns, rather than
        # fail with "database is locked" when one turns from reading to writing.
        self._one_writer = asyncio.Lock() if database.engine.dialect.name == "sqlite" else None

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
        """Delay before the next attempt after `attempts` failures: exponential and capped, less
        a random part of up to `jitter` of it, so that receivers that failed together are not
        all retried at the same moment."""
        delay = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        return timedelta(seconds=delay * (1 - self.jitter * random.random()))

    def wake(self) -> None:
        """Ask a running loop to dispatch now rather than at its next poll."""
        self._wakeup.set()

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        """A session for one of the dispatcher's own transactions."""
        async with contextlib.AsyncExitStack() as stack:
            if self._one_writer is not None:
                await stack.enter_async_context(self._one_writer)
            yield await stack.enter_async_context(self.database.session())

    async def fan_out(self) -> int:
        """Create deliveries for events not yet fanned out; returns how many events it saw."""
        async with self._session() as session:
            # Locked rows are another dispatcher's to fan out: skip them rather than wait.
            fresh = (
                await session.exec(
                    select(Event)
                    .where(col(Event.fanned_out).is_(False))
                    .order_by(col(Event.seq))
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not fresh:
                return 0
            subscriptions = (
                await session.exec(
                    select(Subscription, Party.audience).join(
                        Party, col(Party.id) == Subscription.party_id
                    )
                )
            ).all()
            for event in fresh:
                for name, (_, accepts) in self.handlers.items():
                    if accepts(event):
                        session.add(Delivery(event_id=event.id, receiver=name))
                for sub, audience in subscriptions:
                    entry = self.transports.get(sub.transport)
                    if entry and _hears(event, sub, audience) and entry.matches(sub, event):
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
        """Attempt every delivery that is due, within the limits, and wait for them all;
        returns how many succeeded."""
        before = self._delivered
        while True:
            # A claim made while attempts were under way may have passed over a receiver that
            # was full then and is free now: only a claim made with none under way is final.
            busy = bool(self._tasks)
            await self._start_due()
            if self._tasks:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
            elif not busy:
                break
        return self._delivered - before

    async def _start_due(self) -> int:
        """Claim as many due deliveries as there are free places and start attempting them."""
        free = self.concurrency - len(self._tasks)
        if free <= 0:
            return 0
        claimed = await self._claim(free)
        for item in claimed:
            self._in_flight[item.delivery.receiver] += 1
            task = asyncio.create_task(self._attempt(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def _claim(self, free: int) -> list[_Claimed]:
        """Lease up to `free` due deliveries, none to a receiver that has no place left."""
        now = clock.now()
        full = [r for r, n in self._in_flight.items() if n >= self.per_receiver]
        statement = (
            select(Delivery, Event)
            .join(Event, col(Event.id) == col(Delivery.event_id))
            .where(
                Delivery.status == DeliveryStatus.PENDING,
                col(Delivery.next_attempt_at) <= now,
                or_(col(Delivery.locked_until).is_(None), col(Delivery.locked_until) <= now),
            )
        )
        if full:
            statement = statement.where(col(Delivery.receiver).not_in(full))
        statement = (
            statement.order_by(col(Event.seq))
            .limit(self.batch_size)
            .with_for_update(skip_locked=True, of=Delivery)
        )
        lease = new_id("lease")
        async with self._session() as session:
            picked: list[tuple[Delivery, Event]] = []
            taken: Counter[str] = Counter()
            for delivery, event in (await session.exec(statement)).all():
                if len(picked) == free:
                    break
                if self._in_flight[delivery.receiver] + taken[delivery.receiver] >= (
                    self.per_receiver
                ):
                    continue
                taken[delivery.receiver] += 1
                delivery.locked_until = now + self.lease
                delivery.locked_by = lease
                session.add(delivery)
                picked.append((delivery, event))
            if picked:
                self._leases[lease] = len(picked)
            sub_ids = [d.subscription_id for d, _ in picked if d.subscription_id]
            subscriptions = {
                s.id: s
                for s in (
                    await session.exec(
                        select(Subscription).where(col(Subscription.id).in_(sub_ids))
                    )
                ).all()
            }
            await session.commit()
        return [
            _Claimed(d, e, subscriptions.get(d.subscription_id) if d.subscription_id else None)
            for d, e in picked
        ]

    async def _attempt(self, claimed: _Claimed) -> None:
        """Attempt one claimed delivery and record how it went."""
        receiver = claimed.delivery.receiver
        try:
            error: str | None = None
            try:
                async with asyncio.timeout(self.attempt_timeout):
                    await self._send(claimed)
            except TimeoutError:
                error = f"TimeoutError: no answer within {self.attempt_timeout:g} s"
            except Exception as exc:  # a receiver's failure must not stop the others
                error = f"{type(exc).__name__}: {exc}"[:1000]
            await self._record(claimed, error)
        except Exception:
            log.exception("recording delivery of %s to %s failed", claimed.event.id, receiver)
        finally:
            self._in_flight[receiver] -= 1
            if self._in_flight[receiver] <= 0:
                del self._in_flight[receiver]
            lease = claimed.delivery.locked_by or ""
            self._leases[lease] -= 1
            if self._leases[lease] <= 0:
                del self._leases[lease]
            self.wake()

    async def _record(self, claimed: _Claimed, error: str | None) -> None:
        """Write the outcome of an attempt, unless the lease ran out and another took it."""
        # A lost outcome would mean a second delivery once the lease runs out: try harder.
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(OperationalError),
            stop=stop_after_attempt(5),
            wait=wait_random(0.05, 0.5),
            reraise=True,
        ):
            with attempt:
                written = await self._write_outcome(claimed, error)
        if written and error is None:
            self._delivered += 1

    async def _write_outcome(self, claimed: _Claimed, error: str | None) -> bool:
        now = clock.now()
        held = claimed.delivery
        async with self._session() as session:
            delivery = (
                await session.exec(
                    select(Delivery)
                    .where(
                        Delivery.event_id == held.event_id,
                        Delivery.receiver == held.receiver,
                        Delivery.locked_by == held.locked_by,
                    )
                    .with_for_update()
                )
            ).first()
            if delivery is None:
                log.warning(
                    "lease on delivery of %s to %s ran out before its outcome was recorded",
                    held.event_id,
                    held.receiver,
                )
                return False
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.locked_until = None
            delivery.locked_by = None
            if error is None:
                delivery.status = DeliveryStatus.DELIVERED
                delivery.delivered_at = now
                delivery.last_error = None
            else:
                delivery.last_error = error
                if delivery.attempts >= self.max_attempts:
                    delivery.status = DeliveryStatus.FAILED
                    log.warning(
                        "delivery of %s to %s parked after %d attempts: %s",
                        delivery.event_id,
                        delivery.receiver,
                        delivery.attempts,
                        error,
                    )
                else:
                    delivery.next_attempt_at = now + self.backoff(delivery.attempts)
            session.add(delivery)
            await session.commit()
        return True

    async def _send(self, claimed: _Claimed) -> None:
        delivery, event = claimed.delivery, claimed.event
        if delivery.subscription_id is not None:
            subscription = claimed.subscription
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
        """Fan out everything new, then deliver what is due and wait for it."""
        while await self.fan_out() == self.batch_size:
            pass
        return await self.deliver_due()

    async def run_forever(self, poll_seconds: float, *, drain_seconds: float = 0.0) -> None:
        """Dispatch until cancelled, waking early when `wake()` is called or a place frees up;
        attempts run in the background, so a slow receiver never holds up this loop. Once
        cancelled, attempts under way get `drain_seconds` to finish and record their outcome."""
        try:
            while True:
                try:
                    while await self.fan_out() == self.batch_size:
                        pass
                    await self._start_due()
                except Exception:
                    log.exception("event dispatch failed; retrying at the next poll")
                # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancellation
                # that arrives as the wait ends, and the dispatcher would never stop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll_seconds):
                        await self._wakeup.wait()
                self._wakeup.clear()
        finally:
            if self._tasks and drain_seconds > 0:
                # An attempt cut short would be sent again once its lease ran out.
                await asyncio.wait(set(self._tasks), timeout=drain_seconds)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._give_back_leases()

    async def _give_back_leases(self) -> None:
        """Let other dispatchers take now, not when the lease runs out, what this one claimed
        and did not finish (a claim cut short by the stop, an attempt past the drain)."""
        if not self._leases:
            return
        try:
            async with self._session() as session:
                await session.exec(
                    update(Delivery)
                    .where(
                        col(Delivery.locked_by).in_(list(self._leases)),
                        col(Delivery.status) == DeliveryStatus.PENDING,
                    )
                    .values(locked_until=None, locked_by=None)
                )
                await session.commit()
            self._leases.clear()
        except Exception:
            log.exception("giving back leases failed; they run out on their own")


async def subscribe(
    session: AsyncSession,
    *,
    principal: Principal,
    transport: str,
    callback: str,
    query: str | None = None,
    buyer_party_id: str | None = None,
    allow_private: bool = False,
) -> Subscription:
    """Register the caller (or a buyer it acts for) for events delivered by `transport` to
    `callback`, which must be a URL the platform may call (see `webhooks.check_callback`).
    The subscription carries a fresh signing secret for its owner to verify deliveries with."""
    check_callback(callback, allow_private=allow_private)
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


def failed_deliveries_query(*, principal: Principal) -> SelectOfScalar[Delivery]:
    """Parked deliveries of every party, most recently failed first (operations staff)."""
    principal.require_ops()
    return (
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.FAILED)
        .order_by(
            col(Delivery.last_attempt_at).desc(), col(Delivery.event_id), col(Delivery.receiver)
        )
    )


async def replay_delivery(
    session: AsyncSession, *, principal: Principal, event_id: str, receiver: str
) -> Delivery:
    """Put a parked delivery back in the queue with a fresh set of attempts (operations staff)."""
    principal.require_ops()
    delivery = await session.get(Delivery, (event_id, receiver))
    if delivery is None:
        raise NotFound(f"no delivery of '{event_id}' to '{receiver}'", field="id")
    if delivery.status is not DeliveryStatus.FAILED:
        raise IllegalTransition(
            f"only a parked delivery can be replayed; this one is {delivery.status}", field="id"
        )
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = clock.now()
    delivery.locked_until = None
    delivery.locked_by = None
    session.add(delivery)
    await commit(session)
    return delivery
