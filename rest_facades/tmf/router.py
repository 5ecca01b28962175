"""Every TM Forum API of the platform, ready to include in the application."""

from functools import cache

from fastapi import APIRouter, FastAPI

from rest_facades.tmf import product_catalog


@cache
def _routers() -> tuple[APIRouter, ...]:
    # Built once per process: routes hold no per-application state.
    return (product_catalog.router(),)


def include_tmf(app: FastAPI) -> None:
    """Mount each TMF API at its v4 base path."""
    for router in _routers():
        app.include_router(router)
