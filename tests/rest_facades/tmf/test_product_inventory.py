"""TMF637 Product Inventory v4 through the ASGI app, checked against the official file."""

from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import inventory, ordering
from app.core.db import Database
from app.core.events import EntityKind, Event, EventKind
from app.core.inventory import ProductState
from rest_facades.tmf.product_inventory import describe
from tests.factories import (
    CHICAGO,
    NEW_YORK,
    Caller,
    complete,
    location_id,
    make_order,
    make_product,
)
from tests.rest_facades.tmf.conformance import check_response
from tests.statements import copies, counting

SPEC = "TMF637-ProductInventory-v4"
BASE = "/tmf-api/productInventory/v4"
ORDERING = "/tmf-api/productOrderingManagement/v4"


async def _get(
    client: httpx.AsyncClient, caller: Caller, path: str, template: str, **params: str
) -> httpx.Response:
    response = await client.get(f"{BASE}{path}", headers=caller.headers, params=params)
    assert response.status_code == 200, response.text
    check_response(SPEC, template, "get", 200, response.json())
    return response


async def test_products_are_listed_read_filtered_and_trimmed(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    product = await make_product(session, customer)
    await make_order(session, customer)  # not delivered yet: no product
    listed = await _get(client, customer, "/product", "/product")
    assert listed.headers["x-total-count"] == "1"
    [view] = listed.json()
    assert view["id"] == product.id
    assert view["status"] == "active"
    assert view["productOffering"]["id"] == "ethernet-line"
    characteristics = {c["name"]: c["value"] for c in view["productCharacteristic"]}
    assert characteristics == {"bandwidth": 1000, "termMonths": 12, "classOfService": "standard"}
    assert [p["id"] for p in view["place"]] == [product.a_site_id, product.z_site_id]
    assert view["relatedParty"][0]["id"] == customer.party_id
    assert view["productPrice"][0]["price"]["dutyFreeAmount"]["value"] > 0
    fast = await _get(
        client, customer, "/product", "/product", **{"productCharacteristic.value.gte": "1000"}
    )
    assert len(fast.json()) == 1
    slow = await _get(
        client, customer, "/product", "/product", **{"productCharacteristic.value.lt": "10"}
    )
    assert slow.json() == []
    active = await _get(client, customer, "/product", "/product", **{"status": "active,suspended"})
    assert len(active.json()) == 1
    trimmed = await _get(client, customer, "/product", "/product", fields="status")
    assert set(trimmed.json()[0]) == {"id", "href", "@type", "status"}
    read = await _get(client, customer, f"/product/{product.id}", "/product/{id}")
    assert read.json() == view
    missing = await client.get(f"{BASE}/product/prd_nope", headers=customer.headers)
    assert missing.status_code == 404
    check_response(SPEC, "/product/{id}", "get", 404, missing.json())


async def test_a_product_ordered_through_tmf622_shows_once_delivered(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    ends = [await location_id(session, CHICAGO), await location_id(session, NEW_YORK)]
    body = {
        "productOrderItem": [
            {
                "id": "line-1",
                "action": "add",
                "productOffering": {"id": "ethernet-line"},
                "product": {
                    "productCharacteristic": [
                        {"name": "bandwidth", "value": 100},
                        {"name": "termMonths", "value": 24},
                        {"name": "classOfService", "value": "priority"},
                    ],
                    "place": [{"id": e, "role": r} for e, r in zip(ends, "AZ", strict=True)],
                },
            }
        ]
    }
    placed = await client.post(f"{ORDERING}/productOrder", headers=customer.headers, json=body)
    assert placed.status_code == 201, placed.text
    assert (await _get(client, customer, "/product", "/product")).json() == []
    core = await ordering.get_order(
        session, principal=customer.principal, order_id=placed.json()["id"]
    )
    await complete(session, core.order)
    [view] = (await _get(client, customer, "/product", "/product")).json()
    assert view["status"] == "active"
    assert {c["name"]: c["value"] for c in view["productCharacteristic"]} == {
        "bandwidth": 100,
        "termMonths": 24,
        "classOfService": "priority",
    }
    assert view["productOrderItem"] == [
        {
            "productOrderId": core.order.id,
            "productOrderHref": placed.json()["href"],
            "orderItemId": "line-1",
            "orderItemAction": "add",
            "@referredType": "ProductOrderItem",
        }
    ]
    order = await client.get(placed.json()["href"], headers=customer.headers)
    assert order.json()["state"] == "completed"
    assert order.json()["productOrderItem"][0]["product"]["id"] == view["id"]


async def test_changes_are_for_operations_staff_only(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    product = await make_product(session, customer)
    url = f"{BASE}/product/{product.id}"
    refused = await client.patch(url, headers=customer.headers, json={"status": "suspended"})
    assert refused.status_code == 403
    check_response(SPEC, "/product/{id}", "patch", 403, refused.json())
    for content_type in ("application/merge-patch+json", "application/json"):
        for status in ("suspended", "active"):
            patched = await client.patch(
                url,
                headers=ops.headers | {"Content-Type": content_type},
                content=b'{"status": "' + status.encode() + b'"}',
            )
            assert patched.status_code == 200, patched.text
            check_response(SPEC, "/product/{id}", "patch", 200, patched.json())
            assert patched.json()["status"] == status
    bad = await client.patch(url, headers=ops.headers, json={"name": "x"})
    assert bad.status_code == 400
    assert "name" in bad.json()["reason"]
    check_response(SPEC, "/product/{id}", "patch", 400, bad.json())
    # Every attribute of Product_Update is taken: what the product already says may be repeated.
    whole = (await client.get(url, headers=ops.headers)).json()
    repeated = await client.patch(url, headers=ops.headers, json=whole | {"status": "suspended"})
    assert repeated.status_code == 200, repeated.text
    assert repeated.json()["status"] == "suspended"
    check_response(SPEC, "/product/{id}", "patch", 200, repeated.json())
    created = await client.post(f"{BASE}/product", headers=ops.headers, json={"status": "active"})
    assert created.status_code == 405
    check_response(SPEC, "/product", "post", 405, created.json())
    deleted = await client.delete(url, headers=ops.headers)
    assert deleted.status_code == 405
    check_response(SPEC, "/product/{id}", "delete", 405, deleted.json())


async def test_another_enterprises_products_do_not_exist(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    product = await make_product(session, customer)
    url = f"{BASE}/product/{product.id}"
    assert (await client.get(url, headers=other_customer.headers)).status_code == 404
    assert (await client.delete(url, headers=other_customer.headers)).status_code == 404
    listed = await _get(client, other_customer, "/product", "/product")
    assert listed.json() == []
    again = await inventory.get_product(
        session, principal=customer.principal, product_id=product.id
    )
    assert again.state is ProductState.ACTIVE


async def test_hub_and_event_descriptions(client: httpx.AsyncClient, customer: Caller) -> None:
    hub = await client.post(
        f"{BASE}/hub", headers=customer.headers, json={"callback": "http://example.com/cb"}
    )
    assert hub.status_code == 201, hub.text
    check_response(SPEC, "/hub", "post", 201, hub.json())
    removed = await client.delete(f"{BASE}/hub/{hub.json()['id']}", headers=customer.headers)
    assert removed.status_code == 204
    event = Event(
        party_id="p",
        entity=EntityKind.PRODUCT,
        entity_id="prd_1",
        kind=EventKind.STATE_CHANGED,
        state="pending_terminate",
    )
    expected: tuple[str, dict[str, Any]] = (
        "product",
        {"id": "prd_1", "@type": "Product", "status": "pendingTerminate"},
    )
    assert describe(event) == expected
    order_event = Event(
        party_id="p", entity=EntityKind.ORDER, entity_id="o", kind=EventKind.CREATED
    )
    assert describe(order_event) is None


async def test_a_page_costs_the_same_statements_for_10_and_1000_products(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    product = await make_product(session, customer)

    async def page() -> int:
        with counting(database) as statements:
            listed = await client.get(
                f"{BASE}/product",
                headers=customer.headers,
                params={"limit": "20", "status": "active", "orderDate.gte": "2000-01-01"},
            )
        assert listed.status_code == 200, listed.text
        assert len(listed.json()) == min(20, int(listed.headers["x-total-count"]))
        return len(statements)

    await copies(session, product, 9, lambda n: {"id": f"prd_few{n}"})
    few = await page()
    await copies(session, product, 990, lambda n: {"id": f"prd_many{n}"})
    many = await page()
    assert many == few


async def test_filters_on_stored_attributes_count_in_the_database(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    product = await make_product(session, customer)
    await copies(session, product, 4, lambda n: {"id": f"prd_same{n}"})
    await copies(
        session, product, 3, lambda n: {"id": f"prd_gone{n}", "state": ProductState.TERMINATED}
    )
    active = await _get(client, customer, "/product", "/product", status="active", limit="2")
    assert active.headers["x-total-count"] == "5"
    assert active.headers["x-result-count"] == "2"
    ended = await _get(client, customer, "/product", "/product", status="terminated,suspended")
    assert {p["status"] for p in ended.json()} == {"terminated"}
    assert ended.headers["x-total-count"] == "3"
    later = await _get(
        client, customer, "/product", "/product", **{"orderDate.gt": "2999-01-01T00:00:00Z"}
    )
    assert later.json() == []
    bad = await client.get(
        f"{BASE}/product", headers=customer.headers, params={"orderDate.gt": "soon"}
    )
    assert bad.status_code == 400
    assert bad.json()["@type"] == "Error"
    assert "orderDate" in bad.json()["reason"]
    too_many = await client.get(f"{BASE}/product", headers=customer.headers, params={"limit": "x"})
    assert too_many.status_code == 400
    assert "limit" in too_many.json()["reason"]
