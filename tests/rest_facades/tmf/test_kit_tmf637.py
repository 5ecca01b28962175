"""TMF637 Product Inventory v4 as its conformance kit runs it, through the ASGI app."""

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.factories import Caller, make_product
from tests.rest_facades.tmf.kit import Kit

SPEC = "TMF637-ProductInventory-v4"
BASE = "/tmf-api/productInventory/v4"
# The attributes the kit asks of every product.
MANDATORY = (
    "billingAccount",
    "href",
    "id",
    "productCharacteristic",
    "productOffering",
    "productPrice",
    "relatedParty",
    "status",
)


async def test_the_kits_products_are_read_listed_filtered_and_selected(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    # Products are made by orders: the kit reads the first ones the list shows.
    first = await make_product(session, customer)
    second = await make_product(session, customer)
    kit = Kit(client, customer, SPEC, BASE, "product", mandatory=MANDATORY)
    product = await kit.existing(first.id)
    assert (await kit.existing(second.id))["status"] == product["status"] == "active"
    await kit.filters_and_fields(product)
    await kit.unknown_is_404()


async def test_operations_staff_suspend_and_resume_a_product_the_kits_way(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    made = await make_product(session, customer)
    kit = Kit(client, ops, SPEC, BASE, "product", mandatory=MANDATORY)
    product = await kit.existing(made.id)
    suspended = await kit.patch(product, {"status": "suspended"})
    await kit.filters_and_fields(suspended)
    await kit.patch(suspended, {"status": "active"})
    # Products are created by orders and ended by their delete items (TMF637 lists 405).
    await kit.call("POST", "/product", 405, body={"status": "active"})
    await kit.call("DELETE", f"/product/{made.id}", 405)
    await kit.call("GET", f"/product/{made.id}", 200)
