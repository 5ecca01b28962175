"""Trouble tickets: reporting a problem with a product, notes, the ticket lifecycle, and the
incidents that operations staff record while they work on the seller's network."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, case, null
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import clock, events, workforce
from app.core.db import StrEnumType, UTCDateTime, commit, new_id, version_column
from app.core.errors import IllegalTransition, InvalidRequest, NotFound
from app.core.events import Channel, EntityKind, EventKind
from app.core.inventory import ProductInstance, get_product

# `Between` was defined here first; it is re-exported for the code that imports it from here.
from app.core.kept import Keeper, document_field, register_document
from app.core.paging import Between as Between
from app.core.paging import Condition, Page, fetch_page, via, where, within
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


class IncidentState(StrEnum):
    """Lifecycle of an incident."""

    CREATED = "created"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class IncidentType(StrEnum):
    """What the seller has to do about an incident."""

    MAINTENANCE = "maintenance"
    REPAIR = "repair"
    INSTALLATION = "installation"


# How long the seller expects to take, from the moment a ticket is opened, by its priority.
RESOLUTION_TARGETS: dict[Priority, timedelta] = {
    Priority.CRITICAL: timedelta(hours=4),
    Priority.HIGH: timedelta(hours=8),
    Priority.MEDIUM: timedelta(hours=24),
    Priority.LOW: timedelta(hours=72),
}


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
INCIDENT_TRANSITIONS: dict[IncidentState, set[IncidentState]] = {
    IncidentState.CREATED: {IncidentState.IN_PROGRESS, IncidentState.CLOSED},
    IncidentState.IN_PROGRESS: {IncidentState.CLOSED},
    IncidentState.CLOSED: set(),
}
# The incident that work on a ticket of each type is recorded as.
_INCIDENT_TYPES = {
    TicketType.INSTALLATION: IncidentType.INSTALLATION,
    TicketType.MAINTENANCE: IncidentType.MAINTENANCE,
    TicketType.ASSISTANCE: IncidentType.REPAIR,
    TicketType.INFORMATION: IncidentType.REPAIR,
}
# Ticket moves after which the seller's work on the ticket's incidents is over.
_ENDS_INCIDENTS = {TicketState.RESOLVED, TicketState.CLOSED, TicketState.CANCELLED}
MAX_TEXT = 5000
MAX_EXTERNAL_ID = 200


_TICKET_VERSION = version_column()


# The longest word a buyer may give for the type of a ticket.
MAX_TYPE_WORD = 100


class Ticket(SQLModel, table=True):
    """A reported problem or request about a party's product."""

    id: str = Field(default_factory=lambda: new_id("tt"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    # The party that opened it: the buyer, or an agent acting for the buyer.
    opened_by_party_id: str | None = Field(default=None, foreign_key="party.id", max_length=40)
    channel: Channel = Field(sa_type=StrEnumType(Channel, 12))
    product_id: str | None = Field(
        default=None, foreign_key="productinstance.id", index=True, max_length=40
    )
    external_id: str | None = Field(default=None, max_length=200, index=True)
    ticket_type: TicketType = Field(sa_type=StrEnumType(TicketType, 16))
    # The buyer's own word for the type of problem, as given; `ticket_type` is the core's
    # nearest (its default where the word is not one the core knows).
    ticket_type_word: str | None = Field(default=None, max_length=MAX_TYPE_WORD)
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
    # When the seller expects to have resolved it (see RESOLUTION_TARGETS).
    expected_resolution_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What the buyer sent that the core does not interpret (contacts, attachments, related
    # issues, when the problem started), kept as given so that the face it came through can
    # return it.
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
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
    # Written by operations staff (the seller) rather than by the buyer's side.
    by_seller: bool = False
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


_INCIDENT_VERSION = version_column()


class Incident(SQLModel, table=True):
    """The seller's record of a situation in its network that affects a party's product."""

    id: str = Field(default_factory=lambda: new_id("inc"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    product_id: str = Field(foreign_key="productinstance.id", index=True, max_length=40)
    ticket_id: str | None = Field(default=None, foreign_key="ticket.id", index=True, max_length=40)
    incident_type: IncidentType = Field(sa_type=StrEnumType(IncidentType, 16))
    state: IncidentState = Field(sa_type=StrEnumType(IncidentState, 16), index=True)
    severity: Severity = Field(sa_type=StrEnumType(Severity, 16))
    priority: Priority = Field(sa_type=StrEnumType(Priority, 12))
    impact: Impact = Field(sa_type=StrEnumType(Impact, 16))
    description: str = Field(max_length=5000)
    situation_started_at: datetime = Field(sa_type=UTCDateTime)
    expected_closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_INCIDENT_VERSION)

    __mapper_args__ = {"version_id_col": _INCIDENT_VERSION}


@dataclass
class TicketWithNotes:
    """A ticket and its notes, oldest note first."""

    ticket: Ticket
    notes: list[TicketNote]


@dataclass(frozen=True)
class NoteInput:
    """A note to add to a ticket."""

    text: str
    author: str


def _check_length(value: str | None, limit: int, field: str) -> None:
    if value is not None and len(value) > limit:
        raise InvalidRequest(f"at most {limit} characters", field=field)


def _check_type_word(word: str | None) -> None:
    if word is not None and not word.strip():
        raise InvalidRequest("the type of a ticket cannot be empty", field="ticket_type")
    _check_length(word, MAX_TYPE_WORD, "ticket_type")


def _event_data(ticket: Ticket, principal: Principal, **extra: Any) -> dict[str, Any]:
    # An agent that opened a ticket for a buyer hears of it too (see events.Dispatcher).
    data: dict[str, Any] = {"by_seller": principal.is_ops, **extra}
    if ticket.opened_by_party_id and ticket.opened_by_party_id != ticket.party_id:
        data["placed_by_party_id"] = ticket.opened_by_party_id
    return data


def _notes(ticket: Ticket, principal: Principal, notes: Sequence[NoteInput]) -> list[TicketNote]:
    built = []
    for index, note in enumerate(notes):
        if not note.text.strip():
            raise InvalidRequest("a note needs text", field=f"notes[{index}].text")
        _check_length(note.text.strip(), MAX_TEXT, f"notes[{index}].text")
        built.append(
            TicketNote(
                ticket_id=ticket.id,
                party_id=ticket.party_id,
                author_party_id=principal.party_id,
                author=note.author.strip()[:200],
                text=note.text.strip(),
                by_seller=principal.is_ops,
            )
        )
    return built


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
    ticket_type_word: str | None = None,
    impact: Impact | None = None,
    product_id: str | None = None,
    buyer_party_id: str | None = None,
    external_id: str | None = None,
    notes: Sequence[NoteInput] = (),
    annotations: dict[str, Any] | None = None,
) -> Ticket:
    """Report a problem, optionally about one of the caller's products, with first notes."""
    party_id = await resolve_buyer(session, principal, buyer_party_id)
    if not summary.strip():
        raise InvalidRequest("a ticket needs a summary", field="summary")
    if not description.strip():
        raise InvalidRequest("a ticket needs a description", field="description")
    _check_length(summary.strip(), 300, "summary")
    _check_length(description.strip(), MAX_TEXT, "description")
    _check_length(external_id, MAX_EXTERNAL_ID, "external_id")
    _check_type_word(ticket_type_word)
    if product_id is not None:
        product = await get_product(
            session, principal=principal, product_id=product_id, field_name="product_id"
        )
        if product.party_id != party_id:
            raise InvalidRequest("the product belongs to another buyer", field="product_id")
    now = clock.now()
    ticket = Ticket(
        party_id=party_id,
        opened_by_party_id=principal.party_id,
        channel=channel,
        product_id=product_id,
        external_id=external_id,
        ticket_type=ticket_type,
        ticket_type_word=ticket_type_word,
        severity=severity,
        priority=priority,
        impact=impact,
        summary=summary.strip(),
        description=description.strip(),
        state=TicketState.ACKNOWLEDGED,
        created_at=now,
        updated_at=now,
        expected_resolution_at=now + RESOLUTION_TARGETS[priority],
        annotations=dict(annotations or {}),
    )
    first_notes = _notes(ticket, principal, notes)
    session.add(ticket)
    session.add_all(first_notes)
    events.record(
        session,
        party_id=party_id,
        entity=EntityKind.TICKET,
        entity_id=ticket.id,
        kind=EventKind.CREATED,
        state=ticket.state,
        channel=channel,
        data=_event_data(ticket, principal),
    )
    await commit(session)
    return ticket


async def update_ticket(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: str,
    severity: Severity | None = None,
    priority: Priority | None = None,
    impact: Impact | None = None,
    external_id: str | None = None,
    summary: str | None = None,
    description: str | None = None,
    ticket_type: TicketType | None = None,
    ticket_type_word: str | None = None,
    product_id: str | None = None,
    notes: Sequence[NoteInput] = (),
    annotations: dict[str, Any] | None = None,
) -> TicketWithNotes:
    """Change what the buyer said about an open or resolved ticket and add notes, at once."""
    ticket = await get_scoped(session, Ticket, ticket_id, principal, what="ticket")
    if ticket.state in {TicketState.CLOSED, TicketState.CANCELLED}:
        raise IllegalTransition(
            f"a ticket in state '{ticket.state}' can no longer change", field="state"
        )
    _check_length(external_id, MAX_EXTERNAL_ID, "external_id")
    _check_type_word(ticket_type_word)
    for name, text, limit in (("summary", summary, 300), ("description", description, MAX_TEXT)):
        if text is not None and not text.strip():
            raise InvalidRequest(f"a ticket's {name} cannot be empty", field=name)
        _check_length(text.strip() if text else None, limit, name)
    if product_id is not None and product_id != ticket.product_id:
        if ticket.state is not TicketState.ACKNOWLEDGED:
            # Work on the ticket is recorded against its product (see `_follow_incidents`).
            raise IllegalTransition(
                "the product of a ticket changes only before work starts", field="product_id"
            )
        product = await get_product(
            session, principal=principal, product_id=product_id, field_name="product_id"
        )
        if product.party_id != ticket.party_id:
            raise InvalidRequest("the product belongs to another buyer", field="product_id")
    added = _notes(ticket, principal, notes)
    changed = []
    for name, value in (
        ("severity", severity),
        ("priority", priority),
        ("impact", impact),
        ("external_id", external_id),
        ("summary", summary.strip() if summary else None),
        ("description", description.strip() if description else None),
        ("ticket_type", ticket_type),
        ("ticket_type_word", ticket_type_word),
        ("product_id", product_id),
    ):
        if value is not None and getattr(ticket, name) != value:
            setattr(ticket, name, value)
            changed.append(name)
    if "priority" in changed:
        ticket.expected_resolution_at = ticket.created_at + RESOLUTION_TARGETS[ticket.priority]
    for name, value in (annotations or {}).items():
        if ticket.annotations.get(name) != value:
            changed.append(name)
    if annotations:
        # A new dict, so that the JSON column is seen to change.
        ticket.annotations = {**ticket.annotations, **annotations}
    if added:
        changed.append("notes")
    if changed:
        ticket.updated_at = clock.now()
        session.add(ticket)
        session.add_all(added)
        events.record(
            session,
            party_id=ticket.party_id,
            entity=EntityKind.TICKET,
            entity_id=ticket.id,
            kind=EventKind.ATTRIBUTE_CHANGED,
            state=ticket.state,
            channel=ticket.channel,
            data=_event_data(ticket, principal, changed=changed),
        )
        await commit(session)
    return await get_ticket(session, principal=principal, ticket_id=ticket.id)


def _move(
    session: AsyncSession,
    ticket: Ticket,
    state: TicketState,
    principal: Principal,
    reason: str | None = None,
) -> None:
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
        entity=EntityKind.TICKET,
        entity_id=ticket.id,
        kind=EventKind.STATE_CHANGED,
        state=state,
        previous_state=previous,
        channel=ticket.channel,
        data=_event_data(ticket, principal, **({"reason": reason} if reason else {})),
    )


async def _open_incidents(session: AsyncSession, ticket_id: str) -> list[Incident]:
    statement = select(Incident).where(
        Incident.ticket_id == ticket_id, Incident.state != IncidentState.CLOSED
    )
    return list((await session.exec(statement.order_by(col(Incident.created_at)))).all())


def _record_incident(
    session: AsyncSession,
    incident: Incident,
    kind: EventKind,
    *,
    channel: Channel | None,
    previous: IncidentState | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    events.record(
        session,
        party_id=incident.party_id,
        entity=EntityKind.INCIDENT,
        entity_id=incident.id,
        kind=kind,
        state=incident.state,
        previous_state=previous,
        channel=channel,
        data={"ticket_id": incident.ticket_id, **(data or {})},
    )


def _move_incident(
    session: AsyncSession,
    incident: Incident,
    state: IncidentState,
    *,
    channel: Channel | None,
    data: dict[str, Any],
) -> None:
    if state not in INCIDENT_TRANSITIONS[incident.state]:
        raise IllegalTransition(
            f"an incident in state '{incident.state}' cannot become '{state}'", field="state"
        )
    previous = incident.state
    incident.state = state
    incident.updated_at = clock.now()
    if state is IncidentState.CLOSED:
        incident.closed_at = incident.updated_at
    session.add(incident)
    _record_incident(
        session, incident, EventKind.STATE_CHANGED, channel=channel, previous=previous, data=data
    )


def _follow_incidents(
    session: AsyncSession, ticket: Ticket, principal: Principal, current: list[Incident]
) -> None:
    """Work starting on a ticket about a product is an incident; the ticket's end ends it."""
    if ticket.product_id is None:
        return
    data = _event_data(ticket, principal)
    if ticket.state is TicketState.IN_PROGRESS and not current:
        incident = Incident(
            party_id=ticket.party_id,
            product_id=ticket.product_id,
            ticket_id=ticket.id,
            incident_type=_INCIDENT_TYPES[ticket.ticket_type],
            state=IncidentState.IN_PROGRESS,
            severity=ticket.severity,
            priority=ticket.priority,
            # Until staff know better, a problem the buyer did not qualify counts as degraded.
            impact=ticket.impact or Impact.DEGRADED,
            description=ticket.summary,
            situation_started_at=ticket.created_at,
            expected_closed_at=ticket.expected_resolution_at,
        )
        session.add(incident)
        _record_incident(session, incident, EventKind.CREATED, channel=ticket.channel, data=data)
    elif ticket.state in _ENDS_INCIDENTS:
        for incident in current:
            _move_incident(
                session, incident, IncidentState.CLOSED, channel=ticket.channel, data=data
            )


async def change_state(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: str,
    state: TicketState,
    resolution: str | None = None,
    reason: str | None = None,
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
    _check_length(reason, MAX_TEXT, "reason")
    # Read before the ticket changes: a read would flush the change, and a lost race must
    # surface at commit, as a Conflict.
    current = await _open_incidents(session, ticket.id) if ticket.product_id else []
    dispatch = await _needs_dispatch(session, ticket, state)
    _move(session, ticket, state, principal, reason.strip() if reason else None)
    _follow_incidents(session, ticket, principal, current)
    if dispatch is not None:
        workforce.open_for_ticket(
            session,
            party_id=ticket.party_id,
            ticket_id=ticket.id,
            location_id=dispatch,
            task=f"Repair on site: {ticket.description}",
        )
    if state is TicketState.RESOLVED and resolution:
        # Set only once the move is known to be legal, so a refused move changes nothing.
        ticket.resolution = resolution.strip()
    if state is TicketState.REOPENED:
        # The earlier fix did not hold: it is no longer the ticket's resolution.
        ticket.resolution = None
        ticket.resolved_at = None
    await commit(session)
    return ticket


async def _needs_dispatch(session: AsyncSession, ticket: Ticket, state: TicketState) -> str | None:
    """Where a crew must go once work starts on a ticket whose product is down (its A end),
    unless one is already sent; None when nobody needs to go."""
    if state is not TicketState.IN_PROGRESS or ticket.impact is not Impact.DOWN:
        return None
    if ticket.product_id is None:
        return None
    sent = await session.exec(
        select(workforce.WorkOrder.id).where(workforce.WorkOrder.ticket_id == ticket.id)
    )
    if sent.first() is not None:
        return None
    product = await session.get(ProductInstance, ticket.product_id)
    return product.a_location_id if product is not None else None


async def close(session: AsyncSession, *, principal: Principal, ticket_id: str) -> Ticket:
    """The buyer confirms a resolved ticket."""
    return await change_state(
        session, principal=principal, ticket_id=ticket_id, state=TicketState.CLOSED
    )


async def reopen(
    session: AsyncSession, *, principal: Principal, ticket_id: str, reason: str | None = None
) -> Ticket:
    """The buyer reports that a resolved problem persists."""
    return await change_state(
        session,
        principal=principal,
        ticket_id=ticket_id,
        state=TicketState.REOPENED,
        reason=reason,
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
    _check_length(text.strip(), MAX_TEXT, "text")
    note = TicketNote(
        ticket_id=ticket.id,
        party_id=ticket.party_id,
        author_party_id=principal.party_id,
        author=author.strip()[:200],
        text=text.strip(),
        by_seller=principal.is_ops,
    )
    ticket.updated_at = clock.now()
    session.add_all([note, ticket])
    events.record(
        session,
        party_id=ticket.party_id,
        entity=EntityKind.TICKET,
        entity_id=ticket.id,
        kind=EventKind.ATTRIBUTE_CHANGED,
        state=ticket.state,
        channel=ticket.channel,
        data=_event_data(ticket, principal, changed=["notes"], note_id=note.id),
    )
    await commit(session)
    return note


async def get_ticket(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: str,
    channel: Channel | None = None,
    buyer_party_id: str | None = None,
) -> TicketWithNotes:
    """One of the caller's tickets with its notes (of one channel or buyer, when named)."""
    ticket = await get_scoped(session, Ticket, ticket_id, principal, what="ticket")
    if (channel is not None and ticket.channel != channel) or (
        buyer_party_id is not None and ticket.party_id != buyer_party_id
    ):
        raise NotFound(f"no ticket '{ticket_id}'", field="id")
    notes = (
        await session.exec(
            select(TicketNote)
            .where(TicketNote.ticket_id == ticket.id)
            .order_by(col(TicketNote.created_at), col(TicketNote.id))
        )
    ).all()
    return TicketWithNotes(ticket, list(notes))


async def notes_of(
    session: AsyncSession, *, principal: Principal, ticket_ids: Sequence[str]
) -> dict[str, list[TicketNote]]:
    """The notes of several of the caller's tickets at once, oldest first, by ticket id."""
    statement = scoped(TicketNote, principal).where(col(TicketNote.ticket_id).in_(ticket_ids))
    found: dict[str, list[TicketNote]] = {ticket_id: [] for ticket_id in ticket_ids}
    for note in (
        await session.exec(statement.order_by(col(TicketNote.created_at), col(TicketNote.id)))
    ).all():
        found.setdefault(note.ticket_id, []).append(note)
    return found


def tickets_query(
    *,
    principal: Principal,
    states: set[TicketState] | None = None,
    channel: Channel | None = None,
    buyer_party_id: str | None = None,
    external_id: str | None = None,
    severity: Severity | None = None,
    priority: Priority | None = None,
    ticket_type: TicketType | None = None,
    impact: Impact | None = None,
    product_id: str | None = None,
    created: Between | None = None,
    expected_resolution: Between | None = None,
    resolved: Between | None = None,
) -> SelectOfScalar[Ticket]:
    """The caller's tickets, newest first, filtered by whatever is given, to page through."""
    statement = scoped(Ticket, principal)
    if states:
        statement = statement.where(col(Ticket.state).in_(sorted(states)))
    for column, value in (
        (Ticket.channel, channel),
        (Ticket.party_id, buyer_party_id),
        (Ticket.external_id, external_id),
        (Ticket.severity, severity),
        (Ticket.priority, priority),
        (Ticket.ticket_type, ticket_type),
        (Ticket.impact, impact),
        (Ticket.product_id, product_id),
    ):
        if value is not None:
            statement = statement.where(col(column) == value)
    statement = within(statement, Ticket.created_at, created)
    statement = within(statement, Ticket.expected_resolution_at, expected_resolution)
    statement = within(statement, Ticket.resolved_at, resolved)
    return statement.order_by(col(Ticket.created_at).desc(), col(Ticket.id))


class TicketField(StrEnum):
    """The fields of a ticket that a list may be narrowed by."""

    ID = "id"
    STATE = "state"
    CHANNEL = "channel"
    PARTY = "party"
    EXTERNAL_ID = "external_id"
    SEVERITY = "severity"
    PRIORITY = "priority"
    TICKET_TYPE = "ticket_type"
    # The buyer's own word for the type, and the core's type of tickets without such a word.
    TICKET_TYPE_WORD = "ticket_type_word"
    UNWORDED_TICKET_TYPE = "unworded_ticket_type"
    IMPACT = "impact"
    PRODUCT = "product"
    SUMMARY = "summary"
    DESCRIPTION = "description"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    EXPECTED_RESOLUTION_AT = "expected_resolution_at"
    RESOLVED_AT = "resolved_at"
    # What the buyer sent that the core keeps as given (a condition names a path in it).
    ANNOTATIONS = "annotations"
    # Tickets with a note of which this field matches.
    NOTE_ID = "note.id"
    NOTE_TEXT = "note.text"
    NOTE_AUTHOR = "note.author"
    NOTE_DATE = "note.created_at"


register_document(Ticket, Keeper.TICKET, "annotations")
TICKET_COLUMNS: dict[TicketField, Any] = {
    TicketField.ID: col(Ticket.id),
    TicketField.STATE: col(Ticket.state),
    TicketField.CHANNEL: col(Ticket.channel),
    TicketField.PARTY: col(Ticket.party_id),
    TicketField.EXTERNAL_ID: col(Ticket.external_id),
    TicketField.SEVERITY: col(Ticket.severity),
    TicketField.PRIORITY: col(Ticket.priority),
    TicketField.TICKET_TYPE: col(Ticket.ticket_type),
    TicketField.TICKET_TYPE_WORD: col(Ticket.ticket_type_word),
    TicketField.UNWORDED_TICKET_TYPE: case(
        (col(Ticket.ticket_type_word).is_(None), col(Ticket.ticket_type)), else_=null()
    ),
    TicketField.IMPACT: col(Ticket.impact),
    TicketField.PRODUCT: col(Ticket.product_id),
    TicketField.SUMMARY: col(Ticket.summary),
    TicketField.DESCRIPTION: col(Ticket.description),
    TicketField.CREATED_AT: col(Ticket.created_at),
    TicketField.UPDATED_AT: col(Ticket.updated_at),
    TicketField.EXPECTED_RESOLUTION_AT: col(Ticket.expected_resolution_at),
    TicketField.RESOLVED_AT: col(Ticket.resolved_at),
    TicketField.ANNOTATIONS: document_field(Keeper.TICKET, Ticket.id),
    **{
        field: via(
            Ticket.id, TicketNote.ticket_id, getattr(TicketNote, field.removeprefix("note."))
        )
        for field in TicketField
        if field.startswith("note.")
    },
}


async def find_tickets(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: Sequence[Condition[TicketField]] = (),
    offset: int = 0,
    limit: int = 100,
) -> Page[TicketWithNotes]:
    """One page of the caller's tickets that meet every condition, newest first, with their
    notes and the count of all that meet them."""
    statement = tickets_query(principal=principal).where(*where(TICKET_COLUMNS, conditions))
    page = await fetch_page(session, statement, offset=offset, limit=limit)
    notes = await notes_of(session, principal=principal, ticket_ids=[t.id for t in page.items])
    return Page([TicketWithNotes(t, notes[t.id]) for t in page.items], page.total, page.offset)


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


async def open_incident(
    session: AsyncSession,
    *,
    principal: Principal,
    product_id: str,
    incident_type: IncidentType,
    description: str,
    severity: Severity = Severity.MODERATE,
    priority: Priority = Priority.MEDIUM,
    impact: Impact = Impact.DEGRADED,
    ticket_id: str | None = None,
    situation_started_at: datetime | None = None,
    expected_closed_at: datetime | None = None,
) -> Incident:
    """Operations staff record a situation that affects a party's product."""
    principal.require_ops()
    product = await get_product(
        session, principal=principal, product_id=product_id, field_name="product_id"
    )
    channel = None
    if ticket_id is not None:
        ticket = await get_scoped(
            session, Ticket, ticket_id, principal, what="ticket", field_name="ticket_id"
        )
        if ticket.product_id != product.id:
            raise InvalidRequest("the ticket is about another product", field="ticket_id")
        channel = ticket.channel
    if not description.strip():
        raise InvalidRequest("an incident needs a description", field="description")
    _check_length(description.strip(), MAX_TEXT, "description")
    now = clock.now()
    incident = Incident(
        party_id=product.party_id,
        product_id=product.id,
        ticket_id=ticket_id,
        incident_type=incident_type,
        state=IncidentState.CREATED,
        severity=severity,
        priority=priority,
        impact=impact,
        description=description.strip(),
        situation_started_at=situation_started_at or now,
        expected_closed_at=expected_closed_at,
        created_at=now,
        updated_at=now,
    )
    session.add(incident)
    _record_incident(session, incident, EventKind.CREATED, channel=channel)
    await commit(session)
    return incident


async def change_incident_state(
    session: AsyncSession, *, principal: Principal, incident_id: str, state: IncidentState
) -> Incident:
    """Operations staff take an incident up or close it."""
    principal.require_ops()
    incident = await get_scoped(session, Incident, incident_id, principal, what="incident")
    channel = None
    if incident.ticket_id is not None:
        ticket = await session.get(Ticket, incident.ticket_id)
        channel = ticket.channel if ticket else None
    _move_incident(session, incident, state, channel=channel, data={"by_seller": True})
    await commit(session)
    return incident


async def get_incident(
    session: AsyncSession,
    *,
    principal: Principal,
    incident_id: str,
    buyer_party_id: str | None = None,
) -> Incident:
    """One incident affecting the caller's products (of one buyer, when named)."""
    incident = await get_scoped(session, Incident, incident_id, principal, what="incident")
    if buyer_party_id is not None and incident.party_id != buyer_party_id:
        raise NotFound(f"no incident '{incident_id}'", field="id")
    return incident


async def incidents_of(
    session: AsyncSession, *, principal: Principal, ticket_id: str
) -> list[Incident]:
    """The incidents recorded for one of the caller's tickets, oldest first."""
    statement = scoped(Incident, principal).where(Incident.ticket_id == ticket_id)
    return list(
        (await session.exec(statement.order_by(col(Incident.created_at), col(Incident.id)))).all()
    )


def incidents_query(
    *,
    principal: Principal,
    buyer_party_id: str | None = None,
    states: set[IncidentState] | None = None,
    incident_type: IncidentType | None = None,
    severity: Severity | None = None,
    priority: Priority | None = None,
    impact: Impact | None = None,
    product_id: str | None = None,
    created: Between | None = None,
    situation_started: Between | None = None,
    expected_closed: Between | None = None,
    closed: Between | None = None,
) -> SelectOfScalar[Incident]:
    """Incidents affecting the caller's products, newest first, filtered, to page through."""
    statement = scoped(Incident, principal)
    if states:
        statement = statement.where(col(Incident.state).in_(sorted(states)))
    for column, value in (
        (Incident.party_id, buyer_party_id),
        (Incident.incident_type, incident_type),
        (Incident.severity, severity),
        (Incident.priority, priority),
        (Incident.impact, impact),
        (Incident.product_id, product_id),
    ):
        if value is not None:
            statement = statement.where(col(column) == value)
    statement = within(statement, Incident.created_at, created)
    statement = within(statement, Incident.situation_started_at, situation_started)
    statement = within(statement, Incident.expected_closed_at, expected_closed)
    statement = within(statement, Incident.closed_at, closed)
    return statement.order_by(col(Incident.created_at).desc(), col(Incident.id))
