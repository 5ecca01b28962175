"""TMF621 Trouble Ticket v4: the core's tickets, their notes and lifecycle, as troubleTicket.

The buyer may restate a ticket by PATCH (name, description, type, severity, priority, the affected
product while no work has started, related parties, attachments, notes) and move it by its
`status`; `channel`, `expectedResolutionDate` and `resolutionDate` are the seller's.
"""

from enum import StrEnum
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import tickets
from app.core.events import Channel, EntityKind, Event, EventKind
from app.core.parties import Principal
from app.core.tickets import (
    MAX_TYPE_WORD,
    NoteInput,
    Priority,
    Severity,
    Ticket,
    TicketField,
    TicketNote,
    TicketState,
)
from app.core.tickets import TicketType as CoreTicketType
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
from rest_facades.tmf.generated.trouble_ticket import (
    RelatedEntity,
    TroubleTicket,
    TroubleTicketCreate,
    TroubleTicketUpdate,
)
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes
from rest_facades.tmf.patching import refuse_sellers_changes

BASE = "/tmf-api/troubleTicket/v4"
INVENTORY_BASE = "/tmf-api/productInventory/v4"
RESOURCE = "troubleTicket"
E = TypeVar("E", bound=StrEnum)

# Core states as TMF621 statuses. TMF621 v4 has no "reopened": a reopened ticket is back in the
# seller's queue (acknowledged); a cancellation under assessment is held.
STATUS = {
    TicketState.ACKNOWLEDGED: "acknowledged",
    TicketState.IN_PROGRESS: "inProgress",
    TicketState.PENDING: "pending",
    TicketState.RESOLVED: "resolved",
    TicketState.CLOSED: "closed",
    TicketState.REOPENED: "acknowledged",
    TicketState.ASSESSING_CANCELLATION: "held",
    TicketState.CANCELLED: "cancelled",
}
# TMF621 statuses that a PATCH may ask for, as the core state they move the ticket to.
MOVES = {
    "inProgress": TicketState.IN_PROGRESS,
    "pending": TicketState.PENDING,
    "resolved": TicketState.RESOLVED,
    "closed": TicketState.CLOSED,
    "cancelled": TicketState.CANCELLED,
}
# TMF621 leaves severity free text; these common words are accepted too.
SEVERITY_ALIASES = {
    "low": Severity.MINOR,
    "medium": Severity.MODERATE,
    "major": Severity.SIGNIFICANT,
    "high": Severity.SIGNIFICANT,
    "critical": Severity.EXTENSIVE,
}
# TMF621 leaves the ticket type free text; the v4 file's own examples are accepted too.
TICKET_TYPE_ALIASES = {
    "incident": CoreTicketType.ASSISTANCE,
    "complaint": CoreTicketType.ASSISTANCE,
    "complain": CoreTicketType.ASSISTANCE,
    "request": CoreTicketType.INFORMATION,
}
# What the buyer sent that the core keeps as given ("relatedParty": the parties besides the
# customer, such as contacts).
KEPT = (
    "attachment",
    "requestedResolutionDate",
    "troubleTicketRelationship",
    "statusChangeReason",
    "relatedParty",
)
# Attributes of TroubleTicket_Update that the buyer may change; the others (`channel`,
# `expectedResolutionDate`, `resolutionDate`) are the seller's: a PATCH may repeat them unchanged.
BUYERS = (
    *KEPT,
    "name",
    "description",
    "externalId",
    "severity",
    "priority",
    "ticketType",
    "note",
    "relatedEntity",
    "status",
    "@type",
)
CUSTOMER = "customer"


def _name(value: str) -> str:
    """A core enum value as TMF621 writes free-text classifications (`Minor`)."""
    return value.capitalize()


def _names(kind: type[E]) -> dict[E, str]:
    return {member: _name(member.value) for member in kind}


def _channels(text: str) -> tuple[Channel, ...]:
    return tuple(c for c in Channel if c.value == text)


# TMF621 attributes that the core's ticket query answers.
FILTERS: dict[str, Attribute[TicketField]] = {
    "id": Attribute(TicketField.ID, as_text),
    "name": Attribute(TicketField.SUMMARY, as_text),
    "description": Attribute(TicketField.DESCRIPTION, as_text),
    "externalId": Attribute(TicketField.EXTERNAL_ID, as_text),
    "severity": Attribute(TicketField.SEVERITY, by_name(_names(Severity))),
    "priority": Attribute(TicketField.PRIORITY, by_name(_names(Priority))),
    # The buyer's own word or, for tickets without one, the core's type by its name.
    "ticketType": Attribute(
        TicketField.TICKET_TYPE_WORD,
        as_text,
        also=Attribute(TicketField.UNWORDED_TICKET_TYPE, by_name(_names(CoreTicketType))),
    ),
    "status": Attribute(TicketField.STATE, by_name(STATUS)),
    "channel.id": Attribute(TicketField.CHANNEL, _channels),
    "channel.name": Attribute(TicketField.CHANNEL, _channels),
    "relatedEntity.id": Attribute(TicketField.PRODUCT, as_text),
    "relatedEntity.href": linked(TicketField.PRODUCT, INVENTORY_BASE, "product"),
    "href": linked(TicketField.ID, BASE, "troubleTicket"),
    "creationDate": Attribute(TicketField.CREATED_AT, as_date_time, ordered=True),
    "lastUpdate": Attribute(TicketField.UPDATED_AT, as_date_time, ordered=True),
    "expectedResolutionDate": Attribute(
        TicketField.EXPECTED_RESOLUTION_AT, as_date_time, ordered=True
    ),
    "resolutionDate": Attribute(TicketField.RESOLVED_AT, as_date_time, ordered=True),
    # What the buyer sent that the core keeps as given, by any path below it.
    **{name: in_document(TicketField.ANNOTATIONS, name) for name in KEPT},
    "@type": constant(TicketField.ID, "TroubleTicket"),
    "channel.@type": constant(TicketField.ID, "Channel"),
    "note.id": Attribute(TicketField.NOTE_ID, as_text),
    "note.text": Attribute(TicketField.NOTE_TEXT, as_text),
    "note.author": Attribute(TicketField.NOTE_AUTHOR, as_text),
    "note.date": Attribute(TicketField.NOTE_DATE, as_date_time, ordered=True),
    "relatedEntity.role": constant(TicketField.ID, "affectedProduct"),
    "relatedEntity.@referredType": constant(TicketField.ID, "Product"),
    # The buyer (role `customer`) and the parties the buyer named.
    **buyer_and_related_parties(TicketField.PARTY, TicketField.ANNOTATIONS),
}
# TMF621 attributes that filter after the page is read: none.
AFTER_PAGE: frozenset[str] = frozenset()


def _enum(kind: type[E], value: Any, field: str, aliases: dict[str, E] | None = None) -> E:
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if aliases and text in aliases:
        return aliases[text]
    try:
        return kind(text)
    except ValueError as exc:
        allowed = ", ".join(_name(v.value) for v in kind)
        raise TMFError(400, "INVALID_VALUE", f"{field} must be one of {allowed}") from exc


def _ticket_type(word: Any) -> dict[str, Any]:
    """The buyer's word for the type of a ticket, kept as given, and the core's type for it
    (the core's default where it knows no such word)."""
    if not isinstance(word, str) or not word.strip():
        raise TMFError(400, "INVALID_VALUE", "ticketType must be a word")
    if len(word) > MAX_TYPE_WORD:
        raise TMFError(400, "INVALID_VALUE", f"ticketType is at most {MAX_TYPE_WORD} characters")
    text = word.strip().lower()
    known = TICKET_TYPE_ALIASES.get(text) or next(
        (kind for kind in CoreTicketType if kind.value == text), CoreTicketType.ASSISTANCE
    )
    return {"ticket_type": known, "ticket_type_word": word}


def note_view(note: TicketNote) -> dict[str, Any]:
    """A core note as a TMF621 Note."""
    return {
        "id": note.id,
        "@type": "Note",
        "author": note.author,
        "date": iso(note.created_at),
        "text": note.text,
    }


def _customer(ticket: Ticket) -> dict[str, Any]:
    return {"id": ticket.party_id, "role": CUSTOMER, "@referredType": "Organization"}


def ticket_view(request: Request, ticket: Ticket, notes: list[TicketNote]) -> dict[str, Any]:
    """A core ticket as a TMF621 TroubleTicket."""
    view: dict[str, Any] = {
        "id": ticket.id,
        "href": href(request, BASE, RESOURCE, ticket.id),
        "@type": "TroubleTicket",
        "name": ticket.summary,
        "description": ticket.description,
        "severity": _name(ticket.severity.value),
        "priority": _name(ticket.priority.value),
        "ticketType": ticket.ticket_type_word or _name(ticket.ticket_type.value),
        "status": STATUS[ticket.state],
        "creationDate": iso(ticket.created_at),
        "lastUpdate": iso(ticket.updated_at),
        "channel": {"id": ticket.channel.value, "name": ticket.channel.value, "@type": "Channel"},
        "note": [note_view(n) for n in notes],
    }
    if ticket.external_id:
        view["externalId"] = ticket.external_id
    if ticket.expected_resolution_at:
        view["expectedResolutionDate"] = iso(ticket.expected_resolution_at)
    if ticket.resolved_at:
        view["resolutionDate"] = iso(ticket.resolved_at)
    if ticket.product_id:
        view["relatedEntity"] = [
            {
                "id": ticket.product_id,
                "href": href(request, INVENTORY_BASE, "product", ticket.product_id),
                "role": "affectedProduct",
                "@referredType": "Product",
            }
        ]
    # What the buyer sent that the core keeps as given.
    view |= {k: v for k, v in ticket.annotations.items() if k in KEPT and v is not None}
    view["relatedParty"] = [_customer(ticket), *(ticket.annotations.get("relatedParty") or [])]
    return view


def _new_notes(notes: list[dict[str, Any]] | None, known: set[str]) -> list[NoteInput]:
    """New notes: those without the id of a note the ticket already has."""
    added = []
    for note in notes or []:
        if note.get("id") in known:
            continue
        if not isinstance(note.get("text"), str):
            raise TMFError(400, "MISSING_ATTRIBUTE", "note.text is mandatory")
        added.append(NoteInput(text=note["text"], author=str(note.get("author") or "")))
    return added


def _product_id(entities: list[RelatedEntity] | list[dict[str, Any]] | None) -> str | None:
    for entity in entities or []:
        found = entity if isinstance(entity, dict) else entity.model_dump(by_alias=True)
        if found.get("@referredType") == "Product":
            return str(found["id"])
    return None


def _others(parties: list[dict[str, Any]] | None, party_id: str | None) -> list[dict[str, Any]]:
    """The related parties besides the customer (whom the ticket names itself)."""
    return [p for p in parties or [] if not (p.get("role") == CUSTOMER and p.get("id") == party_id)]


async def _view(
    request: Request, session: AsyncSession, principal: Principal, ticket_id: str
) -> dict[str, Any]:
    found = await tickets.get_ticket(session, principal=principal, ticket_id=ticket_id)
    return ticket_view(request, found.ticket, found.notes)


def _describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    if event.entity != EntityKind.TICKET or event.state is None:
        return None
    return RESOURCE, {
        "id": event.entity_id,
        "status": STATUS[TicketState(event.state)],
        "@type": "TroubleTicket",
    }


NOTIFYING = NotifyingAPI(
    "troubleTicket", _describe, suffixes={EventKind.STATE_CHANGED: "StatusChangeEvent"}
)
routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF621 trouble ticket"])


@routes.post("/troubleTicket", status_code=201, response_model=TroubleTicket)
async def create_ticket(
    body: TroubleTicketCreate, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Report a problem."""
    sent = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    summary = body.name if body.name and body.name.strip() else body.description
    buyer = next((p.id for p in body.relatedParty or [] if p.role == CUSTOMER), None)
    annotations = {k: sent[k] for k in KEPT if k in sent}
    if "relatedParty" in annotations:
        annotations["relatedParty"] = _others(annotations["relatedParty"], buyer)
    ticket = await tickets.open_ticket(
        session,
        principal=principal,
        channel=Channel.TMF,
        summary=summary.strip()[:300],
        description=body.description,
        severity=_enum(Severity, body.severity, "severity", SEVERITY_ALIASES),
        priority=_enum(Priority, body.priority or "medium", "priority"),
        **_ticket_type(body.ticketType),
        product_id=_product_id(body.relatedEntity),
        buyer_party_id=buyer,
        external_id=body.externalId,
        notes=_new_notes(sent.get("note"), set()),
        annotations=annotations,
    )
    view = await _view(request, session, principal, ticket.id)
    return tmf_json(view, status=201, headers={"Location": view["href"]})


@routes.get("/troubleTicket", response_model=list[TroubleTicket])
async def list_tickets(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's tickets, newest first."""
    conditions, after = query.conditions(FILTERS, AFTER_PAGE)
    page = await tickets.find_tickets(
        session,
        principal=principal,
        conditions=conditions,
        offset=query.offset,
        limit=query.limit,
    )
    views = [ticket_view(request, found.ticket, found.notes) for found in page.items]
    return await listed(query, views, total=page.total, after=after)


@routes.get("/troubleTicket/{id}", response_model=TroubleTicket)
async def get_ticket(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One ticket."""
    return resource(query, await _view(request, session, principal, id))


@routes.patch("/troubleTicket/{id}", response_model=TroubleTicket)
async def patch_ticket(
    id: str,
    body: TroubleTicketUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change a ticket by merge patch: what the buyer says about it, new notes, its status."""
    current = await _view(request, session, principal, id)
    patch = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    merged = merge_patch(current, patch)
    refuse_sellers_changes(patch, merged, current, BUYERS)
    for needed in ("name", "description", "ticketType", "severity", "priority"):
        if needed in patch and merged.get(needed) is None:
            raise TMFError(400, "INVALID_VALUE", f"{needed} cannot be removed")
    changes: dict[str, Any] = {}
    if merged["name"] != current["name"]:
        changes["summary"] = merged["name"]
    if merged["description"] != current["description"]:
        changes["description"] = merged["description"]
    if merged["ticketType"] != current["ticketType"]:
        changes |= _ticket_type(merged["ticketType"])
    if merged["severity"] != current["severity"]:
        changes["severity"] = _enum(Severity, merged["severity"], "severity", SEVERITY_ALIASES)
    if merged["priority"] != current["priority"]:
        changes["priority"] = _enum(Priority, merged["priority"], "priority")
    if merged.get("externalId") != current.get("externalId"):
        changes["external_id"] = str(merged.get("externalId") or "")
    if "relatedEntity" in patch:
        product_id = _product_id(merged.get("relatedEntity"))
        if product_id is None and "relatedEntity" in current:
            raise TMFError(400, "INVALID_VALUE", "the affected product cannot be removed")
        changes["product_id"] = product_id
    annotations = {k: merged.get(k) for k in KEPT if k in patch}
    if "relatedParty" in annotations:
        customer = current["relatedParty"][0]["id"]
        annotations["relatedParty"] = _others(annotations["relatedParty"], customer) or None
    added = _new_notes(patch.get("note"), {n["id"] for n in current["note"]})
    if changes or annotations or added:
        await tickets.update_ticket(
            session,
            principal=principal,
            ticket_id=id,
            notes=added,
            annotations=annotations or None,
            **changes,
        )
    status = merged.get("status")
    if status != current["status"]:
        await _move(session, principal, id, current["status"], status, merged)
    return tmf_json(await _view(request, session, principal, id))


async def _move(
    session: AsyncSession,
    principal: Principal,
    ticket_id: str,
    now: str,
    wanted: Any,
    merged: dict[str, Any],
) -> None:
    reason = merged.get("statusChangeReason")
    reason = reason if isinstance(reason, str) and reason.strip() else None
    if now == "resolved" and wanted in {"acknowledged", "inProgress"}:
        # The buyer says the problem persists.
        await tickets.reopen(session, principal=principal, ticket_id=ticket_id, reason=reason)
        return
    if wanted not in MOVES:
        raise TMFError(400, "INVALID_VALUE", f"status cannot become '{wanted}' from '{now}'")
    await tickets.change_state(
        session,
        principal=principal,
        ticket_id=ticket_id,
        state=MOVES[wanted],
        resolution=reason,
        reason=reason,
    )


@routes.delete("/troubleTicket/{id}", status_code=204)
async def delete_ticket(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Withdraw a ticket: the core keeps tickets, so this cancels it (or asks to)."""
    await tickets.cancel(session, principal=principal, ticket_id=id)
    return Response(status_code=204)


add_hub_routes(routes, NOTIFYING)


def router() -> APIRouter:
    """The TMF621 endpoints."""
    return routes
