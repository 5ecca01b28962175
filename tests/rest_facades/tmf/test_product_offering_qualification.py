"""TMF679 Product Offering Qualification v4 through the ASGI app, checked against the official
file."""

from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import qualification, quoting
from app.core.db import Database
from app.core.events import Channel, EntityKind, Event, EventKind
from app.core.quoting import QuoteKind
from rest_facades.tmf.product_offering_qualification import describe
from tests.factories import CHICAGO, LAS_VEGAS, NEW_YORK, Caller, line_spec, location_id
from tests.rest_facades.tmf.conformance import check_response
from tests.rest_facades.tmf.kit import Kit
from tests.statements import copies, counting

SPEC = "TMF679-ProductOfferingQualification-v4"
BASE = "/tmf-api/productOfferingQualification/v4"
PATH = "/productOfferingQualification"


def _item(item_id: str, offering: str, places: list[dict[str, Any]], mbps: int) -> dict[str, Any]:
    return {
        "id": item_id,
        "action": "add",
        "product": {
            "productOffering": {"id": offering},
            "place": places,
            "productCharacteristic": [{"name": "bandwidth", "value": mbps}],
        },
    }


async def _get(
    client: httpx.AsyncClient, caller: Caller, path: str, template: str, **params: str
) -> Any:
    response = await client.get(f"{BASE}{path}", headers=caller.headers, params=params)
    assert response.status_code == 200, response.text
    check_response(SPEC, template, "get", 200, response.json())
    return response


async def _create(client: httpx.AsyncClient, caller: Caller, body: dict[str, Any]) -> Any:
    response = await client.post(f"{BASE}{PATH}", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    check_response(SPEC, PATH, "post", 201, response.json())
    assert response.headers["location"] == response.json()["href"]
    return response.json()


@pytest.mark.usefixtures("partner_covers_off_net")
async def test_green_and_red_items(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    created = await _create(
        client,
        customer,
        {
            "description": "two sites",
            "productOfferingQualificationItem": [
                _item(
                    "a",
                    "ethernet-line",
                    [{"id": chicago, "role": "aEnd"}, {"id": new_york, "role": "zEnd"}],
                    1000,
                ),
                _item("b", "internet-access", [{"name": LAS_VEGAS, "role": "aEnd"}], 20000),
            ],
        },
    )
    assert created["state"] == "done"
    assert created["description"] == "two sites"
    green, red = created["productOfferingQualificationItem"]
    assert (green["id"], green["qualificationItemResult"]) == ("a", "qualified")
    assert "expectedActivationDate" in green
    assert (red["id"], red["qualificationItemResult"]) == ("b", "alternate")
    assert red["eligibilityUnavailabilityReason"][0]["label"]
    [proposal] = red["alternateProductOfferingProposal"]
    speeds = [
        c["value"]
        for c in proposal["alternateProduct"]["productCharacteristic"]
        if c["name"] == "bandwidth"
    ]
    assert speeds == [10000]
    assert created["qualificationResult"] == "yellow"

    _core, items = await qualification.get_qualification(
        session, principal=customer.principal, qualification_id=created["id"]
    )
    assert [(i.qualified, i.bandwidth_mbps) for i in items] == [(True, 1000), (False, 20000)]

    missing = await client.post(
        f"{BASE}{PATH}", json={"description": "nothing"}, headers=customer.headers
    )
    assert missing.status_code == 400
    check_response(SPEC, PATH, "post", 400, missing.json())
    # An item without a speed or places asks for the offering's lowest speed at the
    # qualification's place.
    bare = {"id": "c", "productOffering": {"id": "internet-access"}}
    lowest = await _create(
        client,
        customer,
        {"place": [{"id": chicago, "role": "aEnd"}], "productOfferingQualificationItem": [bare]},
    )
    [item] = lowest["productOfferingQualificationItem"]
    assert item["product"]["place"][0]["id"] == chicago
    assert {"name": "bandwidth", "valueType": "integer", "value": 10} in item["product"][
        "productCharacteristic"
    ]
    # Without a place, or with an unknown offering, the qualification is recorded and
    # terminated at once with the reason; nothing is priced.
    for wrong, reason in (
        (bare, "lacks product.place"),
        ({**bare, "productOffering": {"id": "no-such-offering"}}, "no-such-offering"),
    ):
        terminated = await _create(client, customer, {"productOfferingQualificationItem": [wrong]})
        assert terminated["state"] == "terminatedWithError"
        [item] = terminated["productOfferingQualificationItem"]
        assert item["state"] == "terminatedWithError"
        assert reason in item["terminationError"][0]["value"]
        assert reason in terminated["note"][-1]["text"]
        assert "qualificationResult" not in terminated
    # A bad value is still refused.
    refused = await client.post(
        f"{BASE}{PATH}",
        json={"productOfferingQualificationItem": [{**bare, "product": {"place": "x"}}]},
        headers=customer.headers,
    )
    assert refused.status_code == 400, refused.text
    check_response(SPEC, PATH, "post", 400, refused.json())


async def test_list_filter_fields_tenancy_and_refused_changes(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
) -> None:
    chicago = await location_id(session, CHICAGO)
    mine = await _create(
        client,
        customer,
        {
            "productOfferingQualificationItem": [
                _item("1", "internet-access", [{"id": chicago, "role": "aEnd"}], 500)
            ]
        },
    )
    through_core, _ = await qualification.qualify(
        session,
        principal=customer.principal,
        specs=[await line_spec(session, mbps=100)],
        channel=Channel.GRAPHQL,
    )
    theirs = await _create(
        client,
        other_customer,
        {
            "productOfferingQualificationItem": [
                _item("1", "internet-access", [{"id": chicago, "role": "aEnd"}], 500)
            ]
        },
    )
    listed = await _get(client, customer, PATH, PATH)
    assert listed.headers["x-total-count"] == "2"
    assert {q["id"] for q in listed.json()} == {mine["id"], through_core.id}
    fast = await _get(
        client,
        customer,
        PATH,
        PATH,
        **{
            "productOfferingQualificationItem.productOffering.id": "internet-access",
            "productOfferingQualificationDate.gte": mine["productOfferingQualificationDate"],
        },
    )
    assert [q["id"] for q in fast.json()] == [mine["id"]]
    trimmed = await _get(client, customer, PATH, PATH, fields="state", limit="1")
    assert trimmed.headers["x-result-count"] == "1"
    assert set(trimmed.json()[0]) == {"id", "href", "@type", "state"}
    one = await _get(
        client, customer, f"{PATH}/{through_core.id}", f"{PATH}/{{id}}", fields="state"
    )
    assert one.json()["state"] == "done"

    for method in ("get", "patch", "delete"):
        response = await client.request(
            method,
            f"{BASE}{PATH}/{theirs['id']}",
            headers=customer.headers,
            json={"description": "x"} if method == "patch" else None,
        )
        assert response.status_code == 404, (method, response.text)
        check_response(SPEC, f"{PATH}/{{id}}", method, 404, response.json())
    # The answer is the seller's: a patch may repeat it, not change it.
    answer = await client.patch(
        f"{BASE}{PATH}/{mine['id']}", headers=customer.headers, json={"state": "inProgress"}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "NOT_PATCHABLE"
    check_response(SPEC, f"{PATH}/{{id}}", "patch", 400, answer.json())


async def test_hub_and_event_descriptions(client: httpx.AsyncClient, customer: Caller) -> None:
    registered = await client.post(
        f"{BASE}/hub", json={"callback": "http://listener.test/poq"}, headers=customer.headers
    )
    assert registered.status_code == 201
    check_response(SPEC, "/hub", "post", 201, registered.json())
    removed = await client.delete(f"{BASE}/hub/{registered.json()['id']}", headers=customer.headers)
    assert removed.status_code == 204
    event = Event(
        party_id=customer.party_id,
        entity=EntityKind.QUALIFICATION,
        entity_id="poq_1",
        kind=EventKind.CREATED,
        state="done_ready",
    )
    assert describe(event) == (
        "productOfferingQualification",
        {"id": "poq_1", "@type": "ProductOfferingQualification", "state": "done"},
    )
    other = Event(
        party_id=customer.party_id, entity=EntityKind.QUOTE, entity_id="q", kind=EventKind.CREATED
    )
    assert describe(other) is None


async def test_the_api_answers_as_a_conformance_kit_checks_it(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    kit = Kit(
        client,
        customer,
        SPEC,
        BASE,
        "productOfferingQualification",
        mandatory=("id", "href", "productOfferingQualificationItem", "relatedParty", "state"),
    )
    chicago = await location_id(session, CHICAGO)
    body = {
        "place": [{"id": chicago, "role": "aEnd"}],
        "productOfferingQualificationItem": [
            {"id": "1", "productOffering": {"id": "internet-access"}}
        ],
    }
    created = await kit.create(body)
    await kit.filters_and_fields(created)
    patched = await kit.patch(
        created,
        {
            "description": "head office",
            "category": {"id": "cat-1", "name": "business"},
            "channel": {"id": "ch-1", "name": "portal"},
            "note": [{"id": "n1", "text": "urgent"}],
            "relatedParty": [{"id": "ind-1", "role": "contact", "@referredType": "Individual"}],
            "place": [{"id": chicago, "role": "aEnd", "name": "head office"}],
            "provideAlternative": True,
            "provideOnlyAvailable": False,
            "provideUnavailabilityReason": True,
            "requestedPOQCompletionDate": "2031-01-01T00:00:00Z",
        },
    )
    answer = (
        "effectiveQualificationDate",
        "expirationDate",
        "instantSyncQualification",
        "qualificationResult",
        "state",
        "productOfferingQualificationItem",
    )
    await kit.patch(patched, {k: patched[k] for k in answer})
    await kit.delete(patched)
    # One that a quote was priced against stays.
    kept = await kit.create(body)
    await quoting.request_quote(
        session,
        principal=customer.principal,
        specs=[await line_spec(session)],
        kind=QuoteKind.FIRM,
        channel=Channel.TMF,
        qualification_id=kept["id"],
    )
    in_use = await kit.call("DELETE", f"/productOfferingQualification/{kept['id']}", 409)
    assert in_use.json()["code"] == "QUALIFICATION_IN_USE"
    await kit.unknown_is_404()


async def test_a_list_costs_the_same_statements_for_ten_and_a_thousand_qualifications(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    made, _items = await qualification.qualify(
        session,
        principal=customer.principal,
        specs=[await line_spec(session)],
        channel=Channel.TMF,
    )

    async def statements() -> tuple[int, str]:
        with counting(database) as seen:
            listed = await _get(
                client,
                customer,
                PATH,
                PATH,
                state="done",
                **{"productOfferingQualificationDate.gte": "2020-01-01"},
                limit="5",
            )
        assert listed.headers["x-result-count"] == "5"
        assert any("LIMIT" in statement.upper() for statement in seen)
        return len(seen), listed.headers["x-total-count"]

    await copies(session, made, 9, lambda n: {"id": f"poq_few{n}"})
    few, ten = await statements()
    await copies(session, made, 990, lambda n: {"id": f"poq_many{n}"})
    many, thousand = await statements()
    assert (ten, thousand) == ("10", "1000")
    assert many == few


async def test_a_minimal_conformance_body_is_recorded_and_terminated_with_the_reason(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    kit = Kit(
        client,
        customer,
        SPEC,
        BASE,
        "productOfferingQualification",
        mandatory=("id", "href", "productOfferingQualificationItem", "relatedParty", "state"),
    )
    created = await kit.create(
        {
            "productOfferingQualificationItem": [{"id": "1"}],
            "relatedParty": [{"id": "456-dd-df45", "@referredType": "Individual"}],
        }
    )
    assert created["state"] == "terminatedWithError"
    [item] = created["productOfferingQualificationItem"]
    assert item["id"] == "1"
    assert item["state"] == "terminatedWithError"
    reason = "productOfferingQualificationItem[0] lacks product.productOffering.id"
    assert item["terminationError"] == [{"@type": "TerminationError", "value": reason}]
    assert created["note"] == [
        {
            "id": "seller",
            "@type": "Note",
            "author": "seller",
            "date": created["effectiveQualificationDate"],
            "text": reason,
        }
    ]
    assert {"id": "456-dd-df45", "@referredType": "Individual"} in created["relatedParty"]
    core, items = await qualification.get_qualification(
        session, principal=customer.principal, qualification_id=created["id"]
    )
    assert (core.state_reason, items) == (reason, [])
    await kit.filters_and_fields(created)
    await kit.patch(created, {"description": "retry with an offering", "state": created["state"]})
    await kit.delete(created)
