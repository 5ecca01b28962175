"""TMF674 Geographic Site v4 through the ASGI app, checked against the official file."""

from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import geography
from app.core.db import Database
from app.core.geography import Location
from tests.factories import CHICAGO, DALLAS, NEW_YORK, Caller, location_id, make_order
from tests.rest_facades.tmf.conformance import check_response
from tests.rest_facades.tmf.kit import Kit
from tests.statements import copies, counting

SPEC = "TMF674-GeographicSite-v4"
BASE = "/tmf-api/geographicSiteManagement/v4"


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


async def _create(client: httpx.AsyncClient, caller: Caller, body: dict[str, Any]) -> Any:
    created = await _call(client, caller, "post", "/geographicSite", "/geographicSite", 201, body)
    assert created.headers["location"] == created.json()["href"]
    return created.json()


async def test_sites_are_created_listed_filtered_read_patched_and_deleted(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    chicago = await _create(
        client,
        customer,
        {
            "name": "Chicago POP",
            "description": "Loading dock on 21st St",
            "place": [
                {
                    "streetNr": "350",
                    "streetName": "E Cermak Rd",
                    "city": "Chicago",
                    "stateOrProvince": "IL",
                    "postcode": "60616",
                }
            ],
            "relatedParty": [
                {
                    "id": "x",
                    "name": "Dana Smith",
                    "role": "siteContact",
                    "@referredType": "Individual",
                }
            ],
        },
    )
    assert chicago["place"][0]["id"] == await location_id(session, CHICAGO)
    assert chicago["description"] == "Loading dock on 21st St"
    roles = {p["role"]: p for p in chicago["relatedParty"]}
    assert roles["customer"]["id"] == customer.party_id
    assert roles["siteContact"]["name"] == "Dana Smith"
    dallas_id = await location_id(session, DALLAS)
    dallas = await _create(client, customer, {"name": "Dallas", "place": [{"id": dallas_id}]})
    assert dallas["place"][0]["city"] == "Dallas"

    # The same core rows: the core sees both sites, and the face sees the core's.
    core = await geography.list_sites(session, principal=customer.principal)
    assert {s.id for s in core} == {chicago["id"], dallas["id"]}

    listed = await _call(client, customer, "get", "/geographicSite", "/geographicSite", 200)
    assert listed.headers["x-total-count"] == "2"
    assert [s["id"] for s in listed.json()] == [chicago["id"], dallas["id"]]
    in_chicago = await _call(
        client,
        customer,
        "get",
        "/geographicSite",
        "/geographicSite",
        200,
        **{"place.city": "Chicago"},
    )
    assert [s["id"] for s in in_chicago.json()] == [chicago["id"]]
    southern = await _call(
        client,
        customer,
        "get",
        "/geographicSite",
        "/geographicSite",
        200,
        **{"place.postcode.gte": "70000"},
        fields="name",
    )
    assert southern.json() == [
        {"id": dallas["id"], "href": dallas["href"], "@type": "GeographicSite", "name": "Dallas"}
    ]
    page = await _call(
        client, customer, "get", "/geographicSite", "/geographicSite", 200, offset="1", limit="1"
    )
    assert page.headers["x-total-count"] == "2"
    assert page.headers["x-result-count"] == "1"

    read = await _call(
        client, customer, "get", f"/geographicSite/{chicago['id']}", "/geographicSite/{id}", 200
    )
    assert read.json() == chicago
    trimmed = await _call(
        client,
        customer,
        "get",
        f"/geographicSite/{chicago['id']}",
        "/geographicSite/{id}",
        200,
        fields="place.city",
    )
    assert set(trimmed.json()) == {"id", "href", "@type", "place"}

    for content_type in ("application/merge-patch+json", "application/json"):
        patched = await client.patch(
            f"{BASE}/geographicSite/{chicago['id']}",
            headers={**customer.headers, "Content-Type": content_type},
            content=f'{{"name": "Chicago {content_type}"}}',
        )
        assert patched.status_code == 200, patched.text
        check_response(SPEC, "/geographicSite/{id}", "patch", 200, patched.json())
        assert patched.json()["name"] == f"Chicago {content_type}"
        assert patched.json()["description"] == "Loading dock on 21st St"
    site = await geography.get_site(session, principal=customer.principal, site_id=chicago["id"])
    await session.refresh(site)
    assert site.name == "Chicago application/json"
    refused = await _call(
        client,
        customer,
        "patch",
        f"/geographicSite/{chicago['id']}",
        "/geographicSite/{id}",
        400,
        {"place": [{"id": dallas_id}]},
    )
    assert refused.json()["code"] == "NOT_PATCHABLE"

    await _call(
        client, customer, "delete", f"/geographicSite/{dallas['id']}", "/geographicSite/{id}", 204
    )
    await _call(
        client, customer, "get", f"/geographicSite/{dallas['id']}", "/geographicSite/{id}", 404
    )
    await _call(
        client, customer, "delete", f"/geographicSite/{dallas['id']}", "/geographicSite/{id}", 404
    )
    await _call(client, customer, "get", "/geographicSite/site_nope", "/geographicSite/{id}", 404)


async def test_sites_of_orders_show_and_cannot_be_deleted(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    await make_order(session, customer)
    listed = await _call(client, customer, "get", "/geographicSite", "/geographicSite", 200)
    assert {s["place"][0]["id"] for s in listed.json()} == {
        await location_id(session, CHICAGO),
        await location_id(session, NEW_YORK),
    }
    used = listed.json()[0]["id"]
    refused = await _call(
        client, customer, "delete", f"/geographicSite/{used}", "/geographicSite/{id}", 409
    )
    assert refused.json()["code"] == "SITE_IN_USE"


async def test_another_partys_sites_are_absent_and_unchanged(
    client: httpx.AsyncClient, customer: Caller, other_customer: Caller
) -> None:
    mine = await _create(client, customer, {"name": "Mine", "place": [{"name": CHICAGO}]})
    theirs = await _call(client, other_customer, "get", "/geographicSite", "/geographicSite", 200)
    assert theirs.json() == []
    assert theirs.headers["x-total-count"] == "0"
    path = f"/geographicSite/{mine['id']}"
    await _call(client, other_customer, "get", path, "/geographicSite/{id}", 404)
    await _call(
        client, other_customer, "patch", path, "/geographicSite/{id}", 404, {"name": "Taken"}
    )
    await _call(client, other_customer, "delete", path, "/geographicSite/{id}", 404)
    still = await _call(client, customer, "get", path, "/geographicSite/{id}", 200)
    assert still.json()["name"] == "Mine"


async def test_creation_refuses_a_missing_or_unknown_place(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    missing = await _call(
        client, customer, "post", "/geographicSite", "/geographicSite", 400, {"name": "Nowhere"}
    )
    assert missing.json()["code"] == "MISSING_ATTRIBUTE"
    unknown = await _call(
        client,
        customer,
        "post",
        "/geographicSite",
        "/geographicSite",
        400,
        {"name": "Nowhere", "place": [{"name": "1 Nowhere Lane, Atlantis"}]},
    )
    assert unknown.json()["code"] == "ADDRESS_NOT_FOUND"


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


async def test_the_api_answers_as_a_conformance_kit_checks_it(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    kit = Kit(
        client,
        customer,
        SPEC,
        BASE,
        "geographicSite",
        mandatory=("id", "href", "code", "name", "place", "relatedParty", "status"),
    )
    created = await kit.create(
        {"name": "HQ", "place": [{"id": await location_id(session, CHICAGO)}]}
    )
    await kit.filters_and_fields(created)
    patched = await kit.patch(
        created,
        {
            "name": "Head office",
            "description": "Ring at gate 2",
            "relatedParty": [
                # The site's contact is the Individual the site names (see TMF632).
                {
                    "id": f"{created['id']}~contact",
                    "name": "Dana",
                    "role": "siteContact",
                    "@referredType": "Individual",
                },
                {
                    "id": "o1",
                    "name": "Facilities",
                    "role": "manager",
                    "@referredType": "Individual",
                },
            ],
            "calendar": [{"day": "weekdays", "hourPeriod": [{"startHour": "08:00"}]}],
            "siteRelationship": [{"id": "site_other", "relationshipType": "adjacentTo"}],
            "@type": "GeographicSite",
        },
    )
    await kit.patch(patched, {k: patched[k] for k in ("code", "status", "place")})
    await kit.delete(patched)
    await kit.unknown_is_404()


async def test_a_list_costs_the_same_statements_for_ten_and_a_thousand_sites(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    site = await geography.create_site(
        session, principal=customer.principal, address=geography.AddressInput(text=CHICAGO)
    )
    location = await session.get(Location, site.location_id)
    assert location is not None
    # A party has one site per address: each copy of the site is at a copy of the address.
    await copies(
        session, location, 999, lambda n: {"id": f"loc_copy{n}", "street_number": f"9{n:03d}"}
    )

    async def statements() -> tuple[int, str]:
        with counting(database) as seen:
            listed = await _call(
                client,
                customer,
                "get",
                "/geographicSite",
                "/geographicSite",
                200,
                **{"place.city": "Chicago", "name.gte": "A"},
                limit="5",
            )
        assert listed.headers["x-result-count"] == "5"
        assert any("LIMIT" in statement.upper() for statement in seen)
        return len(seen), listed.headers["x-total-count"]

    await copies(session, site, 9, lambda n: {"id": f"site_few{n}", "location_id": f"loc_copy{n}"})
    few, ten = await statements()
    await copies(
        session, site, 990, lambda n: {"id": f"site_many{n}", "location_id": f"loc_copy{n + 9}"}
    )
    many, thousand = await statements()
    assert (ten, thousand) == ("10", "1000")
    assert many == few
