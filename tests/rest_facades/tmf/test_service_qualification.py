"""TMF645 Service Qualification v4 through the ASGI app, checked against the official file."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import qualification
from app.core.db import Database
from app.core.events import Channel
from tests.factories import CHICAGO, LAS_VEGAS, NEW_YORK, Caller, line_spec, location_id
from tests.rest_facades.tmf.conformance import check_response
from tests.rest_facades.tmf.kit import Kit
from tests.statements import copies, counting

SPEC = "TMF645-ServiceQualification-v4"
BASE = "/tmf-api/serviceQualificationManagement/v4"
CHECK = "/checkServiceQualification"
QUERY = "/queryServiceQualification"


async def _create(client: httpx.AsyncClient, caller: Caller, path: str, body: Any) -> Any:
    response = await client.post(f"{BASE}{path}", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    check_response(SPEC, path, "post", 201, response.json())
    assert response.headers["location"] == response.json()["href"]
    return response.json()


async def _get(
    client: httpx.AsyncClient, caller: Caller, path: str, template: str, **params: str
) -> Any:
    response = await client.get(f"{BASE}{path}", headers=caller.headers, params=params)
    assert response.status_code == 200, response.text
    check_response(SPEC, template, "get", 200, response.json())
    return response


def _service(spec: str, places: Any, mbps: int | None = None) -> dict[str, Any]:
    service: dict[str, Any] = {"serviceSpecification": {"id": spec}, "place": places}
    if mbps is not None:
        service["serviceCharacteristic"] = [{"name": "bandwidth", "value": mbps}]
    return service


@pytest.mark.usefixtures("partner_covers_off_net")
async def test_check_service_qualification(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
) -> None:
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    check = await _create(
        client,
        customer,
        CHECK,
        {
            "externalId": "chk-1",
            "serviceQualificationItem": [
                {
                    "id": "1",
                    "service": _service(
                        "ethernet-line",
                        [{"id": chicago, "role": "aEnd"}, {"id": new_york, "role": "zEnd"}],
                    ),
                },
                {
                    "id": "2",
                    "service": _service(
                        "internet-access", [{"name": LAS_VEGAS, "role": "aEnd"}], 20000
                    ),
                },
            ],
        },
    )
    line, vegas = check["serviceQualificationItem"]
    assert line["qualificationResult"] == "qualified"
    assert line["service"]["serviceCharacteristic"][0] == {
        "name": "bandwidth",
        "valueType": "integer",
        "value": 10,
    }
    assert vegas["qualificationResult"] == "alternate"
    assert (
        vegas["alternateServiceProposal"][0]["alternateService"]["serviceCharacteristic"][0][
            "value"
        ]
        == 10000
    )
    assert check["qualificationResult"] == "alternate"
    _core, items = await qualification.get_qualification(
        session, principal=customer.principal, qualification_id=check["id"]
    )
    assert [i.offering_id for i in items] == ["ethernet-line", "internet-access"]

    # A product offering qualification made elsewhere is not a service check.
    elsewhere, _ = await qualification.qualify(
        session,
        principal=customer.principal,
        specs=[await line_spec(session)],
        channel=Channel.GRAPHQL,
    )
    theirs = await _create(
        client,
        other_customer,
        CHECK,
        {
            "serviceQualificationItem": [
                {"service": _service("internet-access", [{"id": chicago, "role": "aEnd"}])}
            ]
        },
    )
    listed = await _get(client, customer, CHECK, CHECK)
    assert [c["id"] for c in listed.json()] == [check["id"]]
    filtered = await _get(
        client,
        customer,
        CHECK,
        CHECK,
        **{"serviceQualificationItem.qualificationResult": "alternate", "fields": "externalId"},
    )
    assert filtered.json() == [
        {"id": check["id"], "href": check["href"], "@type": check["@type"], "externalId": "chk-1"}
    ]
    later = await _get(
        client, customer, CHECK, CHECK, **{"checkServiceQualificationDate.gt": "2999-01-01"}
    )
    assert later.json() == []
    fetched = await _get(client, customer, f"{CHECK}/{check['id']}", f"{CHECK}/{{id}}")
    assert fetched.json() == check
    for unknown in (elsewhere.id, theirs["id"], "poq_missing"):
        response = await client.get(f"{BASE}{CHECK}/{unknown}", headers=customer.headers)
        assert response.status_code == 404
        check_response(SPEC, f"{CHECK}/{{id}}", "get", 404, response.json())
    # The buyer's words change; the answer is the seller's.
    described = await client.patch(
        f"{BASE}{CHECK}/{check['id']}", json={"description": "x"}, headers=customer.headers
    )
    assert described.json()["description"] == "x"
    refused = await client.patch(
        f"{BASE}{CHECK}/{check['id']}",
        json={"qualificationResult": "qualified"},
        headers=customer.headers,
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "NOT_PATCHABLE"
    check_response(SPEC, f"{CHECK}/{{id}}", "patch", 400, refused.json())
    bad = await client.post(
        f"{BASE}{CHECK}",
        json={"serviceQualificationItem": [{"service": _service("teleport", "here")}]},
        headers=customer.headers,
    )
    assert bad.status_code == 400
    check_response(SPEC, CHECK, "post", 400, bad.json())


@pytest.mark.usefixtures("partner_covers_off_net")
async def test_query_service_qualification(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    query = await _create(
        client,
        customer,
        QUERY,
        {"searchCriteria": {"service": {"place": [{"name": LAS_VEGAS, "role": "aEnd"}]}}},
    )
    found = {
        item["service"]["serviceSpecification"]["id"]: {
            c["name"]: c["value"] for c in item["service"]["serviceCharacteristic"]
        }
        for item in query["serviceQualificationItem"]
    }
    assert set(found) == {"internet-access", "ethernet-port"}
    assert {f["confidence"] for f in found.values()} == {"yellow"}

    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    lines = await _create(
        client,
        customer,
        QUERY,
        {
            "searchCriteria": {
                "service": {
                    "serviceSpecification": {"id": "ethernet-line"},
                    "place": [{"id": chicago, "role": "aEnd"}, {"id": new_york, "role": "zEnd"}],
                }
            }
        },
    )
    [line] = lines["serviceQualificationItem"]
    assert line["service"]["serviceCharacteristic"][-1]["value"] == "green"

    listed = await _get(client, customer, QUERY, QUERY, limit="1")
    assert listed.headers["x-total-count"] == "2"
    assert listed.headers["x-result-count"] == "1"
    by_spec = await _get(
        client,
        customer,
        QUERY,
        QUERY,
        **{"searchCriteria.service.serviceSpecification.id": "ethernet-line"},
    )
    assert [q["id"] for q in by_spec.json()] == [lines["id"]]
    fetched = await _get(client, customer, f"{QUERY}/{query['id']}", f"{QUERY}/{{id}}")
    assert fetched.json() == query
    for method in ("get", "patch", "delete"):
        hidden = await client.request(
            method,
            f"{BASE}{QUERY}/{query['id']}",
            headers=other_customer.headers,
            json={"description": "theirs now"} if method == "patch" else None,
        )
        assert hidden.status_code == 404
        check_response(SPEC, f"{QUERY}/{{id}}", method, 404, hidden.json())
    kept = await _get(client, customer, f"{QUERY}/{query['id']}", f"{QUERY}/{{id}}")
    assert "description" not in kept.json()
    not_a_check = await client.get(f"{BASE}{CHECK}/{query['id']}", headers=customer.headers)
    assert not_a_check.status_code == 404
    missing = await client.post(
        f"{BASE}{QUERY}", json={"searchCriteria": "anywhere"}, headers=customer.headers
    )
    assert missing.status_code == 400
    check_response(SPEC, QUERY, "post", 400, missing.json())


async def test_the_api_answers_as_a_conformance_kit_checks_it(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    chicago = await location_id(session, CHICAGO)
    place = [{"id": chicago, "role": "aEnd"}]
    answers: dict[str, dict[str, Any]] = {
        "checkServiceQualification": {
            "serviceQualificationItem": [{"id": "1", "service": _service("internet-access", place)}]
        },
        "queryServiceQualification": {"searchCriteria": {"service": {"place": place}}},
    }
    for name, body in answers.items():
        kit = Kit(
            client,
            customer,
            SPEC,
            BASE,
            name,
            mandatory=("id", "href", "state", "serviceQualificationItem"),
        )
        created = await kit.create(body)
        await kit.filters_and_fields(created)
        buyers: dict[str, Any] = {
            "description": "head office",
            "externalId": "sq-1",
            "expectedQualificationDate": "2031-01-01T00:00:00Z",
            "relatedParty": [{"id": "ind-1", "role": "contact", "@referredType": "Individual"}],
        }
        if name == "checkServiceQualification":
            buyers |= {"provideAlternative": True, "provideUnavailabilityReason": False}
        patched = await kit.patch(created, buyers)
        seller = ("state", "serviceQualificationItem", "instantSyncQualification", "expirationDate")
        await kit.patch(patched, {k: patched[k] for k in seller})
        await kit.delete(patched)
        await kit.unknown_is_404()


def _ids(prefix: str) -> Callable[[int], dict[str, Any]]:
    return lambda n: {"id": f"{prefix}{n}"}


async def test_lists_cost_the_same_statements_for_ten_and_a_thousand_qualifications(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    chicago = await location_id(session, CHICAGO)
    place = [{"id": chicago, "role": "aEnd"}]
    bodies: dict[str, dict[str, Any]] = {
        CHECK: {"serviceQualificationItem": [{"service": _service("internet-access", place)}]},
        QUERY: {"searchCriteria": {"service": {"place": place}}},
    }
    for path, body in bodies.items():
        made = await _create(client, customer, path, body)
        row = await session.get(qualification.Qualification, made["id"])
        assert row is not None

        async def statements(path: str = path) -> tuple[int, str]:
            with counting(database) as seen:
                listed = await _get(client, customer, path, path, state="done", limit="5")
            assert listed.headers["x-result-count"] == "5"
            assert any("LIMIT" in statement.upper() for statement in seen)
            return len(seen), listed.headers["x-total-count"]

        await copies(session, row, 9, _ids(f"sq{path[1]}_few"))
        few, ten = await statements()
        await copies(session, row, 990, _ids(f"sq{path[1]}_many"))
        many, thousand = await statements()
        assert (ten, thousand) == ("10", "1000")
        assert many == few


async def test_minimal_conformance_bodies_are_recorded_and_terminated_with_the_reason(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    bodies: dict[str, dict[str, Any]] = {
        "checkServiceQualification": {"serviceQualificationItem": [{"id": "1"}]},
        "queryServiceQualification": {"searchCriteria": {"id": "1"}},
    }
    for name, body in bodies.items():
        kit = Kit(
            client,
            customer,
            SPEC,
            BASE,
            name,
            mandatory=("id", "href", "state", "serviceQualificationItem"),
        )
        created = await kit.create(body)
        assert created["state"] == "terminatedWithError"
        if name == "checkServiceQualification":
            [item] = created["serviceQualificationItem"]
            assert item["state"] == "terminatedWithError"
            reason = item["terminationError"][0]["value"]
            assert reason == "serviceQualificationItem[0] lacks product.productOffering.id"
        else:
            assert created["serviceQualificationItem"] == []
            assert created["searchCriteria"] == {"id": "1"}
            reason = created["terminationError"][0]["value"]
            assert reason == "searchCriteria lacks service.place: one or two places"
        core, items = await qualification.get_qualification(
            session, principal=customer.principal, qualification_id=created["id"]
        )
        assert (core.state_reason, items) == (reason, [])
        # Cantata shows it as a terminated qualification, with the reason.
        mef = await client.get(
            "/mefApi/cantata/productOfferingQualification/v1/productOfferingQualification/"
            + created["id"],
            headers=customer.headers,
        )
        assert mef.status_code == 200, mef.text
        assert mef.json()["state"] == "terminatedWithError"
        [asked] = mef.json()["productOfferingQualificationItem"]
        assert (asked["id"], asked["terminationError"][0]["value"]) == ("1", reason)
        await kit.filters_and_fields(created)
        await kit.patch(created, {"description": "retry with a place"})
        await kit.delete(created)
    # A made-up specification or place is answered the same way.
    made_up = await _create(
        client,
        customer,
        CHECK,
        {"serviceQualificationItem": [{"id": "9", "service": _service("teleport", [])}]},
    )
    assert "teleport" in made_up["serviceQualificationItem"][0]["terminationError"][0]["value"]
    nowhere = await _create(
        client,
        customer,
        QUERY,
        {"searchCriteria": {"service": {"place": [{"id": "made-up-place", "role": "aEnd"}]}}},
    )
    assert "made-up-place" in nowhere["terminationError"][0]["value"]
