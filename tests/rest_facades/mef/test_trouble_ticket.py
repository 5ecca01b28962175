"""MEF 124 Trouble Ticket and Incident Management on both flavours, checked against the
official files."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, tickets
from app.core.db import Database
from app.core.events import Channel, Event, EventKind
from app.core.tickets import IncidentType, TicketState
from app.main import create_app
from app.settings import Settings
from rest_facades.mef.flavours import CANTATA, SONATA
from rest_facades.mef.trouble_ticket import notification
from tests.factories import Caller, make_caller, make_product
from tests.rest_facades.mef.conformance import check_response
from tests.rest_facades.mef.conftest import AUDIENCE_BY_FLAVOUR

API = "trouble_ticket"
BASES = {
    "sonata": "/mefApi/sonata/troubleTicket/v4",
    "cantata": "/mefApi/cantata/troubleTicket/v4",
}
REPORTER = {
    "name": "Ada",
    "emailAddress": "ada@example.com",
    "number": "+1 555 0100",
    "role": "reporterContact",
}


@pytest.fixture(params=sorted(BASES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs on Sonata and on Cantata."""
    name: str = request.param
    return name


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    """The application, its workers left to the test."""
    application = create_app(settings, run_workers=False)
    application.state.database = database
    return application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of that application."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _body(product_id: str, **changes: Any) -> dict[str, Any]:
    """A complete createTroubleTicket body about a product."""
    body: dict[str, Any] = {
        "description": "Link down\nNo light on port 1 since 09:00.",
        "severity": "significant",
        "priority": "high",
        "ticketType": "assistance",
        "observedImpact": "down",
        "externalId": "NOC-1",
        "issueStartDate": "2026-11-01T09:00:00Z",
        "relatedEntity": [{"@referredType": "Product", "id": product_id, "role": "impacted"}],
        "relatedContactInformation": [REPORTER],
        "note": [
            {
                "id": "1",
                "author": "Ada",
                "date": "2026-11-01T09:05:00Z",
                "source": "buyer",
                "text": "Rebooted the CPE.",
            }
        ],
        "attachment": [
            {
                "attachmentId": "a1",
                "author": "Ada",
                "creationDate": "2026-11-01T09:06:00Z",
                "name": "trace.txt",
                "source": "buyer",
                "url": "https://example.com/trace.txt",
            }
        ],
    }
    return body | changes


async def _call(
    http: httpx.AsyncClient,
    flavour: str,
    method: str,
    path: str,
    caller: Caller,
    *,
    template: str | None = None,
    json: Any = None,
    content: bytes | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    """A request, its answer checked against the official file."""
    response = await http.request(
        method,
        f"{BASES[flavour]}{path}",
        headers=caller.headers,
        json=json,
        content=content,
        params=params,
    )
    body = response.json() if response.content else None
    check_response(flavour, API, template or path, method, response.status_code, body)
    if response.content:
        assert response.headers["content-type"] == "application/json;charset=utf-8"
    return response


async def _create(
    http: httpx.AsyncClient, flavour: str, caller: Caller, body: dict[str, Any], **params: str
) -> httpx.Response:
    return await _call(
        http, flavour, "POST", "/troubleTicket", caller, json=body, params=params or None
    )


async def _get(http: httpx.AsyncClient, flavour: str, caller: Caller, ticket_id: str) -> Any:
    response = await _call(
        http,
        flavour,
        "GET",
        f"/troubleTicket/{ticket_id}",
        caller,
        template="/troubleTicket/{id}",
    )
    return response.json()


async def _action(
    http: httpx.AsyncClient,
    flavour: str,
    caller: Caller,
    ticket_id: str,
    action: str,
    json: Any = None,
) -> httpx.Response:
    return await _call(
        http,
        flavour,
        "POST",
        f"/troubleTicket/{ticket_id}/{action}",
        caller,
        template=f"/troubleTicket/{{id}}/{action}",
        json=json,
    )


async def _ops_move(database: Database, ops: Caller, ticket_id: str, state: TicketState) -> None:
    """Operations staff move a ticket, in a session of their own."""
    async with database.session() as session:
        await tickets.change_state(
            session, principal=ops.principal, ticket_id=ticket_id, state=state, resolution="Fixed"
        )


async def test_a_ticket_is_created_read_and_listed(
    http: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    product = await make_product(session, customer)
    created = await _create(http, flavour, customer, _body(product.id))
    assert created.status_code == 201
    ticket = created.json()
    assert ticket["status"] == "acknowledged"
    assert ticket["href"].endswith(f"{BASES[flavour]}/troubleTicket/{ticket['id']}")
    assert (ticket["severity"], ticket["sellerSeverity"]) == ("significant", "significant")
    assert (ticket["priority"], ticket["sellerPriority"]) == ("high", "high")
    assert (ticket["ticketType"], ticket["observedImpact"]) == ("assistance", "down")
    assert ticket["description"] == "Link down\nNo light on port 1 since 09:00."
    assert ticket["externalId"] == "NOC-1"
    assert ticket["issueStartDate"] == "2026-11-01T09:00:00Z"
    assert ticket["relatedContactInformation"] == [REPORTER]
    assert ticket["attachment"][0]["attachmentId"] == "a1"
    entity = ticket["relatedEntity"][0]
    assert (entity["id"], entity["role"], entity["@referredType"]) == (
        product.id,
        "impacted",
        "Product",
    )
    assert entity["href"].endswith(f"/product/{product.id}")
    [note] = ticket["note"]
    assert (note["author"], note["text"], note["source"]) == ("Ada", "Rebooted the CPE.", "buyer")
    assert [c["status"] for c in ticket["statusChange"]] == ["acknowledged"]
    assert "resolutionDate" not in ticket
    assert ticket["expectedResolutionDate"] > ticket["creationDate"]

    assert await _get(http, flavour, customer, ticket["id"]) == ticket

    listed = await _call(http, flavour, "GET", "/troubleTicket", customer)
    assert listed.status_code == 200
    assert (listed.headers["x-total-count"], listed.headers["x-result-count"]) == ("1", "1")
    [found] = listed.json()
    assert (found["id"], found["status"], found["externalId"]) == (
        ticket["id"],
        "acknowledged",
        "NOC-1",
    )
    assert "href" not in found


def _problems(response: httpx.Response) -> list[tuple[str, str | None]]:
    return [(e["code"], e.get("propertyPath")) for e in response.json()]


async def test_bad_creates_get_the_specs_error_bodies_and_change_nothing(
    http: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    product = await make_product(session, customer)
    theirs = await make_product(session, other_customer)
    body = _body(product.id)
    without = {k: v for k, v in body.items() if k != "description"}
    cases: list[tuple[dict[str, Any], tuple[str, str]]] = [
        (without, ("missingProperty", "/description")),
        (body | {"severity": "urgent"}, ("invalidValue", "/severity")),
        (body | {"issueStartDate": "yesterday"}, ("invalidFormat", "/issueStartDate")),
        (
            body | {"relatedContactInformation": [REPORTER | {"role": "buyerTechnicalContact"}]},
            ("missingProperty", "/relatedContactInformation"),
        ),
        (
            body | {"relatedEntity": [{"@referredType": "Bill", "id": "b1", "role": "x"}]},
            ("invalidValue", "/relatedEntity/0/@referredType"),
        ),
        (
            body | {"relatedEntity": [{"@referredType": "Product", "id": "prd_nope", "role": "x"}]},
            ("referenceNotFound", "/relatedEntity/0/id"),
        ),
        (
            body | {"relatedEntity": [{"@referredType": "Product", "id": theirs.id, "role": "x"}]},
            ("referenceNotFound", "/relatedEntity/0/id"),
        ),
        (body | {"description": "   "}, ("invalidValue", "/description")),
        (body | {"externalId": "x" * 201}, ("invalidValue", "/externalId")),
        (
            body | {"note": [body["note"][0] | {"text": " "}]},
            ("invalidValue", "/note/0/text"),
        ),
    ]
    for sent, expected in cases:
        refused = await _create(http, flavour, customer, sent)
        assert refused.status_code == 422, sent
        assert expected in _problems(refused), refused.json()
    too_many = await _create(
        http, flavour, customer, body | {"relatedEntity": body["relatedEntity"] * 2}
    )
    assert too_many.status_code == 422
    assert _problems(too_many)[0][1] == "/relatedEntity"
    not_json = await _call(http, flavour, "POST", "/troubleTicket", customer, content=b"{oops")
    assert (not_json.status_code, not_json.json()["code"]) == (400, "invalidBody")
    anonymous = await http.post(f"{BASES[flavour]}/troubleTicket", json=body)
    check_response(flavour, API, "/troubleTicket", "post", 401, anonymous.json())
    assert anonymous.status_code == 401
    listed = await _call(http, flavour, "GET", "/troubleTicket", customer)
    assert (listed.json(), listed.headers["x-total-count"]) == ([], "0")


async def test_lists_filter_as_the_spec_says_and_refuse_bad_queries(
    http: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    ops: Caller,
    flavour: str,
) -> None:
    product = await make_product(session, customer)
    first = (await _create(http, flavour, customer, _body(product.id))).json()
    second = (
        await _create(
            http,
            flavour,
            customer,
            _body(product.id, severity="minor", priority="low", externalId="NOC-2"),
        )
    ).json()
    await _ops_move(database, ops, first["id"], TicketState.IN_PROGRESS)

    async def ids(**params: str) -> list[str]:
        found = await _call(http, flavour, "GET", "/troubleTicket", customer, params=params)
        assert found.status_code == 200
        assert found.headers["x-result-count"] == str(len(found.json()))
        return [t["id"] for t in found.json()]

    assert await ids() == [second["id"], first["id"]]
    assert await ids(status="inProgress") == [first["id"]]
    assert await ids(status="acknowledged", severity="minor") == [second["id"]]
    assert await ids(sellerSeverity="significant", sellerPriority="high") == [first["id"]]
    assert await ids(priority="low", sellerPriority="high") == []
    assert await ids(externalId="NOC-2", ticketType="assistance") == [second["id"]]
    assert await ids(observedImpact="down", relatedEntityId=product.id) == [
        second["id"],
        first["id"],
    ]
    assert await ids(relatedEntityType="Bill") == []
    future = (clock.now() + timedelta(days=1)).isoformat()
    past = (clock.now() - timedelta(days=1)).isoformat()
    assert await ids(**{"creationDate.gt": past, "creationDate.lt": future}) == [
        second["id"],
        first["id"],
    ]
    assert await ids(**{"creationDate.gt": future}) == []
    # A low-priority ticket is expected later than a high-priority one.
    assert await ids(**{"expectedResolutionDate.gt": first["expectedResolutionDate"]}) == [
        second["id"]
    ]
    assert await ids(**{"resolutionDate.lt": future}) == []
    paged = await _call(
        http, flavour, "GET", "/troubleTicket", customer, params={"offset": "1", "limit": "1"}
    )
    assert [t["id"] for t in paged.json()] == [first["id"]]
    assert (paged.headers["x-total-count"], paged.headers["x-result-count"]) == ("2", "1")

    # A ticket opened through another face is the same ticket: it shows here too. (A buyer
    # uses one flavour only; the other flavour's ticket is opened as that face would.)
    elsewhere = await tickets.open_ticket(
        session,
        principal=customer.principal,
        channel=Channel.CANTATA if flavour == "sonata" else Channel.SONATA,
        product_id=product.id,
        summary="Down",
        description="Down since noon.",
    )
    graphql = await tickets.open_ticket(
        session,
        principal=customer.principal,
        channel=Channel.GRAPHQL,
        product_id=product.id,
        summary="Slow",
        description="Slow at night.",
    )
    assert await ids() == [graphql.id, elsewhere.id, second["id"], first["id"]]

    for params in (
        {"status": "in_progress"},
        {"priority": "urgent"},
        {"creationDate.gt": "2026-01-01T00:00:00"},
        {"limit": "0"},
        {"offset": "-1"},
    ):
        refused = await _call(http, flavour, "GET", "/troubleTicket", customer, params=params)
        assert (refused.status_code, refused.json()["code"]) == (400, "invalidQuery"), params


async def test_a_patch_changes_what_the_buyer_said_and_adds_notes(
    http: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    ops: Caller,
    flavour: str,
) -> None:
    product = await make_product(session, customer)
    ticket = (await _create(http, flavour, customer, _body(product.id))).json()
    path, template = f"/troubleTicket/{ticket['id']}", "/troubleTicket/{id}"
    technical = REPORTER | {"name": "Grace", "role": "buyerTechnicalContact"}
    patch = {
        "severity": "extensive",
        "priority": "critical",
        "observedImpact": "intermittent",
        "externalId": "NOC-9",
        "issueStartDate": "2026-11-01T08:00:00Z",
        "relatedContactInformation": [REPORTER, technical],
        # The note already there is kept as it was; the new one is added.
        "note": [
            *ticket["note"],
            {
                "id": "2",
                "author": "Ada",
                "date": "2026-11-01T10:00:00Z",
                "source": "buyer",
                "text": "Light is back on and off.",
            },
        ],
        "attachment": [
            *ticket["attachment"],
            ticket["attachment"][0] | {"attachmentId": "a2", "name": "photo.png"},
        ],
    }
    patched = await _call(http, flavour, "PATCH", path, customer, template=template, json=patch)
    assert patched.status_code == 200
    answer = patched.json()
    assert (answer["severity"], answer["priority"], answer["observedImpact"]) == (
        "extensive",
        "critical",
        "intermittent",
    )
    assert (answer["sellerSeverity"], answer["sellerPriority"]) == ("extensive", "critical")
    assert answer["externalId"] == "NOC-9"
    assert answer["issueStartDate"] == "2026-11-01T08:00:00Z"
    assert answer["relatedContactInformation"] == [REPORTER, technical]
    assert [n["text"] for n in answer["note"]] == [
        "Rebooted the CPE.",
        "Light is back on and off.",
    ]
    assert [a["attachmentId"] for a in answer["attachment"]] == ["a1", "a2"]
    # A critical ticket is expected sooner.
    assert answer["expectedResolutionDate"] < ticket["expectedResolutionDate"]
    assert await _get(http, flavour, customer, ticket["id"]) == answer

    for sent, expected in [
        ({"status": "closed"}, ("unexpectedProperty", "/status")),
        ({"description": "other"}, ("unexpectedProperty", "/description")),
        ({"severity": None}, ("invalidValue", "/severity")),
        ({"priority": "urgent"}, ("invalidValue", "/priority")),
        (
            {"relatedContactInformation": [technical]},
            ("missingProperty", "/relatedContactInformation"),
        ),
        ({"note": [patch["note"][1] | {"id": "3", "text": ""}]}, ("invalidValue", "/note/0/text")),
    ]:
        refused = await _call(http, flavour, "PATCH", path, customer, template=template, json=sent)
        assert refused.status_code == 422, sent
        assert expected in _problems(refused), refused.json()
    not_json = await _call(http, flavour, "PATCH", path, customer, template=template, content=b"[1")
    assert (not_json.status_code, not_json.json()["code"]) == (400, "invalidBody")
    missing = await _call(
        http,
        flavour,
        "PATCH",
        "/troubleTicket/tt_nope",
        customer,
        template=template,
        json={"severity": "minor"},
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "notFound")
    assert await _get(http, flavour, customer, ticket["id"]) == answer

    await _ops_move(database, ops, ticket["id"], TicketState.CANCELLED)
    finished = await _call(
        http, flavour, "PATCH", path, customer, template=template, json={"severity": "minor"}
    )
    assert (finished.status_code, finished.json()["code"]) == (409, "conflict")


async def test_the_buyer_cancels_closes_and_reopens(
    http: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    ops: Caller,
    flavour: str,
) -> None:
    product = await make_product(session, customer)
    fresh = (await _create(http, flavour, customer, _body(product.id))).json()
    cancelled = await _action(http, flavour, customer, fresh["id"], "cancel")
    assert (cancelled.status_code, cancelled.content) == (204, b"")
    assert (await _get(http, flavour, customer, fresh["id"]))["status"] == "cancelled"
    again = await _action(http, flavour, customer, fresh["id"], "cancel")
    assert (again.status_code, again.json()[0]["code"]) == (422, "otherIssue")

    # Once work has started, the seller assesses a cancellation; asking twice changes nothing.
    worked = (await _create(http, flavour, customer, _body(product.id))).json()
    await _ops_move(database, ops, worked["id"], TicketState.IN_PROGRESS)
    for _ in range(2):
        assert (await _action(http, flavour, customer, worked["id"], "cancel")).status_code == 204
    assert (await _get(http, flavour, customer, worked["id"]))["status"] == "assessingCancellation"

    ticket = (await _create(http, flavour, customer, _body(product.id))).json()
    early = await _action(http, flavour, customer, ticket["id"], "close")
    assert (early.status_code, early.json()[0]["code"]) == (422, "otherIssue")
    await _ops_move(database, ops, ticket["id"], TicketState.IN_PROGRESS)
    await _ops_move(database, ops, ticket["id"], TicketState.RESOLVED)
    resolved = await _get(http, flavour, customer, ticket["id"])
    assert resolved["status"] == "resolved"
    assert resolved["resolutionDate"] >= resolved["creationDate"]
    for body in ({}, {"reason": 7}):
        refused = await _action(http, flavour, customer, ticket["id"], "reopen", json=body)
        assert refused.status_code == 422
        assert _problems(refused)[0][1] == "/reason"
    no_body = await _call(
        http,
        flavour,
        "POST",
        f"/troubleTicket/{ticket['id']}/reopen",
        customer,
        template="/troubleTicket/{id}/reopen",
        content=b"",
    )
    assert (no_body.status_code, no_body.json()["code"]) == (400, "invalidBody")
    reopened = await _action(
        http, flavour, customer, ticket["id"], "reopen", json={"reason": "Still dropping"}
    )
    assert reopened.status_code == 204
    after = await _get(http, flavour, customer, ticket["id"])
    assert after["status"] == "reopened"
    assert "resolutionDate" not in after
    assert after["statusChange"][-1]["changeReason"] == "Still dropping"
    assert [c["status"] for c in after["statusChange"]] == [
        "acknowledged",
        "inProgress",
        "resolved",
        "reopened",
    ]
    await _ops_move(database, ops, ticket["id"], TicketState.RESOLVED)
    closed = await _action(http, flavour, customer, ticket["id"], "close")
    assert closed.status_code == 204
    assert (await _get(http, flavour, customer, ticket["id"]))["status"] == "closed"
    for action in ("cancel", "close"):
        missing = await _action(http, flavour, customer, "tt_nope", action)
        assert (missing.status_code, missing.json()["code"]) == (404, "notFound")


async def test_another_partys_tickets_do_not_exist(
    http: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    theirs_product = await make_product(session, other_customer)
    theirs = (await _create(http, flavour, other_customer, _body(theirs_product.id))).json()
    graphql = await tickets.open_ticket(
        session,
        principal=other_customer.principal,
        channel=Channel.GRAPHQL,
        summary="Bill",
        description="The totals puzzle me.",
    )
    for ticket_id in (theirs["id"], graphql.id, "tt_nope"):
        assert (
            await _call(
                http,
                flavour,
                "GET",
                f"/troubleTicket/{ticket_id}",
                customer,
                template="/troubleTicket/{id}",
            )
        ).status_code == 404
        patched = await _call(
            http,
            flavour,
            "PATCH",
            f"/troubleTicket/{ticket_id}",
            customer,
            template="/troubleTicket/{id}",
            json={"severity": "minor"},
        )
        assert (patched.status_code, patched.json()["code"]) == (404, "notFound")
        for action in ("cancel", "close"):
            assert (await _action(http, flavour, customer, ticket_id, action)).status_code == 404
        reopened = await _action(
            http, flavour, customer, ticket_id, "reopen", json={"reason": "again"}
        )
        assert reopened.status_code == 404
    listed = await _call(http, flavour, "GET", "/troubleTicket", customer)
    assert listed.json() == []
    assert await _get(http, flavour, other_customer, theirs["id"]) == theirs


async def test_an_agent_names_the_buyer_it_acts_for(
    http: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    agent = await make_caller(
        session,
        AUDIENCE_BY_FLAVOUR[flavour],
        name="Agent",
        acting_for=[customer.party_id, other_customer.party_id],
    )
    mine = await make_product(session, customer)
    theirs = await make_product(session, other_customer)
    refused = await _create(http, flavour, agent, _body(mine.id))
    assert (refused.status_code, refused.json()["code"]) == (400, "missingQueryParameter")
    crossed = await _create(http, flavour, agent, _body(theirs.id), buyerId=customer.party_id)
    assert crossed.status_code == 422
    assert _problems(crossed)[0][1] == "/relatedEntity/0/id"
    created = await _create(http, flavour, agent, _body(mine.id), buyerId=customer.party_id)
    assert created.status_code == 201
    await _create(http, flavour, agent, _body(theirs.id), buyerId=other_customer.party_id)
    listed = await _call(
        http, flavour, "GET", "/troubleTicket", agent, params={"buyerId": customer.party_id}
    )
    assert [t["id"] for t in listed.json()] == [created.json()["id"]]
    wrong_buyer = await _call(
        http,
        flavour,
        "GET",
        f"/troubleTicket/{created.json()['id']}",
        agent,
        template="/troubleTicket/{id}",
        params={"buyerId": other_customer.party_id},
    )
    assert wrong_buyer.status_code == 404
    # The buyer sees the ticket its agent opened for it.
    assert (await _get(http, flavour, customer, created.json()["id"]))["id"] == created.json()["id"]


async def test_incidents_follow_the_work_on_tickets(
    http: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    other_customer: Caller,
    ops: Caller,
    flavour: str,
) -> None:
    product = await make_product(session, customer)
    ticket = (await _create(http, flavour, customer, _body(product.id))).json()
    await _ops_move(database, ops, ticket["id"], TicketState.IN_PROGRESS)
    async with database.session() as own:
        planned = await tickets.open_incident(
            own,
            principal=ops.principal,
            product_id=product.id,
            incident_type=IncidentType.MAINTENANCE,
            description="Fibre works on the Chicago ring",
            impact=tickets.Impact.INTERMITTENT,
        )
    theirs_product = await make_product(session, other_customer)
    async with database.session() as own:
        theirs = await tickets.open_incident(
            own,
            principal=ops.principal,
            product_id=theirs_product.id,
            incident_type=IncidentType.REPAIR,
            description="Their cut",
        )

    async def ids(**params: str) -> list[str]:
        found = await _call(http, flavour, "GET", "/incident", customer, params=params)
        assert found.status_code == 200
        assert found.headers["x-total-count"] == str(len(found.json()))
        return [i["id"] for i in found.json()]

    listed = await _call(http, flavour, "GET", "/incident", customer)
    worked, maintenance = listed.json()[1], listed.json()[0]
    assert maintenance["id"] == planned.id
    assert (worked["status"], worked["incidentType"], worked["impact"]) == (
        "inProgress",
        "repair",
        "down",
    )
    assert (worked["severity"], worked["priority"]) == ("significant", "high")
    assert worked["relatedEntity"][0]["id"] == product.id
    assert await ids(status="created") == [planned.id]
    assert await ids(incidentType="repair", impact="down") == [worked["id"]]
    assert await ids(priority="medium", severity="moderate") == [planned.id]
    assert await ids(relatedEntityId=product.id) == [planned.id, worked["id"]]
    assert await ids(relatedEntityType="Service") == []
    assert await ids(**{"closedDate.lt": (clock.now() + timedelta(days=1)).isoformat()}) == []
    for params in ({"status": "in_progress"}, {"incidentType": "outage"}, {"limit": "0"}):
        refused = await _call(http, flavour, "GET", "/incident", customer, params=params)
        assert (refused.status_code, refused.json()["code"]) == (400, "invalidQuery")

    seen = await _get(http, flavour, customer, ticket["id"])
    [related] = seen["relatedIssue"]
    assert (related["@referredType"], related["id"]) == ("Incident", worked["id"])
    incident = await _call(
        http, flavour, "GET", f"/incident/{worked['id']}", customer, template="/incident/{id}"
    )
    assert incident.status_code == 200
    detail = incident.json()
    assert detail["relatedIssue"][0]["id"] == ticket["id"]
    assert detail["relatedContactInformation"][0]["role"] == "incidentContact"
    assert [c["status"] for c in detail["statusChange"]] == ["inProgress"]

    # Resolving the ticket closes its incident.
    await _ops_move(database, ops, ticket["id"], TicketState.RESOLVED)
    closed = await _call(
        http, flavour, "GET", f"/incident/{worked['id']}", customer, template="/incident/{id}"
    )
    assert closed.json()["status"] == "closed"
    assert "closedDate" in closed.json()
    assert await ids(status="closed") == [worked["id"]]

    for incident_id in (theirs.id, "inc_nope"):
        missing = await _call(
            http, flavour, "GET", f"/incident/{incident_id}", customer, template="/incident/{id}"
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "notFound")


def _event(**fields: Any) -> Event:
    defaults: dict[str, Any] = {
        "party_id": "pty_buyer",
        "entity": "ticket",
        "entity_id": "tt_1",
        "kind": EventKind.STATE_CHANGED,
        "state": "in_progress",
        "channel": "sonata",
        "data": {},
    }
    return Event(**(defaults | fields))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ("troubleTicketStatusChangeEvent", {"id": "tt_1"})),
        ({"state": "resolved"}, ("troubleTicketResolvedEvent", {"id": "tt_1"})),
        ({"state": "pending"}, ("troubleTicketInformationRequiredEvent", {"id": "tt_1"})),
        (
            {"data": {"placed_by_party_id": "pty_agent"}},
            ("troubleTicketStatusChangeEvent", {"id": "tt_1", "buyerId": "pty_buyer"}),
        ),
        (
            {"kind": EventKind.ATTRIBUTE_CHANGED, "data": {"by_seller": True}},
            ("troubleTicketAttributeValueChangeEvent", {"id": "tt_1"}),
        ),
        ({"kind": EventKind.ATTRIBUTE_CHANGED, "data": {"by_seller": False}}, None),
        ({"kind": EventKind.CREATED, "state": "acknowledged"}, None),
        # One ticket whatever face it came through: its events are told on every flavour.
        ({"channel": "cantata"}, ("troubleTicketStatusChangeEvent", {"id": "tt_1"})),
        ({"channel": "graphql"}, ("troubleTicketStatusChangeEvent", {"id": "tt_1"})),
        (
            {"entity": "incident", "entity_id": "inc_1", "kind": EventKind.CREATED},
            ("incidentCreateEvent", {"id": "inc_1"}),
        ),
        (
            {"entity": "incident", "entity_id": "inc_1", "channel": None},
            ("incidentStatusChangeEvent", {"id": "inc_1"}),
        ),
        (
            {"entity": "incident", "entity_id": "inc_1", "kind": EventKind.ATTRIBUTE_CHANGED},
            ("incidentAttributeValueChangeEvent", {"id": "inc_1"}),
        ),
        ({"entity": "order"}, None),
    ],
)
def test_core_events_map_to_the_specs_notifications(
    fields: dict[str, Any], expected: tuple[str, dict[str, Any]] | None
) -> None:
    assert notification(SONATA, _event(**fields)) == expected


def test_each_flavour_tells_of_every_ticket_and_incident() -> None:
    for event in (_event(channel="cantata"), _event()):
        assert notification(CANTATA, event) == ("troubleTicketStatusChangeEvent", {"id": "tt_1"})
    assert notification(CANTATA, _event(entity="incident", entity_id="inc_1")) == (
        "incidentStatusChangeEvent",
        {"id": "inc_1"},
    )


async def test_a_listener_hears_of_its_tickets_through_the_hub(
    app: FastAPI,
    http: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    ops: Caller,
    flavour: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[str, Any]] = []

    async def post(self: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
        sent.append((url, json.loads(kwargs["content"])))
        return httpx.Response(204, request=httpx.Request("POST", url))

    monkeypatch.setattr(httpx.AsyncClient, "post", post)
    product = await make_product(session, customer)
    hub = await _call(
        http,
        flavour,
        "POST",
        "/hub",
        customer,
        json={
            "callback": "http://buyer.example/hooks",
            "query": "eventType=troubleTicketResolvedEvent,incidentCreateEvent",
        },
    )
    assert hub.status_code == 201
    fetched = await _call(
        http, flavour, "GET", f"/hub/{hub.json()['id']}", customer, template="/hub/{id}"
    )
    # Everything but the signing secret, which only the registration shows.
    assert hub.json()["secret"].startswith("whsec_")
    assert fetched.json() == {k: v for k, v in hub.json().items() if k != "secret"}
    ticket = (await _create(http, flavour, customer, _body(product.id))).json()
    await _ops_move(database, ops, ticket["id"], TicketState.IN_PROGRESS)
    await _ops_move(database, ops, ticket["id"], TicketState.RESOLVED)
    await app.state.dispatcher.run_once()
    base = f"http://buyer.example/hooks/mefApi/{flavour}/troubleTicketNotification/v4/listener"
    assert [url for url, _ in sent] == [
        f"{base}/incidentCreateEvent",
        f"{base}/troubleTicketResolvedEvent",
    ]
    resolved = sent[1][1]
    assert resolved["eventType"] == "troubleTicketResolvedEvent"
    assert resolved["event"]["id"] == ticket["id"]
    gone = await _call(
        http, flavour, "DELETE", f"/hub/{hub.json()['id']}", customer, template="/hub/{id}"
    )
    assert gone.status_code == 204
    missing = await _call(
        http, flavour, "GET", f"/hub/{hub.json()['id']}", customer, template="/hub/{id}"
    )
    assert missing.status_code == 404
