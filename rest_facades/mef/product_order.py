"""MEF 123 Product Order: orders, cancellation, requested-date changes, charges and the hub."""

import math
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import col

from app.core import clock, events, ordering, quoting
from app.core.errors import NotFound
from app.core.events import Event, EventKind
from app.core.paging import fetch_page
from app.core.parties import Party
from rest_facades.common.values import parse_date_time
from rest_facades.mef.errors import MEFError, MEFRoute, mef_json, pointer, unprocessable
from rest_facades.mef.flavours import SELLER_ID, Flavour
from rest_facades.mef.hub import NotifyingAPI, add_hub_routes
from rest_facades.mef.product_inventory import configuration
from rest_facades.mef.products import product_types
from rest_facades.mef.requested_products import (
    DEFAULT_TERM_MONTHS,
    iso,
    kind_of_offering,
    requested_spec,
)
from rest_facades.mef.requests import Caller, ListWindow, MEFCaller, dump, listing, parse_body
from rest_facades.mef.vocabulary import from_mef, to_mef

API = "product_order"
# Item attributes the core does not interpret; kept as sent and returned as they were.
ITEM_ANNOTATIONS = (
    "agreementName",
    "billingAccount",
    "coordinatedAction",
    "endCustomerName",
    "expediteIndicator",
    "note",
    "productOfferingQualificationItem",
    "productOrderItemRelationship",
    "quoteItem",
    "relatedBuyerPON",
    "relatedContactInformation",
    "requestedItemTerm",
    "tspRestorationPriority",
)
ORDER_ANNOTATIONS = ("note", "projectId", "relatedContactInformation")
_DAYS_PER_UNIT = {
    "calendarMonths": 30.0,
    "calendarDays": 1.0,
    "businessDays": 1.4,
    "calendarHours": 1 / 24,
    "businessHours": 1 / 8,
    "calendarMinutes": 1 / 1440,
    "businessMinutes": 1 / 480,
}


def _term_months(raw_item: dict[str, Any]) -> int:
    duration = (raw_item.get("requestedItemTerm") or {}).get("duration") or {}
    amount, units = duration.get("amount"), duration.get("units")
    if not isinstance(amount, int) or units not in _DAYS_PER_UNIT:
        return DEFAULT_TERM_MONTHS
    if units == "calendarMonths":
        return amount
    return max(1, math.ceil(amount * _DAYS_PER_UNIT[units] / 30))


async def _item_request(
    flavour: Flavour, caller: Caller, raw: dict[str, Any], index: int
) -> tuple[ordering.ItemRequest | None, list[tuple[str, str, str]]]:
    """The core's item for one MEF order item, or the problems that stop it."""
    product = raw.get("product") or {}
    spec, problems = await requested_spec(
        flavour,
        API,
        caller,
        action=raw["action"],
        product=product,
        where=f"/productOrderItem/{index}",
        buyer=caller.buyer_id or caller.principal.party_id,
        term_months=_term_months(raw) if "requestedItemTerm" in raw else None,
    )
    if spec is None or problems:
        return None, problems
    action = ordering.ItemAction(raw["action"])
    requested = raw.get("requestedCompletionDate")
    annotations = {k: raw[k] for k in ITEM_ANNOTATIONS if k in raw}
    annotations["place"] = product.get("place", [])
    return ordering.ItemRequest(
        action=action,
        spec=None if action is ordering.ItemAction.DELETE else spec,
        product_id=str(product["id"]) if action is not ordering.ItemAction.ADD else None,
        external_id=raw["id"],
        requested_completion_at=parse_date_time(requested) if requested else None,
        configuration=product.get("productConfiguration"),
        annotations=annotations,
    ), []


def _contacts(order: ordering.Order, buyer: Party | None) -> list[dict[str, Any]]:
    """The buyer's contacts as sent; for orders placed elsewhere, the buyer party itself."""
    sent = order.annotations.get("relatedContactInformation")
    if sent:
        return list(sent)
    name = buyer.name if buyer else order.party_id
    return [
        {
            "role": "buyerContactInformation",
            "name": name,
            "emailAddress": (buyer.email if buyer and buyer.email else "orders@lumen.example"),
            "number": "+1 000 000 0000",
        }
    ]


def order_view(
    flavour: Flavour,
    caller: Caller,
    order: ordering.Order,
    items: list[ordering.OrderItem],
    history: list[Event],
    buyer: Party | None,
) -> dict[str, Any]:
    """A core order as a MEF ProductOrder (validated by the generated model)."""
    models = flavour.models(API)
    href = caller.href(flavour.base_path(API), "productOrder", order.id)
    order_states = models.MEFProductOrderStateType
    item_states = models.MEFProductOrderItemStateType
    order_changes = [
        e
        for e in history
        if e.entity == "order"
        and e.state
        and e.kind in {EventKind.CREATED, EventKind.STATE_CHANGED}
    ]
    body: dict[str, Any] = {
        "id": order.id,
        "href": href,
        "externalId": order.external_id,
        "orderDate": iso(order.created_at),
        "completionDate": iso(order.completed_at),
        "state": to_mef(order.state, order_states),
        "cancellationReason": order.cancellation_reason,
        "cancellationDate": iso(order.updated_at)
        if order.state is ordering.OrderState.CANCELLED
        else None,
        "relatedContactInformation": _contacts(order, buyer),
        "stateChange": [
            {"changeDate": iso(e.occurred_at), "state": to_mef(e.state, order_states)}
            for e in order_changes
            if e.state
        ],
        **{k: order.annotations[k] for k in ("note", "projectId") if k in order.annotations},
        "productOrderItem": [],
    }
    configurations = [_configuration(flavour, item) for item in items]
    for item, shown in zip(items, configurations, strict=True):
        changes = [
            e
            for e in history
            if e.entity == "order_item"
            and e.entity_id == item.id
            and e.kind == EventKind.STATE_CHANGED
            and e.state
        ]
        product: dict[str, Any] = {
            "productOffering": {"id": item.offering_id},
            "productConfiguration": {"@type": shown.get("@type")},
            "place": item.annotations.get("place")
            or [
                {"@type": "GeographicAddressRef", "role": role, "id": location}
                for role, location in (
                    ("INSTALL_LOCATION", item.a_location_id),
                    ("INSTALL_LOCATION", item.z_location_id),
                )
                if location
            ],
        }
        if item.product_id:
            product["id"] = item.product_id
        body["productOrderItem"].append(
            {
                "id": item.external_id or str(item.position),
                "action": item.action.value,
                "state": to_mef(item.state, item_states),
                "product": product,
                "requestedCompletionDate": iso(item.requested_completion_at),
                "expectedCompletionDate": iso(item.expected_completion_at),
                "completionDate": iso(item.completed_at),
                "itemTerm": [
                    {
                        "name": "term",
                        "endOfTermAction": "roll",
                        "duration": {"amount": item.term_months, "units": "calendarMonths"},
                    }
                ],
                "stateChange": [
                    {"changeDate": iso(e.occurred_at), "state": to_mef(e.state or "", item_states)}
                    for e in changes
                ],
                **{k: v for k, v in item.annotations.items() if k in ITEM_ANNOTATIONS},
            }
        )
    if not items:
        # An order the seller rejected as it was asked (through TMF), before any item was taken.
        body["productOrderItem"] = [
            {"id": item_id, "action": action.value, "state": "rejected"}
            for item_id, action in ordering.asked_items(order)
        ]
    answer = dump(
        models.ProductOrder.model_validate({k: v for k, v in body.items() if v is not None})
    )
    # The generated model keeps only `@type` of a configuration; return it whole.
    for view, shown in zip(answer["productOrderItem"], configurations, strict=False):
        view["product"]["productConfiguration"] = shown
    return answer


def _configuration(flavour: Flavour, item: ordering.OrderItem) -> dict[str, Any]:
    """An item's configuration as ordered, or, for an item ordered without one (through TMF,
    by characteristics), built from what it orders, valid for the product schema it names."""
    kind = kind_of_offering(item.offering_id)
    if item.configuration or kind is None:
        return item.configuration or {"@type": next(iter(product_types(flavour).values()))}
    return configuration(flavour, kind, item)


async def _history(
    caller: Caller, order: ordering.Order, items: list[ordering.OrderItem]
) -> list[Event]:
    return await events.list_events(
        caller.session,
        principal=caller.principal,
        entity_ids=[order.id, *(i.id for i in items)],
        limit=1000,
    )


def _find_view(flavour: Flavour, order: ordering.Order) -> Any:
    models = flavour.models(API)
    return dump(
        models.ProductOrderFind(
            id=order.id,
            externalId=order.external_id,
            orderDate=order.created_at,
            completionDate=order.completed_at,
            state=to_mef(order.state, models.MEFProductOrderStateType),
            projectId=order.annotations.get("projectId"),
        )
    )


async def _quote_of(caller: Caller, raw_items: list[dict[str, Any]]) -> str | None:
    """The quote that the items' `quoteItem` references name (one quote per order); an item of
    a quote is named as the quote shows it (the buyer's item id, or its position)."""
    refs = [
        (i, item["quoteItem"])
        for i, item in enumerate(raw_items)
        if isinstance(item.get("quoteItem"), dict)
    ]
    if not refs:
        return None
    quote_ids = {str(ref.get("quoteId")) for _, ref in refs}
    if len(quote_ids) > 1:
        raise unprocessable(
            [("invalidValue", "one order takes items of one quote", "/productOrderItem")]
        )
    quote_id = quote_ids.pop()
    try:
        found = await quoting.get_quote(
            caller.session, principal=caller.principal, quote_id=quote_id
        )
    except NotFound as exc:
        raise unprocessable(
            [
                (
                    "referenceNotFound",
                    exc.message,
                    f"/productOrderItem/{refs[0][0]}/quoteItem/quoteId",
                )
            ]
        ) from exc
    names = {item.external_id or str(item.position) for item in found.items}
    missing = [(i, ref) for i, ref in refs if str(ref.get("id")) not in names]
    if missing:
        raise unprocessable(
            [
                (
                    "referenceNotFound",
                    f"no item '{ref.get('id')}' in the quote",
                    f"/productOrderItem/{i}/quoteItem/id",
                )
                for i, ref in missing
            ]
        )
    return quote_id


def router(flavour: Flavour) -> APIRouter:
    """The MEF 123 endpoints of one flavour."""
    routes = APIRouter(
        prefix=flavour.base_path(API).rstrip("/"),
        route_class=MEFRoute,
        tags=[f"{flavour.name}: product ordering (MEF 123)"],
    )
    models = flavour.models(API)

    async def view(caller: Caller, order_id: str) -> dict[str, Any]:
        found = await ordering.get_order(
            caller.session, principal=caller.principal, order_id=order_id
        )
        buyer = await caller.session.get(Party, found.order.party_id)
        history = await _history(caller, found.order, found.items)
        return order_view(flavour, caller, found.order, found.items, history, buyer)

    @routes.post("/productOrder", status_code=201)
    async def create_order(request: Request, caller: MEFCaller) -> Response:
        """Place an order."""
        body, raw = await parse_body(request, models.ProductOrderCreate, items="productOrderItem")
        requests: list[ordering.ItemRequest] = []
        problems: list[tuple[str, str, str]] = []
        ids = [item["id"] for item in raw["productOrderItem"]]
        if len(set(ids)) != len(ids):
            problems.append(
                ("invalidValue", "item ids must be unique in an order", "/productOrderItem")
            )
        for index, item in enumerate(raw["productOrderItem"]):
            built, item_problems = await _item_request(flavour, caller, item, index)
            problems += item_problems
            if built is not None:
                requests.append(built)
        if problems:
            raise unprocessable(problems)
        quote_id = await _quote_of(caller, raw["productOrderItem"])
        placed = await ordering.place(
            caller.session,
            principal=caller.principal,
            items=requests,
            channel=flavour.channel,
            buyer_party_id=caller.buyer_id,
            quote_id=quote_id,
            external_id=body.externalId,
            annotations={k: raw[k] for k in ORDER_ANNOTATIONS if k in raw},
        )
        answer = await view(caller, placed.order.id)
        return mef_json(answer, status=201, headers={"Location": answer["href"]})

    @routes.get("/productOrder")
    async def list_orders(
        caller: MEFCaller,
        window: ListWindow,
        state: str | None = None,
        external_id: str | None = Query(None, alias="externalId"),
        project_id: str | None = Query(None, alias="projectId"),
        order_date_gt: datetime | None = Query(None, alias="orderDate.gt"),
        order_date_lt: datetime | None = Query(None, alias="orderDate.lt"),
    ) -> Response:
        """The caller's orders, newest first, filtered as the spec allows."""
        states: set[ordering.OrderState] | None = None
        if state is not None:
            try:
                states = {ordering.OrderState(from_mef(state, ordering.OrderState))}
            except KeyError:
                raise MEFError(
                    400, {"code": "invalidQuery", "reason": f"'{state}' is not an order state"}
                ) from None
        statement = ordering.orders_query(principal=caller.principal, states=states)
        if external_id is not None:
            statement = statement.where(ordering.Order.external_id == external_id)
        if order_date_gt is not None:
            statement = statement.where(col(ordering.Order.created_at) > order_date_gt)
        if order_date_lt is not None:
            statement = statement.where(col(ordering.Order.created_at) < order_date_lt)
        page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
        found = [
            o
            for o in page.items
            if project_id is None or o.annotations.get("projectId") == project_id
        ]
        return listing([_find_view(flavour, o) for o in found], total=page.total)

    @routes.get("/productOrder/{id}")
    async def get_order(id: str, caller: MEFCaller) -> Response:
        """One order."""
        return mef_json(await view(caller, id))

    @routes.patch("/productOrder/{id}")
    async def update_order(id: str, request: Request, caller: MEFCaller) -> Response:
        """Change the buyer's references of an order (not what it buys)."""
        body, raw = await parse_body(request, models.ProductOrderUpdate)
        # A merge patch's null removes a member; nothing the buyer gave an order can be removed.
        nulls = [name for name, value in raw.items() if value is None]
        if nulls:
            raise unprocessable(
                [("invalidValue", f"'{n}' may not be null", pointer([n])) for n in nulls]
            )
        try:
            await ordering.annotate(
                caller.session,
                principal=caller.principal,
                order_id=id,
                annotations={k: raw[k] for k in ORDER_ANNOTATIONS if k in raw},
                item_annotations={
                    i["id"]: {k: i[k] for k in ITEM_ANNOTATIONS if k in i}
                    for i in raw.get("productOrderItem", [])
                },
                external_id=body.externalId,
            )
        except NotFound as exc:
            if exc.field == "item_id":
                raise unprocessable(
                    [("referenceNotFound", exc.message, "/productOrderItem")]
                ) from exc
            raise
        return mef_json(await view(caller, id))

    add_cancellation_routes(routes, flavour, view)
    add_hub_routes(routes, flavour, NOTIFYING)
    return routes


def _cancellation_view(flavour: Flavour, caller: Caller, order: ordering.Order) -> dict[str, Any]:
    """The buyer's cancellation request of an order, as MEF CancelProductOrder."""
    models = flavour.models(API)
    request = order.annotations["cancellation"]
    if order.state is ordering.OrderState.CANCELLED:
        state = "done"
    elif order.state in {
        ordering.OrderState.ASSESSING_CANCELLATION,
        ordering.OrderState.PENDING_CANCELLATION,
    }:
        state = (
            "inProgress.assessingCharge"
            if order.state is ordering.OrderState.PENDING_CANCELLATION
            else "acknowledged"
        )
    else:
        state = "done.declined"
    return dump(
        models.CancelProductOrder.model_validate(
            {
                "id": request["id"],
                "href": caller.href(flavour.base_path(API), "cancelProductOrder", request["id"]),
                "productOrder": {
                    "productOrderId": order.id,
                    "productOrderHref": caller.href(
                        flavour.base_path(API), "productOrder", order.id
                    ),
                },
                "state": state,
                **{k: v for k, v in request.items() if k not in {"id"}},
            }
        )
    )


def add_cancellation_routes(routes: APIRouter, flavour: Flavour, view: Any) -> None:
    """`cancelProductOrder`, `modifyProductOrderItemRequestedDeliveryDate` and `charge`."""
    models = flavour.models(API)

    async def cancelled_orders(caller: Caller) -> list[ordering.Order]:
        orders = await ordering.list_orders(caller.session, principal=caller.principal, limit=1000)
        return [o for o in orders if "cancellation" in o.annotations]

    @routes.post("/cancelProductOrder", status_code=201)
    async def cancel_order(request: Request, caller: MEFCaller) -> Response:
        """Ask to cancel an order; the seller assesses and answers through its state."""
        body, raw = await parse_body(request, models.CancelProductOrderCreate)
        order_id = body.productOrder.productOrderId
        try:
            await ordering.get_order(caller.session, principal=caller.principal, order_id=order_id)
        except NotFound as exc:
            raise unprocessable(
                [("referenceNotFound", exc.message, "/productOrder/productOrderId")]
            ) from exc
        record = {
            "id": f"{order_id}-cancel",
            **{
                k: raw[k]
                for k in (
                    "cancellationReason",
                    "cancellationReasonType",
                    "relatedContactInformation",
                )
                if k in raw
            },
        }
        order = await ordering.request_cancellation(
            caller.session,
            principal=caller.principal,
            order_id=order_id,
            reason=body.cancellationReason,
        )
        await ordering.annotate(
            caller.session,
            principal=caller.principal,
            order_id=order.id,
            annotations={"cancellation": record},
        )
        answer = _cancellation_view(flavour, caller, order)
        return mef_json(answer, status=201, headers={"Location": answer["href"]})

    @routes.get("/cancelProductOrder")
    async def list_cancellations(
        caller: MEFCaller,
        window: ListWindow,
        product_order_id: str | None = Query(None, alias="productOrderId"),
        state: str | None = None,
    ) -> Response:
        """The caller's cancellation requests."""
        views = [
            _cancellation_view(flavour, caller, o)
            for o in await cancelled_orders(caller)
            if product_order_id in (None, o.id)
        ]
        views = [v for v in views if state in (None, v["state"])]
        found = views[window.offset : window.offset + window.limit]
        return listing(
            [
                dump(
                    models.CancelProductOrderFind.model_validate(
                        {
                            **v,
                            "cancellationReasonType": v.get("cancellationReasonType", "commercial"),
                        }
                    )
                )
                for v in found
            ],
            total=len(views),
        )

    @routes.get("/cancelProductOrder/{id}")
    async def get_cancellation(id: str, caller: MEFCaller) -> Response:
        """One cancellation request."""
        order_id = id.removesuffix("-cancel")
        found = await ordering.get_order(
            caller.session, principal=caller.principal, order_id=order_id
        )
        if "cancellation" not in found.order.annotations or not id.endswith("-cancel"):
            raise NotFound(f"no cancellation request '{id}'")
        return mef_json(_cancellation_view(flavour, caller, found.order))

    @routes.post("/modifyProductOrderItemRequestedDeliveryDate", status_code=201)
    async def change_date(request: Request, caller: MEFCaller) -> Response:
        """Move the date an item was asked for."""
        body, raw = await parse_body(
            request, models.MEFModifyProductOrderItemRequestedDeliveryDateCreate
        )
        ref = body.productOrderItem
        if body.requestedCompletionDate is None:
            raise unprocessable(
                [
                    (
                        "missingProperty",
                        "say which date the item is now wanted by",
                        "/requestedCompletionDate",
                    )
                ]
            )
        try:
            changed = await ordering.change_requested_completion(
                caller.session,
                principal=caller.principal,
                order_id=ref.productOrderId,
                item_id=ref.productOrderItemId,
                requested_completion_at=body.requestedCompletionDate,
            )
        except NotFound as exc:
            if exc.field in {"id", "item_id"}:
                raise unprocessable(
                    [("referenceNotFound", exc.message, "/productOrderItem")]
                ) from exc
            raise
        record_id = (
            f"{changed.order.id}-date-{len(changed.order.annotations.get('dateChanges', [])) + 1}"
        )
        record = {
            "id": record_id,
            "creationDate": iso(clock.now()),
            "requestedCompletionDate": raw["requestedCompletionDate"],
            "expediteIndicator": bool(raw.get("expediteIndicator", False)),
            "productOrderItem": {
                "productOrderId": ref.productOrderId,
                "productOrderItemId": ref.productOrderItemId,
            },
            "state": "done",
        }
        await ordering.annotate(
            caller.session,
            principal=caller.principal,
            order_id=changed.order.id,
            annotations={
                "dateChanges": [*changed.order.annotations.get("dateChanges", []), record]
            },
        )
        answer = dump(
            models.MEFModifyProductOrderItemRequestedDeliveryDate.model_validate(
                {
                    **record,
                    "href": caller.href(
                        flavour.base_path(API),
                        "modifyProductOrderItemRequestedDeliveryDate",
                        record_id,
                    ),
                }
            )
        )
        return mef_json(answer, status=201, headers={"Location": answer["href"]})

    def date_change_view(caller: Caller, record: dict[str, Any]) -> dict[str, Any]:
        href = caller.href(
            flavour.base_path(API), "modifyProductOrderItemRequestedDeliveryDate", record["id"]
        )
        return dump(
            models.MEFModifyProductOrderItemRequestedDeliveryDate.model_validate(
                {**record, "href": href}
            )
        )

    async def date_changes(caller: Caller) -> list[dict[str, Any]]:
        orders = await ordering.list_orders(caller.session, principal=caller.principal, limit=1000)
        return [r for o in orders for r in o.annotations.get("dateChanges", [])]

    @routes.get("/modifyProductOrderItemRequestedDeliveryDate")
    async def list_date_changes(
        caller: MEFCaller,
        window: ListWindow,
        product_order_id: str | None = Query(None, alias="productOrderId"),
    ) -> Response:
        """The caller's requested-date changes."""
        found = [
            r
            for r in await date_changes(caller)
            if product_order_id in (None, r["productOrderItem"]["productOrderId"])
        ]
        page = found[window.offset : window.offset + window.limit]
        return listing([date_change_view(caller, r) for r in page], total=len(found))

    @routes.get("/modifyProductOrderItemRequestedDeliveryDate/{id}")
    async def get_date_change(id: str, caller: MEFCaller) -> Response:
        """One requested-date change."""
        for record in await date_changes(caller):
            if record["id"] == id:
                return mef_json(date_change_view(caller, record))
        raise NotFound(f"no requested-date change '{id}'")

    # This seller raises no charges: every order is priced up front (quote or catalog).
    @routes.get("/charge")
    async def list_charges(caller: MEFCaller, window: ListWindow) -> Response:
        """Charges awaiting the buyer (none: prices are agreed before ordering)."""
        return listing([], total=0)

    @routes.get("/charge/{id}")
    async def get_charge(id: str, caller: MEFCaller) -> Response:
        """One charge."""
        raise NotFound(f"no charge '{id}'")

    @routes.patch("/charge/{id}")
    async def answer_charge(id: str, caller: MEFCaller) -> Response:
        """Accept or decline a charge."""
        raise NotFound(f"no charge '{id}'")


def notification(flavour: Flavour, event: Event) -> tuple[str, dict[str, Any]] | None:
    """The MEF 123 event for a core order event, with the buyer and seller it concerns."""
    if event.kind not in {EventKind.CREATED, EventKind.STATE_CHANGED}:
        return None
    buyer = (
        {"buyerId": event.data["buyer_party_id"]}
        if event.data.get("placed_by_party_id") not in (None, event.party_id)
        else {}
    )
    if event.entity == "order":
        return "productOrderStateChangeEvent", {
            "id": event.entity_id,
            **buyer,
            "sellerId": SELLER_ID,
        }
    if event.entity == "order_item" and "order_id" in event.data:
        return "productOrderItemStateChangeEvent", {
            "id": event.data["order_id"],
            "orderItemId": event.data.get("item_ref", event.entity_id),
            **buyer,
            "sellerId": SELLER_ID,
        }
    return None


NOTIFYING = NotifyingAPI(
    api=API, notification_api="product_order_notification", notification=notification
)
