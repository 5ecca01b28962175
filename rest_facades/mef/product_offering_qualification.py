"""MEF 87 Product Offering Qualification: POQs, their items' confidence and alternates, the hub."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel, Field

from app.core import events, qualification
from app.core.errors import CoreError
from app.core.events import EntityKind, Event, EventKind
from app.core.paging import fetch_page
from app.core.qualification import (
    Confidence,
    Qualification,
    QualificationItem,
    QualificationState,
)
from rest_facades.mef import hub
from rest_facades.mef.errors import from_core_error, mef_json, unprocessable
from rest_facades.mef.flavours import SELLER_ID, Flavour
from rest_facades.mef.generated.sonata import product_offering_qualification as models
from rest_facades.mef.hub import NotifyingAPI
from rest_facades.mef.requested_products import (
    Problems,
    configuration_of,
    contacts,
    days,
    iso,
    item_pointer,
    kept_item,
    product_view,
    requested_spec,
    with_bandwidth,
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
from rest_facades.mef.routing import mef_router
from rest_facades.mef.vocabulary import from_mef, to_mef

API = "product_offering_qualification"
TAG = "product offering qualification (MEF 87)"
RESOURCE = "productOfferingQualification"
ITEMS = "productOfferingQualificationItem"
# A POQ item carries no term: the default term cannot be refused, but a pointer is needed.
NO_TERM = "/product"
# What the buyer sends with an item that the core keeps as given and this face returns.
ITEM_ANNOTATIONS = ("action", "qualificationItemRelationship", "relatedContactInformation")
_REASONS = {
    "on_net": "every place is on the seller's network",
    "near_net": "a place is near the seller's network and needs a short build",
    "off_net": "a place is reached through a partner carrier's access",
}
_DONE = {
    QualificationState.DONE_READY,
    QualificationState.DONE_UNABLE_TO_PROVIDE,
    QualificationState.TERMINATED_WITH_ERROR,
}


def _item_view(
    flavour: Flavour,
    caller: Caller,
    poq: Qualification,
    item: QualificationItem,
) -> dict[str, Any]:
    notes = item.annotations
    view: dict[str, Any] = {
        "id": item.external_id or str(item.position),
        "action": notes.get("action", "add"),
        "product": product_view(
            flavour,
            caller,
            sent=notes.get("product"),
            offering_id=item.offering_id,
            locations=[item.a_location_id, item.z_location_id],
        ),
        "state": "done.ready",
        "stateChange": [
            {"changeDate": iso(poq.completed_at or poq.created_at), "state": "done.ready"}
        ],
        "serviceabilityConfidence": item.confidence.value,
        "serviceabilityConfidenceReason": (
            item.alternatives[0]["reason"]
            if item.confidence is Confidence.RED and item.alternatives
            else _REASONS.get(item.serviceability, item.serviceability)
        ),
        "guaranteedUntilDate": iso(poq.valid_until),
        **{k: notes[k] for k in ITEM_ANNOTATIONS[1:] if k in notes},
    }
    if item.confidence is not Confidence.RED:
        view["installationInterval"] = days(item.lead_time_days)
    configuration = configuration_of(flavour, item.configuration, item.offering_id)
    # Only a slower speed is an alternate product; the buildings near a place we cannot serve
    # are named in the reason.
    slower = [a for a in item.alternatives if "bandwidth_mbps" in a]
    if poq.annotations.get("provideAlternative", True) and configuration and slower:
        view["alternateProductOfferingProposal"] = [
            {
                "id": f"{item.id}-{number}",
                "installationInterval": days(item.lead_time_days),
                "alternateProduct": {
                    "productOffering": {"id": item.offering_id},
                    "productConfiguration": with_bandwidth(
                        configuration, int(alternative["bandwidth_mbps"])
                    ),
                },
            }
            for number, alternative in enumerate(slower, start=1)
        ]
    return view


def poq_view(
    flavour: Flavour,
    caller: Caller,
    poq: Qualification,
    items: list[QualificationItem],
    history: list[Event],
) -> dict[str, Any]:
    """A core qualification as a MEF ProductOfferingQualification."""
    states = models.MEFPOQTaskStateType
    notes = poq.annotations
    body: dict[str, Any] = {
        "id": poq.id,
        "href": caller.href(flavour.base_path(API), RESOURCE, poq.id),
        "state": to_mef(poq.state, states),
        "externalId": poq.external_id,
        "instantSyncQualification": notes.get("instantSyncQualification", True),
        "provideAlternative": notes.get("provideAlternative", False),
        "projectId": poq.project_id,
        "requestedPOQCompletionDate": iso(poq.requested_completion_at),
        "relatedContactInformation": contacts(notes.get("relatedContactInformation")),
        "effectiveQualificationDate": iso(poq.completed_at) if poq.state in _DONE else None,
        "stateChange": [
            {"changeDate": iso(e.occurred_at), "state": to_mef(e.state, states)}
            for e in history
            if e.state
        ],
        ITEMS: [_item_view(flavour, caller, poq, item) for item in items],
    }
    if not items:
        # A qualification the seller could not answer as it was asked (through TMF).
        body[ITEMS] = [
            {
                "id": item_id,
                "action": "add",
                "product": {},
                "state": "terminatedWithError",
                "terminationError": [{"code": "otherIssue", "value": poq.state_reason}],
            }
            for item_id in qualification.asked_items(poq)
        ]
    answer = dump(
        models.ProductOfferingQualification.model_validate(
            {k: v for k, v in body.items() if v is not None}
        )
    )
    if not items:
        return answer
    # The generated models keep only a configuration's `@type`: return them whole.
    for shown, built, item in zip(answer[ITEMS], body[ITEMS], items, strict=True):
        configuration = configuration_of(flavour, item.configuration, item.offering_id)
        if configuration and item.annotations.get("action", "add") != "delete":
            shown["product"]["productConfiguration"] = configuration
        for proposal, made in zip(
            shown.get("alternateProductOfferingProposal", []),
            built.get("alternateProductOfferingProposal", []),
            strict=True,
        ):
            proposal["alternateProduct"]["productConfiguration"] = made["alternateProduct"][
                "productConfiguration"
            ]
    return answer


def _find_view(flavour: Flavour, poq: Qualification) -> dict[str, Any]:
    requested = poq.requested_completion_at
    return dump(
        models.ProductOfferingQualificationFind(
            id=poq.id,
            externalId=poq.external_id,
            state=to_mef(poq.state, models.MEFPOQTaskStateType),
            projectId=poq.project_id,
            requestedPOQCompletionDate=requested.date() if requested else None,
        )
    )


async def _view(flavour: Flavour, caller: Caller, poq_id: str) -> dict[str, Any]:
    poq, items = await qualification.get_qualification(
        caller.session, principal=caller.principal, qualification_id=poq_id
    )
    owned_by_buyer(caller, poq.party_id, "qualification", poq_id)
    history = await events.list_events(
        caller.session,
        principal=caller.principal,
        entity=EntityKind.QUALIFICATION,
        entity_id=poq.id,
    )
    return poq_view(flavour, caller, poq, items, history)


routes = mef_router()


@routes.post(f"/{RESOURCE}", status_code=201, response_model=models.ProductOfferingQualification)
async def create_poq(
    body: models.ProductOfferingQualificationCreate,
    caller: MEFCaller,
    flavour: FlavourDep,
) -> Response:
    """Ask whether products can be delivered where the buyer wants them; answered at once."""
    buyer = caller.principal.buyer_for(caller.buyer_id, field_name="buyerId")
    problems: Problems = []
    if not body.instantSyncQualification and body.requestedPOQCompletionDate is None:
        problems.append(
            (
                "missingProperty",
                "requestedPOQCompletionDate is required when instantSyncQualification is false",
                "/requestedPOQCompletionDate",
            )
        )
    if not any(c.role == "buyerContactInformation" for c in body.relatedContactInformation):
        problems.append(
            (
                "missingProperty",
                "the buyer's contact (role buyerContactInformation) is required",
                "/relatedContactInformation",
            )
        )
    given = sent(body)
    sent_items: list[dict[str, Any]] = given[ITEMS]
    if len({item["id"] for item in sent_items}) != len(sent_items):
        problems.append(("invalidValue", "item ids must be unique in a POQ", f"/{ITEMS}"))
    specs, details = [], []
    for index, item in enumerate(sent_items):
        spec, item_problems = await requested_spec(
            flavour,
            API,
            caller,
            action=item["action"],
            product=item.get("product"),
            where=f"/{ITEMS}/{index}",
            buyer=buyer,
            term_months=None,
        )
        problems += item_problems
        if spec is not None:
            specs.append(spec)
        details.append(kept_item(item, ITEM_ANNOTATIONS))
    if problems:
        raise unprocessable(problems)
    try:
        poq, _ = await qualification.qualify(
            caller.session,
            principal=caller.principal,
            specs=specs,
            channel=flavour.channel,
            buyer_party_id=caller.buyer_id,
            external_id=body.externalId,
            requested_completion_at=body.requestedPOQCompletionDate,
            project_id=body.projectId,
            annotations={
                "instantSyncQualification": bool(body.instantSyncQualification),
                "provideAlternative": bool(body.provideAlternative),
                "relatedContactInformation": given["relatedContactInformation"],
            },
            details=details,
        )
    except CoreError as exc:
        raise from_core_error(
            exc,
            field_pointer=lambda f: item_pointer(ITEMS, f, term="/product/productConfiguration"),
        ) from exc
    answer = await _view(flavour, caller, poq.id)
    return mef_json(answer, status=201, headers={"Location": answer["href"]})


class POQQuery(BaseModel):
    """The criteria of a MEF 87 POQ list; every one given must hold."""

    state: models.MEFPOQTaskStateType | None = None
    externalId: str | None = None
    projectId: str | None = None
    requestedPOQCompletionDate_gt: Annotated[
        datetime | None, Field(alias="requestedPOQCompletionDate.gt")
    ] = None
    requestedPOQCompletionDate_lt: Annotated[
        datetime | None, Field(alias="requestedPOQCompletionDate.lt")
    ] = None


@routes.get(f"/{RESOURCE}", response_model=list[models.ProductOfferingQualificationFind])
async def list_poqs(
    query: MEFList, criteria: Annotated[POQQuery, Query()], flavour: FlavourDep
) -> Response:
    """The caller's POQs, newest first, filtered as the spec allows."""
    state = criteria.state
    caller, window = query.caller, query.window
    statement = qualification.qualifications_query(
        principal=caller.principal,
        party_id=caller.buyer_id,
        state=QualificationState(from_mef(state, QualificationState)) if state else None,
        external_id=criteria.externalId,
        project_id=criteria.projectId,
        requested_after=criteria.requestedPOQCompletionDate_gt,
        requested_before=criteria.requestedPOQCompletionDate_lt,
    )
    page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
    return listing([_find_view(flavour, poq) for poq in page.items], total=page.total)


@routes.get(f"/{RESOURCE}/{{id}}", response_model=models.ProductOfferingQualification)
async def get_poq(id: str, caller: MEFCaller, flavour: FlavourDep) -> Response:
    """One POQ with its items' results."""
    return mef_json(await _view(flavour, caller, id))


routes.include_router(hub.routes)


def notification(flavour: Flavour, event: Event) -> tuple[str, dict[str, Any]] | None:
    """The MEF 87 event for a core qualification event."""
    if event.entity != EntityKind.QUALIFICATION:
        return None
    kind = {
        EventKind.CREATED: "poqCreateEvent",
        EventKind.STATE_CHANGED: "poqStateChangeEvent",
    }.get(event.kind)
    if kind is None:
        return None
    return kind, {"id": event.entity_id, "sellerId": SELLER_ID}


NOTIFYING = NotifyingAPI(
    api=API,
    notification_api="product_offering_qualification_notification",
    notification=notification,
)
