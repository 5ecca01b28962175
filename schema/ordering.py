"""Orders and their items."""

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from graphql import OperationType
from sqlmodel.sql.expression import SelectOfScalar
from strawberry import relay
from strawberry.types.nodes import Selection
from strawberry.utils.await_maybe import AwaitableOrValue

from app.core import catalog
from app.core import ordering as core
from resolvers.context import Info
from resolvers.loaders import Loader, load_all, load_now, required
from resolvers.pagination import paginate
from resolvers.selections import below, connection_nodes, fields_of
from schema.base import Connection, Price, optional, resolve_many, then
from schema.catalog import ProductOffering
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

Row = TypeVar("Row")
View = TypeVar("View")


def shared_view(
    info: Info,
    loader: Loader[str, Row | None],
    key: str,
    convert: Callable[[Row], View],
    *,
    must_exist: bool = False,
) -> AwaitableOrValue[View | None]:
    """The view of the row that `loader` has for `key` (None for none), made once per key in a
    query: an offering that a page's hundred items share is one view, found by one lookup. A
    mutation may change a row between its fields, so it makes the view each time."""
    query = info.operation.operation is OperationType.QUERY
    views = info.context.loaders.views
    if query and (made := views.get((convert, key))) is not None:
        view: View | None = made[0]
        return view

    def view_of(row: "Row | None") -> "View | None":
        if must_exist:
            row = required(row, key)
        made = None if row is None else convert(row)
        if query:
            views[(convert, key)] = (made,)
        return made

    return then(load_now(loader, key), view_of)


_ITEM_VALUES = frozenset(
    {
        "id",
        "position",
        "action",
        "state",
        "bandwidth_mbps",
        "term_months",
        "class_of_service",
        "serviceability",
        "monthly_cents",
        "one_time_cents",
        "requested_completion_at",
        "expected_completion_at",
        "completed_at",
    }
)
_ORDER_VALUES = frozenset(
    {
        "id",
        "state",
        "channel",
        "external_id",
        "description",
        "monthly_cents",
        "one_time_cents",
        "currency",
        "created_at",
        "updated_at",
        "completed_at",
        "requested_completion_at",
        "expected_completion_at",
        "cancellation_reason",
        "state_reason",
    }
)


def loaded(row: Any, names: frozenset[str]) -> dict[str, Any]:
    """The values of a row's `names`: the row's own loaded values where it holds them all."""
    values: dict[str, Any] = row.__dict__
    if names <= values.keys():
        return values
    return {name: getattr(row, name) for name in names}


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
        values = loaded(row, _ITEM_VALUES)
        return cls(
            id=strawberry.ID(values["id"]),
            position=values["position"],
            action=values["action"],
            state=values["state"],
            bandwidth_mbps=values["bandwidth_mbps"],
            term_months=values["term_months"],
            class_of_service=catalog.ClassOfService(values["class_of_service"]),
            serviceability=values["serviceability"],
            price=Price.of(values["monthly_cents"], values["one_time_cents"]),
            requested_completion_at=values["requested_completion_at"],
            expected_completion_at=values["expected_completion_at"],
            completed_at=values["completed_at"],
            row=row,
        )

    # The relations below answer at once when `read_ahead` (or an earlier field) has loaded
    # them, and through their loader otherwise: a page's items then cost no task each.
    @strawberry.field(graphql_type=ProductOffering)
    def product(self, info: Info) -> AwaitableOrValue[ProductOffering]:
        key = self.row.offering_id
        loader = info.context.loaders.offering_by_id
        return shared_view(  # type: ignore[return-value]  # never None: it must exist
            info, loader, key, ProductOffering.from_row, must_exist=True
        )

    @strawberry.field(
        graphql_type=Site | None,
        description="The site of the A end (the only end of single-site products).",
    )
    def a_end(self, info: Info) -> AwaitableOrValue[Site | None]:
        return shared_view(info, info.context.loaders.site_by_id, self.row.a_site_id, Site.from_row)

    @strawberry.field(
        graphql_type=Site | None,
        description="The site of the Z end, for point-to-point products.",
    )
    def z_end(self, info: Info) -> AwaitableOrValue[Site | None]:
        if self.row.z_site_id is None:
            return None
        return shared_view(info, info.context.loaders.site_by_id, self.row.z_site_id, Site.from_row)

    @strawberry.field(
        graphql_type=Service | None,
        description="The service this item delivered or changes, once it exists.",
    )
    def service(self, info: Info) -> AwaitableOrValue[Service | None]:
        if self.row.product_id is None:
            return None
        found = load_now(info.context.loaders.product_by_id, self.row.product_id)
        return then(found, lambda row: optional(row, Service.from_row))


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
        values = loaded(row, _ORDER_VALUES)
        return cls(
            order_id=values["id"],
            state=values["state"],
            channel=values["channel"],
            external_id=values["external_id"],
            description=values["description"],
            price=Price.of(values["monthly_cents"], values["one_time_cents"], values["currency"]),
            created_at=values["created_at"],
            updated_at=values["updated_at"],
            completed_at=values["completed_at"],
            requested_completion_at=values["requested_completion_at"],
            expected_completion_at=values["expected_completion_at"],
            cancellation_reason=values["cancellation_reason"],
            state_reason=values["state_reason"],
            row=row,
        )

    @strawberry.field(graphql_type=list[OrderItem])
    def items(self, info: Info) -> AwaitableOrValue[list[OrderItem]]:
        found = load_now(info.context.loaders.items_by_order_id, self.order_id)
        return then(found, lambda rows: [OrderItem.from_row(row) for row in rows])

    @strawberry.field(
        graphql_type=Quote | None, description="The quote the order was placed against, if any."
    )
    def quote(self, info: Info) -> AwaitableOrValue[Quote | None]:
        if self.row.quote_id is None:
            return None
        found = load_now(info.context.loaders.quote_by_id, self.row.quote_id)
        return then(found, lambda row: optional(row, Quote.from_row))

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Order | None"]:
        ids = list(node_ids)
        loaders = info.context.loaders
        selections = below(info.selected_fields)
        asked = fields_of(selections, on=("Order", "Node"))
        if "items" in asked:
            # Asked as `node` for its items: the order, its items and (when asked) their sites
            # in one statement, where the loaders would take three.
            ends = fields_of(below(asked["items"])).keys() & {"aEnd", "zEnd"}
            await loaders.read_orders(ids, with_sites=bool(ends))
        orders = await resolve_many(
            functools.partial(load_all, loaders.order_by_id), ids, cls.from_row
        )
        # What else the query selects of the order is read ahead too.
        await read_ahead(info, [o for o in orders if o is not None], selections)
        return orders


async def read_ahead(info: Info, orders: list[Order], selections: list[Selection]) -> None:
    """Load, one batch per relation, what `selections` ask of these orders' items and quotes,
    before execution reaches them: those fields then resolve to plain values."""
    if not orders:
        return
    loaders = info.context.loaders
    asked = fields_of(selections, on=("Order", "Node"))
    if "quote" in asked:
        await load_all(
            loaders.quote_by_id, {o.row.quote_id for o in orders if o.row.quote_id is not None}
        )
    if "items" not in asked:
        return
    groups = await load_all(loaders.items_by_order_id, [o.order_id for o in orders])
    items = [row for group in groups for row in group]
    asked = fields_of(below(asked["items"]))
    if "product" in asked:
        await load_all(loaders.offering_by_id, {row.offering_id for row in items})
    sites: set[str] = set()
    if "aEnd" in asked:
        sites |= {row.a_site_id for row in items}
    if "zEnd" in asked:
        sites |= {row.z_site_id for row in items if row.z_site_id is not None}
    if sites:
        await load_all(loaders.site_by_id, sites)
    if "service" in asked:
        await load_all(
            loaders.product_by_id, {row.product_id for row in items if row.product_id is not None}
        )


async def order_connection(
    info: Info,
    statement: SelectOfScalar[core.Order],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[Order]:
    """A page of orders, with what the query selects of them read ahead."""
    page = await paginate(info, statement, Order.from_row, first, after, last, before)
    nodes = connection_nodes(info.selected_fields)
    await read_ahead(info, [edge.node for edge in page.edges], nodes)
    return page
