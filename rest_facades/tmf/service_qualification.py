"""TMF645 Service Qualification v4 over the core's qualification and serviceability.

A service is named by `serviceSpecification.id`, a core offering id (`internet-access`,
`ethernet-port`, `ethernet-line`); its `place` entries are address-book location ids, site ids or
addresses as in TMF648, and its `serviceCharacteristic` may give `bandwidth` (Mbps; the offering's
lowest speed when absent), `termMonths` and `classOfService`.

- `checkServiceQualification`: can this service be delivered there? Each item answers
  `qualified`, `alternate` (with a slower `alternateServiceProposal`) or `unqualified`.
- `queryServiceQualification`: what can be delivered at a place? One item per offering that can
  be (a line needs two places), at its lowest speed, with the `confidence` (`green` on-net,
  `yellow` near- or off-net) as a service characteristic.

Both are answered at once and recorded as core qualifications (so they are also productOffering
qualifications in TMF679). `PATCH` changes what the buyer said (description, externalId, related
parties, `expectedQualificationDate`, the `provide...` flags of a check) and may repeat the answer
unchanged; `DELETE` removes the record unless a quote was priced against it (409).

A check whose items lack what the core needs (a `serviceSpecification.id` that is an offering, a
place), or a query without a place the core knows or whose specification serves no such place,
is recorded and ends at once in `terminatedWithError` with the reason in `terminationError` (of
each check item, as asked; of the query itself, an extension: its v4 resource has no such
attribute) and nothing is priced.
"""

from dataclasses import replace
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import catalog, qualification
from app.core.catalog import ClassOfService, ProductSpec
from app.core.errors import NotFound
from app.core.events import Channel
from app.core.parties import Principal
from app.core.qualification import (
    Confidence,
    ItemDetails,
    Outcome,
    Qualification,
    QualificationField,
    QualificationItem,
    QualificationState,
    check_item_count,
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
    TMFQuery,
    TMFQueryDep,
    buyer_and_related_parties,
    href,
    iso,
    listed,
    resource,
)
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.generated import service_qualification as tmf
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes
from rest_facades.tmf.patching import refuse_sellers_changes
from rest_facades.tmf.quote_management import (
    ADDRESS_BASE,
    Lacking,
    ends_in_order,
    location_of,
    place_view,
    product_spec,
    specs_or_reason,
)

BASE = "/tmf-api/serviceQualificationManagement/v4"
CHECK = "checkServiceQualification"
QUERY = "queryServiceQualification"
# The annotation that tells this face's qualifications apart (kept as given by the core).
MARK = "tmf645"
KEPT = (
    "description",
    "relatedParty",
    "provideAlternative",
    "provideUnavailabilityReason",
    "expectedQualificationDate",
)
# Attributes of the `_Update` definitions that the buyer may change, by kind.
BUYERS = {
    "check": (*KEPT, "externalId", "@type"),
    "query": ("description", "relatedParty", "expectedQualificationDate", "externalId", "@type"),
}
CUSTOMER = "customer"
DEFAULT_TERM_MONTHS = 12
STATES = {
    QualificationState.ACKNOWLEDGED: "accepted",
    QualificationState.IN_PROGRESS: "inProgress",
    QualificationState.DONE_READY: "done",
    QualificationState.DONE_UNABLE_TO_PROVIDE: "done",
    QualificationState.TERMINATED_WITH_ERROR: "terminatedWithError",
}
# The items of a check the seller could not answer, kept as the buyer sent them.
ASKED = "serviceQualificationItem"
# Why an item cannot be delivered as asked, when nothing is offered instead with a reason.
UNAVAILABLE = "the service cannot be delivered as asked"
# The TMF645 `qualificationResult` of each core outcome.
RESULTS = {
    Outcome.QUALIFIED: "qualified",
    Outcome.ALTERNATIVE: "alternate",
    Outcome.UNQUALIFIED: "unqualified",
}


def service_view(
    request: Request, spec: ProductSpec, extra: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A core product spec as a TMF645 ServiceRefOrValue."""
    places = [place_view(request, spec.a_location_id, "aEnd")]
    if spec.z_location_id:
        places.append(place_view(request, spec.z_location_id, "zEnd"))
    return {
        "@type": "Service",
        "serviceSpecification": {"id": spec.offering_id, "@referredType": "ServiceSpecification"},
        "place": places,
        "serviceCharacteristic": [
            {"name": "bandwidth", "valueType": "integer", "value": spec.bandwidth_mbps},
            {"name": "termMonths", "valueType": "integer", "value": spec.term_months},
            {"name": "classOfService", "valueType": "string", "value": spec.class_of_service},
            *(extra or []),
        ],
    }


def _spec(item: QualificationItem, bandwidth_mbps: int | None = None) -> ProductSpec:
    return ProductSpec(
        offering_id=item.offering_id,
        a_location_id=item.a_location_id,
        z_location_id=item.z_location_id,
        bandwidth_mbps=bandwidth_mbps or item.bandwidth_mbps,
        term_months=item.term_months,
        class_of_service=ClassOfService(item.class_of_service),
    )


def _available(poq: Qualification, item: QualificationItem) -> str | None:
    if poq.completed_at is None:
        return None
    return iso(poq.completed_at + timedelta(days=item.lead_time_days))


def _result(item: QualificationItem) -> str:
    if item.qualified:
        return "qualified"
    return "alternate" if item.alternatives else "unqualified"


def check_item_view(
    request: Request, poq: Qualification, item: QualificationItem
) -> dict[str, Any]:
    """A core qualification item as a TMF645 CheckServiceQualificationItem."""
    view: dict[str, Any] = {
        "id": item.external_id or str(item.position),
        "@type": "CheckServiceQualificationItem",
        "state": "done",
        "qualificationResult": _result(item),
        "service": service_view(request, _spec(item)),
    }
    if item.qualified and (ready := _available(poq, item)):
        view["expectedServiceAvailabilityDate"] = ready
    if not item.qualified:
        view["eligibilityUnavailabilityReason"] = [
            {"code": "notServiceable", "label": a["reason"]}
            for a in item.alternatives
            if isinstance(a.get("reason"), str)
        ] or [{"code": "notServiceable", "label": UNAVAILABLE}]
        view["alternateServiceProposal"] = [
            {
                "id": f"{item.id}-{n + 1}",
                "@type": "AlternateServiceProposal",
                "alternateService": service_view(request, _spec(item, int(a["bandwidth_mbps"]))),
            }
            for n, a in enumerate(item.alternatives)
            if "bandwidth_mbps" in a
        ]
    return view


def _overall(items: list[QualificationItem]) -> str:
    results = {_result(i) for i in items}
    if results == {"qualified"}:
        return "qualified"
    return "alternate" if "alternate" in results else "unqualified"


def _common(request: Request, poq: Qualification, resource: str, dated: str) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": poq.id,
        "href": href(request, BASE, resource, poq.id),
        "@type": resource[0].upper() + resource[1:],
        dated: iso(poq.created_at),
        "instantSyncQualification": True,
        "state": STATES[poq.state],
    }
    if poq.external_id is not None:
        view["externalId"] = poq.external_id
    if poq.completed_at is not None:
        view["effectiveQualificationDate"] = iso(poq.completed_at)
    if poq.valid_until is not None:
        view["expirationDate"] = iso(poq.valid_until)
    view |= {k: poq.annotations[k] for k in KEPT if k in poq.annotations}
    customer = {"id": poq.party_id, "role": CUSTOMER, "@referredType": "Organization"}
    view["relatedParty"] = [customer, *(poq.annotations.get("relatedParty") or [])]
    return view


def check_view(
    request: Request, poq: Qualification, items: list[QualificationItem]
) -> dict[str, Any]:
    """A core qualification as a TMF645 CheckServiceQualification."""
    view = _common(request, poq, CHECK, "checkServiceQualificationDate")
    if not items:
        return view | {"serviceQualificationItem": _asked_items(poq)}
    return view | {
        "qualificationResult": _overall(items),
        "serviceQualificationItem": [check_item_view(request, poq, i) for i in items],
    }


def _termination(poq: Qualification) -> list[dict[str, Any]]:
    return [{"@type": "TerminationError", "value": poq.state_reason or ""}]


def _asked_id(item: dict[str, Any], index: int) -> str:
    """The id of an item of a check as the buyer sent it (its position if it gave none)."""
    return str(item["id"]) if item.get("id") is not None else str(index + 1)


def _asked_items(poq: Qualification) -> list[dict[str, Any]]:
    """The items of a check the core could not answer, as the buyer asked for them."""
    return [
        item
        | {
            "id": _asked_id(item, n),
            "state": STATES[poq.state],
            "terminationError": _termination(poq),
        }
        for n, item in enumerate(poq.annotations.get(ASKED, []))
        if isinstance(item, dict)
    ]


def query_view(
    request: Request, poq: Qualification, items: list[QualificationItem]
) -> dict[str, Any]:
    """A core qualification as a TMF645 QueryServiceQualification: what can be delivered."""
    found = [
        {
            "id": item.external_id or str(item.position),
            "@type": "ServiceQualificationItem",
            "service": service_view(
                request,
                _spec(item),
                [{"name": "confidence", "valueType": "string", "value": item.confidence.value}],
            ),
        }
        | ({"expectedServiceAvailabilityDate": ready} if (ready := _available(poq, item)) else {})
        for item in items
        if item.qualified
    ]
    view = _common(request, poq, QUERY, "queryServiceQualificationDate") | {
        "searchCriteria": poq.annotations.get("searchCriteria", {}),
        "serviceQualificationItem": found,
    }
    if poq.state_reason:
        view["terminationError"] = _termination(poq)
    return view


def _as_product(service: Any) -> dict[str, Any]:
    """A TMF645 service in the shape of a TMF product item (offering, places, characteristics)."""
    service = service if isinstance(service, dict) else {}
    named = service.get("serviceSpecification") or {}
    return {
        "product": {
            "productOffering": {"id": named.get("id")} if isinstance(named, dict) else {},
            "place": service.get("place") or [],
            "productCharacteristic": service.get("serviceCharacteristic") or [],
        }
    }


async def _check_spec(
    session: AsyncSession, principal: Principal, service: Any, where: str
) -> ProductSpec:
    item = _as_product(service)
    chars = item["product"]["productCharacteristic"]
    if not any(isinstance(c, dict) and c.get("name") == "bandwidth" for c in chars):
        offering_id = item["product"]["productOffering"].get("id")
        if isinstance(offering_id, str):
            try:
                offering = await catalog.get_offering(session, offering_id)
            except NotFound as exc:
                raise Lacking(f"{where}: {exc.message}") from exc
            chars = [*chars, {"name": "bandwidth", "value": min(offering.bandwidths_mbps)}]
            item["product"]["productCharacteristic"] = chars
    return await product_spec(session, principal, item, where)


async def _stored(
    session: AsyncSession, principal: Principal, poq_id: str, kind: str
) -> tuple[Qualification, list[QualificationItem]]:
    try:
        poq, items = await qualification.get_qualification(
            session, principal=principal, qualification_id=poq_id
        )
    except NotFound as exc:
        raise TMFError(404, "NOT_FOUND", exc.message) from exc
    if poq.annotations.get(MARK) != kind:
        raise TMFError(404, "NOT_FOUND", f"no {kind} service qualification '{poq_id}'")
    return poq, items


def _others(parties: list[dict[str, Any]] | None, party_id: str | None) -> list[dict[str, Any]]:
    """The related parties besides the customer (whom the qualification names itself)."""
    return [p for p in parties or [] if not (p.get("role") == CUSTOMER and p.get("id") == party_id)]


def _annotations(sent: dict[str, Any], kind: str, party_id: str) -> dict[str, Any]:
    """What the core keeps of a new check or query: its kind and what the buyer sent."""
    kept = {MARK: kind} | {k: sent[k] for k in KEPT if k in sent}
    if "relatedParty" in kept:
        kept["relatedParty"] = _others(kept["relatedParty"], party_id)
    return kept


def _asked(*where: str) -> Attribute[QualificationField]:
    """An attribute of the items of a check the core could not answer, as the buyer sent them."""
    return in_document(QualificationField.ANNOTATIONS, ASKED, *where)


def _whole(text: str) -> tuple[int, ...]:
    """A filter value compared with whole-number attributes (any other matches none of them)."""
    return (int(text),) if text.isdigit() and len(text) < 10 else ()


def _value(last: Attribute[QualificationField]) -> Attribute[QualificationField]:
    """The value of an item's characteristics: its speed, its term, else as `last` finds it."""
    return Attribute(
        QualificationField.ITEM_BANDWIDTH_MBPS,
        _whole,
        ordered=True,
        also=Attribute(QualificationField.ITEM_TERM_MONTHS, _whole, ordered=True, also=last),
    )


def _item_filters(kind: str) -> dict[str, Attribute[QualificationField]]:
    """Filters on the items of a check or a query: their id, dates and services (and, as the
    buyer sent them, those of a check that the core could not answer)."""
    classes = Attribute(QualificationField.ITEM_CLASS_OF_SERVICE, as_text)
    names: tuple[str, ...] = ("bandwidth", "termMonths", "classOfService")
    value = _value(
        Attribute(
            QualificationField.ANNOTATIONS,
            as_text,
            ordered=True,
            document=(ASKED, "service", "serviceCharacteristic", "value"),
            also=classes,
        )
    )
    if kind == "query":
        # A query shows the confidence of each item it found as a characteristic.
        names = (*names, "confidence")
        confidences = by_name({c: c.value for c in Confidence})
        value = _value(
            replace(classes, also=Attribute(QualificationField.ITEM_CONFIDENCE, confidences))
        )
    item = {"check": "CheckServiceQualificationItem", "query": "ServiceQualificationItem"}[kind]
    fixed = {
        "@type": (item,),
        "service.@type": ("Service",),
        "service.serviceSpecification.@referredType": ("ServiceSpecification",),
        "service.place.@referredType": ("GeographicAddress",),
        "service.serviceCharacteristic.name": names,
        "service.serviceCharacteristic.valueType": ("integer", "string"),
    }
    derived: dict[str, Attribute[QualificationField]] = {
        "expectedServiceAvailabilityDate": Attribute(
            QualificationField.ITEM_READY_AT, as_date_time, ordered=True
        ),
        "service.serviceSpecification.id": Attribute(QualificationField.ITEM_OFFERING_ID, as_text),
        "service.place.id": Attribute(QualificationField.ITEM_PLACE_ID, as_text),
        "service.place.href": linked(
            QualificationField.ITEM_PLACE_ID, ADDRESS_BASE, "geographicAddress"
        ),
        # Every item has an A end; those that join two ends a Z end.
        "service.place.role": Attribute(
            QualificationField.ITEM_TWO_ENDS,
            lambda text: (True,) if text == "zEnd" else (),
            constant=("aEnd",),
            shown=QualificationField.ANSWERED,
        ),
        **{
            below: constant(QualificationField.ID, *values, shown=QualificationField.ANSWERED)
            for below, values in fixed.items()
        },
    }
    if kind == "check":
        derived = {
            below: replace(attribute, also=_asked(*below.split(".")))
            for below, attribute in derived.items()
        }
    return {
        # The id of an item asked for that the core could not answer is the core's to give.
        f"{ASKED}.id": Attribute(QualificationField.ITEM_ID, as_text),
        f"{ASKED}.service.serviceCharacteristic.value": value,
        **{f"{ASKED}.{below}": attribute for below, attribute in derived.items()},
    }


def _proposals() -> dict[str, Attribute[QualificationField]]:
    """Filters on the slower services that the items of a check that cannot be delivered as
    asked offer instead (and, as the buyer sent them, those of the items it could not answer)."""
    fixed = {
        "@type": ("AlternateServiceProposal",),
        "alternateService.@type": ("Service",),
        "alternateService.serviceSpecification.@referredType": ("ServiceSpecification",),
        "alternateService.place.@referredType": ("GeographicAddress",),
        "alternateService.serviceCharacteristic.name": (
            "bandwidth",
            "termMonths",
            "classOfService",
        ),
        "alternateService.serviceCharacteristic.valueType": ("integer", "string"),
    }
    derived: dict[str, Attribute[QualificationField]] = {
        "id": Attribute(QualificationField.SLOWER_ID, as_text),
        "alternateService.serviceSpecification.id": Attribute(
            QualificationField.SLOWER_OFFERING_ID, as_text
        ),
        "alternateService.place.id": Attribute(QualificationField.SLOWER_PLACE_ID, as_text),
        "alternateService.place.href": linked(
            QualificationField.SLOWER_PLACE_ID, ADDRESS_BASE, "geographicAddress"
        ),
        "alternateService.place.role": Attribute(
            QualificationField.SLOWER_TWO_ENDS,
            lambda text: (True,) if text == "zEnd" else (),
            constant=("aEnd",),
            shown=QualificationField.SLOWER,
        ),
        **{
            below: constant(QualificationField.ID, *values, shown=QualificationField.SLOWER)
            for below, values in fixed.items()
        },
    }
    value = ("alternateService", "serviceCharacteristic", "value")
    return {
        f"{ASKED}.alternateServiceProposal.{below}": replace(
            attribute, also=_asked("alternateServiceProposal", *below.split("."))
        )
        for below, attribute in derived.items()
    } | {
        # The speed offered, and the item's term and class of service.
        f"{ASKED}.alternateServiceProposal.{'.'.join(value)}": Attribute(
            QualificationField.SLOWER_MBPS,
            _whole,
            ordered=True,
            also=Attribute(
                QualificationField.SLOWER_TERM_MONTHS,
                _whole,
                ordered=True,
                also=Attribute(
                    QualificationField.ANNOTATIONS,
                    as_text,
                    ordered=True,
                    document=(ASKED, "alternateServiceProposal", *value),
                    also=Attribute(QualificationField.SLOWER_CLASS_OF_SERVICE, as_text),
                ),
            ),
        ),
    }


# TMF645 attributes that the core's qualification query answers.
_SHARED: dict[str, Attribute[QualificationField]] = {
    "id": Attribute(QualificationField.ID, as_text),
    "externalId": Attribute(QualificationField.EXTERNAL_ID, as_text),
    "state": Attribute(QualificationField.STATE, by_name(STATES)),
    "effectiveQualificationDate": Attribute(
        QualificationField.COMPLETED_AT, as_date_time, ordered=True
    ),
    "expirationDate": Attribute(QualificationField.VALID_UNTIL, as_date_time, ordered=True),
    # What the buyer sent that the core keeps as given, by any path below it (a query's
    # `searchCriteria` too; a check has none).
    **{
        name: in_document(QualificationField.ANNOTATIONS, name)
        for name in (*KEPT, "searchCriteria")
    },
    **buyer_and_related_parties(QualificationField.PARTY, QualificationField.ANNOTATIONS),
    "instantSyncQualification": constant(QualificationField.ID, True),
}
FILTERS = {
    "check": _SHARED
    | _item_filters("check")
    | {
        "@type": constant(QualificationField.ID, "CheckServiceQualification"),
        "href": linked(QualificationField.ID, BASE, CHECK),
        "checkServiceQualificationDate": Attribute(
            QualificationField.CREATED_AT, as_date_time, ordered=True
        ),
        "qualificationResult": Attribute(QualificationField.OUTCOME, by_name(RESULTS)),
        f"{ASKED}.state": Attribute(QualificationField.ITEM_STATE, by_name(STATES)),
        f"{ASKED}.qualificationResult": Attribute(
            QualificationField.ITEM_RESULT, by_name(RESULTS), also=_asked("qualificationResult")
        ),
        # Why an item that cannot be delivered as asked cannot.
        f"{ASKED}.eligibilityUnavailabilityReason.code": replace(
            constant(
                QualificationField.ID, "notServiceable", shown=QualificationField.ITEM_UNQUALIFIED
            ),
            also=_asked("eligibilityUnavailabilityReason", "code"),
        ),
        # The reasons given for what is offered instead, else that it cannot be delivered as
        # asked (compared as text, by equality only).
        f"{ASKED}.eligibilityUnavailabilityReason.label": replace(
            constant(QualificationField.ID, UNAVAILABLE, shown=QualificationField.ITEM_UNEXPLAINED),
            ordered=False,
            also=Attribute(
                QualificationField.ITEM_UNQUALIFIED_REASON,
                as_text,
                also=_asked("eligibilityUnavailabilityReason", "label"),
            ),
        ),
        **_proposals(),
        # Anything else below an item is shown only by the items the core could not answer.
        ASKED: _asked(),
        # The items of a check that answered none of them, each with why it ended so.
        f"{ASKED}.terminationError.@type": constant(
            QualificationField.ID, "TerminationError", shown=QualificationField.UNANSWERED
        ),
        f"{ASKED}.terminationError.value": Attribute(QualificationField.UNANSWERED_REASON, as_text),
        # A check shows no termination error of its own.
        "terminationError.@type": constant(QualificationField.ID),
        "terminationError.value": constant(QualificationField.ID),
    },
    "query": _SHARED
    | _item_filters("query")
    | {
        "@type": constant(QualificationField.ID, "QueryServiceQualification"),
        "href": linked(QualificationField.ID, BASE, QUERY),
        "queryServiceQualificationDate": Attribute(
            QualificationField.CREATED_AT, as_date_time, ordered=True
        ),
        # Why the seller could not answer the query.
        "terminationError.@type": constant(
            QualificationField.ID, "TerminationError", shown=QualificationField.REASONED
        ),
        "terminationError.value": Attribute(QualificationField.STATE_REASON, as_text),
    },
}
# Attributes that filter after the page is read: none.
AFTER_PAGE: frozenset[str] = frozenset()
VIEWS = {"check": check_view, "query": query_view}


async def _page(
    request: Request, session: AsyncSession, principal: Principal, query: TMFQuery, kind: str
) -> Response:
    conditions, after = query.conditions(FILTERS[kind], AFTER_PAGE)
    page = await qualification.find_qualifications(
        session,
        principal=principal,
        conditions=conditions,
        annotations={MARK: kind},
        # A query shows only the items it found deliverable.
        qualified_items_only=kind == "query",
        offset=query.offset,
        limit=query.limit,
    )
    views = [VIEWS[kind](request, poq, items) for poq, items in page.items]
    return await listed(query, views, total=page.total, after=after)


async def _patch(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    poq_id: str,
    kind: str,
    patch: dict[str, Any],
) -> Response:
    poq, items = await _stored(session, principal, poq_id, kind)
    current = VIEWS[kind](request, poq, items)
    merged = merge_patch(current, patch)
    refuse_sellers_changes(patch, merged, current, BUYERS[kind])
    if "externalId" in patch and patch["externalId"] is None:
        raise TMFError(400, "INVALID_VALUE", "externalId cannot be removed")
    kept = {k: merged.get(k) for k in KEPT if k in patch}
    if "relatedParty" in kept:
        kept["relatedParty"] = _others(kept["relatedParty"], poq.party_id) or None
    poq, items = await qualification.update_qualification(
        session,
        principal=principal,
        qualification_id=poq_id,
        external_id=patch.get("externalId"),
        annotations=kept or None,
    )
    return tmf_json(VIEWS[kind](request, poq, items))


async def _delete(session: AsyncSession, principal: Principal, poq_id: str, kind: str) -> Response:
    await _stored(session, principal, poq_id, kind)
    await qualification.delete_qualification(session, principal=principal, qualification_id=poq_id)
    return Response(status_code=204)


# Listeners may register; the core records no events of this API's resources yet, so none are
# delivered (see the README).
NOTIFYING = NotifyingAPI("checkServiceQualification", lambda _event: None)
routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF645 service qualification"])


@routes.get(f"/{CHECK}", response_model=list[tmf.CheckServiceQualification])
async def list_checks(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's service checks, newest first."""
    return await _page(request, session, principal, query, "check")


@routes.get(f"/{CHECK}/{{id}}", response_model=tmf.CheckServiceQualification)
async def get_check(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One service check."""
    poq, items = await _stored(session, principal, id, "check")
    return resource(query, check_view(request, poq, items))


@routes.post(f"/{CHECK}", status_code=201, response_model=tmf.CheckServiceQualification)
async def create_check(
    body: tmf.CheckServiceQualificationCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Check whether services can be delivered at their places; answered at once."""
    sent = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    items = sent["serviceQualificationItem"]
    if not items:
        raise TMFError(400, "MISSING_ATTRIBUTE", "serviceQualificationItem is mandatory")
    check_item_count(len(items), field_name="serviceQualificationItem")
    specs = await specs_or_reason(
        items,
        lambda item, where: _check_spec(session, principal, item.get("service"), where),
        "serviceQualificationItem",
    )
    if isinstance(specs, str):
        terminated = await qualification.terminate(
            session,
            principal=principal,
            channel=Channel.TMF,
            reason=specs,
            asked=[_asked_id(item, n) for n, item in enumerate(items)],
            external_id=body.externalId,
            annotations=_annotations(sent, "check", principal.party_id) | {ASKED: items},
        )
        view = check_view(request, terminated, [])
        return tmf_json(view, status=201, headers={"Location": view["href"]})
    poq, found = await qualification.qualify(
        session,
        principal=principal,
        specs=specs,
        channel=Channel.TMF,
        external_id=body.externalId,
        annotations=_annotations(sent, "check", principal.party_id),
        details=[
            ItemDetails(external_id=str(i["id"]) if i.get("id") is not None else None)
            for i in items
        ],
    )
    view = check_view(request, poq, found)
    return tmf_json(view, status=201, headers={"Location": view["href"]})


@routes.patch(f"/{CHECK}/{{id}}", response_model=tmf.CheckServiceQualification)
async def patch_check(
    id: str,
    body: tmf.CheckServiceQualificationUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change what the buyer said about a service check; its answer may only be repeated."""
    patch = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return await _patch(request, session, principal, id, "check", patch)


@routes.delete(f"/{CHECK}/{{id}}", status_code=204)
async def delete_check(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Remove a service check that no quote was priced against."""
    return await _delete(session, principal, id, "check")


@routes.get(f"/{QUERY}", response_model=list[tmf.QueryServiceQualification])
async def list_queries(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's service queries, newest first."""
    return await _page(request, session, principal, query, "query")


@routes.get(f"/{QUERY}/{{id}}", response_model=tmf.QueryServiceQualification)
async def get_query(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One service query."""
    poq, items = await _stored(session, principal, id, "query")
    return resource(query, query_view(request, poq, items))


@routes.post(f"/{QUERY}", status_code=201, response_model=tmf.QueryServiceQualification)
async def create_query(
    body: tmf.QueryServiceQualificationCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """List the services that can be delivered at a place; answered at once."""
    sent = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    service = sent["searchCriteria"].get("service") or {}
    places = ends_in_order(service.get("place") or [])
    if len(places) > 2:
        raise TMFError(400, "INVALID_VALUE", "searchCriteria.service.place takes one or two places")
    annotations = _annotations(sent, "query", principal.party_id) | {
        "searchCriteria": sent["searchCriteria"]
    }
    try:
        if not places:
            raise Lacking("searchCriteria lacks service.place: one or two places")
        ends = [
            await location_of(session, principal, p, f"searchCriteria.service.place[{n}]")
            for n, p in enumerate(places)
        ]
        wanted = (service.get("serviceSpecification") or {}).get("id")
        offerings = [
            o
            for o in await catalog.list_offerings(session)
            if (wanted is None or o.id == wanted) and (o.needs_two_ends == (len(ends) == 2))
        ]
        if not offerings:
            raise Lacking("searchCriteria: no service of that specification serves these places")
    except Lacking as exc:
        terminated = await qualification.terminate(
            session,
            principal=principal,
            channel=Channel.TMF,
            reason=exc.reason,
            # The search is the one thing asked (by its own id, when it has one).
            asked=[str(sent["searchCriteria"].get("id") or 1)],
            external_id=body.externalId,
            annotations=annotations,
        )
        view = query_view(request, terminated, [])
        return tmf_json(view, status=201, headers={"Location": view["href"]})
    specs = [
        ProductSpec(
            offering_id=o.id,
            a_location_id=ends[0],
            z_location_id=ends[1] if o.needs_two_ends else None,
            bandwidth_mbps=min(o.bandwidths_mbps),
            term_months=min(max(DEFAULT_TERM_MONTHS, o.min_term_months), o.max_term_months),
            class_of_service=ClassOfService(o.classes_of_service[0]),
        )
        for o in offerings
    ]
    poq, found = await qualification.qualify(
        session,
        principal=principal,
        specs=specs,
        channel=Channel.TMF,
        external_id=body.externalId,
        annotations=annotations,
    )
    view = query_view(request, poq, found)
    return tmf_json(view, status=201, headers={"Location": view["href"]})


@routes.patch(f"/{QUERY}/{{id}}", response_model=tmf.QueryServiceQualification)
async def patch_query(
    id: str,
    body: tmf.QueryServiceQualificationUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change what the buyer said about a service query; its answer may only be repeated."""
    patch = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return await _patch(request, session, principal, id, "query", patch)


@routes.delete(f"/{QUERY}/{{id}}", status_code=204)
async def delete_query(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Remove a service query that no quote was priced against."""
    return await _delete(session, principal, id, "query")


add_hub_routes(routes, NOTIFYING)


def router() -> APIRouter:
    """The TMF645 endpoints."""
    return routes
