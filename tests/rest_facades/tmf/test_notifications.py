"""TMF events reach a real HTTP listener on loopback, in the TMF envelope, retried on failure."""

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock
from app.core.db import Database
from app.main import create_app
from app.settings import Settings
from tests.factories import CHICAGO, NEW_YORK, Caller, location_id
from tests.rest_facades.mef.listener import listening

BASE = "/tmf-api/productOrderingManagement/v4"


@pytest.fixture
async def app(settings: Settings, database: Database) -> FastAPI:
    """The application; the test runs its dispatcher and fulfilment itself."""
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


async def test_order_events_reach_the_listener_and_failures_are_retried(
    app: FastAPI, http: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    places = [
        {"id": await location_id(session, CHICAGO), "role": "A-End"},
        {"id": await location_id(session, NEW_YORK), "role": "Z-End"},
    ]
    order = {
        "productOrderItem": [
            {
                "id": "1",
                "action": "add",
                "productOffering": {"id": "ethernet-line"},
                "product": {
                    "productCharacteristic": [
                        {"name": "bandwidth", "value": 1000},
                        {"name": "termMonths", "value": 12},
                    ],
                    "place": places,
                },
            }
        ]
    }
    async with listening() as listener:
        hub = await http.post(
            f"{BASE}/hub", headers=customer.headers, json={"callback": listener.url}
        )
        assert hub.status_code == 201
        created = await http.post(f"{BASE}/productOrder", headers=customer.headers, json=order)
        assert created.status_code == 201
        listener.fail_next = 1
        await app.state.dispatcher.run_once()
        assert listener.received == []
        later = clock.now() + timedelta(minutes=5)
        clock.set_clock(lambda: later)
        await app.state.dispatcher.run_once()
        await app.state.fulfilment.run_until_idle()
        await app.state.dispatcher.run_once()
    paths = [path for path, _ in listener.received]
    assert paths[0] == "/listener/productOrderCreateEvent"
    assert paths.count("/listener/productOrderStateChangeEvent") == 2
    for _, envelope in listener.received:
        assert envelope["event"]["productOrder"]["id"] == created.json()["id"]
        assert envelope["eventType"] in {"productOrderCreateEvent", "productOrderStateChangeEvent"}
    ids = [envelope["eventId"] for _, envelope in listener.received]
    assert len(ids) == len(set(ids))
