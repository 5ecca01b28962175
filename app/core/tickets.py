"""Trouble tickets: reporting a problem with a product, notes, and the ticket lifecycle."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import clock, events
from app.core.db import StrEnumType, UTCDateTime, commit, new_id, version_column
from app.core.errors import IllegalTransition, InvalidRequest
from app.core.events import Channel, EventKind
from app.core.inventory import get_product
from app.core.parties import Principal, get_scoped, resolve_buyer, scoped


class TicketState(StrEnum):
    """Lifecycle of a trouble ticket."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    ASSESSING_CANCELLATION = "assessing_cancellation"
    CANCELLED = "cancelled"


class Severity(StrEnum):
    """How widely a problem hurts."""

    MINOR = "minor"
    MODERATE = "moderate"
    SIGNIFICANT = "significant"
    EXTENSIVE = "extensive"


class Priority(StrEnum):
    """How soon the buyer needs it handled."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class TicketType(StrEnum):
    """What the ticket asks for."""

    ASSISTANCE = "assistance"
    INFORMATION = "information"
    INSTALLATION = "installation"
    MAINTENANCE = "maintenance"


class Impact(StrEnum):
    """What the buyer observes."""

    DEGRADED = "degraded"
    INTERMITTENT = "intermittent"
    DOWN = "down"


OPEN_STATES = {
    TicketState.ACKNOWLEDGED,
    TicketState.IN_PROGRESS,
    TicketState.PENDING,
    TicketState.REOPENED,
    TicketState.ASSESSING_CANCELLATION,
}
TRANSITIONS: dict[TicketState, set[TicketState]] = {
    TicketState.ACKNOWLEDGED: {
        TicketState.IN_PROGRESS,
        TicketState.PENDING,
        TicketState.RESOLVED,
        TicketState.CANCELLED,
    },
    TicketState.IN_PROGRESS: {
        TicketState.PENDING,
        TicketState.RESOLVED,
        TicketState.ASSESSING_CANCELLATION,
    },
    TicketState.PENDING: {
        TicketState.IN_PROGRESS,
        TicketState.RESOLVED,
        TicketState.ASSESSING_CANCELLATION,
    },
    TicketState.REOPENED: {
        TicketState.IN_PROGRESS,
        TicketState.PENDING,
        TicketState.RESOLVED,
        TicketState.ASSESSING_CANCELLATION,
    },
    TicketState.ASSESSING_CANCELLATION: {TicketState.CANCELLED, TicketState.IN_PROGRESS},
    TicketState.RESOLVED: {TicketState.CLOSED, TicketState.REOPENED},
    TicketState.CLOSED: set(),
    TicketState.CANCELLED: set(),
}
# Moves that the buyer makes; the others are the seller's (operations staff).
BUYER_MOVES = {
    TicketState.CLOSED,
    TicketState.REOPENED,
    TicketState.CANCELLED,
    TicketState.ASSESSING_CANCELLATION,
}


_TICKET_VERSION = version_column()


class Ticket(SQLModel, table=True):
    """A reported problem or request about a party's product."""

    id: str = Field(default_factory=lambda: new_id("tt"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    channel: Channel = Field(sa_type=StrEnumType(Channel, 12))
    product_id: str | None = Field(
        default=None, foreign_key="productinstance.id", index=True, max_length=40
    )
    external_id: str | None = Field(default=None, max_length=200)
    ticket_type: TicketType = Field(sa_type=StrEnumType(TicketType, 16))
    severity: Severity = Field(sa_type=StrEnumType(Severity, 16), index=True)
    priority: Priority = Field(sa_type=StrEnumType(Priority, 12))
    impact: Impact | None = Field(default=None, sa_type=StrEnumType(Impact, 16))
    summary: str = Field(max_length=300)
    description: str = Field(max_length=5000)
    state: TicketState = Field(sa_type=StrEnumType(TicketState, 32), index=True)
    resolution: str | None = Field(default=None, max_length=5000)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_TICKET_VERSION)

    __mapper_args__ = {"version_id_col": _TICKET_VERSION}


class TicketNote(SQLModel, table=True):
    """A note on a ticket, by the buyer or the seller."""

    id: str = Field(default_factory=lambda: new_id("note"), primary_key=True, max_length=40)
    ticket_id: str = Field(foreign_key="ticket.id", index=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    author_party_id: str = Field(foreign_key="party.id", max_length=40)
    author: str = Field(max_length=200)
    text: str = Field(max_length=5000)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


@dataclass
class TicketWithNotes:
    """A ticket and its notes, oldest note first."""

    ticket: Ticket
    notes: list[TicketNote]


async def open_ticket(
    session: AsyncSession,
    *,
    principal: Principal,
    channel: Channel,
    summary: str,
    description: str,
    severity: Severity = Severity.MODERATE,
    priority: Priority = Priority.MEDIUM,
    ticket_type: TicketType = TicketType.ASSISTANCE,
    impact: Impact | None = None,
    product_id: str | None = None,
    buyer_party_id: str | None = None,
    external_id: str | None = None,
) -> Ticket:
    """Report a problem, optionally about one of the caller's products."""
    party_id = await resolve_buyer(session, principal, buyer_party_id)
    if not summary.strip():
        raise InvalidRequest("a ticket needs a summary", field="summary")
    if not description.strip():
        raise InvalidRequest("a ticket needs a description", field="description")
    if product_id is not None:
        product = await get_product(
            session, principal=principal, product_id=product_id, field_name="product_id"
        )
        if product.party_id != party_id:
            raise InvalidRequest("the product belongs to another buyer", field="product_id")
    ticket = Ticket(
        party_id=party_id,
        channel=channel,
        product_id=product_id,
        external_id=external_id,
        ticket_type=ticket_type,
        severity=severity,
        priority=priority,
        impact=impact,
        summary=summary.strip(),
        description=description.strip(),
        state=TicketState.ACKNOWLEDGED,
    )
    session.add(ticket)
    events.record(
        session,
        party_id=party_id,
        entity="ticket",
        entity_id=ticket.id,
        kind=EventKind.CREATED,
        state=ticket.state,
        channel=channel,
    )
    await commit(session)
    return ticket


def _move(session: AsyncSession, ticket: Ticket, state: TicketState) -> None:
    if state not in TRANSITIONS[ticket.state]:
        raise IllegalTransition(
            f"a ticket in state '{ticket.state}' cannot become '{state}'", field="state"
        )
    previous = ticket.state
    ticket.state = state
    now = clock.now()
    ticket.updated_at = now
    if state is TicketState.RESOLVED:
        ticket.resolved_at = now
    if state in {TicketState.CLOSED, TicketState.CANCELLED}:
        ticket.closed_at = now
    session.add(ticket)
    events.record(
        session,
        party_id=ticket.party_id,
        entity="ticket",
        entity_id=ticket.id,
        kind=EventKind.STATE_CHANGED,
        state=state,
        previous_state=previous,
        channel=ticket.channel,
    )


async def change_state(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: str,
    state: TicketState,
    resolution: str | None = None,
) -> Ticket:
    """Move a ticket: the buyer closes, reopens and cancels; operations staff do the rest."""
    ticket = await get_scoped(session, Ticket, ticket_id, principal, what="ticket")
    if state not in BUYER_MOVES:
        principal.require_ops()
    if state is TicketState.CANCELLED and ticket.state is TicketState.ASSESSING_CANCELLATION:
        # Accepting a cancellation under assessment is the seller's decision.
        principal.require_ops()
    elif state is TicketState.CANCELLED and ticket.state is not TicketState.ACKNOWLEDGED:
        # Work has started: the seller assesses the cancellation first.
        state = TicketState.ASSESSING_CANCELLATION
    if state is TicketState.RESOLVED and (not resolution or not resolution.strip()):
        raise InvalidRequest("say how the ticket was resolved", field="resolution")
    _move(session, ticket, state)
    if state is TicketState.RESOLVED and resolution:
        # Set only once the move is known to be legal, so a refused move changes nothing.
        ticket.resolution = resolution.strip()
    if state is TicketState.REOPENED:
        # The earlier fix did not hold: it is no longer the ticket's resolution.
        ticket.resolution = None
        ticket.resolved_at = None
    await commit(session)
    return ticket


async def close(session: AsyncSession, *, principal: Principal, ticket_id: str) -> Ticket:
    """The buyer confirms a resolved ticket."""
    return await change_state(
        session, principal=principal, ticket_id=ticket_id, state=TicketState.CLOSED
    )


async def reopen(session: AsyncSession, *, principal: Principal, ticket_id: str) -> Ticket:
    """The buyer reports that a resolved problem persists."""
    return await change_state(
        session, principal=principal, ticket_id=ticket_id, state=TicketState.REOPENED
    )


async def cancel(session: AsyncSession, *, principal: Principal, ticket_id: str) -> Ticket:
    """The buyer withdraws a ticket."""
    return await change_state(
        session, principal=principal, ticket_id=ticket_id, state=TicketState.CANCELLED
    )


async def add_note(
    session: AsyncSession, *, principal: Principal, ticket_id: str, text: str, author: str
) -> TicketNote:
    """Add a note to a ticket that is still open or resolved."""
    ticket = await get_scoped(session, Ticket, ticket_id, principal, what="ticket")
    if ticket.state in {TicketState.CLOSED, TicketState.CANCELLED}:
        raise IllegalTransition(
            f"a ticket in state '{ticket.state}' takes no more notes", field="state"
        )
    if not text.strip():
        raise InvalidRequest("a note needs text", field="text")
    note = TicketNote(
        ticket_id=ticket.id,
        party_id=ticket.party_id,
        author_party_id=principal.party_id,
        author=author,
        text=text.strip(),
    )
    ticket.updated_at = clock.now()
    session.add_all([note, ticket])
    events.record(
        session,
        party_id=ticket.party_id,
        entity="ticket",
        entity_id=ticket.id,
        kind=EventKind.ATTRIBUTE_CHANGED,
        state=ticket.state,
        channel=ticket.channel,
        data={"changed": ["notes"], "note_id": note.id},
    )
    await commit(session)
    return note


async def get_ticket(
    session: AsyncSession, *, principal: Principal, ticket_id: str
) -> TicketWithNotes:
    """One of the caller's tickets with its notes."""
    ticket = await get_scoped(session, Ticket, ticket_id, principal, what="ticket")
    notes = (
        await session.exec(
            select(TicketNote)
            .where(TicketNote.ticket_id == ticket.id)
            .order_by(col(TicketNote.created_at), col(TicketNote.id))
        )
    ).all()
    return TicketWithNotes(ticket, list(notes))


def tickets_query(
    *, principal: Principal, states: set[TicketState] | None = None
) -> SelectOfScalar[Ticket]:
    """The caller's tickets, newest first, as a statement to page through."""
    statement = scoped(Ticket, principal)
    if states:
        statement = statement.where(col(Ticket.state).in_(sorted(states)))
    return statement.order_by(col(Ticket.created_at).desc(), col(Ticket.id))


async def list_tickets(
    session: AsyncSession,
    *,
    principal: Principal,
    states: set[TicketState] | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[Ticket]:
    """The caller's tickets, newest first."""
    statement = scoped(Ticket, principal)
    if states:
        statement = statement.where(col(Ticket.state).in_(sorted(states)))
    statement = statement.order_by(col(Ticket.created_at).desc(), col(Ticket.id))
    return list((await session.exec(statement.offset(offset).limit(limit))).all())
