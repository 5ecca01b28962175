"""Under load and right after it, the platform as `lumen serve` runs it stays quiet: clients that
hang up mid-request are no error, every log line is one event, and `/healthz` answers at once."""

import asyncio
import os
import re
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import free_port

pytestmark = pytest.mark.once
# A log line of the development format: a timestamp, then the level.
BANNER = ("migrating", "seeding", "demo API keys", "  ", "developer portal:", "GraphQL:")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z \[(\w+)\s*\] ")
ORDERS = """query { viewer { orders(first: 50) { nodes { id state items {
  state product { code } aEnd { name } zEnd { name } } } } } }"""
HEALTHZ_MS = 100


@pytest.fixture
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, str, Path]]:
    """`lumen serve` on a free loopback port with a fresh SQLite database: its URL, the demo
    developer's key and its log."""
    folder = tmp_path_factory.mktemp("quiet")
    log = folder / "serve.log"
    port = free_port()
    env = os.environ | {
        "LUMEN_DATABASE_URL": f"sqlite:///{folder}/lumen.db",
        "LUMEN_ENVIRONMENT": "development",
        "LUMEN_RATE_LIMIT_PER_KEY": "",
    }
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--port",
            str(port),
            env=env,
            stdout=output,
            stderr=output,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 90
            while True:
                assert process.returncode is None, log.read_text()
                try:
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.2)
        [key] = re.findall(r"^\s+developer\s+(\S+)$", log.read_text(), re.MULTILINE)
        yield url, key, log
    finally:
        process.terminate()
        await process.wait()


async def _hang_up_mid_request(url: str, key: str, clients: int, seconds: float) -> int:
    """Load the server, then drop every connection with its request in flight."""
    in_flight = 0
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def loop() -> None:
            nonlocal in_flight
            while True:
                in_flight += 1
                answer = await client.post(
                    "/graphql", json={"query": ORDERS}, headers={"authorization": f"Bearer {key}"}
                )
                in_flight -= 1
                assert "errors" not in answer.json(), answer.text

        tasks = [asyncio.create_task(loop()) for _ in range(clients)]
        await asyncio.sleep(seconds)
        cut_off = in_flight
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [r for r in results if not isinstance(r, asyncio.CancelledError)]
    assert not failures, failures
    return cut_off


async def test_hanging_up_is_no_error_and_health_answers_at_once(
    served: tuple[str, str, Path],
) -> None:
    url, key, log = served
    assert await _hang_up_mid_request(url, key, clients=32, seconds=1.5) > 0
    async with httpx.AsyncClient(base_url=url) as client:
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            timings.append((time.perf_counter() - started) * 1000)
    # The median: one probe may meet a collection or another process on a shared machine.
    assert statistics.median(timings) < HEALTHZ_MS, timings
    await asyncio.sleep(0.5)
    text = log.read_text()
    assert "Traceback" not in text
    events = [line for line in text.splitlines() if LOG_LINE.match(line)]
    assert events, text
    levels = {LOG_LINE.match(line)[1] for line in events}  # type: ignore[index]
    assert levels <= {"info", "warning"}, text
    # Only the command's own banner (its progress, the keys, the URLs) is not a log event.
    other = [line for line in text.splitlines() if not LOG_LINE.match(line)]
    assert [line for line in other if not line.startswith(BANNER)] == [], other
