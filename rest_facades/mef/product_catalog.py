"""MEF W142 Product Catalog: the core's offerings (`productOffering`), their categories
(`category`) and the product schemas they accept (`productSpecification`), with notifications
of offering changes."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, Query

from app.core import catalog, catalog_search
from app.core.catalog import (
    Category,
    CategoryDetail,
    LifecycleStatus,
    Offering,
    ProductKind,
)
from app.core.catalog_search import OfferingFilter
from app.core.events import Channel, EntityKind, Event, EventKind
from app.core.paging import Page, fetch_page
from rest_facades.mef import hub
from rest_facades.mef.errors import MEFError, bad_request, mef_json
from rest_facades.mef.flavours import Flavour

# Handlers take the Sonata models for both flavours (see flavours.py).
from rest_facades.mef.generated.sonata import product_catalog as models
from rest_facades.mef.hub import NotifyingAPI
from rest_facades.mef.products import CANTATA_ALSO, _index, kind_of, product_types
from rest_facades.mef.requested_products import PLACE_ROLE, SELLER_CONTACT
from rest_facades.mef.requests import Caller, FlavourDep, MEFCaller, MEFList, dump, listing
from rest_facades.mef.routing import mef_router

API = "product_catalog"
TAG = "product catalog (MEF W142)"
STATUS = {
    LifecycleStatus.IN_DESIGN: "inTest",
    LifecycleStatus.ACTIVE: "orderable",
    LifecycleStatus.RETIRED: "endOfSale",
}
CORE_STATUS = {name: status for status, name in STATUS.items()}
# What every offering here is sold under, through each flavour.
AGREEMENT = "Lumen standard terms"
REGION = {"country": "US"}
MARKET_SEGMENT = {Channel.SONATA: "wholesale", Channel.CANTATA: "enterprise"}
# The product schemas are those of the Grace release: they last changed when it was published.
GRACE_PUBLISHED = datetime(2023, 12, 20, tzinfo=UTC)


def _href(flavour: Flavour, caller: Caller, resource: str, object_id: str) -> str:
    return caller.href(flavour.base_path(API), resource, object_id)


def specification_ids(flavour: Flavour) -> list[str]:
    """The product schemas this flavour sells, by `$id`."""
    extra = list(CANTATA_ALSO) if flavour.channel == Channel.CANTATA else []
    return sorted({*product_types(flavour).values(), *extra})


def _spec_of(flavour: Flavour, offering: Offering) -> str:
    # An offering still in design delivers no kind yet: it names its core specification.
    if offering.kind is None:
        return offering.specification_id or ""
    return product_types(flavour)[offering.kind]


def _spec_name(spec_id: str) -> str:
    # `urn:mef:lso:spec:sonata:access-eline-ovc:v5.0.0:all` is the Access E-Line OVC.
    return spec_id.split(":")[5].replace("-", " ")


@cache
def _schema_text(spec_id: str) -> str:
    name = _index()[spec_id]
    return (
        resources.files("rest_facades.mef.generated")
        .joinpath(f"product_schemas/{name}")
        .read_text()
    )


def _terms(offering: Offering) -> list[dict[str, Any]]:
    return [
        {
            "name": f"{term} months",
            "duration": {"amount": term, "units": "calendarMonths"},
            "endOfTermAction": "roll",
            "rollInterval": {"amount": 1, "units": "calendarMonths"},
        }
        for term in catalog.terms_offered(offering)
    ]


def _offering_common(flavour: Flavour, caller: Caller, offering: Offering) -> dict[str, Any]:
    spec_id = _spec_of(flavour, offering)
    return {
        "id": offering.id,
        "href": _href(flavour, caller, "productOffering", offering.id),
        "name": offering.name,
        "lastUpdate": offering.updated_at,
        "lifecycleStatus": STATUS[offering.status],
        "agreement": AGREEMENT,
        "channel": [flavour.name],
        "marketSegment": [MARKET_SEGMENT[flavour.channel]],
        "region": [REGION],
        "category": [
            {"id": offering.category, "href": _href(flavour, caller, "category", offering.category)}
        ],
        "productSpecification": {
            "id": spec_id,
            "href": _href(flavour, caller, "productSpecification", spec_id),
        },
    }


def _offering_view(flavour: Flavour, caller: Caller, offering: Offering) -> dict[str, Any]:
    ends = 2 if offering.needs_two_ends else 1
    return dump(
        models.ProductOffering.model_validate(
            _offering_common(flavour, caller, offering)
            | {
                "description": offering.description,
                "relatedContactInformation": SELLER_CONTACT,
                "productOfferingTerm": _terms(offering),
                "placeRelationship": [
                    {"relationshipRole": PLACE_ROLE, "minCardinality": ends, "maxCardinality": ends}
                ],
                "productOfferingSpecification": {
                    # The part of the product schema this offering sells: its bandwidths.
                    "schema": json.dumps(
                        {
                            "$ref": _spec_of(flavour, offering),
                            "x-lumen-bandwidths-mbps": offering.bandwidths_mbps,
                        }
                    )
                },
            }
        )
    )


def _spec_view(flavour: Flavour, caller: Caller, spec_id: str, *, full: bool) -> dict[str, Any]:
    common = {
        "id": spec_id,
        "href": _href(flavour, caller, "productSpecification", spec_id),
        "name": _spec_name(spec_id),
        "lifecycleStatus": "published",
        "lastUpdate": GRACE_PUBLISHED,
    }
    if not full:
        return dump(models.ProductSpecificationFind.model_validate(common))
    return dump(
        models.ProductSpecification.model_validate(
            common
            | {
                "description": f"The MEF product schema {spec_id}.",
                "sourceSchema": {"schema": _schema_text(spec_id)},
            }
        )
    )


def _category_view(flavour: Flavour, caller: Caller, detail: CategoryDetail) -> dict[str, Any]:
    category = detail.category

    def ref(resource: str, object_id: str) -> dict[str, str]:
        return {"id": object_id, "href": _href(flavour, caller, resource, object_id)}

    return dump(
        models.ProductCategory.model_validate(
            {
                **ref("category", category.id),
                "name": category.name,
                "description": category.description,
                "lastUpdate": category.updated_at,
                "parentCategory": ref("category", category.parent_id)
                if category.parent_id
                else None,
                "subCategory": [ref("category", c.id) for c in detail.subcategories],
                "productOffering": [ref("productOffering", o.id) for o in detail.offerings],
            }
        )
    )


@dataclass(frozen=True)
class OfferingSearch:
    """The criteria of an offering list as MEF W142 names them; None where none can match."""

    where: OfferingFilter | None


def _one_of(name: str, value: str | None, allowed: Any) -> None:
    if value is not None and value not in set(allowed):
        raise bad_request("invalidQuery", f"{name} must be one of {', '.join(allowed)}")


async def offering_search(
    flavour: FlavourDep,
    name: str | None = None,
    updated_after: Annotated[datetime | None, Query(alias="lastUpdate.gt")] = None,
    updated_before: Annotated[datetime | None, Query(alias="lastUpdate.lt")] = None,
    status: Annotated[str | None, Query(alias="lifecycleStatus")] = None,
    agreement: str | None = None,
    channel: str | None = None,
    market_segment: Annotated[str | None, Query(alias="marketSegment")] = None,
    country: Annotated[str | None, Query(alias="region.country")] = None,
    category: Annotated[str | None, Query(alias="category.id")] = None,
    spec_id: Annotated[str | None, Query(alias="productSpecification.id")] = None,
) -> OfferingSearch:
    """The offering criteria of a list request; an unknown lifecycle status is an Error400."""
    _one_of("lifecycleStatus", status, list(models.ProductOfferingLifecycleStatusType))
    kinds: frozenset[ProductKind] | None = None
    if spec_id is not None:
        kind = kind_of(flavour, spec_id)
        kinds = frozenset({kind} if kind else ())
    # Every offering is sold under one agreement, in one region, to one segment per flavour.
    constant = [
        (agreement, AGREEMENT),
        (channel, flavour.name),
        (market_segment, MARKET_SEGMENT[flavour.channel]),
        (country, REGION["country"]),
    ]
    if any(sent is not None and sent != value for sent, value in constant):
        return OfferingSearch(None)
    statuses = None
    if status is not None:
        statuses = frozenset({CORE_STATUS[status]} if status in CORE_STATUS else ())
    return OfferingSearch(
        OfferingFilter(
            name=name,
            statuses=statuses,
            kinds=kinds,
            category=category,
            updated_after=updated_after,
            updated_before=updated_before,
        )
    )


OfferingSearchDep = Annotated[OfferingSearch, Depends(offering_search)]
routes = mef_router()


@routes.get("/category", response_model=list[models.ProductCategory])
async def list_categories(
    query: MEFList,
    flavour: FlavourDep,
    parent_id: Annotated[str | None, Query(alias="parentCategory.id")] = None,
    updated_after: Annotated[datetime | None, Query(alias="lastUpdate.gt")] = None,
    updated_before: Annotated[datetime | None, Query(alias="lastUpdate.lt")] = None,
) -> Any:
    """The categories of the catalog, with their offerings and subcategories."""
    caller, window = query.caller, query.window
    statement = catalog_search.category_search(
        parent_id=parent_id, updated_after=updated_after, updated_before=updated_before
    )
    page: Page[Category] = await fetch_page(
        caller.session, statement, offset=window.offset, limit=window.limit
    )
    details = await catalog.category_details(
        caller.session, principal=caller.principal, categories=page.items
    )
    return listing([_category_view(flavour, caller, d) for d in details], total=page.total)


@routes.get("/category/{id}", response_model=models.ProductCategory)
async def get_category(id: str, caller: MEFCaller, flavour: FlavourDep) -> Any:
    """One category with its offerings and subcategories."""
    category = await catalog.get_category(caller.session, id)
    [detail] = await catalog.category_details(
        caller.session, principal=caller.principal, categories=[category]
    )
    return mef_json(_category_view(flavour, caller, detail))


@routes.get("/productOffering", response_model=list[models.ProductOfferingFind])
async def list_offerings(query: MEFList, flavour: FlavourDep, search: OfferingSearchDep) -> Any:
    """The offerings of the catalog that meet every criterion given, by id."""
    caller, window = query.caller, query.window
    if search.where is None:
        return listing([], total=0)
    statement = catalog_search.offering_search(principal=caller.principal, where=search.where)
    page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
    views = [
        dump(models.ProductOfferingFind.model_validate(_offering_common(flavour, caller, o)))
        for o in page.items
    ]
    return listing(views, total=page.total)


@routes.get("/productOffering/{id}", response_model=models.ProductOffering)
async def get_offering(id: str, caller: MEFCaller, flavour: FlavourDep) -> Any:
    """One offering: its terms, places and the product schema it sells."""
    offering = await catalog.browse_offering(
        caller.session, principal=caller.principal, offering_id=id
    )
    return mef_json(_offering_view(flavour, caller, offering))


@routes.get("/productSpecification", response_model=list[models.ProductSpecificationFind])
async def list_specifications(
    query: MEFList,
    flavour: FlavourDep,
    name: str | None = None,
    status: Annotated[str | None, Query(alias="lifecycleStatus")] = None,
    updated_after: Annotated[datetime | None, Query(alias="lastUpdate.gt")] = None,
    updated_before: Annotated[datetime | None, Query(alias="lastUpdate.lt")] = None,
) -> Any:
    """The product schemas this flavour sells."""
    caller, window = query.caller, query.window
    _one_of("lifecycleStatus", status, list(models.ProductSpecificationLifecycleStatusType))
    # A fixed handful per flavour, from the generated schemas rather than from rows: filtered
    # here, not in SQL.
    matching = [
        spec_id
        for spec_id in specification_ids(flavour)
        if (name is None or _spec_name(spec_id) == name)
        and status in (None, "published")
        and (updated_after is None or GRACE_PUBLISHED > updated_after)
        and (updated_before is None or GRACE_PUBLISHED < updated_before)
    ]
    shown = matching[window.offset : window.offset + window.limit]
    views = [_spec_view(flavour, caller, spec_id, full=False) for spec_id in shown]
    return listing(views, total=len(matching))


@routes.get("/productSpecification/{id}", response_model=models.ProductSpecification)
async def get_specification(id: str, caller: MEFCaller, flavour: FlavourDep) -> Any:
    """One product schema this flavour sells, the schema itself included."""
    if id not in specification_ids(flavour):
        raise MEFError(
            404, {"code": "notFound", "reason": f"no product specification '{id}'"[:255]}
        )
    return mef_json(_spec_view(flavour, caller, id, full=True))


routes.include_router(hub.routes)
# The W142 event of each core event about a catalog entry that W142 shows; a retired entry
# changed its status (to `endOfSale`), since W142 has no delete events. The official file posts
# the state changes to listener paths named `...StatusChangeEvent`.
_EVENTS = {
    EntityKind.OFFERING: {
        EventKind.CREATED: "productOfferingCreateEvent",
        EventKind.ATTRIBUTE_CHANGED: "productOfferingAttributeValueChangeEvent",
        EventKind.STATE_CHANGED: "productOfferingStateChangeEvent",
        EventKind.DELETED: "productOfferingStateChangeEvent",
    },
    EntityKind.CATEGORY: {
        EventKind.CREATED: "categoryCreateEvent",
        EventKind.ATTRIBUTE_CHANGED: "categoryAttributeValueChangeEvent",
        EventKind.STATE_CHANGED: "categoryStateChangeEvent",
        EventKind.DELETED: "categoryStateChangeEvent",
    },
}


def notification(flavour: Flavour, event: Event) -> tuple[str, dict[str, Any]] | None:
    """The MEF W142 event for a core event about an offering or a category. The product
    specifications W142 shows are the published schemas, not core entries: no events."""
    by_kind = _EVENTS.get(event.entity, {})
    if event.kind not in by_kind:
        return None
    return by_kind[event.kind], {"id": event.entity_id}


NOTIFYING = NotifyingAPI(
    api=API,
    notification_api="product_catalog_notification",
    notification=notification,
    listener_paths={
        "productOfferingStateChangeEvent": "productOfferingStatusChangeEvent",
        "categoryStateChangeEvent": "categoryStatusChangeEvent",
    },
)
