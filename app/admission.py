"""Admission of HTTP requests: `/healthz` is answered before anything else, only a few
requests work at once while the rest wait their turn, and those at work share each turn of
the event loop within a small budget of time.

A process serves its requests on one event loop. Each turn of the loop runs a slice (the code
between two awaits) of every request that is ready, and a probe waits for all those slices:
with 16 requests at work and slices of 10-40 ms (a page of 100 orders completed or encoded),
one turn took up to a few hundred milliseconds. So a turn runs the admitted requests' slices
only until they have spent `TURN_BUDGET_SECONDS` together; a request that becomes ready after
that takes its slice in a later turn, after the loop has read its sockets again (cooperative
scheduling with a budget, as Tokio's tasks have). The work is the same, only its order changes.
The requests waiting for their place cost nothing meanwhile, and one whose client has gone by
the time its turn comes is dropped unserved, so that the loop is free again soon after a load
ends.

Places bound the work in this process, not the waits on other systems: a request that waits
on a partner carrier's API (`waiting_elsewhere`) gives its place to the next request meanwhile
and takes one again, in turn, before it goes on. So a few places are enough, and fewer
requests at work at once keep fewer objects alive for the garbage collector, whose pauses
grow with them."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Generator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEALTH_PATH = "/healthz"
# The very answer of the `/healthz` route, which stays in the OpenAPI document.
HEALTHY = JSONResponse({"status": "ok"})
# The time that the admitted requests' slices may take together in one turn of the event loop.
# A probe needs two turns (one reads its request, one answers it), each at most this budget
# plus the one slice that overran it; a smaller budget costs more turns (a few microseconds
# each) for the same work.
TURN_BUDGET_SECONDS = 0.01


class Turns:
    """The time that the admitted requests' slices have spent in the event loop's current
    turn. A turn is known to end when a callback scheduled during it runs (in the next one)."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.spent = 0.0
        # The loop whose turn is open: one closed before its turn ended holds nobody up.
        self.loop: asyncio.AbstractEventLoop | None = None

    def spent_up(self) -> bool:
        """Whether the slices of the turn in progress have spent its budget."""
        return self.spent >= self.budget and self.loop is asyncio.get_running_loop()

    def begin(self) -> None:
        """Note that a slice starts, opening a turn if none is open."""
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            self.loop = loop
            self.spent = 0.0
            loop.call_soon(self._close)

    def _close(self) -> None:
        self.loop = None
        self.spent = 0.0


class Paced:
    """Awaitable that runs another slice by slice, each slice only in a turn of the event loop
    whose budget is not spent; an exception (a cancellation) reaches it at once."""

    __slots__ = ("inner", "turns")

    def __init__(self, inner: Awaitable[None], turns: Turns) -> None:
        self.inner = inner
        self.turns = turns

    def __await__(self) -> Generator[Any, Any, None]:
        coroutine, turns = self.inner.__await__(), self.turns
        value: Any = None
        error: BaseException | None = None
        while True:
            while error is None and turns.spent_up():
                try:
                    # A bare yield: the task takes its next step in the loop's next turn.
                    yield
                except BaseException as exc:
                    error = exc
            turns.begin()
            started = time.perf_counter()
            try:
                signal = coroutine.send(value) if error is None else coroutine.throw(error)
            except StopIteration:
                return
            finally:
                turns.spent += time.perf_counter() - started
            value, error = None, None
            try:
                value = yield signal
            except BaseException as exc:
                error = exc


class Place:
    """A request's place among those at work, which it may give back while it waits on another
    system and take again."""

    __slots__ = ("held", "places")

    def __init__(self, places: asyncio.Semaphore) -> None:
        self.places = places
        self.held = True

    def leave(self) -> None:
        """Give the place to the next request (once; a place not held is left already)."""
        if self.held:
            self.held = False
            self.places.release()

    async def retake(self) -> None:
        """Take a place again, after the requests that waited for one before."""
        if not self.held:
            await self.places.acquire()
            self.held = True


# The place of the request that the current task serves (None: no bound, or not a request).
_place: ContextVar[Place | None] = ContextVar("admission_place", default=None)


@asynccontextmanager
async def waiting_elsewhere() -> AsyncIterator[None]:
    """Give the current request's place to another while the block waits on another system
    (a partner's API, its retries' pauses), and take one again before the request goes on."""
    place = _place.get()
    if place is None or not place.held:
        yield
        return
    place.leave()
    try:
        yield
    finally:
        await place.retake()


class Admission:
    """ASGI middleware (the outermost): answers `GET /healthz` at once, lets at most `limit`
    other HTTP requests work at a time (`None`: any number), first come first served, and
    paces their slices within `turn_budget` seconds a turn of the event loop (`None`: no pace).
    A request leaves its place once its answer starts, so a stream holds none."""

    def __init__(
        self, app: ASGIApp, *, limit: int | None, turn_budget: float | None = TURN_BUDGET_SECONDS
    ) -> None:
        self.app = app
        self.places = asyncio.Semaphore(limit) if limit else None
        self.turns = Turns(turn_budget) if turn_budget else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == HEALTH_PATH and scope["method"] == "GET":
            await HEALTHY(scope, receive, send)
            return
        if self.places is None:
            await self._work(scope, receive, send)
            return
        await self.places.acquire()
        place = Place(self.places)
        token = _place.set(place)
        try:
            first = await receive()
            if first["type"] == "http.disconnect":
                return  # the client gave up while the request waited: nobody reads an answer
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return first
                return await receive()

            async def answer(message: Message) -> None:
                if message["type"] == "http.response.start":
                    place.leave()
                await send(message)

            await self._work(scope, replay, answer)
        finally:
            place.leave()
            _place.reset(token)

    async def _work(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.turns is None:
            await self.app(scope, receive, send)
        else:
            await Paced(self.app(scope, receive, send), self.turns)
