"""MEF 123 Product Order on both flavours, checked against the official files."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, ordering
from app.core.db import Database
from app.main import create_app
from app.settings import Settings
from rest_facades.mef.products import CANTATA_TYPES, SONATA_TYPES
from tests.factories import CHICAGO, NEW_YORK, Caller, location_id, make_caller, make_order
from tests.rest_facades.mef.configurations import minimal_configuration
from tests.rest_facades.mef.conformance import check_response
from tests.rest_facades.mef.conftest import AUDIENCE_BY_FLAVOUR
from tests.rest_facades.mef.listener import listening

API = "product_order"
BASES = {
    "sonata": "/mefApi/sonata/productOrderingManagement/v10",
    "cantata": "/mefApi/cantata/productOrderingManagement/v5",
}
TYPES = {"sonata": SONATA_TYPES, "cantata": CANTATA_TYPES}
CONTACT = [
    {
        "role": "buyerContactInformation",
        "name": "Ada",
        "emailAddress": "ada@example.com",
        "number": "+1 555 0100",
    }
]


@pytest.fixture(params=sorted(BASES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs on Sonata and on Cantata."""
    name: str = request.param
    return name


@pytest.fixture
async def app(settings: Settings, database: Database) -> FastAPI:
    """The application, its workers left to the test."""
    application = create_app(settings, run_workers=False)
    application.state.database = database
    return application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of that application."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


async def line_order(session: AsyncSession, flavour: str, **changes: Any) -> dict[str, Any]:
    """A valid order for a 1 Gbps line from Chicago to New York."""
    from app.core.catalog import ProductKind

    type_id = TYPES[flavour][ProductKind.ETHERNET_LINE]
    configuration = minimal_configuration(type_id)
    item = {
        "id": "1",
        "action": "add",
        "product": {
            "productOffering": {"id": "ethernet-line"},
            "productConfiguration": configuration,
            "place": [
                {
                    "@type": "GeographicAddressRef",
                    "role": "A_END",
                    "id": await location_id(session, CHICAGO),
                },
                {
                    "@type": "GeographicAddressRef",
                    "role": "Z_END",
                    "id": await location_id(session, NEW_YORK),
                },
            ],
        },
        "requestedItemTerm": {
            "name": "contract",
            "endOfTermAction": "roll",
            "duration": {"amount": 24, "units": "calendarMonths"},
        },
    }
    return {
        "externalId": "PO-7",
        "relatedContactInformation": CONTACT,
        "productOrderItem": [item],
    } | changes


async def _post(
    http: httpx.AsyncClient, flavour: str, caller: Caller, body: Any, **params: str
) -> httpx.Response:
    response = await http.post(
        f"{BASES[flavour]}/productOrder", json=body, headers=caller.headers, params=params
    )
    check_response(flavour, API, "/productOrder", "post", response.status_code, response.json())
    return response


async def _orders(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(ordering.Order))).one()


async def test_an_order_is_acknowledged_and_can_be_read_back(
    http: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    body = await line_order(session, flavour)
    created = await _post(http, flavour, customer, body)
    assert created.status_code == 201
    order = created.json()
    assert order["state"] == "acknowledged"
    assert created.headers["location"] == order["href"]
    assert order["externalId"] == "PO-7"
    assert order["relatedContactInformation"] == CONTACT
    [item] = order["productOrderItem"]
    assert (item["id"], item["state"], item["action"]) == ("1", "acknowledged", "add")
    assert (
        item["product"]["productConfiguration"]
        == body["productOrderItem"][0]["product"]["productConfiguration"]
    )
    assert item["itemTerm"][0]["duration"] == {"amount": 24, "units": "calendarMonths"}

    fetched = await http.get(
        f"{BASES[flavour]}/productOrder/{order['id']}", headers=customer.headers
    )
    check_response(flavour, API, "/productOrder/{id}", "get", 200, fetched.json())
    assert fetched.json() == order
    listed = await http.get(
        f"{BASES[flavour]}/productOrder",
        headers=customer.headers,
        params={"state": "acknowledged", "externalId": "PO-7"},
    )
    check_response(flavour, API, "/productOrder", "get", 200, listed.json())
    assert [o["id"] for o in listed.json()] == [order["id"]]
    assert (listed.headers["x-total-count"], listed.headers["x-result-count"]) == ("1", "1")


async def test_orders_from_other_faces_are_visible_too(
    http: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    placed = await make_order(session, customer)
    fetched = await http.get(
        f"{BASES[flavour]}/productOrder/{placed.order.id}", headers=customer.headers
    )
    assert fetched.status_code == 200
    check_response(flavour, API, "/productOrder/{id}", "get", 200, fetched.json())


async def test_requests_that_break_the_spec_change_nothing(
    http: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    body = await line_order(session, flavour)
    unknown = {
        **body,
        "productOrderItem": [
            {
                **body["productOrderItem"][0],
                "product": {
                    **body["productOrderItem"][0]["product"],
                    "productConfiguration": {"@type": "urn:example:unknown"},
                },
            }
        ],
    }
    refused = await _post(http, flavour, customer, unknown)
    assert refused.status_code == 422
    assert refused.json()[0]["propertyPath"] == (
        "/productOrderItem/0/product/productConfiguration/@type"
    )
    bad_config = {
        **body,
        "productOrderItem": [
            {
                **body["productOrderItem"][0],
                "product": {
                    **body["productOrderItem"][0]["product"],
                    "productConfiguration": {
                        "@type": body["productOrderItem"][0]["product"]["productConfiguration"][
                            "@type"
                        ]
                    },
                },
            }
        ],
    }
    incomplete = await _post(http, flavour, customer, bad_config)
    assert incomplete.status_code == 422
    assert {e["code"] for e in incomplete.json()} == {"missingProperty"}
    no_contact = {k: v for k, v in body.items() if k != "relatedContactInformation"}
    missing = await _post(http, flavour, customer, no_contact)
    assert missing.status_code == 422
    assert missing.json()[0] | {"reason": ""} == {
        "code": "missingProperty",
        "propertyPath": "/relatedContactInformation",
        "reason": "",
    }
    one_place = {
        **body,
        "productOrderItem": [
            {
                **body["productOrderItem"][0],
                "product": {
                    **body["productOrderItem"][0]["product"],
                    "place": body["productOrderItem"][0]["product"]["place"][:1],
                },
            }
        ],
    }
    assert (await _post(http, flavour, customer, one_place)).status_code == 422
    not_json = await http.post(
        f"{BASES[flavour]}/productOrder", content=b"[", headers=customer.headers
    )
    assert not_json.status_code == 400
    assert not_json.json()["code"] == "invalidBody"
    assert await _orders(session) == 0


async def test_another_partys_order_does_not_exist(
    http: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    created = (await _post(http, flavour, customer, await line_order(session, flavour))).json()
    url = f"{BASES[flavour]}/productOrder/{created['id']}"
    for response in (
        await http.get(url, headers=other_customer.headers),
        await http.patch(url, json={"externalId": "mine"}, headers=other_customer.headers),
        await http.get(f"{BASES[flavour]}/productOrder/ord_nope", headers=customer.headers),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "notFound"
    cancel = await http.post(
        f"{BASES[flavour]}/cancelProductOrder",
        headers=other_customer.headers,
        json={
            "productOrder": {"productOrderId": created["id"]},
            "relatedContactInformation": CONTACT,
        },
    )
    assert cancel.status_code == 422
    assert cancel.json()[0]["code"] == "referenceNotFound"
    listed = await http.get(f"{BASES[flavour]}/productOrder", headers=other_customer.headers)
    assert listed.json() == []
    mine = await http.get(url, headers=customer.headers)
    assert mine.json()["state"] == "acknowledged"
    assert mine.json()["externalId"] == "PO-7"


async def test_patch_cancel_and_date_change(
    app: FastAPI,
    http: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    flavour: str,
) -> None:
    created = (await _post(http, flavour, customer, await line_order(session, flavour))).json()
    base = BASES[flavour]
    patched = await http.patch(
        f"{base}/productOrder/{created['id']}",
        headers=customer.headers,
        json={"externalId": "PO-8", "projectId": "roll-out"},
    )
    check_response(flavour, API, "/productOrder/{id}", "patch", 200, patched.json())
    assert (patched.json()["externalId"], patched.json()["projectId"]) == ("PO-8", "roll-out")

    when = (clock.now() + timedelta(days=50)).isoformat().replace("+00:00", "Z")
    moved = await http.post(
        f"{base}/modifyProductOrderItemRequestedDeliveryDate",
        headers=customer.headers,
        json={
            "productOrderItem": {"productOrderId": created["id"], "productOrderItemId": "1"},
            "requestedCompletionDate": when,
        },
    )
    check_response(
        flavour,
        API,
        "/modifyProductOrderItemRequestedDeliveryDate",
        "post",
        moved.status_code,
        moved.json(),
    )
    assert moved.status_code == 201
    again = await http.get(
        f"{base}/modifyProductOrderItemRequestedDeliveryDate/{moved.json()['id']}",
        headers=customer.headers,
    )
    assert again.json() == moved.json()

    cancel = await http.post(
        f"{base}/cancelProductOrder",
        headers=customer.headers,
        json={
            "productOrder": {"productOrderId": created["id"]},
            "cancellationReason": "site not ready",
            "cancellationReasonType": "commercial",
            "relatedContactInformation": CONTACT,
        },
    )
    check_response(flavour, API, "/cancelProductOrder", "post", cancel.status_code, cancel.json())
    assert cancel.status_code == 201
    assert cancel.json()["state"] == "acknowledged"
    await app.state.fulfilment.run_until_idle()
    done = await http.get(
        f"{base}/cancelProductOrder/{cancel.json()['id']}", headers=customer.headers
    )
    check_response(flavour, API, "/cancelProductOrder/{id}", "get", 200, done.json())
    assert done.json()["state"] == "done"
    order = (
        await http.get(f"{base}/productOrder/{created['id']}", headers=customer.headers)
    ).json()
    assert order["state"] == "cancelled"
    assert [c["state"] for c in order["stateChange"]] == [
        "acknowledged",
        "assessingCancellation",
        "pendingCancellation",
        "cancelled",
    ]
    listed = await http.get(f"{base}/cancelProductOrder", headers=customer.headers)
    check_response(flavour, API, "/cancelProductOrder", "get", 200, listed.json())
    assert listed.headers["x-total-count"] == "1"
    charges = await http.get(f"{base}/charge", headers=customer.headers)
    check_response(flavour, API, "/charge", "get", 200, charges.json())
    assert charges.json() == []
    # The charge list reads the criteria MEF 123 defines, and refuses malformed ones.
    of_order = await http.get(
        f"{base}/charge",
        headers=customer.headers,
        params={"productOrderId": created["id"], "creationDate.gt": "2026-01-01T00:00:00Z"},
    )
    assert (of_order.json(), of_order.headers["x-total-count"]) == ([], "0")
    malformed = await http.get(
        f"{base}/charge", headers=customer.headers, params={"responseDueDate.lt": "soon"}
    )
    assert (malformed.status_code, malformed.json()["code"]) == (400, "invalidQuery")


async def test_agents_name_their_buyer_and_events_echo_it(
    app: FastAPI,
    http: httpx.AsyncClient,
    session: AsyncSession,
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
    body = await line_order(session, flavour)
    refused = await _post(http, flavour, agent, body)
    assert (refused.status_code, refused.json()["code"]) == (400, "missingQueryParameter")
    stranger = await _post(http, flavour, agent, body, buyerId="pty_nobody")
    assert (stranger.status_code, stranger.json()["code"]) == (403, "forbiddenRequester")
    async with listening() as listener:
        hub = await http.post(
            f"{BASES[flavour]}/hub",
            headers=agent.headers,
            params={"buyerId": customer.party_id},
            json={"callback": listener.url, "query": "eventType=productOrderStateChangeEvent"},
        )
        check_response(flavour, API, "/hub", "post", hub.status_code, hub.json())
        assert hub.status_code == 201
        created = await _post(http, flavour, agent, body, buyerId=customer.party_id)
        assert created.status_code == 201
        listener.fail_next = 1
        dispatcher = app.state.dispatcher
        await dispatcher.run_once()
        assert listener.received == []  # the first delivery failed: it is retried later
        later = clock.now() + timedelta(minutes=5)
        clock.set_clock(lambda: later)
        await dispatcher.run_once()
        await app.state.fulfilment.run_until_idle()
        await dispatcher.run_once()
    paths = {path for path, _ in listener.received}
    # The notification API sits at the base path its official file declares.
    base = {
        "sonata": "/mefApi/sonata/productOrderingNotification/v10",
        "cantata": "/mefApi/cantata/productOrderingNotification/v5",
    }[flavour]
    assert paths == {f"{base}/listener/productOrderStateChangeEvent"}
    states = []
    for _, envelope in listener.received:
        assert envelope["eventType"] == "productOrderStateChangeEvent"
        assert envelope["event"]["id"] == created.json()["id"]
        assert envelope["event"]["buyerId"] == customer.party_id
        assert envelope["event"]["sellerId"] == "lumen"
        states.append(envelope["eventId"])
    assert len(states) == len(set(states)) >= 3
    mine = {"buyerId": customer.party_id}
    gone = await http.delete(
        f"{BASES[flavour]}/hub/{hub.json()['id']}", headers=agent.headers, params=mine
    )
    assert gone.status_code == 204
    assert (
        await http.get(
            f"{BASES[flavour]}/hub/{hub.json()['id']}", headers=agent.headers, params=mine
        )
    ).status_code == 404
