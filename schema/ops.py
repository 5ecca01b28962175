"""The operations dashboard: every party and channel, for operations staff only."""

import strawberry

from app.core import events, ordering, reporting, tickets
from resolvers.context import Info
from resolvers.pagination import connection_field, paginate
from resolvers.partners import list_partners
from schema.base import Connection, Money
from schema.enums import Channel, OrderState, TicketSeverity, TicketState
from schema.events import Delivery, Event
from schema.ordering import Order, order_connection
from schema.partners import Partner
from schema.tickets import Ticket


@strawberry.type
class OrderStateCount:
    state: OrderState
    count: int


@strawberry.type
class ChannelCount:
    channel: Channel
    count: int


@strawberry.type
class SeverityCount:
    severity: TicketSeverity
    count: int


@strawberry.type(description="Hours from order to completion over recent completed orders.")
class CycleTime:
    sample_size: int
    p50_hours: float | None
    p90_hours: float | None
    p99_hours: float | None


@strawberry.type(description="Figures and lists across every party; operations staff only.")
class Ops:
    @strawberry.field
    async def orders_by_state(self, info: Info) -> list[OrderStateCount]:
        counts = await reporting.orders_by_state(info.context.session, principal=info.context.ops())
        return [OrderStateCount(state=s, count=n) for s, n in counts.items()]

    @strawberry.field(description="Orders by the API they came through.")
    async def orders_by_channel(self, info: Info) -> list[ChannelCount]:
        counts = await reporting.orders_by_channel(
            info.context.session, principal=info.context.ops()
        )
        return [ChannelCount(channel=c, count=n) for c, n in counts.items()]

    @strawberry.field
    async def order_cycle_time(self, info: Info) -> CycleTime:
        found = await reporting.order_cycle_time(info.context.session, principal=info.context.ops())
        return CycleTime(
            sample_size=found.sample_size,
            p50_hours=found.p50_hours,
            p90_hours=found.p90_hours,
            p99_hours=found.p99_hours,
        )

    @strawberry.field
    async def open_tickets_by_severity(self, info: Info) -> list[SeverityCount]:
        counts = await reporting.open_tickets_by_severity(
            info.context.session, principal=info.context.ops()
        )
        return [SeverityCount(severity=s, count=n) for s, n in counts.items()]

    @strawberry.field(description="Monthly charges of every service in service.")
    async def monthly_recurring_revenue(self, info: Info) -> Money:
        total = await reporting.monthly_recurring_revenue_cents(
            info.context.session, principal=info.context.ops()
        )
        return Money.of(total)

    @strawberry.field(
        description="Partner carriers: health (success rate, latency, breaker) and the "
        "orders waiting on each."
    )
    async def partners(self, info: Info) -> list[Partner]:
        return await list_partners(info)

    recent_events: Connection[Event] = connection_field(
        Event,
        Event.from_row,
        lambda info: events.events_query(principal=info.context.ops()),
        description="The newest events of every party.",
    )

    failed_deliveries: Connection[Delivery] = connection_field(
        Delivery,
        Delivery.from_row,
        lambda info: events.failed_deliveries_query(principal=info.context.ops()),
        description="Deliveries parked after their last attempt, most recent first; "
        "`replayDelivery` queues one again.",
    )

    @strawberry.field(description="Orders of every party.")
    async def orders(
        self,
        info: Info,
        state: list[OrderState] | None = None,
        channel: Channel | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Order]:
        statement = ordering.orders_query(
            principal=info.context.ops(), states=set(state or []), channel=channel
        )
        return await order_connection(info, statement, first, after, last, before)

    @strawberry.field(description="Tickets of every party.")
    async def tickets(
        self,
        info: Info,
        state: list[TicketState] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Ticket]:
        statement = tickets.tickets_query(principal=info.context.ops(), states=set(state or []))
        return await paginate(info, statement, Ticket.from_row, first, after, last, before)
