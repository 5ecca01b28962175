"""What the generators of the standards' models share: dropping the specs' prose."""

from typing import Any

EMPTY_OK = {"properties", "definitions", "required", "allOf"}
PROSE = {"description", "example", "examples", "title", "summary", "x-mef-target"}


def strip_prose(node: Any, *, in_properties: bool = False) -> Any:
    """The node without prose keywords; property names called `description` are kept."""
    if isinstance(node, dict):
        return {
            key: strip_prose(
                value, in_properties=key in {"properties", "definitions"} and not in_properties
            )
            for key, value in node.items()
            # An empty `properties:` in the YAML reads as null, which no validator accepts.
            if in_properties or (key not in PROSE and not (value is None and key in EMPTY_OK))
        }
    if isinstance(node, list):
        return [strip_prose(item) for item in node]
    return node


# What validating a request or a response needs of an operation; its tags and ids are left out.
OPERATION_PARTS = {"parameters", "requestBody", "responses"}


def operations(paths: dict[str, Any]) -> dict[str, Any]:
    """The paths of an API with, per operation, its parameters, request body and responses per
    status (schemas and headers), without prose."""
    kept: dict[str, Any] = {}
    for path, item in paths.items():
        kept[path] = {
            method: (
                {part: value for part, value in operation.items() if part in OPERATION_PARTS}
                if method != "parameters"
                else operation
            )
            for method, operation in item.items()
            if method == "parameters" or (isinstance(operation, dict) and "responses" in operation)
        }
    stripped: dict[str, Any] = strip_prose(kept)
    return stripped
