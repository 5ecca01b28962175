"""TMF622 Product Ordering v4 through the ASGI app, checked against the official file."""

from datetime import timedelta
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import to_base64

from app.core import clock, ordering
from app.core.catalog import ProductKind
from app.core.db import Database
from app.core.events import Channel, EntityKind, Event, EventKind
from app.core.ordering import OrderState
from rest_facades.mef.flavours import CANTATA
from rest_facades.mef.products import check_configuration, product_types
from rest_facades.tmf.common import iso
from rest_facades.tmf.product_ordering import describe
from tests.factories import (
    CHICAGO,
    NEW_YORK,
    Caller,
    complete,
    line_spec,
    location_id,
    make_order,
    make_product,
)
from tests.rest_facades.mef.configurations import minimal_configuration
from tests.rest_facades.tmf.conformance import check_response
from tests.statements import copies, counting

SPEC = "TMF622-ProductOrdering-v4"
BASE = "/tmf-api/productOrderingManagement/v4"


def _line(a: dict[str, Any], z: dict[str, Any], mbps: int = 1000) -> dict[str, Any]:
    return {
        "productOrderItem": [
            {
                "id": "1",
                "action": "add",
                "productOffering": {"id": "ethernet-line"},
                "product": {
                    "productCharacteristic": [
                        {"name": "bandwidth", "value": mbps},
                        {"name": "termMonths", "value": 12},
                    ],
                    "place": [a | {"role": "A-End"}, z | {"role": "Z-End"}],
                },
            }
        ],
        "externalId": "PO-1",
    }


async def _post(client: httpx.AsyncClient, caller: Caller, body: dict[str, Any]) -> Any:
    created = await client.post(f"{BASE}/productOrder", headers=caller.headers, json=body)
    assert created.status_code == 201, created.text
    check_response(SPEC, "/productOrder", "post", 201, created.json())
    assert created.headers["location"] == created.json()["href"]
    return created.json()


async def _get(
    client: httpx.AsyncClient, caller: Caller, path: str, template: str, **params: str
) -> httpx.Response:
    response = await client.get(f"{BASE}{path}", headers=caller.headers, params=params)
    assert response.status_code == 200, response.text
    check_response(SPEC, template, "get", 200, response.json())
    return response


async def test_an_order_is_placed_listed_read_filtered_and_trimmed(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    by_address = {
        "streetNr": "60",
        "streetName": "Hudson St",
        "city": "New York",
        "stateOrProvince": "NY",
        "postcode": "10013",
        "@type": "GeographicAddress",
    }
    chicago = {"id": await location_id(session, CHICAGO), "@referredType": "GeographicAddress"}
    order = await _post(client, customer, _line(chicago, by_address))
    assert order["state"] == "acknowledged"
    assert order["externalId"] == "PO-1"
    [item] = order["productOrderItem"]
    assert item["id"] == "1"
    assert item["state"] == "acknowledged"
    assert [p["@referredType"] for p in item["product"]["place"]] == ["GeographicSite"] * 2
    core = await ordering.get_order(session, principal=customer.principal, order_id=order["id"])
    assert core.order.channel is Channel.TMF
    assert core.items[0].bandwidth_mbps == 1000
    assert core.items[0].term_months == 12
    assert [core.items[0].a_site_id, core.items[0].z_site_id] == [
        p["id"] for p in item["product"]["place"]
    ]
    assert [core.items[0].a_location_id, core.items[0].z_location_id] == [
        chicago["id"],
        await location_id(session, NEW_YORK),
    ]

    await make_order(session, customer)  # through another face: listed too
    listed = await _get(client, customer, "/productOrder", "/productOrder")
    assert listed.headers["x-total-count"] == "2"
    assert listed.headers["x-result-count"] == "2"
    mine = await _get(client, customer, "/productOrder", "/productOrder", **{"channel.id": "tmf"})
    assert [o["id"] for o in mine.json()] == [order["id"]]
    dear = await _get(
        client,
        customer,
        "/productOrder",
        "/productOrder",
        **{"orderTotalPrice.price.dutyFreeAmount.value.gt": "0"},
    )
    assert len(dear.json()) == 2
    # The mandatory attributes are asked for, so that the trimmed body still validates.
    trimmed = await _get(
        client,
        customer,
        "/productOrder",
        "/productOrder",
        fields="state,productOrderItem.action",
        limit="1",
    )
    assert trimmed.headers["x-result-count"] == "1"
    assert set(trimmed.json()[0]) == {"id", "href", "@type", "state", "productOrderItem"}
    assert set(trimmed.json()[0]["productOrderItem"][0]) == {"id", "@type", "action"}
    read = await _get(client, customer, f"/productOrder/{order['id']}", "/productOrder/{id}")
    assert read.json() == order
    missing = await client.get(f"{BASE}/productOrder/ord_nope", headers=customer.headers)
    assert missing.status_code == 404
    check_response(SPEC, "/productOrder/{id}", "get", 404, missing.json())


async def test_a_tmf_order_is_the_order_graphql_shows(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    site = {"id": await location_id(session, CHICAGO), "@referredType": "GeographicAddress"}
    other = {"id": await location_id(session, NEW_YORK), "@referredType": "GeographicAddress"}
    order = await _post(client, customer, _line(site, other))
    # Enterprises do not use GraphQL; operations staff see the same order there.
    answer = await client.post(
        "/graphql",
        headers=ops.headers,
        json={
            "query": "query($id: ID!) { node(id: $id) { ... on Order { state channel } } }",
            "variables": {"id": to_base64("Order", order["id"])},
        },
    )
    assert answer.json()["data"]["node"] == {"state": "ACKNOWLEDGED", "channel": "TMF"}
    # The sites that order made can be named as GeographicSite references.
    places = order["productOrderItem"][0]["product"]["place"]
    again = await _post(client, customer, _line(places[0], places[1], mbps=100))
    assert again["productOrderItem"][0]["product"]["place"] == places


async def test_bad_orders_are_refused_with_a_tmf_error(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    site = {"id": await location_id(session, CHICAGO)}
    cases: list[dict[str, Any]] = [
        {},
        {"productOrderItem": [{"id": "1"}]},
        {"productOrderItem": []},
        {"productOrderItem": [{"id": "1", "action": "bogus"}]},
        _line(site, {"id": "loc_nowhere"}),
        _line(site, {"city": "Atlantis", "streetName": "Nowhere"}),
        _line(site, site, mbps=7),
    ]
    for body in cases:
        refused = await client.post(f"{BASE}/productOrder", headers=customer.headers, json=body)
        assert refused.status_code == 400, (body, refused.text)
        check_response(SPEC, "/productOrder", "post", 400, refused.json())
    assert (await ordering.list_orders(session, principal=customer.principal)) == []


async def test_patch_changes_the_external_id_and_refuses_the_rest(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    placed = await make_order(session, customer)
    url = f"{BASE}/productOrder/{placed.order.id}"
    for content_type in ("application/merge-patch+json", "application/json"):
        patched = await client.patch(
            url,
            headers=customer.headers | {"Content-Type": content_type},
            content=b'{"externalId": "' + content_type.encode() + b'"}',
        )
        assert patched.status_code == 200, patched.text
        check_response(SPEC, "/productOrder/{id}", "patch", 200, patched.json())
        assert patched.json()["externalId"] == content_type
    later = clock.now() + timedelta(days=40)
    moved = await client.patch(
        url, headers=customer.headers, json={"requestedCompletionDate": iso(later)}
    )
    assert moved.status_code == 200, moved.text
    check_response(SPEC, "/productOrder/{id}", "patch", 200, moved.json())
    assert moved.json()["productOrderItem"][0]["requestedCompletionDate"] == iso(later)
    refused = await client.patch(url, headers=customer.headers, json={"state": "completed"})
    assert refused.status_code == 400
    check_response(SPEC, "/productOrder/{id}", "patch", 400, refused.json())
    deleted = await client.delete(url, headers=customer.headers)
    assert deleted.status_code == 405
    check_response(SPEC, "/productOrder/{id}", "delete", 405, deleted.json())
    gone = await client.delete(f"{BASE}/productOrder/ord_nope", headers=customer.headers)
    assert gone.status_code == 404


async def test_modify_and_delete_items_name_the_product(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    product = await make_product(session, customer)
    body = {
        "productOrderItem": [
            {
                "id": "up",
                "action": "modify",
                "product": {
                    "id": product.id,
                    "productCharacteristic": [{"name": "bandwidth", "value": 10000}],
                },
            }
        ]
    }
    order = await _post(client, customer, body)
    [item] = order["productOrderItem"]
    assert item["action"] == "modify"
    assert item["product"]["id"] == product.id
    session.expire_all()  # the app changed the product in its own session
    core = await ordering.get_order(session, principal=customer.principal, order_id=order["id"])
    await complete(session, core.order)
    ended = await _post(
        client,
        customer,
        {"productOrderItem": [{"id": "x", "action": "delete", "product": {"id": product.id}}]},
    )
    assert ended["productOrderItem"][0]["action"] == "delete"


async def test_cancellation_requests(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    placed = await make_order(session, customer)
    created = await client.post(
        f"{BASE}/cancelProductOrder",
        headers=customer.headers,
        json={"productOrder": {"id": placed.order.id}, "cancellationReason": "changed plans"},
    )
    assert created.status_code == 201, created.text
    check_response(SPEC, "/cancelProductOrder", "post", 201, created.json())
    assert created.json()["state"] == "acknowledged"
    order = await _get(client, customer, f"/productOrder/{placed.order.id}", "/productOrder/{id}")
    assert order.json()["state"] == "assessingCancellation"
    await session.refresh(placed.order)  # the app changed it in its own session
    await complete(session, placed.order)
    listed = await _get(client, customer, "/cancelProductOrder", "/cancelProductOrder")
    assert [c["id"] for c in listed.json()] == [placed.order.id]
    done = await _get(client, customer, "/cancelProductOrder", "/cancelProductOrder", state="done")
    assert len(done.json()) == 1
    read = await _get(
        client,
        customer,
        f"/cancelProductOrder/{placed.order.id}",
        "/cancelProductOrder/{id}",
        fields="cancellationReason,productOrder",
    )
    assert read.json()["cancellationReason"] == "changed plans"
    other = await make_order(session, customer)
    for path in (f"/cancelProductOrder/{other.order.id}", "/cancelProductOrder/nope"):
        missing = await client.get(f"{BASE}{path}", headers=customer.headers)
        assert missing.status_code == 404
        check_response(SPEC, "/cancelProductOrder/{id}", "get", 404, missing.json())
    refused = await client.post(f"{BASE}/cancelProductOrder", headers=customer.headers, json={})
    assert refused.status_code == 400
    check_response(SPEC, "/cancelProductOrder", "post", 400, refused.json())


async def test_another_enterprises_orders_do_not_exist(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    placed = await make_order(session, customer)
    url = f"{BASE}/productOrder/{placed.order.id}"
    assert (await client.get(url, headers=other_customer.headers)).status_code == 404
    patched = await client.patch(url, headers=other_customer.headers, json={"externalId": "x"})
    assert patched.status_code == 404
    cancel = await client.post(
        f"{BASE}/cancelProductOrder",
        headers=other_customer.headers,
        json={"productOrder": {"id": placed.order.id}},
    )
    # The spec answers no 404 on create: an order the caller cannot see is a bad value.
    assert (cancel.status_code, cancel.json()["code"]) == (400, "INVALID_VALUE")
    listed = await _get(client, other_customer, "/productOrder", "/productOrder")
    assert listed.json() == []
    again = await ordering.get_order(
        session, principal=customer.principal, order_id=placed.order.id
    )
    assert again.order.state is OrderState.ACKNOWLEDGED
    assert again.order.external_id is None


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
        entity=EntityKind.ORDER,
        entity_id="ord_1",
        kind=EventKind.STATE_CHANGED,
        state="in_progress",
    )
    assert describe(event) == (
        "productOrder",
        {"id": "ord_1", "@type": "ProductOrder", "state": "inProgress"},
    )
    assert (
        describe(
            Event(party_id="p", entity=EntityKind.TICKET, entity_id="t", kind=EventKind.CREATED)
        )
        is None
    )


async def test_an_order_the_seller_cannot_deliver_as_asked_is_rejected_with_the_reason(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    asked = {
        "productOrderItem": [{"id": "123", "action": "add"}],
        "relatedParty": [{"id": "456-dd-df45", "@referredType": "Individual"}],
        "priority": "1",
    }
    order = await _post(client, customer, asked)
    assert order["state"] == "rejected"
    assert order["productOrderItem"] == [{"id": "123", "action": "add", "state": "rejected"}]
    [reason] = order["note"]
    assert "productOffering.id" in reason["text"]
    assert "product.place" in reason["text"]
    assert order["relatedParty"][1] == asked["relatedParty"][0]
    assert order["priority"] == "1"
    read = await _get(client, customer, f"/productOrder/{order['id']}", "/productOrder/{id}")
    assert read.json() == order
    rejected = await _get(client, customer, "/productOrder", "/productOrder", state="rejected")
    assert [o["id"] for o in rejected.json()] == [order["id"]]
    by_date = await _get(
        client, customer, "/productOrder", "/productOrder", orderDate=order["orderDate"]
    )
    assert [o["id"] for o in by_date.json()] == [order["id"]]
    # Nothing is delivered: the order is not waiting for fulfilment.
    core = await ordering.get_order(session, principal=customer.principal, order_id=order["id"])
    assert (core.order.state, core.items, core.order.next_step_at) == (
        OrderState.REJECTED,
        [],
        None,
    )
    answer = await client.post(
        "/graphql",
        headers=ops.headers,
        json={
            "query": "query($id: ID!) { node(id: $id) { ... on Order { state items { id } } } }",
            "variables": {"id": to_base64("Order", order["id"])},
        },
    )
    assert answer.json()["data"]["node"] == {"state": "REJECTED", "items": []}


async def test_patch_takes_every_attribute_of_the_update_schema(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    placed = await make_order(session, customer)
    url = f"{BASE}/productOrder/{placed.order.id}"
    current = (await client.get(url, headers=customer.headers)).json()
    later = iso(clock.now() + timedelta(days=60))
    patch = {
        "category": "enterprise",
        "description": "two sites",
        "priority": "2",
        "notificationContact": "noc@example.com",
        "requestedStartDate": later,
        "note": [{"text": "call first"}],
        "agreement": [{"id": "agr-1"}],
        "payment": [{"id": "pay-1"}],
        "productOfferingQualification": [{"id": "poq-1"}],
        "relatedParty": [{"id": "ind-1", "@referredType": "Individual"}],
        # What the seller sets may be repeated as it is.
        "state": current["state"],
        "billingAccount": current["billingAccount"],
        "orderTotalPrice": current["orderTotalPrice"],
        "productOrderItem": current["productOrderItem"],
    }
    patched = await client.patch(url, headers=customer.headers, json=patch)
    assert patched.status_code == 200, patched.text
    check_response(SPEC, "/productOrder/{id}", "patch", 200, patched.json())
    for name in ("category", "description", "priority", "notificationContact", "agreement"):
        assert patched.json()[name] == patch[name]
    assert patched.json()["requestedStartDate"] == later
    assert patched.json()["relatedParty"][1]["id"] == "ind-1"
    removed = await client.patch(url, headers=customer.headers, json={"priority": None})
    assert "priority" not in removed.json()
    assert removed.json()["category"] == "enterprise"
    for changed in ({"state": "completed"}, {"billingAccount": {"id": "ba-other"}}):
        refused = await client.patch(url, headers=customer.headers, json=changed)
        assert refused.status_code == 400, refused.text
        assert next(iter(changed)) in refused.json()["reason"]
    bad = await client.patch(url, headers=customer.headers, json={"note": [{"author": "me"}]})
    assert (bad.status_code, bad.json()["code"]) == (400, "MISSING_ATTRIBUTE")
    assert bad.json()["reason"].startswith("note[0].text")


async def test_a_page_costs_the_same_statements_for_10_and_1000_orders(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    placed = await make_order(session, customer)
    item = placed.items[0]

    async def more(count: int, prefix: str) -> None:
        await copies(session, placed.order, count, lambda n: {"id": f"ord_{prefix}{n}"})
        await copies(
            session,
            item,
            count,
            lambda n: {"id": f"oi_{prefix}{n}", "order_id": f"ord_{prefix}{n}"},
        )

    async def page() -> int:
        with counting(database) as statements:
            listed = await client.get(
                f"{BASE}/productOrder",
                headers=customer.headers,
                params={"limit": "20", "state": "acknowledged", "orderDate.lte": "2999-01-01"},
            )
        assert listed.status_code == 200, listed.text
        assert len(listed.json()) == min(20, int(listed.headers["x-total-count"]))
        return len(statements)

    await more(9, "few")
    few = await page()
    await more(990, "many")
    many = await page()
    assert many == few
    counted = await client.get(
        f"{BASE}/productOrder", headers=customer.headers, params={"limit": "1"}
    )
    assert counted.headers["x-total-count"] == "1000"


async def test_tmf_orders_show_on_cantata_with_valid_configurations(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    site = {"id": await location_id(session, CHICAGO), "@referredType": "GeographicAddress"}
    other = {"id": await location_id(session, NEW_YORK), "@referredType": "GeographicAddress"}
    placed = await _post(client, customer, _line(site, other))
    rejected = await _post(client, customer, {"productOrderItem": [{"id": "9", "action": "add"}]})
    cantata = "/mefApi/cantata/productOrderingManagement/v5/productOrder"
    seen = await client.get(f"{cantata}/{placed['id']}", headers=customer.headers)
    assert seen.status_code == 200, seen.text
    [item] = seen.json()["productOrderItem"]
    configuration = item["product"]["productConfiguration"]
    assert check_configuration(CANTATA, configuration, "") == []
    assert configuration["evcEndPointA"]["ingressBandwidthProfilePerClassofServiceName"][0][
        "bwpFlow"
    ]["cir"] == {"irValue": 1000, "irUnits": "MBPS"}
    refused = await client.get(f"{cantata}/{rejected['id']}", headers=customer.headers)
    assert refused.status_code == 200, refused.text
    assert refused.json()["state"] == "rejected"
    [asked] = refused.json()["productOrderItem"]
    assert (asked["id"], asked["action"], asked["state"]) == ("9", "add", "rejected")


async def test_a_cantata_order_shows_on_tmf_with_the_characteristics_it_configured(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    own_type = product_types(CANTATA)[ProductKind.ETHERNET_LINE]
    placed = await ordering.place(
        session,
        principal=customer.principal,
        channel=Channel.CANTATA,
        items=[
            ordering.ItemRequest(
                spec=await line_spec(session, mbps=2000),
                configuration=minimal_configuration(own_type),
                external_id="c-1",
            )
        ],
    )
    seen = await _get(client, customer, f"/productOrder/{placed.order.id}", "/productOrder/{id}")
    [item] = seen.json()["productOrderItem"]
    assert item["id"] == "c-1"
    characteristics = {c["name"]: c["value"] for c in item["product"]["productCharacteristic"]}
    assert characteristics["bandwidth"] == 2000
