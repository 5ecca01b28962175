"""Every TM Forum API of the platform, ready to include in the application."""

import posixpath
from functools import cache
from types import ModuleType

from fastapi import APIRouter, Depends, FastAPI

from app.core.events import Dispatcher
from rest_facades.common.notifications import WebhookSender
from rest_facades.common.routers import PrefixRouter
from rest_facades.tmf import (
    account,
    customer_bill,
    geographic_address,
    geographic_site,
    party,
    product_catalog,
    product_inventory,
    product_offering_qualification,
    product_ordering,
    quote_management,
    service_qualification,
    trouble_ticket,
)
from rest_facades.tmf.common import checked_body, tmf_access
from rest_facades.tmf.hub import NotifyingAPI, register_transport

# Each module has its `router` (an APIRouter of module-level handlers, or a function that
# builds one); those with notifications also have `NOTIFYING`.
APIS: list[ModuleType] = [
    product_catalog,
    geographic_address,
    product_ordering,
    product_inventory,
    quote_management,
    trouble_ticket,
    customer_bill,
    geographic_site,
    party,
    product_offering_qualification,
    service_qualification,
    account,
]


@cache
def _router(api: ModuleType) -> APIRouter:
    # Built once per process: routes hold no per-application state.
    router: APIRouter = api.router if isinstance(api.router, APIRouter) else api.router()
    return router


def _base_path(router: APIRouter) -> str:
    """The folder below which every route of an API lies (its routes' common parent)."""
    parents = [posixpath.dirname(getattr(route, "path", "/")) for route in router.routes]
    return posixpath.commonpath(parents).rstrip("/") + "/"


def include_tmf(app: FastAPI, dispatcher: Dispatcher, sender: WebhookSender) -> None:
    """Mount each TMF API at its v4 base path and register the delivery of its events."""
    for api in APIS:
        router = _router(api)
        # A request is compared with an API's routes only below its base path.
        one_api = PrefixRouter(path_prefix=_base_path(router))
        one_api.include_router(router, dependencies=[Depends(tmf_access), Depends(checked_body)])
        app.include_router(one_api)
        notifying: NotifyingAPI | None = getattr(api, "NOTIFYING", None)
        if notifying is not None:
            register_transport(dispatcher, notifying, sender)
