"""Trouble tickets and their notes."""

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core import tickets as core
from resolvers.context import Info
from schema.base import optional, resolve_many
from schema.enums import (
    Channel,
    TicketImpact,
    TicketPriority,
    TicketSeverity,
    TicketState,
    TicketType,
)
from schema.inventory import Service


@strawberry.type(description="A note on a ticket, by you or by our operations staff.")
class TicketNote:
    id: strawberry.ID
    author: str
    text: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: core.TicketNote) -> "TicketNote":
        """The GraphQL view of a note."""
        return cls(
            id=strawberry.ID(row.id), author=row.author, text=row.text, created_at=row.created_at
        )


@strawberry.type(description="A reported problem or request about one of your services.")
class Ticket(relay.Node):
    ticket_id: relay.NodeID[str]
    state: TicketState
    ticket_type: TicketType
    severity: TicketSeverity
    priority: TicketPriority
    impact: TicketImpact | None
    summary: str
    description: str
    resolution: str | None
    channel: Channel
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    product_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: core.Ticket) -> "Ticket":
        """The GraphQL view of a ticket."""
        return cls(
            ticket_id=row.id,
            state=row.state,
            ticket_type=row.ticket_type,
            severity=row.severity,
            priority=row.priority,
            impact=row.impact,
            summary=row.summary,
            description=row.description,
            resolution=row.resolution,
            channel=row.channel,
            created_at=row.created_at,
            updated_at=row.updated_at,
            resolved_at=row.resolved_at,
            closed_at=row.closed_at,
            product_id=row.product_id,
        )

    @strawberry.field
    async def service(self, info: Info) -> Service | None:
        if self.product_id is None:
            return None
        return optional(
            await info.context.loaders.product_by_id.load(self.product_id), Service.from_row
        )

    @strawberry.field
    async def notes(self, info: Info) -> list[TicketNote]:
        rows = await info.context.loaders.notes_by_ticket_id.load(self.ticket_id)
        return [TicketNote.from_row(r) for r in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Ticket | None"]:
        return await resolve_many(
            info.context.loaders.ticket_by_id.load_many, node_ids, cls.from_row
        )
