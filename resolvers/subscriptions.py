"""Subscriptions: your orders and tickets as they change."""

from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError

from app.core.errors import NotFound
from app.core.events import EntityKind
from resolvers.context import Info
from resolvers.errors import node_id
from resolvers.live import events_for
from schema.events import Event
from schema.ordering import Order
from schema.tickets import Ticket


def _wanted(value: strawberry.ID | None, type_name: str, *, field: str) -> str | None:
    """The core id a subscription is narrowed to, if any."""
    if not value:
        return None
    try:
        return node_id(value, type_name, field=field)
    except NotFound as exc:
        # Raised on purpose, so said as it is rather than masked as an unexpected error.
        raise GraphQLError(exc.message, extensions={"code": exc.code}) from exc


async def order_updates(
    info: Info, order_id: strawberry.ID | None = None
) -> AsyncGenerator[Order, None]:
    """Each change to one of your orders (or to the one named), as it happens."""
    principal = info.context.caller()
    wanted = _wanted(order_id, "Order", field="order_id")
    last: tuple[str, int] | None = None
    async for event in events_for(info.context.live):
        changed = (
            event.entity_id if event.entity == EntityKind.ORDER else event.data.get("order_id")
        )
        if event.entity not in {EntityKind.ORDER, EntityKind.ORDER_ITEM} or not principal.can_see(
            event.party_id
        ):
            continue
        if changed is None or (wanted is not None and changed != wanted):
            continue
        async with info.context.fresh():
            row = await info.context.loaders.order_by_id.load(changed)
            # One change writes an event for the order and one per item: send it once.
            if row is not None and (row.id, row.version) != last:
                last = (row.id, row.version)
                yield Order.from_row(row)


async def ticket_updates(
    info: Info, ticket_id: strawberry.ID | None = None
) -> AsyncGenerator[Ticket, None]:
    """Each change to one of your tickets (or to the one named), as it happens."""
    principal = info.context.caller()
    wanted = _wanted(ticket_id, "Ticket", field="ticket_id")
    async for event in events_for(info.context.live):
        if event.entity != EntityKind.TICKET or not principal.can_see(event.party_id):
            continue
        if wanted is not None and event.entity_id != wanted:
            continue
        async with info.context.fresh():
            row = await info.context.loaders.ticket_by_id.load(event.entity_id)
            if row is not None:
                yield Ticket.from_row(row)


async def ops_events(info: Info) -> AsyncGenerator[Event, None]:
    """Every party's order, quote, product, ticket and bill events as they happen (ops only)."""
    info.context.ops()
    async for event in events_for(info.context.live):
        yield Event.from_row(event)
