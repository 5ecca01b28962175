"""Admission of HTTP requests: `/healthz` is answered before anything else, and only a few
requests work at once while the rest wait their turn.

A process serves its requests on one event loop. With every request of a load test at work
at once, each turn of the loop runs a slice of each of them, and a probe waits for all those
slices; with a few at work, it waits for a few. The requests waiting for their turn cost
nothing meanwhile, and one whose client has gone by the time its turn comes is dropped
unserved, so that the loop is free again soon after a load ends."""

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEALTH_PATH = "/healthz"
# The very answer of the `/healthz` route, which stays in the OpenAPI document.
HEALTHY = JSONResponse({"status": "ok"})


class Admission:
    """ASGI middleware (the outermost): answers `GET /healthz` at once and lets at most
    `limit` other HTTP requests work at a time (`None`: any number), first come first served.
    A request leaves its place once its answer starts, so a stream holds none."""

    def __init__(self, app: ASGIApp, *, limit: int | None) -> None:
        self.app = app
        self.places = asyncio.Semaphore(limit) if limit else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == HEALTH_PATH and scope["method"] == "GET":
            await HEALTHY(scope, receive, send)
            return
        if self.places is None:
            await self.app(scope, receive, send)
            return
        places = self.places
        await places.acquire()
        held = True

        def leave() -> None:
            nonlocal held
            if held:
                held = False
                places.release()

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
                    leave()
                await send(message)

            await self.app(scope, replay, answer)
        finally:
            leave()
