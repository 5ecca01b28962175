"""Services: the products you have."""

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core import catalog
from app.core import inventory as core
from resolvers.context import Info
from schema.base import Price, optional, resolve_many
from schema.catalog import ProductOffering, offering
from schema.enums import ClassOfService, ServiceState
from schema.geography import Site


@strawberry.type(description="A delivered product: a connection, a port or Internet access.")
class Service(relay.Node):
    service_id: relay.NodeID[str]
    name: str
    state: ServiceState
    bandwidth_mbps: int
    term_months: int
    class_of_service: ClassOfService
    price: Price
    created_at: datetime
    activated_at: datetime | None
    terminated_at: datetime | None
    row: strawberry.Private[core.ProductInstance]

    @classmethod
    def from_row(cls, row: core.ProductInstance) -> "Service":
        """The GraphQL view of a product instance."""
        return cls(
            service_id=row.id,
            name=row.name,
            state=row.state,
            bandwidth_mbps=row.bandwidth_mbps,
            term_months=row.term_months,
            class_of_service=catalog.ClassOfService(row.class_of_service),
            price=Price.of(row.monthly_cents, row.one_time_cents, row.currency),
            created_at=row.created_at,
            activated_at=row.activated_at,
            terminated_at=row.terminated_at,
            row=row,
        )

    @strawberry.field
    async def product(self, info: Info) -> ProductOffering:
        return await offering(info, self.row.offering_id)

    @strawberry.field
    async def a_end(self, info: Info) -> Site | None:
        return optional(
            await info.context.loaders.site_by_id.load(self.row.a_site_id), Site.from_row
        )

    @strawberry.field
    async def z_end(self, info: Info) -> Site | None:
        if self.row.z_site_id is None:
            return None
        return optional(
            await info.context.loaders.site_by_id.load(self.row.z_site_id), Site.from_row
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Service | None"]:
        return await resolve_many(
            info.context.loaders.product_by_id.load_many, node_ids, cls.from_row
        )
