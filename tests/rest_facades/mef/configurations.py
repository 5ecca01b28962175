"""Smallest product configurations that satisfy a product schema, built from the schema."""

import json
from functools import cache
from importlib import resources
from typing import Any

from rest_facades.mef.products import _index


@cache
def _schema(type_id: str) -> dict[str, Any]:
    name = _index()[type_id]
    loaded: dict[str, Any] = json.loads(
        resources.files("rest_facades.mef.generated")
        .joinpath(f"product_schemas/{name}")
        .read_text()
    )
    return loaded


def _resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**{k: v for k, v in node.items() if k != "$ref"}, **target}
    return node


def _flatten(root: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    """A schema and everything its `allOf` brings in, nested allOfs included."""
    parts = [node]
    for part in node.get("allOf", []):
        parts += _flatten(root, _resolve(root, part))
    return parts


def _build(root: dict[str, Any], node: dict[str, Any], depth: int = 0) -> Any:
    node = _resolve(root, node)
    if depth > 40:
        return None
    for combinator in ("oneOf", "anyOf"):
        if combinator in node:
            return _build(root, node[combinator][0], depth + 1)
    if "enum" in node:
        return node["enum"][0]
    if "const" in node:
        return node["const"]
    parts = _flatten(root, node)
    required = {r for part in parts for r in part.get("required", [])}
    properties = {k: v for part in parts for k, v in part.get("properties", {}).items()}
    kind = next(
        (p["type"] for p in parts if "type" in p),
        "object" if required or properties or "allOf" in node else None,
    )
    if kind == "object" or required:
        return {
            name: _build(root, properties.get(name, {}), depth + 1) for name in sorted(required)
        }
    if kind == "array":
        count = node.get("minItems", 0)
        return [_build(root, node.get("items", {}), depth + 1) for _ in range(count)]
    if kind in {"integer", "number"}:
        return node.get("minimum", 1) or 1
    if kind == "boolean":
        return False
    return "x"


def minimal_configuration(type_id: str, **top: Any) -> dict[str, Any]:
    """A configuration of `type_id` with every required attribute at its simplest valid value."""
    root = _schema(type_id)
    built: dict[str, Any] = _build(root, root)
    return {**built, "@type": type_id, **top}
