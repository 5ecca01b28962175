"""Every MEF API of both flavours, ready to include in the application."""

from functools import cache
from types import ModuleType

from fastapi import APIRouter, Depends, FastAPI

from app.core.events import Dispatcher
from rest_facades.common.notifications import WebhookSender
from rest_facades.mef import (
    geographic_address,
    geographic_site,
    product_inventory,
    product_offering_qualification,
    product_order,
    quote,
    trouble_ticket,
)
from rest_facades.mef.flavours import FLAVOURS, Flavour
from rest_facades.mef.hub import NotifyingAPI, register_transports
from rest_facades.mef.requests import flavour_access

# Each module has `router(flavour)`; those with notifications also have `NOTIFYING`.
APIS: list[ModuleType] = [
    geographic_address,
    product_offering_qualification,
    product_order,
    quote,
    geographic_site,
    product_inventory,
    trouble_ticket,
]


@cache
def _router(api: ModuleType, flavour: Flavour) -> APIRouter:
    # Building the routes is the costly part of making an app; they hold no per-app state.
    router: APIRouter = api.router(flavour)
    return router


def include_mef(app: FastAPI, dispatcher: Dispatcher, sender: WebhookSender) -> None:
    """Mount each API once per flavour, at the base path its official file declares, and
    register the delivery of its notifications."""
    for flavour in FLAVOURS:
        access = Depends(flavour_access(flavour))
        for api in APIS:
            app.include_router(_router(api, flavour), dependencies=[access])
            notifying: NotifyingAPI | None = getattr(api, "NOTIFYING", None)
            if notifying is not None:
                register_transports(dispatcher, flavour, notifying, sender)
