"""A second instance of the platform served as the demo partner carrier (`lumen serve
--as-partner`), and a loopback proxy in front of it that can be slow, fail or drop connections."""

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.core.parties import seeded_key
from app.settings import DEFAULT_DEMO_SECRET
from tests.live_server import free_port

# The key the partner's demo carrier (that is us, to the partner) holds.
PARTNER_KEY = seeded_key(DEFAULT_DEMO_SECRET, "pty_demo_carrier", "demo")
STARTUP_SECONDS = 120.0


@contextlib.contextmanager
def partner_process(folder: Path) -> Iterator[str]:
    """Serve the demo partner carrier on a free loopback port; its base URL."""
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
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


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
