"""Webhooks a receiver can trust: safe callbacks, signed deliveries, isolation, parking."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from standardwebhooks import Webhook, WebhookVerificationError

from app.core import clock, events, tickets
from app.core.db import Database
from app.core.events import Channel, Delivery, DeliveryStatus
from app.core.webhooks import new_secret
from app.main import create_app
from app.settings import Settings
from rest_facades.common.notifications import RefusedDestination, WebhookSender
from tests.factories import Caller
from tests.rest_facades.mef import conformance as mef
from tests.rest_facades.mef.listener import listening
from tests.rest_facades.tmf import conformance as tmf

TMF_HUB = "/tmf-api/troubleTicket/v4/hub"
MEF_HUB = "/mefApi/sonata/productOrderingManagement/v10/hub"
TMF621 = "TMF621-TroubleTicket-v4"


@pytest.fixture
async def make_app(settings: Settings, database: Database) -> AsyncIterator[Any]:
    """Makes applications with changed settings, their workers left to the test."""
    made: list[FastAPI] = []

    def make(**changes: Any) -> FastAPI:
        application = create_app(settings.model_copy(update=changes), run_workers=False)
        application.state.database = database
        made.append(application)
        return application

    yield make
    for application in made:
        await application.state.dispatcher.database.dispose()


@pytest.fixture
def app(make_app: Any) -> FastAPI:
    """The application as tests run it: private callbacks allowed."""
    application: FastAPI = make_app()
    return application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of that application."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


async def _register(
    http: httpx.AsyncClient, caller: Caller, callback: str, hub: str = TMF_HUB
) -> httpx.Response:
    return await http.post(hub, headers=caller.headers, json={"callback": callback})


async def _open_ticket(session: AsyncSession, caller: Caller, summary: str = "Link down") -> str:
    ticket = await tickets.open_ticket(
        session, principal=caller.principal, channel=Channel.TMF, summary=summary, description="."
    )
    return ticket.id


async def _deliveries(database: Database) -> list[Delivery]:
    """Deliveries to listeners (not to in-process handlers)."""
    async with database.session() as fresh:
        found = await fresh.exec(select(Delivery).where(col(Delivery.receiver).startswith("sub")))
        rows = list(found.all())
        for row in rows:
            fresh.expunge(row)
        return rows


async def test_deliveries_are_signed_with_the_secret_given_once_at_registration(
    app: FastAPI, http: httpx.AsyncClient, session: AsyncSession, carrier: Caller
) -> None:
    async with listening() as listener:
        hub = await _register(http, carrier, listener.url)
        assert hub.status_code == 201
        tmf.check_response(TMF621, "/hub", "post", 201, hub.json())
        secret = hub.json()["secret"]
        assert secret.startswith("whsec_")
        assert hub.headers["webhook-secret"] == secret
        await _open_ticket(session, carrier)
        listener.fail_next = 1
        await app.state.dispatcher.run_once()
        later = clock.now() + timedelta(minutes=5)
        clock.set_clock(lambda: later)
        await app.state.dispatcher.run_once()
    first, retry = listener.requests
    assert first.path == retry.path == "/listener/troubleTicketCreateEvent"
    payload = Webhook(secret).verify(retry.body, retry.headers)
    assert payload["eventType"] == "troubleTicketCreateEvent"
    # `webhook-id` is the event id, the same on every attempt: receivers de-duplicate on it.
    assert first.headers["webhook-id"] == retry.headers["webhook-id"] == payload["eventId"]
    assert abs(int(retry.headers["webhook-timestamp"]) - time.time()) < 60
    assert retry.headers["webhook-signature"].startswith("v1,")
    tampered = retry.body.replace(b"troubleTicketCreateEvent", b"troubleTicketDeleteEvent")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, retry.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(retry.body, retry.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(retry.body, {**retry.headers, "webhook-id": "evt_other"})


async def test_each_listener_has_its_own_secret_and_mef_returns_it_too(
    http: httpx.AsyncClient, carrier: Caller
) -> None:
    one = await _register(http, carrier, "https://hooks.example.com/a", hub=MEF_HUB)
    two = await _register(http, carrier, "https://hooks.example.com/a", hub=MEF_HUB)
    assert one.status_code == two.status_code == 201
    mef.check_response("sonata", "product_order", "/hub", "post", 201, one.json())
    assert one.json()["secret"] != two.json()["secret"]
    assert one.headers["webhook-secret"] == one.json()["secret"]
    fetched = await http.get(f"{MEF_HUB}/{one.json()['id']}", headers=carrier.headers)
    assert fetched.status_code == 200
    assert "secret" not in fetched.json()
    assert "webhook-secret" not in fetched.headers


REFUSED = [
    "http://127.0.0.1:8080/hooks",
    "http://127.9.9.9/",
    "http://[::1]/",
    "http://169.254.169.254/latest/meta-data",
    "http://[fe80::1]/",
    "http://10.0.0.8/",
    "http://172.16.3.4/",
    "http://192.168.1.20/",
    "http://[fc00::1]/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://2130706433/",
    "http://127.1/",
    "http://0x7f.0.0.1/",
    "http://localhost:8000/",
    "http://LOCALHOST./",
    "http://hooks.localhost/",
    "https://user:secret@hooks.example.com/",
    "https://token@hooks.example.com/",
    "ftp://hooks.example.com/",
    "hooks.example.com/x",
    "https://hooks.example.com:99999/",
    "https://hooks.example.com/a b",
]


async def test_registration_refuses_callbacks_the_platform_must_not_call(
    make_app: Any, carrier: Caller
) -> None:
    strict = make_app(webhook_allow_private=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=strict), base_url="http://testserver"
    ) as http:
        for callback in REFUSED:
            refused = await _register(http, carrier, callback)
            assert refused.status_code == 400, callback
            tmf.check_response(TMF621, "/hub", "post", 400, refused.json())
            assert refused.json()["code"] == "INVALID_VALUE"
            assert "callback" in refused.json()["reason"], callback
            refused = await _register(http, carrier, callback, hub=MEF_HUB)
            assert refused.status_code == 400, callback
            mef.check_response("sonata", "product_order", "/hub", "post", 400, refused.json())
            assert refused.json()["code"] == "invalidBody"
            assert refused.json()["propertyPath"] == "/callback"
        # A public name is accepted: it is resolved, and checked, at each delivery.
        for callback in ("https://hooks.example.com/lumen", "http://93.184.216.34:8080/x"):
            assert (await _register(http, carrier, callback)).status_code == 201, callback


async def test_an_operator_may_allow_private_callbacks_but_never_credentials(
    http: httpx.AsyncClient, carrier: Caller
) -> None:
    for callback in ("http://127.0.0.1:9/", "http://[::1]:9/", "http://10.0.0.8/", "http://x.lan/"):
        assert (await _register(http, carrier, callback)).status_code == 201, callback
    for callback in ("https://user:pw@hooks.example.com/", "gopher://hooks.example.com/"):
        assert (await _register(http, carrier, callback)).status_code == 400, callback


def _subscription(callback: str = "http://hooks.example.com") -> events.Subscription:
    return events.Subscription(
        id="sub_test", party_id="pty_test", transport="t", callback=callback, secret=new_secret()
    )


async def test_every_address_a_name_resolves_to_is_checked_at_delivery() -> None:
    async def rebinding(host: str, port: int) -> list[str]:
        # A public address first, and a private one behind it.
        return ["93.184.216.34", "127.0.0.1"] if host == "rebind.example" else ["169.254.169.254"]

    strict = WebhookSender(timeout=2, allow_private=False, resolver=rebinding)
    with pytest.raises(RefusedDestination, match="loopback"):
        await strict.post(_subscription(), "evt_1", "http://rebind.example/hook", {"a": 1})
    with pytest.raises(RefusedDestination, match="link-local"):
        await strict.post(_subscription(), "evt_1", "http://metadata.example/", {"a": 1})


async def test_a_delivery_connects_to_the_address_it_checked_and_keeps_the_name(
    caplog: pytest.LogCaptureFixture, app: FastAPI
) -> None:
    caplog.set_level(logging.DEBUG)
    lookups: list[str] = []

    async def partner_dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    sender = WebhookSender(timeout=2, allow_private=True, resolver=partner_dns)
    async with listening() as listener:
        port = listener.url.rsplit(":", 1)[1]
        url = f"http://hooks.partner.test:{port}/listener/x?token=s3cr3t"
        await sender.post(_subscription(), "evt_1", url, {"a": 1})
        listener.fail_next = 1
        with pytest.raises(Exception, match=r"hooks\.partner\.test answered 503") as failed:
            await sender.post(_subscription(), "evt_2", url, {"a": 2})
    assert lookups == ["hooks.partner.test"] * 2
    [request, _] = listener.requests
    assert request.headers["host"] == f"hooks.partner.test:{port}"
    assert request.path == "/listener/x?token=s3cr3t"
    # Neither the logs nor the recorded error carry the URL's secrets.
    assert "s3cr3t" not in str(failed.value)
    assert "s3cr3t" not in caplog.text


async def test_a_name_that_now_resolves_privately_is_refused_at_delivery(
    make_app: Any, database: Database, session: AsyncSession, carrier: Caller
) -> None:
    strict = make_app(webhook_allow_private=False)
    async with listening() as listener:
        # Registered while it looked public (here: while the operator allowed it).
        await events.subscribe(
            session,
            principal=carrier.principal,
            transport="tmf:troubleTicket",
            callback=listener.url,
            allow_private=True,
        )
        await _open_ticket(session, carrier)
        await strict.state.dispatcher.run_once()
    assert listener.requests == []
    [delivery] = await _deliveries(database)
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.last_error == "RefusedDestination: 127.0.0.1 resolves to a loopback address"


async def test_redirects_are_not_followed(
    app: FastAPI,
    http: httpx.AsyncClient,
    session: AsyncSession,
    carrier: Caller,
    database: Database,
) -> None:
    async with listening() as target, listening() as redirecting:
        redirecting.redirect_to = f"{target.url}/stolen"
        assert (await _register(http, carrier, redirecting.url)).status_code == 201
        await _open_ticket(session, carrier)
        await app.state.dispatcher.run_once()
    assert len(redirecting.requests) == 1
    assert target.requests == []
    [delivery] = await _deliveries(database)
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert "answered 307; redirects are not followed" in (delivery.last_error or "")


async def _wait_for(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_slow_listener_delays_only_its_own_events(
    app: FastAPI,
    http: httpx.AsyncClient,
    session: AsyncSession,
    carrier: Caller,
    other_carrier: Caller,
) -> None:
    async with listening() as slow, listening() as fast:
        slow.delay = 5.0
        assert (await _register(http, carrier, slow.url)).status_code == 201
        assert (await _register(http, other_carrier, fast.url)).status_code == 201
        for n in range(6):
            await _open_ticket(session, carrier, f"Slow {n}")
            await _open_ticket(session, other_carrier, f"Fast {n}")
        started = time.monotonic()
        running = asyncio.create_task(app.state.dispatcher.run_forever(0.05))
        try:
            await _wait_for(lambda: len(fast.received) == 6, seconds=4.0)
            took = time.monotonic() - started
            # Before the slow listener has answered once: four of its events are in flight,
            # the rest wait their turn.
            assert len(slow.requests) == 4
            assert slow.received == []
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    assert took < slow.delay


async def test_an_attempt_times_out_after_the_configured_seconds(
    make_app: Any, database: Database, session: AsyncSession, carrier: Caller
) -> None:
    quick = make_app(webhook_timeout_seconds=0.5)
    async with listening() as listener:
        listener.delay = 3.0
        await events.subscribe(
            session,
            principal=carrier.principal,
            transport="tmf:troubleTicket",
            callback=listener.url,
            allow_private=True,
        )
        await _open_ticket(session, carrier)
        started = time.monotonic()
        await quick.state.dispatcher.run_once()
        assert time.monotonic() - started < 2.0
    [delivery] = await _deliveries(database)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert "ReadTimeout" in (delivery.last_error or "") or "TimeoutError" in (
        delivery.last_error or ""
    )


FAILED = """query($first: Int) { ops { failedDeliveries(first: $first) { totalCount nodes {
    id eventId receiver subscriptionId status attempts lastError lastAttemptAt } } } }"""
REPLAY = """mutation($id: ID!) { replayDelivery(id: $id) {
    delivery { id status attempts } userErrors { field code message } } }"""


async def test_parked_deliveries_are_seen_and_replayed_by_operations_only(
    make_app: Any,
    session: AsyncSession,
    carrier: Caller,
    developer: Caller,
    ops: Caller,
) -> None:
    app = make_app(events_max_attempts=2)
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
        listening() as listener,
    ):

        async def gql(query: str, caller: Caller, **variables: Any) -> dict[str, Any]:
            answer = await http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=caller.headers
            )
            result: dict[str, Any] = answer.json()
            return result

        hub = (await _register(http, carrier, listener.url)).json()
        await _open_ticket(session, carrier)
        listener.fail_next = 2
        now = clock.now()
        for hours in (0, 1):
            clock.set_clock(lambda h=hours: now + timedelta(hours=h))  # type: ignore[misc]
            await app.state.dispatcher.run_once()
        assert len(listener.requests) == 2

        parked = (await gql(FAILED, ops, first=10))["data"]["ops"]["failedDeliveries"]
        assert parked["totalCount"] == 1
        [node] = parked["nodes"]
        assert node["status"] == "FAILED"
        assert node["attempts"] == 2
        assert node["subscriptionId"] == hub["id"]
        assert node["receiver"] == f"subscription:{hub['id']}"
        assert "answered 503" in node["lastError"]

        # Only operations staff see them or replay them.
        for query, variables in ((FAILED, {"first": 10}), (REPLAY, {"id": node["id"]})):
            refused = await gql(query, developer, **variables)
            assert refused["errors"][0]["extensions"]["code"] == "NOT_AUTHORIZED"
        unknown = (await gql(REPLAY, ops, id="evt_nothing/subscription:sub_x"))["data"]
        assert unknown["replayDelivery"]["userErrors"][0]["code"] == "NOT_FOUND"

        replayed = (await gql(REPLAY, ops, id=node["id"]))["data"]["replayDelivery"]
        assert replayed["userErrors"] == []
        assert replayed["delivery"] == {"id": node["id"], "status": "PENDING", "attempts": 0}
        await app.state.dispatcher.run_once()
        assert len(listener.received) == 1
        assert listener.requests[-1].headers["webhook-id"] == node["eventId"]

        again = (await gql(REPLAY, ops, id=node["id"]))["data"]["replayDelivery"]
        assert again["userErrors"][0]["code"] == "ILLEGAL_TRANSITION"
        empty = (await gql(FAILED, ops, first=10))["data"]["ops"]["failedDeliveries"]
        assert empty["totalCount"] == 0
