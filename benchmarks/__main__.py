"""Throughput of the core's hot paths on a scratch database (SQLite unless
`LUMEN_BENCH_DATABASE_URL` names another): address validation, pricing, ordering, fulfilment."""

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from app.core import ordering
from app.core.catalog import ProductSpec
from app.core.db import Database
from app.core.demo import seed_reference_data
from app.core.events import Channel
from app.core.fulfilment import FulfilmentEngine
from app.core.geography import AddressInput, resolve_address, validate_address
from app.core.migrate import upgrade
from app.core.parties import Audience, Principal, create_party
from app.core.qualification import assess


async def _measure(name: str, rounds: int, action: Callable[[int], Awaitable[object]]) -> None:
    timings = []
    for i in range(rounds):
        started = time.perf_counter()
        await action(i)
        timings.append(time.perf_counter() - started)
    p50 = statistics.median(timings) * 1000
    p95 = sorted(timings)[int(len(timings) * 0.95) - 1] * 1000
    print(
        f"{name:<34} {rounds:>5} runs  p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  "
        f"{rounds / sum(timings):8.1f}/s"
    )


async def main() -> None:
    """Run every benchmark once and print a table."""
    with tempfile.TemporaryDirectory() as scratch:
        url = os.environ.get("LUMEN_BENCH_DATABASE_URL") or f"sqlite:///{Path(scratch) / 'b.db'}"
        upgrade(url)
        database = Database.connect(url)
        async with database.session() as session:
            await seed_reference_data(session)
            party = await create_party(session, name="Bench", audience=Audience.DEVELOPER)
            principal = Principal(party_id=party.id, audience=Audience.DEVELOPER)
            a = await resolve_address(session, AddressInput(text="350 E Cermak Rd, Chicago, IL"))
            z = await resolve_address(session, AddressInput(text="60 Hudson St, New York, NY"))
            spec = ProductSpec(
                offering_id="ethernet-line",
                a_location_id=a.id,
                z_location_id=z.id,
                bandwidth_mbps=1000,
                term_months=12,
            )

            await _measure(
                "validate a free-text address",
                300,
                lambda _i: validate_address(
                    session, AddressInput(text="111 Eighth Avenue, New York NY 10011")
                ),
            )
            await _measure("qualify and price a line", 300, lambda _i: assess(session, spec))
            await _measure(
                "place an order",
                200,
                lambda _i: ordering.place(
                    session,
                    principal=principal,
                    channel=Channel.GRAPHQL,
                    items=[ordering.ItemRequest(spec=spec)],
                ),
            )
        engine = FulfilmentEngine(database, ack_after=timedelta(0), complete_after=timedelta(0))
        started = time.perf_counter()
        steps = await engine.run_until_idle()
        elapsed = time.perf_counter() - started
        print(f"{'fulfil orders (steps)':<34} {steps:>5} steps {steps / elapsed:8.1f} steps/s")
        await database.dispose()


if __name__ == "__main__":
    # Orders become due at once, so that the fulfilment benchmark has work.
    os.environ["LUMEN_FULFILMENT_ACK_SECONDS"] = "0"
    os.environ["LUMEN_FULFILMENT_COMPLETE_SECONDS"] = "0"
    asyncio.run(main())
