"""The background loops stop when cancelled, even when woken at that very moment: a web or
worker process sent SIGTERM would otherwise never exit."""

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, cast

import pytest

from app.core import partners
from app.core.db import Database
from app.core.events import Dispatcher
from app.core.fulfilment import PartnerOutcomes

# Long enough that the loop can only be in its wait, never at its next poll, when stopped.
POLL_SECONDS = 60.0


async def _stops_when_woken_and_cancelled_together(
    run: Coroutine[Any, Any, None], wake: Callable[[], None]
) -> None:
    running = asyncio.create_task(run)
    # Let the loop do its first (empty) round and settle into its wait.
    await asyncio.sleep(0.5)
    assert not running.done()
    wake()
    running.cancel()
    done, _ = await asyncio.wait({running}, timeout=5)
    assert running in done, "the loop went on after it was cancelled"
    assert running.cancelled()


@pytest.mark.once
async def test_the_event_dispatcher_stops_when_woken_as_it_is_cancelled(
    database: Database,
) -> None:
    dispatcher = Dispatcher(database)
    await _stops_when_woken_and_cancelled_together(
        dispatcher.run_forever(POLL_SECONDS), dispatcher.wake
    )


@pytest.mark.once
async def test_the_partner_worker_stops_when_woken_as_it_is_cancelled(database: Database) -> None:
    # With no partner work stored, the worker never calls its gateway.
    gateway = cast(partners.PartnerGateway, object())
    worker = partners.PartnerWorker(
        database, gateway, PartnerOutcomes(), poll_after=timedelta(seconds=1)
    )
    await _stops_when_woken_and_cancelled_together(
        worker.run_forever(POLL_SECONDS), worker.wake.set
    )
