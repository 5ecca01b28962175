"""`make bench-scale`: get-one and list-a-page on every face for a party, on a database of a
thousand orders and on one of a million, and the ratio of each figure at the larger size to the
smaller (the target: at most 1.5). Writes `bench/scale.json`.

Each size is a SQLite file that `lumen seed --orders` code fills (a thousand orders per party,
carriers, enterprises and developers in turn), kept in `--keep DIR` to be measured again; the
party measured is the first of each audience. `LUMEN_DATABASE_URL` naming PostgreSQL measures
there instead: each size is a database of its own beside the named one (`<name>_<orders>`), made
and seeded when it holds no orders, and kept for the next run."""

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text
from sqlmodel import col, func, select

from app.core import bulk_seed, demo
from app.core.db import Database, sync_url
from app.core.migrate import upgrade
from app.core.ordering import Order
from app.core.parties import Party, seeded_key
from app.settings import DEFAULT_DEMO_SECRET
from benchmarks import driver
from benchmarks.__main__ import _settle, serving
from benchmarks.seed import Seeded
from tests.live_server import free_port

OUT = Path("bench")
SIZES = (1000, 1_000_000)
TARGET = 1.5


def parties_for(orders: int) -> int:
    """A thousand orders per party, and at least one party of each audience."""
    return max(len(bulk_seed.AUDIENCES), bulk_seed.default_parties(orders))


async def _seed(url: str, orders: int, secret: str) -> float:
    """Fill a database with `orders` orders; the seconds it took."""
    upgrade(url)
    database = Database.connect(url)
    try:
        async with database.session() as session:
            await demo.seed_reference_data(session)
        started = time.monotonic()
        done = 0

        def progress(written: int) -> None:
            nonlocal done
            done += written
            print(f"\r  {done}/{orders} orders", end="", flush=True)

        await bulk_seed.seed_orders(
            database, orders=orders, parties=parties_for(orders), secret=secret, progress=progress
        )
        print(flush=True)
        return time.monotonic() - started
    finally:
        await database.dispose()


def _postgres_size(given: str, size: int) -> str:
    """The PostgreSQL database of one size beside the named one, made if missing."""
    named = make_url(given)
    name = f"{named.database}_{size}"
    engine = create_engine(sync_url(given), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if found.first() is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return named.set(database=name).render_as_string(hide_password=False)


async def _orders_held(url: str) -> int:
    """How many orders a database holds (none when it has no schema yet)."""
    upgrade(url)
    database = Database.connect(url)
    try:
        async with database.session() as session:
            return (await session.exec(select(func.count()).select_from(Order))).one()
    finally:
        await database.dispose()


async def _measured_parties(url: str, secret: str) -> Seeded:
    """The newest template party of each audience, its key, and its newest order."""
    database = Database.connect(url)
    try:
        async with database.session() as session:
            keys: dict[str, str] = {}
            order_ids: dict[str, str] = {}
            for audience, _ in bulk_seed.AUDIENCES:
                party = (
                    await session.exec(
                        select(Party)
                        .where(Party.name == bulk_seed.template_name(audience))
                        .order_by(col(Party.created_at).desc())
                    )
                ).first()
                if party is None:
                    raise SystemExit(f"no seeded {audience} in {url}")
                order = (
                    await session.exec(
                        select(Order)
                        .where(Order.party_id == party.id)
                        .order_by(col(Order.created_at).desc())
                    )
                ).first()
                assert order is not None
                role = str(audience)
                keys[role] = seeded_key(secret, party.id, bulk_seed.KEY_NAME)
                order_ids[role] = order.id
            return Seeded(keys, order_ids, chicago_id="", new_york_id="")
    finally:
        await database.dispose()


async def _measure(
    base: str, pid: int, seeded: Seeded, *, clients: int, seconds: float
) -> list[driver.Result]:
    await _settle(pid)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        node_id = await driver.prepare(client, seeded)
    results = []
    for scenario in driver.scenarios(seeded, node_id):
        if scenario.group not in {"get", "list"}:
            continue
        result = await driver.run(base, scenario, clients=clients, seconds=seconds, server_pid=pid)
        print(
            f"  {result.name:<32} cpu {result.server_cpu_ms or 0:>7.2f} ms  p50 "
            f"{result.p50_ms:>7.1f} ms  {result.rps:>7.1f}/s  errors {result.errors}",
            flush=True,
        )
        results.append(result)
    return results


def _ratios(small: list[driver.Result], large: list[driver.Result]) -> list[dict[str, Any]]:
    """Each scenario's figures at the larger size over those at the smaller."""
    before = {result.name: result for result in small}
    found = []
    for result in large:
        base = before.get(result.name)
        if base is None:
            continue
        cpu = (
            round(result.server_cpu_ms / base.server_cpu_ms, 2)
            if result.server_cpu_ms and base.server_cpu_ms
            else None
        )
        p50 = round(result.p50_ms / base.p50_ms, 2) if base.p50_ms else None
        judged = cpu if cpu is not None else p50
        found.append(
            {
                "scenario": result.name,
                "cpu_ratio": cpu,
                "p50_ratio": p50,
                "met": judged is not None and judged <= TARGET,
            }
        )
    return found


def main() -> int:
    """Measure every size and write the ratios."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="orders")
    parser.add_argument("--seconds", type=float, default=5.0, help="load per scenario")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--keep", type=Path, help="folder that keeps the seeded SQLite files")
    parser.add_argument(
        "--seed-only", action="store_true", help="seed the sizes that are missing, measure none"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the results")
    args = parser.parse_args()
    secret = os.environ.get("LUMEN_DEMO_SECRET", DEFAULT_DEMO_SECRET)
    given = os.environ.get("LUMEN_DATABASE_URL", "")
    args.out.mkdir(parents=True, exist_ok=True)
    # The web process alone, as beside `lumen worker` processes: a billing cycle over a million
    # products at start would be counted against the first scenarios' requests.
    os.environ["LUMEN_RUN_WORKERS"] = "false"
    measured: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for size in sorted(args.sizes):
            path = folder / f"scale-{size}.db"
            postgres = given.startswith("postgresql")
            url = _postgres_size(given, size) if postgres else f"sqlite:///{path}"
            seeded_seconds = None
            missing = asyncio.run(_orders_held(url)) == 0 if postgres else not path.exists()
            if missing:
                print(f"seeding {size} orders across {parties_for(size)} parties...", flush=True)
                seeded_seconds = round(asyncio.run(_seed(url, size, secret)), 1)
                print(f"  seeded in {seeded_seconds} s", flush=True)
            else:
                # Kept from an earlier run: brought up to the current schema (and indexes).
                upgrade(url)
            if args.seed_only:
                continue
            seeded = asyncio.run(_measured_parties(url, secret))
            print(f"{size} orders:", flush=True)
            with serving(url, free_port(), args.out / f"scale-{size}.log") as (base, pid):
                results = asyncio.run(
                    _measure(base, pid, seeded, clients=args.clients, seconds=args.seconds)
                )
            measured[size] = {
                "orders": size,
                "parties": parties_for(size),
                "seed_seconds": seeded_seconds,
                "scenarios": [driver.as_dict(result) for result in results],
            }
    sizes = sorted(measured)
    if not sizes:
        return 0
    ratios = (
        _ratios(
            [driver.Result(**r) for r in measured[sizes[0]]["scenarios"]],
            [driver.Result(**r) for r in measured[sizes[-1]]["scenarios"]],
        )
        if len(sizes) > 1
        else []
    )
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": "postgresql" if given.startswith("postgresql") else "sqlite",
        "clients": args.clients,
        "seconds_per_scenario": args.seconds,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "sizes": [measured[size] for size in sizes],
        "target": f"at {sizes[-1]} orders at most {TARGET:g} x the figure at {sizes[0]}",
        "ratios": ratios,
    }
    (args.out / "scale.json").write_text(json.dumps(document, indent=2) + "\n")
    print()
    for ratio in ratios:
        mark = "met   " if ratio["met"] else "MISSED"
        print(
            f"{mark} {ratio['scenario']:<32} cpu x{ratio['cpu_ratio']}  p50 x{ratio['p50_ratio']}"
        )
    print(f"wrote {args.out / 'scale.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
