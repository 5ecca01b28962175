"""Site visits of our field crews and the appointments booked for them."""

from datetime import datetime

import strawberry

from app.core import workforce as core
from resolvers.context import Info
from schema.enums import AppointmentState, WorkOrderState, WorkReason


@strawberry.type(description="A window in which our crew visits for a work order.")
class Appointment:
    id: strawberry.ID
    state: AppointmentState
    starts_at: datetime
    ends_at: datetime
    contact_name: str

    @classmethod
    def from_row(cls, row: core.Appointment) -> "Appointment":
        """The GraphQL view of an appointment."""
        return cls(
            id=strawberry.ID(row.id),
            state=row.state,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            contact_name=row.contact_name,
        )


@strawberry.type(description="A visit of our field crew to one of your places.")
class WorkOrder:
    id: strawberry.ID
    reason: WorkReason
    state: WorkOrderState
    task: str
    appointment_required: bool
    planned_at: datetime | None
    order_item_id: strawberry.ID | None
    ticket_id: strawberry.ID | None

    @classmethod
    def from_row(cls, row: core.WorkOrder) -> "WorkOrder":
        """The GraphQL view of a work order."""
        return cls(
            id=strawberry.ID(row.id),
            reason=row.reason,
            state=row.state,
            task=row.task,
            appointment_required=row.appointment_required,
            planned_at=row.planned_at,
            order_item_id=strawberry.ID(row.order_item_id) if row.order_item_id else None,
            ticket_id=strawberry.ID(row.ticket_id) if row.ticket_id else None,
        )

    @strawberry.field(description="Its appointments, soonest first, cancelled ones included.")
    async def appointments(self, info: Info) -> list[Appointment]:
        rows = await info.context.loaders.appointments_by_work_order_id.load(str(self.id))
        return [Appointment.from_row(r) for r in rows]
