"""TMF622 Product Ordering v4 as its conformance kit runs it, through the ASGI app."""

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.factories import Caller, tmf622_line_order
from tests.rest_facades.tmf.kit import Kit

SPEC = "TMF622-ProductOrdering-v4"
BASE = "/tmf-api/productOrderingManagement/v4"
# The kit's mandatory attributes of a product order.
ORDER_MANDATORY = ("productOrderItem", "href", "id", "orderDate", "relatedParty", "state")
# The kit's body: one item with no offering, for a related individual.
KIT_ORDER = {
    "productOrderItem": [{"id": "123", "action": "add"}],
    "relatedParty": [{"id": "456-dd-df45", "@referredType": "Individual"}],
}


def _orders(client: httpx.AsyncClient, caller: Caller) -> Kit:
    return Kit(client, caller, SPEC, BASE, "productOrder", mandatory=ORDER_MANDATORY)


async def test_the_kits_order_is_created_read_listed_filtered_and_selected(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    kit = _orders(client, customer)
    first = await kit.create(KIT_ORDER)
    second = await kit.create(KIT_ORDER)
    assert first["id"] != second["id"]
    # The kit's order names no offering: it is kept, and rejected with the reason.
    assert first["state"] == "rejected"
    assert first["productOrderItem"][0]["id"] == "123"
    # Each attribute it shows filters in SQL, the seller's note and the rejected items too.
    await kit.filters_and_fields(first)
    await kit.unknown_is_404()


async def test_a_deliverable_order_is_patched_kept_on_delete_and_cancelled(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    kit = _orders(client, customer)
    order = await kit.create(await tmf622_line_order(session) | {"externalId": "PO-KIT"})
    assert order["state"] == "acknowledged"
    await kit.filters_and_fields(order)
    rejected = await kit.call(
        "GET", "/productOrder", 200, params={"productOrderItem.state": "rejected"}
    )
    assert order["id"] not in [o["id"] for o in rejected.json()]
    noted = await kit.call("GET", "/productOrder", 200, params={"note.author": "seller"})
    assert order["id"] not in [o["id"] for o in noted.json()]
    await kit.patch(order, {"externalId": "PO-KIT-2", "description": "Second line to NYC"})
    # Orders are kept for the record (TMF622 lists 405 for DELETE): cancelled instead.
    kept = await kit.call("DELETE", f"/productOrder/{order['id']}", 405)
    assert kept.json()["code"]
    await kit.call("GET", f"/productOrder/{order['id']}", 200)

    cancellations = Kit(
        client,
        customer,
        SPEC,
        BASE,
        "cancelProductOrder",
        mandatory=("id", "href", "productOrder", "state"),
    )
    cancellation = await cancellations.create(
        {"productOrder": {"id": order["id"]}, "cancellationReason": "changed plans"}
    )
    assert cancellation["productOrder"]["id"] == order["id"]
    await cancellations.filters_and_fields(cancellation)
    await cancellations.unknown_is_404()
