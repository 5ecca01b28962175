"""Product schemas: which MEF product `@type` is which core offering, and configuration checks."""

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from app.core.catalog import ProductKind
from app.core.events import Channel
from app.core.journeys import OFFERING_FOR_KIND
from rest_facades.mef.flavours import Flavour

_SCHEMAS = "rest_facades.mef.generated"
SONATA_TYPES = {
    ProductKind.ETHERNET_LINE: "urn:mef:lso:spec:sonata:access-eline-ovc:v5.0.0:all",
    ProductKind.ETHERNET_PORT: "urn:mef:lso:spec:sonata:carrier-ethernet-operator-uni:v5.0.0:all",
    ProductKind.INTERNET_ACCESS: "urn:mef:lso:spec:cantata-sonata:basic-internet-access:v1.0.0:all",
}
CANTATA_TYPES = {
    ProductKind.ETHERNET_LINE: "urn:mef:lso:spec:cantata-sonata:evpl-evc:v1.0.0:all",
    ProductKind.ETHERNET_PORT: (
        "urn:mef:lso:spec:cantata-sonata:carrier-ethernet-subscriber-uni:v1.0.0:all"
    ),
    ProductKind.INTERNET_ACCESS: "urn:mef:lso:spec:cantata-sonata:basic-internet-access:v1.0.0:all",
}
# Also accepted on the Cantata side: the subscriber Ethernet point-to-point variant.
CANTATA_ALSO = {"urn:mef:lso:spec:cantata-sonata:epl-evc:v1.0.0:all": ProductKind.ETHERNET_LINE}
_UNITS_MBPS = {"bps": 1e-6, "kbps": 1e-3, "mbps": 1.0, "gbps": 1e3, "tbps": 1e6}


def product_types(flavour: Flavour) -> dict[ProductKind, str]:
    """The product schema `$id` this flavour uses for each kind of product."""
    return SONATA_TYPES if flavour.channel == Channel.SONATA else CANTATA_TYPES


def kind_of(flavour: Flavour, type_id: str) -> ProductKind | None:
    """The kind of product a configuration's `@type` describes, if this flavour sells it."""
    for kind, known in product_types(flavour).items():
        if known == type_id:
            return kind
    return CANTATA_ALSO.get(type_id) if flavour.channel == Channel.CANTATA else None


def offering_id(kind: ProductKind) -> str:
    """The core offering sold for a kind of product."""
    return OFFERING_FOR_KIND[kind]


@cache
def _index() -> dict[str, str]:
    text = resources.files(_SCHEMAS).joinpath("product_schemas/index.json").read_text()
    loaded: dict[str, str] = json.loads(text)
    return loaded


def schema_file(type_id: str) -> str:
    """The name of the bundled file that holds the product schema a `@type` names."""
    return _index()[type_id]


def schema_text(type_id: str) -> str:
    """The product schema a `@type` names, as published."""
    return resources.files(_SCHEMAS).joinpath(f"product_schemas/{schema_file(type_id)}").read_text()


def sold_types(flavour: Flavour) -> dict[str, ProductKind]:
    """Every product `@type` this flavour accepts, with the kind of product it describes."""
    sold = {type_id: kind for kind, type_id in product_types(flavour).items()}
    return sold | (CANTATA_ALSO if flavour.channel == Channel.CANTATA else {})


@cache
def _validator(type_id: str) -> jsonschema.Draft7Validator:
    name = _index()[type_id]
    schema = json.loads(resources.files(_SCHEMAS).joinpath(f"product_schemas/{name}").read_text())
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def check_configuration(
    flavour: Flavour, configuration: Any, where: str
) -> list[tuple[str, str, str]]:
    """Problems (MEF Error422 code, reason, JSON pointer) of a `productConfiguration` against the
    product schema its `@type` names; an unknown `@type` is one problem."""
    if not isinstance(configuration, dict):
        return [("invalidValue", "productConfiguration must be an object", where)]
    type_id = configuration.get("@type")
    if not isinstance(type_id, str):
        return [("missingProperty", "productConfiguration needs an @type", f"{where}/@type")]
    if type_id not in _index() or kind_of(flavour, type_id) is None:
        sold = ", ".join(sorted(set(product_types(flavour).values())))
        return [
            (
                "invalidValue",
                f"unknown product @type '{type_id}'; sold here: {sold}",
                f"{where}/@type",
            )
        ]
    problems = []
    for error in sorted(
        _validator(type_id).iter_errors(configuration), key=lambda e: list(e.absolute_path)
    ):
        path = "/".join(str(p) for p in error.absolute_path)
        code = "missingProperty" if error.validator == "required" else "invalidValue"
        problems.append((code, error.message[:255], f"{where}/{path}".rstrip("/")))
    return problems


def bandwidth_mbps(configuration: dict[str, Any]) -> int | None:
    """The largest committed information rate in a configuration, in Mbps (None if none)."""
    found: list[float] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            value, units = node.get("irValue"), str(node.get("irUnits", "")).lower()
            if key.lower() == "cir" and isinstance(value, int | float) and units in _UNITS_MBPS:
                found.append(value * _UNITS_MBPS[units])
            for name, child in node.items():
                walk(child, name)
        elif isinstance(node, list):
            for child in node:
                walk(child, key)

    walk(configuration)
    return round(max(found)) if found else None
