"""Quotes and their items."""

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core import catalog
from app.core import quoting as core
from resolvers.context import Info
from resolvers.loaders import load_required
from schema.base import Price, resolve_many
from schema.catalog import ProductOffering, offering
from schema.enums import ClassOfService, Confidence, QuoteItemState, QuoteKind, QuoteState
from schema.geography import Location


@strawberry.type(description="One priced product of a quote.")
class QuoteItem:
    id: strawberry.ID
    position: int
    state: QuoteItemState
    bandwidth_mbps: int
    term_months: int
    class_of_service: ClassOfService
    confidence: Confidence = strawberry.field(description="How sure we are it can be delivered.")
    lead_time_days: int
    price: Price
    row: strawberry.Private[core.QuoteItem]

    @classmethod
    def from_row(cls, row: core.QuoteItem) -> "QuoteItem":
        """The GraphQL view of a quote item."""
        return cls(
            id=strawberry.ID(row.id),
            position=row.position,
            state=row.state,
            bandwidth_mbps=row.bandwidth_mbps,
            term_months=row.term_months,
            class_of_service=catalog.ClassOfService(row.class_of_service),
            confidence=row.confidence,
            lead_time_days=row.lead_time_days,
            price=Price.of(row.monthly_cents, row.one_time_cents),
            row=row,
        )

    @strawberry.field
    async def product(self, info: Info) -> ProductOffering:
        return await offering(info, self.row.offering_id)

    @strawberry.field
    async def a_end(self, info: Info) -> Location:
        return Location.from_row(
            await load_required(info.context.loaders.location_by_id, self.row.a_location_id)
        )

    @strawberry.field
    async def z_end(self, info: Info) -> Location | None:
        if self.row.z_location_id is None:
            return None
        return Location.from_row(
            await load_required(info.context.loaders.location_by_id, self.row.z_location_id)
        )


@strawberry.type(description="A priced answer to a request; a firm quote can be ordered.")
class Quote(relay.Node):
    quote_id: relay.NodeID[str]
    kind: QuoteKind
    state: QuoteState
    external_id: str | None
    price: Price
    created_at: datetime
    answered_at: datetime | None
    valid_until: datetime | None
    state_reason: str | None = strawberry.field(
        description="Why the seller put the quote in its state, e.g. what a rejected one lacked."
    )

    @classmethod
    def from_row(cls, row: core.Quote) -> "Quote":
        """The GraphQL view of a quote."""
        return cls(
            quote_id=row.id,
            kind=row.kind,
            state=row.state,
            external_id=row.external_id,
            price=Price.of(row.monthly_cents, row.one_time_cents, row.currency),
            created_at=row.created_at,
            answered_at=row.answered_at,
            valid_until=row.valid_until,
            state_reason=row.state_reason,
        )

    @strawberry.field
    async def items(self, info: Info) -> list[QuoteItem]:
        rows = await info.context.loaders.items_by_quote_id.load(self.quote_id)
        return [QuoteItem.from_row(r) for r in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Quote | None"]:
        return await resolve_many(
            info.context.loaders.quote_by_id.load_many, node_ids, cls.from_row
        )
