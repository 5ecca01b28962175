"""MEF W142 Product Catalog on both flavours, checked against the official files: offerings,
categories and the product schemas each offering accepts."""

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import catalog, clock
from app.core.catalog import (
    LINE_BANDWIDTHS_MBPS,
    Category,
    CategoryInput,
    Offering,
    OfferingUpdate,
    ProductKind,
)
from app.core.db import Database
from rest_facades.mef.flavours import CANTATA, SONATA
from rest_facades.mef.products import check_configuration, product_types
from tests.factories import Caller
from tests.rest_facades.mef.configurations import minimal_configuration
from tests.rest_facades.mef.conformance import check_response
from tests.statements import counting

BASES = {
    "sonata": "/mefApi/sonata/productCatalog/v2",
    "cantata": "/mefApi/cantata/productCatalog/v2",
}
FLAVOURS = {"sonata": SONATA, "cantata": CANTATA}
API = "product_catalog"


@pytest.fixture(params=sorted(BASES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs on Sonata and on Cantata."""
    name: str = request.param
    return name


async def _get(
    client: httpx.AsyncClient,
    flavour: str,
    caller: Caller,
    path: str,
    template: str,
    status: int = 200,
    **params: Any,
) -> httpx.Response:
    response = await client.get(f"{BASES[flavour]}{path}", headers=caller.headers, params=params)
    assert response.status_code == status, response.text
    check_response(flavour, API, template, "get", status, response.json())
    return response


async def test_offerings_name_the_product_schema_they_accept(
    client: httpx.AsyncClient, customer: Caller, flavour: str
) -> None:
    listed = await _get(client, flavour, customer, "/productOffering", "/productOffering")
    assert [o["id"] for o in listed.json()] == ["ethernet-line", "ethernet-port", "internet-access"]
    assert listed.headers["X-Total-Count"] == "3"
    line = (
        await _get(
            client, flavour, customer, "/productOffering/ethernet-line", "/productOffering/{id}"
        )
    ).json()
    assert line["lifecycleStatus"] == "orderable"
    assert [t["duration"]["amount"] for t in line["productOfferingTerm"]] == [12, 24, 36, 60]
    assert line["placeRelationship"][0]["minCardinality"] == 2
    spec_id = line["productSpecification"]["id"]
    assert spec_id == product_types(FLAVOURS[flavour])[ProductKind.ETHERNET_LINE]
    sold = json.loads(line["productOfferingSpecification"]["schema"])
    assert sold["x-lumen-bandwidths-mbps"] == LINE_BANDWIDTHS_MBPS

    spec = (
        await _get(
            client,
            flavour,
            customer,
            f"/productSpecification/{spec_id}",
            "/productSpecification/{id}",
        )
    ).json()
    schema = json.loads(spec["sourceSchema"]["schema"])
    # The schema served is the one configurations are checked against.
    assert schema["$id"] == spec_id
    assert check_configuration(FLAVOURS[flavour], minimal_configuration(spec_id), "") == []
    specs = await _get(client, flavour, customer, "/productSpecification", "/productSpecification")
    assert spec_id in [s["id"] for s in specs.json()]
    await _get(
        client,
        flavour,
        customer,
        "/productSpecification/urn:nothing",
        "/productSpecification/{id}",
        status=404,
    )


async def test_offerings_filter_in_the_catalog(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller, flavour: str
) -> None:
    before = clock.now().isoformat()
    await catalog.retire_offering(session, principal=ops.principal, offering_id="ethernet-port")

    async def found(**params: Any) -> list[str]:
        response = await _get(
            client, flavour, customer, "/productOffering", "/productOffering", **params
        )
        return [o["id"] for o in response.json()]

    # A retired offering is withdrawn from the catalog.
    assert await found(lifecycleStatus="endOfSale") == []
    assert await found(lifecycleStatus="orderable") == ["ethernet-line", "internet-access"]
    assert await found(lifecycleStatus="announced") == []
    line_spec = product_types(FLAVOURS[flavour])[ProductKind.ETHERNET_LINE]
    assert await found(**{"productSpecification.id": line_spec}) == ["ethernet-line"]
    assert await found(name="Dedicated Internet Access") == ["internet-access"]
    assert await found(**{"category.id": "connectivity"}) == ["ethernet-line", "internet-access"]
    assert await found(**{"region.country": "FR"}) == []
    assert await found(channel=flavour) != []
    assert await found(**{"lastUpdate.gt": before}) == []
    assert await found(**{"lastUpdate.lt": before}) == ["ethernet-line", "internet-access"]
    bad = await _get(
        client, flavour, customer, "/productOffering", "/productOffering", 400, lifecycleStatus="x"
    )
    assert bad.json()["code"] == "invalidQuery"
    for gone in ("nothing", "ethernet-port"):
        await _get(
            client, flavour, customer, f"/productOffering/{gone}", "/productOffering/{id}", 404
        )


async def test_categories_list_their_offerings_and_subcategories(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller, flavour: str
) -> None:
    before = clock.now().isoformat()
    internet = await catalog.create_category(
        session,
        principal=ops.principal,
        data=CategoryInput(name="Internet", parent_id="connectivity"),
    )
    await catalog.update_offering(
        session,
        principal=ops.principal,
        offering_id="internet-access",
        changes=OfferingUpdate(category=internet.id),
    )
    listed = await _get(client, flavour, customer, "/category", "/category")
    assert sorted(c["id"] for c in listed.json()) == sorted(["connectivity", internet.id])
    found = (
        await _get(client, flavour, customer, f"/category/{internet.id}", "/category/{id}")
    ).json()
    assert [o["id"] for o in found["productOffering"]] == ["internet-access"]
    assert found["parentCategory"]["id"] == "connectivity"
    since: dict[str, Any] = {"lastUpdate.gt": before}
    recent = await _get(client, flavour, customer, "/category", "/category", **since)
    assert [c["id"] for c in recent.json()] == [internet.id]
    parent: dict[str, Any] = {"parentCategory.id": "connectivity"}
    child = await _get(client, flavour, customer, "/category", "/category", **parent)
    assert [c["id"] for c in child.json()] == [internet.id]
    await _get(client, flavour, customer, "/category/nothing", "/category/{id}", status=404)


async def test_a_page_of_offerings_costs_the_same_statements_for_10_and_1000(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    flavour: str,
) -> None:
    async def add(start: int, count: int) -> None:
        connection = await session.connection()
        await connection.execute(
            insert(Category),
            [
                {
                    "id": f"bulk-{i:04d}",
                    "name": f"Bulk {i}",
                    "description": "",
                    "parent_id": None,
                    "version": "1.0",
                    "status": "active",
                    "created_at": clock.now(),
                    "updated_at": clock.now(),
                }
                for i in range(start, start + count)
            ],
        )
        await connection.execute(
            insert(Offering),
            [
                {
                    "id": f"bulk-{i:04d}",
                    "name": f"Bulk {i}",
                    "kind": ProductKind.ETHERNET_PORT,
                    "bandwidths_mbps": [1000],
                    "classes_of_service": ["standard"],
                    "category": f"bulk-{i:04d}",
                    "specification_id": None,
                    "status_reason": "",
                    "status": "active",
                    "version": 1,
                    "description": "",
                    "min_term_months": 1,
                    "max_term_months": 60,
                    "created_at": clock.now(),
                    "updated_at": clock.now(),
                }
                for i in range(start, start + count)
            ],
        )
        await session.commit()

    async def statements(path: str) -> int:
        with counting(database) as seen:
            listed = await _get(client, flavour, customer, path, path, limit=3)
        assert len(listed.json()) == 3
        return len(seen)

    await add(0, 10)
    few = await statements("/productOffering"), await statements("/category")
    await add(10, 990)
    assert (await statements("/productOffering"), await statements("/category")) == few
    listed = await _get(client, flavour, customer, "/productOffering", "/productOffering")
    assert listed.headers["X-Total-Count"] == "1003"
