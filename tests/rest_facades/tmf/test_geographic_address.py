"""TMF673 Geographic Address v4 through the ASGI app, checked against the official file."""

from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.factories import CHICAGO, Caller, location_id
from tests.rest_facades.tmf.conformance import check_response

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


async def test_a_validation_cannot_be_patched(client: httpx.AsyncClient, customer: Caller) -> None:
    created = await _validate(
        client,
        customer,
        {"provideAlternative": False, "submittedGeographicAddress": {"name": CHICAGO}},
    )
    refused = await client.patch(
        f"{BASE}/geographicAddressValidation/{created.json()['id']}",
        headers=customer.headers,
        json={"provideAlternative": True},
    )
    assert refused.status_code == 405
    check_response(SPEC, "/geographicAddressValidation/{id}", "patch", 405, refused.json())
