"""Inventory: the product instances a party has, from delivery to termination."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, and_, func, or_
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import clock, events
from app.core.catalog import ClassOfService, ProductSpec
from app.core.db import StrEnumType, UTCDateTime, commit, new_id, version_column
from app.core.errors import IllegalTransition
from app.core.events import EntityKind, EventKind
from app.core.paging import Condition, Page, Within, compared, fetch_page, where
from app.core.parties import Principal, get_scoped, scoped


class ProductState(StrEnum):
    """Lifecycle of a product instance."""

    PENDING_ACTIVE = "pending_active"
    ACTIVE = "active"
    ACTIVE_PENDING_CHANGE = "active_pending_change"
    PENDING_TERMINATE = "pending_terminate"
    SUSPENDED = "suspended"
    SUSPENDED_PENDING_TERMINATE = "suspended_pending_terminate"
    TERMINATED = "terminated"
    CANCELLED = "cancelled"


# States in which a product is delivered and billed.
IN_SERVICE = {
    ProductState.ACTIVE,
    ProductState.ACTIVE_PENDING_CHANGE,
    ProductState.PENDING_TERMINATE,
    ProductState.SUSPENDED,
    ProductState.SUSPENDED_PENDING_TERMINATE,
}

_TRANSITIONS: dict[ProductState, set[ProductState]] = {
    ProductState.PENDING_ACTIVE: {ProductState.ACTIVE, ProductState.CANCELLED},
    ProductState.ACTIVE: {
        ProductState.ACTIVE_PENDING_CHANGE,
        ProductState.PENDING_TERMINATE,
        ProductState.SUSPENDED,
        ProductState.TERMINATED,
    },
    ProductState.ACTIVE_PENDING_CHANGE: {ProductState.ACTIVE},
    ProductState.PENDING_TERMINATE: {ProductState.TERMINATED, ProductState.ACTIVE},
    ProductState.SUSPENDED: {ProductState.ACTIVE, ProductState.SUSPENDED_PENDING_TERMINATE},
    ProductState.SUSPENDED_PENDING_TERMINATE: {ProductState.TERMINATED, ProductState.SUSPENDED},
    ProductState.TERMINATED: set(),
    ProductState.CANCELLED: set(),
}


_PRODUCT_INSTANCE_VERSION = version_column()


class ProductInstance(SQLModel, table=True):
    """A delivered product: what the party has, where, at what speed and price."""

    id: str = Field(default_factory=lambda: new_id("prd"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    name: str = Field(max_length=200)
    offering_id: str = Field(foreign_key="offering.id", max_length=40)
    state: ProductState = Field(sa_type=StrEnumType(ProductState, 32), index=True)
    a_location_id: str = Field(foreign_key="location.id", max_length=40)
    z_location_id: str | None = Field(default=None, foreign_key="location.id", max_length=40)
    a_site_id: str = Field(foreign_key="site.id", max_length=40)
    z_site_id: str | None = Field(default=None, foreign_key="site.id", max_length=40)
    bandwidth_mbps: int
    term_months: int
    class_of_service: str = Field(max_length=20)
    monthly_cents: int
    one_time_cents: int
    currency: str = Field(default="USD", max_length=3)
    billing_account_id: str = Field(foreign_key="billingaccount.id", index=True, max_length=40)
    order_id: str = Field(foreign_key="productorder.id", max_length=40)
    # The buyer's product configuration from the order, as given (opaque to the core).
    configuration: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    terminated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_PRODUCT_INSTANCE_VERSION)

    __mapper_args__ = {"version_id_col": _PRODUCT_INSTANCE_VERSION}

    def spec(self) -> ProductSpec:
        """The product as it is now."""
        return ProductSpec(
            offering_id=self.offering_id,
            a_location_id=self.a_location_id,
            z_location_id=self.z_location_id,
            bandwidth_mbps=self.bandwidth_mbps,
            term_months=self.term_months,
            class_of_service=ClassOfService(self.class_of_service),
        )


def set_state(session: AsyncSession, instance: ProductInstance, state: ProductState) -> None:
    """Move a product to `state`, recording the event (not committed here)."""
    if state not in _TRANSITIONS[instance.state]:
        raise IllegalTransition(
            f"a product in state '{instance.state}' cannot become '{state}'", field="state"
        )
    previous = instance.state
    instance.state = state
    now = clock.now()
    instance.updated_at = now
    if state is ProductState.ACTIVE and instance.activated_at is None:
        instance.activated_at = now
    if state is ProductState.TERMINATED:
        instance.terminated_at = now
    session.add(instance)
    events.record(
        session,
        party_id=instance.party_id,
        entity=EntityKind.PRODUCT,
        entity_id=instance.id,
        kind=EventKind.STATE_CHANGED,
        state=state,
        previous_state=previous,
    )


async def get_product(
    session: AsyncSession, *, principal: Principal, product_id: str, field_name: str = "product"
) -> ProductInstance:
    """One of the caller's products."""
    return await get_scoped(
        session, ProductInstance, product_id, principal, what="product", field_name=field_name
    )


@dataclass(frozen=True)
class ProductFilter:
    """Criteria a product must all meet; an empty collection matches no product."""

    party_id: str | None = None
    ids: Collection[str] | None = None
    offering_ids: Collection[str] | None = None
    # The orders that delivered the products.
    order_ids: Collection[str] | None = None
    # A site at either end.
    site_id: str | None = None
    billing_account_id: str | None = None
    # Start: activation, or creation for a product not yet active.
    started_after: datetime | None = None
    started_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None


def _product_conditions(where: ProductFilter) -> list[ColumnElement[bool]]:
    product = ProductInstance
    conditions: list[ColumnElement[bool]] = []
    if where.party_id is not None:
        conditions.append(col(product.party_id) == where.party_id)
    for column, wanted in (
        (product.id, where.ids),
        (product.offering_id, where.offering_ids),
        (product.order_id, where.order_ids),
    ):
        if wanted is not None:
            conditions.append(col(column).in_(sorted(set(wanted))))
    if where.site_id is not None:
        conditions.append(
            (col(product.a_site_id) == where.site_id) | (col(product.z_site_id) == where.site_id)
        )
    if where.billing_account_id is not None:
        conditions.append(col(product.billing_account_id) == where.billing_account_id)
    started = func.coalesce(col(product.activated_at), col(product.created_at))
    if where.started_after is not None:
        conditions.append(started > where.started_after)
    if where.started_before is not None:
        conditions.append(started < where.started_before)
    if where.updated_after is not None:
        conditions.append(col(product.updated_at) > where.updated_after)
    if where.updated_before is not None:
        conditions.append(col(product.updated_at) < where.updated_before)
    return conditions


def products_query(
    *,
    principal: Principal,
    states: set[ProductState] | None = None,
    where: ProductFilter | None = None,
) -> SelectOfScalar[ProductInstance]:
    """The caller's products (in `states`, meeting `where`), newest first, to page through."""
    statement = scoped(ProductInstance, principal)
    if states:
        statement = statement.where(col(ProductInstance.state).in_(sorted(states)))
    if where is not None:
        statement = statement.where(*_product_conditions(where))
    return statement.order_by(col(ProductInstance.created_at).desc(), col(ProductInstance.id))


class ProductField(StrEnum):
    """The fields of a product that a list can filter on."""

    ID = "id"
    NAME = "name"
    STATE = "state"
    OFFERING_ID = "offering_id"
    BILLING_ACCOUNT_ID = "billing_account_id"
    ORDER_ID = "order_id"
    PARTY_ID = "party_id"
    CREATED_AT = "created_at"
    ACTIVATED_AT = "activated_at"
    TERMINATED_AT = "terminated_at"
    UPDATED_AT = "updated_at"
    BANDWIDTH_MBPS = "bandwidth_mbps"
    TERM_MONTHS = "term_months"
    CLASS_OF_SERVICE = "class_of_service"
    MONTHLY_CENTS = "monthly_cents"
    ONE_TIME_CENTS = "one_time_cents"
    CURRENCY = "currency"
    # Products at this place: the site at either end (the address, at a Z end without a site).
    PLACE_ID = "place_id"
    # Products that join two ends; those with a Z end at an address without a site.
    TWO_ENDS = "two_ends"
    Z_ADDRESS = "z_address"
    # Products by the order item that delivered them (see `answer_product_field`).
    ORDER_ITEM_ID = "order_item_id"
    ORDER_ITEM_ACTION = "order_item_action"


def _at_place(condition: Condition[ProductField]) -> ColumnElement[bool]:
    return or_(
        compared(col(ProductInstance.a_site_id), condition),
        compared(col(ProductInstance.z_site_id), condition),
        and_(
            col(ProductInstance.z_site_id).is_(None),
            compared(col(ProductInstance.z_location_id), condition),
        ),
    )


_PRODUCT_COLUMNS: dict[ProductField, Any] = {
    field: col(getattr(ProductInstance, field.value))
    for field in ProductField
    if field.value in ProductInstance.model_fields
} | {
    ProductField.PLACE_ID: Within(_at_place),
    ProductField.TWO_ENDS: col(ProductInstance.z_location_id).is_not(None),
    ProductField.Z_ADDRESS: and_(
        col(ProductInstance.z_location_id).is_not(None), col(ProductInstance.z_site_id).is_(None)
    ),
}


def answer_product_field(field: ProductField, column: Within) -> None:
    """Let the part of the core that knows what `field` is answer it (the order items that
    delivered products are the ordering's, which this module may not import)."""
    _PRODUCT_COLUMNS[field] = column


async def page_products(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: list[Condition[ProductField]],
    offset: int,
    limit: int,
) -> Page[ProductInstance]:
    """One page of the caller's products that meet every condition, newest first, with the
    count of all that do."""
    statement = products_query(principal=principal).where(*where(_PRODUCT_COLUMNS, conditions))
    return await fetch_page(session, statement, offset=offset, limit=limit)


async def list_products(
    session: AsyncSession,
    *,
    principal: Principal,
    states: set[ProductState] | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[ProductInstance]:
    """The caller's products, newest first."""
    statement = products_query(principal=principal, states=states)
    return list((await session.exec(statement.offset(offset).limit(limit))).all())


async def suspend(
    session: AsyncSession, *, principal: Principal, product_id: str
) -> ProductInstance:
    """Suspend an active product (operations staff only)."""
    principal.require_ops()
    instance = await get_product(session, principal=principal, product_id=product_id)
    set_state(session, instance, ProductState.SUSPENDED)
    await commit(session)
    return instance


async def resume(
    session: AsyncSession, *, principal: Principal, product_id: str
) -> ProductInstance:
    """Return a suspended product to service (operations staff only)."""
    principal.require_ops()
    instance = await get_product(session, principal=principal, product_id=product_id)
    set_state(session, instance, ProductState.ACTIVE)
    await commit(session)
    return instance
