"""The product catalog and prices."""

from collections.abc import Iterable

import strawberry
from strawberry import relay

from app.core import catalog as core
from resolvers.context import Info
from resolvers.loaders import load_required
from schema.base import resolve_many
from schema.enums import ClassOfService, ProductKind


@strawberry.type(description="A product you can buy.")
class ProductOffering(relay.Node):
    offering_id: relay.NodeID[str]
    code: str = strawberry.field(description="Stable short name, e.g. 'ethernet-line'.")
    name: str
    kind: ProductKind
    description: str
    bandwidths_mbps: list[int] = strawberry.field(description="Speeds it is sold at.")
    classes_of_service: list[ClassOfService]
    min_term_months: int
    max_term_months: int

    @classmethod
    def from_row(cls, row: core.Offering) -> "ProductOffering":
        """The GraphQL view of an offering."""
        return cls(
            offering_id=row.id,
            code=row.id,
            name=row.name,
            kind=row.delivered_kind,
            description=row.description,
            bandwidths_mbps=list(row.bandwidths_mbps),
            classes_of_service=[core.ClassOfService(c) for c in row.classes_of_service],
            min_term_months=row.min_term_months,
            max_term_months=row.max_term_months,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list["ProductOffering | None"]:
        return await resolve_many(
            info.context.loaders.offering_by_id.load_many, node_ids, cls.from_row
        )


@strawberry.type(description="One line of a price's explanation.")
class PriceComponent:
    name: str
    monthly_recurring: str
    one_time: str


async def offering(info: Info, offering_id: str) -> ProductOffering:
    """An offering by id through the request's loader."""
    return ProductOffering.from_row(
        await load_required(info.context.loaders.offering_by_id, offering_id)
    )
