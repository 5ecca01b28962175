"""A worker told to stop: its loops end at once when they can, and one that is stuck is named
with where it is stuck, within a bound, instead of holding the process up for ever."""

import asyncio
import logging

import pytest

from app.main import create_app
from app.settings import Settings
from app.workers import stop_within


async def _waits_for_work() -> None:
    await asyncio.Event().wait()


async def _ignores_cancellation(until: asyncio.Event) -> None:
    while not until.is_set():
        try:
            await until.wait()
        except asyncio.CancelledError:
            pass  # as a loop would that caught too much


async def test_loops_that_end_when_cancelled_stop_at_once() -> None:
    tasks = [asyncio.create_task(_waits_for_work()) for _ in range(3)]
    await asyncio.sleep(0)
    assert await stop_within(tasks, 5.0)
    assert all(task.cancelled() for task in tasks)


async def test_a_stuck_loop_is_named_with_where_it_is_stuck(
    caplog: pytest.LogCaptureFixture,
) -> None:
    released = asyncio.Event()
    stuck = asyncio.create_task(_ignores_cancellation(released), name="stuck-loop")
    fine = asyncio.create_task(_waits_for_work())
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="app.workers"):
        assert not await asyncio.wait_for(stop_within([stuck, fine], 0.2), timeout=5)
    assert fine.cancelled()
    logged = caplog.text
    assert "did not stop within 0.2 s" in logged
    assert "stuck-loop" in logged
    assert "_ignores_cancellation" in logged  # where it is stuck
    assert not stuck.done()
    released.set()
    await stuck


async def test_a_web_process_stops_though_a_loop_of_its_background_work_is_stuck(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    app = create_app(settings.model_copy(update={"webhook_timeout_seconds": 0.2}), run_workers=True)
    released = asyncio.Event()
    app.state.work.run = lambda: _ignores_cancellation(released)
    try:
        # The process's own logging (configured by the app) writes the stuck loop's stack.
        async with asyncio.timeout(30), app.router.lifespan_context(app):
            await asyncio.sleep(0.1)
        logged = capfd.readouterr().err
        assert "did not stop within 5.2 s" in logged
        assert "_ignores_cancellation" in logged
    finally:
        released.set()
        await asyncio.sleep(0)
