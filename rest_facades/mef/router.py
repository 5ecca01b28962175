"""Every MEF API of both flavours, ready to include in the application."""

from types import ModuleType

from fastapi import FastAPI

from app.core.events import Dispatcher
from rest_facades.mef import geographic_address
from rest_facades.mef.flavours import FLAVOURS
from rest_facades.mef.hub import NotifyingAPI, register_transports

# Each module has `router(flavour)`; those with notifications also have `NOTIFYING`.
APIS: list[ModuleType] = [geographic_address]


def include_mef(app: FastAPI, dispatcher: Dispatcher) -> None:
    """Mount each API once per flavour, at the base path its official file declares, and
    register the delivery of its notifications."""
    for flavour in FLAVOURS:
        for api in APIS:
            app.include_router(api.router(flavour))
            notifying: NotifyingAPI | None = getattr(api, "NOTIFYING", None)
            if notifying is not None:
                register_transports(dispatcher, flavour, notifying)
