"""Two app processes on one PostgreSQL database: each event reaches a listener once, each order
is fulfilled once."""

import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from standardwebhooks import Webhook

from app.core.db import Database
from app.core.events import Delivery, Event, EventKind
from app.core.inventory import ProductInstance
from tests.factories import Caller, tmf622_line_order
from tests.live_server import free_port
from tests.rest_facades.mef.listener import listening

pytestmark = pytest.mark.postgres_only
ORDERING = "/tmf-api/productOrderingManagement/v4"
ORDERS = 24
PROCESSES = 2


def _server_logs(logs: Path) -> str:
    """What the app processes wrote, to show with a failure."""
    return "\n".join(log.read_text() for log in sorted(logs.glob("*.log")))


@asynccontextmanager
async def _serving(database_url: str, logs: Path) -> AsyncIterator[str]:
    """One platform process (uvicorn, its workers on) on a free loopback port."""
    port = free_port()
    env = {
        **os.environ,
        "LUMEN_DATABASE_URL": database_url,
        "LUMEN_ENVIRONMENT": "test",
        "LUMEN_SEED_DEMO": "false",
        "LUMEN_WEBHOOK_ALLOW_PRIVATE": "true",
        "LUMEN_FULFILMENT_ACK_SECONDS": "0",
        "LUMEN_FULFILMENT_COMPLETE_SECONDS": "0",
        "LUMEN_FULFILMENT_POLL_SECONDS": "0.05",
        "LUMEN_EVENTS_POLL_SECONDS": "0.05",
        "LUMEN_LOG_LEVEL": "WARNING",
    }
    with (logs / f"uvicorn-{port}.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            env=env,
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 40
            while True:
                assert process.returncode is None, (logs / f"uvicorn-{port}.log").read_text()
                try:
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the app process did not start"
                await asyncio.sleep(0.1)
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_two_processes_deliver_each_event_once_and_fulfil_each_order_once(
    postgres_schema: str | None,
    database: Database,
    session: AsyncSession,
    carrier: Caller,
    tmp_path: Path,
) -> None:
    if not postgres_schema:
        pytest.skip("needs LUMEN_TEST_DATABASE_URL naming a PostgreSQL server")
    order = await tmf622_line_order(session)
    async with (
        listening() as listener,
        _serving(postgres_schema, tmp_path) as first,
        _serving(postgres_schema, tmp_path) as second,
        httpx.AsyncClient(headers=carrier.headers, timeout=30) as client,
    ):
        hub = await client.post(f"{first}{ORDERING}/hub", json={"callback": listener.url})
        assert hub.status_code == 201
        secret = hub.json()["secret"]
        placed = await asyncio.gather(
            *(
                client.post(f"{(first, second)[n % PROCESSES]}{ORDERING}/productOrder", json=order)
                for n in range(ORDERS)
            )
        )
        refused = [p.text for p in placed if p.status_code != 201]
        assert refused == [], _server_logs(tmp_path)
        order_ids = {p.json()["id"] for p in placed}
        # Each order: created, then acknowledged -> in progress -> completed.
        expected = ORDERS * 3
        deadline = time.monotonic() + 40
        while len({r.headers["webhook-id"] for r in listener.requests}) < expected:
            assert time.monotonic() < deadline, f"{len(listener.requests)} of {expected} arrived"
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # time for a second copy of anything to arrive

    ids = Counter(r.headers["webhook-id"] for r in listener.requests)
    assert [i for i, n in ids.items() if n > 1] == []
    assert len(ids) == expected
    seen_orders: Counter[str] = Counter()
    for request in listener.requests:
        body = Webhook(secret).verify(request.body, request.headers)
        seen_orders[body["event"]["productOrder"]["id"]] += 1
    assert seen_orders == dict.fromkeys(order_ids, 3)

    async with database.session() as fresh:
        steps = (
            await fresh.exec(
                select(Event.entity_id, func.count())
                .where(Event.entity == "order", Event.kind == EventKind.STATE_CHANGED)
                .group_by(col(Event.entity_id))
            )
        ).all()
        assert dict(steps) == dict.fromkeys(order_ids, 2)
        products = (
            await fresh.exec(
                select(ProductInstance.order_id, func.count()).group_by(
                    col(ProductInstance.order_id)
                )
            )
        ).all()
        assert dict(products) == dict.fromkeys(order_ids, 1)
        retried = (await fresh.exec(select(Delivery).where(col(Delivery.attempts) > 1))).all()
        assert retried == []
