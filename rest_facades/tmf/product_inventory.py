"""TMF637 Product Inventory v4: the core's delivered products.

Products come into being by orders (TMF622 or any other face), so `POST` and `DELETE` answer 405
with a TMF Error (a product is ended by a `delete` order item). `PATCH` lets operations staff
suspend (`status: suspended`) and resume (`status: active`) a product; every other attribute of
`Product_Update` may be repeated as the product shows it, not changed (an order changes it).
"""

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import inventory, ordering
from app.core.errors import NotFound
from app.core.events import EntityKind, Event
from app.core.inventory import ProductField, ProductInstance, ProductState
from app.core.ordering import OrderItem
from app.core.parties import Principal
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import (
    Attribute,
    as_cents,
    as_date_time,
    as_text,
    by_name,
    constant,
    linked,
    repeats,
)
from rest_facades.tmf.common import TMFQueryDep, href, iso, listed, resource
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.generated import product_inventory as models
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes

BASE = "/tmf-api/productInventory/v4"
ORDERING_BASE = "/tmf-api/productOrderingManagement/v4"
CATALOG_BASE = "/tmf-api/productCatalogManagement/v4"

STATUSES = {
    ProductState.PENDING_ACTIVE: "pendingActive",
    ProductState.ACTIVE: "active",
    ProductState.ACTIVE_PENDING_CHANGE: "active",
    ProductState.PENDING_TERMINATE: "pendingTerminate",
    ProductState.SUSPENDED: "suspended",
    ProductState.SUSPENDED_PENDING_TERMINATE: "pendingTerminate",
    ProductState.TERMINATED: "terminated",
    ProductState.CANCELLED: "cancelled",
}


def _price(name: str, kind: str, cents: int, currency: str) -> dict[str, Any]:
    price: dict[str, Any] = {
        "name": name,
        "priceType": kind,
        "price": {
            "dutyFreeAmount": {"unit": currency, "value": float(Decimal(cents) / 100)},
        },
        "@type": "ProductPrice",
    }
    if kind == "recurring":
        price["recurringChargePeriod"] = "month"
    return price


def _place(role: str, location_id: str, site_id: str | None) -> dict[str, Any]:
    if site_id:
        return {"id": site_id, "role": role, "@referredType": "GeographicSite"}
    return {"id": location_id, "role": role, "@referredType": "GeographicAddress"}


def product_view(
    request: Request, product: ProductInstance, item: OrderItem | None
) -> dict[str, Any]:
    """A core product instance as a TMF637 Product."""
    places = [_place("A-End", product.a_location_id, product.a_site_id)]
    if product.z_location_id:
        places.append(_place("Z-End", product.z_location_id, product.z_site_id))
    view: dict[str, Any] = {
        "id": product.id,
        "href": href(request, BASE, "product", product.id),
        "@type": "Product",
        "name": product.name,
        "status": STATUSES[product.state],
        "isBundle": False,
        "isCustomerVisible": True,
        "orderDate": iso(product.created_at),
        "productOffering": {
            "id": product.offering_id,
            "href": href(request, CATALOG_BASE, "productOffering", product.offering_id),
            "@referredType": "ProductOffering",
        },
        "productCharacteristic": [
            {"name": "bandwidth", "valueType": "integer", "value": product.bandwidth_mbps},
            {"name": "termMonths", "valueType": "integer", "value": product.term_months},
            {"name": "classOfService", "valueType": "string", "value": product.class_of_service},
        ],
        "productTerm": [
            {"name": "commitment", "duration": {"amount": product.term_months, "units": "month"}}
        ],
        "place": places,
        "relatedParty": [
            {"id": product.party_id, "role": "customer", "@referredType": "Organization"}
        ],
        "billingAccount": {"id": product.billing_account_id, "@referredType": "BillingAccount"},
        "productPrice": [
            _price("monthly recurring", "recurring", product.monthly_cents, product.currency),
            _price("one time", "oneTime", product.one_time_cents, product.currency),
        ],
        "productOrderItem": [
            {
                "productOrderId": product.order_id,
                "productOrderHref": href(request, ORDERING_BASE, "productOrder", product.order_id),
                "orderItemId": (item.external_id or item.id) if item else product.id,
                "orderItemAction": item.action.value if item else "add",
                "@referredType": "ProductOrderItem",
            }
        ],
    }
    if product.activated_at:
        view["startDate"] = iso(product.activated_at)
    if product.terminated_at:
        view["terminationDate"] = iso(product.terminated_at)
    return view


async def _product(session: AsyncSession, principal: Principal, product_id: str) -> ProductInstance:
    try:
        return await inventory.get_product(session, principal=principal, product_id=product_id)
    except NotFound as exc:
        raise TMFError(404, "NOT_FOUND", f"no product '{product_id}'") from exc


async def _view(
    request: Request, session: AsyncSession, principal: Principal, product_id: str
) -> dict[str, Any]:
    product = await _product(session, principal, product_id)
    items = await ordering.delivering_items(session, principal=principal, products=[product])
    return product_view(request, product, items.get(product.id))


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """A core product event as the product it notifies about."""
    if event.entity != EntityKind.PRODUCT:
        return None
    resource: dict[str, Any] = {"id": event.entity_id, "@type": "Product"}
    if event.state in set(ProductState):
        resource["status"] = STATUSES[ProductState(event.state)]
    return "product", resource


NOTIFYING = NotifyingAPI("productInventory", describe)


# The attributes of a product that the core stores and filters on; any other filter is matched
# against the products of the page read.
def _whole(text: str) -> tuple[int, ...]:
    """A filter value compared with whole-number attributes (any other matches none of them)."""
    return (int(text),) if text.isdigit() and len(text) < 10 else ()


FILTERS: dict[str, Attribute[ProductField]] = {
    "id": Attribute(ProductField.ID, as_text),
    "name": Attribute(ProductField.NAME, as_text),
    "status": Attribute(ProductField.STATE, by_name(STATUSES)),
    "productOffering.id": Attribute(ProductField.OFFERING_ID, as_text),
    "billingAccount.id": Attribute(ProductField.BILLING_ACCOUNT_ID, as_text),
    "relatedParty.id": Attribute(ProductField.PARTY_ID, as_text),
    "productOrderItem.productOrderId": Attribute(ProductField.ORDER_ID, as_text),
    "orderDate": Attribute(ProductField.CREATED_AT, as_date_time, ordered=True),
    "startDate": Attribute(ProductField.ACTIVATED_AT, as_date_time, ordered=True),
    "terminationDate": Attribute(ProductField.TERMINATED_AT, as_date_time, ordered=True),
    "@type": constant(ProductField.ID, "Product"),
    "isBundle": constant(ProductField.ID, "false"),
    "isCustomerVisible": constant(ProductField.ID, "true"),
    "productOffering.@referredType": constant(ProductField.ID, "ProductOffering"),
    "billingAccount.@referredType": constant(ProductField.ID, "BillingAccount"),
    "relatedParty.role": constant(ProductField.ID, "customer"),
    "relatedParty.@referredType": constant(ProductField.ID, "Organization"),
    # The speed, term and class of service, as characteristics and as the commitment.
    "productCharacteristic.name": constant(
        ProductField.ID, "bandwidth", "termMonths", "classOfService"
    ),
    "productCharacteristic.valueType": constant(ProductField.ID, "integer", "string"),
    "productCharacteristic.value": Attribute(
        ProductField.BANDWIDTH_MBPS,
        _whole,
        ordered=True,
        also=Attribute(
            ProductField.TERM_MONTHS,
            _whole,
            ordered=True,
            also=Attribute(ProductField.CLASS_OF_SERVICE, as_text),
        ),
    ),
    "productTerm.name": constant(ProductField.ID, "commitment"),
    "productTerm.duration.amount": Attribute(ProductField.TERM_MONTHS, _whole, ordered=True),
    "productTerm.duration.units": constant(ProductField.ID, "month"),
    "place.id": Attribute(ProductField.PLACE_ID, as_text),
    # Every product has an A end at a site; those that join two ends a Z end, at a site or not.
    "place.role": Attribute(
        ProductField.TWO_ENDS, lambda text: (True,) if text == "Z-End" else (), constant=("A-End",)
    ),
    "place.@referredType": Attribute(
        ProductField.Z_ADDRESS,
        lambda text: (True,) if text == "GeographicAddress" else (),
        constant=("GeographicSite",),
    ),
    "href": linked(ProductField.ID, BASE, "product"),
    "productOffering.href": linked(ProductField.OFFERING_ID, CATALOG_BASE, "productOffering"),
    "productOrderItem.productOrderHref": linked(
        ProductField.ORDER_ID, ORDERING_BASE, "productOrder"
    ),
    "productOrderItem.orderItemId": Attribute(ProductField.ORDER_ITEM_ID, as_text),
    "productOrderItem.orderItemAction": Attribute(
        ProductField.ORDER_ITEM_ACTION, by_name({a: a.value for a in ordering.ItemAction})
    ),
    "productOrderItem.@referredType": constant(ProductField.ID, "ProductOrderItem"),
    "productPrice.recurringChargePeriod": constant(ProductField.ID, "month"),
    # The monthly and one-time prices.
    "productPrice.price.dutyFreeAmount.value": Attribute(
        ProductField.MONTHLY_CENTS,
        as_cents,
        ordered=True,
        also=Attribute(ProductField.ONE_TIME_CENTS, as_cents, ordered=True),
    ),
    "productPrice.price.dutyFreeAmount.unit": Attribute(ProductField.CURRENCY, as_text),
    "productPrice.priceType": constant(ProductField.ID, "recurring", "oneTime"),
    "productPrice.name": constant(ProductField.ID, "monthly recurring", "one time"),
    "productPrice.@type": constant(ProductField.ID, "ProductPrice"),
}
# TMF637 attributes that filter after the page is read: none.
AFTER_PAGE: frozenset[str] = frozenset()
router = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF637 product inventory"])


@router.get("/product", response_model=list[models.Product])
async def list_products(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's products, newest first."""
    conditions, after = query.conditions(FILTERS, AFTER_PAGE)
    page = await inventory.page_products(
        session,
        principal=principal,
        conditions=conditions,
        offset=query.offset,
        limit=query.limit,
    )
    items = await ordering.delivering_items(session, principal=principal, products=page.items)
    views = [product_view(request, p, items.get(p.id)) for p in page.items]
    return await listed(query, views, total=page.total, after=after)


@router.get("/product/{id}", response_model=models.Product)
async def get_product(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One product."""
    return resource(query, await _view(request, session, principal, id))


@router.post("/product", status_code=201, response_model=models.Product)
async def create_product(principal: CurrentPrincipal) -> Response:
    """Refused: products are created by product orders."""
    raise TMFError(405, "METHOD_NOT_ALLOWED", "products are created by orders (TMF622)")


@router.patch("/product/{id}", response_model=models.Product)
async def patch_product(
    id: str,
    body: models.ProductUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Suspend or resume a product (operations staff); every other attribute of
    `Product_Update` may be repeated as the product shows it, not changed (orders change
    products)."""
    principal.require_ops()
    current = await _view(request, session, principal, id)
    given = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    status = given.pop("status", None)
    changed = sorted(name for name, value in given.items() if not repeats(value, current.get(name)))
    if changed:
        raise TMFError(
            400,
            "NOT_PATCHABLE",
            f"{', '.join(changed)}: a product changes by an order (TMF622); "
            "only status (suspended or active) changes here",
        )
    if status not in {None, "suspended", "active"}:
        raise TMFError(400, "NOT_PATCHABLE", "status changes to suspended or active only")
    product = await _product(session, principal, id)
    if status == "suspended" and product.state is not ProductState.SUSPENDED:
        product = await inventory.suspend(session, principal=principal, product_id=id)
    elif status == "active" and product.state is ProductState.SUSPENDED:
        product = await inventory.resume(session, principal=principal, product_id=id)
    return tmf_json(await _view(request, session, principal, product.id))


@router.delete("/product/{id}", status_code=204)
async def delete_product(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Refused: a product is ended by a `delete` item of a product order."""
    await _product(session, principal, id)
    raise TMFError(405, "METHOD_NOT_ALLOWED", "end a product with a delete item of a product order")


add_hub_routes(router, NOTIFYING)
