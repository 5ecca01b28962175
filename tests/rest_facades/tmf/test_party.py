"""TMF632 Party v4 through the ASGI app, checked against the official file."""

import json
from typing import Any
from uuid import uuid4

import httpx
from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, geography, parties
from app.core.contacts import Organization, Person
from app.core.db import Database
from app.core.geography import AddressInput
from app.core.relations import ContactMedium, Holder, RelatedPartyRef
from tests.factories import CHICAGO, NEW_YORK, Caller, make_caller
from tests.rest_facades.tmf.conformance import check_response
from tests.statements import counting

SPEC = "TMF632-PartyManagement-v4"
BASE = "/tmf-api/party/v4"


async def _call(
    client: httpx.AsyncClient,
    caller: Caller,
    method: str,
    path: str,
    template: str,
    status: int,
    body: dict[str, Any] | None = None,
    /,
    **params: str,
) -> httpx.Response:
    response = await client.request(
        method, f"{BASE}{path}", headers=caller.headers, json=body, params=params
    )
    assert response.status_code == status, response.text
    if status != 204:
        check_response(SPEC, template, method, status, response.json())
    return response


async def test_organizations_are_the_parties_a_caller_may_see(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    carrier = await make_caller(
        session, "carrier", name="Northwind Carrier", acting_for=[customer.party_id]
    )
    listed = await _call(client, customer, "get", "/organization", "/organization", 200)
    assert [o["id"] for o in listed.json()] == [customer.party_id]
    assert listed.json()[0]["tradingName"] == "Nimbus Labs"
    assert listed.headers["x-total-count"] == "1"
    theirs = await _call(client, carrier, "get", "/organization", "/organization", 200)
    assert {o["id"] for o in theirs.json()} == {carrier.party_id, customer.party_id}
    carriers = await _call(
        client,
        carrier,
        "get",
        "/organization",
        "/organization",
        200,
        organizationType="carrier",
        fields="name",
    )
    assert carriers.json() == [
        {
            "id": carrier.party_id,
            "href": f"http://testserver{BASE}/organization/{carrier.party_id}",
            "@type": "Organization",
            "name": "Northwind Carrier",
        }
    ]
    recent = await _call(
        client,
        carrier,
        "get",
        "/organization",
        "/organization",
        200,
        **{"existsDuring.startDateTime.gte": "2000-01-01T00:00:00Z"},
        limit="1",
    )
    assert recent.headers["x-total-count"] == "2"
    assert recent.headers["x-result-count"] == "1"

    mine = await _call(
        client,
        customer,
        "get",
        f"/organization/{customer.party_id}",
        "/organization/{id}",
        200,
    )
    assert mine.json()["organizationType"] == "enterprise"
    trimmed = await _call(
        client,
        customer,
        "get",
        f"/organization/{customer.party_id}",
        "/organization/{id}",
        200,
        fields="status",
    )
    assert trimmed.json()["status"] == "validated"
    assert set(trimmed.json()) == {"id", "href", "@type", "status"}
    # Another party's organization does not exist for the caller.
    await _call(
        client,
        customer,
        "get",
        f"/organization/{other_customer.party_id}",
        "/organization/{id}",
        404,
    )
    await _call(client, customer, "get", "/organization/pty_nope", "/organization/{id}", 404)


async def test_a_party_keeps_organizations_it_deals_with(
    client: httpx.AsyncClient, customer: Caller, other_customer: Caller
) -> None:
    body = {
        "tradingName": "Coffee Do Brazil",
        "organizationType": "supplier",
        "isLegalEntity": True,
        "existsDuring": {"startDateTime": "2020-01-01T00:00:00Z"},
        "contactMedium": [
            {"mediumType": "email", "characteristic": {"emailAddress": "sales@coffee.example"}}
        ],
    }
    created = await _call(client, customer, "post", "/organization", "/organization", 201, body)
    coffee = created.json()
    assert created.headers["location"] == coffee["href"]
    assert coffee["tradingName"] == "Coffee Do Brazil"
    assert coffee["contactMedium"][0]["characteristic"]["emailAddress"] == "sales@coffee.example"
    path = f"/organization/{coffee['id']}"
    read = await _call(client, customer, "get", path, "/organization/{id}", 200)
    assert read.json() == coffee

    # Listed after the caller's own party, filtered in the database on stored attributes.
    listed = await _call(client, customer, "get", "/organization", "/organization", 200)
    assert [o["id"] for o in listed.json()] == [customer.party_id, coffee["id"]]
    for query in (
        {"tradingName": "Coffee Do Brazil"},
        {"organizationType": "supplier"},
        {"isLegalEntity": "true", "organizationType": "supplier"},
        {"existsDuring.startDateTime.lt": "2021-01-01T00:00:00Z"},
        {"contactMedium.characteristic.emailAddress": "sales@coffee.example"},
    ):
        found = await _call(client, customer, "get", "/organization", "/organization", 200, **query)
        assert [o["id"] for o in found.json()] == [coffee["id"]], query
        # An attribute the core keeps as given is matched on the page read: the total counts
        # the page's rows before it.
        if "contactMedium.characteristic.emailAddress" not in query:
            assert found.headers["x-total-count"] == "1", query

    # Every attribute of Organization_Update, by merge patch.
    patched = await _call(
        client,
        customer,
        "patch",
        path,
        "/organization/{id}",
        200,
        {
            "name": "Coffee Do Brazil Ltda",
            "nameType": "legal",
            "isHeadOffice": False,
            "status": "validated",
            "organizationIdentification": [
                {"identificationId": "12.345.678/0001-90", "identificationType": "CNPJ"}
            ],
            "contactMedium": None,
        },
    )
    assert patched.json()["name"] == "Coffee Do Brazil Ltda"
    assert patched.json()["status"] == "validated"
    assert patched.json()["isHeadOffice"] is False
    assert patched.json()["organizationIdentification"][0]["identificationType"] == "CNPJ"
    assert "contactMedium" not in patched.json()
    assert patched.json()["tradingName"] == "Coffee Do Brazil"
    blank = await _call(
        client, customer, "patch", path, "/organization/{id}", 400, {"tradingName": ""}
    )
    assert blank.json()["code"] == "INVALID_REQUEST"
    wrong = await _call(
        client, customer, "patch", path, "/organization/{id}", 400, {"status": "gone"}
    )
    assert "status" in wrong.json()["reason"]

    # Another party's organization does not exist for it.
    await _call(client, other_customer, "get", path, "/organization/{id}", 404)
    await _call(client, other_customer, "patch", path, "/organization/{id}", 404, {"name": "X"})
    await _call(client, other_customer, "delete", path, "/organization/{id}", 404)
    theirs = await _call(client, other_customer, "get", "/organization", "/organization", 200)
    assert [o["id"] for o in theirs.json()] == [other_customer.party_id]

    # A party of the platform is not the caller's to change.
    await _call(
        client,
        customer,
        "patch",
        f"/organization/{customer.party_id}",
        "/organization/{id}",
        403,
        {"name": "Mine"},
    )
    await _call(client, customer, "delete", path, "/organization/{id}", 204)
    await _call(client, customer, "get", path, "/organization/{id}", 404)


async def test_operations_staff_register_patch_and_delete_parties(
    client: httpx.AsyncClient, session: AsyncSession, ops: Caller, customer: Caller
) -> None:
    body = {"tradingName": "Acme Corp", "organizationType": "enterprise"}
    missing = await _call(
        client, ops, "post", "/organization", "/organization", 400, {"name": "No trading name"}
    )
    assert "tradingName" in missing.json()["reason"]
    created = await _call(client, ops, "post", "/organization", "/organization", 201, body)
    acme = created.json()
    assert created.headers["location"] == acme["href"]
    assert acme["name"] == "Acme Corp"
    # The same core row.
    party = await parties.get_party(session, principal=ops.principal, party_id=acme["id"])
    assert party.name == "Acme Corp"

    path = f"/organization/{acme['id']}"
    # Another party's organization does not exist for the customer.
    await _call(client, customer, "patch", path, "/organization/{id}", 404, {"name": "Mine"})
    for content_type in ("application/merge-patch+json", "application/json"):
        patched = await client.patch(
            f"{BASE}{path}",
            headers={**ops.headers, "Content-Type": content_type},
            content='{"name": "Acme Inc", "contactMedium": [{"mediumType": "email", '
            '"characteristic": {"emailAddress": "noc@acme.example"}}]}',
        )
        assert patched.status_code == 200, patched.text
        check_response(SPEC, "/organization/{id}", "patch", 200, patched.json())
        assert patched.json()["name"] == "Acme Inc"
        assert patched.json()["contactMedium"][0]["characteristic"]["emailAddress"] == (
            "noc@acme.example"
        )
    not_patchable = await _call(
        client, ops, "patch", path, "/organization/{id}", 400, {"organizationType": "carrier"}
    )
    assert not_patchable.json()["code"] == "NOT_PATCHABLE"

    await _call(client, customer, "delete", path, "/organization/{id}", 404)
    in_use = await _call(
        client, ops, "delete", f"/organization/{customer.party_id}", "/organization/{id}", 409
    )
    assert in_use.json()["code"] == "PARTY_IN_USE"
    await _call(client, ops, "delete", path, "/organization/{id}", 204)
    await _call(client, ops, "get", path, "/organization/{id}", 404)


async def test_individuals_are_the_contacts_of_the_callers_sites(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    empty = await _call(client, customer, "get", "/individual", "/individual", 200)
    assert empty.json() == []
    assert empty.headers["x-total-count"] == "0"
    site = await geography.create_site(
        session,
        principal=customer.principal,
        address=AddressInput(text=CHICAGO),
        contact_name="Dana Smith",
        contact_phone="+1 312 555 0100",
    )
    await geography.create_site(
        session, principal=customer.principal, address=AddressInput(text=NEW_YORK)
    )
    listed = await _call(client, customer, "get", "/individual", "/individual", 200)
    [dana] = listed.json()
    assert dana["id"] == f"{site.id}~contact"
    assert (dana["givenName"], dana["familyName"]) == ("Dana", "Smith")
    assert dana["contactMedium"][0]["characteristic"]["phoneNumber"] == "+1 312 555 0100"
    filtered = await _call(
        client,
        customer,
        "get",
        "/individual",
        "/individual",
        200,
        **{"relatedParty.id": customer.party_id},
        fields="fullName",
    )
    assert filtered.json() == [
        {"id": dana["id"], "href": dana["href"], "@type": "Individual", "fullName": "Dana Smith"}
    ]
    nobody = await _call(
        client, customer, "get", "/individual", "/individual", 200, familyName="Jones"
    )
    assert nobody.json() == []
    read = await _call(
        client, customer, "get", f"/individual/{dana['id']}", "/individual/{id}", 200
    )
    assert read.json() == dana

    await _call(client, other_customer, "get", f"/individual/{dana['id']}", "/individual/{id}", 404)
    theirs = await _call(client, other_customer, "get", "/individual", "/individual", 200)
    assert theirs.json() == []
    await _call(client, customer, "get", "/individual/nobody", "/individual/{id}", 404)
    # The site's contact changes with the site, not here.
    refused = await _call(
        client, customer, "patch", f"/individual/{dana['id']}", "/individual/{id}", 405, {}
    )
    assert refused.json()["code"] == "METHOD_NOT_ALLOWED"
    await _call(client, customer, "delete", f"/individual/{dana['id']}", "/individual/{id}", 405)


async def test_a_party_keeps_the_people_it_deals_with(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    await geography.create_site(
        session,
        principal=customer.principal,
        address=AddressInput(text=CHICAGO),
        contact_name="Dana",
    )
    body = {
        "givenName": "Jane",
        "familyName": "Lamborgizzia",
        "birthDate": "1980-02-29T00:00:00Z",
        "contactMedium": [
            {"mediumType": "email", "characteristic": {"emailAddress": "jane@example.com"}}
        ],
    }
    created = await _call(client, customer, "post", "/individual", "/individual", 201, body)
    jane = created.json()
    assert created.headers["location"] == jane["href"]
    assert (jane["givenName"], jane["familyName"]) == ("Jane", "Lamborgizzia")
    assert jane["birthDate"] == "1980-02-29T00:00:00Z"
    path = f"/individual/{jane['id']}"
    read = await _call(client, customer, "get", path, "/individual/{id}", 200)
    assert read.json() == jane

    # The site's contact (one name: an empty family name) comes first, then the people kept.
    listed = await _call(client, customer, "get", "/individual", "/individual", 200)
    assert [(i["givenName"], i["familyName"]) for i in listed.json()] == [
        ("Dana", ""),
        ("Jane", "Lamborgizzia"),
    ]
    for query in (
        {"familyName": "Lamborgizzia"},
        {"givenName": "Jane"},
        {"id": jane["id"]},
        {"birthDate.lt": "1990-01-01T00:00:00Z"},
        {"contactMedium.characteristic.emailAddress": "jane@example.com"},
    ):
        found = await _call(client, customer, "get", "/individual", "/individual", 200, **query)
        assert [i["id"] for i in found.json()] == [jane["id"]], query
    dana = await _call(client, customer, "get", "/individual", "/individual", 200, givenName="Dana")
    assert dana.json()[0]["fullName"] == "Dana"
    assert dana.headers["x-total-count"] == "1"
    trimmed = await _call(
        client, customer, "get", "/individual", "/individual", 200, fields="familyName"
    )
    assert [set(i) for i in trimmed.json()] == [{"id", "href", "@type", "familyName"}] * 2

    # Every attribute of Individual_Update, by merge patch; null removes one.
    patch = {
        "title": "Dr",
        "middleName": "Q",
        "gender": "female",
        "nationality": "BR",
        "status": "validated",
        "skill": [{"skillCode": "SQL", "skillName": "Databases"}],
        "birthDate": None,
    }
    for content_type in ("application/merge-patch+json", "application/json"):
        patched = await client.patch(
            f"{BASE}{path}",
            headers={**customer.headers, "Content-Type": content_type},
            content=json.dumps(patch),
        )
        assert patched.status_code == 200, patched.text
        check_response(SPEC, "/individual/{id}", "patch", 200, patched.json())
        changed = patched.json()
        assert (changed["title"], changed["status"]) == ("Dr", "validated")
        assert changed["skill"][0]["skillCode"] == "SQL"
        assert "birthDate" not in changed
        assert changed["contactMedium"] == jane["contactMedium"]
    cleared = await _call(
        client, customer, "patch", path, "/individual/{id}", 400, {"familyName": None}
    )
    assert "family_name" in cleared.json()["reason"]
    bad = await _call(
        client, customer, "post", "/individual", "/individual", 400, {"givenName": "A"}
    )
    assert "familyName" in bad.json()["reason"]

    # Another party's people do not exist for it.
    await _call(client, other_customer, "get", path, "/individual/{id}", 404)
    await _call(client, other_customer, "patch", path, "/individual/{id}", 404, {"title": "Ms"})
    await _call(client, other_customer, "delete", path, "/individual/{id}", 404)
    theirs = await _call(client, other_customer, "get", "/individual", "/individual", 200)
    assert theirs.json() == []

    await _call(client, customer, "delete", path, "/individual/{id}", 204)
    await _call(client, customer, "get", path, "/individual/{id}", 404)


async def test_listeners_register_and_unregister_at_the_hub(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    registered = await client.post(
        f"{BASE}/hub", headers=customer.headers, json={"callback": "https://listener.example.com"}
    )
    assert registered.status_code == 201, registered.text
    check_response(SPEC, "/hub", "post", 201, registered.json())
    hub_id = registered.json()["id"]
    removed = await client.delete(f"{BASE}/hub/{hub_id}", headers=customer.headers)
    assert removed.status_code == 204
    again = await client.delete(f"{BASE}/hub/{hub_id}", headers=customer.headers)
    assert again.status_code == 404
    check_response(SPEC, "/hub/{id}", "delete", 404, again.json())


async def _statements_of_lists(
    client: httpx.AsyncClient, database: Database, caller: Caller
) -> list[int]:
    counts = []
    for resource in ("individual", "organization"):
        with counting(database) as statements:
            listed = await _call(
                client, caller, "get", f"/{resource}", f"/{resource}", 200, limit="5", offset="3"
            )
        assert len(listed.json()) == 5
        counts.append(len(statements))
    return counts


async def test_lists_page_in_the_database(
    client: httpx.AsyncClient, database: Database, session: AsyncSession, customer: Caller
) -> None:
    async def keep(count: int) -> None:
        people = [
            {"id": f"ind_{uuid4().hex[:16]}", "given_name": "Jo", "family_name": str(n)}
            for n in range(count)
        ]
        organizations = [
            {"id": f"org_{uuid4().hex[:16]}", "trading_name": f"Supplier {n}"} for n in range(count)
        ]
        now = {"party_id": customer.party_id, "created_at": clock.now(), "extra": {}}
        now |= {"updated_at": now["created_at"], "state": "initialized"}
        await session.exec(insert(Person), params=[p | now for p in people])
        await session.exec(insert(Organization), params=[o | now for o in organizations])
        held = {"holder": Holder.PERSON, "extra": {}}
        employer = {"ref_id": "org_x", "role": "employer", "referred_type": "Organization"}
        await session.exec(
            insert(RelatedPartyRef),
            params=[{"holder_id": p["id"], "position": 0} | employer | held for p in people],
        )
        await session.exec(
            insert(ContactMedium),
            params=[
                {"holder_id": p["id"], "medium_type": "email", "email_address": f"{n}@x.example"}
                | held
                | {"position": 0}
                for n, p in enumerate(people)
            ],
        )
        await session.commit()

    await keep(10)
    few = await _statements_of_lists(client, database, customer)
    await keep(990)
    many = await _statements_of_lists(client, database, customer)
    assert many == few, (few, many)
    # The key, its party and agencies; the count; the page; the rows of each kind on it; the
    # related parties and the contact media of the kept rows on it.
    assert max(few) <= 9
    total = await _call(client, customer, "get", "/individual", "/individual", 200, limit="1")
    assert total.headers["x-total-count"] == "1000"
    # Related parties and contact media filter in SQL: the count is exact.
    employed = await _call(
        client,
        customer,
        "get",
        "/individual",
        "/individual",
        200,
        limit="3",
        **{"relatedParty.id": "org_x", "contactMedium.mediumType": "email"},
    )
    assert employed.headers["x-total-count"] == "1000"
    assert employed.json()[0]["contactMedium"][0]["characteristic"]["emailAddress"]
