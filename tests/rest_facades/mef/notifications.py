"""Checks of MEF notification bodies against the official notification files (tests only)."""

from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.rest_facades.mef.conformance import OpenAPIValidator, official


def check_event(flavour: str, notification_api: str, event_type: str, body: Any) -> None:
    """Fail unless `body` is what the official file lets a seller send to `listener/<type>`."""
    document = official(flavour, notification_api)
    operation = document["paths"][f"/listener/{event_type}"]["post"]
    schema = next(iter(operation["requestBody"]["content"].values()))["schema"]
    registry: Registry = Registry().with_resource(
        "urn:official", Resource.from_contents(document, default_specification=DRAFT7)
    )
    validator = OpenAPIValidator(
        _rebase(schema), registry=registry, format_checker=jsonschema.FormatChecker()
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]
    )


def _rebase(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: "urn:official" + v
            if k == "$ref" and isinstance(v, str) and v.startswith("#")
            else _rebase(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node
