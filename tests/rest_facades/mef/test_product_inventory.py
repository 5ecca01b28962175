"""MEF 116 Product Inventory on both flavours, checked against the official files."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, inventory, ordering
from app.core.catalog import ProductKind, ProductSpec
from app.core.events import Channel
from app.core.inventory import ProductInstance, ProductState
from rest_facades.mef.flavours import CANTATA, SONATA
from rest_facades.mef.product_inventory import configuration
from rest_facades.mef.products import bandwidth_mbps, check_configuration, product_types
from tests.factories import (
    DALLAS,
    Caller,
    complete,
    line_spec,
    location_id,
    make_caller,
    make_order,
    make_product,
)
from tests.rest_facades.mef.configurations import minimal_configuration
from tests.rest_facades.mef.conformance import check_response
from tests.rest_facades.mef.conftest import AUDIENCE_BY_FLAVOUR

BASES = {
    "sonata": "/mefApi/sonata/productInventory/v7",
    "cantata": "/mefApi/cantata/productInventory/v1",
}
SITE_BASES = {
    "sonata": "/mefApi/sonata/geographicSiteManagement/v7",
    "cantata": "/mefApi/cantata/geographicSiteManagement/v1",
}
FLAVOURS = {"sonata": SONATA, "cantata": CANTATA}
API = "product_inventory"
LIST, ONE = "/product", "/product/{id}"


@pytest.fixture(params=sorted(BASES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs on Sonata and on Cantata."""
    name: str = request.param
    return name


async def _list(
    client: httpx.AsyncClient, flavour: str, caller: Caller, **params: Any
) -> httpx.Response:
    response = await client.get(f"{BASES[flavour]}{LIST}", headers=caller.headers, params=params)
    check_response(flavour, API, LIST, "get", response.status_code, response.json())
    return response


async def _get(
    client: httpx.AsyncClient, flavour: str, caller: Caller, product_id: str, **params: Any
) -> httpx.Response:
    response = await client.get(
        f"{BASES[flavour]}{LIST}/{product_id}", headers=caller.headers, params=params
    )
    check_response(flavour, API, ONE, "get", response.status_code, response.json())
    return response


def _ids(response: httpx.Response) -> list[str]:
    return [product["id"] for product in response.json()]


async def _internet(session: AsyncSession, caller: Caller) -> ProductInstance:
    spec = ProductSpec(
        offering_id="internet-access",
        a_location_id=await location_id(session, DALLAS),
        z_location_id=None,
        bandwidth_mbps=500,
        term_months=36,
    )
    return await make_product(session, caller, spec=spec)


async def test_products_are_listed_and_retrieved(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    line = await make_product(session, customer)
    listed = await _list(client, flavour, customer)
    assert listed.status_code == 200
    assert listed.headers["content-type"] == "application/json;charset=utf-8"
    assert (listed.headers["X-Total-Count"], listed.headers["X-Result-Count"]) == ("1", "1")
    (found,) = listed.json()
    assert found["id"] == line.id
    assert found["href"].endswith(f"{BASES[flavour]}/product/{line.id}")
    assert (found["status"], found["productOffering"]["id"]) == ("active", "ethernet-line")
    assert found["billingAccount"] == {"id": line.billing_account_id}
    assert [(s["role"], s["id"]) for s in found["relatedSite"]] == [
        ("A-End UNI Site", line.a_site_id),
        ("Z-End UNI Site", line.z_site_id),
    ]
    (item,) = found["productOrderItem"]
    assert (item["productOrderId"], item["productOrderItemId"]) == (line.order_id, "1")
    assert "productConfiguration" not in found

    # Each related site is found in MEF 122.
    site = await client.get(found["relatedSite"][0]["href"], headers=customer.headers)
    assert site.status_code == 200
    assert found["relatedSite"][0]["href"].startswith("http")
    assert SITE_BASES[flavour] in found["relatedSite"][0]["href"]

    fetched = await _get(client, flavour, customer, line.id)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "application/json;charset=utf-8"
    product = fetched.json()
    assert {k: v for k, v in product.items() if k in found} == found
    assert (
        product["productConfiguration"]["@type"]
        == product_types(FLAVOURS[flavour])[ProductKind.ETHERNET_LINE]
    )
    assert product["productSpecification"] == {"id": product["productConfiguration"]["@type"]}
    assert bandwidth_mbps(product["productConfiguration"]) == 1000
    recurring, one_time = product["productPrice"]
    assert (recurring["priceType"], recurring["recurringChargePeriod"]) == ("recurring", "month")
    assert recurring["price"]["dutyFreeAmount"] == {
        "unit": "USD",
        "value": line.monthly_cents / 100,
    }
    assert one_time["priceType"] == "nonRecurring"
    assert product["productTerm"][0]["duration"] == {"amount": 12, "units": "calendarMonths"}
    assert [c["status"] for c in product["statusChange"]] == ["active"]
    assert "terminationDate" not in product

    only = await _get(client, flavour, customer, line.id, fields="productPrice,nonsense")
    assert set(only.json()) == {"id", "href", "status", "startDate", "productPrice"}


async def test_products_from_every_face_appear_with_their_ordered_configuration(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller, flavour: str
) -> None:
    own_type = product_types(FLAVOURS[flavour])[ProductKind.ETHERNET_LINE]
    ordered = minimal_configuration(own_type, maximumFrameSize=9000)
    placed = await ordering.place(
        session,
        principal=customer.principal,
        channel=Channel.SONATA if flavour == "sonata" else Channel.CANTATA,
        items=[
            ordering.ItemRequest(
                spec=await line_spec(session), configuration=ordered, external_id="item-a"
            )
        ],
        external_id="PO-42",
    )
    await complete(session, placed.order)
    tmf = await make_order(session, customer, channel=Channel.TMF)
    await complete(session, tmf.order)
    (from_mef,) = [
        p
        for p in await inventory.list_products(session, principal=customer.principal)
        if p.order_id == placed.order.id
    ]
    listed = await _list(client, flavour, customer)
    assert len(listed.json()) == 2
    found = next(p for p in listed.json() if p["id"] == from_mef.id)
    assert found["externalId"] == "PO-42"
    assert found["productOrderItem"][0]["productOrderItemId"] == "item-a"
    assert _ids(await _list(client, flavour, customer, externalId="PO-42")) == [from_mef.id]

    product = (await _get(client, flavour, customer, from_mef.id)).json()
    assert product["productConfiguration"] == ordered
    # Seen through the other flavour (by operations staff: a buyer uses one flavour only), the
    # configuration is one of that flavour's types.
    other = "cantata" if flavour == "sonata" else "sonata"
    there = (await _get(client, other, ops, from_mef.id)).json()
    assert (
        there["productConfiguration"]["@type"]
        == product_types(FLAVOURS[other])[ProductKind.ETHERNET_LINE]
    )


@pytest.mark.parametrize("kind", list(ProductKind))
def test_built_configurations_satisfy_their_product_schemas(kind: ProductKind) -> None:
    product = ProductInstance(
        party_id="pty_x",
        name="x",
        offering_id="x",
        state=ProductState.ACTIVE,
        a_location_id="loc_a",
        a_site_id="site_a",
        bandwidth_mbps=10000,
        term_months=12,
        class_of_service="priority",
        monthly_cents=1,
        one_time_cents=0,
        billing_account_id="ba_x",
        order_id="ord_x",
    )
    for flavour in (SONATA, CANTATA):
        built = configuration(flavour, kind, product)
        assert built["@type"] == product_types(flavour)[kind]
        assert check_configuration(flavour, built, "") == []
        if bandwidth_mbps(built) is not None:
            assert bandwidth_mbps(built) == 10000


async def test_the_specs_filters_and_paging(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    start = datetime(2025, 3, 1, 12, tzinfo=UTC)
    clock.set_clock(lambda: start)
    line = await make_product(session, customer)
    clock.set_clock(lambda: start + timedelta(days=2))
    internet = await _internet(session, customer)
    clock.set_clock(None)
    internet_type = product_types(FLAVOURS[flavour])[ProductKind.INTERNET_ACCESS]
    expectations: list[tuple[dict[str, Any], list[str]]] = [
        ({}, [internet.id, line.id]),
        ({"status": "active"}, [internet.id, line.id]),
        ({"status": "terminated"}, []),
        ({"productOfferingId": "ethernet-line"}, [line.id]),
        ({"productSpecificationId": internet_type}, [internet.id]),
        ({"productSpecificationId": "urn:unknown"}, []),
        ({"geographicalSiteId": line.z_site_id}, [line.id]),
        ({"billingAccountId": line.billing_account_id}, [internet.id, line.id]),
        ({"productOrderId": internet.order_id}, [internet.id]),
        ({"productOrderId": "ord_missing"}, []),
        ({"externalId": "nothing"}, []),
        ({"relatedProductId": line.id}, []),
        ({"startDate.gt": "2025-03-02T00:00:00Z"}, [internet.id]),
        ({"startDate.lt": "2025-03-02T00:00:00"}, [line.id]),
        ({"lastUpdateDate.gt": "2025-03-02T00:00:00+00:00"}, [internet.id]),
        ({"lastUpdateDate.lt": "2025-03-01T00:00:00Z"}, []),
    ]
    for params, expected in expectations:
        response = await _list(client, flavour, customer, **params)
        assert response.status_code == 200, params
        assert _ids(response) == expected, params
        assert response.headers["X-Total-Count"] == str(len(expected)), params
    page = await _list(client, flavour, customer, offset=1, limit=1)
    assert _ids(page) == [line.id]
    assert (page.headers["X-Total-Count"], page.headers["X-Result-Count"]) == ("2", "1")


async def test_bad_queries_get_the_specs_error_bodies(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    for params, code in [
        ({"status": "asleep"}, "invalidQuery"),
        ({"startDate.gt": "yesterday"}, "invalidQuery"),
        ({"limit": "0"}, "invalidQuery"),
        ({"offset": "x"}, "invalidQuery"),
        ({"productOrderId": ""}, "missingQueryValue"),
    ]:
        response = await _list(client, flavour, customer, **params)
        assert response.status_code == 400, params
        assert response.json()["code"] == code, params
    product = await make_product(session, customer)
    empty_fields = await _get(client, flavour, customer, product.id, fields="")
    assert (empty_fields.status_code, empty_fields.json()["code"]) == (400, "missingQueryValue")
    anonymous = await client.get(f"{BASES[flavour]}{LIST}")
    assert anonymous.status_code == 401
    check_response(flavour, API, LIST, "get", 401, anonymous.json())
    nobody = await client.get(f"{BASES[flavour]}{LIST}/prd_x")
    assert nobody.status_code == 401
    check_response(flavour, API, ONE, "get", 401, nobody.json())


async def test_unknown_and_other_parties_products_are_not_found(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    theirs = await make_product(session, other_customer)
    missing = await _get(client, flavour, customer, "prd_missing")
    foreign = await _get(client, flavour, customer, theirs.id)
    assert missing.status_code == foreign.status_code == 404
    assert missing.json()["code"] == foreign.json()["code"] == "notFound"
    assert _ids(await _list(client, flavour, customer)) == []
    by_their_order = await _list(client, flavour, customer, productOrderId=theirs.order_id)
    assert _ids(by_their_order) == []
    by_their_site = await _list(client, flavour, customer, geographicalSiteId=theirs.a_site_id)
    assert _ids(by_their_site) == []
    kept = await _get(client, flavour, other_customer, theirs.id)
    assert (kept.status_code, kept.json()["status"]) == (200, "active")


async def test_buyer_and_seller_ids(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    ops: Caller,
    flavour: str,
) -> None:
    mine = await make_product(session, customer)
    theirs = await _internet(session, other_customer)
    agent = await make_caller(
        session,
        AUDIENCE_BY_FLAVOUR[flavour],
        name="Agent",
        acting_for=[customer.party_id, other_customer.party_id],
    )
    unnamed = await _list(client, flavour, agent)
    assert (unnamed.status_code, unnamed.json()["code"]) == (400, "missingQueryParameter")
    assert _ids(await _list(client, flavour, agent, buyerId=customer.party_id)) == [mine.id]
    named = await _get(client, flavour, agent, mine.id, buyerId=customer.party_id)
    assert named.status_code == 200
    wrong_buyer = await _get(client, flavour, agent, theirs.id, buyerId=customer.party_id)
    assert wrong_buyer.status_code == 404
    refused = await _list(client, flavour, agent, buyerId="pty_nobody")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbiddenRequester")
    seller = await _get(client, flavour, customer, mine.id, sellerId="acme")
    assert seller.status_code == 404
    assert set(_ids(await _list(client, flavour, ops))) == {mine.id, theirs.id}
    only_theirs = await _list(client, flavour, ops, buyerId=other_customer.party_id)
    assert _ids(only_theirs) == [theirs.id]
