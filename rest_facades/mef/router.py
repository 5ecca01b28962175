"""Every MEF API of both flavours, ready to include in the application."""

from fastapi import FastAPI

from rest_facades.mef import geographic_address
from rest_facades.mef.flavours import FLAVOURS

APIS = [geographic_address]


def include_mef(app: FastAPI) -> None:
    """Mount each API once per flavour, at the base path its official file declares."""
    for flavour in FLAVOURS:
        for api in APIS:
            app.include_router(api.router(flavour))
