"""A real HTTP listener on loopback that records the notifications it receives."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """One request as it arrived: path, headers (lower-case names), raw body, arrival time."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Listener:
    """Where notifications land; `fail_next` makes the next N deliveries fail with a 503,
    `delay` answers each request that many seconds late, and `redirect_to` answers every
    request with a 307 to that URL."""

    url: str = ""
    received: list[tuple[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    fail_next: int = 0
    delay: float = 0.0
    redirect_to: str | None = None


async def _handle(
    listener: Listener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    request_line = (await reader.readline()).decode()
    headers: dict[str, str] = {}
    while (line := (await reader.readline()).decode()) not in ("\r\n", "\n", ""):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    listener.requests.append(Request(request_line.split()[1], headers, body, time.monotonic()))
    if listener.delay:
        await asyncio.sleep(listener.delay)
    extra = ""
    if listener.redirect_to is not None:
        status, extra = "307 Temporary Redirect", f"Location: {listener.redirect_to}\r\n"
    elif listener.fail_next:
        listener.fail_next -= 1
        status = "503 Service Unavailable"
    else:
        listener.received.append((request_line.split()[1], json.loads(body or b"null")))
        status = "204 No Content"
    writer.write(
        f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    writer.close()


@asynccontextmanager
async def listening() -> AsyncIterator[Listener]:
    """A listener on a free loopback port for the duration of the block."""
    listener = Listener()
    server = await asyncio.start_server(
        lambda r, w: _handle(listener, r, w), host="127.0.0.1", port=0
    )
    port = server.sockets[0].getsockname()[1]
    listener.url = f"http://127.0.0.1:{port}"
    try:
        yield listener
    finally:
        server.close()
        await server.wait_closed()
