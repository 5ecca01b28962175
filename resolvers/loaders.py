"""Per-request dataloaders: every relation of the GraphQL schema is loaded in batches."""

import asyncio
from asyncio import Future
from collections.abc import Iterable
from functools import cached_property
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import billing, catalog, geography, inventory, ordering, quoting, tickets, workforce
from app.core.parties import (
    Audience,
    Party,
    Principal,
    children_scoped,
    get_many_scoped,
    list_parties,
)

Key = TypeVar("Key")
Row = TypeVar("Row", bound=SQLModel)
T = TypeVar("T")


class Loader(DataLoader[Key, T]):
    """A dataloader whose cache of futures by key is its own `loaded` dict."""

    def __init__(self) -> None:
        self.loaded: dict[Key, Future[T]] = {}
        super().__init__(cache_map=self.loaded)


def load_now(loader: Loader[Key, T], key: Key) -> T | Future[T]:
    """The loader's value for `key`, at once when a batch has already read it, else its
    future: graphql-core completes a plain value in place, an awaitable only in a task."""
    # Read straight from the loader's cache first: a page's fields ask for the same few
    # loaded keys hundreds of times.
    future = loader.loaded.get(key)
    if future is None:
        future = loader.load(key)
    if future.done() and not future.cancelled() and future.exception() is None:
        return future.result()
    return future


async def load_all(loader: Loader[Key, T], keys: Iterable[Key]) -> list[T]:
    """The loader's values for `keys`, in one batch for those not loaded yet: keys that a
    batch (or `prime`) already loaded cost no turn of the event loop, unlike `load_many`, and
    the others no future and callback each until their batch has answered."""
    keys = list(keys)
    loaded = loader.loaded
    missing = [key for key in dict.fromkeys(keys) if key not in loaded]
    if missing:
        values = await loader.batch_load_fn(missing)
        for key, value in zip(missing, values, strict=True):
            loader.prime(key, value)  # unless a load of its own came meanwhile
    futures = [loaded[key] for key in keys]
    waiting = [future for future in futures if not future.done()]
    if waiting:
        await asyncio.gather(*waiting)
    return [future.result() for future in futures]


def required(row: T | None, key: str) -> T:
    """A row that a foreign key guarantees exists (a miss is a server fault, not a 404)."""
    if row is None:
        raise LookupError(f"'{key}' is referenced but missing")
    return row


async def load_required(loader: DataLoader[str, T | None], key: str) -> T:
    """A row that a foreign key guarantees exists, through a loader."""
    return required(await loader.load(key), key)


class _ByIdLoader(Loader[str, Row | None], Generic[Row]):
    """Rows of one model by id, scoped to the caller; invisible ids load as None."""

    model: type[Row]

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        super().__init__()
        self.session = session
        self.principal = principal

    async def batch_load_fn(self, ids: list[str]) -> list[Row | None]:
        found = await get_many_scoped(self.session, self.model, ids, self.principal)
        return [found.get(i) for i in ids]


class _ChildrenLoader(Loader[str, list[Row]], Generic[Row]):
    """Rows of one model grouped by a parent id, scoped to the caller."""

    model: type[Row]
    parent_field: str
    order_by: str = "id"

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        super().__init__()
        self.session = session
        self.principal = principal

    async def batch_load_fn(self, parent_ids: list[str]) -> list[list[Row]]:
        grouped = await children_scoped(
            self.session,
            self.model,
            self.parent_field,
            parent_ids,
            self.principal,
            order_by=self.order_by,
        )
        return [grouped.get(p, []) for p in parent_ids]


class OrderByIdLoader(_ByIdLoader[ordering.Order]):
    model = ordering.Order


class OrderItemsByOrderIdLoader(_ChildrenLoader[ordering.OrderItem]):
    model = ordering.OrderItem
    parent_field = "order_id"
    order_by = "position"


class SiteByIdLoader(_ByIdLoader[geography.Site]):
    model = geography.Site


class ProductByIdLoader(_ByIdLoader[inventory.ProductInstance]):
    model = inventory.ProductInstance


class QuoteByIdLoader(_ByIdLoader[quoting.Quote]):
    model = quoting.Quote


class QuoteItemsByQuoteIdLoader(_ChildrenLoader[quoting.QuoteItem]):
    model = quoting.QuoteItem
    parent_field = "quote_id"
    order_by = "position"


class TicketByIdLoader(_ByIdLoader[tickets.Ticket]):
    model = tickets.Ticket


class TicketNotesByTicketIdLoader(_ChildrenLoader[tickets.TicketNote]):
    model = tickets.TicketNote
    parent_field = "ticket_id"
    order_by = "created_at"


class BillByIdLoader(_ByIdLoader[billing.Bill]):
    model = billing.Bill


class AppliedRatesByBillIdLoader(_ChildrenLoader[billing.AppliedRate]):
    model = billing.AppliedRate
    parent_field = "bill_id"


class AppointmentsByWorkOrderIdLoader(_ChildrenLoader[workforce.Appointment]):
    model = workforce.Appointment
    parent_field = "work_order_id"
    order_by = "starts_at"


class LocationByIdLoader(Loader[str, geography.Location | None]):
    """Address-book locations by id (public reference data)."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session

    async def batch_load_fn(self, ids: list[str]) -> list[geography.Location | None]:
        found = await geography.get_locations(self.session, list(ids))
        return [found.get(i) for i in ids]


class ServiceabilityByLocationIdLoader(Loader[str, geography.ServiceabilityResult | None]):
    """Serviceability of address-book locations, all measured against one read of the network."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session

    async def batch_load_fn(self, ids: list[str]) -> list[geography.ServiceabilityResult | None]:
        found = await geography.get_locations(self.session, list(ids))
        measured = await geography.serviceability_of(self.session, list(found.values()))
        return [measured.get(i) for i in ids]


class OfferingByIdLoader(Loader[str, catalog.Offering | None]):
    """Catalog offerings by id, retired ones included (inventory still refers to them)."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session

    def load(self, key: str) -> "Future[catalog.Offering | None]":
        # A kept catalog answers at once, without a batch (a turn of the event loop) for it.
        kept = catalog.kept_offerings(self.session)
        if kept is not None and key in kept:
            self.prime(key, kept[key])
        return super().load(key)

    async def batch_load_fn(self, ids: list[str]) -> list[catalog.Offering | None]:
        by_id = await catalog.offerings_by_id(self.session, ids)
        return [by_id.get(i) for i in ids]


class PartyByIdLoader(Loader[str, Party | None]):
    """Parties the caller is, acts for, or (ops) any party."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        super().__init__()
        self.session = session
        self.principal = principal

    async def batch_load_fn(self, ids: list[str]) -> list[Party | None]:
        visible = {p.id: p for p in await list_parties(self.session, principal=self.principal)}
        return [visible.get(i) for i in ids]


# Anonymous requests get loaders scoped to no party: they see public data only.
ANONYMOUS = Principal(party_id="", audience=Audience.DEVELOPER, scopes=frozenset())


class Loaders:
    """The loaders of one request, each made when first asked for: a request asks for a few of
    them, and making all fifteen cost a GraphQL read by id about 2% of its CPU."""

    def __init__(self, session: AsyncSession, principal: Principal | None) -> None:
        self.session = session
        self.caller = principal or ANONYMOUS
        # GraphQL views of rows, by the view's maker and the row's key: see
        # `schema.ordering.shared_view`.
        self.views: dict[tuple[object, str], tuple[Any]] = {}

    @cached_property
    def location_by_id(self) -> LocationByIdLoader:
        return LocationByIdLoader(self.session)

    @cached_property
    def serviceability_by_location_id(self) -> ServiceabilityByLocationIdLoader:
        return ServiceabilityByLocationIdLoader(self.session)

    @cached_property
    def offering_by_id(self) -> OfferingByIdLoader:
        return OfferingByIdLoader(self.session)

    @cached_property
    def party_by_id(self) -> PartyByIdLoader:
        return PartyByIdLoader(self.session, self.caller)

    @cached_property
    def order_by_id(self) -> OrderByIdLoader:
        return OrderByIdLoader(self.session, self.caller)

    @cached_property
    def items_by_order_id(self) -> OrderItemsByOrderIdLoader:
        return OrderItemsByOrderIdLoader(self.session, self.caller)

    @cached_property
    def site_by_id(self) -> SiteByIdLoader:
        return SiteByIdLoader(self.session, self.caller)

    @cached_property
    def product_by_id(self) -> ProductByIdLoader:
        return ProductByIdLoader(self.session, self.caller)

    @cached_property
    def quote_by_id(self) -> QuoteByIdLoader:
        return QuoteByIdLoader(self.session, self.caller)

    @cached_property
    def items_by_quote_id(self) -> QuoteItemsByQuoteIdLoader:
        return QuoteItemsByQuoteIdLoader(self.session, self.caller)

    @cached_property
    def ticket_by_id(self) -> TicketByIdLoader:
        return TicketByIdLoader(self.session, self.caller)

    @cached_property
    def notes_by_ticket_id(self) -> TicketNotesByTicketIdLoader:
        return TicketNotesByTicketIdLoader(self.session, self.caller)

    @cached_property
    def bill_by_id(self) -> BillByIdLoader:
        return BillByIdLoader(self.session, self.caller)

    @cached_property
    def rates_by_bill_id(self) -> AppliedRatesByBillIdLoader:
        return AppliedRatesByBillIdLoader(self.session, self.caller)

    @cached_property
    def appointments_by_work_order_id(self) -> AppointmentsByWorkOrderIdLoader:
        return AppointmentsByWorkOrderIdLoader(self.session, self.caller)

    async def read_orders(self, order_ids: list[str], *, with_sites: bool) -> None:
        """Read orders with their items (and, `with_sites`, the items' sites) in one statement
        into the loaders, which then answer for them, and for the ids not found, at once."""
        read = await ordering.read_orders(
            self.session, principal=self.caller, order_ids=order_ids, with_sites=with_sites
        )
        found = {r.order.id: r for r in read.orders}
        for order_id in order_ids:
            got = found.get(order_id)
            self.order_by_id.prime(order_id, got.order if got is not None else None)
            if got is not None:
                self.items_by_order_id.prime(order_id, got.items)
        if with_sites:
            ends = {i.a_site_id for r in read.orders for i in r.items}
            ends |= {i.z_site_id for r in read.orders for i in r.items if i.z_site_id is not None}
            for site_id in ends:
                self.site_by_id.prime(site_id, read.sites.get(site_id))
