"""The OpenAPI document of each MEF and TMF API the platform serves, one per API and mount.

Each is cut from the application's own OpenAPI description: only the operations we serve, the
bodies typed with the models generated from the official definitions, descriptions in our own
words, and our server URL. The portal offers them for download and interactive documentation;
the governance snapshots (`governance/openapi/<slug>.json`) are these documents.
"""

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from fastapi import FastAPI

from app.core.events import Channel
from app.deprecations import DEPRECATIONS, Deprecation, Surface
from rest_facades.mef import router as mef
from rest_facades.mef.flavours import FLAVOURS
from rest_facades.tmf import router as tmf

REF_PREFIX = "#/components/schemas/"
# `TMF622 product ordering`: the TM Forum number, then the name.
TMF_TAG = re.compile(r"^(TMF\d+) (.+)$")
# `product ordering (MEF 123)`: the name, then the MEF number.
MEF_TAG = re.compile(r"^(.+) \((MEF \w+)\)$")


@dataclass(frozen=True)
class ServedAPI:
    """One API at one mount: what the portal lists and the governance snapshots keep."""

    slug: str
    channel: Channel
    standard: str
    name: str
    base_path: str
    version: str

    @property
    def title(self) -> str:
        """E.g. `MEF 123 product ordering (Sonata)` or `TMF622 product ordering`."""
        if self.channel in (Channel.SONATA, Channel.CANTATA):
            return f"{self.standard} {self.name} ({self.channel.value.capitalize()})"
        return f"{self.standard} {self.name}"


def served_apis(app: FastAPI) -> list[ServedAPI]:
    """Every MEF API of both flavours, then every TMF API, as `app` serves them."""
    operations = app.openapi()["paths"]
    apis = []
    for flavour in FLAVOURS:
        for module in mef.APIS:
            base_path = flavour.base_path(module.API).rstrip("/")
            name, standard = _match(MEF_TAG, module.TAG)
            apis.append(
                ServedAPI(
                    slug=f"{flavour.name}-{module.API.replace('_', '-')}",
                    channel=flavour.channel,
                    standard=standard,
                    name=name,
                    base_path=base_path,
                    version=str(flavour.document(module.API)["version"]),
                )
            )
    for module in tmf.APIS:
        base_path = str(module.BASE)
        standard, name = _match(TMF_TAG, _tag_under(operations, base_path))
        generated = resources.files("rest_facades.tmf.generated").joinpath(
            f"{module.__name__.rsplit('.', 1)[-1]}.json"
        )
        apis.append(
            ServedAPI(
                slug=f"{standard.lower()}-{name.replace(' ', '-')}",
                channel=Channel.TMF,
                standard=standard,
                name=name,
                base_path=base_path,
                version=str(json.loads(generated.read_text())["version"]),
            )
        )
    return apis


def api_document(
    app: FastAPI,
    api: ServedAPI,
    *,
    server_url: str,
    deprecations: Iterable[Deprecation] = DEPRECATIONS,
) -> dict[str, Any]:
    """The OpenAPI document of one served API, with paths relative to its base URL; the
    operations of the registry of deprecations are marked `deprecated`."""
    whole = app.openapi()
    paths = {
        path.removeprefix(api.base_path): item
        for path, item in whole["paths"].items()
        if path.startswith(api.base_path + "/")
    }
    if not paths:
        raise LookupError(f"{app.title} serves nothing under {api.base_path}")
    schemas = whole["components"]["schemas"]
    used = _referenced(paths, schemas)
    # FastAPI qualifies a model's name with its module where two share a name (a Sonata and
    # a Cantata `ProductOrder`); within one API the plain name is unique again.
    short = {name: name.rsplit("__", 1)[-1] for name in used}
    taken = Counter(short.values())
    renamed = {name: plain if taken[plain] == 1 else name for name, plain in short.items()}
    components: dict[str, Any] = {
        "schemas": {renamed[name]: _renamed(schemas[name], renamed) for name in sorted(used)}
    }
    if "securitySchemes" in whole["components"]:
        components["securitySchemes"] = _renamed(whole["components"]["securitySchemes"], renamed)
    served = _renamed(paths, renamed)
    for deprecation in deprecations:
        method, path = deprecation.operation
        if deprecation.surface is Surface.REST and path.startswith(api.base_path + "/"):
            operation = served.get(path.removeprefix(api.base_path), {}).get(method.lower())
            if operation is not None:
                operation["deprecated"] = True
    return {
        "openapi": whole["openapi"],
        "info": {
            "title": f"Lumen: {api.title}",
            "version": api.version,
            "description": (
                f"The operations of {api.title} that the Lumen API platform serves, "
                f"release {api.version} of the standard."
            ),
        },
        "servers": [{"url": server_url.rstrip("/") + api.base_path}],
        "paths": served,
        "components": components,
    }


def _match(pattern: re.Pattern[str], tag: str) -> tuple[str, str]:
    found = pattern.match(tag)
    if found is None:
        raise ValueError(f"an API tag of an unexpected form: {tag!r}")
    first, second = found.groups()
    return first, second


def _tag_under(operations: dict[str, Any], base_path: str) -> str:
    for path, item in operations.items():
        if path.startswith(base_path + "/"):
            for operation in item.values():
                tags: list[str] = operation.get("tags", [])
                if tags:
                    return tags[0]
    raise LookupError(f"no tagged operation under {base_path}")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            yield ref.removeprefix(REF_PREFIX)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _referenced(paths: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """The schema components that `paths` reach, directly or through other components."""
    found: set[str] = set()
    pending = list(_refs(paths))
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(_refs(schemas[name]))
    return found


def _renamed(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {key: _renamed(value, names) for key, value in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            out["$ref"] = REF_PREFIX + names[ref.removeprefix(REF_PREFIX)]
        return out
    if isinstance(node, list):
        return [_renamed(value, names) for value in node]
    return node
