"""TMF620 Product Catalog v4 through the ASGI app, checked against the official file."""

import json
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.catalog import Catalog, Category, Offering, OfferingPrice, Specification
from app.core.db import Database
from tests.factories import CHICAGO, NEW_YORK, Caller, location_id
from tests.rest_facades.tmf.conformance import check_response
from tests.rest_facades.tmf.kit import Kit
from tests.statements import copies, counting

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


# What a conformance kit does with each resource: the body it creates (the conformance
# profile's attributes), the attributes it then filters on, and a patch.
RESOURCES: dict[str, tuple[dict[str, Any], list[str], dict[str, Any]]] = {
    "/productSpecification": (
        {
            "name": "Wavelength",
            "description": "A dedicated wave",
            "brand": "Lumen",
            "version": "2.0",
            "lifecycleStatus": "Active",
            "productSpecCharacteristic": [
                {
                    "name": "wavelength",
                    "valueType": "integer",
                    "productSpecCharacteristicValue": [
                        {"value": 1550, "unitOfMeasure": "nm", "isDefault": True},
                        {"value": 1310, "unitOfMeasure": "nm"},
                    ],
                }
            ],
            "validFor": {
                "startDateTime": "2026-01-01T00:00:00Z",
                "endDateTime": "2030-01-01T00:00:00Z",
            },
            "@type": "ProductSpecification",
        },
        ["id", "name", "description", "brand", "version", "lifecycleStatus"],
        {"description": "A dedicated wave, 100G", "brand": "Lumen Optical"},
    ),
    "/category": (
        {
            "name": "Optical",
            "description": "Waves",
            "version": "1.1",
            "isRoot": True,
            "validFor": {"startDateTime": "2026-02-01T00:00:00Z"},
        },
        ["id", "name", "description", "version", "lifecycleStatus", "isRoot"],
        {"description": "Waves and dark fibre"},
    ),
    "/catalog": (
        {
            "name": "Wholesale",
            "description": "What carriers buy",
            "catalogType": "ProductCatalog",
            "version": "1.0",
            "category": [{"id": "connectivity"}],
        },
        ["id", "name", "description", "catalogType", "version", "lifecycleStatus"],
        {"description": "What carriers and resellers buy"},
    ),
    "/productOfferingPrice": (
        {
            "name": "Wave monthly",
            "description": "Monthly charge",
            "priceType": "recurring",
            "recurringChargePeriodType": "month",
            "recurringChargePeriodLength": 1,
            "price": {"unit": "USD", "value": 1250.5},
            "version": "1.0",
        },
        ["id", "name", "description", "priceType", "version", "lifecycleStatus"],
        {"price": {"unit": "USD", "value": 1100}},
    ),
    "/productOffering": (
        {
            "name": "Wave 10G",
            "description": "Ethernet line over a dedicated wave",
            "productSpecification": {"id": "ethernet_line"},
            "category": [{"id": "connectivity"}],
            "lifecycleStatus": "In design",
        },
        ["id", "name", "description", "lifecycleStatus"],
        {"description": "Ethernet over a dedicated wave"},
    ),
}


def _value(item: dict[str, Any], dotted: str) -> str:
    value = item[dotted]
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("path", list(RESOURCES))
async def test_each_resource_is_created_read_listed_filtered_patched_and_deleted(
    client: httpx.AsyncClient, customer: Caller, ops: Caller, path: str
) -> None:
    body, filtered, patch = RESOURCES[path]
    refused = await client.post(f"{BASE}{path}", json=body, headers=customer.headers)
    assert refused.status_code == 403
    check_response(SPEC, path, "post", 403, refused.json())

    created = await client.post(f"{BASE}{path}", json=body, headers=ops.headers)
    assert created.status_code == 201, created.text
    check_response(SPEC, path, "post", 201, created.json())
    made = created.json()
    assert created.headers["location"] == made["href"]
    for name in ("name", "description", "version", "brand", "catalogType", "priceType", "validFor"):
        if name in body:
            assert made[name] == body[name], name
    read = await _get(client, ops, f"{path}/{made['id']}", f"{path}/{{id}}")
    assert read.json() == made

    listed = await _get(client, ops, path, path)
    assert made["id"] in [i["id"] for i in listed.json()]
    for name in filtered:
        found = await _get(client, ops, path, path, **{name: _value(made, name)})
        assert made["id"] in [i["id"] for i in found.json()], name
        assert all(_value(i, name) == _value(made, name) for i in found.json()), name
        assert found.headers["x-total-count"] == str(len(found.json()))
    later = await _get(client, ops, path, path, **{"lastUpdate.gt": "2999-01-01T00:00:00Z"})
    assert later.json() == []
    trimmed = await _get(client, ops, path, path, fields="name", id=made["id"])
    assert [set(i) for i in trimmed.json()] == [{"id", "href", "@type", "name"}]
    # Every attribute it shows, at any dotted path, filters in SQL.
    await Kit(client, ops, SPEC, BASE, path.removeprefix("/")).filters_in_sql(made)

    for media_type in ("application/merge-patch+json", "application/json"):
        patched = await client.patch(
            f"{BASE}{path}/{made['id']}",
            headers={**ops.headers, "Content-Type": media_type},
            content=json.dumps(patch).encode(),
        )
        assert patched.status_code == 200, patched.text
        check_response(SPEC, f"{path}/{{id}}", "patch", 200, patched.json())
        for name, value in patch.items():
            assert patched.json()[name] == value
        assert patched.json()["name"] == body["name"]
    by_customer = await client.patch(
        f"{BASE}{path}/{made['id']}", json=patch, headers=customer.headers
    )
    assert by_customer.status_code == 403

    assert (
        await client.delete(f"{BASE}{path}/{made['id']}", headers=customer.headers)
    ).status_code == 403
    gone = await client.delete(f"{BASE}{path}/{made['id']}", headers=ops.headers)
    assert gone.status_code == 204
    after = await client.get(f"{BASE}{path}/{made['id']}", headers=ops.headers)
    assert after.status_code == 404
    check_response(SPEC, f"{path}/{{id}}", "get", 404, after.json())
    assert (await _get(client, ops, path, path, id=made["id"])).json() == []


@pytest.mark.parametrize("path", list(RESOURCES))
async def test_a_name_is_all_a_resource_needs_and_none_is_refused(
    client: httpx.AsyncClient, ops: Caller, path: str
) -> None:
    created = await client.post(f"{BASE}{path}", json={"name": "Minimal"}, headers=ops.headers)
    assert created.status_code == 201, created.text
    check_response(SPEC, path, "post", 201, created.json())
    backwards = {"startDateTime": "2027-01-01T00:00:00Z", "endDateTime": "2026-01-01T00:00:00Z"}
    for bad in (
        {},
        {"name": 7},
        {"name": "x", "lifecycleStatus": "Sleeping"},
        {"name": "x", "validFor": backwards},
        {"name": "x", "isBundle": True},
    ):
        refused = await client.post(f"{BASE}{path}", json=bad, headers=ops.headers)
        assert refused.status_code == 400, (bad, refused.text)
        check_response(SPEC, path, "post", 400, refused.json())


ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"


async def _order(
    client: httpx.AsyncClient, session: AsyncSession, caller: Caller, offering: str, mbps: int
) -> httpx.Response:
    """A TMF622 order for one Ethernet line of an offering, Chicago to New York."""
    ends = [
        {"id": await location_id(session, CHICAGO), "role": "A-End"},
        {"id": await location_id(session, NEW_YORK), "role": "Z-End"},
    ]
    item = {
        "id": "1",
        "action": "add",
        "productOffering": {"id": offering},
        "product": {
            "productCharacteristic": [
                {"name": "bandwidth", "value": mbps},
                {"name": "termMonths", "value": 12},
            ],
            "place": [e | {"@referredType": "GeographicAddress"} for e in ends],
        },
    }
    return await client.post(ORDERS, headers=caller.headers, json={"productOrderItem": [item]})


async def test_an_offering_goes_on_sale_once_it_has_a_delivered_specification_and_a_price(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    price = await client.post(
        f"{BASE}/productOfferingPrice",
        headers=ops.headers,
        json={"name": "Wave", "priceType": "recurring", "price": {"unit": "USD", "value": 900}},
    )
    assert price.status_code == 201, price.text
    body = {
        "name": "Wave 10G",
        "productSpecification": {"id": "ethernet_line"},
        "prodSpecCharValueUse": [
            {"name": "bandwidth", "productSpecCharacteristicValue": [{"value": 10000}]}
        ],
    }
    created = await client.post(f"{BASE}/productOffering", headers=ops.headers, json=body)
    offering = created.json()
    assert (offering["lifecycleStatus"], offering["isSellable"]) == ("In design", False)
    assert "price" in offering["statusReason"]
    # Not on sale: buyers neither see nor order it.
    hidden = await client.get(f"{BASE}/productOffering/{offering['id']}", headers=customer.headers)
    assert hidden.status_code == 404
    refused = await _order(client, session, customer, offering["id"], 10000)
    assert refused.status_code == 400, refused.text

    priced = await client.patch(
        f"{BASE}/productOffering/{offering['id']}",
        headers=ops.headers,
        json={"productOfferingPrice": [{"id": price.json()["id"]}]},
    )
    assert priced.status_code == 200, priced.text
    assert (priced.json()["lifecycleStatus"], priced.json()["isSellable"]) == ("Active", True)
    assert "statusReason" not in priced.json()
    assert [p["id"] for p in priced.json()["productOfferingPrice"]] == [price.json()["id"]]
    seen = await _get(client, customer, "/productOffering", "/productOffering", id=offering["id"])
    assert [o["id"] for o in seen.json()] == [offering["id"]]
    ordered = await _order(client, session, customer, offering["id"], 10000)
    assert ordered.status_code == 201, ordered.text
    # It sells what it says, and the refusal names the characteristic.
    too_slow = await _order(client, session, customer, offering["id"], 1000)
    assert too_slow.status_code == 400
    assert "'bandwidth'" in too_slow.json()["reason"] + too_slow.json().get("message", "")

    # Its last price cannot go while it is on sale; nor can its specification.
    kept = await client.delete(
        f"{BASE}/productOfferingPrice/{price.json()['id']}", headers=ops.headers
    )
    assert kept.status_code == 409
    check_response(SPEC, "/productOfferingPrice/{id}", "delete", 409, kept.json())
    used = await client.delete(f"{BASE}/productSpecification/ethernet_line", headers=ops.headers)
    assert used.status_code == 409


async def test_an_offering_of_a_described_specification_stays_in_design(
    client: httpx.AsyncClient, ops: Caller
) -> None:
    spec = await client.post(
        f"{BASE}/productSpecification", headers=ops.headers, json={"name": "Dark fibre"}
    )
    offering = await client.post(
        f"{BASE}/productOffering",
        headers=ops.headers,
        json={
            "name": "Dark fibre pair",
            "productSpecification": {"id": spec.json()["id"]},
            "productOfferingPrice": [{"id": "ethernet-line-monthly"}],
            "lifecycleStatus": "Active",
        },
    )
    assert offering.status_code == 201, offering.text
    assert offering.json()["lifecycleStatus"] == "In design"
    assert "specification" in offering.json()["statusReason"]
    for bad in (
        {"name": "x", "productSpecification": {"id": "nope"}},
        {"name": "x", "category": [{"id": "nope"}]},
        {"name": "x", "productOfferingPrice": [{"id": "nope"}]},
        {"name": "x", "productOfferingPrice": [{"name": "inline"}]},
        {"name": "x", "statusReason": "because"},
        {
            "name": "x",
            "productSpecification": {"id": "ethernet_port"},
            "prodSpecCharValueUse": [
                {"name": "bandwidth", "productSpecCharacteristicValue": [{"value": 10}]}
            ],
        },
    ):
        refused = await client.post(f"{BASE}/productOffering", headers=ops.headers, json=bad)
        assert refused.status_code == 400, (bad, refused.text)
        check_response(SPEC, "/productOffering", "post", 400, refused.json())


async def test_specifications_publish_the_characteristics_that_orders_take(
    client: httpx.AsyncClient, customer: Caller, ops: Caller
) -> None:
    line = await _get(
        client, customer, "/productSpecification/ethernet_line", "/productSpecification/{id}"
    )
    characteristics = {c["name"]: c for c in line.json()["productSpecCharacteristic"]}
    assert set(characteristics) == {"bandwidth", "classOfService", "termMonths"}
    bandwidth = characteristics["bandwidth"]
    assert bandwidth["valueType"] == "integer"
    values = bandwidth["productSpecCharacteristicValue"]
    assert {v["unitOfMeasure"] for v in values} == {"Mbps"}
    assert [v["value"] for v in values][:3] == [10, 20, 50]
    assert [v["value"] for v in values if v["isDefault"]] == [10]
    assert {
        v["value"] for v in characteristics["classOfService"]["productSpecCharacteristicValue"]
    } == {
        "standard",
        "priority",
        "real_time",
    }
    [term] = characteristics["termMonths"]["productSpecCharacteristicValue"]
    assert (term["valueFrom"], term["valueTo"], term["unitOfMeasure"]) == (1, 60, "month")
    taking = await _get(
        client,
        customer,
        "/productSpecification",
        "/productSpecification",
        **{"productSpecCharacteristic.name": "classOfService"},
    )
    assert {s["id"] for s in taking.json()} == {"ethernet_line", "ethernet_port", "internet_access"}
    # What the platform delivers is fixed; a described specification's characteristics change.
    fixed = await client.patch(
        f"{BASE}/productSpecification/ethernet_line",
        headers=ops.headers,
        json={"productSpecCharacteristic": []},
    )
    assert fixed.status_code == 400
    described = await client.post(
        f"{BASE}/productSpecification",
        headers=ops.headers,
        json={
            "name": "Colocation",
            "productSpecCharacteristic": [{"name": "racks", "valueType": "integer"}],
        },
    )
    changed = await client.patch(
        f"{BASE}/productSpecification/{described.json()['id']}",
        headers=ops.headers,
        json={
            "productSpecCharacteristic": [
                {
                    "name": "power",
                    "valueType": "number",
                    "productSpecCharacteristicValue": [{"value": 2.5, "unitOfMeasure": "kW"}],
                }
            ]
        },
    )
    assert changed.status_code == 200, changed.text
    [power] = changed.json()["productSpecCharacteristic"]
    assert power["productSpecCharacteristicValue"] == [
        {"value": 2.5, "valueType": "number", "isDefault": False, "unitOfMeasure": "kW"}
    ]
    bad_value = await client.post(
        f"{BASE}/productSpecification",
        headers=ops.headers,
        json={
            "name": "Broken",
            "productSpecCharacteristic": [
                {
                    "name": "racks",
                    "valueType": "integer",
                    "productSpecCharacteristicValue": [{"value": "many"}],
                }
            ],
        },
    )
    assert bad_value.status_code == 400
    assert "racks" in bad_value.json()["reason"] + bad_value.json().get("message", "")


async def test_a_catalog_page_costs_the_same_statements_for_10_and_1000_entries(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    offering = await session.get(Offering, "ethernet-port")
    price = await session.get(OfferingPrice, "ethernet-port-monthly")
    assert offering is not None
    assert price is not None

    async def page(path: str, **params: str) -> int:
        with counting(database) as statements:
            listed = await client.get(
                f"{BASE}{path}", headers=customer.headers, params={"limit": "20", **params}
            )
        assert listed.status_code == 200, listed.text
        assert len(listed.json()) == min(20, int(listed.headers["x-total-count"]))
        return len(statements)

    async def cost() -> list[int]:
        return [
            await page("/productOffering", lifecycleStatus="Active"),
            await page("/productOfferingPrice", **{"price.value.gte": "0"}),
            await page("/productSpecification", brand="Lumen"),
            await page("/category", isRoot="true"),
            await page("/catalog", **{"lastUpdate.gte": "2000-01-01"}),
        ]

    entries = [
        (offering, "off"),
        (price, "pop"),
        (await session.get(Specification, "ethernet_port"), "spec"),
        (await session.get(Category, "connectivity"), "cat"),
        (await session.get(Catalog, "lumen-connectivity"), "ctl"),
    ]

    async def seed(count: int, batch: str) -> None:
        for row, prefix in entries:
            assert row is not None
            ids = [{"id": f"{prefix}_{batch}{n}"} for n in range(count)]
            await copies(session, row, count, ids.__getitem__)

    await seed(7, "few")
    few = await cost()
    await seed(990, "many")
    many = await cost()
    assert many == few
    total = await client.get(
        f"{BASE}/productOffering", headers=customer.headers, params={"limit": "1"}
    )
    assert total.headers["x-total-count"] == "1000"


async def test_the_served_document_describes_every_catalog_body(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for resource in (
        "productSpecification",
        "category",
        "catalog",
        "productOffering",
        "productOfferingPrice",
    ):
        operations = document["paths"][f"{BASE}/{resource}"]
        assert "requestBody" in operations["post"], resource
        assert "schema" in operations["post"]["responses"]["201"]["content"]["application/json"]
        assert "schema" in operations["get"]["responses"]["200"]["content"]["application/json"]
        one = document["paths"][f"{BASE}/{resource}/{{id}}"]
        assert "requestBody" in one["patch"], resource


async def test_every_attribute_of_the_official_bodies_is_kept_and_given_back(
    client: httpx.AsyncClient, customer: Caller, ops: Caller
) -> None:
    kept = {
        "channel": [{"id": "web", "name": "Web"}],
        "marketSegment": [{"id": "wholesale"}],
        "agreement": [{"id": "msa-1", "name": "Master services"}],
        "attachment": [{"url": "https://example.com/sheet.pdf", "name": "Sheet"}],
        "place": [{"id": "us", "name": "United States"}],
        "bundledProductOffering": [{"id": "ethernet-port"}],
        "serviceLevelAgreement": {"id": "sla-gold"},
    }
    created = await client.post(
        f"{BASE}/productOffering",
        headers=ops.headers,
        json={
            "name": "Wave",
            "productSpecification": {"id": "ethernet_line"},
            "productOfferingPrice": [{"id": "ethernet-line-monthly"}],
            **kept,
        },
    )
    assert created.status_code == 201, created.text
    check_response(SPEC, "/productOffering", "post", 201, created.json())
    offering_id = created.json()["id"]
    shown = await _get(client, customer, f"/productOffering/{offering_id}", "/productOffering/{id}")
    assert {k: shown.json()[k] for k in kept} == kept
    patched = await client.patch(
        f"{BASE}/productOffering/{offering_id}",
        headers={**ops.headers, "Content-Type": "application/merge-patch+json"},
        json={"channel": [{"id": "shop"}], "marketSegment": None},
    )
    assert patched.status_code == 200, patched.text
    check_response(SPEC, "/productOffering/{id}", "patch", 200, patched.json())
    assert patched.json()["channel"] == [{"id": "shop"}]
    assert "marketSegment" not in patched.json()
    assert patched.json()["agreement"] == kept["agreement"]

    party = [{"id": "ops-1", "role": "owner", "@referredType": "Organization"}]
    made = await client.post(
        f"{BASE}/catalog", headers=ops.headers, json={"name": "Main", "relatedParty": party}
    )
    assert made.status_code == 201, made.text
    check_response(SPEC, "/catalog", "post", 201, made.json())
    assert made.json()["relatedParty"] == party
    spec = await client.post(
        f"{BASE}/productSpecification",
        headers=ops.headers,
        json={"name": "Dark fibre", "productNumber": "DF-1", "relatedParty": party},
    )
    assert (spec.json()["productNumber"], spec.json()["relatedParty"]) == ("DF-1", party)
    price = await client.post(
        f"{BASE}/productOfferingPrice",
        headers=ops.headers,
        json={"name": "Setup", "priceType": "oneTime", "percentage": 5, "place": [{"id": "us"}]},
    )
    assert price.status_code == 201, price.text
    assert (price.json()["percentage"], price.json()["place"]) == (5, [{"id": "us"}])
    # What a category holds follows from its offerings: it is not set on it.
    derived = await client.post(
        f"{BASE}/category",
        headers=ops.headers,
        json={"name": "Waves", "productOffering": [{"id": offering_id}]},
    )
    assert derived.status_code == 400
    check_response(SPEC, "/category", "post", 400, derived.json())
