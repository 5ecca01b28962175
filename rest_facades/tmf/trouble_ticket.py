"""TMF621 Trouble Ticket v4: the core's tickets, their notes and lifecycle, as troubleTicket."""

from enum import StrEnum
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response

from app.core import tickets
from app.core.events import Channel, Event, EventKind
from app.core.tickets import NoteInput, Priority, Severity, Ticket, TicketNote, TicketState
from app.core.tickets import TicketType as CoreTicketType
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import merge_patch
from rest_facades.tmf.common import a_text, href, iso, listing, one, read_body
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes

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


def _name(value: str) -> str:
    """A core enum value as TMF621 writes free-text classifications (`Minor`)."""
    return value.capitalize()


def _enum(kind: type[E], value: Any, field: str, aliases: dict[str, E] | None = None) -> E:
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if aliases and text in aliases:
        return aliases[text]
    try:
        return kind(text)
    except ValueError as exc:
        allowed = ", ".join(_name(v.value) for v in kind)
        raise TMFError(400, "INVALID_VALUE", f"{field} must be one of {allowed}") from exc


def note_view(note: TicketNote) -> dict[str, Any]:
    """A core note as a TMF621 Note."""
    return {
        "id": note.id,
        "@type": "Note",
        "author": note.author,
        "date": iso(note.created_at),
        "text": note.text,
    }


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
        "ticketType": _name(ticket.ticket_type.value),
        "status": STATUS[ticket.state],
        "creationDate": iso(ticket.created_at),
        "lastUpdate": iso(ticket.updated_at),
        "channel": {"id": ticket.channel.value, "name": ticket.channel.value, "@type": "Channel"},
        "relatedParty": [
            {"id": ticket.party_id, "role": "customer", "@referredType": "Organization"}
        ],
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
    return view


KEPT = ("attachment", "requestedResolutionDate", "troubleTicketRelationship")


def _notes(body: dict[str, Any], known: set[str]) -> list[NoteInput]:
    """New notes of a body: those without the id of a note the ticket already has."""
    found = body.get("note") or []
    if not isinstance(found, list):
        raise TMFError(400, "INVALID_VALUE", "note must be a list")
    added = []
    for note in found:
        if not isinstance(note, dict) or note.get("id") in known:
            continue
        if not isinstance(note.get("text"), str):
            raise TMFError(400, "MISSING_ATTRIBUTE", "note.text is mandatory")
        added.append(NoteInput(text=note["text"], author=str(note.get("author") or "")))
    return added


def _product_id(body: dict[str, Any]) -> str | None:
    for entity in body.get("relatedEntity") or []:
        if isinstance(entity, dict) and entity.get("@referredType") == "Product":
            return a_text(entity.get("id"), "relatedEntity.id")
    return None


def _describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    if event.entity != "ticket" or event.state is None:
        return None
    return RESOURCE, {
        "id": event.entity_id,
        "status": STATUS[TicketState(event.state)],
        "@type": "TroubleTicket",
    }


NOTIFYING = NotifyingAPI(
    "troubleTicket", _describe, suffixes={EventKind.STATE_CHANGED: "StatusChangeEvent"}
)


def router() -> APIRouter:
    """The TMF621 endpoints."""
    routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF621 trouble ticket"])

    async def view_of(
        request: Request, session: Any, principal: CurrentPrincipal, ticket_id: str
    ) -> dict[str, Any]:
        found = await tickets.get_ticket(session, principal=principal, ticket_id=ticket_id)
        return ticket_view(request, found.ticket, found.notes)

    @routes.post("/troubleTicket", status_code=201)
    async def create_ticket(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Report a problem."""
        body = await read_body(request)
        for required in ("description", "severity", "ticketType"):
            if not isinstance(body.get(required), str) or not body[required].strip():
                raise TMFError(400, "MISSING_ATTRIBUTE", f"{required} is mandatory")
        name = body.get("name")
        summary = name if isinstance(name, str) and name.strip() else body["description"]
        buyer = next(
            (
                str(p.get("id"))
                for p in body.get("relatedParty") or []
                if isinstance(p, dict) and p.get("role") == "customer"
            ),
            None,
        )
        ticket = await tickets.open_ticket(
            session,
            principal=principal,
            channel=Channel.TMF,
            summary=summary.strip()[:300],
            description=body["description"],
            severity=_enum(Severity, body["severity"], "severity", SEVERITY_ALIASES),
            priority=_enum(Priority, body.get("priority") or "medium", "priority"),
            ticket_type=_enum(CoreTicketType, body["ticketType"], "ticketType"),
            product_id=_product_id(body),
            buyer_party_id=buyer,
            external_id=body.get("externalId") if isinstance(body.get("externalId"), str) else None,
            notes=_notes(body, set()),
            annotations={k: body[k] for k in KEPT if k in body},
        )
        view = await view_of(request, session, principal, ticket.id)
        return tmf_json(view, status=201, headers={"Location": view["href"]})

    @routes.get("/troubleTicket")
    async def list_tickets(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The caller's tickets, newest first."""
        found = list((await session.exec(tickets.tickets_query(principal=principal))).all())
        notes = await tickets.notes_of(
            session, principal=principal, ticket_ids=[t.id for t in found]
        )
        return listing(request, [ticket_view(request, t, notes[t.id]) for t in found])

    @routes.get("/troubleTicket/{id}")
    async def get_ticket(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One ticket."""
        return one(request, await view_of(request, session, principal, id))

    @routes.patch("/troubleTicket/{id}")
    async def patch_ticket(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Change a ticket by merge patch: severity, priority, externalId, notes, status."""
        current = await view_of(request, session, principal, id)
        patch = await read_body(request)
        for fixed in ("id", "href", "@type", "creationDate", "lastUpdate", "channel"):
            if fixed in patch:
                raise TMFError(400, "NOT_PATCHABLE", f"{fixed} cannot be changed")
        merged = merge_patch(current, patch)
        for fixed in ("name", "description", "ticketType", "relatedEntity", "relatedParty"):
            if merged.get(fixed) != current.get(fixed):
                raise TMFError(400, "NOT_PATCHABLE", f"{fixed} cannot be changed")
        known = {n["id"] for n in current["note"]}
        changes: dict[str, Any] = {}
        if merged.get("severity") != current["severity"]:
            changes["severity"] = _enum(
                Severity, merged.get("severity"), "severity", SEVERITY_ALIASES
            )
        if merged.get("priority") != current["priority"]:
            changes["priority"] = _enum(Priority, merged.get("priority"), "priority")
        if merged.get("externalId") != current.get("externalId"):
            changes["external_id"] = str(merged.get("externalId") or "")
        annotations = {k: merged.get(k) for k in KEPT if k in patch}
        added = _notes(patch, known)
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
        return one(request, await view_of(request, session, principal, id))

    async def _move(
        session: Any,
        principal: CurrentPrincipal,
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
    return routes
