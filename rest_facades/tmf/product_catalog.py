"""TMF620 Product Catalog v4: the core catalog as catalogs, categories, offerings, prices and
specifications; reads for every caller, changes to offerings for operations staff."""

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response

from app.core import catalog
from app.core.catalog import ClassOfService, Offering, OfferingBase, OfferingUpdate, ProductKind
from app.core.db import new_id
from app.core.errors import InvalidRequest, NotFound
from app.core.geography import Location, Serviceability
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import merge_patch, select_fields
from rest_facades.tmf.common import href, iso, listing, read_body
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes

BASE = "/tmf-api/productCatalogManagement/v4"
CATALOG_ID = "lumen-connectivity"
SPEC_NAMES = {
    ProductKind.ETHERNET_LINE: "Ethernet virtual connection, point to point",
    ProductKind.ETHERNET_PORT: "Ethernet port (UNI)",
    ProductKind.INTERNET_ACCESS: "Dedicated Internet access",
}


def _list_price(offering: Offering) -> tuple[int, int]:
    """Monthly and one-time charges at the lowest speed, on-net, metro, 12 months."""
    here = Location(
        id="loc_list",
        name="on-net",
        street_number="",
        street_name="",
        city="",
        state="",
        postcode="",
        latitude=0.0,
        longitude=0.0,
        on_net=True,
    )
    there = Location(
        id="loc_list2",
        name="on-net",
        street_number="",
        street_name="",
        city="",
        state="",
        postcode="",
        latitude=0.0,
        longitude=0.0001,
        on_net=True,
    )
    ends = [(here, Serviceability.ON_NET)] + (
        [(there, Serviceability.ON_NET)] if offering.needs_two_ends else []
    )
    spec = catalog.ProductSpec(
        offering_id=offering.id,
        a_location_id=here.id,
        z_location_id=there.id if offering.needs_two_ends else None,
        bandwidth_mbps=min(offering.bandwidths_mbps),
        term_months=max(12, offering.min_term_months),
        class_of_service=ClassOfService(offering.classes_of_service[0]),
    )
    price = catalog.price(offering, spec, ends)
    return price.monthly_cents, price.one_time_cents


def offering_view(request: Request, offering: Offering) -> dict[str, Any]:
    """An offering as a TMF620 ProductOffering."""
    active = offering.status is catalog.OfferingStatus.ACTIVE
    return {
        "id": offering.id,
        "href": href(request, BASE, "productOffering", offering.id),
        "@type": "ProductOffering",
        "name": offering.name,
        "description": offering.description,
        "version": str(offering.version),
        "lastUpdate": iso(offering.updated_at),
        "lifecycleStatus": "Active" if active else "Retired",
        "isBundle": False,
        "isSellable": active,
        "validFor": {"startDateTime": iso(offering.created_at)},
        "category": [
            {
                "id": offering.category,
                "name": offering.category,
                "href": href(request, BASE, "category", offering.category),
                "@referredType": "Category",
            }
        ],
        "productSpecification": {
            "id": offering.kind.value,
            "name": SPEC_NAMES[offering.kind],
            "href": href(request, BASE, "productSpecification", offering.kind.value),
            "@referredType": "ProductSpecification",
        },
        "productOfferingTerm": [
            {
                "name": "minimum term",
                "duration": {"amount": offering.min_term_months, "units": "month"},
            },
            {
                "name": "maximum term",
                "duration": {"amount": offering.max_term_months, "units": "month"},
            },
        ],
        "prodSpecCharValueUse": [
            {
                "name": "bandwidth",
                "valueType": "integer",
                "minCardinality": 1,
                "maxCardinality": 1,
                "productSpecCharacteristicValue": [
                    {
                        "value": mbps,
                        "unitOfMeasure": "Mbps",
                        "valueType": "integer",
                        "isDefault": i == 0,
                    }
                    for i, mbps in enumerate(offering.bandwidths_mbps)
                ],
            },
            {
                "name": "classOfService",
                "valueType": "string",
                "minCardinality": 1,
                "maxCardinality": 1,
                "productSpecCharacteristicValue": [
                    {"value": cos, "valueType": "string", "isDefault": i == 0}
                    for i, cos in enumerate(offering.classes_of_service)
                ],
            },
        ],
        "productOfferingPrice": [
            {
                "id": f"{offering.id}~{kind}",
                "name": f"{offering.name}, {kind} from",
                "href": href(request, BASE, "productOfferingPrice", f"{offering.id}~{kind}"),
                "@referredType": "ProductOfferingPrice",
            }
            for kind in ("recurring", "oneTime")
        ],
    }


def price_view(request: Request, offering: Offering, kind: str) -> dict[str, Any]:
    """The list price of an offering, as a TMF620 ProductOfferingPrice."""
    monthly, one_time = _list_price(offering)
    cents = monthly if kind == "recurring" else one_time
    price_id = f"{offering.id}~{kind}"
    return {
        "id": price_id,
        "href": href(request, BASE, "productOfferingPrice", price_id),
        "@type": "ProductOfferingPrice",
        "name": f"{offering.name}, {kind} from",
        "priceType": kind,
        "lifecycleStatus": "Active",
        "version": str(offering.version),
        "lastUpdate": iso(offering.updated_at),
        "isBundle": False,
        **(
            {"recurringChargePeriodType": "month", "recurringChargePeriodLength": 1}
            if kind == "recurring"
            else {}
        ),
        "price": {"unit": "USD", "value": float(Decimal(cents) / 100)},
    }


def spec_view(request: Request, kind: ProductKind) -> dict[str, Any]:
    """A kind of product as a TMF620 ProductSpecification."""
    return {
        "id": kind.value,
        "href": href(request, BASE, "productSpecification", kind.value),
        "@type": "ProductSpecification",
        "name": SPEC_NAMES[kind],
        "version": "1",
        "lifecycleStatus": "Active",
        "isBundle": False,
        "brand": "Lumen",
    }


def category_view(request: Request, name: str, offerings: list[Offering]) -> dict[str, Any]:
    """An offering category as a TMF620 Category."""
    return {
        "id": name,
        "href": href(request, BASE, "category", name),
        "@type": "Category",
        "name": name,
        "version": "1",
        "lifecycleStatus": "Active",
        "isRoot": True,
        "productOffering": [
            {"id": o.id, "name": o.name, "href": href(request, BASE, "productOffering", o.id)}
            for o in offerings
            if o.category == name
        ],
    }


def catalog_view(request: Request, names: list[str]) -> dict[str, Any]:
    """The one catalog of the platform as a TMF620 Catalog."""
    return {
        "id": CATALOG_ID,
        "href": href(request, BASE, "catalog", CATALOG_ID),
        "@type": "Catalog",
        "name": "Lumen connectivity",
        "version": "1",
        "lifecycleStatus": "Active",
        "catalogType": "ProductCatalog",
        "category": [
            {"id": n, "name": n, "href": href(request, BASE, "category", n)} for n in names
        ],
    }


def _characteristics(body: dict[str, Any]) -> dict[str, Any]:
    """Bandwidths, classes of service and terms from TMF characteristic uses and terms."""
    found: dict[str, Any] = {}
    for use in body.get("prodSpecCharValueUse") or []:
        values = [v.get("value") for v in use.get("productSpecCharacteristicValue") or []]
        if use.get("name") == "bandwidth":
            found["bandwidths_mbps"] = [int(v) for v in values if str(v).isdigit()]
        if use.get("name") == "classOfService":
            found["classes_of_service"] = [str(v) for v in values]
    for term in body.get("productOfferingTerm") or []:
        amount = (term.get("duration") or {}).get("amount")
        if isinstance(amount, int) and term.get("name") == "minimum term":
            found["min_term_months"] = amount
        if isinstance(amount, int) and term.get("name") == "maximum term":
            found["max_term_months"] = amount
    return found


async def _offering(session: Any, offering_id: str) -> Offering:
    """An offering on sale by id, or a TMF 404."""
    try:
        return await catalog.get_offering(session, offering_id)
    except NotFound as exc:
        raise TMFError(404, "NOT_FOUND", exc.message) from exc


# Listeners may register; the core records no events of this API's resources yet, so none are
# delivered (see the README).
NOTIFYING = NotifyingAPI("productOffering", lambda _event: None)


def router() -> APIRouter:
    """The TMF620 endpoints."""
    routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF620 product catalog"])

    async def offerings(session: Any) -> list[Offering]:
        return await catalog.list_offerings(session)

    @routes.get("/productOffering")
    async def list_offerings(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Offerings on sale."""
        return listing(request, [offering_view(request, o) for o in await offerings(session)])

    @routes.get("/productOffering/{id}")
    async def get_offering(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One offering."""
        offering = await _offering(session, id)
        return tmf_json(
            select_fields(offering_view(request, offering), request.query_params.get("fields"))
        )

    @routes.post("/productOffering", status_code=201)
    async def create_offering(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Add an offering (operations staff)."""
        principal.require_ops()
        body = await read_body(request)
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            raise TMFError(400, "MISSING_ATTRIBUTE", "name is mandatory")
        spec = (body.get("productSpecification") or {}).get("id")
        if spec not in {k.value for k in ProductKind}:
            raise TMFError(
                400,
                "INVALID_VALUE",
                "productSpecification.id must be one of " + ", ".join(k.value for k in ProductKind),
            )
        data = {
            "name": body["name"],
            "kind": ProductKind(spec),
            "description": body.get("description") or "",
            "bandwidths_mbps": catalog.LINE_BANDWIDTHS_MBPS,
            "classes_of_service": [ClassOfService.STANDARD],
        } | _characteristics(body)
        try:
            offering = await catalog.create_offering(
                session,
                principal=principal,
                offering_id=new_id("off"),
                data=OfferingBase.model_validate(data),
            )
        except InvalidRequest:
            raise
        view = offering_view(request, offering)
        return tmf_json(view, status=201, headers={"Location": view["href"]})

    @routes.patch("/productOffering/{id}")
    async def patch_offering(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Change an offering by merge patch (operations staff)."""
        principal.require_ops()
        offering = await _offering(session, id)
        patch = await read_body(request)
        for forbidden in ("id", "href", "@type", "lastUpdate", "version"):
            if forbidden in patch:
                raise TMFError(400, "NOT_PATCHABLE", f"{forbidden} cannot be changed")
        merged = merge_patch(offering_view(request, offering), patch)
        changes = {"name": merged.get("name"), "description": merged.get("description")}
        changes |= _characteristics(merged)
        if merged.get("lifecycleStatus") == "Retired":
            changes["status"] = catalog.OfferingStatus.RETIRED
        updated = await catalog.update_offering(
            session,
            principal=principal,
            offering_id=id,
            changes=OfferingUpdate.model_validate(changes),
        )
        return tmf_json(offering_view(request, updated))

    @routes.delete("/productOffering/{id}", status_code=204)
    async def delete_offering(
        id: str, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Withdraw an offering from sale (operations staff)."""
        principal.require_ops()
        await _offering(session, id)
        await catalog.retire_offering(session, principal=principal, offering_id=id)
        return Response(status_code=204)

    @routes.get("/productOfferingPrice")
    async def list_prices(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """List prices of the offerings on sale."""
        return listing(
            request,
            [
                price_view(request, o, kind)
                for o in await offerings(session)
                for kind in ("recurring", "oneTime")
            ],
        )

    @routes.get("/productOfferingPrice/{id}")
    async def get_price(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One list price."""
        offering_id, _, kind = id.rpartition("~")
        if kind not in {"recurring", "oneTime"}:
            raise NotFound(f"no product offering price '{id}'")
        offering = await _offering(session, offering_id)
        return tmf_json(
            select_fields(price_view(request, offering, kind), request.query_params.get("fields"))
        )

    @routes.get("/productSpecification")
    async def list_specifications(request: Request, principal: CurrentPrincipal) -> Response:
        """The kinds of product sold."""
        return listing(request, [spec_view(request, k) for k in ProductKind])

    @routes.get("/productSpecification/{id}")
    async def get_specification(id: str, request: Request, principal: CurrentPrincipal) -> Response:
        """One kind of product."""
        if id not in {k.value for k in ProductKind}:
            raise NotFound(f"no product specification '{id}'")
        return tmf_json(
            select_fields(spec_view(request, ProductKind(id)), request.query_params.get("fields"))
        )

    @routes.get("/category")
    async def list_categories(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Offering categories."""
        found = await offerings(session)
        names = sorted({o.category for o in found})
        return listing(request, [category_view(request, n, found) for n in names])

    @routes.get("/category/{id}")
    async def get_category(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One category."""
        found = await offerings(session)
        if id not in {o.category for o in found}:
            raise NotFound(f"no category '{id}'")
        return tmf_json(
            select_fields(category_view(request, id, found), request.query_params.get("fields"))
        )

    @routes.get("/catalog")
    async def list_catalogs(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The catalogs (one)."""
        names = sorted({o.category for o in await offerings(session)})
        return listing(request, [catalog_view(request, names)])

    @routes.get("/catalog/{id}")
    async def get_catalog(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One catalog."""
        if id != CATALOG_ID:
            raise NotFound(f"no catalog '{id}'")
        names = sorted({o.category for o in await offerings(session)})
        return tmf_json(
            select_fields(catalog_view(request, names), request.query_params.get("fields"))
        )

    add_hub_routes(routes, NOTIFYING)
    return routes
