"""Catalog events reach every party's TMF620 listener on loopback; offerings still in design
reach operations staff only."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.db import Database
from app.main import create_app
from app.settings import Settings
from rest_facades.tmf.generated import product_catalog as tmf
from tests.factories import Caller
from tests.rest_facades.mef.listener import Listener, listening

BASE = "/tmf-api/productCatalogManagement/v4"
ORDERING = "/tmf-api/productOrderingManagement/v4"


@pytest.fixture
async def app(settings: Settings, database: Database) -> FastAPI:
    """The application; the test runs its dispatcher itself."""
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


def _heard(listener: Listener) -> list[tuple[str, str]]:
    """(event type, resource id) of each notification, validated by the generated models, in
    sorted order (deliveries run concurrently)."""
    heard = []
    for path, envelope in listener.received:
        event_type = path.rsplit("/", 1)[-1]
        model = getattr(tmf, event_type[0].upper() + event_type[1:])
        model.model_validate(envelope)
        assert envelope["eventType"] == event_type
        (resource,) = envelope["event"].values()
        heard.append((event_type, resource["id"]))
    listener.received.clear()
    return sorted(heard)


async def _register(http: httpx.AsyncClient, caller: Caller, listener: Listener) -> None:
    hub = await http.post(f"{BASE}/hub", headers=caller.headers, json={"callback": listener.url})
    assert hub.status_code == 201, hub.text


async def test_every_listener_hears_of_the_catalog_and_only_ops_of_offerings_in_design(
    app: FastAPI, http: httpx.AsyncClient, customer: Caller, carrier: Caller, ops: Caller
) -> None:
    async with listening() as buyer, listening() as partner, listening() as staff:
        await _register(http, customer, buyer)
        await _register(http, carrier, partner)
        await _register(http, ops, staff)

        price = await http.post(
            f"{BASE}/productOfferingPrice",
            headers=ops.headers,
            json={"name": "Wave", "priceType": "recurring", "price": {"unit": "USD", "value": 9}},
        )
        assert price.status_code == 201, price.text
        created = await http.post(
            f"{BASE}/productOffering",
            headers=ops.headers,
            json={"name": "Wave 10G", "productSpecification": {"id": "ethernet_line"}},
        )
        assert created.json()["lifecycleStatus"] == "In design"
        offering_id, price_id = created.json()["id"], price.json()["id"]
        renamed = await http.patch(
            f"{BASE}/productOffering/{offering_id}",
            headers=ops.headers,
            json={"description": "Dedicated waves"},
        )
        assert renamed.status_code == 200
        await app.state.dispatcher.run_once()
        for listener in (buyer, partner):
            assert _heard(listener) == [("productOfferingPriceCreateEvent", price_id)]
        assert _heard(staff) == sorted(
            [
                ("productOfferingPriceCreateEvent", price_id),
                ("productOfferingCreateEvent", offering_id),
                ("productOfferingAttributeValueChangeEvent", offering_id),
            ]
        )

        # Once on sale, it is news to everyone: its state and its prices changed.
        priced = await http.patch(
            f"{BASE}/productOffering/{offering_id}",
            headers=ops.headers,
            json={"productOfferingPrice": [{"id": price_id}]},
        )
        assert priced.json()["lifecycleStatus"] == "Active"
        retired = await http.delete(f"{BASE}/productOffering/{offering_id}", headers=ops.headers)
        assert retired.status_code == 204
        category = await http.post(f"{BASE}/category", headers=ops.headers, json={"name": "Wan"})
        catalog = await http.post(f"{BASE}/catalog", headers=ops.headers, json={"name": "Main"})
        spec = await http.post(
            f"{BASE}/productSpecification", headers=ops.headers, json={"name": "Dark fibre"}
        )
        await app.state.dispatcher.run_once()
        expected = sorted(
            [
                ("productOfferingStateChangeEvent", offering_id),
                ("productOfferingAttributeValueChangeEvent", offering_id),
                ("productOfferingDeleteEvent", offering_id),
                ("categoryCreateEvent", category.json()["id"]),
                ("catalogCreateEvent", catalog.json()["id"]),
                ("productSpecificationCreateEvent", spec.json()["id"]),
            ]
        )
        for listener in (buyer, partner, staff):
            assert _heard(listener) == expected


async def test_a_listener_hears_only_the_event_types_it_asked_for_and_no_other_partys(
    app: FastAPI,
    http: httpx.AsyncClient,
    customer: Caller,
    other_customer: Caller,
    ops: Caller,
) -> None:
    async with listening() as catalog_news, listening() as orders:
        hub = await http.post(
            f"{BASE}/hub",
            headers=customer.headers,
            json={"callback": catalog_news.url, "query": "eventType=categoryCreateEvent"},
        )
        assert hub.status_code == 201
        # Another buyer's listener of its orders hears nothing of the catalog.
        other = await http.post(
            f"{ORDERING}/hub", headers=other_customer.headers, json={"callback": orders.url}
        )
        assert other.status_code == 201
        category = await http.post(f"{BASE}/category", headers=ops.headers, json={"name": "Wan"})
        patched = await http.patch(
            f"{BASE}/category/{category.json()['id']}", headers=ops.headers, json={"name": "WAN"}
        )
        assert patched.status_code == 200
        await app.state.dispatcher.run_once()
        assert _heard(catalog_news) == [("categoryCreateEvent", category.json()["id"])]
        assert orders.received == []


def _offering(envelope: dict[str, Any]) -> dict[str, Any]:
    offering: dict[str, Any] = envelope["event"]["productOffering"]
    return offering


async def test_an_event_carries_the_entry_as_it_became(
    app: FastAPI, http: httpx.AsyncClient, customer: Caller, ops: Caller
) -> None:
    async with listening() as listener:
        await _register(http, customer, listener)
        patched = await http.patch(
            f"{BASE}/productOffering/ethernet-line", headers=ops.headers, json={"name": "E-Line"}
        )
        assert patched.status_code == 200
        await app.state.dispatcher.run_once()
    ((path, envelope),) = listener.received
    assert path == "/listener/productOfferingAttributeValueChangeEvent"
    assert _offering(envelope) | {"lastUpdate": None} == {
        "id": "ethernet-line",
        "href": f"{BASE}/productOffering/ethernet-line",
        "name": "E-Line",
        "lifecycleStatus": "Active",
        "lastUpdate": None,
        "@type": "ProductOffering",
    }
