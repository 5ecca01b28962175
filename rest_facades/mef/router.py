"""Every MEF API of both flavours, ready to include in the application."""

from types import ModuleType

from fastapi import FastAPI

from app.core.events import Dispatcher
from rest_facades.common.notifications import WebhookSender
from rest_facades.common.routers import PrefixRouter
from rest_facades.mef import (
    appointment,
    availability_and_pricing,
    billing,
    geographic_address,
    geographic_site,
    product_catalog,
    product_inventory,
    product_offering_qualification,
    product_order,
    quote,
    trouble_ticket,
    work_order,
)
from rest_facades.mef.flavours import FLAVOURS
from rest_facades.mef.hub import NotifyingAPI, register_transports
from rest_facades.mef.routing import ERROR_RESPONSES

# Each module has `API` (its generated module's name), `TAG` and `routes`, a router of its
# module-level handlers; those with notifications also have `NOTIFYING`.
APIS: list[ModuleType] = [
    geographic_address,
    product_offering_qualification,
    product_order,
    quote,
    geographic_site,
    product_inventory,
    trouble_ticket,
    availability_and_pricing,
    product_catalog,
    billing,
    work_order,
    appointment,
]


def include_mef(app: FastAPI, dispatcher: Dispatcher, sender: WebhookSender) -> None:
    """Mount each API once per flavour, at the base path its official file declares, and
    register the delivery of its notifications."""
    for flavour in FLAVOURS:
        for api in APIS:
            # A request is compared with an API's routes only below its base path.
            base_path = flavour.base_path(api.API)
            one_api = PrefixRouter(path_prefix=base_path)
            one_api.include_router(
                api.routes,
                prefix=base_path.rstrip("/"),
                tags=[f"{flavour.name}: {api.TAG}"],
                responses=ERROR_RESPONSES,
            )
            app.include_router(one_api)
            notifying: NotifyingAPI | None = getattr(api, "NOTIFYING", None)
            if notifying is not None:
                register_transports(dispatcher, flavour, notifying, sender)
