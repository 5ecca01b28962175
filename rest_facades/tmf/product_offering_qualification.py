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

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import catalog, qualification
from app.core.catalog import ClassOfService, ProductSpec
from app.core.errors import NotFound
from app.core.events import Channel, EntityKind, Event
from app.core.parties import Principal
from app.core.qualification import (
    Confidence,
    ItemDetails,
    Outcome,
    Qualification,
    QualificationField,
    QualificationItem,
    QualificationState,
    item_outcome,
)
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import (
    Attribute,
    as_cents,
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
    ADDRESS_BASE,
    CATALOG_BASE,
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
# Why an item cannot be delivered as asked, where the core gives no reason.
UNEXPLAINED = "the product cannot be delivered as asked"
# Where an item that cannot be delivered as asked says why, and proposes the same offering at
# a slower speed.
REASON = f"{ASKED}.eligibilityUnavailabilityReason"
PROPOSAL = f"{ASKED}.alternateProductOfferingProposal"
# The TMF name of what the core found for an item.
RESULTS = {
    Outcome.QUALIFIED: "qualified",
    Outcome.ALTERNATIVE: "alternate",
    Outcome.UNQUALIFIED: "unqualified",
}


def item_view(request: Request, poq: Qualification, item: QualificationItem) -> dict[str, Any]:
    """A core qualification item as a TMF679 ProductOfferingQualificationItem."""
    view: dict[str, Any] = {
        "id": item.external_id or str(item.position),
        "@type": "ProductOfferingQualificationItem",
        "action": "add",
        "state": "done",
        "qualificationItemResult": RESULTS[item_outcome(item)],
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
        ] or [{"code": "notServiceable", "label": UNEXPLAINED}]
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
    """The items of a qualification the core could not answer, as the buyer asked for them
    (by their id alone, when it was asked through another API)."""
    error = {"@type": "TerminationError", "value": poq.state_reason or ""}
    sent = [item for item in poq.annotations.get(ASKED, []) if isinstance(item, dict)]
    return [
        (sent[i] if i < len(sent) else {})
        | {"id": item_id, "state": STATES[poq.state], "terminationError": [error]}
        for i, item_id in enumerate(qualification.asked_items(poq))
    ]


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """A core qualification event as the TMF679 qualification it is about."""
    if event.entity != EntityKind.QUALIFICATION:
        return None
    resource: dict[str, Any] = {"id": event.entity_id, "@type": "ProductOfferingQualification"}
    if event.state in {s.value for s in QualificationState}:
        resource["state"] = STATES[QualificationState(event.state)]
    return RESOURCE, resource


NOTIFYING = NotifyingAPI("productOfferingQualification", describe)


def _others(parties: list[dict[str, Any]] | None, party_id: str | None) -> list[dict[str, Any]]:
    """The related parties besides the customer (whom the qualification names itself)."""
    return [p for p in parties or [] if not (p.get("role") == CUSTOMER and p.get("id") == party_id)]


def _asked(*where: str) -> Attribute[QualificationField]:
    """An attribute of the items the core could not answer, as the buyer asked for them."""
    return in_document(QualificationField.ANNOTATIONS, ASKED, *where)


def _item(
    field: QualificationField, values: Any, ordered: bool, *where: str
) -> Attribute[QualificationField]:
    """A filter on the items the core answered and, at `where`, on those it could not."""
    return Attribute(field, values, ordered=ordered, also=_asked(*where))


def _proposed(
    field: QualificationField, values: Any, ordered: bool, *where: str
) -> Attribute[QualificationField]:
    """A filter on the slower speeds proposed for the items the core answered and, at `where`
    in their proposals, on the items it could not answer."""
    return Attribute(
        field, values, ordered=ordered, also=_asked("alternateProductOfferingProposal", *where)
    )


def _alike(
    prefix: str, shown: QualificationField, fixed: dict[str, tuple[Any, ...]]
) -> dict[str, Attribute[QualificationField]]:
    """Attributes (below `prefix`) that every row for which `shown` holds shows with one of
    a few fixed values, and the items the core could not answer as the buyer asked for them."""
    below = prefix.removeprefix(f"{ASKED}.").split(".")[:-1]
    return {
        f"{prefix}{path}": replace(
            constant(QualificationField.ID, *values, shown=shown),
            also=_asked(*below, *path.split(".")),
        )
        for path, values in fixed.items()
    }


# What every product the core describes shows alike.
_PRODUCT_ALIKE: dict[str, tuple[Any, ...]] = {
    "product.@type": ("Product",),
    "product.productOffering.@referredType": ("ProductOffering",),
    "product.place.@referredType": ("GeographicAddress",),
    "product.productCharacteristic.name": ("bandwidth", "termMonths", "classOfService"),
    "product.productCharacteristic.valueType": ("integer", "string"),
}


def _note(name: str) -> Attribute[QualificationField]:
    """An attribute of the buyer's notes."""
    return in_document(QualificationField.ANNOTATIONS, "note", name)


def _whole(text: str) -> tuple[int, ...]:
    """A filter value compared with whole-number attributes (any other matches none of them)."""
    return (int(text),) if text.isdigit() and len(text) < 10 else ()


# TMF679 attributes that the core's qualification query answers.
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
    f"{ASKED}.id": Attribute(QualificationField.ITEM_ID, as_text),
    f"{ASKED}.qualificationItemResult": _item(
        QualificationField.ITEM_OUTCOME, by_name(RESULTS), False, "qualificationItemResult"
    ),
    f"{ASKED}.expectedActivationDate": _item(
        QualificationField.ITEM_READY_AT, as_date_time, True, "expectedActivationDate"
    ),
    # The items the core could not answer, as the buyer asked for them, and what the buyer
    # sent with those it answered.
    f"{ASKED}.productOffering.id": _item(
        QualificationField.ITEM_OFFERING_ID, as_text, False, "productOffering", "id"
    ),
    f"{ASKED}.productOffering.href": replace(
        linked(QualificationField.ITEM_OFFERING_ID, CATALOG_BASE, "productOffering"),
        also=_asked("productOffering", "href"),
    ),
    f"{ASKED}.product.productOffering.id": _item(
        QualificationField.ITEM_OFFERING_ID, as_text, False, "product", "productOffering", "id"
    ),
    f"{ASKED}.product.productOffering.href": replace(
        linked(QualificationField.ITEM_OFFERING_ID, CATALOG_BASE, "productOffering"),
        also=_asked("product", "productOffering", "href"),
    ),
    f"{ASKED}.product.place.id": _item(
        QualificationField.ITEM_PLACE_ID, as_text, False, "product", "place", "id"
    ),
    f"{ASKED}.product.place.href": replace(
        linked(QualificationField.ITEM_PLACE_ID, ADDRESS_BASE, "geographicAddress"),
        also=_asked("product", "place", "href"),
    ),
    # Every answered item has an A end; those that join two ends a Z end.
    f"{ASKED}.product.place.role": Attribute(
        QualificationField.ITEM_TWO_ENDS,
        lambda text: (True,) if text == "zEnd" else (),
        constant=("aEnd",),
        shown=QualificationField.ANSWERED,
        also=_asked("product", "place", "role"),
    ),
    # The speed, term and class of service of each answered item.
    f"{ASKED}.product.productCharacteristic.value": Attribute(
        QualificationField.ITEM_BANDWIDTH_MBPS,
        _whole,
        ordered=True,
        also=Attribute(
            QualificationField.ITEM_TERM_MONTHS,
            _whole,
            ordered=True,
            also=_item(
                QualificationField.ITEM_CLASS_OF_SERVICE,
                as_text,
                False,
                "product",
                "productCharacteristic",
                "value",
            ),
        ),
    ),
    # What every answered item shows alike.
    **_alike(
        f"{ASKED}.",
        QualificationField.ANSWERED,
        {
            "@type": ("ProductOfferingQualificationItem",),
            "action": ("add",),
            "productOffering.@referredType": ("ProductOffering",),
            **_PRODUCT_ALIKE,
        },
    ),
    # Why an item cannot be delivered as asked: the reasons the core gave, else one of its own.
    **_alike(f"{REASON}.", QualificationField.ITEM_UNQUALIFIED, {"code": ("notServiceable",)}),
    f"{REASON}.label": Attribute(
        QualificationField.ITEM_UNQUALIFIED_REASON,
        as_text,
        constant=(UNEXPLAINED,),
        shown=QualificationField.ITEM_UNEXPLAINED,
        also=_asked("eligibilityUnavailabilityReason", "label"),
    ),
    # The same offering at a slower speed, proposed for an item that cannot be delivered.
    f"{PROPOSAL}.id": _proposed(QualificationField.SLOWER_ID, as_text, False, "id"),
    **_alike(
        f"{PROPOSAL}.",
        QualificationField.SLOWER,
        {
            "@type": ("AlternateProductOfferingProposal",),
            "alternateProductOffering.@referredType": ("ProductOffering",),
            **{
                f"alternateProduct.{path.removeprefix('product.')}": values
                for path, values in _PRODUCT_ALIKE.items()
            },
            "alternateProduct.productPrice.@type": ("ProductPrice",),
            "alternateProduct.productPrice.priceType": ("recurring", "oneTime"),
            "alternateProduct.productPrice.recurringChargePeriod": ("month",),
            "alternateProduct.productPrice.price.@type": ("Price",),
            "alternateProduct.productPrice.price.dutyFreeAmount.unit": ("USD",),
        },
    ),
    **{
        f"{PROPOSAL}.{offering}.id": _proposed(
            QualificationField.SLOWER_OFFERING_ID, as_text, False, offering, "id"
        )
        for offering in ("alternateProductOffering", "alternateProduct.productOffering")
    },
    **{
        f"{PROPOSAL}.{offering}.href": replace(
            linked(QualificationField.SLOWER_OFFERING_ID, CATALOG_BASE, "productOffering"),
            also=_asked("alternateProductOfferingProposal", *offering.split("."), "href"),
        )
        for offering in ("alternateProductOffering", "alternateProduct.productOffering")
    },
    f"{PROPOSAL}.alternateProduct.place.id": _proposed(
        QualificationField.SLOWER_PLACE_ID, as_text, False, "alternateProduct", "place", "id"
    ),
    f"{PROPOSAL}.alternateProduct.place.href": replace(
        linked(QualificationField.SLOWER_PLACE_ID, ADDRESS_BASE, "geographicAddress"),
        also=_asked("alternateProductOfferingProposal", "alternateProduct", "place", "href"),
    ),
    f"{PROPOSAL}.alternateProduct.place.role": Attribute(
        QualificationField.SLOWER_TWO_ENDS,
        lambda text: (True,) if text == "zEnd" else (),
        constant=("aEnd",),
        shown=QualificationField.SLOWER,
        also=_asked("alternateProductOfferingProposal", "alternateProduct", "place", "role"),
    ),
    # The slower speed, and the term and class of service of the item.
    f"{PROPOSAL}.alternateProduct.productCharacteristic.value": Attribute(
        QualificationField.SLOWER_MBPS,
        _whole,
        ordered=True,
        also=Attribute(
            QualificationField.SLOWER_TERM_MONTHS,
            _whole,
            ordered=True,
            also=_proposed(
                QualificationField.SLOWER_CLASS_OF_SERVICE,
                as_text,
                False,
                "alternateProduct",
                "productCharacteristic",
                "value",
            ),
        ),
    ),
    # Its monthly and one-time prices.
    f"{PROPOSAL}.alternateProduct.productPrice.price.dutyFreeAmount.value": Attribute(
        QualificationField.SLOWER_MONTHLY_CENTS,
        as_cents,
        ordered=True,
        also=_proposed(
            QualificationField.SLOWER_ONE_TIME_CENTS,
            as_cents,
            True,
            "alternateProduct",
            "productPrice",
            "price",
            "dutyFreeAmount",
            "value",
        ),
    ),
    # The items of a qualification that answered none of them, each with why it ended so.
    f"{ASKED}.terminationError.@type": constant(
        QualificationField.ID, "TerminationError", shown=QualificationField.UNANSWERED
    ),
    f"{ASKED}.terminationError.value": Attribute(QualificationField.UNANSWERED_REASON, as_text),
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
    # The seller's note says why the qualification ended in its state, beside the buyer's notes.
    "note.text": Attribute(QualificationField.STATE_REASON, as_text, also=_note("text")),
    "note.date": Attribute(
        QualificationField.REASONED_AT, as_date_time, ordered=True, also=_note("date")
    ),
    **{
        f"note.{name}": replace(
            constant(QualificationField.ID, value, shown=QualificationField.REASONED),
            also=_note(name),
        )
        for name, value in (("id", "seller"), ("author", "seller"), ("@type", "Note"))
    },
}
# TMF679 attributes that filter after the page is read: none.
AFTER_PAGE: frozenset[str] = frozenset()


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
