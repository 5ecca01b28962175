"""Field work: work orders for site visits (installations, repairs) and the appointments a buyer
books, moves and cancels for them in the seller's free time slots."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import clock, events
from app.core.db import StrEnumType, UTCDateTime, commit, new_id
from app.core.errors import Conflict, IllegalTransition, InvalidRequest
from app.core.events import EntityKind, EventKind
from app.core.ordering import ItemAction, Order, OrderItem
from app.core.parties import Principal, get_scoped, scoped

# Visits are booked in half-day windows (UTC) on weekdays, from two days ahead, for four weeks.
VISIT_WINDOWS = ((time(8), time(12)), (time(13), time(17)))
NOTICE_DAYS = 2
BOOKING_HORIZON_DAYS = 28
# How many visits the seller's field crews can make in one window.
CREWS = 2
VISIT_MINUTES = 240


class WorkReason(StrEnum):
    """Why a site visit is needed."""

    INSTALLATION = "installation"  # a new product of an order
    REPAIR = "repair"  # a trouble ticket that needs someone on site


class WorkOrderState(StrEnum):
    """Lifecycle of a work order."""

    OPEN = "open"  # waiting for an appointment
    PLANNED = "planned"  # an appointment is booked
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    UNABLE_TO_COMPLETE = "unable_to_complete"


class AppointmentState(StrEnum):
    """Lifecycle of an appointment."""

    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    MISSED = "missed"
    FAILED = "failed"


FINISHED_WORK = {
    WorkOrderState.COMPLETED,
    WorkOrderState.CANCELLED,
    WorkOrderState.UNABLE_TO_COMPLETE,
}


class WorkOrder(SQLModel, table=True):
    """A visit of the seller's field crew to one of a party's places."""

    id: str = Field(default_factory=lambda: new_id("wo"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    reason: WorkReason = Field(sa_type=StrEnumType(WorkReason, 16))
    order_item_id: str | None = Field(
        default=None, foreign_key="orderitem.id", index=True, max_length=40
    )
    ticket_id: str | None = Field(default=None, foreign_key="ticket.id", index=True, max_length=40)
    location_id: str = Field(foreign_key="location.id", index=True, max_length=40)
    site_id: str | None = Field(default=None, foreign_key="site.id", index=True, max_length=40)
    task: str = Field(max_length=300)
    appointment_required: bool = True
    duration_minutes: int = VISIT_MINUTES
    state: WorkOrderState = Field(sa_type=StrEnumType(WorkOrderState, 20), index=True)
    planned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Appointment(SQLModel, table=True):
    """A booked window in which the field crew visits for a work order."""

    id: str = Field(default_factory=lambda: new_id("apt"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    work_order_id: str = Field(foreign_key="workorder.id", index=True, max_length=40)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    state: AppointmentState = Field(sa_type=StrEnumType(AppointmentState, 16), index=True)
    # Who meets the crew on site.
    contact_name: str = Field(max_length=200)
    contact_email: str = Field(max_length=200)
    contact_number: str = Field(max_length=50)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


@dataclass(frozen=True)
class Slot:
    """A visit window."""

    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Contact:
    """Who meets the crew on site."""

    name: str
    email: str
    number: str


def _record(
    session: AsyncSession,
    entity: EntityKind,
    row: WorkOrder | Appointment,
    kind: EventKind,
    previous_state: str | None = None,
) -> None:
    events.record(
        session,
        party_id=row.party_id,
        entity=entity,
        entity_id=row.id,
        kind=kind,
        state=row.state,
        previous_state=previous_state,
    )


def _set_work_state(session: AsyncSession, work: WorkOrder, state: WorkOrderState) -> None:
    previous = work.state
    work.state = state
    work.updated_at = clock.now()
    session.add(work)
    _record(
        session, EntityKind.WORK_ORDER, work, kind=EventKind.STATE_CHANGED, previous_state=previous
    )


def _set_appointment_state(
    session: AsyncSession, appointment: Appointment, state: AppointmentState
) -> None:
    previous = appointment.state
    appointment.state = state
    appointment.updated_at = clock.now()
    session.add(appointment)
    _record(
        session,
        EntityKind.APPOINTMENT,
        appointment,
        kind=EventKind.STATE_CHANGED,
        previous_state=previous,
    )


def _open(session: AsyncSession, work: WorkOrder) -> WorkOrder:
    session.add(work)
    _record(session, EntityKind.WORK_ORDER, work, kind=EventKind.CREATED)
    if work.appointment_required:
        _record(session, EntityKind.WORK_ORDER, work, kind=EventKind.APPOINTMENT_REQUIRED)
    return work


def open_for_order(session: AsyncSession, order: Order, items: list[OrderItem]) -> list[WorkOrder]:
    """A work order for each item of an order that installs a new product: the crew visits its
    A end (not committed here; fulfilment commits it with the order's step)."""
    return [
        _open(
            session,
            WorkOrder(
                party_id=item.party_id,
                reason=WorkReason.INSTALLATION,
                order_item_id=item.id,
                location_id=item.a_location_id,
                site_id=item.a_site_id,
                task=f"Install {item.offering_id} at {item.bandwidth_mbps} Mbps for {order.id}",
                state=WorkOrderState.OPEN,
            ),
        )
        for item in items
        if item.action is ItemAction.ADD
    ]


def open_for_ticket(
    session: AsyncSession, *, party_id: str, ticket_id: str, location_id: str, task: str
) -> WorkOrder:
    """A repair visit for a trouble ticket (not committed here)."""
    return _open(
        session,
        WorkOrder(
            party_id=party_id,
            reason=WorkReason.REPAIR,
            ticket_id=ticket_id,
            location_id=location_id,
            task=task[:300],
            state=WorkOrderState.OPEN,
        ),
    )


async def _work_of_items(session: AsyncSession, item_ids: Iterable[str]) -> list[WorkOrder]:
    statement = select(WorkOrder).where(col(WorkOrder.order_item_id).in_(list(item_ids)))
    return [w for w in (await session.exec(statement)).all() if w.state not in FINISHED_WORK]


async def _confirmed(session: AsyncSession, work_ids: list[str]) -> list[Appointment]:
    statement = select(Appointment).where(
        col(Appointment.work_order_id).in_(work_ids),
        Appointment.state == AppointmentState.CONFIRMED,
    )
    return list((await session.exec(statement)).all())


async def finish_for_items(session: AsyncSession, item_ids: list[str], *, done: bool) -> None:
    """The open work of order items as their items end: completed (with their appointments)
    when the items are delivered, cancelled when they are cancelled (not committed here)."""
    work = await _work_of_items(session, item_ids)
    for appointment in await _confirmed(session, [w.id for w in work]):
        _set_appointment_state(
            session, appointment, AppointmentState.COMPLETED if done else AppointmentState.CANCELLED
        )
    for found in work:
        _set_work_state(
            session, found, WorkOrderState.COMPLETED if done else WorkOrderState.CANCELLED
        )


async def get_work_order(
    session: AsyncSession, *, principal: Principal, work_order_id: str, field_name: str = "id"
) -> WorkOrder:
    """One of the caller's work orders."""
    return await get_scoped(
        session, WorkOrder, work_order_id, principal, what="work order", field_name=field_name
    )


async def get_appointment(
    session: AsyncSession, *, principal: Principal, appointment_id: str
) -> Appointment:
    """One of the caller's appointments."""
    return await get_scoped(session, Appointment, appointment_id, principal, what="appointment")


@dataclass(frozen=True)
class WorkOrderFilter:
    """Criteria of a work order search; each one given must hold."""

    party_id: str | None = None
    states: frozenset[WorkOrderState] | None = None
    location_id: str | None = None
    site_id: str | None = None
    order_item_ids: frozenset[str] | None = None
    ticket_id: str | None = None
    appointment_required: bool | None = None


def work_orders_query(
    *, principal: Principal, where: WorkOrderFilter | None = None
) -> SelectOfScalar[WorkOrder]:
    """The caller's work orders meeting `where`, newest first, to page through."""
    statement = scoped(WorkOrder, principal)
    if where is not None:
        conditions = [
            WorkOrder.party_id == where.party_id if where.party_id else None,
            col(WorkOrder.state).in_(where.states) if where.states is not None else None,
            WorkOrder.location_id == where.location_id if where.location_id else None,
            WorkOrder.site_id == where.site_id if where.site_id else None,
            col(WorkOrder.order_item_id).in_(where.order_item_ids)
            if where.order_item_ids is not None
            else None,
            WorkOrder.ticket_id == where.ticket_id if where.ticket_id else None,
            WorkOrder.appointment_required == where.appointment_required
            if where.appointment_required is not None
            else None,
        ]
        statement = statement.where(*(c for c in conditions if c is not None))
    return statement.order_by(col(WorkOrder.created_at).desc(), col(WorkOrder.id))


@dataclass(frozen=True)
class AppointmentFilter:
    """Criteria of an appointment search; each one given must hold (times compare strictly)."""

    party_id: str | None = None
    work_order_id: str | None = None
    states: frozenset[AppointmentState] | None = None
    starts_after: datetime | None = None
    ends_before: datetime | None = None
    location_id: str | None = None
    site_id: str | None = None


def appointments_query(
    *, principal: Principal, where: AppointmentFilter | None = None
) -> SelectOfScalar[Appointment]:
    """The caller's appointments meeting `where`, soonest first, to page through."""
    statement = scoped(Appointment, principal)
    if where is not None:
        if where.location_id or where.site_id:
            place = (
                WorkOrder.location_id == where.location_id
                if where.location_id
                else WorkOrder.site_id == where.site_id
            )
            statement = statement.join(
                WorkOrder, col(WorkOrder.id) == col(Appointment.work_order_id)
            ).where(place)
        conditions = [
            Appointment.party_id == where.party_id if where.party_id else None,
            Appointment.work_order_id == where.work_order_id if where.work_order_id else None,
            col(Appointment.state).in_(where.states) if where.states is not None else None,
            col(Appointment.starts_at) > where.starts_after if where.starts_after else None,
            col(Appointment.ends_at) < where.ends_before if where.ends_before else None,
        ]
        statement = statement.where(*(c for c in conditions if c is not None))
    return statement.order_by(col(Appointment.starts_at), col(Appointment.id))


def _windows(start: datetime, end: datetime) -> list[Slot]:
    """Every visit window on a weekday that lies wholly within `start` to `end`."""
    slots: list[Slot] = []
    day = start.astimezone(UTC).date()
    while datetime.combine(day, time(0), UTC) < end:
        if day.weekday() < 5:
            for opens, closes in VISIT_WINDOWS:
                slot = Slot(datetime.combine(day, opens, UTC), datetime.combine(day, closes, UTC))
                if start <= slot.starts_at and slot.ends_at <= end:
                    slots.append(slot)
        day += timedelta(days=1)
    return slots


def _bookable() -> tuple[datetime, datetime]:
    today = datetime.combine(clock.now().astimezone(UTC).date(), time(0), UTC)
    return today + timedelta(days=NOTICE_DAYS), today + timedelta(days=BOOKING_HORIZON_DAYS)


async def _booked(
    session: AsyncSession, slots: list[Slot], *, except_id: str | None
) -> set[datetime]:
    """The windows among `slots` whose crews are all booked."""
    if not slots:
        return set()
    statement = (
        select(Appointment.starts_at)
        .where(
            Appointment.state == AppointmentState.CONFIRMED,
            col(Appointment.starts_at).in_([s.starts_at for s in slots]),
        )
        .group_by(col(Appointment.starts_at))
        .having(func.count() >= CREWS)
    )
    if except_id is not None:
        statement = statement.where(Appointment.id != except_id)
    return {moment.astimezone(UTC) for moment in (await session.exec(statement)).all()}


async def free_slots(
    session: AsyncSession,
    *,
    principal: Principal,
    work_order_id: str,
    within: list[Slot] | None = None,
) -> list[Slot]:
    """The free visit windows for a work order, within the periods asked for (or the whole
    booking horizon), soonest first."""
    work = await get_work_order(
        session, principal=principal, work_order_id=work_order_id, field_name="work_order"
    )
    _check_open(work)
    earliest, latest = _bookable()
    periods = within or [Slot(earliest, latest)]
    candidates = sorted(
        {
            slot
            for period in periods
            for slot in _windows(max(period.starts_at, earliest), min(period.ends_at, latest))
        },
        key=lambda s: s.starts_at,
    )
    full = await _booked(session, candidates, except_id=None)
    return [slot for slot in candidates if slot.starts_at not in full]


def _check_open(work: WorkOrder) -> None:
    if work.state in FINISHED_WORK or work.state is WorkOrderState.IN_PROGRESS:
        raise IllegalTransition(
            f"work order '{work.id}' is {work.state.replace('_', ' ')}: no visit can be booked",
            field="work_order",
        )
    if not work.appointment_required:
        raise InvalidRequest(f"work order '{work.id}' needs no appointment", field="work_order")


async def _check_slot(session: AsyncSession, slot: Slot, *, except_id: str | None = None) -> None:
    earliest, latest = _bookable()
    windows = _windows(slot.starts_at, slot.ends_at)
    if len(windows) != 1 or windows[0] != Slot(
        slot.starts_at.astimezone(UTC), slot.ends_at.astimezone(UTC)
    ):
        raise InvalidRequest(
            "a visit takes one whole window: 08:00-12:00 or 13:00-17:00 UTC on a weekday",
            field="valid_for",
        )
    if not earliest <= slot.starts_at < latest:
        raise InvalidRequest(
            f"visits are booked {NOTICE_DAYS} to {BOOKING_HORIZON_DAYS} days ahead",
            field="valid_for",
        )
    if await _booked(session, [slot], except_id=except_id):
        raise Conflict("that window is fully booked; search the free time slots", field="valid_for")


async def book(
    session: AsyncSession,
    *,
    principal: Principal,
    work_order_id: str,
    slot: Slot,
    contact: Contact,
) -> Appointment:
    """Book a visit for one of the caller's work orders in a free window."""
    work = await get_work_order(
        session, principal=principal, work_order_id=work_order_id, field_name="work_order"
    )
    _check_open(work)
    if work.state is WorkOrderState.PLANNED:
        raise Conflict(
            f"work order '{work.id}' has an appointment: reschedule it instead",
            field="work_order",
        )
    await _check_slot(session, slot)
    appointment = Appointment(
        party_id=work.party_id,
        work_order_id=work.id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        state=AppointmentState.CONFIRMED,
        contact_name=contact.name,
        contact_email=contact.email,
        contact_number=contact.number,
    )
    session.add(appointment)
    _record(session, EntityKind.APPOINTMENT, appointment, kind=EventKind.CREATED)
    work.planned_at = slot.starts_at
    _set_work_state(session, work, WorkOrderState.PLANNED)
    await commit(session)
    return appointment


def _check_confirmed(appointment: Appointment, what: str) -> None:
    if appointment.state is not AppointmentState.CONFIRMED:
        raise IllegalTransition(
            f"an appointment that is {appointment.state.replace('_', ' ')} cannot be {what}",
            field="status",
        )


async def reschedule(
    session: AsyncSession,
    *,
    principal: Principal,
    appointment_id: str,
    slot: Slot | None = None,
    contact: Contact | None = None,
) -> Appointment:
    """Move a confirmed appointment to another free window, or change who meets the crew."""
    appointment = await get_appointment(session, principal=principal, appointment_id=appointment_id)
    _check_confirmed(appointment, "changed")
    if slot is not None:
        await _check_slot(session, slot, except_id=appointment.id)
        appointment.starts_at, appointment.ends_at = slot.starts_at, slot.ends_at
        work = await session.get(WorkOrder, appointment.work_order_id)
        assert work is not None  # foreign key
        work.planned_at = slot.starts_at
        work.updated_at = clock.now()
        session.add(work)
    if contact is not None:
        appointment.contact_name = contact.name
        appointment.contact_email = contact.email
        appointment.contact_number = contact.number
    appointment.updated_at = clock.now()
    session.add(appointment)
    _record(session, EntityKind.APPOINTMENT, appointment, kind=EventKind.ATTRIBUTE_CHANGED)
    await commit(session)
    return appointment


async def cancel(session: AsyncSession, *, principal: Principal, appointment_id: str) -> None:
    """Cancel a confirmed appointment; its work order waits for another."""
    appointment = await get_appointment(session, principal=principal, appointment_id=appointment_id)
    _check_confirmed(appointment, "cancelled")
    _set_appointment_state(session, appointment, AppointmentState.CANCELLED)
    work = await session.get(WorkOrder, appointment.work_order_id)
    assert work is not None  # foreign key
    work.planned_at = None
    _set_work_state(session, work, WorkOrderState.OPEN)
    # The visit is still needed: the buyer must book another.
    _record(session, EntityKind.WORK_ORDER, work, kind=EventKind.APPOINTMENT_REQUIRED)
    await commit(session)
