"""Work orders for site visits and the appointments booked for them."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, tickets, workforce
from app.core.errors import Conflict, IllegalTransition, InvalidRequest, NotFound
from app.core.events import Channel
from app.core.fulfilment import step
from app.core.tickets import TicketState
from app.core.workforce import AppointmentState, Contact, Slot, WorkOrderState
from tests.factories import Caller, complete, make_caller, make_order, make_product

# A Monday: visits can be booked from Wednesday on.
MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
CONTACT = Contact("Ada", "ada@buyer.example", "+1 555 0100")


def _window(day: int, morning: bool = True) -> Slot:
    start = MONDAY.replace(hour=8 if morning else 13) + timedelta(days=day)
    return Slot(start, start + timedelta(hours=4))


async def _work(session: AsyncSession, caller: Caller) -> workforce.WorkOrder:
    """The installation visit of a new order that fulfilment has started."""
    placed = await make_order(session, caller)
    assert await step(session, placed.order, complete_after=timedelta(hours=1))
    await session.commit()
    statement = workforce.work_orders_query(principal=caller.principal)
    found = (await session.exec(statement)).all()
    assert len(found) == 1
    return found[0]


@pytest.fixture(autouse=True)
def _monday() -> None:
    clock.set_clock(lambda: MONDAY)


async def test_fulfilment_opens_a_visit_for_a_new_product(
    session: AsyncSession, carrier: Caller
) -> None:
    work = await _work(session, carrier)
    assert work.state is WorkOrderState.OPEN
    assert work.reason is workforce.WorkReason.INSTALLATION
    assert work.appointment_required


async def test_free_slots_are_weekday_windows_after_the_notice_period(
    session: AsyncSession, carrier: Caller
) -> None:
    work = await _work(session, carrier)
    slots = await workforce.free_slots(session, principal=carrier.principal, work_order_id=work.id)
    assert slots[0] == _window(2)
    assert all(s.starts_at.weekday() < 5 for s in slots)
    asked = await workforce.free_slots(
        session,
        principal=carrier.principal,
        work_order_id=work.id,
        within=[Slot(MONDAY + timedelta(days=3, hours=3), MONDAY + timedelta(days=3, hours=9))],
    )
    assert asked == [_window(3, morning=False)]


async def test_a_booked_visit_can_be_moved_and_cancelled(
    session: AsyncSession, carrier: Caller
) -> None:
    work = await _work(session, carrier)
    booked = await workforce.book(
        session,
        principal=carrier.principal,
        work_order_id=work.id,
        slot=_window(2),
        contact=CONTACT,
    )
    assert booked.state is AppointmentState.CONFIRMED
    await session.refresh(work)
    assert (work.state, work.planned_at) == (WorkOrderState.PLANNED, _window(2).starts_at)
    with pytest.raises(Conflict):
        await workforce.book(
            session,
            principal=carrier.principal,
            work_order_id=work.id,
            slot=_window(3),
            contact=CONTACT,
        )
    moved = await workforce.reschedule(
        session, principal=carrier.principal, appointment_id=booked.id, slot=_window(3)
    )
    assert moved.starts_at == _window(3).starts_at
    await workforce.cancel(session, principal=carrier.principal, appointment_id=booked.id)
    await session.refresh(work)
    assert (work.state, work.planned_at) == (WorkOrderState.OPEN, None)
    with pytest.raises(IllegalTransition):
        await workforce.cancel(session, principal=carrier.principal, appointment_id=booked.id)


async def test_a_full_window_cannot_be_booked_and_is_not_offered(
    session: AsyncSession, carrier: Caller
) -> None:
    others = [await make_caller(session, "carrier", name=f"Crew test {i}") for i in range(2)]
    crews = [await _work(session, other) for other in others]
    # Fill the first window with the crews' visits of two other buyers.
    for work in crews:
        appointment = workforce.Appointment(
            party_id=work.party_id,
            work_order_id=work.id,
            starts_at=_window(2).starts_at,
            ends_at=_window(2).ends_at,
            state=AppointmentState.CONFIRMED,
            contact_name="x",
            contact_email="x@example.com",
            contact_number="1",
        )
        session.add(appointment)
    await session.commit()
    mine = await _work(session, carrier)
    slots = await workforce.free_slots(session, principal=carrier.principal, work_order_id=mine.id)
    assert _window(2) not in slots
    with pytest.raises(Conflict):
        await workforce.book(
            session,
            principal=carrier.principal,
            work_order_id=mine.id,
            slot=_window(2),
            contact=CONTACT,
        )


async def test_visits_take_a_whole_window_within_the_horizon(
    session: AsyncSession, carrier: Caller
) -> None:
    work = await _work(session, carrier)
    tomorrow = _window(1)
    odd = Slot(_window(2).starts_at, _window(2).starts_at + timedelta(hours=1))
    far = _window(60)
    for slot in (tomorrow, odd, far):
        with pytest.raises(InvalidRequest):
            await workforce.book(
                session,
                principal=carrier.principal,
                work_order_id=work.id,
                slot=slot,
                contact=CONTACT,
            )


async def test_completing_the_order_completes_its_visit(
    session: AsyncSession, carrier: Caller
) -> None:
    placed = await make_order(session, carrier)
    assert await step(session, placed.order, complete_after=timedelta(0))
    await session.commit()
    work = (await session.exec(workforce.work_orders_query(principal=carrier.principal))).one()
    booked = await workforce.book(
        session,
        principal=carrier.principal,
        work_order_id=work.id,
        slot=_window(2),
        contact=CONTACT,
    )
    await complete(session, placed.order)
    await session.refresh(work)
    await session.refresh(booked)
    assert work.state is WorkOrderState.COMPLETED
    assert booked.state is AppointmentState.COMPLETED


async def test_another_partys_visit_is_not_found(
    session: AsyncSession, carrier: Caller, other_carrier: Caller
) -> None:
    work = await _work(session, other_carrier)
    with pytest.raises(NotFound):
        await workforce.free_slots(session, principal=carrier.principal, work_order_id=work.id)
    with pytest.raises(NotFound):
        await workforce.book(
            session,
            principal=carrier.principal,
            work_order_id=work.id,
            slot=_window(2),
            contact=CONTACT,
        )
    mine = (await session.exec(workforce.work_orders_query(principal=carrier.principal))).all()
    assert mine == []


async def test_a_ticket_on_a_product_that_is_down_sends_a_crew_once(
    session: AsyncSession, carrier: Caller, ops: Caller
) -> None:
    product = await make_product(session, carrier)
    ticket = await tickets.open_ticket(
        session,
        principal=carrier.principal,
        channel=Channel.SONATA,
        summary="Line down",
        description="Loss of light at the A end",
        impact=tickets.Impact.DOWN,
        product_id=product.id,
    )
    for state in (TicketState.IN_PROGRESS, TicketState.PENDING, TicketState.IN_PROGRESS):
        await tickets.change_state(
            session, principal=ops.principal, ticket_id=ticket.id, state=state
        )
    where = workforce.WorkOrderFilter(ticket_id=ticket.id)
    sent = (
        await session.exec(workforce.work_orders_query(principal=carrier.principal, where=where))
    ).all()
    assert [(w.reason, w.location_id, w.state) for w in sent] == [
        (workforce.WorkReason.REPAIR, product.a_location_id, WorkOrderState.OPEN)
    ]
    degraded = await tickets.open_ticket(
        session,
        principal=carrier.principal,
        channel=Channel.SONATA,
        summary="Slow",
        description="Latency",
        impact=tickets.Impact.DEGRADED,
        product_id=product.id,
    )
    await tickets.change_state(
        session, principal=ops.principal, ticket_id=degraded.id, state=TicketState.IN_PROGRESS
    )
    where = workforce.WorkOrderFilter(ticket_id=degraded.id)
    assert (
        await session.exec(workforce.work_orders_query(principal=carrier.principal, where=where))
    ).all() == []
