"""TMF622 Product Ordering v4: the core's orders as product orders and cancellation requests.

Mapping of a `productOrderItem` to a core item:
- `action` add/modify/delete is the core item action; `modify` and `delete` name the product in
  `product.id`.
- the offering is `productOffering.id` (of the item, or of its `product`), a core offering id.
- the ends are `product.place`: the place whose `role` starts with "A" is the A end, "Z" the Z
  end (otherwise the order given). A place is a reference by `id` to a `GeographicSite` (a site
  of the buyer) or a `GeographicAddress` (an address-book location), or an address value
  (`streetNr`, `streetName`, `city`, `stateOrProvince`, `postcode`, `country`) that the core
  resolves.
- `product.productCharacteristic` entries named `bandwidth` (Mbps), `termMonths` (months) and
  `classOfService` (standard, priority, real_time) give the characteristics.
- the item `id` is the buyer's, kept as the core item's external id.
A cancelProductOrder is the cancellation request of an order; its id is the order's id.

An order is acknowledged when it is posted. An item that lacks what the core needs to deliver it
(an `add` without offering, characteristics or place; a `modify` or `delete` without `product.id`)
does not make the request fail: the order is recorded and rejected at once, the reason in a
`note` by the seller and its items as they were asked for, each `rejected`.
What the buyer gives that the core does not interpret (`KEPT`) is kept and returned as given.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import geography, ordering
from app.core.catalog import ClassOfService, ProductSpec
from app.core.errors import NotFound
from app.core.events import Channel, EntityKind, Event
from app.core.inventory import get_product
from app.core.ordering import (
    ItemAction,
    ItemRequest,
    Order,
    OrderField,
    OrderItem,
    OrderState,
)
from app.core.parties import Principal
from app.core.qualification import check_item_count
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.paging import views_of
from rest_facades.common.tmf630 import (
    Attribute,
    as_cents,
    as_date_time,
    as_text,
    by_name,
    constant,
    in_document,
    linked,
    repeats,
)
from rest_facades.common.values import parse_date_time
from rest_facades.tmf.common import (
    TMFQueryDep,
    buyer_and_related_parties,
    href,
    iso,
    listed,
    product_characteristics,
    resource,
)
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.generated import product_ordering as models
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes

BASE = "/tmf-api/productOrderingManagement/v4"
INVENTORY_BASE = "/tmf-api/productInventory/v4"

ORDER_STATES = {
    OrderState.ACKNOWLEDGED: "acknowledged",
    OrderState.IN_PROGRESS: "inProgress",
    OrderState.HELD_ASSESSING_CHARGE: "held",
    OrderState.PENDING_ASSESSING_MODIFICATION: "pending",
    OrderState.ASSESSING_CANCELLATION: "assessingCancellation",
    OrderState.PENDING_CANCELLATION: "pendingCancellation",
    OrderState.CANCELLED: "cancelled",
    OrderState.COMPLETED: "completed",
    OrderState.FAILED: "failed",
    OrderState.PARTIAL: "partial",
    OrderState.REJECTED: "rejected",
}
ITEM_STATES = {ordering.ItemState.IN_PROGRESS: "inProgress"}
CANCELLATION_STATES = {
    OrderState.ASSESSING_CANCELLATION: "acknowledged",
    OrderState.PENDING_CANCELLATION: "inProgress",
    OrderState.CANCELLED: "done",
}
# A request the seller declined leaves the order as it was.
CANCELLATION_VIEW_STATES = {
    state: CANCELLATION_STATES.get(state, "terminatedWithError") for state in OrderState
}
# Attributes of an order that the buyer owns and the core does not interpret: kept as given.
KEPT = (
    "category",
    "priority",
    "notificationContact",
    "requestedStartDate",
    "note",
    "agreement",
    "payment",
    "productOfferingQualification",
    "relatedParty",
)
# Attributes that the seller sets: a PATCH may repeat them, not change them.
SELLER_OWNED = (
    "state",
    "completionDate",
    "expectedCompletionDate",
    "cancellationDate",
    "cancellationReason",
    "orderTotalPrice",
    "billingAccount",
    "quote",
    "channel",
    "productOrderItem",
)


def _money(cents: int, currency: str) -> dict[str, Any]:
    return {"unit": currency, "value": float(Decimal(cents) / 100)}


def _prices(monthly: int, one_time: int, currency: str) -> list[dict[str, Any]]:
    return [
        {
            "name": "monthly recurring",
            "priceType": "recurring",
            "recurringChargePeriod": "month",
            "price": {"dutyFreeAmount": _money(monthly, currency)},
            "@type": "OrderPrice",
        },
        {
            "name": "one time",
            "priceType": "oneTime",
            "price": {"dutyFreeAmount": _money(one_time, currency)},
            "@type": "OrderPrice",
        },
    ]


def _place(role: str, location_id: str, site_id: str | None) -> dict[str, Any]:
    if site_id:
        return {"id": site_id, "role": role, "@referredType": "GeographicSite"}
    return {"id": location_id, "role": role, "@referredType": "GeographicAddress"}


def item_view(request: Request, order: Order, item: OrderItem) -> dict[str, Any]:
    """A core order item as a TMF622 ProductOrderItem."""
    places = [_place("A-End", item.a_location_id, item.a_site_id)]
    if item.z_location_id:
        places.append(_place("Z-End", item.z_location_id, item.z_site_id))
    product: dict[str, Any] = {
        "@type": "Product",
        "productCharacteristic": [
            {"name": "bandwidth", "valueType": "integer", "value": item.bandwidth_mbps},
            {"name": "termMonths", "valueType": "integer", "value": item.term_months},
            {"name": "classOfService", "valueType": "string", "value": item.class_of_service},
        ],
        "place": places,
    }
    if item.product_id:
        product |= {
            "id": item.product_id,
            "href": href(request, INVENTORY_BASE, "product", item.product_id),
        }
    view: dict[str, Any] = {
        "id": item.external_id or item.id,
        "@type": "ProductOrderItem",
        "action": item.action.value,
        "quantity": 1,
        "state": ITEM_STATES.get(item.state, item.state.value),
        "productOffering": {"id": item.offering_id, "@referredType": "ProductOffering"},
        "product": product,
        "itemTotalPrice": _prices(item.monthly_cents, item.one_time_cents, order.currency),
    }
    if item.requested_completion_at:
        view["requestedCompletionDate"] = iso(item.requested_completion_at)
    return view


def _kept(order: Order) -> dict[str, Any]:
    kept: dict[str, Any] = order.annotations.get("tmf", {})
    return kept


def _asked_items(order: Order) -> list[dict[str, Any]]:
    """The items of an order that the core did not take, as the buyer asked for them."""
    return [item | {"state": "rejected"} for item in _kept(order).get("productOrderItem", [])]


def order_view(request: Request, placed: ordering.OrderWithItems) -> dict[str, Any]:
    """A core order as a TMF622 ProductOrder."""
    order = placed.order
    kept = _kept(order)
    customer = {"id": order.party_id, "role": "customer", "@referredType": "Organization"}
    notes = list(kept.get("note", []))
    if order.state_reason:
        notes.append(
            {"author": "seller", "date": iso(order.updated_at), "text": order.state_reason}
        )
    view: dict[str, Any] = {name: kept[name] for name in KEPT if name in kept}
    view |= {
        "id": order.id,
        "href": href(request, BASE, "productOrder", order.id),
        "@type": "ProductOrder",
        "state": ORDER_STATES[order.state],
        "orderDate": iso(order.created_at),
        "channel": [{"id": order.channel.value, "name": order.channel.value, "role": "placed"}],
        "relatedParty": [customer, *(p for p in kept.get("relatedParty", []) if p != customer)],
        "billingAccount": {"id": order.billing_account_id, "@referredType": "BillingAccount"},
        "orderTotalPrice": _prices(order.monthly_cents, order.one_time_cents, order.currency),
        "productOrderItem": [item_view(request, order, i) for i in placed.items]
        or _asked_items(order),
    }
    if notes:
        view["note"] = notes
    optional = {
        "externalId": order.external_id,
        "description": order.description,
        "cancellationReason": order.cancellation_reason,
        "requestedCompletionDate": order.requested_completion_at,
        "expectedCompletionDate": order.expected_completion_at,
        "completionDate": order.completed_at,
    }
    for name, value in optional.items():
        if value is not None:
            view[name] = iso(value) if isinstance(value, datetime) else value
    if order.quote_id:
        view["quote"] = [{"id": order.quote_id, "@referredType": "Quote"}]
    return view


def cancellation_view(request: Request, order: Order) -> dict[str, Any]:
    """The cancellation request of an order as a TMF622 CancelProductOrder."""
    view: dict[str, Any] = {
        "id": order.id,
        "href": href(request, BASE, "cancelProductOrder", order.id),
        "@type": "CancelProductOrder",
        "state": CANCELLATION_VIEW_STATES[order.state],
        "productOrder": {
            "id": order.id,
            "href": href(request, BASE, "productOrder", order.id),
            "@referredType": "ProductOrder",
        },
    }
    if order.cancellation_reason:
        view["cancellationReason"] = order.cancellation_reason
    if order.state is OrderState.CANCELLED:
        view["effectiveCancellationDate"] = iso(order.completed_at or order.updated_at)
    return view


def _date(value: Any, name: str) -> datetime:
    try:
        return parse_date_time(value)
    except ValueError as exc:
        raise TMFError(400, "INVALID_VALUE", f"{name} {exc}") from exc


def _extra_text(model: BaseModel, name: str, where: str) -> str | None:
    """An attribute that a `@type` extension adds to a model (e.g. an address), as text."""
    value = (model.model_extra or {}).get(name)
    if value is not None and not isinstance(value, str):
        raise TMFError(400, "INVALID_VALUE", f"{where}.{name} must be a string")
    return value


async def _location(
    session: AsyncSession, principal: Principal, place: models.RelatedPlaceRefOrValue, where: str
) -> str:
    if place.id:
        # A GeographicSite of the caller or a GeographicAddress, whatever `@referredType` says.
        try:
            site = await geography.get_site(session, principal=principal, site_id=place.id)
            return site.location_id
        except NotFound:
            pass
        try:
            return (await geography.get_location(session, place.id, principal=principal)).id
        except NotFound as exc:
            raise TMFError(
                400, "INVALID_VALUE", f"{where}: no site or address '{place.id}'"
            ) from exc
    street_name = _extra_text(place, "streetName", where)
    address = geography.AddressInput(
        text=place.name if not street_name else None,
        street_number=_extra_text(place, "streetNr", where),
        street_name=street_name,
        city=_extra_text(place, "city", where),
        state=_extra_text(place, "stateOrProvince", where),
        postcode=_extra_text(place, "postcode", where),
        country=_extra_text(place, "country", where),
    )
    if not address.as_text().strip():
        raise TMFError(400, "MISSING_ATTRIBUTE", f"{where} needs an id or an address")
    located = await geography.resolve_address(
        session, address, field_name=where, party_id=principal.party_id
    )
    return located.id


def _characteristics(product: models.ProductRefOrValue | None, where: str) -> dict[str, Any]:
    given = (product.productCharacteristic or []) if product else []
    return product_characteristics(
        {"productCharacteristic": [{"name": c.name, "value": c.value.root} for c in given]}, where
    )


def _action(item: models.ProductOrderItem, index: int) -> ItemAction:
    try:
        return ItemAction(item.action.value)
    except ValueError as exc:
        raise TMFError(
            400, "INVALID_VALUE", f"productOrderItem[{index}].action must be add, modify or delete"
        ) from exc


async def _item_request(
    session: AsyncSession, principal: Principal, item: models.ProductOrderItem, index: int
) -> ItemRequest | str:
    """The core item a TMF item asks for, or what it lacks for the core to deliver it."""
    where = f"productOrderItem[{index}]"
    action = _action(item, index)
    product = item.product
    requested = item.model_extra.get("requestedCompletionDate") if item.model_extra else None
    common: dict[str, Any] = {
        "external_id": item.id,
        "requested_completion_at": (
            _date(requested, f"{where}.requestedCompletionDate") if requested else None
        ),
    }
    found = _characteristics(product, f"{where}.product")
    if action is not ItemAction.ADD:
        if product is None or not product.id:
            return f"{where} ({action.value}) lacks product.id, the product it changes"
        if action is ItemAction.DELETE:
            return ItemRequest(action=action, product_id=product.id, **common)
        current = await get_product(
            session, principal=principal, product_id=product.id, field_name=where
        )
        spec = current.spec()
        return ItemRequest(
            action=action,
            product_id=current.id,
            spec=ProductSpec(
                offering_id=spec.offering_id,
                a_location_id=spec.a_location_id,
                z_location_id=spec.z_location_id,
                bandwidth_mbps=found.get("bandwidth_mbps", spec.bandwidth_mbps),
                term_months=found.get("term_months", spec.term_months),
                class_of_service=found.get("class_of_service", spec.class_of_service),
            ),
            **common,
        )
    offering = item.productOffering or (product.productOffering if product else None)
    places = sorted(
        (product.place or []) if product else [],
        key=lambda p: {"a": 0, "z": 1}.get(p.role.lower()[:1], 2),
    )
    lacking = [
        *([] if offering else ["productOffering.id"]),
        *(
            []
            if {"bandwidth_mbps", "term_months"} <= set(found)
            else ["product.productCharacteristic 'bandwidth' and 'termMonths'"]
        ),
        *([] if places else ["product.place"]),
    ]
    if offering is None or lacking:
        return f"{where} (add) lacks {', '.join(lacking)}"
    ends = [
        await _location(session, principal, p, f"{where}.product.place[{i}]")
        for i, p in enumerate(places[:2])
    ]
    return ItemRequest(
        action=action,
        spec=ProductSpec(
            offering_id=offering.id,
            a_location_id=ends[0],
            z_location_id=ends[1] if len(ends) > 1 else None,
            bandwidth_mbps=found["bandwidth_mbps"],
            term_months=found["term_months"],
            class_of_service=found.get("class_of_service", ClassOfService.STANDARD),
        ),
        **common,
    )


async def _order(
    session: AsyncSession, principal: Principal, order_id: str
) -> ordering.OrderWithItems:
    try:
        return await ordering.get_order(session, principal=principal, order_id=order_id)
    except NotFound as exc:
        raise TMFError(404, "NOT_FOUND", f"no product order '{order_id}'") from exc


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """A core order event as the productOrder it notifies about."""
    if event.entity != EntityKind.ORDER:
        return None
    resource: dict[str, Any] = {"id": event.entity_id, "@type": "ProductOrder"}
    if event.state in set(OrderState):
        resource["state"] = ORDER_STATES[OrderState(event.state)]
    return "productOrder", resource


NOTIFYING = NotifyingAPI("productOrdering", describe)


# The attributes of an order that the core stores and filters on; any other filter (e.g.
# `relatedParty.id`, `productOrderItem.*`, `note.*`) is matched against the orders of the page.
def _asked(*where: str) -> Attribute[OrderField]:
    """Where an attribute of an item sits among the items the core did not take."""
    return in_document(OrderField.ANNOTATIONS, "tmf", "productOrderItem", *where)


def _whole(text: str) -> tuple[int, ...]:
    """A filter value compared with whole-number attributes (any other matches none of them)."""
    return (int(text),) if text.isdigit() and len(text) < 10 else ()


def _item(field: OrderField, values: Any = as_text, ordered: bool = False, *where: str) -> Any:
    """A filter on the items of orders: those the core took and, at `where`, those it did not."""
    also = _asked(*where) if where else None
    return Attribute(field, values, ordered=ordered, also=also)


_ITEM = "productOrderItem"
_ITEM_PRICE = f"{_ITEM}.itemTotalPrice"
_TOTAL = "orderTotalPrice"
_MONEY = "price.dutyFreeAmount"
FILTERS: dict[str, Attribute[OrderField]] = {
    # What the buyer sent that the core keeps as given, by any path below it.
    **{name: in_document(OrderField.ANNOTATIONS, "tmf", name) for name in KEPT},
    "@type": constant(OrderField.ID, "ProductOrder"),
    "id": Attribute(OrderField.ID, as_text),
    "state": Attribute(OrderField.STATE, by_name(ORDER_STATES)),
    "externalId": Attribute(OrderField.EXTERNAL_ID, as_text),
    "description": Attribute(OrderField.DESCRIPTION, as_text),
    "channel.id": Attribute(OrderField.CHANNEL, by_name({c: c.value for c in Channel})),
    "channel.name": Attribute(OrderField.CHANNEL, by_name({c: c.value for c in Channel})),
    "channel.role": constant(OrderField.ID, "placed"),
    "billingAccount.id": Attribute(OrderField.BILLING_ACCOUNT_ID, as_text),
    "billingAccount.@referredType": constant(OrderField.ID, "BillingAccount"),
    "quote.id": Attribute(OrderField.QUOTE_ID, as_text),
    "cancellationReason": Attribute(OrderField.CANCELLATION_REASON, as_text),
    "orderDate": Attribute(OrderField.CREATED_AT, as_date_time, ordered=True),
    "requestedCompletionDate": Attribute(
        OrderField.REQUESTED_COMPLETION_AT, as_date_time, ordered=True
    ),
    "expectedCompletionDate": Attribute(
        OrderField.EXPECTED_COMPLETION_AT, as_date_time, ordered=True
    ),
    "completionDate": Attribute(OrderField.COMPLETED_AT, as_date_time, ordered=True),
    # The buyer (role `customer`) and the parties the buyer named.
    **buyer_and_related_parties(OrderField.PARTY_ID, OrderField.ANNOTATIONS, "tmf"),
    # The seller's note says why the order is in its state (and when that was said).
    "note.text": Attribute(
        OrderField.STATE_REASON,
        as_text,
        also=in_document(OrderField.ANNOTATIONS, "tmf", "note", "text"),
    ),
    "note.author": Attribute(
        OrderField.REASON_GIVEN,
        lambda text: (True,) if text == "seller" else (),
        also=in_document(OrderField.ANNOTATIONS, "tmf", "note", "author"),
    ),
    "note.date": Attribute(
        OrderField.REASON_AT,
        as_date_time,
        ordered=True,
        also=in_document(OrderField.ANNOTATIONS, "tmf", "note", "date"),
    ),
    # The monthly and one-time prices of the order.
    f"{_TOTAL}.{_MONEY}.value": Attribute(
        OrderField.MONTHLY_CENTS,
        as_cents,
        ordered=True,
        also=Attribute(OrderField.ONE_TIME_CENTS, as_cents, ordered=True),
    ),
    f"{_TOTAL}.{_MONEY}.unit": Attribute(OrderField.CURRENCY, as_text),
    f"{_TOTAL}.priceType": constant(OrderField.ID, "recurring", "oneTime"),
    f"{_TOTAL}.name": constant(OrderField.ID, "monthly recurring", "one time"),
    f"{_TOTAL}.recurringChargePeriod": constant(OrderField.ID, "month"),
    f"{_TOTAL}.@type": constant(OrderField.ID, "OrderPrice"),
    # The items the core took and, as the buyer asked for them, those it did not.
    f"{_ITEM}.id": _item(OrderField.ITEM_ID, as_text, False, "id"),
    f"{_ITEM}.action": _item(
        OrderField.ITEM_ACTION, by_name({a: a.value for a in ordering.ItemAction}), False, "action"
    ),
    # An order the core took no item of shows the items asked for, each rejected.
    f"{_ITEM}.state": Attribute(
        OrderField.ITEM_STATE,
        by_name({state: ITEM_STATES.get(state, state.value) for state in ordering.ItemState}),
        also=Attribute(
            OrderField.WITHOUT_ITEMS, lambda text: (True,) if text == "rejected" else ()
        ),
    ),
    # An item the core took is one product.
    f"{_ITEM}.quantity": Attribute(
        OrderField.ANNOTATIONS,
        as_text,
        ordered=True,
        document=("tmf", _ITEM, "quantity"),
        constant=("1",),
    ),
    f"{_ITEM}.productOffering.id": _item(
        OrderField.ITEM_OFFERING_ID, as_text, False, "productOffering", "id"
    ),
    f"{_ITEM}.product.id": _item(OrderField.ITEM_PRODUCT_ID, as_text, False, "product", "id"),
    f"{_ITEM}.product.place.id": _item(
        OrderField.ITEM_PLACE_ID, as_text, False, "product", "place", "id"
    ),
    f"{_ITEM}.requestedCompletionDate": _item(
        OrderField.ITEM_REQUESTED_COMPLETION_AT, as_date_time, True, "requestedCompletionDate"
    ),
    f"{_ITEM_PRICE}.{_MONEY}.value": Attribute(
        OrderField.ITEM_MONTHLY_CENTS,
        as_cents,
        ordered=True,
        also=Attribute(OrderField.ITEM_ONE_TIME_CENTS, as_cents, ordered=True),
    ),
    f"{_ITEM_PRICE}.{_MONEY}.unit": Attribute(OrderField.CURRENCY, as_text),
    f"{_ITEM_PRICE}.priceType": constant(OrderField.ID, "recurring", "oneTime"),
    f"{_ITEM_PRICE}.name": constant(OrderField.ID, "monthly recurring", "one time"),
    f"{_ITEM_PRICE}.recurringChargePeriod": constant(OrderField.ID, "month"),
    f"{_ITEM_PRICE}.@type": constant(OrderField.ID, "OrderPrice"),
    "href": linked(OrderField.ID, BASE, "productOrder"),
    f"{_ITEM}.@type": constant(OrderField.ID, "ProductOrderItem"),
    f"{_ITEM}.productOffering.@referredType": constant(OrderField.ID, "ProductOffering"),
    f"{_ITEM}.product.@type": constant(OrderField.ID, "Product"),
    f"{_ITEM}.product.href": linked(OrderField.ITEM_PRODUCT_ID, INVENTORY_BASE, "product"),
    # Every item has an A end; those that join two ends a Z end.
    f"{_ITEM}.product.place.role": Attribute(
        OrderField.ITEM_TWO_ENDS,
        lambda text: (True,) if text == "Z-End" else (),
        constant=("A-End",),
    ),
    # An A end is a site; a Z end without one is an address.
    f"{_ITEM}.product.place.@referredType": Attribute(
        OrderField.ITEM_Z_ADDRESS,
        lambda text: (True,) if text == "GeographicAddress" else (),
        constant=("GeographicSite",),
    ),
    # The speed, term and class of service of each item.
    f"{_ITEM}.product.productCharacteristic.name": constant(
        OrderField.ID, "bandwidth", "termMonths", "classOfService"
    ),
    f"{_ITEM}.product.productCharacteristic.valueType": constant(
        OrderField.ID, "integer", "string"
    ),
    f"{_ITEM}.product.productCharacteristic.value": Attribute(
        OrderField.ITEM_BANDWIDTH_MBPS,
        _whole,
        ordered=True,
        also=Attribute(
            OrderField.ITEM_TERM_MONTHS,
            _whole,
            ordered=True,
            also=_item(
                OrderField.ITEM_CLASS_OF_SERVICE,
                as_text,
                False,
                "product",
                "productCharacteristic",
                "value",
            ),
        ),
    ),
}
# TMF622 attributes that filter after the page is read: none.
AFTER_PAGE: frozenset[str] = frozenset()
CANCELLATION_FILTERS: dict[str, Attribute[OrderField]] = {
    "id": Attribute(OrderField.ID, as_text),
    "href": linked(OrderField.ID, BASE, "cancelProductOrder"),
    "@type": constant(OrderField.ID, "CancelProductOrder"),
    "productOrder.id": Attribute(OrderField.ID, as_text),
    "productOrder.href": linked(OrderField.ID, BASE, "productOrder"),
    "productOrder.@referredType": constant(OrderField.ID, "ProductOrder"),
    "state": Attribute(OrderField.STATE, by_name(CANCELLATION_VIEW_STATES)),
    "cancellationReason": Attribute(OrderField.CANCELLATION_REASON, as_text),
}


class ProductOrderPatch(models.ProductOrderUpdate):
    """`ProductOrder_Update` as a merge patch: no attribute is mandatory."""

    productOrderItem: list[models.ProductOrderItem] | None = None  # type: ignore[assignment]  # optional in a patch


router = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF622 product ordering"])


@router.post("/productOrder", status_code=201, response_model=models.ProductOrder)
async def create_order(
    body: models.ProductOrderCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Place an order (rejected at once, with the reason, when an item lacks what the seller
    needs to deliver it)."""
    check_item_count(len(body.productOrderItem), field_name="productOrderItem")
    asked = [
        await _item_request(session, principal, item, i)
        for i, item in enumerate(body.productOrderItem)
    ]
    given = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    kept = {name: given[name] for name in KEPT if given.get(name) is not None}
    lacking = [a for a in asked if isinstance(a, str)]
    if lacking:
        order = await ordering.reject(
            session,
            principal=principal,
            channel=Channel.TMF,
            reason="; ".join(lacking),
            asked=[(item.id, _action(item, i)) for i, item in enumerate(body.productOrderItem)],
            external_id=body.externalId,
            description=body.description,
            annotations={"tmf": kept | {"productOrderItem": given["productOrderItem"]}},
        )
        placed = ordering.OrderWithItems(order, [])
    else:
        placed = await ordering.place(
            session,
            principal=principal,
            items=[a for a in asked if isinstance(a, ItemRequest)],
            channel=Channel.TMF,
            external_id=body.externalId,
            description=body.description,
            quote_id=body.quote[0].id if body.quote else None,
            billing_account_id=body.billingAccount.id if body.billingAccount else None,
            requested_completion_at=body.requestedCompletionDate,
            annotations={"tmf": kept} if kept else None,
        )
    view = order_view(request, placed)
    return tmf_json(view, status=201, headers={"Location": view["href"]})


@router.get("/productOrder", response_model=list[models.ProductOrder])
async def list_orders(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's orders, newest first."""
    conditions, after = query.conditions(FILTERS, AFTER_PAGE)
    page = await ordering.page_orders(
        session, principal=principal, conditions=conditions, offset=query.offset, limit=query.limit
    )
    items = await ordering.items_by_order(
        session, principal=principal, order_ids=[o.id for o in page.items]
    )
    views = await views_of(
        page.items, lambda o: order_view(request, ordering.OrderWithItems(o, items[o.id]))
    )
    return await listed(query, views, total=page.total, after=after)


@router.get("/productOrder/{id}", response_model=models.ProductOrder)
async def get_order(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One order."""
    return resource(query, order_view(request, await _order(session, principal, id)))


@router.patch("/productOrder/{id}", response_model=models.ProductOrder)
async def patch_order(
    id: str,
    body: ProductOrderPatch,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change what the buyer owns of an order (merge patch): its external id, description,
    requested completion date and the attributes kept as given; what the seller sets may be
    repeated, not changed."""
    placed = await _order(session, principal, id)
    given = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    current = order_view(request, placed)
    changed = [n for n in SELLER_OWNED if n in given and not repeats(given[n], current.get(n))]
    if changed:
        raise TMFError(
            400,
            "NOT_PATCHABLE",
            f"{', '.join(changed)} are set by the seller (cancel an order with cancelProductOrder)",
        )
    kept = {
        name: value
        for name, value in (_kept(placed.order) | {n: given[n] for n in KEPT if n in given}).items()
        if value is not None
    }
    if {"externalId", "description"} & set(given) or kept != _kept(placed.order):
        await ordering.annotate(
            session,
            principal=principal,
            order_id=id,
            annotations={"tmf": kept} if kept != _kept(placed.order) else None,
            external_id=(body.externalId or "") if "externalId" in given else None,
            description=(body.description or "") if "description" in given else None,
        )
    if body.requestedCompletionDate is not None:
        for item in placed.items:
            await ordering.change_requested_completion(
                session,
                principal=principal,
                order_id=id,
                item_id=item.id,
                requested_completion_at=body.requestedCompletionDate,
            )
    return tmf_json(order_view(request, await _order(session, principal, id)))


@router.delete("/productOrder/{id}", status_code=204)
async def delete_order(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Orders are kept for the record: refused with 405 (cancel with cancelProductOrder)."""
    await _order(session, principal, id)
    raise TMFError(
        405,
        "METHOD_NOT_ALLOWED",
        "orders are kept for the record; ask for a cancellation with cancelProductOrder",
    )


@router.post("/cancelProductOrder", status_code=201, response_model=models.CancelProductOrder)
async def create_cancellation(
    body: models.CancelProductOrderCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Ask for an order to be cancelled."""
    order_id = body.productOrder.id
    try:
        await _order(session, principal, order_id)
    except TMFError as exc:
        # TMF622 documents no 404 on create: an order the caller cannot see (another party's,
        # like a missing one) is a bad value of the body.
        raise TMFError(400, "INVALID_VALUE", f"no product order '{order_id}'") from exc
    order = await ordering.request_cancellation(
        session, principal=principal, order_id=order_id, reason=body.cancellationReason or ""
    )
    view = cancellation_view(request, order)
    return tmf_json(view, status=201, headers={"Location": view["href"]})


@router.get("/cancelProductOrder", response_model=list[models.CancelProductOrder])
async def list_cancellations(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The cancellation requests of the caller's orders."""
    conditions, after = query.conditions(CANCELLATION_FILTERS, AFTER_PAGE)
    page = await ordering.page_orders(
        session,
        principal=principal,
        conditions=conditions,
        offset=query.offset,
        limit=query.limit,
        cancellation_asked=True,
    )
    views = [cancellation_view(request, o) for o in page.items]
    return await listed(query, views, total=page.total, after=after)


@router.get("/cancelProductOrder/{id}", response_model=models.CancelProductOrder)
async def get_cancellation(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One cancellation request."""
    order = (await _order(session, principal, id)).order
    if order.cancellation_reason is None and order.state not in CANCELLATION_STATES:
        raise TMFError(404, "NOT_FOUND", f"no cancellation request '{id}'")
    return resource(query, cancellation_view(request, order))


add_hub_routes(router, NOTIFYING)
