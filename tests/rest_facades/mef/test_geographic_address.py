"""MEF 121 Address Validation on both flavours, checked against the official files."""

from typing import Any

import httpx
import pytest

from tests.factories import Caller, make_caller
from tests.rest_facades.mef.conformance import check_response
from tests.rest_facades.mef.conftest import AUDIENCE_BY_FLAVOUR

BASES = {
    "sonata": "/mefApi/sonata/geographicAddressManagement/v7",
    "cantata": "/mefApi/cantata/geographicAddressManagement/v1",
}
API = "geographic_address"


@pytest.fixture(params=sorted(BASES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs on Sonata and on Cantata."""
    name: str = request.param
    return name


async def _validate(
    client: httpx.AsyncClient, flavour: str, caller: Caller, address: dict[str, Any]
) -> httpx.Response:
    response = await client.post(
        f"{BASES[flavour]}/geographicAddressValidation",
        headers=caller.headers,
        json={"provideAlternative": True, "submittedGeographicAddress": address},
    )
    check_response(
        flavour, API, "/geographicAddressValidation", "post", response.status_code, response.json()
    )
    return response


async def test_a_fielded_address_validates_to_the_known_building(
    client: httpx.AsyncClient, customer: Caller, flavour: str
) -> None:
    response = await _validate(
        client,
        flavour,
        customer,
        {
            "@type": "FieldedAddress",
            "streetNr": "350",
            "streetName": "E Cermak Rd",
            "city": "Chicago",
            "stateOrProvince": "IL",
            "postcode": "60616",
            "country": "US",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    answer = response.json()
    assert answer["validationResult"] == "success"
    best = answer["bestMatchGeographicAddress"]
    assert (best["streetNr"], best["streetName"], best["postcode"]) == (
        "350",
        "E Cermak Rd",
        "60616",
    )
    assert best["href"].endswith(f"{BASES[flavour]}/geographicAddress/{best['id']}")
    assert answer["submittedGeographicAddress"]["streetNr"] == "350"

    fetched = await client.get(
        f"{BASES[flavour]}/geographicAddress/{best['id']}", headers=customer.headers
    )
    check_response(
        flavour, API, "/geographicAddress/{id}", "get", fetched.status_code, fetched.json()
    )
    assert fetched.json() == best


async def test_formatted_points_and_labels(
    client: httpx.AsyncClient, customer: Caller, flavour: str
) -> None:
    formatted = await _validate(
        client,
        flavour,
        customer,
        {
            "@type": "FormattedAddress",
            "addrLine1": "60 Hudson Street",
            "city": "New York",
            "stateOrProvince": "NY",
            "postcode": "10013",
            "country": "USA",
        },
    )
    assert formatted.json()["validationResult"] == "success"
    point = await _validate(
        client,
        flavour,
        customer,
        {
            "@type": "MEFGeographicPoint",
            "spatialRef": "WGS84",
            "x": "-87.619",
            "y": "41.8532",
        },
    )
    assert point.json()["bestMatchGeographicAddress"]["streetName"] == "E Cermak Rd"
    location_id = point.json()["bestMatchGeographicAddress"]["id"]
    label = await _validate(
        client,
        flavour,
        customer,
        {
            "@type": "GeographicAddressLabel",
            "externalReferenceId": location_id,
            "externalReferenceType": "lumen",
        },
    )
    assert label.json()["bestMatchGeographicAddress"]["id"] == location_id


async def test_near_misses_give_alternatives_and_unknowns_fail(
    client: httpx.AsyncClient, customer: Caller, flavour: str
) -> None:
    partial = await _validate(
        client,
        flavour,
        customer,
        {
            "@type": "FieldedAddress",
            "streetNr": "350",
            "streetName": "Cermak",
            "city": "Chicago",
            "country": "US",
        },
    )
    assert partial.json()["validationResult"] == "partial"
    assert "bestMatchGeographicAddress" not in partial.json()
    assert partial.json()["alternateGeographicAddress"][0]["postcode"] == "60616"
    unknown = await _validate(
        client,
        flavour,
        customer,
        {
            "@type": "FieldedAddress",
            "streetNr": "1",
            "streetName": "Nowhere Lane",
            "city": "Atlantis",
            "country": "US",
        },
    )
    assert unknown.json()["validationResult"] == "fail"


async def test_bad_requests_get_the_specs_error_bodies(
    client: httpx.AsyncClient, customer: Caller, flavour: str
) -> None:
    url = f"{BASES[flavour]}/geographicAddressValidation"
    missing = await client.post(
        url,
        headers=customer.headers,
        json={
            "provideAlternative": True,
            "submittedGeographicAddress": {
                "@type": "FieldedAddress",
                "streetName": "Main St",
                "country": "US",
            },
        },
    )
    assert missing.status_code == 422
    check_response(flavour, API, "/geographicAddressValidation", "post", 422, missing.json())
    assert {"code": "missingProperty", "propertyPath": "/submittedGeographicAddress/city"} in [
        {k: e[k] for k in ("code", "propertyPath")} for e in missing.json()
    ]
    wrong_type = await client.post(
        url,
        headers=customer.headers,
        json={
            "provideAlternative": True,
            "submittedGeographicAddress": {"@type": "Castle"},
        },
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json()[0]["propertyPath"].startswith("/submittedGeographicAddress")
    not_json = await client.post(url, headers=customer.headers, content=b"{oops")
    assert not_json.status_code == 400
    check_response(flavour, API, "/geographicAddressValidation", "post", 400, not_json.json())
    assert not_json.json()["code"] == "invalidBody"
    nobody = await client.post(url, json={})
    assert nobody.status_code == 401
    check_response(flavour, API, "/geographicAddressValidation", "post", 401, nobody.json())
    unknown = await client.get(
        f"{BASES[flavour]}/geographicAddress/loc_nope", headers=customer.headers
    )
    assert unknown.status_code == 404
    check_response(flavour, API, "/geographicAddress/{id}", "get", 404, unknown.json())


async def test_buyer_and_seller_ids(
    client: httpx.AsyncClient,
    session: Any,
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
    url = f"{BASES[flavour]}/geographicAddress/loc_nope"
    # Acting for several buyers, the agent must say which one (MEF 123 R2 to R6).
    refused = await client.get(url, headers=agent.headers)
    assert refused.status_code == 400
    assert refused.json()["code"] == "missingQueryParameter"
    stranger = await client.get(url, headers=agent.headers, params={"buyerId": "pty_nobody"})
    assert stranger.status_code == 404
    seller = await client.get(url, headers=customer.headers, params={"sellerId": "acme"})
    assert seller.status_code == 404
