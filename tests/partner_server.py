"""A second instance of the platform served as the demo partner carrier (`lumen serve
--as-partner`), and a loopback proxy in front of it that can be slow, fail or drop connections."""

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from alembic import command
from sqlalchemy import create_engine

from app.core.db import Database
from app.core.demo import seed_reference_data
from app.core.geography import Location
from app.core.migrate import alembic_config
from app.core.parties import seeded_key
from app.core.partners import AccessRequest, PartnerAccess, PartnerAuth
from app.core.tables import metadata
from app.settings import DEFAULT_DEMO_SECRET
from tests.live_server import free_port

# The key the partner's demo carrier (that is us, to the partner) holds.
PARTNER_KEY = seeded_key(DEFAULT_DEMO_SECRET, "pty_demo_carrier", "demo")
STARTUP_SECONDS = 120.0


def prepare_partner_database(folder: Path) -> None:
    """The partner's database, made in this process before it starts: the schema (stamped as
    migrated) and the partner's network and catalog, so that the partner only adds its demo
    parties at start instead of running every migration and loading the address book."""
    path = folder / "partner.db"
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()

    async def load() -> None:
        database = Database.connect(url)
        async with database.session() as session:
            await seed_reference_data(session, as_partner=True)
        await database.dispose()

    asyncio.run(load())
    command.stamp(alembic_config(url), "head")
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@contextlib.contextmanager
def partner_process(folder: Path) -> Iterator[str]:
    """Serve the demo partner carrier on a free loopback port; its base URL. Its database is
    `folder/partner.db`, made at start unless `prepare_partner_database` made it already."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("LUMEN_")}
    env |= {
        "LUMEN_DATABASE_URL": f"sqlite:///{folder / 'partner.db'}",
        "LUMEN_PORT": str(port),
        "LUMEN_ENVIRONMENT": "development",
        "LUMEN_LOG_LEVEL": "WARNING",
        # The partner delivers within seconds: tests see orders complete, or cancel one first.
        "LUMEN_FULFILMENT_ACK_SECONDS": "0.2",
        "LUMEN_FULFILMENT_COMPLETE_SECONDS": "2",
        "LUMEN_FULFILMENT_POLL_SECONDS": "0.2",
        "LUMEN_EVENTS_POLL_SECONDS": "0.2",
        "LUMEN_RATE_LIMIT_PER_KEY": "1000000/minute",
    }
    log = (folder / "partner.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--as-partner"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, (folder / "partner.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the partner did not start in time"
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        asyncio.run(_warm_up(base))
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


async def _warm_up(base: str) -> None:
    """Have the partner answer a POQ and a quote once (with all the time it needs), so that
    its first answers in a test (loading schemas and models) are not taken for slowness."""
    from rest_facades.mef.partner_client import SonataPartnerClient

    client = SonataPartnerClient(timeout_seconds=STARTUP_SECONDS, attempts=1)
    access = PartnerAccess("warm-up", "the partner", base, PartnerAuth.API_KEY, None, PARTNER_KEY)
    houston = Location(
        name="Greenspoint data center",
        street_number="660",
        street_name="Greens Pkwy",
        city="Houston",
        state="TX",
        postcode="77067",
        latitude=29.9474,
        longitude=-95.4129,
    )
    try:
        await client.qualify(access, AccessRequest(houston, 1000, 12))
        await client.quote(access, AccessRequest(houston, 1000, 12))
    finally:
        await client.close()


@dataclass
class FaultyProxy:
    """Forwards HTTP requests to `target`, or misbehaves as `mode` says: `slow` (answers after
    `delay` seconds), `error` (500), `drop` (closes the connection unanswered), `lose_answer`
    (forwards the request, then closes the connection before the answer), `refuse_orders` (a
    MEF 422 to new product orders)."""

    target: str
    mode: str = "pass"
    delay: float = 0.0
    port: int = 0
    seen: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with httpx.AsyncClient(base_url=self.target, timeout=30) as upstream:
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    lines = head.decode("latin-1").split("\r\n")
                    method, target, _ = lines[0].split(" ", 2)
                    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                    length = int(
                        headers.get("content-length") or headers.get("Content-Length") or 0
                    )
                    body = await reader.readexactly(length) if length else b""
                    self.seen.append(f"{method} {target.split('?')[0]}")
                    if self.mode == "drop":
                        writer.close()
                        return
                    if self.mode == "slow":
                        await asyncio.sleep(self.delay)
                    if self.mode == "error":
                        status, payload, kind = 500, b'{"code":"internalError"}', "application/json"
                    elif (
                        self.mode == "refuse_orders"
                        and method == "POST"
                        and target.split("?")[0].endswith("/productOrder")
                    ):
                        status, kind = 422, "application/json"
                        payload = (
                            b'[{"code":"invalidValue","reason":"no capacity left at this'
                            b' address","propertyPath":"/productOrderItem/0"}]'
                        )
                    else:
                        sent = {
                            k: v
                            for k, v in headers.items()
                            if k.lower() not in {"host", "content-length", "connection"}
                        }
                        answer = await upstream.request(method, target, headers=sent, content=body)
                        if self.mode == "lose_answer":
                            writer.close()
                            return
                        status, payload = answer.status_code, answer.content
                        kind = answer.headers.get("content-type", "application/json")
                    writer.write(
                        f"HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\n"
                        f"Content-Length: {len(payload)}\r\n\r\n".encode()
                        + payload
                    )
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["FaultyProxy"]:
        """Listen on a free loopback port while the block runs."""
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
