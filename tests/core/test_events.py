"""The outbox: events written with their change, scoped reading, and at-least-once dispatch."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, events, tickets
from app.core.db import Database
from app.core.errors import InvalidRequest, NotFound
from app.core.events import (
    Channel,
    Delivery,
    DeliveryStatus,
    Dispatcher,
    EntityKind,
    Event,
    EventKind,
)
from tests.factories import Caller, make_ticket

T0 = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def _at(moment: datetime) -> None:
    """Stop the clock at `moment`."""
    clock.set_clock(lambda: moment)


async def _ticket(session: AsyncSession, caller: Caller, summary: str = "Link down") -> str:
    """Open a ticket (one event) and return its id."""
    ticket = await tickets.open_ticket(
        session,
        principal=caller.principal,
        channel=Channel.GRAPHQL,
        summary=summary,
        description="Details.",
    )
    return ticket.id


async def _deliveries(database: Database, receiver: str | None = None) -> list[Delivery]:
    """Every delivery as committed (of one receiver if named), oldest event first."""
    async with database.session() as fresh:
        statement = select(Delivery).join(Event, col(Event.id) == col(Delivery.event_id))
        if receiver is not None:
            statement = statement.where(Delivery.receiver == receiver)
        rows = list((await fresh.exec(statement.order_by(col(Event.seq)))).all())
        for delivery in rows:
            fresh.expunge(delivery)
        return rows


class Recorder:
    """A handler that keeps the ids of the events it is given, failing its first `failures`."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[str] = []

    async def __call__(self, event: Event) -> None:
        self.calls.append(event.id)
        if len(self.calls) <= self.failures:
            raise ConnectionError(f"receiver unavailable (call {len(self.calls)})")


async def test_an_event_is_written_only_when_its_unit_of_work_commits(
    session: AsyncSession, database: Database, developer: Caller
) -> None:
    def note(s: AsyncSession, entity_id: str) -> Event:
        return events.record(
            s,
            party_id=developer.party_id,
            entity=EntityKind.TICKET,
            entity_id=entity_id,
            kind=EventKind.ATTRIBUTE_CHANGED,
            data={"changed": ["notes"]},
        )

    async with database.session() as work:
        note(work, "tt_rolled_back")
        # Inside the unit of work the event is there...
        inside = await events.list_events(work, principal=developer.principal)
        assert [e.entity_id for e in inside] == ["tt_rolled_back"]
        await work.rollback()
    # ...and with the rollback it is gone.
    assert await events.list_events(session, principal=developer.principal) == []

    async with database.session() as work:
        note(work, "tt_abandoned")  # never committed: the session ends with a rollback
    assert await events.list_events(session, principal=developer.principal) == []

    async with database.session() as work:
        kept = note(work, "tt_committed")
        await work.commit()
    [stored] = await events.list_events(session, principal=developer.principal)
    assert (stored.id, stored.entity_id, stored.data) == (
        kept.id,
        "tt_committed",
        {"changed": ["notes"]},
    )


async def test_events_have_stable_unique_ids_and_increasing_seq(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)  # an order, a product and a ticket
    await tickets.add_note(
        session, principal=ops.principal, ticket_id=ticket.id, text="Looking.", author="Lumen"
    )
    await tickets.change_state(
        session, principal=ops.principal, ticket_id=ticket.id, state=tickets.TicketState.IN_PROGRESS
    )
    seen = await events.list_events(session, principal=developer.principal)
    assert len(seen) >= 5
    assert {e.entity for e in seen} >= {"order", "product", "ticket"}
    seqs = [e.seq or 0 for e in seen]
    assert all(seq > 0 for seq in seqs)
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    assert len({e.id for e in seen}) == len(seen)
    assert all(e.id.startswith("evt_") for e in seen)
    assert [e.occurred_at for e in seen] == sorted(e.occurred_at for e in seen)
    # Starting work on a ticket also opens an incident; the ticket's own history is this:
    assert [(e.entity, e.kind) for e in seen if e.entity == "ticket"][-3:] == [
        ("ticket", EventKind.CREATED),
        ("ticket", EventKind.ATTRIBUTE_CHANGED),
        ("ticket", EventKind.STATE_CHANGED),
    ]

    # Read again elsewhere, every event keeps its id and place.
    async with database.session() as fresh:
        again = await events.list_events(fresh, principal=developer.principal)
        assert [(e.id, e.seq) for e in again] == [(e.id, e.seq) for e in seen]
    middle = seen[1].seq
    assert middle is not None
    after = await events.list_events(session, principal=developer.principal, after_seq=middle)
    assert [e.id for e in after] == [e.id for e in seen[2:]]
    page = await events.list_events(session, principal=developer.principal, limit=2)
    assert [e.id for e in page] == [e.id for e in seen[:2]]
    newest = await events.recent_events(session, principal=developer.principal, limit=3)
    assert [e.id for e in newest] == [e.id for e in reversed(seen[-3:])]


async def test_a_caller_reads_only_its_own_partys_events(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    mine = await _ticket(session, developer)
    theirs = await _ticket(session, other_developer)
    my_events = await events.list_events(session, principal=developer.principal)
    assert [e.entity_id for e in my_events] == [mine]
    assert {e.party_id for e in my_events} == {developer.party_id}
    their_events = await events.list_events(session, principal=other_developer.principal)
    assert [e.entity_id for e in their_events] == [theirs]
    assert await events.list_events(session, principal=developer.principal, entity_id=theirs) == []
    assert [
        e.entity_id for e in await events.recent_events(session, principal=developer.principal)
    ] == [mine]
    everyone = await events.list_events(session, principal=ops.principal, entity=EntityKind.TICKET)
    assert [e.entity_id for e in everyone] == [mine, theirs]


async def test_each_handler_receives_each_event_once(
    session: AsyncSession,
    database: Database,
    developer: Caller,
    other_developer: Caller,
    ops: Caller,
) -> None:
    first = await _ticket(session, developer, "One")
    second = await _ticket(session, other_developer, "Two")
    dispatcher = Dispatcher(database)
    everything, only_mine = Recorder(), Recorder()
    dispatcher.add_handler("audit", everything)
    dispatcher.add_handler("mine", only_mine, accepts=lambda e: e.party_id == developer.party_id)

    assert await dispatcher.fan_out() == 2
    assert await dispatcher.fan_out() == 0
    assert await dispatcher.deliver_due() == 3
    ids = {e.entity_id: e.id for e in await events.list_events(session, principal=ops.principal)}
    assert everything.calls == [ids[first], ids[second]]
    assert only_mine.calls == [ids[first]]

    # Nothing is delivered twice, however often the dispatcher runs.
    assert await dispatcher.run_once() == 0
    assert await dispatcher.run_once() == 0
    third = await _ticket(session, developer, "Three")
    assert await dispatcher.run_once() == 2
    [third_event] = await events.list_events(
        session, principal=developer.principal, entity_id=third
    )
    assert everything.calls == [ids[first], ids[second], third_event.id]
    assert only_mine.calls == [ids[first], third_event.id]
    assert {d.status for d in await _deliveries(database)} == {DeliveryStatus.DELIVERED}
    assert all(d.attempts == 1 for d in await _deliveries(database))


async def test_a_failing_handler_is_retried_with_backoff_until_it_succeeds(
    session: AsyncSession, database: Database, developer: Caller
) -> None:
    _at(T0)
    ticket_id = await _ticket(session, developer)
    [event] = await events.list_events(session, principal=developer.principal)
    flaky = Recorder(failures=2)
    dispatcher = Dispatcher(database, base_delay=2.0, max_delay=5.0, max_attempts=5, jitter=0)
    dispatcher.add_handler("flaky", flaky)
    # Exponential, and capped (without jitter, to follow each step exactly).
    assert [dispatcher.backoff(n) for n in (1, 2, 3, 4)] == [SECOND * d for d in (2, 4, 5, 5)]

    assert await dispatcher.run_once() == 0
    [delivery] = await _deliveries(database)
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.next_attempt_at == T0 + dispatcher.backoff(1)
    assert delivery.last_error == "ConnectionError: receiver unavailable (call 1)"

    _at(T0 + SECOND)  # not yet due
    assert await dispatcher.run_once() == 0
    assert len(flaky.calls) == 1

    second_try = T0 + dispatcher.backoff(1)
    _at(second_try)
    assert await dispatcher.run_once() == 0
    [delivery] = await _deliveries(database)
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == second_try + dispatcher.backoff(2)
    assert dispatcher.backoff(2) == 2 * dispatcher.backoff(1)

    _at(second_try + dispatcher.backoff(2) - SECOND)
    assert await dispatcher.run_once() == 0
    assert len(flaky.calls) == 2

    third_try = second_try + dispatcher.backoff(2)
    _at(third_try)
    assert await dispatcher.run_once() == 1
    [delivery] = await _deliveries(database)
    assert delivery.status is DeliveryStatus.DELIVERED
    assert delivery.attempts == 3
    assert delivery.delivered_at == third_try
    assert delivery.last_error is None
    # The same event each time, so the receiver can tell a repeat from a new event.
    assert flaky.calls == [event.id] * 3
    assert event.entity_id == ticket_id

    _at(third_try + timedelta(days=1))
    assert await dispatcher.run_once() == 0
    assert len(flaky.calls) == 3


def test_backoff_is_jittered_below_its_exponential_step(database: Database) -> None:
    dispatcher = Dispatcher(database, base_delay=2.0, max_delay=60.0, jitter=0.25)
    for attempts, step in ((1, 2), (2, 4), (3, 8), (10, 60)):
        delays = {dispatcher.backoff(attempts) for _ in range(50)}
        assert all(SECOND * step * 0.75 <= d <= SECOND * step for d in delays)
        assert len(delays) > 1  # receivers that failed together are retried apart


async def test_a_delivery_is_abandoned_after_max_attempts_without_hurting_others(
    session: AsyncSession, database: Database, developer: Caller
) -> None:
    _at(T0)
    await _ticket(session, developer, "One")
    await _ticket(session, developer, "Two")
    ids = [e.id for e in await events.list_events(session, principal=developer.principal)]
    broken, healthy = Recorder(failures=1000), Recorder()
    dispatcher = Dispatcher(database, base_delay=1.0, max_attempts=3)
    dispatcher.add_handler("broken", broken)
    dispatcher.add_handler("healthy", healthy)

    assert await dispatcher.run_once() == 2
    assert healthy.calls == ids
    for hours in (1, 2):
        _at(T0 + timedelta(hours=hours))
        assert await dispatcher.run_once() == 0
    assert broken.calls == ids * 3
    failed = await _deliveries(database, "broken")
    assert [(d.event_id, d.status, d.attempts) for d in failed] == [
        (ids[0], DeliveryStatus.FAILED, 3),
        (ids[1], DeliveryStatus.FAILED, 3),
    ]
    assert all((d.last_error or "").startswith("ConnectionError") for d in failed)

    # Abandoned deliveries are not tried again; new events still flow to both.
    _at(T0 + timedelta(days=2))
    assert await dispatcher.run_once() == 0
    assert len(broken.calls) == 6
    await _ticket(session, developer, "Three")
    assert await dispatcher.run_once() == 1
    assert len(healthy.calls) == 3
    assert len(broken.calls) == 7
    assert [d.status for d in await _deliveries(database, "healthy")] == [
        DeliveryStatus.DELIVERED
    ] * 3


async def test_subscriptions_are_the_callers_own(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    subscription = await events.subscribe(
        session,
        principal=developer.principal,
        transport="webhook",
        callback="https://hooks.example.com/lumen",
        query="ticket",
    )
    assert subscription.party_id == developer.party_id
    found = await events.get_subscription(
        session, principal=developer.principal, subscription_id=subscription.id
    )
    assert (found.transport, found.callback, found.query) == (
        "webhook",
        "https://hooks.example.com/lumen",
        "ticket",
    )
    with pytest.raises(NotFound):
        await events.get_subscription(
            session, principal=other_developer.principal, subscription_id=subscription.id
        )
    with pytest.raises(NotFound):
        await events.unsubscribe(
            session, principal=other_developer.principal, subscription_id=subscription.id
        )
    # Still there for its owner, until the owner removes it.
    await events.get_subscription(
        session, principal=developer.principal, subscription_id=subscription.id
    )
    await events.unsubscribe(
        session, principal=developer.principal, subscription_id=subscription.id
    )
    with pytest.raises(NotFound):
        await events.get_subscription(
            session, principal=developer.principal, subscription_id=subscription.id
        )


async def test_a_callback_must_be_an_http_url(session: AsyncSession, developer: Caller) -> None:
    for callback in ["", "hooks.example.com/x", "ftp://hooks.example.com/", "javascript:x", "/hub"]:
        with pytest.raises(InvalidRequest) as refused:
            await events.subscribe(
                session, principal=developer.principal, transport="webhook", callback=callback
            )
        assert refused.value.field == "callback", callback


async def test_a_transport_gets_only_its_subscribers_own_matching_events(
    session: AsyncSession,
    database: Database,
    developer: Caller,
    other_developer: Caller,
    ops: Caller,
) -> None:
    sent: list[tuple[str, str]] = []

    async def send(subscription: events.Subscription, event: Event) -> None:
        sent.append((subscription.id, event.id))

    dispatcher = Dispatcher(database)
    dispatcher.add_transport(
        "webhook", send, matches=lambda s, e: s.query is None or s.query == e.entity
    )
    mine = await events.subscribe(
        session,
        principal=developer.principal,
        transport="webhook",
        callback="https://a.example.com/hook",
        query="ticket",
    )
    theirs = await events.subscribe(
        session,
        principal=other_developer.principal,
        transport="webhook",
        callback="http://b.example.com/hook",
    )
    await events.subscribe(
        session,
        principal=developer.principal,
        transport="pigeon",  # no such transport in this process
        callback="https://c.example.com/hook",
    )
    my_ticket = await _ticket(session, developer)
    events.record(
        session,
        party_id=developer.party_id,
        entity=EntityKind.ORDER,
        entity_id="ord_0000000000000000",
        kind=EventKind.CREATED,
    )
    await session.commit()
    their_ticket = await _ticket(session, other_developer)

    assert await dispatcher.run_once() == 2
    ids = {e.entity_id: e.id for e in await events.list_events(session, principal=ops.principal)}
    assert sent == [(mine.id, ids[my_ticket]), (theirs.id, ids[their_ticket])]
    assert {d.receiver for d in await _deliveries(database)} == {
        f"subscription:{mine.id}",
        f"subscription:{theirs.id}",
    }


async def test_an_event_for_a_removed_subscription_is_dropped_quietly(
    session: AsyncSession, database: Database, developer: Caller
) -> None:
    sent: list[str] = []

    async def send(subscription: events.Subscription, event: Event) -> None:
        sent.append(event.id)

    dispatcher = Dispatcher(database)
    dispatcher.add_transport("webhook", send)
    subscription = await events.subscribe(
        session,
        principal=developer.principal,
        transport="webhook",
        callback="https://a.example.com/hook",
    )
    await _ticket(session, developer)
    assert await dispatcher.fan_out() == 1
    await events.unsubscribe(
        session, principal=developer.principal, subscription_id=subscription.id
    )

    await dispatcher.deliver_due()
    assert sent == []
    [delivery] = await _deliveries(database)
    assert delivery.status is DeliveryStatus.DELIVERED
    assert delivery.last_error is None

    # Later events make no deliveries for it at all.
    await _ticket(session, developer, "Again")
    assert await dispatcher.run_once() == 0
    assert sent == []
    assert len(await _deliveries(database)) == 1


async def test_a_claim_left_by_a_crashed_process_runs_out_and_the_delivery_is_retried(
    session: AsyncSession, database: Database, developer: Caller
) -> None:
    _at(T0)
    await _ticket(session, developer)
    survivor = Recorder()
    dispatcher = Dispatcher(database, attempt_timeout=10)
    dispatcher.add_handler("audit", survivor)
    assert await dispatcher.fan_out() == 1
    # Another process claimed it, then died before recording the outcome.
    async with database.session() as other:
        [delivery] = (await other.exec(select(Delivery))).all()
        delivery.locked_until = T0 + dispatcher.lease
        delivery.locked_by = "lease_of_a_dead_process"
        other.add(delivery)
        await other.commit()

    assert await dispatcher.deliver_due() == 0  # leased: left alone
    assert survivor.calls == []
    _at(T0 + dispatcher.lease)
    assert await dispatcher.deliver_due() == 1
    [delivery] = await _deliveries(database)
    assert (delivery.status, delivery.attempts, delivery.locked_by) == (
        DeliveryStatus.DELIVERED,
        1,
        None,
    )
