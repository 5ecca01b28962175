"""Orders and their items."""

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core import catalog
from app.core import ordering as core
from resolvers.context import Info
from schema.base import Price, optional, resolve_many
from schema.catalog import ProductOffering, offering
from schema.enums import (
    Channel,
    ClassOfService,
    OrderItemAction,
    OrderItemState,
    OrderState,
    Serviceability,
)
from schema.geography import Site
from schema.inventory import Service
from schema.quoting import Quote


@strawberry.type(description="One product of an order: what it adds, changes or disconnects.")
class OrderItem:
    id: strawberry.ID
    position: int
    action: OrderItemAction
    state: OrderItemState
    bandwidth_mbps: int
    term_months: int
    class_of_service: ClassOfService
    serviceability: Serviceability
    price: Price
    requested_completion_at: datetime | None
    expected_completion_at: datetime | None
    completed_at: datetime | None
    row: strawberry.Private[core.OrderItem]

    @classmethod
    def from_row(cls, row: core.OrderItem) -> "OrderItem":
        """The GraphQL view of an order item."""
        return cls(
            id=strawberry.ID(row.id),
            position=row.position,
            action=row.action,
            state=row.state,
            bandwidth_mbps=row.bandwidth_mbps,
            term_months=row.term_months,
            class_of_service=catalog.ClassOfService(row.class_of_service),
            serviceability=row.serviceability,
            price=Price.of(row.monthly_cents, row.one_time_cents),
            requested_completion_at=row.requested_completion_at,
            expected_completion_at=row.expected_completion_at,
            completed_at=row.completed_at,
            row=row,
        )

    @strawberry.field
    async def product(self, info: Info) -> ProductOffering:
        return await offering(info, self.row.offering_id)

    @strawberry.field(description="The site of the A end (the only end of single-site products).")
    async def a_end(self, info: Info) -> Site | None:
        return optional(
            await info.context.loaders.site_by_id.load(self.row.a_site_id), Site.from_row
        )

    @strawberry.field(description="The site of the Z end, for point-to-point products.")
    async def z_end(self, info: Info) -> Site | None:
        if self.row.z_site_id is None:
            return None
        return optional(
            await info.context.loaders.site_by_id.load(self.row.z_site_id), Site.from_row
        )

    @strawberry.field(description="The service this item delivered or changes, once it exists.")
    async def service(self, info: Info) -> Service | None:
        if self.row.product_id is None:
            return None
        return optional(
            await info.context.loaders.product_by_id.load(self.row.product_id), Service.from_row
        )


@strawberry.type(description="An order, whichever API it was placed through.")
class Order(relay.Node):
    order_id: relay.NodeID[str]
    state: OrderState
    channel: Channel = strawberry.field(description="The API the order came through.")
    external_id: str | None = strawberry.field(description="Your own reference.")
    description: str | None
    price: Price
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    requested_completion_at: datetime | None
    expected_completion_at: datetime | None
    cancellation_reason: str | None
    state_reason: str | None = strawberry.field(
        description="Why the order is in its state: the partner access it waits for, or why "
        "it failed."
    )
    row: strawberry.Private[core.Order]

    @classmethod
    def from_row(cls, row: core.Order) -> "Order":
        """The GraphQL view of an order."""
        return cls(
            order_id=row.id,
            state=row.state,
            channel=row.channel,
            external_id=row.external_id,
            description=row.description,
            price=Price.of(row.monthly_cents, row.one_time_cents, row.currency),
            created_at=row.created_at,
            updated_at=row.updated_at,
            completed_at=row.completed_at,
            requested_completion_at=row.requested_completion_at,
            expected_completion_at=row.expected_completion_at,
            cancellation_reason=row.cancellation_reason,
            state_reason=row.state_reason,
            row=row,
        )

    @strawberry.field
    async def items(self, info: Info) -> list[OrderItem]:
        rows = await info.context.loaders.items_by_order_id.load(self.order_id)
        return [OrderItem.from_row(r) for r in rows]

    @strawberry.field(description="The quote the order was placed against, if any.")
    async def quote(self, info: Info) -> Quote | None:
        if self.row.quote_id is None:
            return None
        return optional(
            await info.context.loaders.quote_by_id.load(self.row.quote_id), Quote.from_row
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Order | None"]:
        return await resolve_many(
            info.context.loaders.order_by_id.load_many, node_ids, cls.from_row
        )
