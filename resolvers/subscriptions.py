"""Subscriptions: your orders and tickets as they change."""

from collections.abc import AsyncGenerator

import strawberry

from resolvers.context import Info
from resolvers.errors import node_id
from resolvers.live import events_for
from schema.ordering import Order
from schema.tickets import Ticket


async def order_updates(
    info: Info, order_id: strawberry.ID | None = None
) -> AsyncGenerator[Order, None]:
    """Each change to one of your orders (or to the one named), as it happens."""
    principal = info.context.caller()
    wanted = node_id(order_id, "Order", field="order_id") if order_id else None
    async for event in events_for(info.context.live):
        changed = event.entity_id if event.entity == "order" else event.data.get("order_id")
        if event.entity not in {"order", "order_item"} or not principal.can_see(event.party_id):
            continue
        if changed is None or (wanted is not None and changed != wanted):
            continue
        await info.context.refresh()
        row = await info.context.loaders.order_by_id.load(changed)
        if row is not None:
            yield Order.from_row(row)


async def ticket_updates(
    info: Info, ticket_id: strawberry.ID | None = None
) -> AsyncGenerator[Ticket, None]:
    """Each change to one of your tickets (or to the one named), as it happens."""
    principal = info.context.caller()
    wanted = node_id(ticket_id, "Ticket", field="ticket_id") if ticket_id else None
    async for event in events_for(info.context.live):
        if event.entity != "ticket" or not principal.can_see(event.party_id):
            continue
        if wanted is not None and event.entity_id != wanted:
            continue
        await info.context.refresh()
        row = await info.context.loaders.ticket_by_id.load(event.entity_id)
        if row is not None:
            yield Ticket.from_row(row)
