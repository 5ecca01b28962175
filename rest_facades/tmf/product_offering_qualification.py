"""TMF679 Product Offering Qualification v4: the core's qualifications as TMF qualifications.

Items name their product as TMF648 quote items do (offering id, places, `bandwidth`, `termMonths`
and `classOfService` characteristics). A qualification is answered in the call that asks for it
(state `done`), so `instantSyncQualification` is always honoured. Each item's
`qualificationItemResult` is `qualified` (green or yellow), `alternate` (red, with an
`alternateProductOfferingProposal`: the same offering at a speed that can be delivered) or
`unqualified`; red items carry an `eligibilityUnavailabilityReason`. `qualificationResult` is the
overall confidence: `green`, `yellow` or `red`. An item without places is at the qualification's
`place`; one without `bandwidth` asks for its offering's lowest speed.

A qualification is the record of an answer: `PATCH` changes what the buyer said about it
(description, category, channel, notes, related parties, places, the `provide...` flags,
`requestedPOQCompletionDate`) and may repeat the answer unchanged; `DELETE` removes it, unless a
quote was priced against it (409).

A qualification whose items lack what the core needs (an offering, a known offering, a place) is
recorded and ends at once in `terminatedWithError`, the reason in a `note` by the seller and each
item as asked, `terminatedWithError` with a `terminationError`; nothing is priced.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import catalog, qualification
from app.core.catalog import ClassOfService, ProductSpec
from app.core.errors import NotFound
from app.core.events import Channel, Event
from app.core.parties import Principal
from app.core.qualification import (
    Confidence,
    ItemDetails,
    Qualification,
    QualificationField,
    QualificationItem,
    QualificationState,
)
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import (
    Attribute,
    as_date_time,
    as_text,
    by_name,
    constant,
    in_document,
    linked,
    merge_patch,
)
from rest_facades.tmf.common import (
    TMFQueryDep,
    buyer_and_related_parties,
    href,
    iso,
    listed,
    resource,
)
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.generated import product_offering_qualification as tmf
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes
from rest_facades.tmf.patching import refuse_sellers_changes
from rest_facades.tmf.quote_management import (
    Lacking,
    offering_ref,
    product_spec,
    product_view,
    seller_note,
    specs_or_reason,
)

BASE = "/tmf-api/productOfferingQualification/v4"
RESOURCE = "productOfferingQualification"
STATES = {
    QualificationState.ACKNOWLEDGED: "acknowledged",
    QualificationState.IN_PROGRESS: "inProgress",
    QualificationState.DONE_READY: "done",
    QualificationState.DONE_UNABLE_TO_PROVIDE: "done",
    QualificationState.TERMINATED_WITH_ERROR: "terminatedWithError",
}
# What the buyer sends that the core keeps as given and this face returns unchanged.
KEPT = (
    "description",
    "category",
    "channel",
    "note",
    "relatedParty",
    "place",
    "provideAlternative",
    "provideOnlyAvailable",
    "provideUnavailabilityReason",
)
# Attributes of ProductOfferingQualification_Update that the buyer may change.
BUYERS = (*KEPT, "requestedPOQCompletionDate")
CUSTOMER = "customer"
ITEM_KEPT = ("note",)
# The items of a qualification the seller could not answer, kept as the buyer sent them.
ASKED = "productOfferingQualificationItem"


def _result(item: QualificationItem) -> str:
    if item.qualified:
        return "qualified"
    slower = any("bandwidth_mbps" in a for a in item.alternatives)
    return "alternate" if slower else "unqualified"


def item_view(request: Request, poq: Qualification, item: QualificationItem) -> dict[str, Any]:
    """A core qualification item as a TMF679 ProductOfferingQualificationItem."""
    view: dict[str, Any] = {
        "id": item.external_id or str(item.position),
        "@type": "ProductOfferingQualificationItem",
        "action": "add",
        "state": "done",
        "qualificationItemResult": _result(item),
        "productOffering": offering_ref(request, item.offering_id),
        "product": product_view(request, _spec(item)),
    }
    if item.qualified and poq.completed_at is not None:
        ready = poq.completed_at + timedelta(days=item.lead_time_days)
        view["expectedActivationDate"] = iso(ready)
    if not item.qualified:
        view["eligibilityUnavailabilityReason"] = [
            {"code": "notServiceable", "label": a["reason"]}
            for a in item.alternatives
            if isinstance(a.get("reason"), str)
        ] or [{"code": "notServiceable", "label": "the product cannot be delivered as asked"}]
        view["alternateProductOfferingProposal"] = [
            {
                "id": f"{item.id}-{n + 1}",
                "@type": "AlternateProductOfferingProposal",
                "alternateProductOffering": offering_ref(request, item.offering_id),
                "alternateProduct": product_view(
                    request, _spec(item, bandwidth_mbps=int(a["bandwidth_mbps"]))
                )
                | {
                    "productPrice": [
                        _price("recurring", a.get("monthly_cents", 0)),
                        _price("oneTime", a.get("one_time_cents", 0)),
                    ]
                },
            }
            for n, a in enumerate(item.alternatives)
            if "bandwidth_mbps" in a
        ]
    return view | {k: item.annotations[k] for k in ITEM_KEPT if k in item.annotations}


def _price(kind: str, cents: int) -> dict[str, Any]:
    price = {"unit": "USD", "value": float(Decimal(cents) / 100)}
    entry: dict[str, Any] = {
        "@type": "ProductPrice",
        "priceType": kind,
        "price": {"@type": "Price", "dutyFreeAmount": price},
    }
    if kind == "recurring":
        entry["recurringChargePeriod"] = "month"
    return entry


def _spec(item: QualificationItem, **changes: Any) -> ProductSpec:
    return ProductSpec(
        offering_id=item.offering_id,
        a_location_id=item.a_location_id,
        z_location_id=item.z_location_id,
        bandwidth_mbps=changes.get("bandwidth_mbps", item.bandwidth_mbps),
        term_months=item.term_months,
        class_of_service=ClassOfService(item.class_of_service),
    )


def _overall(items: list[QualificationItem]) -> str:
    confidences = {i.confidence for i in items}
    if not confidences or confidences == {Confidence.RED}:
        return "red"
    return "green" if confidences == {Confidence.GREEN} else "yellow"


def poq_view(
    request: Request, poq: Qualification, items: list[QualificationItem]
) -> dict[str, Any]:
    """A core qualification as a TMF679 ProductOfferingQualification."""
    view: dict[str, Any] = {
        "id": poq.id,
        "href": href(request, BASE, RESOURCE, poq.id),
        "@type": "ProductOfferingQualification",
        "productOfferingQualificationDate": iso(poq.created_at),
        "instantSyncQualification": True,
        "state": STATES[poq.state],
        "productOfferingQualificationItem": [item_view(request, poq, i) for i in items]
        or _asked_items(poq),
    }
    if items:
        view["qualificationResult"] = _overall(items)
    if poq.completed_at is not None:
        view["effectiveQualificationDate"] = iso(poq.completed_at)
    if poq.valid_until is not None:
        view["expirationDate"] = iso(poq.valid_until)
    if poq.requested_completion_at is not None:
        view["requestedPOQCompletionDate"] = iso(poq.requested_completion_at)
    view |= {k: poq.annotations[k] for k in KEPT if k in poq.annotations}
    if poq.state_reason:
        note = seller_note(poq.completed_at or poq.created_at, poq.state_reason)
        view["note"] = [*view.get("note", []), note]
    customer = {"id": poq.party_id, "role": CUSTOMER, "@referredType": "Organization"}
    view["relatedParty"] = [customer, *(poq.annotations.get("relatedParty") or [])]
    return view


def _item_id(item: dict[str, Any], index: int) -> str:
    return str(item["id"]) if item.get("id") is not None else str(index + 1)


def _asked_items(poq: Qualification) -> list[dict[str, Any]]:
    """The items of a qualification the core could not answer, as the buyer asked for them."""
    error = {"@type": "TerminationError", "value": poq.state_reason or ""}
    return [
        item
        | {
            "id": _item_id(item, i),
            "state": STATES[poq.state],
            "terminationError": [error],
        }
        for i, item in enumerate(poq.annotations.get(ASKED, []))
        if isinstance(item, dict)
    ]


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """A core qualification event as the TMF679 qualification it is about."""
    if event.entity != "qualification":
        return None
    resource: dict[str, Any] = {"id": event.entity_id, "@type": "ProductOfferingQualification"}
    if event.state in {s.value for s in QualificationState}:
        resource["state"] = STATES[QualificationState(event.state)]
    return RESOURCE, resource


NOTIFYING = NotifyingAPI("productOfferingQualification", describe)


def _others(parties: list[dict[str, Any]] | None, party_id: str | None) -> list[dict[str, Any]]:
    """The related parties besides the customer (whom the qualification names itself)."""
    return [p for p in parties or [] if not (p.get("role") == CUSTOMER and p.get("id") == party_id)]


# TMF679 attributes that the core's qualification query answers; others match after paging.
FILTERS: dict[str, Attribute[QualificationField]] = {
    "id": Attribute(QualificationField.ID, as_text),
    "state": Attribute(QualificationField.STATE, by_name(STATES)),
    "productOfferingQualificationDate": Attribute(
        QualificationField.CREATED_AT, as_date_time, ordered=True
    ),
    "effectiveQualificationDate": Attribute(
        QualificationField.COMPLETED_AT, as_date_time, ordered=True
    ),
    "expirationDate": Attribute(QualificationField.VALID_UNTIL, as_date_time, ordered=True),
    "requestedPOQCompletionDate": Attribute(
        QualificationField.REQUESTED_COMPLETION_AT, as_date_time, ordered=True
    ),
    # What the buyer sent that the core keeps as given, by any path below it.
    **{name: in_document(QualificationField.ANNOTATIONS, name) for name in KEPT},
    **buyer_and_related_parties(QualificationField.PARTY, QualificationField.ANNOTATIONS),
    "@type": constant(QualificationField.ID, "ProductOfferingQualification"),
    "href": linked(QualificationField.ID, BASE, RESOURCE),
    "instantSyncQualification": constant(QualificationField.ID, True),
    "qualificationResult": Attribute(
        QualificationField.CONFIDENCE, by_name({c: c.value for c in Confidence})
    ),
    f"{ASKED}.state": Attribute(QualificationField.ITEM_STATE, by_name(STATES)),
    # The items the core could not answer, as the buyer asked for them, and what the buyer
    # sent with those it answered.
    f"{ASKED}.productOffering.id": Attribute(
        QualificationField.ITEM_OFFERING_ID,
        as_text,
        also=in_document(QualificationField.ANNOTATIONS, ASKED, "productOffering", "id"),
    ),
    **{
        f"{ASKED}.{name}": Attribute(
            QualificationField.ITEM_ANNOTATIONS,
            as_text,
            ordered=True,
            document=(name,),
            also=in_document(QualificationField.ANNOTATIONS, ASKED, name),
        )
        for name in ITEM_KEPT
    },
}
# Attributes that filter after the page is read (not yet translated into SQL): what the core answers
# for each item (its result, product and dates), the items' termination errors, and the seller's
# note on why it was terminated.
AFTER_PAGE = frozenset(
    {
        "note.@type",
        "note.author",
        "note.date",
        "note.id",
        "note.text",
        "productOfferingQualificationItem.@type",
        "productOfferingQualificationItem.action",
        "productOfferingQualificationItem.expectedActivationDate",
        "productOfferingQualificationItem.id",
        "productOfferingQualificationItem.product.@type",
        "productOfferingQualificationItem.product.place.@referredType",
        "productOfferingQualificationItem.product.place.href",
        "productOfferingQualificationItem.product.place.id",
        "productOfferingQualificationItem.product.place.role",
        "productOfferingQualificationItem.product.productCharacteristic.name",
        "productOfferingQualificationItem.product.productCharacteristic.value",
        "productOfferingQualificationItem.product.productCharacteristic.valueType",
        "productOfferingQualificationItem.product.productOffering.@referredType",
        "productOfferingQualificationItem.product.productOffering.href",
        "productOfferingQualificationItem.product.productOffering.id",
        "productOfferingQualificationItem.productOffering.@referredType",
        "productOfferingQualificationItem.productOffering.href",
        "productOfferingQualificationItem.qualificationItemResult",
        "productOfferingQualificationItem.terminationError.@type",
        "productOfferingQualificationItem.terminationError.value",
    }
)


async def _load(
    session: AsyncSession, principal: Principal, poq_id: str
) -> tuple[Qualification, list[QualificationItem]]:
    try:
        return await qualification.get_qualification(
            session, principal=principal, qualification_id=poq_id
        )
    except NotFound as exc:
        raise TMFError(404, "NOT_FOUND", exc.message) from exc


async def _item_spec(
    session: AsyncSession,
    principal: Principal,
    item: dict[str, Any],
    places: list[dict[str, Any]],
    where: str,
) -> ProductSpec:
    """The product an item asks for; places and speed it leaves out come from the
    qualification's `place` and its offering's lowest speed."""
    product = dict(item.get("product") or {})
    if not product.get("place"):
        product["place"] = places
    offered = product.get("productOffering") or item.get("productOffering") or {}
    named = [c.get("name") for c in product.get("productCharacteristic") or []]
    if "bandwidth" not in named and isinstance(offered.get("id"), str):
        try:
            offering = await catalog.get_offering(session, offered["id"])
        except NotFound as exc:
            raise Lacking(f"{where}: {exc.message}") from exc
        product["productCharacteristic"] = [
            *(product.get("productCharacteristic") or []),
            {"name": "bandwidth", "value": min(offering.bandwidths_mbps)},
        ]
    return await product_spec(session, principal, item | {"product": product}, where)


routes = APIRouter(
    prefix=BASE, route_class=TMFRoute, tags=["TMF679 product offering qualification"]
)


@routes.get(f"/{RESOURCE}", response_model=list[tmf.ProductOfferingQualification])
async def list_qualifications(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's qualifications, newest first."""
    conditions, after = query.conditions(FILTERS, AFTER_PAGE)
    page = await qualification.find_qualifications(
        session, principal=principal, conditions=conditions, offset=query.offset, limit=query.limit
    )
    views = [poq_view(request, poq, items) for poq, items in page.items]
    return await listed(query, views, total=page.total, after=after)


@routes.get(f"/{RESOURCE}/{{id}}", response_model=tmf.ProductOfferingQualification)
async def get_qualification(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One qualification with its items."""
    poq, items = await _load(session, principal, id)
    return resource(query, poq_view(request, poq, items))


@routes.post(f"/{RESOURCE}", status_code=201, response_model=tmf.ProductOfferingQualification)
async def create_qualification(
    body: tmf.ProductOfferingQualificationCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Ask whether products can be delivered; answered in this call."""
    sent = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    items = sent.get("productOfferingQualificationItem") or []
    if not items:
        raise TMFError(400, "MISSING_ATTRIBUTE", "productOfferingQualificationItem is mandatory")
    qualification.check_item_count(len(items), field_name="productOfferingQualificationItem")
    specs = await specs_or_reason(
        items,
        lambda item, where: _item_spec(session, principal, item, sent.get("place") or [], where),
        f"{RESOURCE}Item",
    )
    # Related parties are kept as given (the caller is the customer, whom the answer names).
    annotations = {k: sent[k] for k in KEPT if k in sent}
    if "relatedParty" in annotations:
        annotations["relatedParty"] = _others(annotations["relatedParty"], principal.party_id)
    if isinstance(specs, str):
        terminated = await qualification.terminate(
            session,
            principal=principal,
            channel=Channel.TMF,
            reason=specs,
            asked=[_item_id(item, i) for i, item in enumerate(items)],
            requested_completion_at=body.requestedPOQCompletionDate,
            annotations=annotations | {ASKED: items},
        )
        view = poq_view(request, terminated, [])
        return tmf_json(view, status=201, headers={"Location": view["href"]})
    poq, found = await qualification.qualify(
        session,
        principal=principal,
        specs=specs,
        channel=Channel.TMF,
        requested_completion_at=body.requestedPOQCompletionDate,
        annotations=annotations,
        details=[
            ItemDetails(
                external_id=str(item["id"]) if item.get("id") is not None else None,
                annotations={k: item[k] for k in ITEM_KEPT if k in item},
            )
            for item in items
        ],
    )
    view = poq_view(request, poq, found)
    return tmf_json(view, status=201, headers={"Location": view["href"]})


@routes.patch(f"/{RESOURCE}/{{id}}", response_model=tmf.ProductOfferingQualification)
async def patch_qualification(
    id: str,
    body: tmf.ProductOfferingQualificationUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change what the buyer said about a qualification; its answer may only be repeated."""
    poq, items = await _load(session, principal, id)
    current = poq_view(request, poq, items)
    patch = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    merged = merge_patch(current, patch)
    refuse_sellers_changes(patch, merged, current, (*BUYERS, "@type"))
    if "requestedPOQCompletionDate" in patch and patch["requestedPOQCompletionDate"] is None:
        raise TMFError(400, "INVALID_VALUE", "requestedPOQCompletionDate cannot be removed")
    kept = {k: merged.get(k) for k in KEPT if k in patch}
    if "relatedParty" in kept:
        kept["relatedParty"] = _others(kept["relatedParty"], poq.party_id) or None
    poq, items = await qualification.update_qualification(
        session,
        principal=principal,
        qualification_id=id,
        requested_completion_at=body.requestedPOQCompletionDate,
        annotations=kept or None,
    )
    return tmf_json(poq_view(request, poq, items))


@routes.delete(f"/{RESOURCE}/{{id}}", status_code=204)
async def delete_qualification(
    id: str, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Remove a qualification that no quote was priced against."""
    await qualification.delete_qualification(session, principal=principal, qualification_id=id)
    return Response(status_code=204)


add_hub_routes(routes, NOTIFYING)


def router() -> APIRouter:
    """The TMF679 endpoints."""
    return routes
