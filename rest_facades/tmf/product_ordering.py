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
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import geography, ordering
from app.core.catalog import ClassOfService, ProductSpec
from app.core.errors import NotFound
from app.core.events import Channel, Event
from app.core.inventory import get_product
from app.core.ordering import ItemAction, ItemRequest, Order, OrderItem, OrderState
from app.core.parties import Principal
from app.core.qualification import check_item_count
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.values import parse_date_time
from rest_facades.tmf.common import (
    a_list,
    a_reference,
    a_text,
    an_object,
    href,
    iso,
    listing,
    one,
    product_characteristics,
    read_body,
)
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes

BASE = "/tmf-api/productOrderingManagement/v4"

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
PATCHABLE = {"externalId", "requestedCompletionDate"}


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
            "href": href(request, "/tmf-api/productInventory/v4", "product", item.product_id),
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


def order_view(request: Request, placed: ordering.OrderWithItems) -> dict[str, Any]:
    """A core order as a TMF622 ProductOrder."""
    order = placed.order
    view: dict[str, Any] = {
        "id": order.id,
        "href": href(request, BASE, "productOrder", order.id),
        "@type": "ProductOrder",
        "state": ORDER_STATES[order.state],
        "orderDate": iso(order.created_at),
        "channel": [{"id": order.channel.value, "name": order.channel.value, "role": "placed"}],
        "relatedParty": [
            {"id": order.party_id, "role": "customer", "@referredType": "Organization"}
        ],
        "billingAccount": {"id": order.billing_account_id, "@referredType": "BillingAccount"},
        "orderTotalPrice": _prices(order.monthly_cents, order.one_time_cents, order.currency),
        "productOrderItem": [item_view(request, order, i) for i in placed.items],
    }
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
        # A request the seller declined leaves the order as it was.
        "state": CANCELLATION_STATES.get(order.state, "terminatedWithError"),
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


async def _location(
    session: AsyncSession, principal: Principal, place: dict[str, Any], where: str
) -> str:
    if place.get("id"):
        # A GeographicSite of the caller or a GeographicAddress, whatever `@referredType` says.
        place_id = str(place["id"])
        try:
            site = await geography.get_site(session, principal=principal, site_id=place_id)
            return site.location_id
        except NotFound:
            pass
        try:
            return (await geography.get_location(session, place_id)).id
        except NotFound as exc:
            raise TMFError(
                400, "INVALID_VALUE", f"{where}: no site or address '{place_id}'"
            ) from exc
    address = geography.AddressInput(
        text=place.get("name") if not place.get("streetName") else None,
        street_number=place.get("streetNr"),
        street_name=place.get("streetName"),
        city=place.get("city"),
        state=place.get("stateOrProvince"),
        postcode=place.get("postcode"),
        country=place.get("country"),
    )
    if not address.as_text().strip():
        raise TMFError(400, "MISSING_ATTRIBUTE", f"{where} needs an id or an address")
    return (await geography.resolve_address(session, address, field_name=where)).id


async def _item_request(
    session: AsyncSession, principal: Principal, raw: Any, index: int
) -> ItemRequest:
    where = f"productOrderItem[{index}]"
    if not isinstance(raw, dict):
        raise TMFError(400, "INVALID_VALUE", f"{where} must be an object")
    if not raw.get("id") or not raw.get("action"):
        raise TMFError(400, "MISSING_ATTRIBUTE", f"{where}.id and {where}.action are mandatory")
    try:
        action = ItemAction(raw["action"])
    except ValueError as exc:
        raise TMFError(
            400, "INVALID_VALUE", f"{where}.action must be add, modify or delete"
        ) from exc
    product = an_object(raw.get("product"), f"{where}.product")
    requested = raw.get("requestedCompletionDate")
    common: dict[str, Any] = {
        "external_id": str(raw["id"]),
        "requested_completion_at": (
            _date(requested, f"{where}.requestedCompletionDate") if requested else None
        ),
    }
    found = product_characteristics(product, f"{where}.product")
    if action is not ItemAction.ADD:
        if not product.get("id"):
            raise TMFError(400, "MISSING_ATTRIBUTE", f"{where}.product.id is mandatory")
        if action is ItemAction.DELETE:
            return ItemRequest(action=action, product_id=str(product["id"]), **common)
        current = await get_product(
            session, principal=principal, product_id=str(product["id"]), field_name=where
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
    offering = a_text(
        (
            an_object(raw.get("productOffering"), f"{where}.productOffering")
            or an_object(product.get("productOffering"), f"{where}.product.productOffering")
        ).get("id"),
        f"{where}.productOffering.id",
    )
    if not offering:
        raise TMFError(400, "MISSING_ATTRIBUTE", f"{where}.productOffering.id is mandatory")
    if "bandwidth_mbps" not in found or "term_months" not in found:
        raise TMFError(
            400,
            "MISSING_ATTRIBUTE",
            f"{where}.product.productCharacteristic needs 'bandwidth' and 'termMonths'",
        )
    places = [
        p for p in a_list(product.get("place"), f"{where}.product.place") if isinstance(p, dict)
    ]
    places.sort(key=lambda p: {"a": 0, "z": 1}.get(str(p.get("role", "")).lower()[:1], 2))
    if not places:
        raise TMFError(400, "MISSING_ATTRIBUTE", f"{where}.product.place is mandatory")
    ends = [
        await _location(session, principal, p, f"{where}.product.place[{i}]")
        for i, p in enumerate(places[:2])
    ]
    return ItemRequest(
        action=action,
        spec=ProductSpec(
            offering_id=str(offering),
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
    if event.entity != "order":
        return None
    resource: dict[str, Any] = {"id": event.entity_id, "@type": "ProductOrder"}
    if event.state in set(OrderState):
        resource["state"] = ORDER_STATES[OrderState(event.state)]
    return "productOrder", resource


NOTIFYING = NotifyingAPI("productOrdering", describe)


def router() -> APIRouter:
    """The TMF622 endpoints."""
    routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF622 product ordering"])

    async def all_orders(session: AsyncSession, principal: Principal) -> list[Order]:
        return list((await session.exec(ordering.orders_query(principal=principal))).all())

    @routes.post("/productOrder", status_code=201)
    async def create_order(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Place an order."""
        body = await read_body(request)
        raw_items = body.get("productOrderItem")
        if not isinstance(raw_items, list) or not raw_items:
            raise TMFError(400, "MISSING_ATTRIBUTE", "productOrderItem is mandatory")
        check_item_count(len(raw_items), field_name="productOrderItem")
        items = [await _item_request(session, principal, raw, i) for i, raw in enumerate(raw_items)]
        requested = body.get("requestedCompletionDate")
        quotes = [an_object(q, "quote[]") for q in a_list(body.get("quote"), "quote")]
        billing = a_reference(body.get("billingAccount"), "billingAccount")
        placed = await ordering.place(
            session,
            principal=principal,
            items=items,
            channel=Channel.TMF,
            external_id=a_text(body.get("externalId"), "externalId"),
            description=a_text(body.get("description"), "description"),
            quote_id=a_text(quotes[0].get("id"), "quote[0].id") if quotes else None,
            billing_account_id=billing,
            requested_completion_at=(
                _date(requested, "requestedCompletionDate") if requested else None
            ),
        )
        view = order_view(request, placed)
        return tmf_json(view, status=201, headers={"Location": view["href"]})

    @routes.get("/productOrder")
    async def list_orders(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The caller's orders, newest first."""
        orders = await all_orders(session, principal)
        items = await ordering.items_by_order(
            session, principal=principal, order_ids=[o.id for o in orders]
        )
        views = [order_view(request, ordering.OrderWithItems(o, items[o.id])) for o in orders]
        return listing(request, views)

    @routes.get("/productOrder/{id}")
    async def get_order(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One order."""
        return one(request, order_view(request, await _order(session, principal, id)))

    @routes.patch("/productOrder/{id}")
    async def patch_order(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Change the external id or the requested completion date of an order (merge patch)."""
        placed = await _order(session, principal, id)
        patch = await read_body(request)
        refused = sorted(set(patch) - PATCHABLE)
        if refused:
            raise TMFError(400, "NOT_PATCHABLE", f"{', '.join(refused)} cannot be changed")
        if "externalId" in patch:
            placed = await ordering.annotate(
                session,
                principal=principal,
                order_id=id,
                external_id=a_text(patch["externalId"], "externalId") or "",
            )
        if patch.get("requestedCompletionDate"):
            when = _date(patch["requestedCompletionDate"], "requestedCompletionDate")
            for item in placed.items:
                placed = await ordering.change_requested_completion(
                    session,
                    principal=principal,
                    order_id=id,
                    item_id=item.id,
                    requested_completion_at=when,
                )
        return tmf_json(order_view(request, await _order(session, principal, id)))

    @routes.delete("/productOrder/{id}", status_code=204)
    async def delete_order(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
        """Orders are kept for the record: refused with 405 (cancel with cancelProductOrder)."""
        await _order(session, principal, id)
        raise TMFError(
            405,
            "METHOD_NOT_ALLOWED",
            "orders are kept for the record; ask for a cancellation with cancelProductOrder",
        )

    @routes.post("/cancelProductOrder", status_code=201)
    async def create_cancellation(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Ask for an order to be cancelled."""
        body = await read_body(request)
        order_id = a_reference(body.get("productOrder"), "productOrder")
        if not order_id:
            raise TMFError(400, "MISSING_ATTRIBUTE", "productOrder.id is mandatory")
        reason = a_text(body.get("cancellationReason"), "cancellationReason")
        try:
            await _order(session, principal, order_id)
        except TMFError as exc:
            # TMF622 documents no 404 on create: an order the caller cannot see (another
            # party's, like a missing one) is a bad value of the body.
            raise TMFError(400, "INVALID_VALUE", f"no product order '{order_id}'") from exc
        order = await ordering.request_cancellation(
            session, principal=principal, order_id=order_id, reason=reason or ""
        )
        view = cancellation_view(request, order)
        return tmf_json(view, status=201, headers={"Location": view["href"]})

    @routes.get("/cancelProductOrder")
    async def list_cancellations(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The cancellation requests of the caller's orders."""
        asked = [
            o
            for o in await all_orders(session, principal)
            if o.cancellation_reason is not None or o.state in CANCELLATION_STATES
        ]
        return listing(request, [cancellation_view(request, o) for o in asked])

    @routes.get("/cancelProductOrder/{id}")
    async def get_cancellation(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One cancellation request."""
        order = (await _order(session, principal, id)).order
        if order.cancellation_reason is None and order.state not in CANCELLATION_STATES:
            raise TMFError(404, "NOT_FOUND", f"no cancellation request '{id}'")
        return one(request, cancellation_view(request, order))

    add_hub_routes(routes, NOTIFYING)
    return routes
