"""The production topology on PostgreSQL: two web processes (`lumen serve`, background work off)
and two `lumen worker` processes. Orders placed on either web process are fulfilled once, their
notifications are delivered once, a GraphQL subscriber on one web process hears of an order
placed on the other, and stopping a worker mid-run loses nothing."""

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import from_base64
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from app.core.db import Database
from app.core.events import Event, EventKind
from app.core.inventory import ProductInstance
from app.core.ordering import OrderState
from tests.factories import Caller, tmf622_line_order
from tests.live_server import free_port
from tests.rest_facades.mef.listener import listening

pytestmark = pytest.mark.postgres_only
ORDERING = "/tmf-api/productOrderingManagement/v4"
ORDERS = 12
# Loading the platform's modules takes seconds of CPU; a shared CI machine starts four at once.
START_SECONDS = 240.0
SETTLE_SECONDS = 40.0
ORDER_UPDATES = "subscription { orderUpdates { id state } }"
ORDER_CONNECTION = """mutation($i: OrderConnectionInput!) { orderConnection(input: $i) {
  order { id } userErrors { code } } }"""


@dataclass
class Process:
    """A `lumen` command running as a child process, with its log file."""

    process: asyncio.subprocess.Process
    log: Path

    def logged(self) -> str:
        return self.log.read_text(errors="replace")


async def _until(condition: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.1)


@asynccontextmanager
async def _lumen(database_url: str, logs: Path, *args: str) -> AsyncIterator[Process]:
    """`lumen <args>` with instant-ish fulfilment, until the block ends (then SIGTERM)."""
    env = {
        **os.environ,
        "LUMEN_DATABASE_URL": database_url,
        "LUMEN_ENVIRONMENT": "test",
        "LUMEN_SEED_DEMO": "false",
        "LUMEN_RUN_WORKERS": "false",
        "LUMEN_WEBHOOK_ALLOW_PRIVATE": "true",
        # Slow enough that a worker stopped early leaves orders half done.
        "LUMEN_FULFILMENT_ACK_SECONDS": "0.2",
        "LUMEN_FULFILMENT_COMPLETE_SECONDS": "1.5",
        "LUMEN_FULFILMENT_POLL_SECONDS": "0.05",
        "LUMEN_EVENTS_POLL_SECONDS": "0.2",
        "LUMEN_LOG_LEVEL": "INFO",
    }
    log = logs / f"lumen-{'-'.join(args)}-{free_port()}.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.cli", *args, env=env, stdout=output, stderr=output
        )
    try:
        yield Process(process, log)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _web(stack: AsyncExitStack, database_url: str, logs: Path) -> str:
    """A started web process; its base URL."""
    port = free_port()
    server = await stack.enter_async_context(
        _lumen(database_url, logs, "serve", "--port", str(port))
    )
    url = f"http://127.0.0.1:{port}"

    async def answers() -> bool:
        assert server.process.returncode is None, server.logged()
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{url}/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    await _until(answers, START_SECONDS, f"{url} answers")
    return url


async def _worker(stack: AsyncExitStack, database_url: str, logs: Path) -> Process:
    """A started `lumen worker`."""
    worker = await stack.enter_async_context(_lumen(database_url, logs, "worker"))

    async def started() -> bool:
        assert worker.process.returncode is None, worker.logged()
        return "worker started" in worker.logged()

    await _until(started, START_SECONDS, "the worker starts")
    return worker


async def _subscribe(url: str, caller: Caller) -> ClientConnection:
    """An open graphql-transport-ws connection of `caller` with `orderUpdates` subscribed."""
    ws = await connect(
        url.replace("http", "ws", 1) + "/graphql",
        subprotocols=[Subprotocol("graphql-transport-ws")],
    )
    await ws.send(
        json.dumps(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {caller.key}"}}
        )
    )
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": ORDER_UPDATES}}))
    return ws


async def _states_heard(ws: ClientConnection, order_id: str, until: str) -> list[str]:
    """The states of one order that a subscription reports, up to `until`."""
    states: list[str] = []
    async with asyncio.timeout(SETTLE_SECONDS):
        while until not in states:
            message = json.loads(await ws.recv())
            assert message["type"] == "next", message
            heard = message["payload"]["data"]["orderUpdates"]
            if heard["id"] == order_id:
                states.append(heard["state"])
    return states


async def test_web_and_worker_processes_share_the_work_and_the_events(
    postgres_schema: str | None,
    database: Database,
    session: AsyncSession,
    carrier: Caller,
    developer: Caller,
    tmp_path: Path,
) -> None:
    if not postgres_schema:
        pytest.skip("needs LUMEN_TEST_DATABASE_URL naming a PostgreSQL server")
    order: dict[str, Any] = await tmf622_line_order(session)
    connection = {
        "aEnd": {"address": "350 E Cermak Rd, Chicago, IL 60616"},
        "zEnd": {"address": "60 Hudson St, New York, NY 10013"},
        "bandwidthMbps": 1000,
        "termMonths": 12,
    }
    async with AsyncExitStack() as stack:
        listener = await stack.enter_async_context(listening())
        first, second, stopped, kept = await asyncio.gather(
            _web(stack, postgres_schema, tmp_path),
            _web(stack, postgres_schema, tmp_path),
            _worker(stack, postgres_schema, tmp_path),
            _worker(stack, postgres_schema, tmp_path),
        )
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        hub = await client.post(
            f"{first}{ORDERING}/hub", json={"callback": listener.url}, headers=carrier.headers
        )
        assert hub.status_code == 201

        # A developer listens on the first web process and orders on the second.
        ws = await stack.enter_async_context(await _subscribe(first, developer))
        await asyncio.sleep(0.5)  # the protocol acknowledges no subscription
        bought = await client.post(
            f"{second}/graphql",
            json={"query": ORDER_CONNECTION, "variables": {"i": connection}},
            headers=developer.headers,
        )
        developer_order = bought.json()["data"]["orderConnection"]["order"]["id"]  # a global id

        async def place(n: int) -> httpx.Response:
            url = f"{(first, second)[n % 2]}{ORDERING}/productOrder"
            return await client.post(url, json=order, headers=carrier.headers)

        # The first order makes the carrier's sites; the others, at once, reuse them.
        placed = [await place(0), *await asyncio.gather(*map(place, range(1, ORDERS)))]
        assert {p.status_code for p in placed} == {201}
        order_ids = {p.json()["id"] for p in placed}

        async def some_in_progress() -> bool:
            async with database.session() as fresh:
                started = (
                    await fresh.exec(
                        select(func.count())
                        .select_from(Event)
                        .where(Event.entity == "order", Event.state == OrderState.IN_PROGRESS)
                    )
                ).one()
            return started > 0

        # Mid-run: orders are being fulfilled; one worker is told to stop, as a deploy would.
        await _until(some_in_progress, SETTLE_SECONDS, "fulfilment starts")
        stopped.process.send_signal(signal.SIGTERM)
        heard = await _states_heard(ws, developer_order, "COMPLETED")
        expected = ORDERS * 3  # created, then in progress, then completed

        async def all_delivered() -> bool:
            return len({r.headers["webhook-id"] for r in listener.requests}) >= expected

        await _until(all_delivered, SETTLE_SECONDS, f"{expected} notifications arrive")
        await asyncio.sleep(1.0)  # time for a second copy of anything to arrive
        # A worker stops within the webhook timeout (10 s) and a margin, or says where it is stuck.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopped.process.wait(), timeout=20)
        assert stopped.process.returncode == 0, stopped.logged()
        assert kept.process.returncode is None, kept.logged()

    assert heard[-1] == "COMPLETED"
    copies = Counter(r.headers["webhook-id"] for r in listener.requests)
    assert [i for i, n in copies.items() if n > 1] == []
    assert len(copies) == expected
    async with database.session() as fresh:
        steps = (
            await fresh.exec(
                select(Event.entity_id, func.count())
                .where(Event.entity == "order", Event.kind == EventKind.STATE_CHANGED)
                .group_by(col(Event.entity_id))
            )
        ).all()
        # Each order moved twice (in progress, completed), whichever worker took each step.
        assert dict(steps) == dict.fromkeys({*order_ids, from_base64(developer_order)[1]}, 2)
        products = (
            await fresh.exec(
                select(ProductInstance.order_id, func.count()).group_by(
                    col(ProductInstance.order_id)
                )
            )
        ).all()
        assert dict(products) == dict.fromkeys({*order_ids, from_base64(developer_order)[1]}, 1)
