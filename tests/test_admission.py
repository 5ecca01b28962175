"""`/healthz` answers while every place is taken; only a few requests work at once; a request
whose client left while it waited is not served."""

import asyncio

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from app.admission import Admission

pytestmark = pytest.mark.once
LIMIT = 2


class Busy:
    """An app whose requests work until released, counting how many work at once."""

    def __init__(self) -> None:
        self.working = 0
        self.most = 0
        self.served: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.working += 1
        self.most = max(self.most, self.working)
        try:
            body = (await receive())["body"]
            await self.release.wait()
            self.served.append(scope["path"])
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
        finally:
            self.working -= 1


def _scope(path: str, method: str = "GET") -> Scope:
    return {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}


async def _call(app: Admission, path: str, first: Message) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return first

    async def send(message: Message) -> None:
        sent.append(message)

    await app(_scope(path), receive, send)
    return sent


def _request(body: bytes = b"") -> Message:
    return {"type": "http.request", "body": body, "more_body": False}


async def test_health_answers_while_every_place_is_taken() -> None:
    busy = Busy()
    app = Admission(busy, limit=LIMIT)
    work = [asyncio.create_task(_call(app, f"/work/{n}", _request())) for n in range(LIMIT + 3)]
    await asyncio.sleep(0.05)
    assert busy.working == LIMIT
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        health = await asyncio.wait_for(client.get("/healthz"), 1)
    assert (health.status_code, health.content) == (200, b'{"status":"ok"}')
    assert health.headers["content-type"] == "application/json"
    busy.release.set()
    await asyncio.gather(*work)
    assert busy.most == LIMIT
    # First come, first served; each request reads its own body.
    assert busy.served == [f"/work/{n}" for n in range(LIMIT + 3)]


async def test_a_request_whose_client_left_while_it_waited_is_not_served() -> None:
    busy = Busy()
    app = Admission(busy, limit=1)
    first = asyncio.create_task(_call(app, "/first", _request(b"kept")))
    await asyncio.sleep(0.05)
    gone = asyncio.create_task(_call(app, "/gone", {"type": "http.disconnect"}))
    await asyncio.sleep(0.05)
    busy.release.set()
    answered, unanswered = await asyncio.gather(first, gone)
    assert busy.served == ["/first"]
    assert answered[-1]["body"] == b"kept"
    assert unanswered == []


async def test_a_stream_gives_its_place_back_once_it_starts() -> None:
    streaming = asyncio.Event()
    finish = asyncio.Event()

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"] == "/stream":
            streaming.set()
            await finish.wait()
        await send({"type": "http.response.body", "body": b"done"})

    app = Admission(inner, limit=1)
    stream = asyncio.create_task(_call(app, "/stream", _request()))
    await streaming.wait()
    other = await asyncio.wait_for(_call(app, "/other", _request()), 1)
    assert other[-1]["body"] == b"done"
    finish.set()
    await stream


async def test_no_limit_lets_every_request_work() -> None:
    busy = Busy()
    app = Admission(busy, limit=None)
    work = [asyncio.create_task(_call(app, f"/work/{n}", _request())) for n in range(5)]
    await asyncio.sleep(0.05)
    assert busy.working == 5
    busy.release.set()
    await asyncio.gather(*work)
