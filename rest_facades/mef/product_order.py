"""MEF 123 Product Order: orders, cancellation, requested-date changes, charges and the hub."""

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel, Field

from app.core import order_changes, ordering, quoting
from app.core.errors import NotFound
from app.core.events import EntityKind, Event, EventKind, StateChange
from app.core.order_changes import Cancellation, CancellationReasonKind, ChangeState, DateChange
from app.core.paging import Between, fetch_page
from app.core.parties import Party
from rest_facades.common.paging import views_of
from rest_facades.mef import hub
from rest_facades.mef.errors import mef_json, pointer, unprocessable
from rest_facades.mef.flavours import SELLER_ID, Flavour
from rest_facades.mef.generated.sonata import product_order as models
from rest_facades.mef.hub import NotifyingAPI
from rest_facades.mef.product_inventory import configuration
from rest_facades.mef.products import product_types
from rest_facades.mef.requested_products import (
    DEFAULT_TERM_MONTHS,
    iso,
    kind_of_offering,
    requested_spec,
)
from rest_facades.mef.requests import (
    Caller,
    FlavourDep,
    MEFCaller,
    MEFList,
    dump,
    listing,
    owned_by_buyer,
    sent,
)
from rest_facades.mef.routing import NoUnprocessableRoute, mef_router
from rest_facades.mef.vocabulary import from_mef, to_mef

API = "product_order"
TAG = "product ordering (MEF 123)"
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
ORDER_ANNOTATIONS = ("note", "relatedContactInformation")
_DAYS_PER_UNIT = {
    "calendarMonths": 30.0,
    "calendarDays": 1.0,
    "businessDays": 1.4,
    "calendarHours": 1 / 24,
    "businessHours": 1 / 8,
    "calendarMinutes": 1 / 1440,
    "businessMinutes": 1 / 480,
}


def _term_months(term: models.MEFItemTerm) -> int:
    amount, units = term.duration.amount, term.duration.units.value
    if units not in _DAYS_PER_UNIT:
        return DEFAULT_TERM_MONTHS
    if units == "calendarMonths":
        return amount
    return max(1, math.ceil(amount * _DAYS_PER_UNIT[units] / 30))


async def _item_request(
    flavour: Flavour, caller: Caller, item: models.MEFProductOrderItemCreate, index: int
) -> tuple[ordering.ItemRequest | None, list[tuple[str, str, str]]]:
    """The core's item for one MEF order item, or the problems that stop it."""
    given = sent(item)
    product = given.get("product") or {}
    spec, problems = await requested_spec(
        flavour,
        API,
        caller,
        action=item.action.value,
        product=product,
        where=f"/productOrderItem/{index}",
        buyer=caller.buyer_id or caller.principal.party_id,
        term_months=_term_months(item.requestedItemTerm) if item.requestedItemTerm else None,
    )
    if spec is None or problems:
        return None, problems
    action = ordering.ItemAction(item.action.value)
    annotations = {k: given[k] for k in ITEM_ANNOTATIONS if k in given}
    annotations["place"] = product.get("place", [])
    return ordering.ItemRequest(
        action=action,
        spec=None if action is ordering.ItemAction.DELETE else spec,
        product_id=str(product["id"]) if action is not ordering.ItemAction.ADD else None,
        external_id=item.id,
        requested_completion_at=item.requestedCompletionDate,
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
    history: list[StateChange],
    buyer: Party | None,
) -> dict[str, Any]:
    """A core order as a MEF ProductOrder (validated by the generated model)."""
    href = caller.href(flavour.base_path(API), "productOrder", order.id)
    order_states = models.MEFProductOrderStateType
    item_states = models.MEFProductOrderItemStateType
    order_changes = [
        e
        for e in history
        if e.entity == EntityKind.ORDER
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
        "projectId": order.project_id,
        **{k: order.annotations[k] for k in ("note",) if k in order.annotations},
        "productOrderItem": [],
    }
    if order.state_reason and body["stateChange"]:
        # Why the order is in its state now (e.g. the partner access it waits for).
        body["stateChange"][-1]["changeReason"] = order.state_reason
    configurations = [_configuration(flavour, item) for item in items]
    for item, shown in zip(items, configurations, strict=True):
        changes = [
            e
            for e in history
            if e.entity == EntityKind.ORDER_ITEM
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
    # A configuration is answered exactly as built for its product schema.
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


def _find_view(flavour: Flavour, order: ordering.Order) -> Any:
    return dump(
        models.ProductOrderFind(
            id=order.id,
            externalId=order.external_id,
            orderDate=order.created_at,
            completionDate=order.completed_at,
            state=to_mef(order.state, models.MEFProductOrderStateType),
            projectId=order.project_id,
        )
    )


async def _quote_of(caller: Caller, items: list[models.MEFProductOrderItemCreate]) -> str | None:
    """The quote that the items' `quoteItem` references name (one quote per order); an item of
    a quote is named as the quote shows it (the buyer's item id, or its position)."""
    refs = [(i, item.quoteItem) for i, item in enumerate(items) if item.quoteItem is not None]
    if not refs:
        return None
    quote_ids = {ref.quoteId for _, ref in refs}
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
    missing = [(i, ref) for i, ref in refs if ref.id not in names]
    if missing:
        raise unprocessable(
            [
                (
                    "referenceNotFound",
                    f"no item '{ref.id}' in the quote",
                    f"/productOrderItem/{i}/quoteItem/id",
                )
                for i, ref in missing
            ]
        )
    return quote_id


async def _view(flavour: Flavour, caller: Caller, order_id: str) -> dict[str, Any]:
    found = await ordering.read_order(caller.session, principal=caller.principal, order_id=order_id)
    owned_by_buyer(caller, found.order.party_id, "order", order_id)
    return order_view(flavour, caller, found.order, found.items, found.history, found.buyer)


routes = mef_router()


@routes.post("/productOrder", status_code=201, response_model=models.ProductOrder)
async def create_order(
    body: models.ProductOrderCreate, caller: MEFCaller, flavour: FlavourDep
) -> Response:
    """Place an order."""
    requests: list[ordering.ItemRequest] = []
    problems: list[tuple[str, str, str]] = []
    ids = [item.id for item in body.productOrderItem]
    if len(set(ids)) != len(ids):
        problems.append(
            ("invalidValue", "item ids must be unique in an order", "/productOrderItem")
        )
    for index, item in enumerate(body.productOrderItem):
        built, item_problems = await _item_request(flavour, caller, item, index)
        problems += item_problems
        if built is not None:
            requests.append(built)
    if problems:
        raise unprocessable(problems)
    quote_id = await _quote_of(caller, body.productOrderItem)
    given = sent(body)
    placed = await ordering.place(
        caller.session,
        principal=caller.principal,
        items=requests,
        channel=flavour.channel,
        buyer_party_id=caller.buyer_id,
        quote_id=quote_id,
        external_id=body.externalId,
        project_id=body.projectId,
        annotations={k: given[k] for k in ORDER_ANNOTATIONS if k in given},
    )
    answer = await _view(flavour, caller, placed.order.id)
    return mef_json(answer, status=201, headers={"Location": answer["href"]})


def _period(after: datetime | None, before: datetime | None) -> Between | None:
    return Between(after, before) if after or before else None


class OrderQuery(BaseModel):
    """The criteria of a MEF 123 order list; every one given must hold."""

    state: models.MEFProductOrderStateType | None = None
    externalId: str | None = None
    projectId: str | None = None
    orderDate_gt: Annotated[datetime | None, Field(alias="orderDate.gt")] = None
    orderDate_lt: Annotated[datetime | None, Field(alias="orderDate.lt")] = None
    completionDate_gt: Annotated[datetime | None, Field(alias="completionDate.gt")] = None
    completionDate_lt: Annotated[datetime | None, Field(alias="completionDate.lt")] = None
    itemRequested_gt: Annotated[datetime | None, Field(alias="itemRequestedCompletionDate.gt")] = (
        None
    )
    itemRequested_lt: Annotated[datetime | None, Field(alias="itemRequestedCompletionDate.lt")] = (
        None
    )
    itemExpected_gt: Annotated[datetime | None, Field(alias="itemExpectedCompletionDate.gt")] = None
    itemExpected_lt: Annotated[datetime | None, Field(alias="itemExpectedCompletionDate.lt")] = None
    cancellationDate_gt: Annotated[datetime | None, Field(alias="cancellationDate.gt")] = None
    cancellationDate_lt: Annotated[datetime | None, Field(alias="cancellationDate.lt")] = None


@routes.get("/productOrder", response_model=list[models.ProductOrderFind])
async def list_orders(
    query: MEFList, criteria: Annotated[OrderQuery, Query()], flavour: FlavourDep
) -> Response:
    """The caller's orders, newest first, filtered as the spec allows."""
    caller, window = query.caller, query.window
    state = criteria.state
    statement = ordering.orders_query(
        principal=caller.principal,
        states={ordering.OrderState(from_mef(state, ordering.OrderState))} if state else None,
        party_id=caller.buyer_id,
        external_id=criteria.externalId,
        project_id=criteria.projectId,
        created=_period(criteria.orderDate_gt, criteria.orderDate_lt),
        completed=_period(criteria.completionDate_gt, criteria.completionDate_lt),
        cancelled=_period(criteria.cancellationDate_gt, criteria.cancellationDate_lt),
        item_requested=_period(criteria.itemRequested_gt, criteria.itemRequested_lt),
        item_expected=_period(criteria.itemExpected_gt, criteria.itemExpected_lt),
    )
    page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
    views = await views_of(page.items, lambda o: _find_view(flavour, o))
    return listing(views, total=page.total)


@routes.get("/productOrder/{id}", response_model=models.ProductOrder)
async def get_order(id: str, caller: MEFCaller, flavour: FlavourDep) -> Response:
    """One order."""
    return mef_json(await _view(flavour, caller, id))


async def update_order(
    id: str,
    body: models.ProductOrderUpdate,
    caller: MEFCaller,
    flavour: FlavourDep,
) -> Response:
    """Change the buyer's references of an order (not what it buys)."""
    # A merge patch's null removes a member; nothing the buyer gave an order can be removed.
    given = sent(body)
    nulls = [name for name, value in given.items() if value is None]
    if nulls:
        raise unprocessable(
            [("invalidValue", f"'{n}' may not be null", pointer([n])) for n in nulls]
        )
    if caller.buyer_id is not None:
        # Refuse before changing anything: another buyer's order is a missing one.
        found = await ordering.get_order(caller.session, principal=caller.principal, order_id=id)
        owned_by_buyer(caller, found.order.party_id, "order", id)
    try:
        await ordering.annotate(
            caller.session,
            principal=caller.principal,
            order_id=id,
            annotations={k: given[k] for k in ORDER_ANNOTATIONS if k in given},
            item_annotations={
                i["id"]: {k: i[k] for k in ITEM_ANNOTATIONS if k in i}
                for i in given.get("productOrderItem") or []
            },
            external_id=body.externalId,
            project_id=body.projectId,
        )
    except NotFound as exc:
        if exc.field == "item_id":
            raise unprocessable([("referenceNotFound", exc.message, "/productOrderItem")]) from exc
        raise
    return mef_json(await _view(flavour, caller, id))


# The official files' PATCH of an order documents no 422: its refusals are Error400s.
routes.add_api_route(
    "/productOrder/{id}",
    update_order,
    methods=["PATCH"],
    response_model=models.ProductOrder,
    route_class_override=NoUnprocessableRoute,
)


_CHANGE_STATES = {
    ChangeState.ACKNOWLEDGED: models.MEFChargeableTaskStateType.acknowledged,
    ChangeState.ASSESSING_CHARGE: models.MEFChargeableTaskStateType.inProgress_assessingCharge,
    ChangeState.DONE: models.MEFChargeableTaskStateType.done,
    ChangeState.DECLINED: models.MEFChargeableTaskStateType.done_declined,
    ChangeState.REJECTED: models.MEFChargeableTaskStateType.rejected,
}
_CORE_CHANGE_STATES = {mef: core for core, mef in _CHANGE_STATES.items()}


def _order_ref(flavour: Flavour, caller: Caller, order_id: str) -> dict[str, str]:
    return {
        "productOrderId": order_id,
        "productOrderHref": caller.href(flavour.base_path(API), "productOrder", order_id),
    }


def _cancellation_find(
    flavour: Flavour, caller: Caller, cancellation: Cancellation
) -> models.CancelProductOrderFind:
    return models.CancelProductOrderFind.model_validate(
        {
            "id": cancellation.id,
            "productOrder": _order_ref(flavour, caller, cancellation.order_id),
            "state": _CHANGE_STATES[cancellation.state],
            # Cancellations asked for elsewhere (GraphQL, TMF) give no kind: a business one.
            "cancellationReasonType": (
                cancellation.reason_kind or CancellationReasonKind.COMMERCIAL
            ).value,
        }
    )


def _cancellation_view(
    flavour: Flavour, caller: Caller, cancellation: Cancellation, order: ordering.Order
) -> dict[str, Any]:
    """A buyer's cancellation request as MEF CancelProductOrder."""
    href = caller.href(flavour.base_path(API), "cancelProductOrder", cancellation.id)
    return dump(
        models.CancelProductOrder.model_validate(
            {
                "id": cancellation.id,
                "href": href,
                "productOrder": _order_ref(flavour, caller, cancellation.order_id),
                "state": _CHANGE_STATES[cancellation.state],
                "cancellationReason": cancellation.reason,
                "cancellationReasonType": cancellation.reason_kind,
                "relatedContactInformation": cancellation.contacts or _contacts(order, None),
            }
        )
    )


@routes.post("/cancelProductOrder", status_code=201, response_model=models.CancelProductOrder)
async def cancel_order(
    body: models.CancelProductOrderCreate, caller: MEFCaller, flavour: FlavourDep
) -> Response:
    """Ask to cancel an order; the seller assesses and answers through its state."""
    reason_kind = body.cancellationReasonType
    try:
        asked = await ordering.ask_to_cancel(
            caller.session,
            principal=caller.principal,
            order_id=body.productOrder.productOrderId,
            reason=body.cancellationReason,
            reason_kind=CancellationReasonKind(reason_kind.value) if reason_kind else None,
            contacts=[sent(contact) for contact in body.relatedContactInformation],
            channel=flavour.channel,
        )
    except NotFound as exc:
        raise unprocessable(
            [("referenceNotFound", exc.message, "/productOrder/productOrderId")]
        ) from exc
    answer = _cancellation_view(flavour, caller, asked.cancellation, asked.order)
    return mef_json(answer, status=201, headers={"Location": answer["href"]})


class CancellationQuery(BaseModel):
    """The criteria of a list of cancellation requests; every one given must hold."""

    productOrderId: str | None = None
    state: models.MEFChargeableTaskStateType | None = None
    cancellationReasonType: models.CancellationReasonType | None = None


@routes.get("/cancelProductOrder", response_model=list[models.CancelProductOrderFind])
async def list_cancellations(
    query: MEFList, criteria: Annotated[CancellationQuery, Query()], flavour: FlavourDep
) -> Response:
    """The caller's cancellation requests, newest first."""
    caller, window = query.caller, query.window
    kind = criteria.cancellationReasonType
    statement = order_changes.cancellations_query(
        principal=caller.principal,
        party_id=caller.buyer_id,
        order_id=criteria.productOrderId,
        states=frozenset({_CORE_CHANGE_STATES[criteria.state]}) if criteria.state else None,
        reason_kind=CancellationReasonKind(kind.value) if kind else None,
    )
    page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
    return listing(
        [dump(_cancellation_find(flavour, caller, c)) for c in page.items], total=page.total
    )


@routes.get("/cancelProductOrder/{id}", response_model=models.CancelProductOrder)
async def get_cancellation(id: str, caller: MEFCaller, flavour: FlavourDep) -> Response:
    """One cancellation request."""
    found = await ordering.get_cancellation(
        caller.session, principal=caller.principal, cancellation_id=id
    )
    owned_by_buyer(caller, found.cancellation.party_id, "cancellation", id)
    return mef_json(_cancellation_view(flavour, caller, found.cancellation, found.order))


def _date_change_view(flavour: Flavour, caller: Caller, change: DateChange, item_ref: str) -> Any:
    href = caller.href(
        flavour.base_path(API), "modifyProductOrderItemRequestedDeliveryDate", change.id
    )
    return dump(
        models.MEFModifyProductOrderItemRequestedDeliveryDate(
            id=change.id,
            href=href,
            creationDate=change.created_at,
            requestedCompletionDate=change.requested_completion_at,
            expediteIndicator=change.expedite,
            productOrderItem=models.MEFProductOrderItemRef(
                productOrderId=change.order_id,
                productOrderHref=caller.href(
                    flavour.base_path(API), "productOrder", change.order_id
                ),
                productOrderItemId=item_ref,
            ),
            state=_CHANGE_STATES[change.state],
        )
    )


async def _item_refs(caller: Caller, changes: list[DateChange]) -> dict[str, str]:
    """The buyer's name of each changed item (its id in the order, or its position)."""
    items = await ordering.items_by_order(
        caller.session, principal=caller.principal, order_ids=[c.order_id for c in changes]
    )
    return {
        item.id: item.external_id or str(item.position)
        for found in items.values()
        for item in found
    }


@routes.post(
    "/modifyProductOrderItemRequestedDeliveryDate",
    status_code=201,
    response_model=models.MEFModifyProductOrderItemRequestedDeliveryDate,
)
async def change_date(
    body: models.MEFModifyProductOrderItemRequestedDeliveryDateCreate,
    caller: MEFCaller,
    flavour: FlavourDep,
) -> Response:
    """Move the date an item was asked for."""
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
        found = await ordering.get_order(
            caller.session, principal=caller.principal, order_id=ref.productOrderId
        )
        # The buyer names an item as MEF shows it: its own id, or its position in the order.
        item_id = next(
            (
                i.id
                for i in found.items
                if (i.external_id or str(i.position)) == ref.productOrderItemId
            ),
            ref.productOrderItemId,
        )
        moved = await ordering.ask_to_move_date(
            caller.session,
            principal=caller.principal,
            order_id=ref.productOrderId,
            item_id=item_id,
            requested_completion_at=body.requestedCompletionDate,
            expedite=bool(body.expediteIndicator),
            channel=flavour.channel,
        )
    except NotFound as exc:
        if exc.field in {"id", "item_id"}:
            raise unprocessable([("referenceNotFound", exc.message, "/productOrderItem")]) from exc
        raise
    answer = _date_change_view(flavour, caller, moved.change, ref.productOrderItemId)
    return mef_json(answer, status=201, headers={"Location": answer["href"]})


class DateChangeQuery(BaseModel):
    """The criteria of a list of requested-date changes; every one given must hold."""

    productOrderId: str | None = None
    state: models.MEFChargeableTaskStateType | None = None
    expediteIndicator: bool | None = None
    requested_gt: Annotated[datetime | None, Field(alias="requestedCompletionDate.gt")] = None
    requested_lt: Annotated[datetime | None, Field(alias="requestedCompletionDate.lt")] = None
    creationDate_gt: Annotated[datetime | None, Field(alias="creationDate.gt")] = None
    creationDate_lt: Annotated[datetime | None, Field(alias="creationDate.lt")] = None


@routes.get(
    "/modifyProductOrderItemRequestedDeliveryDate",
    response_model=list[models.MEFModifyProductOrderItemRequestedDeliveryDate],
)
async def list_date_changes(
    query: MEFList, criteria: Annotated[DateChangeQuery, Query()], flavour: FlavourDep
) -> Response:
    """The caller's requested-date changes, newest first."""
    caller, window = query.caller, query.window
    statement = order_changes.date_changes_query(
        principal=caller.principal,
        party_id=caller.buyer_id,
        order_id=criteria.productOrderId,
        states=frozenset({_CORE_CHANGE_STATES[criteria.state]}) if criteria.state else None,
        expedite=criteria.expediteIndicator,
        requested=_period(criteria.requested_gt, criteria.requested_lt),
        created=_period(criteria.creationDate_gt, criteria.creationDate_lt),
    )
    page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
    refs = await _item_refs(caller, page.items)
    return listing(
        [_date_change_view(flavour, caller, c, refs[c.order_item_id]) for c in page.items],
        total=page.total,
    )


@routes.get(
    "/modifyProductOrderItemRequestedDeliveryDate/{id}",
    response_model=models.MEFModifyProductOrderItemRequestedDeliveryDate,
)
async def get_date_change(id: str, caller: MEFCaller, flavour: FlavourDep) -> Response:
    """One requested-date change."""
    change = await ordering.get_date_change(
        caller.session, principal=caller.principal, change_id=id
    )
    owned_by_buyer(caller, change.party_id, "date change", id)
    refs = await _item_refs(caller, [change])
    return mef_json(_date_change_view(flavour, caller, change, refs[change.order_item_id]))


class ChargeQuery(BaseModel):
    """The criteria of a list of charges, as MEF 123 defines them; malformed ones are an
    Error400 like those of every other list."""

    productOrderId: str | None = None
    productOrderItemId: str | None = None
    creationDate_gt: Annotated[datetime | None, Field(alias="creationDate.gt")] = None
    creationDate_lt: Annotated[datetime | None, Field(alias="creationDate.lt")] = None
    responseDueDate_gt: Annotated[datetime | None, Field(alias="responseDueDate.gt")] = None
    responseDueDate_lt: Annotated[datetime | None, Field(alias="responseDueDate.lt")] = None


# This seller raises no charges: every order is priced up front (quote or catalog), so no
# criteria can match one; they are still read and checked.
@routes.get("/charge", response_model=list[models.MEFProductOrderChargeFind])
async def list_charges(query: MEFList, criteria: Annotated[ChargeQuery, Query()]) -> Response:
    """Charges awaiting the buyer (none: prices are agreed before ordering)."""
    return listing([], total=0)


@routes.get("/charge/{id}", response_model=models.MEFProductOrderCharge)
async def get_charge(id: str, caller: MEFCaller) -> Response:
    """One charge."""
    raise NotFound(f"no charge '{id}'")


@routes.patch("/charge/{id}", response_model=models.MEFProductOrderCharge)
async def answer_charge(
    id: str, body: models.MEFProductOrderChargeUpdate, caller: MEFCaller
) -> Response:
    """Accept or decline a charge."""
    raise NotFound(f"no charge '{id}'")


routes.include_router(hub.routes)


def notification(flavour: Flavour, event: Event) -> tuple[str, dict[str, Any]] | None:
    """The MEF 123 event for a core order event, with the buyer and seller it concerns."""
    if event.kind not in {EventKind.CREATED, EventKind.STATE_CHANGED}:
        return None
    buyer = (
        {"buyerId": event.data["buyer_party_id"]}
        if event.data.get("placed_by_party_id") not in (None, event.party_id)
        else {}
    )
    if event.entity == EntityKind.ORDER:
        return "productOrderStateChangeEvent", {
            "id": event.entity_id,
            **buyer,
            "sellerId": SELLER_ID,
        }
    if event.entity == EntityKind.ORDER_ITEM and "order_id" in event.data:
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
