"""TMF620 Product Catalog v4 through the ASGI app, checked against the official file."""

from typing import Any

import httpx

from tests.factories import Caller
from tests.rest_facades.tmf.conformance import check_response

SPEC = "TMF620-ProductCatalog-v4"
BASE = "/tmf-api/productCatalogManagement/v4"


async def _get(
    client: httpx.AsyncClient, caller: Caller, path: str, template: str, **params: str
) -> Any:
    status = 200
    response = await client.get(f"{BASE}{path}", headers=caller.headers, params=params)
    assert response.status_code == status, response.text
    check_response(SPEC, template, "get", status, response.json())
    return response


async def test_offerings_are_listed_filtered_and_trimmed(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    listed = await _get(client, customer, "/productOffering", "/productOffering")
    assert listed.headers["x-total-count"] == "3"
    assert listed.headers["x-result-count"] == "3"
    assert {o["id"] for o in listed.json()} == {"ethernet-line", "ethernet-port", "internet-access"}
    assert all(o["href"].startswith("http") for o in listed.json())
    lines = await _get(
        client,
        customer,
        "/productOffering",
        "/productOffering",
        **{"productSpecification.id": "ethernet_line"},
    )
    assert [o["id"] for o in lines.json()] == ["ethernet-line"]
    either = await _get(
        client,
        customer,
        "/productOffering",
        "/productOffering",
        **{"productSpecification.id": "ethernet_line,ethernet_port"},
    )
    assert len(either.json()) == 2
    fast = await _get(
        client,
        customer,
        "/productOffering",
        "/productOffering",
        **{"prodSpecCharValueUse.productSpecCharacteristicValue.value.gte": "100000"},
    )
    assert {o["id"] for o in fast.json()} == {"ethernet-line", "ethernet-port", "internet-access"}
    trimmed = await _get(
        client,
        customer,
        "/productOffering",
        "/productOffering",
        fields="name,category.name",
        limit="1",
        offset="1",
    )
    assert trimmed.headers["x-total-count"] == "3"
    [one] = trimmed.json()
    assert set(one) == {"id", "href", "@type", "name", "category"}
    assert set(one["category"][0]) == {"id", "href", "name"}
    one_offering = await _get(
        client, customer, "/productOffering/ethernet-line", "/productOffering/{id}", fields="name"
    )
    assert set(one_offering.json()) == {"id", "href", "@type", "name"}


async def test_the_other_catalog_resources(client: httpx.AsyncClient, customer: Caller) -> None:
    for path in ("/productOfferingPrice", "/productSpecification", "/category", "/catalog"):
        listed = await _get(client, customer, path, path)
        assert listed.json()
        first = listed.json()[0]
        fetched = await _get(client, customer, f"{path}/{first['id']}", f"{path}/{{id}}")
        assert fetched.json() == first
        missing = await client.get(f"{BASE}{path}/nope", headers=customer.headers)
        assert missing.status_code == 404
        check_response(SPEC, f"{path}/{{id}}", "get", 404, missing.json())
        assert missing.json()["code"] == "NOT_FOUND"


async def test_ops_create_patch_and_delete_offerings(
    client: httpx.AsyncClient, customer: Caller, ops: Caller
) -> None:
    body = {
        "name": "Wavelength 100G",
        "productSpecification": {"id": "ethernet_line"},
        "prodSpecCharValueUse": [
            {
                "name": "bandwidth",
                "productSpecCharacteristicValue": [{"value": 10000}, {"value": 100000}],
            }
        ],
    }
    refused = await client.post(f"{BASE}/productOffering", json=body, headers=customer.headers)
    assert refused.status_code == 403
    check_response(SPEC, "/productOffering", "post", 403, refused.json())
    missing = await client.post(
        f"{BASE}/productOffering", json={"description": "x"}, headers=ops.headers
    )
    assert missing.status_code == 400
    check_response(SPEC, "/productOffering", "post", 400, missing.json())

    created = await client.post(f"{BASE}/productOffering", json=body, headers=ops.headers)
    assert created.status_code == 201
    check_response(SPEC, "/productOffering", "post", 201, created.json())
    offering = created.json()
    assert created.headers["location"] == offering["href"]
    assert [
        v["value"] for v in offering["prodSpecCharValueUse"][0]["productSpecCharacteristicValue"]
    ] == [10000, 100000]

    for media_type in ("application/merge-patch+json", "application/json"):
        patched = await client.patch(
            f"{BASE}/productOffering/{offering['id']}",
            headers={**ops.headers, "Content-Type": media_type},
            content=b'{"description": "Dedicated waves", "name": "Wave"}',
        )
        assert patched.status_code == 200
        check_response(SPEC, "/productOffering/{id}", "patch", 200, patched.json())
        assert (patched.json()["name"], patched.json()["description"]) == (
            "Wave",
            "Dedicated waves",
        )
    by_customer = await client.patch(
        f"{BASE}/productOffering/{offering['id']}", json={"name": "Mine"}, headers=customer.headers
    )
    assert by_customer.status_code == 403

    gone = await client.delete(f"{BASE}/productOffering/{offering['id']}", headers=ops.headers)
    assert gone.status_code == 204
    after = await client.get(f"{BASE}/productOffering/{offering['id']}", headers=customer.headers)
    assert after.status_code == 404
    check_response(SPEC, "/productOffering/{id}", "get", 404, after.json())


async def test_reads_need_a_key(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/productOffering")
    assert response.status_code == 401
    check_response(SPEC, "/productOffering", "get", 401, response.json())


async def test_listeners_register_and_unregister(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    hub = await client.post(
        f"{BASE}/hub", headers=customer.headers, json={"callback": "http://buyer.example/tmf"}
    )
    assert hub.status_code == 201
    check_response(SPEC, "/hub", "post", 201, hub.json())
    gone = await client.delete(f"{BASE}/hub/{hub.json()['id']}", headers=customer.headers)
    assert gone.status_code == 204
    again = await client.delete(f"{BASE}/hub/{hub.json()['id']}", headers=customer.headers)
    assert again.status_code == 404
