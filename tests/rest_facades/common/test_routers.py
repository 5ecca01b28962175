"""A router behind a path prefix: requests below it are routed as before (405 included, in the
face's own error format), they see the application's state and overrides as they are at the
time, and a request elsewhere is never compared with its routes."""

from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
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


async def _stored(request: Request) -> str:
    """What the application holds now, read as the faces read their database."""
    value: str = request.app.state.stored
    return value


async def test_a_route_behind_the_prefix_sees_the_application_as_it_is_now() -> None:
    app = FastAPI()
    routes = APIRouter()

    @routes.get("/thing")
    async def thing(stored: Annotated[str, Depends(_stored)]) -> dict[str, str]:
        return {"stored": stored}

    behind = PrefixRouter(path_prefix="/api/one/")
    behind.include_router(routes, prefix="/api/one")
    app.include_router(behind)
    app.state.stored = "built"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        assert (await client.get("/api/one/thing")).json() == {"stored": "built"}
        # Nothing is captured when the router is included or first routed to: state swapped
        # afterwards (as tests swap the database) and overrides both reach the route.
        app.state.stored = "swapped"
        assert (await client.get("/api/one/thing")).json() == {"stored": "swapped"}
        app.dependency_overrides[_stored] = lambda: "overridden"
        assert (await client.get("/api/one/thing")).json() == {"stored": "overridden"}


@pytest.mark.parametrize(
    "base",
    [
        "/mefApi/sonata/productOrderingManagement/v10",
        "/mefApi/cantata/productOrderingManagement/v5",
    ],
)
async def test_unknown_paths_and_methods_below_a_mef_base_path_answer_mef_errors(
    client: httpx.AsyncClient, base: str
) -> None:
    unknown = await client.get(f"{base}/nothingHere")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "notFound")
    wrong_method = await client.put(f"{base}/productOrder")
    assert (wrong_method.status_code, wrong_method.json()) == (
        405,
        {"code": "methodNotAllowed", "reason": "Method Not Allowed"},
    )
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "POST"}


async def test_unknown_paths_and_methods_below_a_tmf_base_path_answer_tmf_errors(
    client: httpx.AsyncClient,
) -> None:
    base = "/tmf-api/productOrderingManagement/v4"
    unknown = (await client.get(f"{base}/nothingHere")).json()
    assert (unknown["@type"], unknown["status"]) == ("Error", "404")
    wrong_method = await client.put(f"{base}/productOrder")
    assert (wrong_method.json()["@type"], wrong_method.json()["code"]) == ("Error", "NOT_ALLOWED")
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "POST"}
