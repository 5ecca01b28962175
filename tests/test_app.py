"""The ASGI application: health, readiness, the portal page."""

import warnings

import httpx
import pytest
from graphql import parse, validate
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.db import Database
from app.dashboard import DASHBOARD_QUERY, FEED_SUBSCRIPTION
from app.main import create_app
from app.settings import Settings
from schema.root import schema
from tests.factories import make_caller


async def test_health_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_not_ready_when_the_database_does_not_answer(settings: Settings) -> None:
    app = create_app(settings, run_workers=False)
    app.state.database = Database.connect("sqlite:////nonexistent-dir/nowhere/lumen.db")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    await app.state.database.dispose()


async def test_the_portal_names_every_face(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    for base in ("/graphql", "/mefApi/sonata/", "/mefApi/cantata/", "/tmf-api/"):
        assert base in page


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_platform_endpoints_are_documented(client: httpx.AsyncClient, path: str) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert path in spec["paths"]


async def test_the_dashboard_query_runs_for_ops(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    page = (await client.get("/dashboard")).text
    assert "ordersByState" in page
    ops = await make_caller(session, "ops", name="Ops")
    answer = (
        await client.post("/graphql", json={"query": DASHBOARD_QUERY}, headers=ops.headers)
    ).json()
    assert "errors" not in answer
    assert answer["data"]["ops"]["monthlyRecurringRevenue"]["currency"] == "USD"


async def test_unknown_paths_answer_in_each_faces_error_format(
    client: httpx.AsyncClient,
) -> None:
    mef = await client.get("/mefApi/sonata/nothingHere/v1/thing")
    assert (mef.status_code, mef.json()["code"]) == (404, "notFound")
    tmf = await client.get("/tmf-api/nothingHere/v4/thing")
    assert tmf.status_code == 404
    assert tmf.json()["@type"] == "Error"
    plain = await client.get("/nothing")
    assert plain.json() == {"detail": "Not Found"}


def test_the_openapi_document_has_one_id_per_operation(settings: Settings) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        document = create_app(settings, run_workers=False).openapi()
    assert any(path.startswith("/tmf-api/") for path in document["paths"])
    assert any(path.startswith("/mefApi/") for path in document["paths"])


def test_the_dashboard_feed_is_a_valid_subscription() -> None:
    assert validate(schema._schema, parse(FEED_SUBSCRIPTION)) == []
