"""MEF 116 Product Inventory: the buyer's products, `product` and `product/{id}`."""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

from fastapi import Query, Response
from pydantic import BaseModel, Field

from app.core import catalog, events, inventory, parties
from app.core.catalog import ProductKind
from app.core.events import Channel, EntityKind, EventKind
from app.core.inventory import ProductFilter, ProductInstance, ProductState
from app.core.ordering import Order, OrderItem
from app.core.paging import fetch_page
from rest_facades.mef.errors import bad_request, mef_json
from rest_facades.mef.flavours import Flavour
from rest_facades.mef.generated.sonata import product_inventory as models
from rest_facades.mef.geographic_site import given, site_href
from rest_facades.mef.products import kind_of, product_types
from rest_facades.mef.requests import (
    Caller,
    FlavourDep,
    MEFCaller,
    MEFList,
    dump,
    listing,
    owned_by_buyer,
)
from rest_facades.mef.routing import mef_router

API = "product_inventory"
TAG = "product inventory (MEF 116)"
STATUS = {
    ProductState.PENDING_ACTIVE: "pendingActive",
    ProductState.ACTIVE: "active",
    ProductState.ACTIVE_PENDING_CHANGE: "active.pendingChange",
    ProductState.PENDING_TERMINATE: "pendingTerminate",
    ProductState.SUSPENDED: "suspended",
    ProductState.SUSPENDED_PENDING_TERMINATE: "suspendedPendingTerminate",
    ProductState.TERMINATED: "terminated",
    ProductState.CANCELLED: "cancelled",
}
_STATE = {name: state for state, name in STATUS.items()}
# What `fields=` always keeps: the properties a MEF product cannot be without.
_ALWAYS = {"id", "href", "status", "startDate"}


class Configurable(Protocol):
    """What a product's configuration is built from: a product, or an order item for one."""

    bandwidth_mbps: int
    class_of_service: str
    configuration: dict[str, Any]


def _rate(mbps: int) -> dict[str, Any]:
    return {"irValue": mbps, "irUnits": "MBPS"}


def _ethernet_line(product: Configurable, sonata: bool) -> dict[str, Any]:
    per_class = [
        {
            "classOfServiceName": product.class_of_service,
            "bwpFlow": {"cir": _rate(product.bandwidth_mbps)},
        }
    ]
    if sonata:
        end = {"ingressBandwidthProfilePerClassOfServiceName": per_class}
        return {
            "listOfClassOfServiceNames": [product.class_of_service],
            "uniEp": end,
            "enniEp": end,
        }
    end = {"ingressBandwidthProfilePerClassofServiceName": per_class}
    return {"listOfCosNames": [product.class_of_service], "evcEndPointA": end, "evcEndPointZ": end}


def _ethernet_port(product: Configurable, sonata: bool) -> dict[str, Any]:
    if sonata:
        return {"ingressBandwidthProfile": [{"cir": _rate(product.bandwidth_mbps)}]}
    return {"instantiation": "PHYSICAL"}


def _internet_access(product: Configurable, sonata: bool) -> dict[str, Any]:
    envelope = [{"cir": _rate(product.bandwidth_mbps)}]
    return {
        "ipUni": {},
        "ipUniAccessLink": {},
        "ipUniAccessLinkTrunk": {},
        "ipvc": {
            "ipvcEndPoint": {
                "ingressBandwidthProfileEnvelope": envelope,
                "egressBandwidthProfileEnvelope": envelope,
            }
        },
    }


_BUILDERS: dict[ProductKind, Callable[[Configurable, bool], dict[str, Any]]] = {
    ProductKind.ETHERNET_LINE: _ethernet_line,
    ProductKind.ETHERNET_PORT: _ethernet_port,
    ProductKind.INTERNET_ACCESS: _internet_access,
}


def configuration(flavour: Flavour, kind: ProductKind, product: Configurable) -> dict[str, Any]:
    """The product's configuration in this flavour: as the buyer ordered it when that is one of
    this flavour's product types, otherwise built from what the product is (e.g. for a product
    ordered through TMF, which orders by characteristics)."""
    stored = product.configuration
    if isinstance(stored.get("@type"), str) and kind_of(flavour, stored["@type"]) is kind:
        return stored
    sonata = flavour.channel == Channel.SONATA
    return {"@type": product_types(flavour)[kind], **_BUILDERS[kind](product, sonata)}


def _money(currency: str, cents: int) -> dict[str, Any]:
    return {"dutyFreeAmount": {"unit": currency, "value": cents / 100}}


def _prices(product: ProductInstance) -> list[dict[str, Any]]:
    prices = [
        {
            "name": "Monthly recurring charge",
            "priceType": "recurring",
            "recurringChargePeriod": "month",
            "price": _money(product.currency, product.monthly_cents),
        }
    ]
    if product.one_time_cents:
        prices.append(
            {
                "name": "One-time charge",
                "priceType": "nonRecurring",
                "price": _money(product.currency, product.one_time_cents),
            }
        )
    return prices


def _sites(flavour: Flavour, caller: Caller, product: ProductInstance) -> list[dict[str, Any]]:
    if product.z_site_id is None:
        ends = [("UNI Site", product.a_site_id)]
    else:
        ends = [("A-End UNI Site", product.a_site_id), ("Z-End UNI Site", product.z_site_id)]
    return [
        {"role": role, "id": site_id, "href": site_href(flavour, caller, site_id)}
        for role, site_id in ends
    ]


@dataclass
class _Context:
    """What the views of a page of products need, read in a few statements."""

    kinds: dict[str, ProductKind]
    items: dict[str, list[OrderItem]]
    orders: dict[str, Order]

    @classmethod
    async def load(cls, caller: Caller, products: list[ProductInstance]) -> "_Context":
        session, principal = caller.session, caller.principal
        offerings = await catalog.list_offerings(session, include_retired=True)
        ids = [p.id for p in products]
        items = await parties.children_scoped(session, OrderItem, "product_id", ids, principal)
        orders = await parties.get_many_scoped(
            session, Order, [p.order_id for p in products], principal
        )
        return cls({o.id: o.kind for o in offerings if o.kind}, items, orders)


def _view(
    flavour: Flavour,
    caller: Caller,
    product: ProductInstance,
    context: _Context,
    *,
    history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The MEF form of a product: as listed, or (given its history) as retrieved."""
    kind = context.kinds[product.offering_id]
    shown = configuration(flavour, kind, product)
    order = context.orders.get(product.order_id)
    common: dict[str, Any] = {
        "id": product.id,
        "href": caller.href(flavour.base_path(API), "product", product.id),
        "status": STATUS[product.state],
        "startDate": product.activated_at or product.created_at,
        "lastUpdateDate": product.updated_at,
        "productOffering": {"id": product.offering_id},
        "productSpecification": {"id": shown["@type"]},
        "externalId": order.external_id if order else None,
        "billingAccount": {"id": product.billing_account_id},
        "relatedSite": _sites(flavour, caller, product),
        "productOrderItem": [
            {
                "productOrderId": item.order_id,
                "productOrderItemId": item.external_id or str(item.position),
                "productOrderHref": caller.href(
                    flavour.base_path("product_order"), "productOrder", item.order_id
                ),
            }
            for item in context.items.get(product.id, [])
        ],
    }
    if history is None:
        return dict(dump(models.MEFProductFind.model_validate(common)))
    view: dict[str, Any] = dump(
        models.MEFProduct.model_validate(
            common
            | {
                "terminationDate": product.terminated_at,
                "statusChange": history or None,
                "productPrice": _prices(product),
                "productTerm": [
                    {
                        "name": f"{product.term_months} months",
                        "duration": {"amount": product.term_months, "units": "calendarMonths"},
                    }
                ],
            }
        )
    )
    # A configuration is answered exactly as built for its product schema.
    view["productConfiguration"] = shown
    return view


def _aware(moment: datetime | None) -> datetime | None:
    # A date-time without an offset is taken as UTC.
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def _both(a: set[str] | None, b: Collection[str] | None) -> set[str] | None:
    if b is None:
        return a
    return set(b) if a is None else a & set(b)


async def _filter(
    flavour: Flavour, caller: Caller, sent: dict[str, str], dates: dict[str, datetime | None]
) -> ProductFilter:
    """The core's criteria for the MEF ones sent."""
    session, principal = caller.session, caller.principal
    ids: set[str] | None = None
    offering_ids: set[str] | None = None
    order_ids: set[str] | None = None
    if "productOfferingId" in sent:
        offering_ids = {sent["productOfferingId"]}
    if "productSpecificationId" in sent:
        kind = kind_of(flavour, sent["productSpecificationId"])
        offerings = await catalog.list_offerings(session, include_retired=True)
        offering_ids = _both(offering_ids, {o.id for o in offerings if o.kind is kind})
    if "relatedProductId" in sent:
        ids = set()  # products here have no relationships to other products
    if "productOrderId" in sent:
        order = sent["productOrderId"]
        items = await parties.children_scoped(session, OrderItem, "order_id", [order], principal)
        ids = _both(ids, {i.product_id for i in items[order] if i.product_id})
    if "externalId" in sent:
        external = sent["externalId"]
        orders = await parties.children_scoped(session, Order, "external_id", [external], principal)
        order_ids = {o.id for o in orders[external]}
    return ProductFilter(
        party_id=caller.buyer_id,
        ids=ids,
        offering_ids=offering_ids,
        order_ids=order_ids,
        site_id=sent.get("geographicalSiteId"),
        billing_account_id=sent.get("billingAccountId"),
        started_after=_aware(dates["startDate.gt"]),
        started_before=_aware(dates["startDate.lt"]),
        updated_after=_aware(dates["lastUpdateDate.gt"]),
        updated_before=_aware(dates["lastUpdateDate.lt"]),
    )


class ProductQuery(BaseModel):
    """The criteria of a MEF 116 product list; every one given must hold."""

    status: str | None = None
    productSpecificationId: str | None = None
    productOfferingId: str | None = None
    externalId: str | None = None
    geographicalSiteId: str | None = None
    relatedProductId: str | None = None
    billingAccountId: str | None = None
    productOrderId: str | None = None
    startDate_lt: Annotated[datetime | None, Field(alias="startDate.lt")] = None
    startDate_gt: Annotated[datetime | None, Field(alias="startDate.gt")] = None
    lastUpdateDate_lt: Annotated[datetime | None, Field(alias="lastUpdateDate.lt")] = None
    lastUpdateDate_gt: Annotated[datetime | None, Field(alias="lastUpdateDate.gt")] = None


_DATES = {"startDate_lt", "startDate_gt", "lastUpdateDate_lt", "lastUpdateDate_gt"}
routes = mef_router()


@routes.get("/product", response_model=list[models.MEFProductFind])
async def list_products(
    query: MEFList, criteria: Annotated[ProductQuery, Query()], flavour: FlavourDep
) -> Response:
    """The buyer's products that meet every criterion given, newest first."""
    sent = given(**criteria.model_dump(by_alias=True, exclude=_DATES))
    status = criteria.status
    if status is not None and status not in _STATE:
        raise bad_request("invalidQuery", f"status must be one of {', '.join(_STATE)}")
    caller = query.caller
    where = await _filter(
        flavour,
        caller,
        sent,
        {
            "startDate.lt": criteria.startDate_lt,
            "startDate.gt": criteria.startDate_gt,
            "lastUpdateDate.lt": criteria.lastUpdateDate_lt,
            "lastUpdateDate.gt": criteria.lastUpdateDate_gt,
        },
    )
    statement = inventory.products_query(
        principal=caller.principal,
        states={_STATE[status]} if status else None,
        where=where,
    )
    window = query.window
    page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
    context = await _Context.load(caller, page.items)
    views = [_view(flavour, caller, p, context) for p in page.items]
    return listing(views, total=page.total)


@routes.get("/product/{id}", response_model=models.MEFProduct)
async def get_product(
    id: str, caller: MEFCaller, flavour: FlavourDep, fields: str | None = None
) -> Response:
    """One of the buyer's products, with its configuration, prices, term and history."""
    wanted = given(fields=fields).get("fields")
    session = caller.session
    product = await inventory.get_product(
        session, principal=caller.principal, product_id=id, field_name="id"
    )
    owned_by_buyer(caller, product.party_id, "product", id)
    events_of = await events.list_events(
        session, principal=caller.principal, entity=EntityKind.PRODUCT, entity_id=id, limit=1000
    )
    history = [
        {"status": STATUS[ProductState(e.state)], "changeDate": e.occurred_at}
        for e in events_of
        if e.kind is EventKind.STATE_CHANGED and e.state in STATUS
    ]
    context = await _Context.load(caller, [product])
    view = _view(flavour, caller, product, context, history=history)
    if wanted is not None:
        keep = _ALWAYS | {f.strip() for f in wanted.split(",")}
        view = {k: v for k, v in view.items() if k in keep}
    return mef_json(view)
