"""The platform as `lumen serve` runs it, plus the two floors a benchmark compares it with:
a bare Starlette route and a cached strawberry "hello", served by the same process.

Run by `python -m benchmarks`: `python -m benchmarks.server --port PORT`, configured by the
`LUMEN_*` environment like `lumen serve`."""

import argparse
import os

import strawberry
import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.fastapi import GraphQLRouter

from app.main import create_app, tune_garbage_collector
from app.settings import DEFAULT_DEMO_SECRET, get_settings
from benchmarks.seed import Seeded, seed

FLOOR_PATH = "/bench/floor"
HELLO_PATH = "/bench/hello"


@strawberry.type
class HelloQuery:
    @strawberry.field
    def hello(self) -> str:
        return "world"


hello_schema = strawberry.Schema(
    query=HelloQuery,
    extensions=[lambda: ParserCache(maxsize=16), lambda: ValidationCache(maxsize=16)],
)


class Floor:
    """The bytes that the bare route answers with, set once by the driver (the same bytes as
    the order it reads through the faces)."""

    body = b"{}"

    async def get(self, _request: Request) -> Response:
        return Response(self.body, media_type="application/json")

    async def put(self, request: Request) -> Response:
        self.body = await request.body()
        return Response(status_code=204)


def bench_app() -> FastAPI:
    """The platform with the floors mounted beside its faces."""
    app = create_app(get_settings())
    floor = Floor()
    app.router.add_route(FLOOR_PATH, floor.get, methods=["GET"], include_in_schema=False)
    app.router.add_route(FLOOR_PATH, floor.put, methods=["PUT"], include_in_schema=False)
    app.include_router(GraphQLRouter(hello_schema, graphql_ide=None), prefix=HELLO_PATH)
    return app


async def seeded_app(url: str) -> tuple[Seeded, FastAPI]:
    """The benchmark app on the database at `url`, seeded as `make bench` seeds it, its rate
    limits off and its log quiet (for the in-process tools)."""
    seeded = await seed(url, orders_per_customer=300, secret=DEFAULT_DEMO_SECRET)
    os.environ |= {
        "LUMEN_DATABASE_URL": url,
        "LUMEN_RATE_LIMIT_PER_KEY": "",
        "LUMEN_RATE_LIMIT_ANONYMOUS": "",
        "LUMEN_LOG_LEVEL": "WARNING",
    }
    get_settings.cache_clear()
    return seeded, bench_app()


def main() -> None:
    """Serve as `lumen serve` does (its uvicorn options), on the given loopback port."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = bench_app()
    tune_garbage_collector()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None)


if __name__ == "__main__":
    main()
