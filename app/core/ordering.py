"""Orders: placing, the order and item state machines, cancellation and modification."""

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Index,
    String,
    and_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    true,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select, SelectOfScalar

from app.core import billing, clock, events, partners, quoting
from app.core.catalog import BoughtAccess, ClassOfService, ProductSpec
from app.core.db import (
    StrEnumType,
    UTCDateTime,
    commit,
    new_id,
    string_parameters,
    string_slots,
    strings_bound,
    version_column,
)
from app.core.errors import Conflict, CoreError, IllegalTransition, InvalidRequest, NotFound
from app.core.events import Channel, EntityKind, EventKind
from app.core.geography import Serviceability, Site, ensure_site
from app.core.inventory import (
    ProductField,
    ProductInstance,
    ProductState,
    answer_product_field,
    get_product,
    set_state,
)
from app.core.kept import Keeper, document_field, register_document
from app.core.order_changes import (
    OPEN_CHANGE_STATES,
    Cancellation,
    CancellationReasonKind,
    ChangeState,
    DateChange,
)
from app.core.paging import (
    Between,
    Condition,
    Page,
    Within,
    compared,
    fetch_page,
    via,
    where,
    within,
)
from app.core.parties import Party, Principal, get_scoped, resolve_buyer, scoped
from app.core.qualification import assess, check_item_count


class OrderState(StrEnum):
    """Lifecycle of an order."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    HELD_ASSESSING_CHARGE = "held_assessing_charge"
    PENDING_ASSESSING_MODIFICATION = "pending_assessing_modification"
    ASSESSING_CANCELLATION = "assessing_cancellation"
    PENDING_CANCELLATION = "pending_cancellation"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    FAILED = "failed"
    PARTIAL = "partial"
    REJECTED = "rejected"


class ItemState(StrEnum):
    """Lifecycle of one item of an order."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    PENDING = "pending"
    HELD = "held"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    FAILED = "failed"
    REJECTED = "rejected"


class ItemAction(StrEnum):
    """What an item does to inventory."""

    ADD = "add"
    MODIFY = "modify"
    DELETE = "delete"


TERMINAL_STATES = {
    OrderState.CANCELLED,
    OrderState.COMPLETED,
    OrderState.FAILED,
    OrderState.PARTIAL,
    OrderState.REJECTED,
}
CANCELLABLE_STATES = {
    OrderState.ACKNOWLEDGED,
    OrderState.IN_PROGRESS,
    OrderState.HELD_ASSESSING_CHARGE,
}
MODIFIABLE_STATES = {OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS}
ORDER_TRANSITIONS: dict[OrderState, set[OrderState]] = {
    OrderState.ACKNOWLEDGED: {
        OrderState.IN_PROGRESS,
        OrderState.ASSESSING_CANCELLATION,
        OrderState.HELD_ASSESSING_CHARGE,
        OrderState.REJECTED,
        OrderState.PENDING_ASSESSING_MODIFICATION,
    },
    OrderState.IN_PROGRESS: {
        OrderState.COMPLETED,
        OrderState.PARTIAL,
        OrderState.FAILED,
        OrderState.ASSESSING_CANCELLATION,
        OrderState.HELD_ASSESSING_CHARGE,
        OrderState.PENDING_ASSESSING_MODIFICATION,
    },
    OrderState.HELD_ASSESSING_CHARGE: {OrderState.IN_PROGRESS, OrderState.ASSESSING_CANCELLATION},
    OrderState.PENDING_ASSESSING_MODIFICATION: {OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS},
    OrderState.ASSESSING_CANCELLATION: {
        OrderState.PENDING_CANCELLATION,
        OrderState.ACKNOWLEDGED,
        OrderState.IN_PROGRESS,
    },
    OrderState.PENDING_CANCELLATION: {OrderState.CANCELLED},
    OrderState.CANCELLED: set(),
    OrderState.COMPLETED: set(),
    OrderState.FAILED: set(),
    OrderState.PARTIAL: set(),
    OrderState.REJECTED: set(),
}
ITEM_TRANSITIONS: dict[ItemState, set[ItemState]] = {
    ItemState.ACKNOWLEDGED: {
        ItemState.IN_PROGRESS,
        ItemState.CANCELLED,
        ItemState.REJECTED,
        ItemState.HELD,
        ItemState.PENDING,
    },
    ItemState.IN_PROGRESS: {
        ItemState.COMPLETED,
        ItemState.FAILED,
        ItemState.CANCELLED,
        ItemState.HELD,
        ItemState.PENDING,
    },
    ItemState.HELD: {ItemState.IN_PROGRESS, ItemState.CANCELLED},
    ItemState.PENDING: {ItemState.IN_PROGRESS, ItemState.CANCELLED},
    ItemState.CANCELLED: set(),
    ItemState.COMPLETED: set(),
    ItemState.FAILED: set(),
    ItemState.REJECTED: set(),
}


_ORDER_VERSION = version_column()


class Order(SQLModel, table=True):
    """A buyer's order for products; the same row whichever face it came through."""

    __tablename__ = "productorder"
    # A party's orders newest first, as every list shows them, without sorting its history.
    __table_args__ = (Index("ix_productorder_party_newest", "party_id", "created_at", "id"),)
    id: str = Field(default_factory=lambda: new_id("ord"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    placed_by_party_id: str = Field(foreign_key="party.id", max_length=40)
    channel: Channel = Field(sa_type=StrEnumType(Channel, 12), index=True)
    state: OrderState = Field(sa_type=StrEnumType(OrderState, 40), index=True)
    previous_state: OrderState | None = Field(default=None, sa_type=StrEnumType(OrderState, 40))
    external_id: str | None = Field(default=None, max_length=200, index=True)
    # The buyer's project the order belongs to; buyers list their orders by it.
    project_id: str | None = Field(default=None, max_length=200, index=True)
    description: str | None = Field(default=None, max_length=1000)
    quote_id: str | None = Field(default=None, foreign_key="quote.id", max_length=40)
    billing_account_id: str = Field(foreign_key="billingaccount.id", max_length=40)
    monthly_cents: int = 0
    one_time_cents: int = 0
    currency: str = Field(default="USD", max_length=3)
    requested_completion_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expected_completion_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancellation_reason: str | None = Field(default=None, max_length=1000)
    # Why the seller put the order in its state, e.g. what a rejected order lacked.
    state_reason: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    next_step_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # What the buyer sent that the core does not interpret (contacts, notes), kept as given so
    # that the face it came through can return it (and lists filter on it, see `app.core.kept`).
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    version: int = Field(default=1, sa_column=_ORDER_VERSION)

    __mapper_args__ = {"version_id_col": _ORDER_VERSION}


class OrderItem(SQLModel, table=True):
    """One product of an order: what to add, modify or delete, and where it stands."""

    # The items of a page of a party's orders, without reading the party's every item.
    __table_args__ = (Index("ix_orderitem_party_order", "party_id", "order_id", "position"),)
    id: str = Field(default_factory=lambda: new_id("oi"), primary_key=True, max_length=40)
    order_id: str = Field(foreign_key="productorder.id", index=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    position: int
    action: ItemAction = Field(sa_type=StrEnumType(ItemAction, 8))
    state: ItemState = Field(sa_type=StrEnumType(ItemState, 20))
    offering_id: str = Field(foreign_key="offering.id", max_length=40)
    a_location_id: str = Field(foreign_key="location.id", max_length=40)
    z_location_id: str | None = Field(default=None, foreign_key="location.id", max_length=40)
    a_site_id: str = Field(foreign_key="site.id", max_length=40)
    z_site_id: str | None = Field(default=None, foreign_key="site.id", max_length=40)
    bandwidth_mbps: int
    term_months: int
    class_of_service: str = Field(max_length=20)
    serviceability: Serviceability = Field(sa_type=StrEnumType(Serviceability, 12))
    monthly_cents: int
    one_time_cents: int
    product_id: str | None = Field(default=None, foreign_key="productinstance.id", max_length=40)
    quote_item_id: str | None = Field(default=None, foreign_key="quoteitem.id", max_length=40)
    external_id: str | None = Field(default=None, max_length=200)
    requested_completion_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expected_completion_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The buyer's own description of the product (e.g. a standard's product configuration),
    # kept as given and carried to inventory; the core does not interpret it.
    configuration: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)

    def spec(self) -> ProductSpec:
        """The product this item delivers."""
        return ProductSpec(
            offering_id=self.offering_id,
            a_location_id=self.a_location_id,
            z_location_id=self.z_location_id,
            bandwidth_mbps=self.bandwidth_mbps,
            term_months=self.term_months,
            class_of_service=ClassOfService(self.class_of_service),
        )


@dataclass(frozen=True)
class ItemRequest:
    """One item as a buyer asks for it.

    `add` needs `spec`; `modify` names `product_id` and the new characteristics in `spec`
    (its offering and ends are those of the product); `delete` names `product_id` only."""

    action: ItemAction = ItemAction.ADD
    spec: ProductSpec | None = None
    product_id: str | None = None
    external_id: str | None = None
    requested_completion_at: datetime | None = None
    configuration: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None


@dataclass
class OrderWithItems:
    """An order and its items, in item order."""

    order: Order
    items: list[OrderItem]


def transition(
    session: AsyncSession, order: Order, state: OrderState, *, data: dict[str, Any] | None = None
) -> None:
    """Move an order to `state` and record the event, refusing moves the machine lacks."""
    if state not in ORDER_TRANSITIONS[order.state]:
        raise IllegalTransition(
            f"an order in state '{order.state}' cannot become '{state}'", field="state"
        )
    previous = order.state
    order.previous_state = previous
    order.state = state
    order.updated_at = clock.now()
    if state is OrderState.COMPLETED:
        order.completed_at = order.updated_at
    if state is OrderState.CANCELLED:
        order.cancelled_at = order.updated_at
    session.add(order)
    events.record(
        session,
        party_id=order.party_id,
        entity=EntityKind.ORDER,
        entity_id=order.id,
        kind=EventKind.STATE_CHANGED,
        state=state,
        previous_state=previous,
        channel=order.channel,
        data=data or _order_event_data(order),
    )


def transition_item(session: AsyncSession, order: Order, item: OrderItem, state: ItemState) -> None:
    """Move an item to `state` and record the event."""
    if state not in ITEM_TRANSITIONS[item.state]:
        raise IllegalTransition(
            f"an order item in state '{item.state}' cannot become '{state}'", field="state"
        )
    previous = item.state
    item.state = state
    if state is ItemState.COMPLETED:
        item.completed_at = clock.now()
    session.add(item)
    events.record(
        session,
        party_id=item.party_id,
        entity=EntityKind.ORDER_ITEM,
        entity_id=item.id,
        kind=EventKind.STATE_CHANGED,
        state=state,
        previous_state=previous,
        channel=order.channel,
        data={"order_id": order.id, **_order_event_data(order)},
    )


def _order_event_data(order: Order) -> dict[str, Any]:
    return {
        "buyer_party_id": order.party_id,
        "placed_by_party_id": order.placed_by_party_id,
        "external_id": order.external_id,
    }


async def _build_item(
    session: AsyncSession,
    principal: Principal,
    party_id: str,
    index: int,
    request: ItemRequest,
) -> tuple[OrderItem, ProductInstance | None, dict[str, BoughtAccess]]:
    where = f"items[{index}]"
    instance: ProductInstance | None = None
    spec = request.spec
    if request.action is ItemAction.ADD:
        if spec is None:
            raise InvalidRequest(
                "an item that adds a product needs its characteristics", field=f"{where}.product"
            )
    else:
        if not request.product_id:
            raise InvalidRequest(
                f"an item that does '{request.action}' names a product", field=f"{where}.product_id"
            )
        instance = await get_product(
            session,
            principal=principal,
            product_id=request.product_id,
            field_name=f"{where}.product_id",
        )
        if instance.party_id != party_id:
            raise InvalidRequest(
                "the product belongs to another buyer", field=f"{where}.product_id"
            )
        if instance.state is not ProductState.ACTIVE:
            raise IllegalTransition(
                f"product '{instance.id}' is '{instance.state}'; only active products change",
                field=f"{where}.product_id",
            )
        current = instance.spec()
        spec = (
            current
            if spec is None or request.action is ItemAction.DELETE
            else replace(
                current,
                bandwidth_mbps=spec.bandwidth_mbps,
                term_months=spec.term_months,
                class_of_service=spec.class_of_service,
            )
        )
        if request.action is ItemAction.MODIFY and spec == current:
            raise InvalidRequest("the modification changes nothing", field=f"{where}.product")
    try:
        assessment = await assess(session, spec)
    except CoreError as exc:
        exc.field = f"{where}.{exc.field}" if exc.field else where
        raise
    if request.action is ItemAction.ADD and not assessment.qualified:
        raise assessment.refusal(field=f"{where}.product")
    a_site = await ensure_site(session, party_id=party_id, location=assessment.ends[0][0])
    z_site = (
        await ensure_site(session, party_id=party_id, location=assessment.ends[1][0])
        if len(assessment.ends) > 1
        else None
    )
    price = assessment.quoted_price
    item = OrderItem(
        order_id="",
        party_id=party_id,
        position=index + 1,
        action=request.action,
        state=ItemState.ACKNOWLEDGED,
        offering_id=spec.offering_id,
        a_location_id=spec.a_location_id,
        z_location_id=spec.z_location_id,
        a_site_id=a_site.id,
        z_site_id=z_site.id if z_site else None,
        bandwidth_mbps=spec.bandwidth_mbps,
        term_months=spec.term_months,
        class_of_service=spec.class_of_service,
        serviceability=assessment.serviceability,
        monthly_cents=price.monthly_cents if request.action is not ItemAction.DELETE else 0,
        one_time_cents=price.one_time_cents if request.action is ItemAction.ADD else 0,
        product_id=instance.id if instance else None,
        external_id=request.external_id,
        requested_completion_at=request.requested_completion_at,
        expected_completion_at=clock.now() + timedelta(days=assessment.lead_time_days),
        configuration=request.configuration or (instance.configuration if instance else {}),
        annotations=request.annotations or {},
    )
    return item, instance, assessment.bought if request.action is ItemAction.ADD else {}


async def place(
    session: AsyncSession,
    *,
    principal: Principal,
    items: list[ItemRequest],
    channel: Channel,
    buyer_party_id: str | None = None,
    quote_id: str | None = None,
    external_id: str | None = None,
    description: str | None = None,
    billing_account_id: str | None = None,
    requested_completion_at: datetime | None = None,
    project_id: str | None = None,
    annotations: dict[str, Any] | None = None,
) -> OrderWithItems:
    """Place an order: validate every item, price it, and store it acknowledged, or store nothing.

    With `quote_id` the order takes the prices of that firm quote (and all of its orderable items
    when `items` is empty). Retries are the business of `idempotency`, around this call."""
    check_item_count(len(items))
    party_id = await resolve_buyer(session, principal, buyer_party_id)
    quote_items: list[quoting.QuoteItem] = []
    if quote_id:
        taken = await quoting.take_for_order(
            session, principal=principal, quote_id=quote_id, field_name="quote_id"
        )
        if taken.quote.party_id != party_id:
            raise InvalidRequest("the quote was made for another buyer", field="quote_id")
        quote_items = taken.items
        if not items:
            items = [ItemRequest(spec=q.spec()) for q in quote_items]
    if not items:
        raise InvalidRequest("an order needs at least one item", field="items")
    check_item_count(len(items))
    if billing_account_id:
        account = await billing.get_account(
            session, principal=principal, account_id=billing_account_id
        )
        if account.party_id != party_id:
            raise InvalidRequest(
                "the billing account belongs to another buyer", field="billing_account"
            )
    else:
        account = await billing.ensure_account(session, party_id=party_id)
    made = [await _build_item(session, principal, party_id, i, r) for i, r in enumerate(items)]
    built = [(item, instance) for item, instance, _ in made]
    if quote_id:
        _apply_quote_prices(built, quote_items)
    targets = [inst.id for _, inst in built if inst is not None]
    if len(targets) != len(set(targets)):
        raise InvalidRequest("a product may appear in one item of an order only", field="items")
    now = clock.now()
    order = Order(
        party_id=party_id,
        placed_by_party_id=principal.party_id,
        channel=channel,
        state=OrderState.ACKNOWLEDGED,
        external_id=external_id,
        project_id=project_id,
        description=description,
        quote_id=quote_id,
        billing_account_id=account.id,
        requested_completion_at=requested_completion_at,
        annotations=annotations or {},
        expected_completion_at=max(i.expected_completion_at or now for i, _ in built),
        monthly_cents=sum(i.monthly_cents for i, _ in built),
        one_time_cents=sum(i.one_time_cents for i, _ in built),
        # Acknowledged now: the fulfilment engine takes the first step once its own delay
        # (`FulfilmentEngine.ack_after`) has passed since then.
        next_step_at=now,
    )
    try:
        session.add(order)
        await session.flush()
        for item, instance in built:
            item.order_id = order.id
            session.add(item)
            if instance is not None:
                set_state(
                    session,
                    instance,
                    ProductState.ACTIVE_PENDING_CHANGE
                    if item.action is ItemAction.MODIFY
                    else ProductState.PENDING_TERMINATE,
                )
        await session.flush()
        await _remember_partners(session, order, made)
        events.record(
            session,
            party_id=party_id,
            entity=EntityKind.ORDER,
            entity_id=order.id,
            kind=EventKind.CREATED,
            state=order.state,
            channel=channel,
            data=_order_event_data(order),
        )
        await commit(session)
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict("the order could not be stored; retry the request") from exc
    return OrderWithItems(order, [item for item, _ in built])


async def _remember_partners(
    session: AsyncSession,
    order: Order,
    made: list[tuple[OrderItem, ProductInstance | None, dict[str, BoughtAccess]]],
) -> None:
    """Record which partner priced each off-net end, and its quote, so that fulfilment buys
    from that partner even if another one covers the place by then."""
    spent: set[str] = set()
    for item, _, bought in made:
        for location_id, access in bought.items():
            if access.partner_id:
                # A partner's quote is ordered once: a second end of this order priced by the
                # same quote is bought at the partner's price of the day.
                quote_id = access.quote_id if access.quote_id not in spent else None
                if quote_id:
                    spent.add(quote_id)
                partners.plan_work(
                    session,
                    partner_id=access.partner_id,
                    order_id=order.id,
                    order_item_id=item.id,
                    location_id=location_id,
                    bandwidth_mbps=item.bandwidth_mbps,
                    term_months=item.term_months,
                    quote_id=quote_id,
                    due=False,
                )
    await partners.spend_quotes(session, spent)


def _apply_quote_prices(
    built: list[tuple[OrderItem, ProductInstance | None]], quote_items: list[quoting.QuoteItem]
) -> None:
    available = list(quote_items)
    for item, _ in built:
        match = next((q for q in available if q.spec() == item.spec()), None)
        if match is None:
            raise InvalidRequest(
                "the item is not one of the quote's orderable items",
                field=f"items[{item.position - 1}].product",
                code="NOT_IN_QUOTE",
            )
        available.remove(match)
        item.quote_item_id = match.id
        item.monthly_cents, item.one_time_cents = match.monthly_cents, match.one_time_cents


async def items_of(session: AsyncSession, order_id: str) -> list[OrderItem]:
    """The items of an order the caller already holds, in item order."""
    found = await session.exec(
        select(OrderItem).where(OrderItem.order_id == order_id).order_by(col(OrderItem.position))
    )
    return list(found.all())


async def get_order(
    session: AsyncSession, *, principal: Principal, order_id: str
) -> OrderWithItems:
    """One of the caller's orders with its items, read together (one statement)."""
    rows = (
        await session.exec(
            _order_with_items(parties=_statement_parties(principal)),
            params=_read_params(principal, order_id),
        )
    ).all()
    if not rows:
        raise NotFound(f"no order '{order_id}'", field="id")
    return OrderWithItems(rows[0][0], [item for _, item in rows if item is not None])


@dataclass
class OrderRead:
    """An order as a buyer reads it: its items, the party that bought it, and the states the
    order and its items went through, in the order they happened."""

    order: Order
    items: list[OrderItem]
    buyer: Party
    history: list[events.StateChange]


async def read_order(session: AsyncSession, *, principal: Principal, order_id: str) -> OrderRead:
    """One of the caller's orders with its items, its buyer and its state history, in one
    statement."""
    statement = _order_read(parties=_statement_parties(principal))
    rows = (await session.exec(statement, params=_read_params(principal, order_id))).all()
    if not rows:
        raise NotFound(f"no order '{order_id}'", field="id")
    order, _, buyer, changes = rows[0]
    items = [item for _, item, _, _ in rows if item is not None]
    return OrderRead(order, items, buyer, events.state_changes(changes))


def _read_params(principal: Principal, order_id: str) -> dict[str, Any]:
    """The parameters of a read by id (`_order_read`, `_order_with_items`) for the caller."""
    return {"order_id": order_id} | _parties_bound(principal)


def _parties_bound(principal: Principal) -> dict[str, str]:
    """The parties of the caller as a statement of `_statement_parties(principal)` takes them."""
    if principal.is_ops:
        return {}
    return strings_bound("party_id", sorted(principal.visible_party_ids))


def _statement_parties(principal: Principal) -> int | None:
    """The party parameters of the statement that serves the caller (see `string_slots`); None:
    no condition, for operations staff."""
    return None if principal.is_ops else string_slots(len(principal.visible_party_ids))


@functools.lru_cache(maxsize=64)
def _order_with_items(*, parties: int | None) -> Select[Order, OrderItem]:
    """The statement of `get_order`, with the order's id and the caller's `parties` as
    parameters: built once, as it costs more to build than to run. Each statement is a round
    trip, so a read by id takes the order and its items at once, one row per item."""
    order_id = bindparam("order_id", type_=String())
    statement = (
        select(Order, OrderItem)
        .outerjoin(OrderItem, col(OrderItem.order_id) == Order.id)
        .where(Order.id == order_id)
        .order_by(col(OrderItem.position))
    )
    if parties is not None:
        statement = statement.where(col(Order.party_id).in_(string_parameters("party_id", parties)))
    return statement


@functools.lru_cache(maxsize=64)
def _order_read(*, parties: int | None) -> Select[Order, OrderItem, Party, Any]:
    """The statement of `read_order`, with the order's id and the caller's `parties` as
    parameters: built once, as it costs more to build than to run."""
    order_id = bindparam("order_id", type_=String())
    party_ids = None if parties is None else string_parameters("party_id", parties)
    # The history is one JSON value of an uncorrelated subquery, which the database works
    # out once, not once per item row.
    entity_ids = union_all(
        select(order_id),
        select(OrderItem.id).where(OrderItem.order_id == order_id).correlate(None),
    )
    history = events.state_history(entity_ids=entity_ids, party_ids=party_ids)
    statement = (
        select(Order, OrderItem, Party, history)
        .join(Party, col(Party.id) == Order.party_id)
        .outerjoin(OrderItem, col(OrderItem.order_id) == Order.id)
        .where(Order.id == order_id)
        .order_by(col(OrderItem.position))
    )
    if party_ids is not None:
        statement = statement.where(col(Order.party_id).in_(party_ids))
    return statement


def orders_query(
    *,
    principal: Principal,
    states: set[OrderState] | None = None,
    channel: Channel | None = None,
    party_id: str | None = None,
    external_id: str | None = None,
    project_id: str | None = None,
    created: Between | None = None,
    completed: Between | None = None,
    cancelled: Between | None = None,
    item_requested: Between | None = None,
    item_expected: Between | None = None,
) -> SelectOfScalar[Order]:
    """The caller's orders, newest first, filtered, as a statement to page through; an item
    date matches when any item of the order has it."""
    statement = scoped(Order, principal)
    if states:
        statement = statement.where(col(Order.state).in_(sorted(states)))
    for column, value in (
        (Order.channel, channel),
        (Order.party_id, party_id),
        (Order.external_id, external_id),
        (Order.project_id, project_id),
    ):
        if value is not None:
            statement = statement.where(col(column) == value)
    statement = within(statement, Order.created_at, created)
    statement = within(statement, Order.completed_at, completed)
    statement = within(statement, Order.cancelled_at, cancelled)
    for item_date, period in (
        (OrderItem.requested_completion_at, item_requested),
        (OrderItem.expected_completion_at, item_expected),
    ):
        if period is not None:
            items = within(select(OrderItem.id), item_date, period)
            statement = statement.where(
                items.where(col(OrderItem.order_id) == col(Order.id)).exists()
            )
    # Both keys descending, so that an index on them serves the order read backwards.
    return statement.order_by(col(Order.created_at).desc(), col(Order.id).desc())


class OrderField(StrEnum):
    """The fields of an order that a list can filter on."""

    ID = "id"
    STATE = "state"
    CHANNEL = "channel"
    EXTERNAL_ID = "external_id"
    DESCRIPTION = "description"
    PARTY_ID = "party_id"
    BILLING_ACCOUNT_ID = "billing_account_id"
    QUOTE_ID = "quote_id"
    CANCELLATION_REASON = "cancellation_reason"
    CREATED_AT = "created_at"
    REQUESTED_COMPLETION_AT = "requested_completion_at"
    EXPECTED_COMPLETION_AT = "expected_completion_at"
    COMPLETED_AT = "completed_at"
    MONTHLY_CENTS = "monthly_cents"
    ONE_TIME_CENTS = "one_time_cents"
    CURRENCY = "currency"
    STATE_REASON = "state_reason"
    # Orders that give a reason for their state (`REASON_AT`: when it was last changed).
    REASON_GIVEN = "reason_given"
    REASON_AT = "reason_at"
    # Orders the core took no item of (rejected at once, see `reject`).
    WITHOUT_ITEMS = "without_items"
    # What the buyer sent that the core keeps as given (a condition names a path in it).
    ANNOTATIONS = "annotations"
    # Orders with an item of which this field matches.
    ITEM_ID = "item.id"
    ITEM_ACTION = "item.action"
    ITEM_STATE = "item.state"
    ITEM_OFFERING_ID = "item.offering_id"
    ITEM_PRODUCT_ID = "item.product_id"
    ITEM_PLACE_ID = "item.place_id"
    ITEM_BANDWIDTH_MBPS = "item.bandwidth_mbps"
    ITEM_TERM_MONTHS = "item.term_months"
    ITEM_CLASS_OF_SERVICE = "item.class_of_service"
    ITEM_MONTHLY_CENTS = "item.monthly_cents"
    ITEM_ONE_TIME_CENTS = "item.one_time_cents"
    ITEM_REQUESTED_COMPLETION_AT = "item.requested_completion_at"
    ITEM_ANNOTATIONS = "item.annotations"
    # Orders with an item that joins two ends (at an address without a site at its Z end).
    ITEM_TWO_ENDS = "item.two_ends"
    ITEM_Z_ADDRESS = "item.z_address"


register_document(Order, Keeper.ORDER, "annotations")
register_document(OrderItem, Keeper.ORDER_ITEM, "annotations")
# Where an item is: the site at either end, or the address where it has no site.
_ITEM_PLACES = (
    col(OrderItem.a_site_id),
    col(OrderItem.z_site_id),
    col(OrderItem.a_location_id),
    col(OrderItem.z_location_id),
)


def _item_column(field: OrderField) -> Any:
    if field is OrderField.ITEM_ID:
        return func.coalesce(col(OrderItem.external_id), col(OrderItem.id))
    if field is OrderField.ITEM_TWO_ENDS:
        return col(OrderItem.z_location_id).is_not(None)
    if field is OrderField.ITEM_Z_ADDRESS:
        return and_(col(OrderItem.z_location_id).is_not(None), col(OrderItem.z_site_id).is_(None))
    return col(getattr(OrderItem, field.value.removeprefix("item.")))


def _item_place(condition: Condition[Any]) -> Any:
    return col(Order.id).in_(
        select(OrderItem.order_id).where(
            or_(*(compared(place, condition) for place in _ITEM_PLACES))
        )
    )


_DERIVED: dict[OrderField, Any] = {
    OrderField.REASON_GIVEN: col(Order.state_reason).is_not(None),
    OrderField.REASON_AT: Within(
        lambda condition: and_(
            col(Order.state_reason).is_not(None), compared(col(Order.updated_at), condition)
        )
    ),
    OrderField.WITHOUT_ITEMS: ~exists(select(OrderItem.id).where(OrderItem.order_id == Order.id)),
}
_OWN_COLUMNS: dict[OrderField, Any] = {
    field: col(getattr(Order, field.value))
    for field in OrderField
    if field is not OrderField.ANNOTATIONS
    and field not in _DERIVED
    and not field.value.startswith("item.")
} | _DERIVED
_ITEM_COLUMNS: dict[OrderField, Any] = {
    field: via(Order.id, OrderItem.order_id, _item_column(field))
    for field in OrderField
    if field.value.startswith("item.")
    and field not in {OrderField.ITEM_ANNOTATIONS, OrderField.ITEM_PLACE_ID}
}
_ORDER_COLUMNS: dict[OrderField, Any] = {
    **_OWN_COLUMNS,
    **_ITEM_COLUMNS,
    OrderField.ANNOTATIONS: document_field(Keeper.ORDER, Order.id),
    OrderField.ITEM_ANNOTATIONS: via(
        Order.id, OrderItem.order_id, document_field(Keeper.ORDER_ITEM, OrderItem.id)
    ),
    OrderField.ITEM_PLACE_ID: Within(_item_place),
}


def _delivered_by(column: Any, otherwise: Any) -> Within:
    """A field of products that is `column` of the item of its order that delivered each,
    or `otherwise` for a product that no such item delivered."""

    def clause(condition: Condition[Any]) -> Any:
        item = select(OrderItem.id).where(
            col(OrderItem.product_id) == ProductInstance.id,
            col(OrderItem.order_id) == ProductInstance.order_id,
        )
        return or_(
            exists(item.where(compared(column, condition))),
            and_(~exists(item), compared(otherwise, condition)),
        )

    return Within(clause)


answer_product_field(
    ProductField.ORDER_ITEM_ID,
    _delivered_by(func.coalesce(col(OrderItem.external_id), col(OrderItem.id)), ProductInstance.id),
)
answer_product_field(
    ProductField.ORDER_ITEM_ACTION,
    _delivered_by(col(OrderItem.action), literal(ItemAction.ADD.value)),
)
# The states of an order whose cancellation the buyer asked for.
CANCELLATION_STATES = {
    OrderState.ASSESSING_CANCELLATION,
    OrderState.PENDING_CANCELLATION,
    OrderState.CANCELLED,
}


async def page_orders(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: list[Condition[OrderField]],
    offset: int,
    limit: int,
    cancellation_asked: bool = False,
) -> Page[Order]:
    """One page of the caller's orders that meet every condition (and, with
    `cancellation_asked`, whose cancellation was asked for), newest first, with the count of
    all that do."""
    statement = orders_query(principal=principal).where(*where(_ORDER_COLUMNS, conditions))
    if cancellation_asked:
        statement = statement.where(
            or_(
                col(Order.cancellation_reason).is_not(None),
                col(Order.state).in_(sorted(CANCELLATION_STATES)),
            )
        )
    return await fetch_page(session, statement, offset=offset, limit=limit)


_ASKED = "asked_items"


def asked_items(order: Order) -> list[tuple[str, ItemAction]]:
    """The items a rejected order without core items was asked for: the buyer's id and action."""
    return [(a["id"], ItemAction(a["action"])) for a in order.annotations.get(_ASKED, [])]


async def reject(
    session: AsyncSession,
    *,
    principal: Principal,
    channel: Channel,
    reason: str,
    asked: list[tuple[str, ItemAction]],
    external_id: str | None = None,
    description: str | None = None,
    annotations: dict[str, Any] | None = None,
) -> Order:
    """Record an order the seller cannot deliver as asked: acknowledged, then rejected with
    `reason`, with no items; `asked` (the buyer's item id and action of each item) is kept, see
    `asked_items`."""
    party_id = await resolve_buyer(session, principal, None)
    account = await billing.ensure_account(session, party_id=party_id)
    order = Order(
        party_id=party_id,
        placed_by_party_id=principal.party_id,
        channel=channel,
        state=OrderState.ACKNOWLEDGED,
        external_id=external_id,
        description=description,
        billing_account_id=account.id,
        annotations=(annotations or {})
        | {_ASKED: [{"id": item_id, "action": action.value} for item_id, action in asked]},
    )
    session.add(order)
    await session.flush()
    events.record(
        session,
        party_id=party_id,
        entity=EntityKind.ORDER,
        entity_id=order.id,
        kind=EventKind.CREATED,
        state=order.state,
        channel=channel,
        data=_order_event_data(order),
    )
    order.state_reason = reason[:1000]
    transition(session, order, OrderState.REJECTED)
    await commit(session)
    return order


async def list_orders(
    session: AsyncSession,
    *,
    principal: Principal,
    states: set[OrderState] | None = None,
    channel: Channel | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[Order]:
    """The caller's orders, newest first."""
    statement = orders_query(principal=principal, states=states, channel=channel)
    return list((await session.exec(statement.offset(offset).limit(limit))).all())


@dataclass
class CancellationWithOrder:
    """A cancellation request and the order it is about."""

    cancellation: Cancellation
    order: Order


async def ask_to_cancel(
    session: AsyncSession,
    *,
    principal: Principal,
    order_id: str,
    reason: str | None = None,
    reason_kind: CancellationReasonKind | None = None,
    contacts: list[dict[str, Any]] | None = None,
    channel: Channel | None = None,
) -> CancellationWithOrder:
    """Ask to cancel an order: the request and the order's move to assessing it are stored
    together; the seller assesses it and cancels (see `fulfilment`)."""
    order = await get_scoped(session, Order, order_id, principal, what="order")
    if order.state not in CANCELLABLE_STATES:
        raise IllegalTransition(
            f"an order in state '{order.state}' cannot be cancelled",
            field="state",
        )
    order.cancellation_reason = reason
    order.next_step_at = clock.now()
    cancellation = Cancellation(
        order_id=order.id,
        party_id=order.party_id,
        channel=channel or order.channel,
        state=ChangeState.ACKNOWLEDGED,
        reason=reason,
        reason_kind=reason_kind,
        contacts=contacts or [],
    )
    session.add(cancellation)
    transition(session, order, OrderState.ASSESSING_CANCELLATION)
    await commit(session)
    return CancellationWithOrder(cancellation, order)


async def request_cancellation(
    session: AsyncSession, *, principal: Principal, order_id: str, reason: str | None = None
) -> Order:
    """Ask to cancel an order (see `ask_to_cancel`); the order as it now stands."""
    asked = await ask_to_cancel(session, principal=principal, order_id=order_id, reason=reason)
    return asked.order


async def move_cancellation(session: AsyncSession, order: Order, state: ChangeState) -> None:
    """Move the open cancellation request of an order along with the order."""
    await session.exec(
        update(Cancellation)
        .where(
            col(Cancellation.order_id) == order.id,
            col(Cancellation.state).in_(sorted(OPEN_CHANGE_STATES)),
        )
        .values(state=state, updated_at=clock.now())
    )


async def get_cancellation(
    session: AsyncSession, *, principal: Principal, cancellation_id: str
) -> CancellationWithOrder:
    """One of the caller's cancellation requests and its order."""
    cancellation = await get_scoped(
        session, Cancellation, cancellation_id, principal, what="cancellation request"
    )
    order = await get_scoped(session, Order, cancellation.order_id, principal, what="order")
    return CancellationWithOrder(cancellation, order)


async def annotate(
    session: AsyncSession,
    *,
    principal: Principal,
    order_id: str,
    annotations: dict[str, Any] | None = None,
    item_annotations: dict[str, dict[str, Any]] | None = None,
    external_id: str | None = None,
    project_id: str | None = None,
    description: str | None = None,
) -> OrderWithItems:
    """Merge the buyer's own annotations and references (external id, project, description)
    into an order and its items (not its product or state)."""
    order = await get_scoped(session, Order, order_id, principal, what="order")
    items = await items_of(session, order.id)
    by_id = {i.id: i for i in items} | {i.external_id: i for i in items if i.external_id}
    for item_id in item_annotations or {}:
        if item_id not in by_id:
            raise NotFound(f"no item '{item_id}' in order '{order.id}'", field="item_id")
    if annotations:
        order.annotations = {**order.annotations, **annotations}
    if external_id is not None:
        order.external_id = external_id
    if project_id is not None:
        order.project_id = project_id
    if description is not None:
        order.description = description
    for item_id, extra in (item_annotations or {}).items():
        item = by_id[item_id]
        item.annotations = {**item.annotations, **extra}
        session.add(item)
    order.updated_at = clock.now()
    session.add(order)
    events.record(
        session,
        party_id=order.party_id,
        entity=EntityKind.ORDER,
        entity_id=order.id,
        kind=EventKind.ATTRIBUTE_CHANGED,
        state=order.state,
        channel=order.channel,
        data={
            "changed": sorted(
                {
                    *(annotations or {}),
                    *(["external_id"] if external_id is not None else []),
                    *(["project_id"] if project_id is not None else []),
                    *(["description"] if description is not None else []),
                }
            ),
            **_order_event_data(order),
        },
    )
    await commit(session)
    return OrderWithItems(order, items)


@dataclass
class DateChangeWithOrder:
    """A requested-date change and the order (with its items) as it now stands."""

    change: DateChange
    order: Order
    items: list[OrderItem]


async def ask_to_move_date(
    session: AsyncSession,
    *,
    principal: Principal,
    order_id: str,
    item_id: str,
    requested_completion_at: datetime,
    expedite: bool = False,
    channel: Channel | None = None,
) -> DateChangeWithOrder:
    """Move the date a buyer asked an item to be delivered by, while the order is open; the
    change is recorded with the item's new date, in one transaction."""
    order = await get_scoped(session, Order, order_id, principal, what="order")
    if order.state not in MODIFIABLE_STATES:
        raise IllegalTransition(
            f"an order in state '{order.state}' cannot be modified", field="state"
        )
    if requested_completion_at <= clock.now():
        raise InvalidRequest(
            "the requested date must be in the future", field="requested_completion_at"
        )
    items = await items_of(session, order.id)
    item = next((i for i in items if i.id == item_id or i.external_id == item_id), None)
    if item is None:
        raise NotFound(f"no item '{item_id}' in order '{order.id}'", field="item_id")
    item.requested_completion_at = requested_completion_at
    order.updated_at = clock.now()
    # The seller takes any date it is asked for: the change is done once it is recorded.
    change = DateChange(
        order_id=order.id,
        order_item_id=item.id,
        party_id=order.party_id,
        channel=channel or order.channel,
        state=ChangeState.DONE,
        requested_completion_at=requested_completion_at,
        expedite=expedite,
    )
    session.add_all([item, order, change])
    events.record(
        session,
        party_id=order.party_id,
        entity=EntityKind.ORDER_ITEM,
        entity_id=item.id,
        kind=EventKind.ATTRIBUTE_CHANGED,
        state=item.state,
        channel=order.channel,
        data={
            "order_id": order.id,
            "changed": ["requested_completion_at"],
            **_order_event_data(order),
        },
    )
    await commit(session)
    return DateChangeWithOrder(change, order, items)


async def change_requested_completion(
    session: AsyncSession,
    *,
    principal: Principal,
    order_id: str,
    item_id: str,
    requested_completion_at: datetime,
) -> OrderWithItems:
    """Move the date an item is wanted by (see `ask_to_move_date`); the order as it stands."""
    moved = await ask_to_move_date(
        session,
        principal=principal,
        order_id=order_id,
        item_id=item_id,
        requested_completion_at=requested_completion_at,
    )
    return OrderWithItems(moved.order, moved.items)


async def get_date_change(
    session: AsyncSession, *, principal: Principal, change_id: str
) -> DateChange:
    """One of the caller's requested-date changes."""
    return await get_scoped(session, DateChange, change_id, principal, what="date change")


async def items_by_order(
    session: AsyncSession, *, principal: Principal, order_ids: list[str]
) -> dict[str, list[OrderItem]]:
    """The items of several of the caller's orders, in item order, by order id."""
    found: dict[str, list[OrderItem]] = {order_id: [] for order_id in order_ids}
    statement = scoped(OrderItem, principal).where(col(OrderItem.order_id).in_(sorted(found)))
    for item in (await session.exec(statement.order_by(col(OrderItem.position)))).all():
        found[item.order_id].append(item)
    return found


async def delivering_items(
    session: AsyncSession, *, principal: Principal, products: list[ProductInstance]
) -> dict[str, OrderItem]:
    """The item of its first order that delivered each of the caller's products, by product id."""
    orders = {p.id: p.order_id for p in products}
    statement = scoped(OrderItem, principal).where(
        col(OrderItem.product_id).in_(sorted(orders)),
        col(OrderItem.order_id).in_(sorted(set(orders.values()))),
    )
    return {
        item.product_id: item
        for item in (await session.exec(statement)).all()
        if item.product_id is not None and orders[item.product_id] == item.order_id
    }


@dataclass
class OrdersRead:
    """Orders with their items, and the sites of those items that the caller may see."""

    orders: list[OrderWithItems]
    sites: dict[str, Site]


async def read_orders(
    session: AsyncSession, *, principal: Principal, order_ids: Iterable[str], with_sites: bool
) -> OrdersRead:
    """Some of the caller's orders by id with their items and, `with_sites`, the items' sites,
    all in one statement; ids the caller may not see are absent."""
    read = OrdersRead([], {})
    wanted = sorted(set(order_ids))
    if not wanted:
        return read
    orders: dict[str, OrderWithItems] = {}
    statement = _orders_read(
        with_sites=with_sites,
        orders=string_slots(len(wanted)),
        parties=_statement_parties(principal),
    )
    params = strings_bound("order_id", wanted) | _parties_bound(principal)
    for row in (await session.exec(statement, params=params)).all():
        order, item = row[0], row[1]
        found = orders.setdefault(order.id, OrderWithItems(order, []))
        if item is not None:
            found.items.append(item)
        read.sites |= {site.id: site for site in row[2:] if site is not None}
    read.orders = list(orders.values())
    return read


@functools.lru_cache(maxsize=64)
def _orders_read(*, with_sites: bool, orders: int, parties: int | None) -> Select[*tuple[Any, ...]]:
    # Built once per shape, the ids and parties bound when it runs: building a statement costs
    # more CPU than SQLite takes to run this one. One row per item, with its two ends beside it
    # (a round trip per statement: an order's few items and sites cost less read at once).
    party_ids = None if parties is None else string_parameters("party_id", parties)

    def seen(model: Any) -> ColumnElement[bool]:
        # As `visible`: the rows of the caller's parties, every row for operations staff.
        return true() if party_ids is None else col(model.party_id).in_(party_ids)

    a_end: Any = aliased(Site, name="a_end")
    z_end: Any = aliased(Site, name="z_end")
    statement: Select[*tuple[Any, ...]] = (
        select(Order, OrderItem, a_end, z_end) if with_sites else select(Order, OrderItem)
    )
    # The items as their own loader scopes them (by their party), though they share the order's.
    statement = statement.outerjoin(
        OrderItem, and_(col(OrderItem.order_id) == Order.id, seen(OrderItem))
    )
    if with_sites:
        for end, column in ((a_end, OrderItem.a_site_id), (z_end, OrderItem.z_site_id)):
            statement = statement.outerjoin(end, and_(col(end.id) == column, seen(end)))
    return statement.where(
        col(Order.id).in_(string_parameters("order_id", orders)), seen(Order)
    ).order_by(col(Order.id), col(OrderItem.position))
