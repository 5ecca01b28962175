"""Where one scenario's time goes: its request sent in-process (no sockets) to the benchmark
app a few hundred times under pyinstrument, on a scratch SQLite database.

`python -m benchmarks.profile "get order: Sonata" [--requests 300] [--html out.html]`"""

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from pyinstrument import Profiler

from app.main import tune_garbage_collector
from benchmarks import driver
from benchmarks.server import seeded_app


async def profile(name: str, requests: int, html: str | None) -> None:
    """Seed, warm up, then profile `requests` requests of the named scenario."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/profile.db"
        seeded, app = await seeded_app(url)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            node_id = await driver.prepare(client, seeded)
            [scenario] = [s for s in driver.scenarios(seeded, node_id) if s.name == name]
            headers = scenario.headers()

            async def send() -> None:
                response = await client.request(
                    scenario.method, scenario.path, content=scenario.body, headers=headers
                )
                problem = driver.failure(scenario, response)
                assert problem is None, problem

            for _ in range(20):
                await send()
            tune_garbage_collector()
            profiler = Profiler(async_mode="disabled")
            cpu = time.process_time()
            profiler.start()
            for _ in range(requests):
                await send()
            profiler.stop()
            cpu = time.process_time() - cpu
        await app.state.database.dispose()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"{name}: {cpu / requests * 1000:.2f} ms of CPU per request (in-process, profiled)")
    if html:
        Path(html).write_text(profiler.output_html())  # noqa: ASYNC240  # the run is over


def main() -> None:
    """Profile one scenario named on the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("scenario", help='e.g. "get order: Sonata"')
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = parser.parse_args()
    asyncio.run(profile(args.scenario, args.requests, args.html))


if __name__ == "__main__":
    main()
