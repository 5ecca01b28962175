"""The application's own CPU per request, scenario by scenario: each request handed straight
to the ASGI app (no socket, no HTTP client, no profiler), on a scratch SQLite database or the
database `--database` names.

pyinstrument samples a few hundred requests well but overstates code made of many small calls
(FastAPI's dependency resolution), and `make bench` adds uvicorn's HTTP work and the driver's
noise; this measures what a change to the application itself saves.

`python -m benchmarks.inprocess [--only WORD...] [--requests 2000] [--database URL]`"""

import argparse
import asyncio
import tempfile
import time
from typing import Any

import httpx

from app.main import tune_garbage_collector
from benchmarks import driver
from benchmarks.server import seeded_app


async def call(app: Any, scenario: driver.Scenario, headers: list[tuple[bytes, bytes]]) -> int:
    """One request of the scenario, straight to the ASGI app; its status."""
    path, _, query = scenario.path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": scenario.method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages = [{"type": "http.request", "body": scenario.body or b"", "more_body": False}]
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


async def measure(only: list[str], requests: int, database: str | None) -> None:
    """Seed, warm up, then print the best of three rounds of each read scenario's CPU."""
    with tempfile.TemporaryDirectory() as scratch:
        url = database or f"sqlite:///{scratch}/inprocess.db"
        seeded, app = await seeded_app(url)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                node_id = await driver.prepare(c, seeded)
            tune_garbage_collector()
            floors: dict[str, float] = {}
            print(f"{'scenario':42} {'CPU/request':>12} {'share of floor':>15}")
            for scenario in driver.scenarios(seeded, node_id):
                # Creates would change what the reads after them read; floors always run.
                if scenario.group == "create" or (
                    scenario.floor and only and not any(word in scenario.name for word in only)
                ):
                    continue
                headers = [(k.lower().encode(), v.encode()) for k, v in scenario.headers().items()]
                headers.append((b"host", b"127.0.0.1:8000"))
                count = requests if scenario.group in ("floor", "get") else requests // 10
                for _ in range(30):
                    status = await call(app, scenario, headers)
                    assert status == scenario.expect, (scenario.name, status)
                best = float("inf")
                for _ in range(3):
                    started = time.process_time()
                    for _ in range(count):
                        await call(app, scenario, headers)
                    best = min(best, (time.process_time() - started) / count * 1000)
                if scenario.floor is None:
                    floors[scenario.name] = best
                floor = floors.get(scenario.floor or scenario.name)
                share = f"{floor / best:.0%}" if floor else "-"
                print(f"{scenario.name:42} {best:9.3f} ms {share:>15}")


def main() -> None:
    """Measure the scenarios named on the command line (every read scenario by default)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inprocess", description=__doc__)
    parser.add_argument("--only", nargs="*", default=[], help="scenarios whose name has a word")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database", help="a database URL (a scratch SQLite file by default)")
    args = parser.parse_args()
    asyncio.run(measure(args.only, args.requests, args.database))


if __name__ == "__main__":
    main()
