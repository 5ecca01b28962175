"""`/healthz` answers while every place is taken, and promptly while the requests at work are
busy; only a few requests work at once; a request whose client left while it waited is not
served."""

import asyncio
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from app.admission import Admission, waiting_elsewhere
from tests.live_server import free_port

pytestmark = pytest.mark.once
# Where `tests` is importable from, for the servers of this module.
ROOT = Path(__file__).resolve().parents[1]
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


async def test_a_request_waiting_on_a_partner_lends_its_place_and_then_waits_its_turn() -> None:
    partner_answered = asyncio.Event()
    other_working = asyncio.Event()
    other_may_finish = asyncio.Event()
    served: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        if scope["path"] == "/quote":
            async with waiting_elsewhere():
                await partner_answered.wait()
        else:
            other_working.set()
            await other_may_finish.wait()
        served.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    app = Admission(inner, limit=1)
    quote = asyncio.create_task(_call(app, "/quote", _request()))
    await asyncio.sleep(0.05)
    # The only place is free while the quote waits on its partner.
    read = asyncio.create_task(_call(app, "/read", _request()))
    await asyncio.wait_for(other_working.wait(), 1)
    # Once its partner answers, the quote waits for the place that the read holds.
    partner_answered.set()
    await asyncio.sleep(0.05)
    assert served == []
    other_may_finish.set()
    answers = await asyncio.wait_for(asyncio.gather(quote, read), 1)
    assert served == ["/read", "/quote"]
    assert [sent[-1]["body"] for sent in answers] == [b"/quote", b"/read"]


async def test_waiting_elsewhere_outside_a_request_waits_as_ever() -> None:
    async with waiting_elsewhere():
        await asyncio.sleep(0)


async def test_no_limit_lets_every_request_work() -> None:
    busy = Busy()
    app = Admission(busy, limit=None)
    work = [asyncio.create_task(_call(app, f"/work/{n}", _request())) for n in range(5)]
    await asyncio.sleep(0.05)
    assert busy.working == 5
    busy.release.set()
    await asyncio.gather(*work)


async def test_a_cancelled_request_stops_at_once_even_when_its_turn_is_spent() -> None:
    stopped = asyncio.Event()
    running = asyncio.Event()

    async def inner(_scope: Scope, receive: Receive, _send: Send) -> None:
        await receive()
        try:
            while True:
                running.set()
                # Each slice spends more than a turn's budget: the next one waits for a turn.
                until = time.perf_counter() + 0.02
                while time.perf_counter() < until:
                    pass
                await asyncio.sleep(0)
        finally:
            stopped.set()

    app = Admission(inner, limit=None)
    task = asyncio.create_task(_call(app, "/work", _request()))
    await running.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stopped.is_set()


async def test_a_request_failure_reaches_the_server_unchanged() -> None:
    async def inner(_scope: Scope, _receive: Receive, _send: Send) -> None:
        await asyncio.sleep(0)
        raise LookupError("broken")

    with pytest.raises(LookupError, match="broken"):
        await _call(Admission(inner, limit=2), "/work", _request())


async def test_a_turn_left_open_by_one_event_loop_holds_no_other_up() -> None:
    async def inner(_scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        until = time.perf_counter() + 0.02  # more than a turn's budget
        while time.perf_counter() < until:
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    app = Admission(inner, limit=None)
    await _call(app, "/spent", _request())
    # This loop's turn is still open and spent; another loop serves the app meanwhile.
    other = threading.Thread(
        target=asyncio.run, args=(_call(app, "/other", _request()),), daemon=True
    )
    other.start()
    other.join(timeout=5)
    assert not other.is_alive()


# A heavy request: slices of pure CPU between its awaits, as a page of 100 orders completed and
# encoded is; eight of them at work at once, each slice longer than a turn's budget.
SLICES, SLICE_CPU_SECONDS, AT_WORK = 4, 0.01, 8


async def heavy(scope: Scope, receive: Receive, send: Send) -> None:
    """Work SLICES slices of SLICE_CPU_SECONDS of CPU each, then answer."""
    await receive()
    for _ in range(SLICES):
        until = time.thread_time() + SLICE_CPU_SECONDS
        while time.thread_time() < until:
            pass
        await asyncio.sleep(0)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"done"})


PACED = Admission(heavy, limit=AT_WORK)
UNPACED = Admission(heavy, limit=AT_WORK, turn_budget=None)


@contextmanager
def _uvicorn(app: str) -> Iterator[str]:
    """`app` (module:attribute) served by uvicorn as `lumen serve` serves, on a free port."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None
            try:
                httpx.get(f"{url}/healthz", timeout=2).raise_for_status()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start in time"
                time.sleep(0.1)
        yield url
    finally:
        server.kill()  # no need to let the heavy requests in flight finish
        server.wait()


async def _probes_under_load(app: str, probes: int = 5) -> list[float]:
    """How long `/healthz` takes, probed from a thread of its own every 50 ms, while twice as
    many clients as places keep heavy requests coming."""
    with _uvicorn(app) as url:
        timings: list[float] = []

        def probe() -> None:
            with httpx.Client(base_url=url, timeout=30) as client:
                for _ in range(probes):
                    started = time.perf_counter()
                    client.get("/healthz").raise_for_status()
                    timings.append(time.perf_counter() - started)
                    time.sleep(0.05)

        async with httpx.AsyncClient(base_url=url, timeout=60) as client:

            async def load() -> None:
                while True:
                    assert (await client.post("/work")).content == b"done"

            clients = [asyncio.create_task(load()) for _ in range(2 * AT_WORK)]
            await asyncio.sleep(0.3)  # every place is taken
            await asyncio.to_thread(probe)
            for task in clients:
                task.cancel()
            await asyncio.gather(*clients, return_exceptions=True)
    return timings


async def test_health_answers_promptly_while_heavy_requests_work() -> None:
    # The baseline: the same load with the slices not paced, measured in this test.
    unpaced = await _probes_under_load(f"{__name__}:UNPACED")
    paced = await _probes_under_load(f"{__name__}:PACED")
    # Unpaced, a probe waits for a turn or two of eight slices each; paced, for a turn or two
    # of the budget and one slice.
    assert statistics.median(paced) < statistics.median(unpaced) / 2, (paced, unpaced)
