"""Sonata and Cantata: the same APIs at different base paths, versions and product schemas."""

import importlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import ModuleType
from typing import Any

from app.core.events import Channel

# The seller's identifier in `sellerId` (MEF 123 R2 to R6): this platform sells as one party.
SELLER_ID = "lumen"


@dataclass(frozen=True)
class Flavour:
    """One of the two MEF LSO reference points this platform serves."""

    name: str
    channel: Channel

    def document(self, api: str) -> dict[str, Any]:
        """The generated version, base path and schemas of one API."""
        return _document(self.name, api)

    def base_path(self, api: str) -> str:
        """Where an API is mounted, e.g. `/mefApi/sonata/geographicAddressManagement/v7/`."""
        return str(self.document(api)["basePath"])

    def models(self, api: str) -> ModuleType:
        """The generated pydantic models of one API."""
        return importlib.import_module(f"rest_facades.mef.generated.{self.name}.{api}")


@cache
def _document(flavour: str, api: str) -> dict[str, Any]:
    text = resources.files(f"rest_facades.mef.generated.{flavour}").joinpath(f"{api}.json")
    loaded: dict[str, Any] = json.loads(text.read_text())
    return loaded


SONATA = Flavour("sonata", Channel.SONATA)
CANTATA = Flavour("cantata", Channel.CANTATA)
FLAVOURS = (SONATA, CANTATA)
