"""A router behind a path prefix: requests below it are routed as before (405 included), and a
request elsewhere is never compared with its routes."""

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from rest_facades.common.routers import PrefixRouter

pytestmark = pytest.mark.once


class CountingRoute(APIRoute):
    """Counts the requests it is compared with."""

    compared = 0

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        CountingRoute.compared += 1
        return super().matches(scope)


def _app() -> FastAPI:
    app = FastAPI()
    for name in ("one", "two"):
        routes = APIRouter(route_class=CountingRoute)

        @routes.get("/thing/{id}")
        async def thing(id: str, name: str = name) -> dict[str, str]:
            return {"api": name, "id": id}

        behind = PrefixRouter(path_prefix=f"/api/{name}/")
        behind.include_router(routes, prefix=f"/api/{name}")
        app.include_router(behind)

    @app.get("/elsewhere")
    async def elsewhere() -> dict[str, bool]:
        return {"ok": True}

    return app


async def test_requests_below_the_prefix_are_routed_as_before() -> None:
    app = _app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        assert (await client.get("/api/two/thing/7")).json() == {"api": "two", "id": "7"}
        assert (await client.get("/api/one/thing/7")).json() == {"api": "one", "id": "7"}
        assert (await client.post("/api/one/thing/7")).status_code == 405
        assert (await client.get("/api/one/nothing")).status_code == 404
        # Only the operations of the routes themselves are in the OpenAPI document.
        assert sorted(app.openapi()["paths"]) == [
            "/api/one/thing/{id}",
            "/api/two/thing/{id}",
            "/elsewhere",
        ]


async def test_a_request_elsewhere_is_not_compared_with_the_routes() -> None:
    app = _app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        CountingRoute.compared = 0
        assert (await client.get("/elsewhere")).json() == {"ok": True}
        assert CountingRoute.compared == 0
        assert (await client.get("/api/two/thing/1")).status_code == 200
        assert CountingRoute.compared > 0
