"""Validation of responses against the official MEF files in ../shared/specs (tests only).

Without them (a clone without ../shared) responses are validated against the committed generated
documents instead, which carry the same schemas and operations without the prose.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from rest_facades.mef.codegen import DEFAULT_SPECS, find_api_files
from rest_facades.mef.flavours import FLAVOURS

HAS_OFFICIAL = (DEFAULT_SPECS / "sonata").is_dir()
# Only for what needs the official files themselves (schemathesis runs of them).
requires_specs = pytest.mark.skipif(
    not HAS_OFFICIAL,
    reason=f"the official MEF files are not at {DEFAULT_SPECS} (a clone without ../shared)",
)
_active: set[tuple[int, str]] = set()


def _discriminator(
    validator: Any, value: dict[str, Any], instance: Any, schema: dict[str, Any]
) -> Any:
    """OpenAPI's `discriminator`: also validate against the subtype that `@type` names."""
    if not isinstance(instance, dict):
        return
    target = value.get("mapping", {}).get(instance.get(value["propertyName"]))
    if target is None:
        return
    key = (id(instance), target)
    if key in _active:  # the subtype's allOf leads back here: checked already
        return
    _active.add(key)
    try:
        yield from validator.descend(instance, {"$ref": target})
    finally:
        _active.discard(key)


# jsonschema's `extend` carries no annotations.
OpenAPIValidator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft7Validator, {"discriminator": _discriminator}
)


@cache
def official(flavour: str, api: str) -> dict[str, Any]:
    """The official OpenAPI document of one API, else its committed generated document."""
    if HAS_OFFICIAL:
        path: Path = find_api_files(DEFAULT_SPECS, flavour)[api]
        loaded: dict[str, Any] = yaml.safe_load(path.read_text())
        return loaded
    generated = next(f for f in FLAVOURS if f.name == flavour).document(api)
    # Shaped as the official file, so its `#/components/schemas/...` references resolve.
    return {"components": {"schemas": generated["schemas"]}, "paths": generated["paths"]}


def check_response(flavour: str, api: str, path: str, method: str, status: int, body: Any) -> None:
    """Fail unless `body` is what the official file allows for this operation and status."""
    document = official(flavour, api)
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} may not answer {status}"
    content = responses[str(status)].get("content")
    if content is None:
        assert body in (None, b"", ""), f"{status} has no body in the spec"
        return
    schema = next(iter(content.values()))["schema"]
    validator = _validator(flavour, api, json.dumps(schema, sort_keys=True))
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]
    )


@cache
def _registry(flavour: str, api: str) -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(
        official(flavour, api), default_specification=DRAFT7
    )
    registry: Registry[Any] = Registry().with_resource("urn:official", resource)
    return registry


@cache
def _validator(flavour: str, api: str, schema: str) -> Any:
    return OpenAPIValidator(
        _rebase(json.loads(schema)),
        registry=_registry(flavour, api),
        format_checker=jsonschema.FormatChecker(),
    )


def _rebase(node: Any) -> Any:
    """Point local `#/...` references at the registered official document."""
    if isinstance(node, dict):
        return {
            k: (
                "urn:official" + v
                if k == "$ref" and isinstance(v, str) and v.startswith("#")
                else _rebase(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node
