"""TMF673 Geographic Address v4 through the ASGI app, checked against the official file."""

from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import geography
from app.core.db import Database
from app.core.geography import Location
from tests.factories import CHICAGO, Caller, location_id
from tests.rest_facades.tmf.conformance import check_response
from tests.rest_facades.tmf.kit import Kit
from tests.statements import copies, counting

SPEC = "TMF673-GeographicAddress-v4"
BASE = "/tmf-api/geographicAddressManagement/v4"


async def _get(
    client: httpx.AsyncClient,
    caller: Caller,
    path: str,
    template: str,
    status: int = 200,
    /,
    **params: str,
) -> Any:
    response = await client.get(f"{BASE}{path}", headers=caller.headers, params=params)
    assert response.status_code == status, response.text
    check_response(SPEC, template, "get", status, response.json())
    return response


async def _validate(client: httpx.AsyncClient, caller: Caller, body: dict[str, Any]) -> Any:
    response = await client.post(
        f"{BASE}/geographicAddressValidation", headers=caller.headers, json=body
    )
    check_response(
        SPEC, "/geographicAddressValidation", "post", response.status_code, response.json()
    )
    return response


async def test_addresses_are_listed_filtered_trimmed_and_read(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    listed = await _get(client, customer, "/geographicAddress", "/geographicAddress")
    total = int(listed.headers["x-total-count"])
    assert total == len(listed.json()) > 10
    assert all(
        a["href"].startswith("http") and a["@type"] == "GeographicAddress" for a in listed.json()
    )
    chicago = await _get(
        client, customer, "/geographicAddress", "/geographicAddress", city="Chicago"
    )
    assert chicago.json()
    assert {a["city"] for a in chicago.json()} == {"Chicago"}
    either = await _get(
        client, customer, "/geographicAddress", "/geographicAddress", city="Chicago,Dallas"
    )
    assert {a["city"] for a in either.json()} == {"Chicago", "Dallas"}
    east = await _get(
        client, customer, "/geographicAddress", "/geographicAddress", **{"postcode.lt": "20000"}
    )
    assert east.json()
    assert all(int(a["postcode"]) < 20000 for a in east.json())
    assert len(east.json()) < total
    page = await _get(
        client,
        customer,
        "/geographicAddress",
        "/geographicAddress",
        fields="city",
        limit="2",
        offset="1",
    )
    assert page.headers["x-total-count"] == str(total)
    assert page.headers["x-result-count"] == "2"
    assert set(page.json()[0]) == {"id", "href", "@type", "city"}

    known = await location_id(session, CHICAGO)
    one = await _get(client, customer, f"/geographicAddress/{known}", "/geographicAddress/{id}")
    assert one.json()["streetNr"] == "350"
    assert one.json()["postcode"] == "60616"
    trimmed = await _get(
        client,
        customer,
        f"/geographicAddress/{known}",
        "/geographicAddress/{id}",
        fields="postcode",
    )
    assert set(trimmed.json()) == {"id", "href", "@type", "postcode"}
    await _get(client, customer, "/geographicAddress/loc_nope", "/geographicAddress/{id}", 404)

    subs = await _get(
        client,
        customer,
        f"/geographicAddress/{known}/geographicSubAddress",
        "/geographicAddress/{geographicAddressId}/geographicSubAddress",
    )
    assert subs.json() == []
    assert subs.headers["x-total-count"] == "0"
    await _get(
        client,
        customer,
        "/geographicAddress/loc_nope/geographicSubAddress",
        "/geographicAddress/{geographicAddressId}/geographicSubAddress",
        404,
    )
    await _get(
        client,
        customer,
        f"/geographicAddress/{known}/geographicSubAddress/x",
        "/geographicAddress/{geographicAddressId}/geographicSubAddress/{id}",
        404,
    )


async def test_validation_is_kept_read_back_and_private(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    created = await _validate(
        client,
        customer,
        {
            "provideAlternative": True,
            "submittedGeographicAddress": {
                "streetNr": "350",
                "streetName": "E Cermak",
                "streetType": "Rd",
                "city": "Chicago",
                "stateOrProvince": "IL",
                "postcode": "60616",
            },
        },
    )
    assert created.status_code == 201, created.text
    found = created.json()
    assert created.headers["location"] == found["href"]
    assert found["validationResult"] == "success"
    assert found["state"] == "done"
    assert found["validGeographicAddress"]["id"] == await location_id(session, CHICAGO)

    read = await _get(
        client,
        customer,
        f"/geographicAddressValidation/{found['id']}",
        "/geographicAddressValidation/{id}",
    )
    assert read.json() == found

    vague = await _validate(
        client,
        customer,
        {"provideAlternative": True, "submittedGeographicAddress": {"name": "350 Cermak, Chicago"}},
    )
    assert vague.status_code == 201
    assert vague.json()["validationResult"] in {"partial", "fails"}
    assert "validGeographicAddress" not in vague.json()
    assert vague.json()["alternateGeographicAddress"]
    silent = await _validate(
        client,
        customer,
        {
            "provideAlternative": False,
            "submittedGeographicAddress": {"name": "350 Cermak, Chicago"},
        },
    )
    assert silent.json()["alternateGeographicAddress"] == []
    assert silent.json()["provideAlternative"] is False

    listed = await _get(
        client,
        customer,
        "/geographicAddressValidation",
        "/geographicAddressValidation",
    )
    assert listed.headers["x-total-count"] == "3"
    successes = await _get(
        client,
        customer,
        "/geographicAddressValidation",
        "/geographicAddressValidation",
        validationResult="success",
        fields="validGeographicAddress.city",
    )
    assert [v["id"] for v in successes.json()] == [found["id"]]
    assert successes.json()[0]["validGeographicAddress"] == {
        "id": found["validGeographicAddress"]["id"],
        "href": found["validGeographicAddress"]["href"],
        "@type": "GeographicAddress",
        "city": "Chicago",
    }
    dated = await _get(
        client,
        customer,
        "/geographicAddressValidation",
        "/geographicAddressValidation",
        **{"validationDate.gte": found["validationDate"]},
    )
    assert len(dated.json()) == 3

    # Another party sees none of them.
    theirs = await _get(
        client, other_customer, "/geographicAddressValidation", "/geographicAddressValidation"
    )
    assert theirs.json() == []
    assert theirs.headers["x-total-count"] == "0"
    await _get(
        client,
        other_customer,
        f"/geographicAddressValidation/{found['id']}",
        "/geographicAddressValidation/{id}",
        404,
    )
    patched = await client.patch(
        f"{BASE}/geographicAddressValidation/{found['id']}",
        headers=other_customer.headers,
        json={"provideAlternative": not found["provideAlternative"]},
    )
    assert patched.status_code == 404
    check_response(SPEC, "/geographicAddressValidation/{id}", "patch", 404, patched.json())


async def test_validation_refuses_bodies_without_mandatory_attributes(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    for body in (
        {"provideAlternative": True},
        {"submittedGeographicAddress": {"city": "Chicago"}},
        {"provideAlternative": True, "submittedGeographicAddress": {}},
    ):
        refused = await _validate(client, customer, body)
        assert refused.status_code == 400
        assert refused.json()["code"] == "MISSING_ATTRIBUTE"


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


async def test_a_patched_validation_is_validated_again(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    created = await _validate(
        client,
        customer,
        {"provideAlternative": False, "submittedGeographicAddress": {"name": CHICAGO}},
    )
    path = f"{BASE}/geographicAddressValidation/{created.json()['id']}"
    again = await client.patch(
        path,
        headers=customer.headers,
        json={"submittedGeographicAddress": {"name": "1950 N Stemmons Fwy, Dallas, TX 75207"}},
    )
    assert again.status_code == 200, again.text
    check_response(SPEC, "/geographicAddressValidation/{id}", "patch", 200, again.json())
    assert again.json()["id"] == created.json()["id"]
    assert again.json()["validGeographicAddress"]["city"] == "Dallas"
    refused = await client.patch(path, headers=customer.headers, json={"validationResult": "fails"})
    assert refused.status_code == 400
    assert refused.json()["code"] == "NOT_PATCHABLE"
    check_response(SPEC, "/geographicAddressValidation/{id}", "patch", 400, refused.json())


async def test_the_api_answers_as_a_conformance_kit_checks_it(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    addresses = Kit(client, customer, SPEC, BASE, "geographicAddress", mandatory=("id", "href"))
    known = await location_id(session, CHICAGO)
    address = (await addresses.call("GET", f"/geographicAddress/{known}", 200)).json()
    await addresses.filters_and_fields(address)
    await addresses.unknown_is_404()

    validations = Kit(
        client,
        customer,
        SPEC,
        BASE,
        "geographicAddressValidation",
        mandatory=("id", "href", "provideAlternative", "submittedGeographicAddress", "state"),
    )
    created = await validations.create(
        {
            "provideAlternative": False,
            "submittedGeographicAddress": {"streetNr": "350", "streetName": "E Cermak Rd"},
        }
    )
    await validations.filters_and_fields(created)
    patched = await validations.patch(
        created,
        {
            "provideAlternative": True,
            "submittedGeographicAddress": {"city": "Chicago", "postcode": "60616"},
        },
    )
    outcome = ("state", "validationResult", "validGeographicAddress", "alternateGeographicAddress")
    await validations.patch(patched, {k: patched[k] for k in outcome})
    await validations.unknown_is_404()


async def test_lists_cost_the_same_statements_for_ten_and_a_thousand_rows(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    location = await session.get(Location, await location_id(session, CHICAGO))
    assert location is not None
    check = await geography.check_address(
        session, principal=customer.principal, address=geography.AddressInput(text=CHICAGO)
    )

    async def statements() -> tuple[int, str, str]:
        with counting(database) as seen:
            addresses = await _get(
                client,
                customer,
                "/geographicAddress",
                "/geographicAddress",
                **{"city": "Chicago", "postcode.gte": "60000"},
                limit="5",
            )
            checks = await _get(
                client,
                customer,
                "/geographicAddressValidation",
                "/geographicAddressValidation",
                validationResult="success",
                limit="5",
            )
        assert addresses.headers["x-result-count"] == checks.headers["x-result-count"] == "5"
        assert sum("LIMIT" in statement.upper() for statement in seen) >= 2
        return len(seen), addresses.headers["x-total-count"], checks.headers["x-total-count"]

    await copies(session, location, 10, lambda n: {"id": f"loc_few{n}", "street_number": f"{n}"})
    await copies(session, check, 9, lambda n: {"id": f"adv_few{n}"})
    few, *counted = await statements()
    await copies(
        session, location, 990, lambda n: {"id": f"loc_many{n}", "street_number": f"9{n:03d}"}
    )
    await copies(session, check, 990, lambda n: {"id": f"adv_many{n}"})
    many, *recounted = await statements()
    chicago = int(counted[0]) - 10
    assert counted == [str(chicago + 10), "10"]
    assert recounted == [str(chicago + 1000), "1000"]
    assert many == few
