"""TMF679 Product Offering Qualification v4: the core's qualifications as TMF qualifications.

Items name their product as TMF648 quote items do (offering id, places, `bandwidth`, `termMonths`
and `classOfService` characteristics). A qualification is answered in the call that asks for it
(state `done`), so `instantSyncQualification` is always honoured. Each item's
`qualificationItemResult` is `qualified` (green or yellow), `alternate` (red, with an
`alternateProductOfferingProposal`: the same offering at a speed that can be delivered) or
`unqualified`; red items carry an `eligibilityUnavailabilityReason`. `qualificationResult` is the
overall confidence: `green`, `yellow` or `red`. A qualification is a record of an answer:
`PATCH` and `DELETE` are refused with 405.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import qualification
from app.core.catalog import ClassOfService, ProductSpec
from app.core.errors import NotFound
from app.core.events import Channel, Event
from app.core.parties import Principal, children_scoped
from app.core.qualification import (
    Confidence,
    ItemDetails,
    Qualification,
    QualificationItem,
    QualificationState,
)
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.tmf.common import href, iso, listing, one, read_body
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.generated.product_offering_qualification import (
    ProductOfferingQualificationCreate,
)
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes
from rest_facades.tmf.quote_management import offering_ref, product_spec, product_view

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
    "provideAlternative",
    "provideOnlyAvailable",
    "provideUnavailabilityReason",
)
ITEM_KEPT = ("note",)


def _result(item: QualificationItem) -> str:
    if item.qualified:
        return "qualified"
    return "alternate" if item.alternatives else "unqualified"


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
        "qualificationResult": _overall(items),
        "productOfferingQualificationItem": [item_view(request, poq, i) for i in items],
    }
    if poq.completed_at is not None:
        view["effectiveQualificationDate"] = iso(poq.completed_at)
    if poq.valid_until is not None:
        view["expirationDate"] = iso(poq.valid_until)
    if poq.requested_completion_at is not None:
        view["requestedPOQCompletionDate"] = iso(poq.requested_completion_at)
    return view | {k: poq.annotations[k] for k in KEPT if k in poq.annotations}


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """A core qualification event as the TMF679 qualification it is about."""
    if event.entity != "qualification":
        return None
    resource: dict[str, Any] = {"id": event.entity_id, "@type": "ProductOfferingQualification"}
    if event.state in {s.value for s in QualificationState}:
        resource["state"] = STATES[QualificationState(event.state)]
    return RESOURCE, resource


NOTIFYING = NotifyingAPI("productOfferingQualification", describe)


async def _load(
    session: AsyncSession, principal: Principal, poq_id: str
) -> tuple[Qualification, list[QualificationItem]]:
    try:
        return await qualification.get_qualification(
            session, principal=principal, qualification_id=poq_id
        )
    except NotFound as exc:
        raise TMFError(404, "NOT_FOUND", exc.message) from exc


def router() -> APIRouter:
    """The TMF679 endpoints."""
    routes = APIRouter(
        prefix=BASE, route_class=TMFRoute, tags=["TMF679 product offering qualification"]
    )

    @routes.get(f"/{RESOURCE}")
    async def list_qualifications(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The caller's qualifications, newest first."""
        statement = qualification.qualifications_query(principal=principal)
        found = list((await session.exec(statement)).all())
        items = await children_scoped(
            session,
            QualificationItem,
            "qualification_id",
            [q.id for q in found],
            principal,
            order_by="position",
        )
        return listing(request, [poq_view(request, q, items[q.id]) for q in found])

    @routes.get(f"/{RESOURCE}/{{id}}")
    async def get_qualification(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One qualification with its items."""
        poq, items = await _load(session, principal, id)
        return one(request, poq_view(request, poq, items))

    @routes.post(f"/{RESOURCE}", status_code=201)
    async def create_qualification(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Ask whether products can be delivered; answered in this call."""
        body = await read_body(request)
        try:
            parsed = ProductOfferingQualificationCreate.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise TMFError(400, "INVALID_VALUE", f"{where}: {first['msg']}") from exc
        sent = body.get("productOfferingQualificationItem") or []
        if not sent:
            raise TMFError(
                400, "MISSING_ATTRIBUTE", "productOfferingQualificationItem is mandatory"
            )
        qualification.check_item_count(len(sent), field_name="productOfferingQualificationItem")
        specs = [
            await product_spec(session, principal, item, f"productOfferingQualificationItem[{i}]")
            for i, item in enumerate(sent)
        ]
        poq, items = await qualification.qualify(
            session,
            principal=principal,
            specs=specs,
            channel=Channel.TMF,
            requested_completion_at=parsed.requestedPOQCompletionDate,
            annotations={k: body[k] for k in KEPT if k in body},
            details=[
                ItemDetails(
                    external_id=str(item["id"]) if item.get("id") is not None else None,
                    annotations={k: item[k] for k in ITEM_KEPT if k in item},
                )
                for item in sent
            ],
        )
        view = poq_view(request, poq, items)
        return tmf_json(view, status=201, headers={"Location": view["href"]})

    @routes.patch(f"/{RESOURCE}/{{id}}")
    async def patch_qualification(
        id: str, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Refused: a qualification is the record of an answer."""
        await _load(session, principal, id)
        raise TMFError(405, "METHOD_NOT_ALLOWED", "a qualification cannot be changed")

    @routes.delete(f"/{RESOURCE}/{{id}}")
    async def delete_qualification(
        id: str, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Refused: a qualification is the record of an answer."""
        await _load(session, principal, id)
        raise TMFError(405, "METHOD_NOT_ALLOWED", "a qualification cannot be deleted")

    add_hub_routes(routes, NOTIFYING)
    return routes
