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

    def api_at(self, path: str) -> str:
        """The API under whose base path `path` lies."""
        for api in _apis(self.name):
            if path.startswith(self.base_path(api)):
                return api
        raise LookupError(f"no {self.name} API serves {path}")

    def models(self, api: str) -> ModuleType:
        """The generated pydantic models of one API, for lookups by a name the request gives
        (`@type`); handlers are typed with the modules themselves (see below)."""
        return importlib.import_module(f"rest_facades.mef.generated.{self.name}.{api}")


# Handlers are typed with the generated models of the Sonata module of their API, for both
# mounts: the Grace files of the two flavours define the same schemas for every API (they
# differ in base path, version and product schemas, which `Flavour` carries), so the generator
# writes code-identical modules and one class per body is the real type of both.
# tests/rest_facades/mef/test_codegen.py keeps that true: should a flavour's schema ever
# diverge, it fails, and that API then declares one handler per flavour.


@cache
def _apis(flavour: str) -> tuple[str, ...]:
    folder = resources.files(f"rest_facades.mef.generated.{flavour}")
    return tuple(
        sorted(e.name.removesuffix(".json") for e in folder.iterdir() if e.name.endswith(".json"))
    )


@cache
def _document(flavour: str, api: str) -> dict[str, Any]:
    text = resources.files(f"rest_facades.mef.generated.{flavour}").joinpath(f"{api}.json")
    loaded: dict[str, Any] = json.loads(text.read_text())
    return loaded


SONATA = Flavour("sonata", Channel.SONATA)
CANTATA = Flavour("cantata", Channel.CANTATA)
FLAVOURS = (SONATA, CANTATA)
FLAVOURS_BY_NAME = {flavour.name: flavour for flavour in FLAVOURS}
