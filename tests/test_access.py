"""Who gets in where: each audience's faces, rate limits, trusted hosts; no key in any log."""

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import structlog
import uvicorn
from fastapi import FastAPI
from graphql import get_introspection_query
from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import catalog, ordering
from app.core.catalog import Offering
from app.core.db import Database
from app.core.parties import revoke_api_key
from app.logging import configure_logging, redact
from app.main import create_app
from app.settings import Settings
from tests.factories import CHICAGO, NEW_YORK, Caller, location_id, make_caller
from tests.live_server import free_port

SONATA = "/mefApi/sonata/productOrderingManagement/v10"
CANTATA = "/mefApi/cantata/productOrderingManagement/v5"
TMF = "/tmf-api/productOrderingManagement/v4"
VIEWER = "{ viewer { sites(first: 1) { edges { node { id } } } } }"
OFFERINGS = "{ productOfferings { edges { node { id name } } } }"

AppWith = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def app_with(settings: Settings, database: Database) -> AsyncIterator[AppWith]:
    """Makes a client of an application whose settings differ from the test's."""
    clients: list[httpx.AsyncClient] = []

    async def make(**changes: Any) -> httpx.AsyncClient:
        app = create_app(settings.model_copy(update=changes), run_workers=False)
        app.state.database = database
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def _callers(session: AsyncSession) -> dict[str, Caller]:
    return {
        audience: await make_caller(session, audience, name=f"A {audience}")
        for audience in ("developer", "carrier", "enterprise", "ops")
    }


async def _graphql(client: httpx.AsyncClient, caller: Caller | None, query: str) -> Any:
    headers = caller.headers if caller else {}
    return await client.post("/graphql", json={"query": query}, headers=headers)


ALLOWED = {
    "developer": {"graphql"},
    "carrier": {"sonata", "tmf"},
    "enterprise": {"cantata", "tmf"},
    "ops": {"graphql", "sonata", "cantata", "tmf"},
}


async def test_each_audience_uses_its_own_faces_and_is_refused_elsewhere(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    for audience, caller in (await _callers(session)).items():
        allowed = ALLOWED[audience]
        for face, base in (("sonata", SONATA), ("cantata", CANTATA)):
            answer = await client.get(f"{base}/productOrder", headers=caller.headers)
            if face in allowed:
                assert answer.status_code == 200, (audience, face, answer.text)
            else:
                assert answer.status_code == 403, (audience, face)
                assert answer.json()["code"] == "forbiddenRequester"
                assert audience in answer.json()["reason"]
        tmf = await client.get(f"{TMF}/productOrder", headers=caller.headers)
        if "tmf" in allowed:
            assert tmf.status_code == 200, (audience, tmf.text)
        else:
            assert tmf.status_code == 403
            assert tmf.json()["@type"] == "Error"
            assert (tmf.json()["code"], tmf.json()["status"]) == ("FORBIDDEN", "403")
        graphql = (await _graphql(client, caller, VIEWER)).json()
        if "graphql" in allowed:
            assert "errors" not in graphql, (audience, graphql)
        else:
            assert graphql["data"] is None
            assert graphql["errors"][0]["extensions"]["code"] == "NOT_AUTHORIZED"


async def test_every_mef_operation_refuses_an_audience_of_another_face(
    settings: Settings, database: Database, session: AsyncSession
) -> None:
    callers = await _callers(session)
    app = create_app(settings, run_workers=False)
    app.state.database = database
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    operations = app.openapi()["paths"]
    tried = 0
    for path, methods in operations.items():
        flavour = path.split("/")[2] if path.startswith("/mefApi/") else None
        if flavour is None:
            continue
        url = re.sub(r"{[^}]+}", "some-id", path)
        refused = [a for a, faces in ALLOWED.items() if flavour not in faces]
        for method in methods:
            for audience in refused:
                answer = await client.request(
                    method.upper(), url, json={}, headers=callers[audience].headers
                )
                assert answer.status_code == 403, (method, path, audience, answer.text)
                assert answer.json()["code"] == "forbiddenRequester", (method, path)
                tried += 1
    await client.aclose()
    # Both flavours' operations (7 APIs each), each refused to two audiences.
    assert tried > 200


async def test_a_key_of_another_face_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    callers = await _callers(session)
    a = await location_id(session, CHICAGO)
    z = await location_id(session, NEW_YORK)
    order = {
        "productOrderItem": [
            {
                "id": "1",
                "action": "add",
                "product": {
                    "productOffering": {"id": "ethernet-line"},
                    "place": [{"id": a, "role": "A-End"}, {"id": z, "role": "Z-End"}],
                },
            }
        ]
    }
    refused = await client.post(
        f"{TMF}/productOrder", json=order, headers=callers["developer"].headers
    )
    assert refused.status_code == 403
    # The hubs follow the same rule.
    hub = {"callback": "http://127.0.0.1:9/listener"}
    assert (
        await client.post(f"{TMF}/hub", json=hub, headers=callers["developer"].headers)
    ).status_code == 403
    sonata_hub = await client.post(f"{SONATA}/hub", json=hub, headers=callers["enterprise"].headers)
    assert (sonata_hub.status_code, sonata_hub.json()["code"]) == (403, "forbiddenRequester")
    cantata_hub = await client.post(f"{CANTATA}/hub", json=hub, headers=callers["carrier"].headers)
    assert cantata_hub.status_code == 403
    for caller in callers.values():
        assert await ordering.list_orders(session, principal=caller.principal) == []


async def test_anonymous_graphql_calls_stay_open(client: httpx.AsyncClient) -> None:
    for query in (OFFERINGS, '{ locations(search: "Chicago") { edges { node { id } } } }'):
        answer = (await _graphql(client, None, query)).json()
        assert "errors" not in answer, answer
    refused = (await _graphql(client, None, VIEWER)).json()
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_refused_key_is_not_served_as_anonymous(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    developer = await make_caller(session, "developer", name="Former Customer")
    carrier = await make_caller(session, "carrier", name="Other Face Carrier")
    await revoke_api_key(session, principal=developer.principal, key_id=developer.key.split("_")[1])
    unknown = Caller(developer.principal, "lumen_0123456789ab_not-the-secret")
    price = """{ price(input: {product: ETHERNET_LINE, aEnd: {address: "350 E Cermak Rd, Chicago"},
        bandwidthMbps: 1000, termMonths: 12}) { price { monthlyRecurring } } }"""
    for caller, code in (
        (unknown, "UNAUTHENTICATED"),
        (developer, "UNAUTHENTICATED"),  # its key is revoked
        (carrier, "NOT_AUTHORIZED"),
    ):
        for query in (OFFERINGS, price, "{ __typename }", VIEWER):
            response = await _graphql(client, caller, query)
            # As a field that needs a key answers: no data, the error that says why.
            assert response.status_code == 200
            answer = response.json()
            assert answer["data"] is None, (code, query, answer)
            assert [e.get("extensions", {}).get("code") for e in answer["errors"]] == [code], answer
    # Without a key, the same operations are open.
    for query in (OFFERINGS, price, "{ __typename }"):
        assert "errors" not in (await _graphql(client, None, query)).json()


async def test_a_key_over_its_budget_waits_in_each_faces_error_format(
    app_with: AppWith, session: AsyncSession
) -> None:
    http = await app_with(rate_limit_per_key="3/minute")
    carrier = await make_caller(session, "carrier", name="Busy Carrier")
    other = await make_caller(session, "carrier", name="Quiet Carrier")
    for _ in range(3):
        assert (await http.get(f"{SONATA}/productOrder", headers=carrier.headers)).is_success
    for path in (f"{SONATA}/productOrder", f"{TMF}/productOrder"):
        refused = await http.get(path, headers=carrier.headers)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        if path.startswith("/mefApi/"):
            assert refused.json()["code"] == "tooManyRequests"
        else:
            assert (refused.json()["@type"], refused.json()["status"]) == ("Error", "429")
    # Another key has a budget of its own.
    assert (await http.get(f"{SONATA}/productOrder", headers=other.headers)).status_code == 200


async def test_anonymous_calls_are_limited_per_address(app_with: AppWith) -> None:
    http = await app_with(rate_limit_anonymous="2/minute", graphql_cost_unit=1000)
    for _ in range(2):
        assert (await _graphql(http, None, OFFERINGS)).status_code == 200
    refused = await _graphql(http, None, OFFERINGS)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] >= 1
    # Health probes are never limited.
    assert (await http.get("/healthz")).status_code == 200


async def test_graphiql_loads_the_schema_within_an_anonymous_budget(app_with: AppWith) -> None:
    http = await app_with(rate_limit_anonymous="120/minute", graphql_cost_unit=50)
    # Introspection counts towards the limits of one operation, not the caller's budget.
    for _ in range(5):
        answer = await _graphql(http, None, get_introspection_query())
        assert answer.status_code == 200
        assert "errors" not in answer.json()
        assert answer.json()["extensions"]["cost"]["requested"] > 120 * 50


async def test_a_graphql_query_spends_its_cost(app_with: AppWith, session: AsyncSession) -> None:
    http = await app_with(rate_limit_per_key="10/minute", graphql_cost_unit=10)
    developer = await make_caller(session, "developer", name="Costly Developer")
    first = await _graphql(http, developer, OFFERINGS)
    cost = first.json()["extensions"]["cost"]["requested"]
    assert cost > 40  # a page of 20 offerings: more than 4 units of 10
    assert "errors" not in first.json()
    # The first query took ceil(cost / 10) units of 10; the second has not that many left.
    second = await _graphql(http, developer, OFFERINGS)
    assert second.status_code == 429
    assert second.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(second.headers["Retry-After"]) >= 1
    assert second.json()["data"] is None


async def test_a_query_dearer_than_a_whole_budget_takes_the_window_and_is_answered(
    app_with: AppWith, session: AsyncSession
) -> None:
    http = await app_with(rate_limit_per_key="10/minute", graphql_cost_unit=1)
    developer = await make_caller(session, "developer", name="Big Query Developer")
    first = await _graphql(http, developer, OFFERINGS)
    assert first.json()["extensions"]["cost"]["requested"] > 10
    assert "errors" not in first.json()
    second = await _graphql(http, developer, OFFERINGS)
    assert second.status_code == 429


async def test_an_address_that_keeps_sending_bad_keys_is_slowed_down(
    app_with: AppWith, session: AsyncSession
) -> None:
    http = await app_with(auth_failures_limit="3/minute")
    enterprise = await make_caller(session, "enterprise", name="Acme")
    bad = {"Authorization": "Bearer lumen_0123456789ab_not-the-secret"}
    assert (await http.get(f"{TMF}/productOrder", headers=bad)).status_code == 401
    assert (await http.get(f"{CANTATA}/productOrder", headers=bad)).status_code == 401
    graphql = (await http.post("/graphql", json={"query": VIEWER}, headers=bad)).json()
    assert graphql["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # Three refused keys in a minute: even a valid key waits until the window has passed.
    locked = await http.get(f"{TMF}/productOrder", headers=enterprise.headers)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert locked.json()["code"] == "TOO_MANY_REQUESTS"
    # Anonymous reference data stays open to that address.
    assert (await _graphql(http, None, OFFERINGS)).status_code == 200


async def test_links_never_follow_an_untrusted_host(
    app_with: AppWith, session: AsyncSession
) -> None:
    enterprise = await make_caller(session, "enterprise", name="Acme")
    a = await location_id(session, CHICAGO)
    site = {"name": "HQ", "place": [{"id": a, "@referredType": "GeographicAddress"}]}
    site_path = "/tmf-api/geographicSiteManagement/v4/geographicSite"

    async def created(http: httpx.AsyncClient, host: str) -> tuple[str, str]:
        answer = await http.post(site_path, json=site, headers={**enterprise.headers, "Host": host})
        assert answer.status_code == 201, answer.text
        return answer.json()["href"], answer.headers["Location"]

    http = await app_with()
    href, location = await created(http, "evil.example")
    assert href.startswith("http://127.0.0.1:8000/tmf-api/")
    assert location == href
    href, _ = await created(http, "testserver")
    assert href.startswith("http://testserver/tmf-api/")
    public = await app_with(public_base_url="https://api.lumen.example/")
    href, location = await created(public, "testserver")
    assert href.startswith("https://api.lumen.example/tmf-api/")
    assert location == href


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("localhost:8000", "http://localhost:8000"),
        ("127.0.0.1:9999", "http://127.0.0.1:9999"),
        ("LOCALHOST", "http://localhost"),
        ("evil.example", "http://127.0.0.1:8000"),
        ("localhost:evil.example", "http://127.0.0.1:8000"),
        ("localhost.evil.example", "http://127.0.0.1:8000"),
        ("", "http://127.0.0.1:8000"),
    ],
)
def test_only_a_trusted_host_makes_the_base_of_links(host: str, base: str) -> None:
    assert Settings(database_url="sqlite://").base_url_for("http", host) == base


def test_keys_and_bearer_tokens_are_blanked_in_log_lines() -> None:
    line = "Authorization: BEARER abc.def, key lumen_0123456789ab_Zz-_9 or 'bearer  xyz'"
    assert redact(line) == (
        "Authorization: BEARER [redacted], key [redacted] or 'bearer  [redacted]'"
    )


@pytest.mark.parametrize("json_lines", [False, True])
def test_structlog_loggers_are_redacted_and_show_no_locals(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], json_lines: bool
) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", root.handlers)
    monkeypatch.setattr(root, "level", root.level)
    configure_logging("INFO", json_lines=json_lines)
    key = "lumen_0123456789ab_not-for-the-logs"
    try:
        headers = {"authorization": f"Bearer {key}"}
        raise RuntimeError(f"failed for {headers}")
    except RuntimeError:
        structlog.get_logger("test").exception("request failed", key=key)
    logged = capsys.readouterr().err
    assert "request failed" in logged
    assert "RuntimeError" in logged  # the traceback is there...
    assert "not-for-the-logs" not in logged  # ...without the key, in the message or a local


async def test_mef_links_never_follow_an_untrusted_host(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    carrier = await make_caller(session, "carrier", name="Meridian")
    address = await location_id(session, CHICAGO)
    answer = await client.get(
        f"/mefApi/sonata/geographicAddressManagement/v7/geographicAddress/{address}",
        headers={**carrier.headers, "Host": "evil.example"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["href"].startswith("http://127.0.0.1:8000/mefApi/sonata/")


def _boom(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("the catalog broke")


async def test_an_unexpected_error_logs_no_key(
    client: httpx.AsyncClient,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    callers = await _callers(session)
    monkeypatch.setattr(catalog, "list_offerings", _boom)
    monkeypatch.setattr(catalog, "offerings_query", _boom)
    caplog.set_level(logging.INFO)
    graphql = await client.post(
        "/graphql", json={"query": OFFERINGS}, headers=callers["developer"].headers
    )
    assert graphql.json()["errors"][0]["message"] == "Unexpected error."
    tmf = await client.get(
        "/tmf-api/productCatalogManagement/v4/productOffering",
        headers=callers["enterprise"].headers,
    )
    assert tmf.status_code == 500
    assert "the catalog broke" in caplog.text  # the failures were logged...
    for caller in callers.values():  # ...without a key
        assert caller.key not in caplog.text
        # `lumen_<id>_<secret>`; the secret itself may contain `_`.
        assert caller.key.split("_", 2)[2] not in caplog.text


async def test_a_failed_statement_logs_no_parameters(
    client: httpx.AsyncClient,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    enterprise = await make_caller(session, "enterprise", name="Private Customer")
    customer_data = "Jane Doe, 555-0100, 1 Secret Lane"

    # A statement the database refuses, carrying customer data as a parameter.
    broken = select(Offering).where(col(Offering.id) == customer_data, text("no_such = 1"))

    async def failing(session: AsyncSession, **_kwargs: Any) -> Any:
        return (await session.exec(broken)).all()

    monkeypatch.setattr(catalog, "list_offerings", failing)
    monkeypatch.setattr(catalog, "offerings_query", lambda **_kwargs: broken)
    caplog.set_level(logging.INFO)
    graphql = await client.post("/graphql", json={"query": OFFERINGS})
    assert graphql.json()["errors"][0]["message"] == "Unexpected error."
    tmf = await client.get(
        "/tmf-api/productCatalogManagement/v4/productOffering", headers=enterprise.headers
    )
    assert tmf.status_code == 500
    assert "no_such" in caplog.text  # the statement was logged...
    assert customer_data not in caplog.text  # ...without its parameters
    assert "parameters hidden" in caplog.text


@pytest.mark.parametrize("environment", ["development", "production"])
async def test_a_real_server_logs_no_key(
    settings: Settings,
    database: Database,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    environment: str,
) -> None:
    developer = await make_caller(session, "developer", name="Nimbus Labs")
    enterprise = await make_caller(session, "enterprise", name="Acme")
    port = free_port()
    root = logging.getLogger()
    # The app logs to this test's captured stderr; put the handlers back before it is closed.
    monkeypatch.setattr(root, "handlers", root.handlers)
    monkeypatch.setattr(root, "level", root.level)
    app: FastAPI = create_app(
        settings.model_copy(update={"environment": environment}), run_workers=False
    )
    app.state.database = database
    monkeypatch.setattr(catalog, "list_offerings", _boom)
    monkeypatch.setattr(catalog, "offerings_query", _boom)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    try:
        # A loaded machine answers slowly: the test is about what is logged, not how fast.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            for _ in range(600):
                if server.started:
                    break
                await asyncio.sleep(0.05)
            graphql = await http.post(
                "/graphql", json={"query": OFFERINGS}, headers=developer.headers
            )
            assert graphql.status_code == 200
            tmf = await http.get(
                "/tmf-api/productCatalogManagement/v4/productOffering",
                headers=enterprise.headers,
            )
            assert tmf.status_code == 500
            bad = await http.get(
                f"{TMF}/productOrder?apiKey={developer.key}",
                headers={"Authorization": f"Bearer {developer.key}x"},
            )
            assert bad.status_code == 401
    finally:
        server.should_exit = True
        await serving
    logged = capfd.readouterr().err
    assert "the catalog broke" in logged
    assert "/productOrder" in logged  # the access log line is there, its query string blanked
    for caller in (developer, enterprise):
        assert caller.key.split("_", 2)[2] not in logged
