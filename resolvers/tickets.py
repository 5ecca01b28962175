"""Opening, annotating, closing and (for operations staff) moving trouble tickets."""

from app.core import tickets
from app.core.errors import CoreError
from app.core.events import Channel
from resolvers.context import Info
from resolvers.errors import node_id, user_errors
from resolvers.loaders import load_required
from schema.payloads import (
    AddTicketNoteInput,
    CloseTicketInput,
    MoveTicketInput,
    OpenTicketInput,
    TicketNotePayload,
    TicketPayload,
)
from schema.tickets import Ticket, TicketNote

_TICKET_FIELDS = {"id": "ticketId", "ticket_id": "ticketId", "product_id": "serviceId"}


async def open_ticket(info: Info, input: OpenTicketInput) -> TicketPayload:
    """Report a problem, usually about one of your services."""
    principal = info.context.caller()
    session = info.context.session
    try:
        ticket = await tickets.open_ticket(
            session,
            principal=principal,
            channel=Channel.GRAPHQL,
            summary=input.summary,
            description=input.description,
            severity=tickets.Severity(input.severity),
            priority=tickets.Priority(input.priority),
            ticket_type=tickets.TicketType(input.ticket_type),
            impact=tickets.Impact(input.impact) if input.impact else None,
            product_id=node_id(input.service_id, "Service", field="product_id")
            if input.service_id
            else None,
        )
    except CoreError as exc:
        await session.rollback()
        return TicketPayload(user_errors=user_errors(exc, rename=_TICKET_FIELDS))
    return TicketPayload(ticket=Ticket.from_row(ticket))


async def add_ticket_note(info: Info, input: AddTicketNoteInput) -> TicketNotePayload:
    """Add a note to one of your tickets."""
    principal = info.context.caller()
    session = info.context.session
    try:
        ticket_id = node_id(input.ticket_id, "Ticket", field="ticket_id")
        author = (await load_required(info.context.loaders.party_by_id, principal.party_id)).name
        note = await tickets.add_note(
            session, principal=principal, ticket_id=ticket_id, text=input.text, author=author
        )
        found = await tickets.get_ticket(session, principal=principal, ticket_id=ticket_id)
    except CoreError as exc:
        await session.rollback()
        return TicketNotePayload(user_errors=user_errors(exc, rename=_TICKET_FIELDS))
    return TicketNotePayload(ticket=Ticket.from_row(found.ticket), note=TicketNote.from_row(note))


async def close_ticket(info: Info, input: CloseTicketInput) -> TicketPayload:
    """Confirm that a resolved ticket is fixed."""
    principal = info.context.caller()
    session = info.context.session
    try:
        ticket = await tickets.close(
            session,
            principal=principal,
            ticket_id=node_id(input.ticket_id, "Ticket", field="ticket_id"),
        )
    except CoreError as exc:
        await session.rollback()
        return TicketPayload(user_errors=user_errors(exc, rename=_TICKET_FIELDS))
    return TicketPayload(ticket=Ticket.from_row(ticket))


async def move_ticket(info: Info, input: MoveTicketInput) -> TicketPayload:
    """Operations staff: move a ticket (acknowledge, work, resolve with a resolution)."""
    principal = info.context.ops()
    session = info.context.session
    try:
        ticket = await tickets.change_state(
            session,
            principal=principal,
            state=tickets.TicketState(input.state),
            ticket_id=node_id(input.ticket_id, "Ticket", field="ticket_id"),
            resolution=input.resolution,
        )
    except CoreError as exc:
        await session.rollback()
        return TicketPayload(user_errors=user_errors(exc, rename=_TICKET_FIELDS))
    return TicketPayload(ticket=Ticket.from_row(ticket))
