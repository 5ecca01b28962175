"""MEF 124 Trouble Ticket and Incident Management: tickets, their cancellation, closing and
reopening, incidents, and the hub."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import Query, Response
from pydantic import AwareDatetime, BaseModel, Field

from app.core import events, parties, tickets
from app.core.errors import CoreError, IllegalTransition
from app.core.events import EntityKind, Event, EventKind
from app.core.paging import Between, fetch_page
from app.core.tickets import (
    Impact,
    Incident,
    IncidentState,
    IncidentType,
    NoteInput,
    Priority,
    Severity,
    Ticket,
    TicketNote,
    TicketState,
    TicketType,
)
from rest_facades.mef import hub
from rest_facades.mef.errors import (
    MEFError,
    bad_request,
    from_core_error,
    mef_json,
    unprocessable,
)
from rest_facades.mef.errors import pointer as json_pointer
from rest_facades.mef.flavours import Flavour
from rest_facades.mef.generated.sonata import trouble_ticket as models
from rest_facades.mef.hub import NotifyingAPI
from rest_facades.mef.requests import (
    BodyMembers,
    Caller,
    FlavourDep,
    MEFCaller,
    MEFList,
    dump,
    listing,
)
from rest_facades.mef.routing import mef_router
from rest_facades.mef.vocabulary import from_mef, to_mef

API = "trouble_ticket"
TAG = "trouble tickets (MEF 124)"
INVENTORY_API = "product_inventory"
REPORTER = "reporterContact"
# The role of the product that a ticket or an incident is about, when none was sent.
PRODUCT_ROLE = "affectedProduct"
# Who the buyer reaches about an incident: the seller's network operations centre.
SELLER_INCIDENT_CONTACT = {
    "name": "Lumen Network Operations Center",
    "organization": "Lumen",
    "emailAddress": "noc@lumen.example",
    "number": "+1-800-555-0142",
    "role": "incidentContact",
}
# What the buyer sends that the core keeps as given and the face returns (see Ticket.annotations).
KEPT = ("relatedContactInformation", "attachment", "relatedIssue", "issueStartDate")
PATCHABLE = {
    "attachment",
    "externalId",
    "issueStartDate",
    "observedImpact",
    "note",
    "priority",
    "relatedContactInformation",
    "relatedIssue",
    "severity",
}
# Core fields of refused requests, as pointers into the MEF request body.
_FIELDS = {
    "summary": "/description",
    "description": "/description",
    "external_id": "/externalId",
    "product_id": "/relatedEntity/0/id",
    "reason": "/reason",
}
# Ticket moves that have an event of their own; every other move is a status change.
_TICKET_EVENTS = {
    TicketState.RESOLVED: "troubleTicketResolvedEvent",
    TicketState.PENDING: "troubleTicketInformationRequiredEvent",
}
_INCIDENT_EVENTS = {
    EventKind.CREATED: "incidentCreateEvent",
    EventKind.STATE_CHANGED: "incidentStatusChangeEvent",
    EventKind.ATTRIBUTE_CHANGED: "incidentAttributeValueChangeEvent",
}


Vocabulary = TypeVar("Vocabulary", bound=StrEnum)


def _to_core(value: StrEnum, core: type[Vocabulary]) -> Vocabulary:
    """A value of a MEF enumeration as the core's."""
    return core(from_mef(value.value, core))


def _pointer(field: str | None) -> str:
    """A core field as a JSON pointer into the request body (`notes[1].text` -> `/note/1/text`)."""
    if not field:
        return ""
    if field in _FIELDS:
        return _FIELDS[field]
    parts = field.replace("]", "").replace("[", ".").split(".")
    if parts[0] == "notes":
        parts[0] = "note"
    return json_pointer(parts)


def _core_refusal(error: CoreError) -> MEFError:
    return from_core_error(error, field_pointer=_pointer)


def _choice(name: str, value: str | None, enum: type[StrEnum], core: type[StrEnum]) -> Any:
    """A MEF query value as the core's, or an Error400 when the spec does not allow it."""
    if value is None:
        return None
    if value not in {member.value for member in enum}:
        raise bad_request("invalidQuery", f"'{value}' is not a valid {name}")
    return from_mef(value, core)


def _between(after: datetime | None, before: datetime | None) -> Between | None:
    return Between(after, before) if after or before else None


def _contacts_problem(contacts: list[Any]) -> tuple[str, str, str] | None:
    if any(c.role == REPORTER for c in contacts):
        return None
    return (
        "missingProperty",
        f"a contact with the role '{REPORTER}' is required",
        "/relatedContactInformation",
    )


def _notes(notes: list[Any] | None) -> list[NoteInput]:
    return [NoteInput(text=n.text, author=n.author) for n in notes or []]


def _kept(body: Any) -> dict[str, Any]:
    """The attributes the core keeps as given, in their validated form."""
    kept: dict[str, Any] = {}
    for name in KEPT:
        if name not in body.model_fields_set:
            continue
        value = getattr(body, name)
        if isinstance(value, list):
            kept[name] = [dump(v) for v in value]
        elif isinstance(value, datetime):
            kept[name] = value.isoformat().replace("+00:00", "Z")
    return kept


def _note_view(note: TicketNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "author": note.author,
        "date": note.created_at,
        "source": "seller" if note.by_seller else "buyer",
        "text": note.text,
    }


def _expected_resolution(ticket: Ticket) -> datetime:
    return ticket.expected_resolution_at or (
        ticket.created_at + tickets.RESOLUTION_TARGETS[ticket.priority]
    )


def _product_ref(flavour: Flavour, caller: Caller, product_id: str, role: str) -> dict[str, Any]:
    return {
        "@referredType": "Product",
        "id": product_id,
        "href": caller.href(flavour.base_path(INVENTORY_API), "product", product_id),
        "role": role,
    }


def _related_entity(flavour: Flavour, caller: Caller, ticket: Ticket) -> list[dict[str, Any]]:
    if ticket.product_id is None:
        # Only tickets opened through the core without a product (never through this API).
        return [{"@referredType": "Party", "id": ticket.party_id, "role": "buyer"}]
    sent = ticket.annotations.get("relatedEntity") or [{}]
    role = str(sent[0].get("role") or PRODUCT_ROLE)
    return [_product_ref(flavour, caller, ticket.product_id, role)]


def _find_view(flavour: Flavour, caller: Caller, ticket: Ticket) -> dict[str, Any]:
    """A ticket as a MEF TroubleTicket_Find."""
    expected = _expected_resolution(ticket)
    return dump(
        models.TroubleTicketFind.model_validate(
            {
                "id": ticket.id,
                "creationDate": ticket.created_at,
                "description": ticket.description,
                # The spec requires these of every list item, so a ticket without them gets
                # an empty reference and, until it is resolved, the date it is expected to be.
                "externalId": ticket.external_id or "",
                "expectedResolutionDate": expected,
                "resolutionDate": ticket.resolved_at or expected,
                "priority": ticket.priority.value,
                "sellerPriority": ticket.priority.value,
                "severity": ticket.severity.value,
                "sellerSeverity": ticket.severity.value,
                "ticketType": ticket.ticket_type.value,
                "observedImpact": (ticket.impact or Impact.DEGRADED).value,
                "status": to_mef(ticket.state, models.TroubleTicketStatusType),
                "relatedEntity": _related_entity(flavour, caller, ticket),
            }
        )
    )


def _status_changes(found: list[Event], vocabulary: type[StrEnum]) -> list[dict[str, Any]]:
    return [
        {
            "status": to_mef(e.state, vocabulary),
            "changeDate": e.occurred_at,
            **({"changeReason": e.data["reason"]} if e.data.get("reason") else {}),
        }
        for e in found
        if e.kind in {EventKind.CREATED, EventKind.STATE_CHANGED} and e.state
    ]


async def ticket_view(flavour: Flavour, caller: Caller, ticket_id: str) -> dict[str, Any]:
    """One of the caller's tickets of this flavour as a MEF TroubleTicket."""
    base = flavour.base_path(API)
    session, principal = caller.session, caller.principal
    found = await tickets.get_ticket(
        session,
        principal=principal,
        ticket_id=ticket_id,
        buyer_party_id=caller.buyer_id,
    )
    ticket = found.ticket
    history = await events.list_events(
        session, principal=principal, entity=EntityKind.TICKET, entity_id=ticket.id
    )
    incidents = await tickets.incidents_of(session, principal=principal, ticket_id=ticket.id)
    contacts = ticket.annotations.get("relatedContactInformation")
    if not contacts:
        # Opened without contacts (through the core): the buyer party is the reporter.
        party = await parties.get_party(session, principal=principal, party_id=ticket.party_id)
        contacts = [
            {"name": party.name, "emailAddress": party.email or "", "number": "", "role": REPORTER}
        ]
    related_issues = [
        *ticket.annotations.get("relatedIssue", []),
        *(
            {
                "@referredType": "Incident",
                "id": incident.id,
                "href": caller.href(base, "incident", incident.id),
                "creationDate": incident.created_at,
                "description": "The seller's incident for this ticket",
                "relationshipType": "relatesTo",
                "source": "seller",
            }
            for incident in incidents
        ),
    ]
    view = {
        **_find_view(flavour, caller, ticket),
        "href": caller.href(base, "troubleTicket", ticket.id),
        "externalId": ticket.external_id,
        "resolutionDate": ticket.resolved_at,
        "issueStartDate": ticket.annotations.get("issueStartDate"),
        "attachment": ticket.annotations.get("attachment"),
        "note": [_note_view(n) for n in found.notes],
        "relatedContactInformation": contacts,
        "relatedIssue": related_issues or None,
        "statusChange": _status_changes(history, models.TroubleTicketStatusType),
    }
    return dump(models.TroubleTicket.model_validate(view))


def _incident_find(flavour: Flavour, caller: Caller, incident: Incident) -> dict[str, Any]:
    return dump(
        models.IncidentFind.model_validate(
            {
                "id": incident.id,
                "href": caller.href(flavour.base_path(API), "incident", incident.id),
                "creationDate": incident.created_at,
                "description": incident.description,
                "impact": incident.impact.value,
                "incidentType": incident.incident_type.value,
                "priority": incident.priority.value,
                "severity": incident.severity.value,
                "status": to_mef(incident.state, models.IncidentStatusType),
                "situationStartDate": incident.situation_started_at,
                "expectedClosedDate": incident.expected_closed_at,
                "closedDate": incident.closed_at,
                "relatedEntity": [_product_ref(flavour, caller, incident.product_id, PRODUCT_ROLE)],
            }
        )
    )


async def incident_view(flavour: Flavour, caller: Caller, incident_id: str) -> dict[str, Any]:
    """An incident affecting the caller's products as a MEF Incident."""
    session, principal = caller.session, caller.principal
    incident = await tickets.get_incident(
        session, principal=principal, incident_id=incident_id, buyer_party_id=caller.buyer_id
    )
    history = await events.list_events(
        session, principal=principal, entity=EntityKind.INCIDENT, entity_id=incident.id
    )
    related: list[dict[str, Any]] = []
    if incident.ticket_id is not None:
        ticket = (
            await tickets.get_ticket(session, principal=principal, ticket_id=incident.ticket_id)
        ).ticket
        if ticket is not None:
            related.append(
                {
                    "@referredType": "TroubleTicket",
                    "id": ticket.id,
                    "href": caller.href(flavour.base_path(API), "troubleTicket", ticket.id),
                    "creationDate": incident.created_at,
                    "description": "The buyer's ticket that this incident was opened for",
                    "relationshipType": "relatesTo",
                    "source": "seller",
                }
            )
    view = {
        **_incident_find(flavour, caller, incident),
        "relatedContactInformation": [SELLER_INCIDENT_CONTACT],
        "relatedIssue": related or None,
        "statusChange": _status_changes(history, models.IncidentStatusType),
    }
    return dump(models.Incident.model_validate(view))


async def _move(
    flavour: Flavour, caller: Caller, ticket_id: str, state: TicketState, reason: str | None = None
) -> Response:
    """Cancel, close or reopen one of the caller's tickets."""
    found = await tickets.get_ticket(
        caller.session,
        principal=caller.principal,
        ticket_id=ticket_id,
        buyer_party_id=caller.buyer_id,
    )
    if state is TicketState.CANCELLED and found.ticket.state is (
        TicketState.ASSESSING_CANCELLATION
    ):
        # Asked already: the seller is assessing it.
        return Response(status_code=204)
    try:
        await tickets.change_state(
            caller.session,
            principal=caller.principal,
            ticket_id=ticket_id,
            state=state,
            reason=reason,
        )
    except IllegalTransition as exc:
        # These operations list no 409: a ticket in the wrong status is a 422.
        raise MEFError(422, [{"code": "otherIssue", "reason": exc.message[:255]}]) from exc
    except CoreError as exc:
        raise _core_refusal(exc) from exc
    return Response(status_code=204)


routes = mef_router()


@routes.post("/troubleTicket", status_code=201, response_model=models.TroubleTicket)
async def create_ticket(
    body: models.TroubleTicketCreate, caller: MEFCaller, flavour: FlavourDep
) -> Response:
    """Report an issue with one of the buyer's products."""
    entity = body.relatedEntity[0]
    problems = []
    if entity.field_referredType != "Product":
        problems.append(
            (
                "invalidValue",
                "a ticket is about a Product",
                "/relatedEntity/0/@referredType",
            )
        )
    if (problem := _contacts_problem(body.relatedContactInformation)) is not None:
        problems.append(problem)
    if problems:
        raise unprocessable(problems)
    description = body.description.strip()
    try:
        ticket = await tickets.open_ticket(
            caller.session,
            principal=caller.principal,
            channel=flavour.channel,
            buyer_party_id=caller.buyer_id,
            product_id=entity.id,
            # The core's summary is the first line of what the buyer wrote.
            summary=description.splitlines()[0][:300] if description else "",
            description=body.description,
            severity=_to_core(body.severity, Severity),
            priority=_to_core(body.priority, Priority),
            ticket_type=_to_core(body.ticketType, TicketType),
            impact=_to_core(body.observedImpact, Impact),
            external_id=body.externalId,
            notes=_notes(body.note),
            annotations={**_kept(body), "relatedEntity": [dump(entity)]},
        )
    except CoreError as exc:
        raise _core_refusal(exc) from exc
    return mef_json(await ticket_view(flavour, caller, ticket.id), status=201)


class TicketQuery(BaseModel):
    """The criteria of a MEF 124 ticket list; every one given must hold."""

    externalId: str | None = None
    priority: str | None = None
    sellerPriority: str | None = None
    severity: str | None = None
    sellerSeverity: str | None = None
    ticketType: str | None = None
    status: str | None = None
    observedImpact: str | None = None
    relatedEntityId: str | None = None
    relatedEntityType: str | None = None
    creationDate_gt: Annotated[AwareDatetime | None, Field(alias="creationDate.gt")] = None
    creationDate_lt: Annotated[AwareDatetime | None, Field(alias="creationDate.lt")] = None
    expected_gt: Annotated[AwareDatetime | None, Field(alias="expectedResolutionDate.gt")] = None
    expected_lt: Annotated[AwareDatetime | None, Field(alias="expectedResolutionDate.lt")] = None
    resolutionDate_gt: Annotated[AwareDatetime | None, Field(alias="resolutionDate.gt")] = None
    resolutionDate_lt: Annotated[AwareDatetime | None, Field(alias="resolutionDate.lt")] = None


@routes.get("/troubleTicket", response_model=list[models.TroubleTicketFind])
async def list_tickets(
    query: MEFList, criteria: Annotated[TicketQuery, Query()], flavour: FlavourDep
) -> Response:
    """The buyer's tickets of this flavour, newest first, filtered as the spec allows."""
    caller, window = query.caller, query.window
    priorities = {
        _choice("priority", p, models.TroubleTicketPriorityType, Priority)
        for p in (criteria.priority, criteria.sellerPriority)
        if p is not None
    }
    severities = {
        _choice("severity", s, models.TroubleTicketSeverityType, Severity)
        for s in (criteria.severity, criteria.sellerSeverity)
        if s is not None
    }
    state = _choice("status", criteria.status, models.TroubleTicketStatusType, TicketState)
    ticket_kind = _choice("ticketType", criteria.ticketType, models.TroubleTicketType, TicketType)
    impact = _choice(
        "observedImpact", criteria.observedImpact, models.MEFObservedImpactType, Impact
    )
    # The seller's priority and severity are the buyer's: both named must agree.
    if (
        len(priorities) > 1
        or len(severities) > 1
        or criteria.relatedEntityType not in (None, "Product")
    ):
        return listing([], total=0)
    statement = tickets.tickets_query(
        principal=caller.principal,
        buyer_party_id=caller.buyer_id,
        states={state} if state else None,
        external_id=criteria.externalId,
        priority=next(iter(priorities), None),
        severity=next(iter(severities), None),
        ticket_type=ticket_kind,
        impact=impact,
        product_id=criteria.relatedEntityId,
        created=_between(criteria.creationDate_gt, criteria.creationDate_lt),
        expected_resolution=_between(criteria.expected_gt, criteria.expected_lt),
        resolved=_between(criteria.resolutionDate_gt, criteria.resolutionDate_lt),
    )
    page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
    return listing([_find_view(flavour, caller, t) for t in page.items], total=page.total)


@routes.get("/troubleTicket/{id}", response_model=models.TroubleTicket)
async def get_ticket(id: str, caller: MEFCaller, flavour: FlavourDep) -> Response:
    """One of the buyer's tickets."""
    return mef_json(await ticket_view(flavour, caller, id))


@routes.patch("/troubleTicket/{id}", response_model=models.TroubleTicket)
async def patch_ticket(
    id: str,
    body: models.TroubleTicketUpdate,
    members: BodyMembers,
    caller: MEFCaller,
    flavour: FlavourDep,
) -> Response:
    """Change what the buyer said about a ticket; add notes and attachments."""
    problems = [
        ("unexpectedProperty", f"'{name}' cannot be changed", json_pointer([name]))
        for name in sorted(members)
        if name not in PATCHABLE
    ] + [
        ("invalidValue", f"'{name}' may not be null", json_pointer([name]))
        for name in sorted(body.model_fields_set)
        if name in PATCHABLE and getattr(body, name) is None
    ]
    if body.relatedContactInformation is not None:
        problem = _contacts_problem(body.relatedContactInformation)
        problems += [problem] if problem else []
    if problems:
        raise unprocessable(problems)
    found = await tickets.get_ticket(
        caller.session,
        principal=caller.principal,
        ticket_id=id,
        buyer_party_id=caller.buyer_id,
    )
    kept = _kept(body)
    # Notes and attachments may be added, never changed: those already there are skipped.
    known_notes = {n.id for n in found.notes}
    new_notes = [n for n in body.note or [] if n.id not in known_notes]
    if "attachment" in kept:
        before = found.ticket.annotations.get("attachment", [])
        known = {a.get("attachmentId") for a in before} - {None}
        kept["attachment"] = before + [
            a for a in kept["attachment"] if a.get("attachmentId") not in known
        ]
    try:
        await tickets.update_ticket(
            caller.session,
            principal=caller.principal,
            ticket_id=found.ticket.id,
            severity=_to_core(body.severity, Severity) if body.severity else None,
            priority=_to_core(body.priority, Priority) if body.priority else None,
            impact=(_to_core(body.observedImpact, Impact) if body.observedImpact else None),
            external_id=body.externalId,
            notes=_notes(new_notes),
            annotations=kept,
        )
    except CoreError as exc:
        raise _core_refusal(exc) from exc
    return mef_json(await ticket_view(flavour, caller, found.ticket.id))


@routes.post("/troubleTicket/{id}/cancel", status_code=204, response_class=Response)
async def cancel_ticket(id: str, caller: MEFCaller, flavour: FlavourDep) -> Response:
    """Withdraw a ticket (once work has started, the seller assesses the request)."""
    return await _move(flavour, caller, id, TicketState.CANCELLED)


@routes.post("/troubleTicket/{id}/close", status_code=204, response_class=Response)
async def close_ticket(id: str, caller: MEFCaller, flavour: FlavourDep) -> Response:
    """Confirm that a resolved issue is no longer observed."""
    return await _move(flavour, caller, id, TicketState.CLOSED)


@routes.post("/troubleTicket/{id}/reopen", status_code=204, response_class=Response)
async def reopen_ticket(
    id: str, body: models.Reason, caller: MEFCaller, flavour: FlavourDep
) -> Response:
    """Report that a resolved issue is still observed, and why."""
    return await _move(flavour, caller, id, TicketState.REOPENED, reason=body.reason)


class IncidentQuery(BaseModel):
    """The criteria of a MEF 124 incident list; every one given must hold."""

    priority: str | None = None
    severity: str | None = None
    impact: str | None = None
    incidentType: str | None = None
    status: str | None = None
    relatedEntityId: str | None = None
    relatedEntityType: str | None = None
    creationDate_gt: Annotated[AwareDatetime | None, Field(alias="creationDate.gt")] = None
    creationDate_lt: Annotated[AwareDatetime | None, Field(alias="creationDate.lt")] = None
    situationStartDate_gt: Annotated[AwareDatetime | None, Field(alias="situationStartDate.gt")] = (
        None
    )
    situationStartDate_lt: Annotated[AwareDatetime | None, Field(alias="situationStartDate.lt")] = (
        None
    )
    expected_gt: Annotated[AwareDatetime | None, Field(alias="expectedClosedDate.gt")] = None
    expected_lt: Annotated[AwareDatetime | None, Field(alias="expectedClosedDate.lt")] = None
    closedDate_gt: Annotated[AwareDatetime | None, Field(alias="closedDate.gt")] = None
    closedDate_lt: Annotated[AwareDatetime | None, Field(alias="closedDate.lt")] = None


@routes.get("/incident", response_model=list[models.IncidentFind])
async def list_incidents(
    query: MEFList, criteria: Annotated[IncidentQuery, Query()], flavour: FlavourDep
) -> Response:
    """Incidents affecting the buyer's products, newest first, filtered as the spec allows."""
    caller, window = query.caller, query.window
    state = _choice("status", criteria.status, models.IncidentStatusType, IncidentState)
    if criteria.relatedEntityType not in (None, "Product"):
        return listing([], total=0)
    statement = tickets.incidents_query(
        principal=caller.principal,
        buyer_party_id=caller.buyer_id,
        states={state} if state else None,
        incident_type=_choice(
            "incidentType", criteria.incidentType, models.IncidentType, IncidentType
        ),
        severity=_choice("severity", criteria.severity, models.TroubleTicketSeverityType, Severity),
        priority=_choice("priority", criteria.priority, models.TroubleTicketPriorityType, Priority),
        impact=_choice("impact", criteria.impact, models.MEFObservedImpactType, Impact),
        product_id=criteria.relatedEntityId,
        created=_between(criteria.creationDate_gt, criteria.creationDate_lt),
        situation_started=_between(criteria.situationStartDate_gt, criteria.situationStartDate_lt),
        expected_closed=_between(criteria.expected_gt, criteria.expected_lt),
        closed=_between(criteria.closedDate_gt, criteria.closedDate_lt),
    )
    page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
    return listing([_incident_find(flavour, caller, i) for i in page.items], total=page.total)


@routes.get("/incident/{id}", response_model=models.Incident)
async def get_incident(id: str, caller: MEFCaller, flavour: FlavourDep) -> Response:
    """One incident affecting the buyer's products."""
    return mef_json(await incident_view(flavour, caller, id))


routes.include_router(hub.routes)


def notification(flavour: Flavour, event: Event) -> tuple[str, dict[str, Any]] | None:
    """The MEF 124 event for a core ticket or incident event, with the buyer it concerns."""
    buyer = (
        {"buyerId": event.party_id}
        if event.data.get("placed_by_party_id") not in (None, event.party_id)
        else {}
    )
    if event.entity == EntityKind.TICKET:
        if event.kind is EventKind.STATE_CHANGED and event.state:
            name = _TICKET_EVENTS.get(TicketState(event.state), "troubleTicketStatusChangeEvent")
            return name, {"id": event.entity_id, **buyer}
        # The buyer's own changes (PATCH, notes) are not told back to it.
        if event.kind is EventKind.ATTRIBUTE_CHANGED and event.data.get("by_seller"):
            return "troubleTicketAttributeValueChangeEvent", {"id": event.entity_id, **buyer}
        return None
    if event.entity == EntityKind.INCIDENT and event.kind in _INCIDENT_EVENTS:
        return _INCIDENT_EVENTS[event.kind], {"id": event.entity_id, **buyer}
    return None


NOTIFYING = NotifyingAPI(
    api=API, notification_api="trouble_ticket_notification", notification=notification
)
