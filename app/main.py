"""Wires the core, the background workers and every face into one ASGI application."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from app.admission import Admission
from app.core import demo
from app.core.catalog import OfferingCache
from app.core.db import CoreConfig, Database
from app.core.errors import CoreError, Unauthenticated
from app.core.event_feed import EventFeed
from app.core.events import Dispatcher
from app.core.fulfilment import FulfilmentEngine, PartnerOutcomes
from app.core.parties import PrincipalCache
from app.core.partners import PartnerWorker
from app.dashboard import include_dashboard
from app.deprecations import DEPRECATIONS, DeprecationHeaders
from app.deps import DatabaseDep, idempotency_limits
from app.logging import configure_logging
from app.portal.pages import graphiql, graphql_endpoint_page
from app.portal.routes import include_portal
from app.ratelimit import RateLimiter, RateLimitMiddleware
from app.request_limits import RequestLimits
from app.settings import DEFAULT_DEMO_SECRET, Settings, get_settings
from app.workers import STOP_MARGIN_SECONDS, BackgroundWork, stop_within
from resolvers.live import LiveEvents
from resolvers.router import graphql_router
from rest_facades.common.notifications import WebhookSender
from rest_facades.mef.errors import mef_json
from rest_facades.mef.partner_client import SonataPartnerClient
from rest_facades.mef.partner_listener import LISTENER_PATH
from rest_facades.mef.partner_listener import routes as partner_listener_routes
from rest_facades.mef.router import include_mef
from rest_facades.tmf.errors import TMFError, tmf_json
from rest_facades.tmf.router import include_tmf

log = logging.getLogger(__name__)
# Allocations between two collections of the youngest generation (Python's default is 700): a
# request that builds a large answer would otherwise collect dozens of times while it runs.
GC_YOUNGEST_THRESHOLD = 20_000
# How long a starting process waits to listen for events before it serves without them.
FEED_START_SECONDS = 5.0
# Connections kept open beside one for each request at work: the background loops' and a few
# for requests that read outside their place (health, streams).
SPARE_CONNECTIONS = 4

STATUS_BY_CODE = {
    "NOT_FOUND": 404,
    "UNAUTHENTICATED": 401,
    "NOT_AUTHORIZED": 403,
    "CONFLICT": 409,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "IDEMPOTENCY_KEY_IN_USE": 409,
    "ILLEGAL_TRANSITION": 409,
    "QUOTE_EXPIRED": 409,
}


def http_status(error: CoreError) -> int:
    """The HTTP status that suits a core error when a face has no rule of its own."""
    return STATUS_BY_CODE.get(error.code, 422 if error.field else 400)


def too_many_requests(path: str, retry_after: int, message: str) -> Response:
    """A 429 with `Retry-After`, in the error format of the face that `path` belongs to."""
    headers = {"Retry-After": str(retry_after)}
    if path.startswith("/mefApi/"):
        # The MEF Error base: MEF defines no 429 body of its own.
        body = {"code": "tooManyRequests", "reason": message[:255]}
        return mef_json(body, status=429, headers=headers)
    if path.startswith("/tmf-api/"):
        return tmf_json(TMFError(429, "TOO_MANY_REQUESTS", message).body, 429, headers)
    error = {"message": message, "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after}}
    return JSONResponse({"data": None, "errors": [error]}, status_code=429, headers=headers)


def tune_garbage_collector() -> None:
    """Collect less often in a serving process: what is loaded at start (modules, schemas, the
    generated models: half a million objects) is frozen out of every later collection, and the
    youngest generation is collected after more allocations. A third of a large GraphQL answer's
    CPU time went to collections before."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNGEST_THRESHOLD, middle, oldest)


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def served_methods(app: Starlette, scope: Scope) -> list[str]:
    """The methods that some route of the application serves at the request's path."""
    return [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**scope, "method": method})[0] is Match.FULL
            for route in app.router.routes
        )
    ]


# MEF's codes for what the router answers itself: MEF lists none for 405, whose `Error` then
# names it as the other codes do.
MEF_CODE_BY_STATUS = {404: "notFound", 405: "methodNotAllowed"}


def create_app(settings: Settings | None = None, *, run_workers: bool | None = None) -> FastAPI:
    """Build the platform; `run_workers=False` (or `LUMEN_RUN_WORKERS=false`) leaves the
    background work to `lumen worker` processes or, in tests, to the caller."""
    settings = settings or get_settings()
    if run_workers is None:
        run_workers = settings.run_workers
    configure_logging(settings.log_level, json_lines=settings.environment == "production")
    gateway = (
        SonataPartnerClient(
            timeout_seconds=settings.partner_timeout_seconds,
            attempts=settings.partner_attempts,
            backoff_seconds=settings.partner_backoff_seconds,
            breaker_threshold=settings.partner_breaker_threshold,
            breaker_reset_seconds=settings.partner_breaker_reset_seconds,
        )
        if settings.partners_enabled
        else None
    )
    offerings = OfferingCache()
    places = settings.max_concurrent_requests
    database = Database.connect(
        settings.database_url,
        # A request at work beyond the pool's size would open and close a connection of its
        # own: a thread and its SQLite pragmas, or a PostgreSQL login, each time.
        pool_size=places + SPARE_CONNECTIONS if places else None,
        config=CoreConfig(
            offerings=offerings,
            near_net_km=settings.near_net_km,
            partners=gateway,
            partner_quote_ttl=timedelta(seconds=settings.partner_quote_ttl_seconds),
            principals=PrincipalCache(ttl_seconds=settings.auth_cache_seconds)
            if settings.auth_cache_seconds
            else None,
        ),
    )
    partner_worker = (
        PartnerWorker(
            database,
            gateway,
            PartnerOutcomes(),
            poll_after=timedelta(seconds=settings.partner_poll_seconds),
            listener_url=settings.base_url + LISTENER_PATH,
        )
        if gateway is not None
        else None
    )
    dispatcher = Dispatcher(
        database,
        max_attempts=settings.events_max_attempts,
        attempt_timeout=settings.webhook_timeout_seconds,
        per_receiver=settings.webhook_per_subscription,
        concurrency=settings.webhook_concurrency,
    )
    webhooks = WebhookSender(
        timeout=settings.webhook_timeout_seconds, allow_private=settings.webhook_allow_private
    )
    engine = FulfilmentEngine(
        database,
        ack_after=timedelta(seconds=settings.fulfilment_ack_seconds),
        complete_after=timedelta(seconds=settings.fulfilment_complete_seconds),
    )

    async def release() -> None:
        """Close the partner client and every pooled connection."""
        if gateway is not None:
            await gateway.close()
        await database.dispose()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.environment == "production":
            # A database made on a laptop may hold demo keys that anyone can derive.
            revoked = await demo.revoke_published_keys(database, secret=DEFAULT_DEMO_SECRET)
            if revoked:
                log.warning("revoked %d demo API keys made from the published demo secret", revoked)
        tasks = []
        if feed is not None:
            tasks.append(asyncio.create_task(feed.run_forever()))
            # A subscriber that the process answers hears every event committed after it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FEED_START_SECONDS):
                    await feed.listening.wait()
        if run_workers:
            tasks.append(asyncio.create_task(work.run()))
        try:
            yield
        finally:
            # Bounded as a `lumen worker`'s stop is: a loop stuck past it is logged, and the
            # process still stops rather than wait for it for ever.
            if tasks:
                await stop_within(tasks, settings.webhook_timeout_seconds + STOP_MARGIN_SECONDS)
            await release()

    app = FastAPI(
        title="Lumen API platform",
        version="0.1.0",
        description="Network services through GraphQL, MEF LSO Sonata/Cantata and TM Forum APIs.",
        lifespan=lifespan,
        # The portal serves both from assets shipped with the package, not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_json_depth=settings.max_json_depth,
        max_string_chars=settings.max_string_chars,
    )
    app.add_middleware(DeprecationHeaders, registry=DEPRECATIONS)
    app.state.settings = settings
    app.state.database = database
    app.state.offerings = offerings
    app.state.rate_limiter = limiter = RateLimiter(
        per_key=settings.rate_limit_per_key,
        anonymous=settings.rate_limit_anonymous,
        auth_failures=settings.auth_failures_limit,
    )
    app.add_middleware(RateLimitMiddleware, limiter=limiter, refuse=too_many_requests)
    # The outermost: `/healthz` answers before anything else; the rest wait their turn here.
    app.add_middleware(Admission, limit=settings.max_concurrent_requests or None)
    app.state.dispatcher = dispatcher
    app.state.fulfilment = engine
    app.state.partner_worker = partner_worker
    app.state.live = live = LiveEvents()
    feed: EventFeed | None = None
    if database.engine.dialect.name == "postgresql":
        # Events committed by any process reach this one's subscribers and wake its dispatcher.
        feed = EventFeed(database)
        feed.follow(live.publish_all, wanted=lambda: live.listeners > 0)
        feed.on_notice(dispatcher.wake)
        # The catalog is kept only while every change to it can be heard.
        offerings.trusted = feed.listening.is_set
        feed.on_gap(offerings.drop)
        feed.follow(offerings.heard, wanted=lambda: offerings.holds)
    else:
        # SQLite serves one process: its own dispatcher hands the events on.
        dispatcher.add_handler("graphql-live", live.publish, accepts=live.accepts)
    app.state.feed = feed
    app.state.work = work = BackgroundWork(
        settings,
        database,
        engine=engine,
        dispatcher=dispatcher,
        partner_worker=partner_worker,
        idempotency_ttl=idempotency_limits(settings).ttl,
    )
    app.state.release = release
    app.include_router(
        graphql_router(
            settings,
            # Production shows what the endpoint is instead of an IDE that calls it.
            ide_html=graphiql("/graphql")
            if settings.environment != "production"
            else graphql_endpoint_page(),
        ),
        prefix="/graphql",
        include_in_schema=False,
    )
    include_mef(app, dispatcher, webhooks)
    app.include_router(partner_listener_routes, prefix=LISTENER_PATH, include_in_schema=False)
    include_tmf(app, dispatcher, webhooks)
    include_portal(app)
    include_dashboard(app)

    @app.exception_handler(CoreError)
    async def core_error(request: Request, exc: CoreError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return JSONResponse(
            {"code": exc.code, "message": exc.message, "field": exc.field},
            status_code=http_status(exc),
            headers=headers,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Paths and methods that no route serves still answer in the face's own error format.
        path = request.url.path
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # HTTP asks a 405 to name the methods the path serves; the router names only those
            # of the first route on the path, where each method has a route of its own.
            headers = {"Allow": ", ".join(served_methods(request.app, request.scope))}
        if path.startswith("/mefApi/"):
            return mef_json(
                {
                    "code": MEF_CODE_BY_STATUS.get(exc.status_code, "internalError"),
                    "reason": str(exc.detail)[:255],
                },
                status=exc.status_code,
                headers=headers,
            )
        if path.startswith("/tmf-api/"):
            return tmf_json(
                TMFError(
                    exc.status_code,
                    "NOT_FOUND" if exc.status_code == 404 else "NOT_ALLOWED",
                    str(exc.detail),
                ).body,
                status=exc.status_code,
                headers=headers,
            )
        return await http_exception_handler(request, exc)

    @app.get("/healthz", tags=["platform"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["platform"])
    async def readyz(database: DatabaseDep) -> JSONResponse:
        """The process can serve: its database answers."""
        if await database.ping():
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "database unavailable"}, status_code=503)

    return app


def create_web_process_app() -> FastAPI:
    """The app of one web process among several (`lumen serve --workers N`), tuned like one."""
    app = create_app()
    tune_garbage_collector()
    return app
