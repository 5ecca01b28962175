"""`make bench`: serve the platform with uvicorn on loopback, load each face from this process
with 32 clients, compare with floors served by the same process, and write
`bench/results.json` and `bench/results.png`.

SQLite in a scratch directory, unless `LUMEN_DATABASE_URL` names a PostgreSQL database (which
then gets the benchmark's orders added). `--seconds`, `--clients` and `--only` shorten a run."""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from app.settings import DEFAULT_DEMO_SECRET
from benchmarks import driver, report
from benchmarks.seed import seed
from tests.live_server import free_port

OUT = Path("bench")
ORDERS_PER_CUSTOMER = 300


@contextlib.contextmanager
def serving(url: str, port: int, log: Path) -> Iterator[tuple[str, int]]:
    """The benchmark server in a process of its own, until the block ends; its base URL and
    process id."""
    env = os.environ | {
        "LUMEN_DATABASE_URL": url,
        "LUMEN_PORT": str(port),
        # The budgets would refuse a load test; everything else is as `lumen serve` has it,
        # except that the background work (which `lumen worker` processes take off the web
        # processes) polls rarely: its CPU would be counted against the requests.
        "LUMEN_RATE_LIMIT_PER_KEY": "",
        "LUMEN_RATE_LIMIT_ANONYMOUS": "",
        "LUMEN_FULFILMENT_POLL_SECONDS": "3600",
        "LUMEN_EVENTS_POLL_SECONDS": "3600",
        "LUMEN_SEED_DEMO": "false",
    }
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.server", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            # Imports alone take a while on a busy machine.
            deadline = time.monotonic() + 180
            while True:
                if server.poll() is not None:
                    raise SystemExit(f"the server did not start; see {log}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit(f"the server did not answer within 3 minutes; see {log}")
                time.sleep(0.2)
            yield base, server.pid
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


async def _settle(pid: int, *, longest: float = 60.0) -> None:
    """Wait until the server is idle: what it does at start (a billing cycle, a first poll of
    its background work) would otherwise be counted against the first scenario's requests."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        before = driver.process_cpu_seconds(pid)
        await asyncio.sleep(0.5)
        after = driver.process_cpu_seconds(pid)
        if before is None or after is None or after - before < 0.01:
            return


async def _drive(base: str, pid: int, args: argparse.Namespace, seeded: Any) -> dict[str, Any]:
    await _settle(pid)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        node_id = await driver.prepare(client, seeded)
    results = []
    for scenario in driver.scenarios(seeded, node_id):
        if args.only and not any(word.lower() in scenario.name.lower() for word in args.only):
            continue
        result = await driver.run(
            base, scenario, clients=args.clients, seconds=args.seconds, server_pid=pid
        )
        results.append(result)
        print(report.row(result), flush=True)
    report.add_ratios(results)
    storm = await driver.disconnect_storm(base, seeded, clients=args.clients)
    after = await driver.health_after_load(base)
    return {"results": results, "disconnected": storm, "healthz_after_ms": after}


def main() -> int:
    """Run the benchmark and write its results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="load per scenario")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--only", nargs="*", help="scenarios whose names contain a word")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the results")
    args = parser.parse_args()
    given = os.environ.get("LUMEN_DATABASE_URL", "")
    with tempfile.TemporaryDirectory() as scratch:
        url = given if given.startswith("postgresql") else f"sqlite:///{scratch}/bench.db"
        engine = "postgresql" if url.startswith("postgresql") else "sqlite"
        print(f"seeding {engine} with {ORDERS_PER_CUSTOMER} orders per customer...", flush=True)
        seeded = asyncio.run(
            seed(
                url,
                orders_per_customer=ORDERS_PER_CUSTOMER,
                secret=os.environ.get("LUMEN_DEMO_SECRET", DEFAULT_DEMO_SECRET),
            )
        )
        args.out.mkdir(parents=True, exist_ok=True)
        log = args.out / "server.log"
        print(report.header(args.clients, args.seconds), flush=True)
        with serving(url, free_port(), log) as (base, pid):
            measured = asyncio.run(_drive(base, pid, args, seeded))
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": engine,
        "clients": args.clients,
        "seconds_per_scenario": args.seconds,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "scenarios": [driver.as_dict(result) for result in measured["results"]],
        "targets": report.targets(measured["results"]),
        "disconnect_storm": measured["disconnected"],
        "healthz_after_load_ms": measured["healthz_after_ms"],
        "server_tracebacks": log.read_text(errors="replace").count("Traceback"),
    }
    (args.out / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    report.chart(measured["results"], args.out / "results.png", title=f"{engine}")
    print(report.summary(document), flush=True)
    print(f"wrote {args.out / 'results.json'} and {args.out / 'results.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
