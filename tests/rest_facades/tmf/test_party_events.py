"""TMF632 and TMF666: related parties, contact media and credit limits are kept and filtered
as the core's own rows, and changes of people, organisations and accounts reach listeners."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.db import Database
from app.main import create_app
from app.settings import Settings
from tests.factories import Caller
from tests.rest_facades.mef.listener import listening
from tests.rest_facades.tmf.conformance import check_notification, check_response

PARTY = "/tmf-api/party/v4"
ACCOUNTS = "/tmf-api/accountManagement/v4"


@pytest.fixture
async def app(settings: Settings, database: Database) -> FastAPI:
    """The application; the test runs its dispatcher itself."""
    application = create_app(settings, run_workers=False)
    application.state.database = database
    return application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of that application."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


JANE = {
    "givenName": "Jane",
    "familyName": "Doe",
    "relatedParty": [
        {"id": "org-42", "role": "employer", "@referredType": "Organization", "name": "Acme"},
    ],
    "contactMedium": [
        {
            "mediumType": "email",
            "preferred": True,
            "characteristic": {"emailAddress": "jane@example.com", "socialNetworkId": "@jane"},
        },
        {
            "mediumType": "postalAddress",
            "characteristic": {"city": "Chicago", "postCode": "60601", "country": "US"},
            "validFor": {"startDateTime": "2026-01-01T00:00:00Z"},
        },
    ],
}


async def _list(
    http: httpx.AsyncClient, caller: Caller, path: str, **params: str
) -> httpx.Response:
    listed = await http.get(path, headers=caller.headers, params=params)
    assert listed.status_code == 200, listed.text
    return listed


async def test_related_parties_and_contact_media_are_kept_and_filter_exactly(
    http: httpx.AsyncClient, customer: Caller, other_customer: Caller
) -> None:
    created = await http.post(f"{PARTY}/individual", headers=customer.headers, json=JANE)
    assert created.status_code == 201, created.text
    jane = created.json()
    check_response("TMF632-PartyManagement-v4", "/individual", "post", 201, jane)
    assert jane["relatedParty"] == JANE["relatedParty"]
    assert jane["contactMedium"] == JANE["contactMedium"]
    plain = {"givenName": "John", "familyName": "Roe"}
    assert (await http.post(f"{PARTY}/individual", headers=customer.headers, json=plain)).is_success

    individuals = f"{PARTY}/individual"
    for query, expected in (
        ({"relatedParty.id": "org-42"}, [jane["id"]]),
        ({"relatedParty.role": "employer,owner"}, [jane["id"]]),
        ({"contactMedium.mediumType": "postalAddress"}, [jane["id"]]),
        ({"contactMedium.characteristic.emailAddress": "jane@example.com"}, [jane["id"]]),
        ({"contactMedium.characteristic.city": "Paris"}, []),
        ({"contactMedium.preferred": "true", "givenName": "John"}, []),
    ):
        listed = await _list(http, customer, individuals, limit="1", **query)
        assert [i["id"] for i in listed.json()] == expected[:1], query
        assert listed.headers["x-total-count"] == str(len(expected)), query
    # Another party's people are not found by what they name.
    others = await _list(http, other_customer, individuals, **{"relatedParty.id": "org-42"})
    assert others.headers["x-total-count"] == "0"

    # A patch replaces the contact media it gives, null removes them, the rest stays.
    path = f"{individuals}/{jane['id']}"
    fewer = {"contactMedium": JANE["contactMedium"][:1]}
    patched = await http.patch(path, headers=customer.headers, json=fewer)
    assert patched.status_code == 200, patched.text
    assert patched.json()["contactMedium"] == JANE["contactMedium"][:1]
    assert patched.json()["relatedParty"] == JANE["relatedParty"]
    removed = await http.patch(path, headers=customer.headers, json={"contactMedium": None})
    assert "contactMedium" not in removed.json()
    left = await _list(http, customer, individuals, **{"contactMedium.mediumType": "email"})
    assert left.headers["x-total-count"] == "0"

    # Organizations: the kept ones by what they name, the parties by their e-mail.
    supplier = {
        "tradingName": "Coffee Co",
        "contactMedium": [{"mediumType": "phone", "characteristic": {"phoneNumber": "+1 555"}}],
    }
    made = await http.post(f"{PARTY}/organization", headers=customer.headers, json=supplier)
    assert made.status_code == 201, made.text
    phoned = await _list(
        http, customer, f"{PARTY}/organization", **{"contactMedium.mediumType": "phone"}
    )
    assert [o["id"] for o in phoned.json()] == [made.json()["id"]]

    # A bad value of a stored attribute is a TMF Error, not a 500.
    bad = await http.get(
        f"{ACCOUNTS}/partyAccount", headers=customer.headers, params={"creditLimit.value": "x"}
    )
    assert bad.status_code == 400
    assert "creditLimit.value" in bad.json()["reason"]


async def _events(app: FastAPI, listener: Any) -> dict[str, Any]:
    """The events delivered since the last call, by listener path (deliveries run
    concurrently, so they arrive in any order)."""
    await app.state.dispatcher.run_once()
    found = dict(listener.received)
    assert len(found) == len(listener.received)
    listener.received.clear()
    return found


async def test_changes_of_people_organisations_and_accounts_reach_listeners(
    app: FastAPI, http: httpx.AsyncClient, customer: Caller, other_customer: Caller
) -> None:
    async with listening() as listener, listening() as stranger:
        for api in (PARTY, ACCOUNTS):
            hub = await http.post(
                f"{api}/hub", headers=customer.headers, json={"callback": listener.url}
            )
            assert hub.status_code == 201, hub.text
        stranger_hub = await http.post(
            f"{PARTY}/hub", headers=other_customer.headers, json={"callback": stranger.url}
        )
        assert stranger_hub.status_code == 201

        created = await http.post(f"{PARTY}/individual", headers=customer.headers, json=JANE)
        path = f"{PARTY}/individual/{created.json()['id']}"
        await http.patch(path, headers=customer.headers, json={"status": "validated"})
        await http.patch(path, headers=customer.headers, json={"nationality": "IE"})
        await http.delete(path, headers=customer.headers)
        received = await _events(app, listener)
        assert set(received) == {
            "/listener/individualCreateEvent",
            "/listener/individualStateChangeEvent",
            "/listener/individualAttributeValueChangeEvent",
            "/listener/individualDeleteEvent",
        }
        for path_of, envelope in received.items():
            check_notification("TMF632-PartyManagement-v4", path_of.split("/")[-1], envelope)
            assert envelope["event"]["individual"]["id"] == created.json()["id"]
        changed = received["/listener/individualStateChangeEvent"]
        assert changed["event"]["individual"]["status"] == "validated"

        org = await http.post(
            f"{PARTY}/organization", headers=customer.headers, json={"tradingName": "Acme"}
        )
        await http.delete(f"{PARTY}/organization/{org.json()['id']}", headers=customer.headers)
        received = await _events(app, listener)
        assert set(received) == {
            "/listener/organizationCreateEvent",
            "/listener/organizationDeleteEvent",
        }

        # TMF666 announces every account's changes, and a financial account's life.
        owner = {
            "id": customer.party_id,
            "name": "Us",
            "role": "owner",
            "@referredType": "Organization",
        }
        travel = {"name": "Travel", "relatedParty": [owner]}
        for resource in ("partyAccount", "financialAccount"):
            opened = await http.post(
                f"{ACCOUNTS}/{resource}", headers=customer.headers, json=travel
            )
            assert opened.status_code == 201, opened.text
            account = f"{ACCOUNTS}/{resource}/{opened.json()['id']}"
            limit = {"creditLimit": {"value": 500, "unit": "USD"}}
            assert (await http.patch(account, headers=customer.headers, json=limit)).is_success
            closed = {"state": "closed"}
            assert (await http.patch(account, headers=customer.headers, json=closed)).is_success
            await http.delete(account, headers=customer.headers)
        received = await _events(app, listener)
        assert set(received) == {
            "/listener/partyAccountAttributeValueChangeEvent",
            "/listener/partyAccountStateChangeEvent",
            "/listener/financialAccountCreateEvent",
            "/listener/financialAccountAttributeValueChangeEvent",
            "/listener/financialAccountStateChangeEvent",
            "/listener/financialAccountDeleteEvent",
        }
        for path_of, envelope in received.items():
            check_notification("TMF666-AccountManagement-v4", path_of.split("/")[-1], envelope)
        closed_event = received["/listener/partyAccountStateChangeEvent"]
        assert closed_event["event"]["partyAccount"]["state"] == "closed"
        # Another party hears nothing of these.
        await app.state.dispatcher.run_once()
        assert stranger.received == []
