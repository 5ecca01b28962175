"""Trouble tickets: opening, the lifecycle, notes, tenancy, events and concurrent changes."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import tickets
from app.core.db import Database
from app.core.errors import Conflict, IllegalTransition, InvalidRequest, NotAuthorized, NotFound
from app.core.events import Channel, EntityKind, EventKind, list_events
from app.core.paging import Condition, Operator
from app.core.parties import Principal
from app.core.tickets import TicketState
from tests.factories import Caller, make_caller, make_product, make_ticket

S = TicketState

# How to bring a fresh (acknowledged) ticket into each state; a `cancelled` request on a ticket
# that is being worked on becomes `assessing_cancellation`.
PATHS: dict[TicketState, list[TicketState]] = {
    S.ACKNOWLEDGED: [],
    S.IN_PROGRESS: [S.IN_PROGRESS],
    S.PENDING: [S.IN_PROGRESS, S.PENDING],
    S.RESOLVED: [S.IN_PROGRESS, S.RESOLVED],
    S.CLOSED: [S.IN_PROGRESS, S.RESOLVED, S.CLOSED],
    S.REOPENED: [S.IN_PROGRESS, S.RESOLVED, S.REOPENED],
    S.ASSESSING_CANCELLATION: [S.IN_PROGRESS, S.CANCELLED],
    S.CANCELLED: [S.CANCELLED],
}


async def _drive(
    session: AsyncSession, ticket: tickets.Ticket, *, buyer: Caller, ops: Caller, to: TicketState
) -> None:
    """Move a ticket along PATHS[to], each move made by whoever may make it."""
    for state in PATHS[to]:
        who = buyer if state in tickets.BUYER_MOVES else ops
        await tickets.change_state(
            session, principal=who.principal, ticket_id=ticket.id, state=state, resolution="Fixed"
        )
    assert ticket.state is to


async def _committed(
    database: Database, principal: Principal, ticket_id: str
) -> tickets.TicketWithNotes:
    """The ticket and its notes as committed, read in a session of its own."""
    async with database.session() as fresh:
        found = await tickets.get_ticket(fresh, principal=principal, ticket_id=ticket_id)
        for row in [found.ticket, *found.notes]:
            fresh.expunge(row)
        return found


async def _reload(database: Database, principal: Principal, ticket_id: str) -> tickets.Ticket:
    """The ticket as committed."""
    return (await _committed(database, principal, ticket_id)).ticket


async def _history(
    session: AsyncSession, principal: Principal, ticket_id: str
) -> list[tuple[EventKind, str | None, str | None]]:
    """The ticket's events as (kind, previous state, state), oldest first."""
    found = await list_events(
        session, principal=principal, entity=EntityKind.TICKET, entity_id=ticket_id
    )
    return [(e.kind, e.previous_state, e.state) for e in found]


async def test_a_ticket_opens_acknowledged_about_the_callers_product(
    session: AsyncSession, database: Database, developer: Caller
) -> None:
    product = await make_product(session, developer)
    ticket = await tickets.open_ticket(
        session,
        principal=developer.principal,
        channel=Channel.TMF,
        product_id=product.id,
        summary="  Link down  ",
        description=" No light on port 1. ",
        severity=tickets.Severity.SIGNIFICANT,
        priority=tickets.Priority.HIGH,
        impact=tickets.Impact.DOWN,
        external_id="NOC-4711",
    )
    assert ticket.state is S.ACKNOWLEDGED
    assert ticket.party_id == developer.party_id
    assert ticket.product_id == product.id
    assert (ticket.summary, ticket.description) == ("Link down", "No light on port 1.")
    assert ticket.resolution is None
    assert ticket.resolved_at is None
    assert ticket.closed_at is None

    stored = await _committed(database, developer.principal, ticket.id)
    assert stored.ticket.severity is tickets.Severity.SIGNIFICANT
    assert stored.ticket.priority is tickets.Priority.HIGH
    assert stored.ticket.impact is tickets.Impact.DOWN
    assert stored.ticket.channel is Channel.TMF
    assert stored.ticket.external_id == "NOC-4711"
    assert stored.notes == []
    created = await list_events(
        session, principal=developer.principal, entity=EntityKind.TICKET, entity_id=ticket.id
    )
    assert [(e.kind, e.state, e.channel) for e in created] == [
        (EventKind.CREATED, "acknowledged", "tmf")
    ]


async def test_a_ticket_need_not_name_a_product(session: AsyncSession, developer: Caller) -> None:
    ticket = await tickets.open_ticket(
        session,
        principal=developer.principal,
        channel=Channel.GRAPHQL,
        summary="How do I read my bill?",
        description="The totals puzzle me.",
        ticket_type=tickets.TicketType.INFORMATION,
    )
    assert ticket.product_id is None
    assert ticket.state is S.ACKNOWLEDGED


async def test_a_ticket_needs_a_summary_and_a_description(
    session: AsyncSession, developer: Caller
) -> None:
    blanks = [
        ("", "No light.", "summary"),
        ("   ", "No light.", "summary"),
        ("Down", " \n", "description"),
    ]
    for summary, description, field in blanks:
        with pytest.raises(InvalidRequest) as refused:
            await tickets.open_ticket(
                session,
                principal=developer.principal,
                channel=Channel.GRAPHQL,
                summary=summary,
                description=description,
            )
        assert refused.value.field == field, (summary, description)
    assert await tickets.list_tickets(session, principal=developer.principal) == []
    assert await list_events(session, principal=developer.principal) == []


async def test_a_ticket_about_another_partys_product_is_refused_as_not_found(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    theirs = await make_product(session, other_developer)
    with pytest.raises(NotFound) as refused:
        await make_ticket(session, developer, product_id=theirs.id)
    assert refused.value.field == "product_id"
    assert await tickets.list_tickets(session, principal=developer.principal) == []


async def test_ops_works_a_ticket_to_resolution_and_every_move_is_an_event(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    for state in [S.IN_PROGRESS, S.PENDING, S.IN_PROGRESS]:
        moved = await tickets.change_state(
            session, principal=ops.principal, ticket_id=ticket.id, state=state
        )
        assert moved.state is state
        assert moved.resolved_at is None
    resolved = await tickets.change_state(
        session,
        principal=ops.principal,
        ticket_id=ticket.id,
        state=S.RESOLVED,
        resolution="  Replaced the optic at the A end.  ",
    )
    assert resolved.state is S.RESOLVED
    assert resolved.resolution == "Replaced the optic at the A end."
    assert resolved.resolved_at is not None
    assert resolved.closed_at is None

    stored = await _reload(database, developer.principal, ticket.id)
    assert stored.state is S.RESOLVED
    assert stored.resolution == "Replaced the optic at the A end."
    assert stored.resolved_at == resolved.resolved_at
    assert await _history(session, developer.principal, ticket.id) == [
        (EventKind.CREATED, None, "acknowledged"),
        (EventKind.STATE_CHANGED, "acknowledged", "in_progress"),
        (EventKind.STATE_CHANGED, "in_progress", "pending"),
        (EventKind.STATE_CHANGED, "pending", "in_progress"),
        (EventKind.STATE_CHANGED, "in_progress", "resolved"),
    ]


async def test_resolving_needs_a_resolution(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    await _drive(session, ticket, buyer=developer, ops=ops, to=S.IN_PROGRESS)
    for resolution in [None, "", "   "]:
        with pytest.raises(InvalidRequest) as refused:
            await tickets.change_state(
                session,
                principal=ops.principal,
                ticket_id=ticket.id,
                state=S.RESOLVED,
                resolution=resolution,
            )
        assert refused.value.field == "resolution"
    stored = await _reload(database, developer.principal, ticket.id)
    assert stored.state is S.IN_PROGRESS
    assert stored.resolution is None
    assert stored.resolved_at is None


async def test_the_buyer_closes_a_resolved_ticket(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    await _drive(session, ticket, buyer=developer, ops=ops, to=S.RESOLVED)
    closed = await tickets.close(session, principal=developer.principal, ticket_id=ticket.id)
    assert closed.state is S.CLOSED
    assert closed.closed_at is not None
    assert (await _reload(database, developer.principal, ticket.id)).state is S.CLOSED
    assert (await _history(session, developer.principal, ticket.id))[-1] == (
        EventKind.STATE_CHANGED,
        "resolved",
        "closed",
    )


async def test_the_buyer_reopens_a_resolved_ticket_and_ops_take_it_up_again(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    await _drive(session, ticket, buyer=developer, ops=ops, to=S.RESOLVED)
    reopened = await tickets.reopen(session, principal=developer.principal, ticket_id=ticket.id)
    assert reopened.state is S.REOPENED
    assert reopened.closed_at is None
    assert (await _reload(database, developer.principal, ticket.id)).state is S.REOPENED
    again = await tickets.change_state(
        session, principal=ops.principal, ticket_id=ticket.id, state=S.IN_PROGRESS
    )
    assert again.state is S.IN_PROGRESS
    assert [h[2] for h in await _history(session, developer.principal, ticket.id)][-3:] == [
        "resolved",
        "reopened",
        "in_progress",
    ]


async def test_cancelling_an_acknowledged_ticket_cancels_it(
    session: AsyncSession, database: Database, developer: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    cancelled = await tickets.cancel(session, principal=developer.principal, ticket_id=ticket.id)
    assert cancelled.state is S.CANCELLED
    assert cancelled.closed_at is not None
    assert (await _reload(database, developer.principal, ticket.id)).state is S.CANCELLED
    assert (await _history(session, developer.principal, ticket.id))[-1] == (
        EventKind.STATE_CHANGED,
        "acknowledged",
        "cancelled",
    )


async def test_cancelling_a_ticket_being_worked_on_asks_the_seller_to_assess(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    product = await make_product(session, developer)
    for started in [S.IN_PROGRESS, S.PENDING]:
        ticket = await make_ticket(session, developer, product_id=product.id)
        await _drive(session, ticket, buyer=developer, ops=ops, to=started)
        assessing = await tickets.cancel(
            session, principal=developer.principal, ticket_id=ticket.id
        )
        assert assessing.state is S.ASSESSING_CANCELLATION
        assert assessing.closed_at is None
        stored = await _reload(database, developer.principal, ticket.id)
        assert stored.state is S.ASSESSING_CANCELLATION
        assert (await _history(session, developer.principal, ticket.id))[-1] == (
            EventKind.STATE_CHANGED,
            str(started),
            "assessing_cancellation",
        )


async def test_ops_accept_a_cancellation_they_were_assessing(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    await _drive(session, ticket, buyer=developer, ops=ops, to=S.ASSESSING_CANCELLATION)
    # The buyer cannot accept its own cancellation request.
    with pytest.raises(NotAuthorized):
        await tickets.cancel(session, principal=developer.principal, ticket_id=ticket.id)
    assert (await _reload(database, developer.principal, ticket.id)).state is (
        S.ASSESSING_CANCELLATION
    )
    cancelled = await tickets.change_state(
        session, principal=ops.principal, ticket_id=ticket.id, state=S.CANCELLED
    )
    assert cancelled.state is S.CANCELLED
    assert cancelled.closed_at is not None
    assert (await _reload(database, developer.principal, ticket.id)).state is S.CANCELLED


async def test_ops_decline_a_cancellation_and_carry_on(
    session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    await _drive(session, ticket, buyer=developer, ops=ops, to=S.ASSESSING_CANCELLATION)
    with pytest.raises(NotAuthorized):
        await tickets.change_state(
            session, principal=developer.principal, ticket_id=ticket.id, state=S.IN_PROGRESS
        )
    resumed = await tickets.change_state(
        session, principal=ops.principal, ticket_id=ticket.id, state=S.IN_PROGRESS
    )
    assert resumed.state is S.IN_PROGRESS


ILLEGAL_MOVES = [
    (S.ACKNOWLEDGED, S.CLOSED, False),
    (S.ACKNOWLEDGED, S.REOPENED, False),
    (S.IN_PROGRESS, S.CLOSED, False),
    (S.PENDING, S.REOPENED, False),
    (S.RESOLVED, S.PENDING, True),
    (S.RESOLVED, S.CANCELLED, False),
    (S.CLOSED, S.IN_PROGRESS, True),
    (S.CLOSED, S.RESOLVED, True),
    (S.CLOSED, S.REOPENED, False),
    (S.CANCELLED, S.CANCELLED, False),
    (S.CANCELLED, S.IN_PROGRESS, True),
    (S.CANCELLED, S.RESOLVED, True),
]


async def test_an_illegal_move_is_refused_and_changes_nothing(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    product = await make_product(session, developer)
    for start, target, by_ops in ILLEGAL_MOVES:
        case = f"{start} -> {target}"
        ticket = await make_ticket(session, developer, product_id=product.id)
        await _drive(session, ticket, buyer=developer, ops=ops, to=start)
        before = await _reload(database, developer.principal, ticket.id)
        history = await _history(session, developer.principal, ticket.id)
        who = ops if by_ops else developer
        with pytest.raises(IllegalTransition) as refused:
            await tickets.change_state(
                session,
                principal=who.principal,
                ticket_id=ticket.id,
                state=target,
                resolution="Tried again",
            )
        assert refused.value.field == "state", case
        # Neither the caller's own view nor the database shows a change.
        seen = (
            await tickets.get_ticket(session, principal=developer.principal, ticket_id=ticket.id)
        ).ticket
        assert (seen.state, seen.resolution) == (before.state, before.resolution), case
        after = await _reload(database, developer.principal, ticket.id)
        assert after.model_dump() == before.model_dump(), case
        assert await _history(session, developer.principal, ticket.id) == history, case


async def test_only_ops_make_the_sellers_moves(
    session: AsyncSession, database: Database, developer: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    for target in [S.IN_PROGRESS, S.PENDING, S.RESOLVED]:
        with pytest.raises(NotAuthorized):
            await tickets.change_state(
                session,
                principal=developer.principal,
                ticket_id=ticket.id,
                state=target,
                resolution="I fixed it myself",
            )
    after = await _reload(database, developer.principal, ticket.id)
    assert after.state is S.ACKNOWLEDGED
    assert after.resolution is None
    assert len(await _history(session, developer.principal, ticket.id)) == 1


async def test_buyer_and_ops_add_notes_that_come_back_in_order(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    opened_at = ticket.updated_at
    first = await tickets.add_note(
        session,
        principal=developer.principal,
        ticket_id=ticket.id,
        text="  Port 1 still dark.  ",
        author="Ada (NOC)",
    )
    second = await tickets.add_note(
        session,
        principal=ops.principal,
        ticket_id=ticket.id,
        text="Dispatching a technician.",
        author="Lumen support",
    )
    third = await tickets.add_note(
        session, principal=developer.principal, ticket_id=ticket.id, text="Thanks.", author="Ada"
    )
    assert first.text == "Port 1 still dark."
    assert first.author_party_id == developer.party_id
    assert second.author_party_id == ops.party_id
    # A note by operations staff still belongs to the buyer's ticket.
    assert second.party_id == developer.party_id

    stored = await _committed(database, developer.principal, ticket.id)
    assert [n.id for n in stored.notes] == [first.id, second.id, third.id]
    assert [(n.author, n.author_party_id, n.text) for n in stored.notes] == [
        ("Ada (NOC)", developer.party_id, "Port 1 still dark."),
        ("Lumen support", ops.party_id, "Dispatching a technician."),
        ("Ada", developer.party_id, "Thanks."),
    ]
    assert stored.ticket.state is S.ACKNOWLEDGED
    assert stored.ticket.updated_at > opened_at

    noted = await list_events(
        session, principal=developer.principal, entity=EntityKind.TICKET, entity_id=ticket.id
    )
    assert [e.kind for e in noted] == [EventKind.CREATED] + [EventKind.ATTRIBUTE_CHANGED] * 3
    assert [e.data["note_id"] for e in noted[1:]] == [first.id, second.id, third.id]


async def test_a_finished_ticket_takes_no_more_notes(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    product = await make_product(session, developer)
    for final in [S.CLOSED, S.CANCELLED]:
        ticket = await make_ticket(session, developer, product_id=product.id)
        await _drive(session, ticket, buyer=developer, ops=ops, to=final)
        history = await _history(session, developer.principal, ticket.id)
        for who in (developer, ops):
            with pytest.raises(IllegalTransition):
                await tickets.add_note(
                    session, principal=who.principal, ticket_id=ticket.id, text="Hi?", author="x"
                )
        stored = await _committed(database, developer.principal, ticket.id)
        assert stored.notes == [], final
        assert await _history(session, developer.principal, ticket.id) == history, final


async def test_a_resolved_ticket_still_takes_notes(
    session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    await _drive(session, ticket, buyer=developer, ops=ops, to=S.RESOLVED)
    note = await tickets.add_note(
        session,
        principal=developer.principal,
        ticket_id=ticket.id,
        text="Confirmed, all good.",
        author="Ada",
    )
    stored = await tickets.get_ticket(session, principal=developer.principal, ticket_id=ticket.id)
    assert [n.id for n in stored.notes] == [note.id]


async def test_a_blank_note_is_refused(
    session: AsyncSession, database: Database, developer: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    for text in ["", "   \n\t"]:
        with pytest.raises(InvalidRequest) as refused:
            await tickets.add_note(
                session, principal=developer.principal, ticket_id=ticket.id, text=text, author="Ada"
            )
        assert refused.value.field == "text"
    stored = await _committed(database, developer.principal, ticket.id)
    assert stored.notes == []
    assert len(await _history(session, developer.principal, ticket.id)) == 1


async def test_list_tickets_filters_by_state_newest_first(
    session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    product = await make_product(session, developer)
    first = await make_ticket(session, developer, product_id=product.id, summary="First")
    second = await make_ticket(session, developer, product_id=product.id, summary="Second")
    third = await make_ticket(session, developer, product_id=product.id, summary="Third")
    await _drive(session, second, buyer=developer, ops=ops, to=S.IN_PROGRESS)
    await _drive(session, third, buyer=developer, ops=ops, to=S.CANCELLED)

    mine = developer.principal
    everything = await tickets.list_tickets(session, principal=mine)
    assert [t.id for t in everything] == [third.id, second.id, first.id]
    open_ones = await tickets.list_tickets(session, principal=mine, states=tickets.OPEN_STATES)
    assert [t.id for t in open_ones] == [second.id, first.id]
    working = await tickets.list_tickets(session, principal=mine, states={S.IN_PROGRESS})
    assert [t.id for t in working] == [second.id]
    assert await tickets.list_tickets(session, principal=mine, states={S.RESOLVED}) == []
    paged = await tickets.list_tickets(session, principal=mine, offset=1, limit=1)
    assert [t.id for t in paged] == [second.id]


async def test_another_partys_ticket_does_not_exist_for_a_caller(
    session: AsyncSession,
    database: Database,
    developer: Caller,
    other_developer: Caller,
    ops: Caller,
) -> None:
    ticket = await make_ticket(session, developer)
    await _drive(session, ticket, buyer=developer, ops=ops, to=S.RESOLVED)
    stranger = other_developer.principal

    def attempts(ticket_id: str) -> list[Callable[[], Awaitable[object]]]:
        return [
            lambda: tickets.get_ticket(session, principal=stranger, ticket_id=ticket_id),
            lambda: tickets.add_note(
                session, principal=stranger, ticket_id=ticket_id, text="Hi", author="x"
            ),
            lambda: tickets.close(session, principal=stranger, ticket_id=ticket_id),
            lambda: tickets.reopen(session, principal=stranger, ticket_id=ticket_id),
            lambda: tickets.cancel(session, principal=stranger, ticket_id=ticket_id),
        ]

    missing = "tt_0000000000000000"
    for theirs, nonexistent in zip(attempts(ticket.id), attempts(missing), strict=True):
        with pytest.raises(NotFound) as refused:
            await theirs()
        with pytest.raises(NotFound) as unknown:
            await nonexistent()
        # Another party's ticket is answered exactly like one that does not exist.
        assert refused.value.field == unknown.value.field
        assert refused.value.message == unknown.value.message.replace(missing, ticket.id)
    assert await tickets.list_tickets(session, principal=stranger) == []
    assert await list_events(session, principal=stranger, entity=EntityKind.TICKET) == []

    stored = await _reload(database, developer.principal, ticket.id)
    assert stored.state is S.RESOLVED
    assert (
        await tickets.get_ticket(session, principal=developer.principal, ticket_id=ticket.id)
    ).notes == []


async def test_ops_see_and_handle_every_partys_tickets(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    mine = await make_ticket(session, developer)
    theirs = await make_ticket(session, other_developer)
    listed = await tickets.list_tickets(session, principal=ops.principal)
    assert {t.id for t in listed} == {mine.id, theirs.id}
    seen = await tickets.get_ticket(session, principal=ops.principal, ticket_id=theirs.id)
    assert seen.ticket.party_id == other_developer.party_id
    note = await tickets.add_note(
        session, principal=ops.principal, ticket_id=theirs.id, text="On it.", author="Lumen"
    )
    assert note.party_id == other_developer.party_id
    assert [t.id for t in await tickets.list_tickets(session, principal=developer.principal)] == [
        mine.id
    ]


async def test_of_two_concurrent_changes_the_second_conflicts_and_the_first_stands(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    async with database.session() as other:
        # Both sessions hold the acknowledged ticket (`ticket` is the first session's copy).
        held = await tickets.get_ticket(other, principal=developer.principal, ticket_id=ticket.id)
        assert held.ticket is not ticket
        assert held.ticket.state is S.ACKNOWLEDGED
        taken = await tickets.change_state(
            session, principal=ops.principal, ticket_id=ticket.id, state=S.IN_PROGRESS
        )
        assert taken.state is S.IN_PROGRESS
        with pytest.raises(Conflict):
            await tickets.cancel(other, principal=developer.principal, ticket_id=ticket.id)
        # The loser can read the ticket again and sees the winner's change.
        again = await tickets.get_ticket(other, principal=developer.principal, ticket_id=ticket.id)
        assert again.ticket.state is S.IN_PROGRESS

    stored = await _reload(database, developer.principal, ticket.id)
    assert stored.state is S.IN_PROGRESS
    assert stored.closed_at is None
    assert await _history(session, developer.principal, ticket.id) == [
        (EventKind.CREATED, None, "acknowledged"),
        (EventKind.STATE_CHANGED, "acknowledged", "in_progress"),
    ]


async def test_a_note_racing_a_state_change_conflicts_and_leaves_no_note(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    async with database.session() as other:
        held = await tickets.get_ticket(other, principal=developer.principal, ticket_id=ticket.id)
        assert held.ticket.state is S.ACKNOWLEDGED
        await tickets.change_state(
            session, principal=ops.principal, ticket_id=ticket.id, state=S.IN_PROGRESS
        )
        with pytest.raises(Conflict):
            await tickets.add_note(
                other,
                principal=developer.principal,
                ticket_id=ticket.id,
                text="Any news?",
                author="Ada",
            )
    stored = await _committed(database, developer.principal, ticket.id)
    assert stored.ticket.state is S.IN_PROGRESS
    assert stored.notes == []
    assert [h[0] for h in await _history(session, developer.principal, ticket.id)] == [
        EventKind.CREATED,
        EventKind.STATE_CHANGED,
    ]


async def test_a_ticket_opens_with_notes_and_the_buyers_annotations_in_one_go(
    session: AsyncSession, database: Database, developer: Caller, other_developer: Caller
) -> None:
    agent = await make_caller(
        session, "carrier", name="Agent", acting_for=[developer.party_id, other_developer.party_id]
    )
    product = await make_product(session, developer)
    contacts = {"contacts": [{"name": "Ada", "role": "reporter"}]}
    ticket = await tickets.open_ticket(
        session,
        principal=agent.principal,
        channel=Channel.SONATA,
        buyer_party_id=developer.party_id,
        product_id=product.id,
        summary="Down",
        description="No light.",
        priority=tickets.Priority.CRITICAL,
        notes=[tickets.NoteInput(text=" Rebooted. ", author="Ada")],
        annotations=contacts,
    )
    assert (ticket.party_id, ticket.opened_by_party_id) == (developer.party_id, agent.party_id)
    assert ticket.expected_resolution_at == ticket.created_at + timedelta(hours=4)
    stored = await _committed(database, developer.principal, ticket.id)
    assert stored.ticket.annotations == contacts
    assert [(n.text, n.author, n.by_seller, n.author_party_id) for n in stored.notes] == [
        ("Rebooted.", "Ada", False, agent.party_id)
    ]
    [created] = await list_events(session, principal=agent.principal, entity_id=ticket.id)
    # The agent that opened it hears of it, though the ticket is the buyer's.
    assert created.data["placed_by_party_id"] == agent.party_id
    assert created.data["by_seller"] is False

    blank = [tickets.NoteInput(text="ok", author="Ada"), tickets.NoteInput(text=" ", author="A")]
    cases: list[tuple[dict[str, object], str]] = [
        ({"notes": blank}, "notes[1].text"),
        ({"description": "x" * 5001}, "description"),
        ({"external_id": "x" * 201}, "external_id"),
    ]
    for changes, field in cases:
        with pytest.raises(InvalidRequest) as refused:
            await make_ticket(session, developer, product_id=product.id, **changes)
        assert refused.value.field == field
    assert len(await tickets.list_tickets(session, principal=developer.principal)) == 1


async def test_an_update_changes_the_buyers_say_and_adds_notes_at_once(
    session: AsyncSession, database: Database, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer, annotations={"contacts": ["Ada"]})
    created_at, expected = ticket.created_at, ticket.expected_resolution_at
    updated = await tickets.update_ticket(
        session,
        principal=developer.principal,
        ticket_id=ticket.id,
        severity=tickets.Severity.EXTENSIVE,
        priority=tickets.Priority.LOW,
        impact=tickets.Impact.DOWN,
        external_id="NOC-9",
        notes=[tickets.NoteInput(text="Still down", author="Ada")],
        annotations={"issue_started": "yesterday"},
    )
    assert updated.ticket.severity is tickets.Severity.EXTENSIVE
    assert updated.ticket.expected_resolution_at == created_at + timedelta(hours=72)
    assert updated.ticket.expected_resolution_at != expected
    stored = await _committed(database, developer.principal, ticket.id)
    assert stored.ticket.annotations == {"contacts": ["Ada"], "issue_started": "yesterday"}
    assert (stored.ticket.impact, stored.ticket.external_id) == (tickets.Impact.DOWN, "NOC-9")
    assert [n.text for n in stored.notes] == ["Still down"]
    changed = await list_events(
        session, principal=developer.principal, entity=EntityKind.TICKET, entity_id=ticket.id
    )
    assert [(e.kind, e.data.get("changed"), e.data["by_seller"]) for e in changed[1:]] == [
        (
            EventKind.ATTRIBUTE_CHANGED,
            ["severity", "priority", "impact", "external_id", "issue_started", "notes"],
            False,
        )
    ]
    # Nothing new: nothing happens.
    await tickets.update_ticket(
        session,
        principal=developer.principal,
        ticket_id=ticket.id,
        severity=tickets.Severity.EXTENSIVE,
    )
    note = await tickets.add_note(
        session, principal=ops.principal, ticket_id=ticket.id, text="Looking", author="NOC"
    )
    assert note.by_seller is True
    events = await list_events(session, principal=developer.principal, entity_id=ticket.id)
    assert [e.data["by_seller"] for e in events] == [False, False, True]

    with pytest.raises(InvalidRequest):
        await tickets.update_ticket(
            session,
            principal=developer.principal,
            ticket_id=ticket.id,
            severity=tickets.Severity.MINOR,
            notes=[tickets.NoteInput(text="", author="Ada")],
        )
    assert (await _reload(database, developer.principal, ticket.id)).severity is (
        tickets.Severity.EXTENSIVE
    )
    await tickets.cancel(session, principal=developer.principal, ticket_id=ticket.id)
    with pytest.raises(IllegalTransition):
        await tickets.update_ticket(
            session, principal=developer.principal, ticket_id=ticket.id, external_id="x"
        )


async def test_tickets_query_filters_by_channel_buyer_and_attributes(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    product = await make_product(session, developer)
    sonata = await tickets.open_ticket(
        session,
        principal=developer.principal,
        channel=Channel.SONATA,
        product_id=product.id,
        external_id="A",
        summary="Down",
        description="No light.",
    )
    graphql = await make_ticket(
        session, developer, product_id=None, severity=tickets.Severity.MINOR
    )
    theirs = await tickets.open_ticket(
        session,
        principal=other_developer.principal,
        channel=Channel.SONATA,
        summary="Slow",
        description="Loss at night.",
    )
    await _drive(session, sonata, buyer=developer, ops=ops, to=S.RESOLVED)

    async def ids(principal: Principal, **filters: object) -> list[str]:
        statement = tickets.tickets_query(principal=principal, **filters)  # type: ignore[arg-type]
        return [t.id for t in (await session.exec(statement)).all()]

    now = sonata.created_at
    mine = developer.principal
    assert await ids(mine, channel=Channel.SONATA) == [sonata.id]
    assert await ids(ops.principal, channel=Channel.SONATA) == [theirs.id, sonata.id]
    assert await ids(ops.principal, buyer_party_id=developer.party_id) == [graphql.id, sonata.id]
    assert await ids(mine, severity=tickets.Severity.MINOR) == [graphql.id]
    assert await ids(mine, product_id=product.id, external_id="A") == [sonata.id]
    assert await ids(mine, priority=tickets.Priority.HIGH) == []
    assert await ids(mine, ticket_type=tickets.TicketType.ASSISTANCE, impact=None) == [
        graphql.id,
        sonata.id,
    ]
    assert await ids(mine, resolved=tickets.Between(after=now)) == [sonata.id]
    assert await ids(mine, created=tickets.Between(before=now)) == []
    later = now + timedelta(hours=25)
    assert await ids(mine, expected_resolution=tickets.Between(before=later)) == [
        graphql.id,
        sonata.id,
    ]
    found = await tickets.get_ticket(
        session, principal=mine, ticket_id=sonata.id, channel=Channel.SONATA
    )
    assert found.ticket.id == sonata.id
    for filters in ({"channel": Channel.CANTATA}, {"buyer_party_id": other_developer.party_id}):
        with pytest.raises(NotFound):
            await tickets.get_ticket(
                session,
                principal=mine,
                ticket_id=sonata.id,
                **filters,
            )


async def test_a_reopening_keeps_the_buyers_reason_with_the_move(
    session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    await _drive(session, ticket, buyer=developer, ops=ops, to=S.RESOLVED)
    await tickets.reopen(
        session, principal=developer.principal, ticket_id=ticket.id, reason=" Still down "
    )
    moves = await list_events(session, principal=developer.principal, entity_id=ticket.id)
    assert moves[-1].state == "reopened"
    assert moves[-1].data["reason"] == "Still down"


async def _incidents(
    session: AsyncSession, principal: Principal, ticket_id: str
) -> list[tuple[str, str]]:
    found = await tickets.incidents_of(session, principal=principal, ticket_id=ticket_id)
    return [(i.state.value, i.incident_type.value) for i in found]


async def test_work_on_a_ticket_about_a_product_is_recorded_as_an_incident(
    session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer, ticket_type=tickets.TicketType.INSTALLATION)
    me = developer.principal
    assert await _incidents(session, me, ticket.id) == []
    await _drive(session, ticket, buyer=developer, ops=ops, to=S.PENDING)
    await tickets.change_state(
        session, principal=ops.principal, ticket_id=ticket.id, state=S.IN_PROGRESS
    )
    [incident] = await tickets.incidents_of(session, principal=me, ticket_id=ticket.id)
    assert (incident.state, incident.incident_type) == (
        tickets.IncidentState.IN_PROGRESS,
        tickets.IncidentType.INSTALLATION,
    )
    assert (incident.product_id, incident.party_id) == (ticket.product_id, developer.party_id)
    assert (incident.severity, incident.priority) == (ticket.severity, ticket.priority)
    # The buyer did not say what it observed.
    assert incident.impact is tickets.Impact.DEGRADED
    assert incident.expected_closed_at == ticket.expected_resolution_at
    await tickets.change_state(
        session, principal=ops.principal, ticket_id=ticket.id, state=S.RESOLVED, resolution="Done"
    )
    assert await _incidents(session, me, ticket.id) == [("closed", "installation")]
    await tickets.reopen(session, principal=me, ticket_id=ticket.id)
    await tickets.change_state(
        session, principal=ops.principal, ticket_id=ticket.id, state=S.IN_PROGRESS
    )
    assert await _incidents(session, me, ticket.id) == [
        ("closed", "installation"),
        ("in_progress", "installation"),
    ]
    history = await list_events(session, principal=me, entity=EntityKind.INCIDENT)
    assert [(e.kind, e.state, e.entity_id == incident.id) for e in history] == [
        (EventKind.CREATED, "in_progress", True),
        (EventKind.STATE_CHANGED, "closed", True),
        (EventKind.CREATED, "in_progress", False),
    ]
    assert all(e.data["ticket_id"] == ticket.id for e in history)

    without = await make_ticket(session, developer, product_id=None)
    await _drive(session, without, buyer=developer, ops=ops, to=S.ASSESSING_CANCELLATION)
    assert await _incidents(session, me, without.id) == []


async def test_ops_record_and_move_incidents_that_buyers_only_read(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    product = await make_product(session, developer)
    ticket = await make_ticket(session, developer, product_id=product.id)
    with pytest.raises(NotAuthorized):
        await tickets.open_incident(
            session,
            principal=developer.principal,
            product_id=product.id,
            incident_type=tickets.IncidentType.REPAIR,
            description="Cut",
        )
    other_product = await make_product(session, other_developer)
    for changes, field in [
        ({"description": " "}, "description"),
        ({"product_id": "prd_nope"}, "product_id"),
        ({"ticket_id": "tt_nope"}, "ticket_id"),
        ({"product_id": other_product.id, "ticket_id": ticket.id}, "ticket_id"),
    ]:
        arguments: dict[str, Any] = {
            "product_id": product.id,
            "incident_type": tickets.IncidentType.REPAIR,
            "description": "Cut",
        } | changes
        with pytest.raises((InvalidRequest, NotFound)) as refused:
            await tickets.open_incident(session, principal=ops.principal, **arguments)
        assert refused.value.field == field
    incident = await tickets.open_incident(
        session,
        principal=ops.principal,
        product_id=product.id,
        ticket_id=ticket.id,
        incident_type=tickets.IncidentType.MAINTENANCE,
        description=" Planned works ",
        impact=tickets.Impact.INTERMITTENT,
    )
    assert (incident.state, incident.description) == (
        tickets.IncidentState.CREATED,
        "Planned works",
    )
    theirs = await tickets.open_incident(
        session,
        principal=ops.principal,
        product_id=other_product.id,
        incident_type=tickets.IncidentType.REPAIR,
        description="Their cut",
    )
    me = developer.principal
    with pytest.raises(NotAuthorized):
        await tickets.change_incident_state(
            session, principal=me, incident_id=incident.id, state=tickets.IncidentState.CLOSED
        )
    await tickets.change_incident_state(
        session,
        principal=ops.principal,
        incident_id=incident.id,
        state=tickets.IncidentState.IN_PROGRESS,
    )
    closed = await tickets.change_incident_state(
        session,
        principal=ops.principal,
        incident_id=incident.id,
        state=tickets.IncidentState.CLOSED,
    )
    assert closed.closed_at is not None
    with pytest.raises(IllegalTransition):
        await tickets.change_incident_state(
            session,
            principal=ops.principal,
            incident_id=incident.id,
            state=tickets.IncidentState.IN_PROGRESS,
        )
    moves = await list_events(session, principal=me, entity=EntityKind.INCIDENT)
    assert [(e.kind, e.state, e.channel) for e in moves] == [
        (EventKind.CREATED, "created", "graphql"),
        (EventKind.STATE_CHANGED, "in_progress", "graphql"),
        (EventKind.STATE_CHANGED, "closed", "graphql"),
    ]

    assert (await tickets.get_incident(session, principal=me, incident_id=incident.id)).id == (
        incident.id
    )
    for principal, incident_id, buyer in [
        (me, theirs.id, None),
        (me, "inc_nope", None),
        (ops.principal, incident.id, other_developer.party_id),
    ]:
        with pytest.raises(NotFound):
            await tickets.get_incident(
                session, principal=principal, incident_id=incident_id, buyer_party_id=buyer
            )

    async def ids(principal: Principal, **filters: object) -> list[str]:
        statement = tickets.incidents_query(principal=principal, **filters)  # type: ignore[arg-type]
        return [i.id for i in (await session.exec(statement)).all()]

    assert await ids(me) == [incident.id]
    assert await ids(ops.principal) == [theirs.id, incident.id]
    assert await ids(ops.principal, buyer_party_id=other_developer.party_id) == [theirs.id]
    assert await ids(me, states={tickets.IncidentState.CLOSED}) == [incident.id]
    assert await ids(me, incident_type=tickets.IncidentType.REPAIR) == []
    assert await ids(me, impact=tickets.Impact.INTERMITTENT, product_id=product.id) == [incident.id]
    assert await ids(me, severity=tickets.Severity.MODERATE, priority=tickets.Priority.MEDIUM) == [
        incident.id
    ]
    assert await ids(me, closed=tickets.Between(before=incident.created_at)) == []
    assert await ids(me, situation_started=tickets.Between(after=incident.created_at)) == []
    assert await ids(me, created=tickets.Between(before=closed.closed_at + timedelta(1))) == [
        incident.id
    ]
    assert await ids(me, expected_closed=tickets.Between(after=incident.created_at)) == []
    assert await ids(other_developer.principal) == [theirs.id]


async def test_notes_of_several_tickets_are_read_at_once_within_tenancy(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    first = await make_ticket(session, developer)
    second = await make_ticket(session, developer)
    theirs = await make_ticket(session, other_developer)
    for text in ("one", "two"):
        await tickets.add_note(
            session, principal=developer.principal, ticket_id=first.id, text=text, author="Ana"
        )
    await tickets.add_note(
        session, principal=other_developer.principal, ticket_id=theirs.id, text="x", author="B"
    )
    found = await tickets.notes_of(
        session, principal=developer.principal, ticket_ids=[first.id, second.id, theirs.id]
    )
    assert [n.text for n in found[first.id]] == ["one", "two"]
    assert found[second.id] == []
    assert found[theirs.id] == []


async def test_the_buyer_restates_a_ticket_and_names_its_product_before_work_starts(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, developer)
    product = await make_product(session, developer)
    updated = await tickets.update_ticket(
        session,
        principal=developer.principal,
        ticket_id=ticket.id,
        summary=" Port flaps ",
        description="Port 1 flaps every minute.",
        ticket_type=tickets.TicketType.MAINTENANCE,
        product_id=product.id,
    )
    assert (updated.ticket.summary, updated.ticket.description) == (
        "Port flaps",
        "Port 1 flaps every minute.",
    )
    assert updated.ticket.ticket_type is tickets.TicketType.MAINTENANCE
    assert updated.ticket.product_id == product.id
    cases: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"summary": " "}, InvalidRequest),
        ({"description": "x" * (tickets.MAX_TEXT + 1)}, InvalidRequest),
        ({"product_id": (await make_product(session, other_developer)).id}, NotFound),
    ]
    for changes, error in cases:
        with pytest.raises(error):
            await tickets.update_ticket(
                session, principal=developer.principal, ticket_id=ticket.id, **changes
            )
    await tickets.change_state(
        session, principal=ops.principal, ticket_id=ticket.id, state=TicketState.IN_PROGRESS
    )
    with pytest.raises(IllegalTransition):
        await tickets.update_ticket(
            session,
            principal=developer.principal,
            ticket_id=ticket.id,
            product_id=(await make_product(session, developer)).id,
        )


async def test_find_tickets_meets_every_condition_and_counts_them_all(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    found = [await make_ticket(session, developer, external_id=f"E{n}") for n in range(3)]
    await make_ticket(session, other_developer, external_id="E0")
    field = tickets.TicketField
    page = await tickets.find_tickets(
        session,
        principal=developer.principal,
        conditions=[
            Condition(field.EXTERNAL_ID, Operator.EQ, ("E0", "E2")),
            Condition(field.CREATED_AT, Operator.GTE, (found[0].created_at,)),
        ],
        limit=1,
    )
    assert page.total == 2
    assert [t.ticket.id for t in page.items] == [found[2].id]
    nothing = await tickets.find_tickets(
        session,
        principal=developer.principal,
        conditions=[Condition(field.CREATED_AT, Operator.GT, (found[2].created_at,))],
    )
    assert (nothing.total, nothing.items) == (0, [])
