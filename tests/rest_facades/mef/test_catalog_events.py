"""Catalog changes reach every buyer's W142 listener on loopback, in the official event shapes;
an offering still in design reaches operations staff only."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import catalog
from app.core.catalog import CategoryInput, LifecycleStatus, OfferingBase
from app.core.db import Database
from app.main import create_app
from app.settings import Settings
from rest_facades.mef.generated.sonata import product_catalog_notification as models
from tests.factories import Caller
from tests.rest_facades.mef.listener import Listener, listening
from tests.rest_facades.mef.notifications import check_event

BASES = {
    "sonata": "/mefApi/sonata/productCatalog/v2",
    "cantata": "/mefApi/cantata/productCatalog/v2",
}
MODELS: dict[str, type[BaseModel]] = {
    "productOffering": models.ProductOfferingEvent,
    "category": models.ProductCategoryEvent,
}


@pytest.fixture(params=sorted(BASES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs on Sonata and on Cantata."""
    name: str = request.param
    return name


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


def _heard(flavour: str, listener: Listener) -> list[tuple[str, str]]:
    """(event type, id) of each notification, checked against the official file and the
    generated models, sorted (deliveries run concurrently)."""
    heard = []
    for path, body in listener.received:
        assert path.startswith(f"/mefApi/{flavour}/productCatalogNotifications/v2/listener/")
        event_type = path.rsplit("/", 1)[1]
        check_event(flavour, "product_catalog_notification", event_type, body)
        next(m for name, m in MODELS.items() if event_type.startswith(name)).model_validate(body)
        heard.append((event_type, body["event"]["id"]))
    return sorted(heard)


async def test_buyers_hear_of_offerings_on_sale_and_of_categories(
    app: FastAPI,
    http: httpx.AsyncClient,
    session: AsyncSession,
    flavour: str,
    customer: Caller,
    ops: Caller,
) -> None:
    async with listening() as buyer, listening() as staff:
        for caller, listener in ((customer, buyer), (ops, staff)):
            hub = await http.post(
                f"{BASES[flavour]}/hub", headers=caller.headers, json={"callback": listener.url}
            )
            assert hub.status_code == 201, hub.text
        offering = await catalog.create_offering(
            session,
            principal=ops.principal,
            offering_id="wave-10g",
            data=OfferingBase(
                name="Wave 10G", specification_id="ethernet_line", bandwidths_mbps=[10000]
            ),
        )
        assert offering.status is LifecycleStatus.IN_DESIGN
        await catalog.update_offering(
            session,
            principal=ops.principal,
            offering_id="wave-10g",
            changes=catalog.OfferingUpdate(),
            price_ids=["ethernet-line-monthly"],
        )
        category = await catalog.create_category(
            session, principal=ops.principal, data=CategoryInput(name="Waves")
        )
        await app.state.dispatcher.run_once()
    on_sale = [
        ("categoryCreateEvent", category.id),
        ("productOfferingAttributeValueChangeEvent", "wave-10g"),
        ("productOfferingStatusChangeEvent", "wave-10g"),
    ]
    assert _heard(flavour, buyer) == on_sale
    assert _heard(flavour, staff) == sorted([*on_sale, ("productOfferingCreateEvent", "wave-10g")])
