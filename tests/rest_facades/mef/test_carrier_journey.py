"""A carrier's whole journey through Sonata, end to end, as an integration built on the MEF SDK
would make it: address, availability and price, qualification, firm quote, order, installation
visit, notifications, inventory, ticket, bill."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import billing, tickets
from app.core.db import Database
from app.core.events import Delivery
from app.main import create_app
from app.settings import Settings
from tests.factories import Caller, make_caller
from tests.rest_facades.mef.configurations import minimal_configuration
from tests.rest_facades.mef.conformance import check_response
from tests.rest_facades.mef.listener import listening

SONATA = "/mefApi/sonata"
LINE = "urn:mef:lso:spec:sonata:access-eline-ovc:v5.0.0:all"
CONTACT = {
    "role": "buyerContactInformation",
    "name": "Noor",
    "emailAddress": "noc@meridian.example",
    "number": "+1 555 0199",
}


@pytest.fixture
async def app(settings: Settings, database: Database) -> FastAPI:
    """The application; the test runs its fulfilment engine and dispatcher itself."""
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


async def call(
    http: httpx.AsyncClient,
    caller: Caller,
    method: str,
    api: str,
    base: str,
    path: str,
    template: str | None = None,
    status: int = 200,
    **kwargs: Any,
) -> Any:
    """One call, checked against the official Sonata file of its API."""
    response = await http.request(
        method, f"{SONATA}/{base}{path}", headers=caller.headers, **kwargs
    )
    assert response.status_code == status, response.text
    body = response.json() if response.content else None
    check_response("sonata", api, template or path, method, status, body)
    return body


async def validated(
    http: httpx.AsyncClient,
    carrier: Caller,
    street_nr: str,
    street: str,
    city: str,
    state: str,
    postcode: str,
) -> dict[str, Any]:
    """The address-book place of a fielded address, through MEF 121."""
    answer = await call(
        http,
        carrier,
        "POST",
        "geographic_address",
        "geographicAddressManagement/v7",
        "/geographicAddressValidation",
        json={
            "provideAlternative": True,
            "submittedGeographicAddress": {
                "@type": "FieldedAddress",
                "streetNr": street_nr,
                "streetName": street,
                "city": city,
                "stateOrProvince": state,
                "postcode": postcode,
                "country": "US",
            },
        },
    )
    assert answer["validationResult"] == "success"
    best = answer["bestMatchGeographicAddress"]
    return {"@type": "GeographicAddressRef", "role": "INSTALL_LOCATION", "id": best["id"]}


async def test_the_carrier_journey(
    app: FastAPI, http: httpx.AsyncClient, session: AsyncSession, ops: Caller
) -> None:
    carrier = await make_caller(session, "carrier", name="Meridian Wholesale")
    rival = await make_caller(session, "carrier", name="Northwind Carrier Services")
    a_end = await validated(http, carrier, "350", "E Cermak Rd", "Chicago", "IL", "60616")
    z_end = await validated(http, carrier, "60", "Hudson St", "New York", "NY", "10013")
    configuration = minimal_configuration(LINE)
    configuration["uniEp"] = {
        "egressBandwidthProfilePerEndPoint": [{"cir": {"irValue": 1, "irUnits": "GBPS"}}]
    }
    product = {"productConfiguration": configuration, "place": [a_end, z_end]}

    discovery = "productOfferingAvailabilityAndPricingDiscovery/v2"
    available = await call(
        http,
        carrier,
        "POST",
        "availability_and_pricing",
        discovery,
        "/productOfferingAvailability",
        json={"action": "add", "productSpecification": {"id": LINE}, "place": [a_end, z_end]},
    )
    gigabit = next(
        c
        for c in available["availableProductOfferingConfigurations"]
        if c["productConfigurationIdentifier"].split("~")[1] == "1000"
    )
    pricing = await call(
        http,
        carrier,
        "POST",
        "availability_and_pricing",
        discovery,
        "/pricingDiscovery",
        json={
            "action": "add",
            "productConfigurationIdentifier": gigabit["productConfigurationIdentifier"],
            "place": [a_end, z_end],
        },
    )
    yearly = next(p for p in pricing["pricingAndTerms"] if p["term"]["duration"]["amount"] == 12)
    listed_price = {p["priceType"]: p["price"] for p in yearly["price"]}

    poq = await call(
        http,
        carrier,
        "POST",
        "product_offering_qualification",
        "productOfferingQualification/v7",
        "/productOfferingQualification",
        status=201,
        json={
            "instantSyncQualification": True,
            "relatedContactInformation": [CONTACT],
            "productOfferingQualificationItem": [{"id": "1", "action": "add", "product": product}],
        },
    )
    assert poq["state"] == "done.ready"
    assert poq["productOfferingQualificationItem"][0]["serviceabilityConfidence"] == "green"

    quote = await call(
        http,
        carrier,
        "POST",
        "quote",
        "quoteManagement/v8",
        "/quote",
        status=201,
        json={
            "buyerRequestedQuoteLevel": "firm",
            "instantSyncQuote": True,
            "quoteItem": [{"id": "1", "action": "add", "product": product}],
        },
    )
    assert quote["state"] == "approved.orderable"
    # The quote (of the default twelve-month term) gives the prices discovery gave.
    quoted = {p["priceType"]: p["price"] for p in quote["quoteItem"][0]["quoteItemPrice"]}
    assert quoted == listed_price

    async with listening() as listener:
        await call(
            http,
            carrier,
            "POST",
            "product_order",
            "productOrderingManagement/v10",
            "/hub",
            status=201,
            json={"callback": listener.url},
        )
        order = await call(
            http,
            carrier,
            "POST",
            "product_order",
            "productOrderingManagement/v10",
            "/productOrder",
            status=201,
            json={
                "externalId": "MER-1001",
                "relatedContactInformation": [CONTACT],
                "productOrderItem": [
                    {
                        "id": "1",
                        "action": "add",
                        "product": product,
                        "quoteItem": {"id": "1", "quoteId": quote["id"]},
                    }
                ],
            },
        )
        assert order["state"] == "acknowledged"
        # Fulfilment starts the order: the new line needs an installation visit, booked by
        # the carrier in the first free window.
        await app.state.fulfilment.tick()
        visits = await http.get(
            f"{SONATA}/workOrderManagement/v2/workorder",
            headers=carrier.headers,
            params={"relatedEntityType": "ProductOrder", "relatedEntityId": order["id"]},
        )
        [visit] = visits.json()
        assert visit["state"] == "open"
        free = await call(
            http,
            carrier,
            "POST",
            "appointment",
            "appointment/v2",
            "/searchTimeSlot",
            status=201,
            json={"workOrder": {"id": visit["id"]}, "requestedTimeSlot": []},
        )
        appointment = await call(
            http,
            carrier,
            "POST",
            "appointment",
            "appointment/v2",
            "/appointment",
            status=201,
            json={
                "workOrder": {"id": visit["id"]},
                "validFor": free["availableTimeSlot"][0]["validFor"],
                "relatedContactInformation": [{**CONTACT, "role": "siteContact"}],
            },
        )
        await app.state.fulfilment.run_until_idle()
        await app.state.dispatcher.run_once()
    visited = await call(
        http,
        carrier,
        "GET",
        "work_order",
        "workOrderManagement/v2",
        f"/workorder/{visit['id']}",
        template="/workorder/{id}",
    )
    assert visited["state"] == "completed"
    assert [a["id"] for a in visited["appointment"]] == [appointment["id"]]
    order_events = [
        body
        for path, body in listener.received
        if path.endswith("/listener/productOrderStateChangeEvent")
    ]
    assert {e["event"]["id"] for e in order_events} == {order["id"]}
    # acknowledged, in progress, completed; otherwise the deliveries say what happened
    assert len(order_events) == 3, (await session.exec(select(Delivery))).all()

    done = await call(
        http,
        carrier,
        "GET",
        "product_order",
        "productOrderingManagement/v10",
        f"/productOrder/{order['id']}",
        template="/productOrder/{id}",
    )
    assert done["state"] == "completed"
    product_id = done["productOrderItem"][0]["product"]["id"]
    assert done["productOrderItem"][0]["quoteItem"] == {"id": "1", "quoteId": quote["id"]}
    inventory = await call(
        http,
        carrier,
        "GET",
        "product_inventory",
        "productInventory/v7",
        f"/product/{product_id}",
        template="/product/{id}",
    )
    assert inventory["status"] == "active"

    ticket = await call(
        http,
        carrier,
        "POST",
        "trouble_ticket",
        "troubleTicket/v4",
        "/troubleTicket",
        status=201,
        json={
            "description": "Loss of light",
            "severity": "extensive",
            "priority": "critical",
            "ticketType": "assistance",
            "observedImpact": "down",
            "relatedEntity": [{"@referredType": "Product", "id": product_id, "role": "impacted"}],
            "relatedContactInformation": [{**CONTACT, "role": "reporterContact"}],
        },
    )
    for state in (tickets.TicketState.IN_PROGRESS, tickets.TicketState.RESOLVED):
        await tickets.change_state(
            session,
            principal=ops.principal,
            ticket_id=ticket["id"],
            state=state,
            resolution="Replaced a faulty optic",
        )
    resolved = await call(
        http,
        carrier,
        "GET",
        "trouble_ticket",
        "troubleTicket/v4",
        f"/troubleTicket/{ticket['id']}",
        template="/troubleTicket/{id}",
    )
    assert resolved["status"] == "resolved"

    # The carrier's bill so far shows the new line's installation at the price it was quoted.
    await billing.bill_on_demand(session, principal=carrier.principal)
    bills_base = "customerBillManagement/v2"
    bills = await call(http, carrier, "GET", "billing", bills_base, "/customerBill")
    # MEF 141 answers a retrieval by id with an array of the one object.
    [bill] = await call(
        http,
        carrier,
        "GET",
        "billing",
        bills_base,
        f"/customerBill/{bills[0]['id']}",
        template="/customerBill/{id}",
    )
    charges = [
        (
            await call(
                http,
                carrier,
                "GET",
                "billing",
                bills_base,
                f"/customerBillItem/{ref['id']}",
                template="/customerBillItem/{id}",
            )
        )[0]
        for ref in bill["customerBillItem"]
    ]
    installation = next(c for c in charges if c["customerBillItemType"] == "nonRecurring")
    assert installation["product"]["id"] == product_id
    assert installation["productOrderItem"]["productOrderId"] == order["id"]
    assert installation["taxExcludedAmount"] == listed_price["nonRecurring"]["dutyFreeAmount"]
    total = sum(round(c["taxExcludedAmount"]["value"] * 100) for c in charges)
    assert total == round(bill["taxExcludedAmount"]["value"] * 100)

    # Operations see the carrier's order among every channel's; another carrier does not.
    dashboard = (
        await http.post(
            "/graphql",
            headers=ops.headers,
            json={"query": "{ ops { orders(channel: SONATA) { nodes { externalId state } } } }"},
        )
    ).json()
    assert {"externalId": "MER-1001", "state": "COMPLETED"} in dashboard["data"]["ops"]["orders"][
        "nodes"
    ]
    hidden = await http.get(
        f"{SONATA}/productOrderingManagement/v10/productOrder/{order['id']}", headers=rival.headers
    )
    assert hidden.status_code == 404
