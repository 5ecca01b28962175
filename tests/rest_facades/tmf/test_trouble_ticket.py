"""TMF621 Trouble Ticket v4 through the ASGI app, checked against the official file."""

from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import tickets
from app.core.db import Database
from app.core.events import Channel, EntityKind, list_events
from app.core.tickets import Ticket, TicketState, TicketType
from rest_facades.tmf.trouble_ticket import NOTIFYING
from tests.factories import Caller, make_product, make_ticket
from tests.rest_facades.tmf.conformance import check_response
from tests.rest_facades.tmf.kit import Kit
from tests.statements import copies, counting

SPEC = "TMF621-TroubleTicket-v4"
BASE = "/tmf-api/troubleTicket/v4"
ONE = "/troubleTicket/{id}"
MERGE = {"Content-Type": "application/merge-patch+json"}


async def _call(
    client: httpx.AsyncClient,
    caller: Caller,
    method: str,
    path: str,
    template: str,
    status: int,
    *,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    **query: str,
) -> httpx.Response:
    response = await client.request(
        method,
        f"{BASE}{path}",
        headers=caller.headers | (headers or {}),
        params=(params or {}) | query,
        json=body,
    )
    assert response.status_code == status, response.text
    if status != 204:
        check_response(SPEC, template, method, status, response.json())
    return response


def _ticket_body(product_id: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Link down",
        "description": "No light on port 1 since 09:00.",
        "severity": "Significant",
        "priority": "High",
        "ticketType": "Assistance",
        "externalId": "INC-42",
        "note": [{"author": "Ana", "text": "Rebooted our router, no change."}],
        "requestedResolutionDate": "2030-01-01T00:00:00Z",
        "@type": "TroubleTicket",
    }
    if product_id:
        body["relatedEntity"] = [
            {"id": product_id, "role": "affectedProduct", "@referredType": "Product"}
        ]
    return body | extra


async def test_a_ticket_is_opened_read_listed_and_trimmed(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    product = await make_product(session, customer)
    made = await _call(
        client,
        customer,
        "POST",
        "/troubleTicket",
        "/troubleTicket",
        201,
        body=_ticket_body(product.id),
    )
    ticket = made.json()
    assert made.headers["location"] == ticket["href"]
    assert ticket["status"] == "acknowledged"
    assert (ticket["severity"], ticket["priority"], ticket["ticketType"]) == (
        "Significant",
        "High",
        "Assistance",
    )
    assert ticket["relatedEntity"][0]["id"] == product.id
    assert ticket["note"][0]["text"] == "Rebooted our router, no change."
    assert ticket["requestedResolutionDate"] == "2030-01-01T00:00:00Z"
    assert ticket["channel"]["id"] == "tmf"
    # The same core row, with the core's names.
    core = await tickets.get_ticket(session, principal=customer.principal, ticket_id=ticket["id"])
    assert core.ticket.channel is Channel.TMF
    assert core.ticket.product_id == product.id
    assert core.ticket.severity is tickets.Severity.SIGNIFICANT
    assert core.ticket.external_id == "INC-42"
    assert [n.text for n in core.notes] == ["Rebooted our router, no change."]

    # A ticket opened through another face (GraphQL) is listed too.
    other = await make_ticket(session, customer, product_id=product.id)
    listed = await _call(client, customer, "GET", "/troubleTicket", "/troubleTicket", 200)
    assert listed.headers["x-total-count"] == "2"
    assert {t["id"] for t in listed.json()} == {ticket["id"], other.id}
    got = await _call(client, customer, "GET", f"/troubleTicket/{other.id}", ONE, 200)
    assert got.json()["channel"]["id"] == "graphql"
    assert got.json()["severity"] == "Moderate"

    filtered = await _call(
        client,
        customer,
        "GET",
        "/troubleTicket",
        "/troubleTicket",
        200,
        params={"relatedEntity.id": product.id, "severity": "Significant"},
    )
    assert [t["id"] for t in filtered.json()] == [ticket["id"]]
    after = await _call(
        client,
        customer,
        "GET",
        "/troubleTicket",
        "/troubleTicket",
        200,
        params={"creationDate.gte": ticket["creationDate"], "externalId": "INC-42,INC-43"},
    )
    assert [t["id"] for t in after.json()] == [ticket["id"]]
    trimmed = await _call(
        client,
        customer,
        "GET",
        "/troubleTicket",
        "/troubleTicket",
        200,
        fields="status,note.text",
        limit="1",
        offset="1",
    )
    assert trimmed.headers["x-total-count"] == "2"
    assert trimmed.headers["x-result-count"] == "1"
    [first] = trimmed.json()
    assert set(first) == {"id", "href", "@type", "status", "note"}
    one = await _call(
        client, customer, "GET", f"/troubleTicket/{ticket['id']}", ONE, 200, fields="status"
    )
    assert set(one.json()) == {"id", "href", "@type", "status"}


async def test_a_ticket_needs_its_mandatory_attributes(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    for missing in ("description", "severity", "ticketType"):
        body = _ticket_body()
        del body[missing]
        refused = await _call(
            client, customer, "POST", "/troubleTicket", "/troubleTicket", 400, body=body
        )
        assert refused.json()["code"] == "MISSING_ATTRIBUTE"
        assert missing in refused.json()["reason"]
    bad = await _call(
        client,
        customer,
        "POST",
        "/troubleTicket",
        "/troubleTicket",
        400,
        body=_ticket_body(severity="Apocalyptic"),
    )
    assert bad.json()["code"] == "INVALID_VALUE"


async def test_a_patch_merges_attributes_and_notes(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    made = await _call(
        client, customer, "POST", "/troubleTicket", "/troubleTicket", 201, body=_ticket_body()
    )
    ticket = made.json()
    for headers in (MERGE, {"Content-Type": "application/json"}):
        patched = await _call(
            client,
            customer,
            "PATCH",
            f"/troubleTicket/{ticket['id']}",
            ONE,
            200,
            headers=headers,
            body={
                "severity": "Extensive",
                "priority": "Critical",
                "note": [*ticket["note"], {"author": "Ana", "text": "Still down."}],
            },
        )
    view = patched.json()
    assert (view["severity"], view["priority"]) == ("Extensive", "Critical")
    # Sent twice with a new note each time: the notes are added, never replaced.
    assert [n["text"] for n in view["note"]] == [
        "Rebooted our router, no change.",
        "Still down.",
        "Still down.",
    ]
    assert view["description"] == ticket["description"]
    # null removes what the core keeps as given; absent keys stay.
    cleared = await _call(
        client,
        customer,
        "PATCH",
        f"/troubleTicket/{ticket['id']}",
        ONE,
        200,
        headers=MERGE,
        body={"requestedResolutionDate": None},
    )
    assert "requestedResolutionDate" not in cleared.json()
    assert cleared.json()["externalId"] == "INC-42"
    # The seller's attributes may be repeated, not changed.
    refused = await _call(
        client,
        customer,
        "PATCH",
        f"/troubleTicket/{ticket['id']}",
        ONE,
        400,
        body={"channel": {"id": "sonata"}},
    )
    assert refused.json()["code"] == "NOT_PATCHABLE"
    await _call(
        client,
        customer,
        "PATCH",
        f"/troubleTicket/{ticket['id']}",
        ONE,
        200,
        body={"expectedResolutionDate": cleared.json()["expectedResolutionDate"]},
    )


async def test_the_buyer_moves_a_ticket_by_its_status(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    ticket = await make_ticket(session, customer)
    # Moves that are the seller's are refused to the buyer.
    await _call(
        client,
        customer,
        "PATCH",
        f"/troubleTicket/{ticket.id}",
        ONE,
        403,
        body={"status": "resolved", "statusChangeReason": "fixed"},
    )
    await _call(
        client,
        ops,
        "PATCH",
        f"/troubleTicket/{ticket.id}",
        ONE,
        200,
        body={"status": "inProgress"},
    )
    resolved = await _call(
        client,
        ops,
        "PATCH",
        f"/troubleTicket/{ticket.id}",
        ONE,
        200,
        body={"status": "resolved", "statusChangeReason": "Replaced the optic."},
    )
    assert resolved.json()["status"] == "resolved"
    assert "resolutionDate" in resolved.json()
    # The buyer says it is still broken: the ticket is reopened.
    reopened = await _call(
        client,
        customer,
        "PATCH",
        f"/troubleTicket/{ticket.id}",
        ONE,
        200,
        body={"status": "inProgress", "statusChangeReason": "Down again."},
    )
    assert reopened.json()["status"] == "acknowledged"
    await session.refresh(ticket)
    assert ticket.state is TicketState.REOPENED
    await tickets.change_state(
        session,
        principal=ops.principal,
        ticket_id=ticket.id,
        state=TicketState.RESOLVED,
        resolution="Cleaned the connector.",
    )
    closed = await _call(
        client,
        customer,
        "PATCH",
        f"/troubleTicket/{ticket.id}",
        ONE,
        200,
        body={"status": "closed"},
    )
    assert closed.json()["status"] == "closed"
    await _call(
        client,
        customer,
        "PATCH",
        f"/troubleTicket/{ticket.id}",
        ONE,
        409,
        body={"status": "cancelled"},
    )


async def test_delete_cancels_the_ticket(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    fresh = await make_ticket(session, customer)
    await _call(client, customer, "DELETE", f"/troubleTicket/{fresh.id}", ONE, 204)
    got = await _call(client, customer, "GET", f"/troubleTicket/{fresh.id}", ONE, 200)
    assert got.json()["status"] == "cancelled"
    # Once work has started, the seller assesses the cancellation first.
    started = await make_ticket(session, customer)
    await tickets.change_state(
        session, principal=ops.principal, ticket_id=started.id, state=TicketState.IN_PROGRESS
    )
    await _call(client, customer, "DELETE", f"/troubleTicket/{started.id}", ONE, 204)
    held = await _call(client, customer, "GET", f"/troubleTicket/{started.id}", ONE, 200)
    assert held.json()["status"] == "held"


async def test_another_enterprises_tickets_do_not_exist(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    theirs = await make_ticket(session, other_customer)
    mine = await make_ticket(session, customer)
    listed = await _call(client, customer, "GET", "/troubleTicket", "/troubleTicket", 200)
    assert [t["id"] for t in listed.json()] == [mine.id]
    for method, body in (("GET", None), ("PATCH", {"severity": "Minor"}), ("DELETE", None)):
        refused = await _call(
            client, customer, method, f"/troubleTicket/{theirs.id}", ONE, 404, body=body
        )
        assert refused.json()["code"] == "NOT_FOUND"
    await _call(client, customer, "GET", "/troubleTicket/tt_nope", ONE, 404)
    await session.refresh(theirs)
    assert theirs.state is TicketState.ACKNOWLEDGED
    assert theirs.severity is tickets.Severity.MODERATE
    # A product of another enterprise cannot be the related entity.
    their_product = await make_product(session, other_customer)
    await _call(
        client,
        customer,
        "POST",
        "/troubleTicket",
        "/troubleTicket",
        400,
        body=_ticket_body(their_product.id),
    )


async def test_the_hub_and_the_events_it_reports(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    hub = await _call(
        client,
        customer,
        "POST",
        "/hub",
        "/hub",
        201,
        body={
            "callback": "https://listener.example.com",
            "query": "eventType=troubleTicketCreateEvent",
        },
    )
    assert hub.json()["callback"] == "https://listener.example.com"
    await _call(client, customer, "DELETE", f"/hub/{hub.json()['id']}", "/hub/{id}", 204)
    await _call(client, customer, "DELETE", f"/hub/{hub.json()['id']}", "/hub/{id}", 404)
    ticket = await make_ticket(session, customer)
    await tickets.cancel(session, principal=customer.principal, ticket_id=ticket.id)
    found = await list_events(
        session, principal=customer.principal, entity=EntityKind.TICKET, entity_id=ticket.id
    )
    described = [NOTIFYING.describe(e) for e in found]
    assert described == [
        ("troubleTicket", {"id": ticket.id, "status": status, "@type": "TroubleTicket"})
        for status in ("acknowledged", "cancelled")
    ]
    product_events = await list_events(
        session, principal=customer.principal, entity=EntityKind.PRODUCT
    )
    assert product_events
    assert all(NOTIFYING.describe(e) is None for e in product_events)


async def test_the_api_answers_as_a_conformance_kit_checks_it(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    kit = Kit(
        client,
        customer,
        SPEC,
        BASE,
        "troubleTicket",
        mandatory=("id", "href", "creationDate", "description", "severity", "status", "ticketType"),
    )
    created = await kit.create(
        {"description": "Packet loss", "severity": "Minor", "ticketType": "Assistance"}
    )
    await kit.filters_and_fields(created)
    # The v4 file's own example words are taken, as the core's nearest type and severity.
    example = await kit.create(
        {"description": "Outage", "severity": "Critical", "ticketType": "incident"}
    )
    # The buyer's word for the type is kept as given; the core works to its nearest type.
    assert (example["severity"], example["ticketType"]) == ("Extensive", "incident")
    stored = await session.get(Ticket, example["id"])
    assert stored is not None
    assert stored.ticket_type is TicketType.ASSISTANCE
    product = await make_product(session, customer)
    patched = await kit.patch(
        created,
        {
            "name": "Loss on port 2",
            "description": "2% packet loss on port 2",
            "externalId": "NOC-7",
            "priority": "High",
            "severity": "Significant",
            "ticketType": "Maintenance",
            "requestedResolutionDate": "2031-01-01T00:00:00Z",
            "statusChangeReason": "more detail",
            "attachment": [{"name": "trace.pcap", "url": "https://files.example.com/t.pcap"}],
            "note": [{"author": "Ana", "text": "Trace attached."}],
            "relatedEntity": [
                {"id": product.id, "role": "affectedProduct", "@referredType": "Product"}
            ],
            "relatedParty": [
                {"id": "ind-1", "name": "Ana", "role": "contact", "@referredType": "Individual"}
            ],
            "troubleTicketRelationship": [{"id": "tt_other", "relationshipType": "isRelatedTo"}],
            "@type": "TroubleTicket",
        },
    )
    assert patched["relatedParty"][0]["role"] == "customer"
    await kit.patch(
        patched,
        {k: patched[k] for k in ("channel", "expectedResolutionDate")} | {"status": "cancelled"},
    )
    other = await kit.create(
        {"description": "Jitter", "severity": "Moderate", "ticketType": "Information"}
    )

    async def cancelled(path: str) -> None:
        got = await kit.call("GET", path, 200)
        assert got.json()["status"] == "cancelled"

    await kit.delete(other, then=cancelled)
    await kit.unknown_is_404()


async def test_a_list_costs_the_same_statements_for_ten_and_a_thousand_tickets(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    ticket = await make_ticket(session, customer)

    async def statements() -> tuple[int, str]:
        with counting(database) as seen:
            listed = await _call(
                client,
                customer,
                "GET",
                "/troubleTicket",
                "/troubleTicket",
                200,
                params={"severity": "Moderate", "creationDate.gte": "2020-01-01", "limit": "5"},
            )
        assert listed.headers["x-result-count"] == "5"
        # The window is the database's: only a page of rows is read.
        assert any("LIMIT" in statement.upper() for statement in seen)
        return len(seen), listed.headers["x-total-count"]

    await copies(session, ticket, 9, lambda n: {"id": f"tt_few{n}"})
    few, ten = await statements()
    await copies(session, ticket, 990, lambda n: {"id": f"tt_many{n}"})
    many, thousand = await statements()
    assert (ten, thousand) == ("10", "1000")
    assert many == few
