"""Background work: fulfilment, event delivery, orders at partners, the billing cycle and the
idempotency purge. It runs in the web process (`lumen serve`, the default) or in `lumen worker`
processes, as many as wanted: each loop claims its work with row locks, so processes on one
database never overlap."""

import asyncio
import io
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta

from app.core import billing, idempotency
from app.core.db import Database
from app.core.event_feed import EventFeed
from app.core.events import Dispatcher
from app.core.fulfilment import FulfilmentEngine
from app.core.partners import PartnerWorker
from app.settings import Settings

log = logging.getLogger(__name__)
IDEMPOTENCY_PURGE_SECONDS = 3600.0


async def run_billing_cycle(database: Database, poll_seconds: float) -> None:
    """Bill each ended month once, checking every `poll_seconds`."""
    while True:
        try:
            async with database.session() as session:
                await billing.bill_last_month(session)
        except Exception:
            log.exception("billing cycle failed; retrying at the next poll")
        await asyncio.sleep(poll_seconds)


async def run_idempotency_purge(database: Database, ttl: timedelta, poll_seconds: float) -> None:
    """Forget idempotency answers older than `ttl`, every `poll_seconds`."""
    while True:
        try:
            async with database.session() as session:
                await idempotency.purge_expired(session, ttl=ttl)
        except Exception:
            log.exception("idempotency purge failed; retrying at the next poll")
        await asyncio.sleep(poll_seconds)


class BackgroundWork:
    """Every loop of background work of one process, started and stopped together."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        engine: FulfilmentEngine,
        dispatcher: Dispatcher,
        partner_worker: PartnerWorker | None,
        idempotency_ttl: timedelta,
    ) -> None:
        self.settings = settings
        self.database = database
        self.engine = engine
        self.dispatcher = dispatcher
        self.partner_worker = partner_worker
        self.idempotency_ttl = idempotency_ttl

    async def run(self) -> None:
        """Run every loop until cancelled. A step cut short rolls back and is taken again by
        whichever process comes next; deliveries under way get their timeout to finish."""
        settings = self.settings
        async with asyncio.TaskGroup() as loops:
            loops.create_task(self.engine.run_forever(settings.fulfilment_poll_seconds))
            loops.create_task(
                self.dispatcher.run_forever(
                    settings.events_poll_seconds, drain_seconds=settings.webhook_timeout_seconds
                )
            )
            if self.partner_worker is not None:
                loops.create_task(self.partner_worker.run_forever(settings.partner_work_seconds))
            loops.create_task(run_billing_cycle(self.database, settings.billing_poll_seconds))
            loops.create_task(
                run_idempotency_purge(
                    self.database, self.idempotency_ttl, IDEMPOTENCY_PURGE_SECONDS
                )
            )


# Past the webhook timeout, which deliveries under way get to finish, and this margin, a loop
# that still runs when its worker is told to stop is stuck.
STOP_MARGIN_SECONDS = 5.0


async def run_until_signalled(
    work: BackgroundWork, feed: EventFeed | None, release: Callable[[], Awaitable[None]]
) -> bool:
    """The life of a `lumen worker` process: the background work, woken early by the event feed,
    until SIGTERM or SIGINT; then it stops as `BackgroundWork.run` says and `release()` lets go
    of its connections. False if a loop did not stop in time (it is logged, and still runs)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    tasks = [asyncio.create_task(work.run())]
    if feed is not None:
        tasks.append(asyncio.create_task(feed.run_forever()))
    log.info("worker started: fulfilment, event delivery, billing")
    try:
        await stop.wait()
    finally:
        seconds = work.settings.webhook_timeout_seconds + STOP_MARGIN_SECONDS
        stopped = await stop_within(tasks, seconds)
        if stopped:
            await release()
    if stopped:
        log.info("worker stopped")
    return stopped


async def stop_within(tasks: list[asyncio.Task[None]], seconds: float) -> bool:
    """Cancel `tasks` and wait up to `seconds` for them to end; False, with where each one that
    did not end is stuck logged, if any did not."""
    for task in tasks:
        task.cancel()
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    stuck = [task for task in asyncio.all_tasks() if not task.done()] if pending else []
    for task in stuck:
        if task is not asyncio.current_task():
            where = io.StringIO()
            task.print_stack(file=where)
            log.error("did not stop within %g s: %s", seconds, where.getvalue())
    return not pending
