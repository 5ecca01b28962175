"""Validation of responses against the official TM Forum v4 files (tests only).

Without them (a clone without ../shared) responses are validated against the committed generated
documents instead, which carry the same definitions and operations without the prose.
"""

import json
from functools import cache
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from rest_facades.tmf.codegen import APIS, DEFAULT_OUTPUT, DEFAULT_SPECS

SPECS = DEFAULT_SPECS
# Only for what needs the official files themselves (schemathesis runs of them).
requires_specs = pytest.mark.skipif(
    not SPECS.is_dir(), reason=f"the official TM Forum files are not at {SPECS}"
)


@cache
def official(name: str) -> dict[str, Any]:
    """An official Swagger 2.0 document by file-name prefix, e.g. `TMF620-ProductCatalog-v4`,
    else the committed generated document of that API."""
    if SPECS.is_dir():
        path = next(SPECS.glob(f"{name}*.swagger.json"))
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    module = APIS[name.removesuffix("-v4")]
    generated = json.loads((DEFAULT_OUTPUT / f"{module}.json").read_text())
    return {"definitions": generated["definitions"], "paths": generated["paths"]}


@cache
def _validator(name: str, schema: str) -> Any:
    resource: Resource[Any] = Resource.from_contents(official(name), default_specification=DRAFT4)
    registry: Registry[Any] = Registry().with_resource("urn:tmf", resource)
    rebased = json.loads(schema.replace('"$ref": "#', '"$ref": "urn:tmf#'))
    return jsonschema.Draft4Validator(
        rebased, registry=registry, format_checker=jsonschema.FormatChecker()
    )


def check_response(name: str, path: str, method: str, status: int, body: Any) -> None:
    """Fail unless `body` is what the official file allows for this operation and status."""
    responses = official(name)["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} may not answer {status}"
    schema = responses[str(status)].get("schema")
    if schema is None:
        return
    validator = _validator(name, json.dumps(schema, sort_keys=True))
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]
    )


def check_notification(name: str, event_type: str, body: Any) -> None:
    """Fail unless the API's official file declares `/listener/<event_type>` and `body` is what
    it allows there."""
    operation = official(name)["paths"][f"/listener/{event_type}"]["post"]
    [schema] = [p["schema"] for p in operation["parameters"] if p["in"] == "body"]
    validator = _validator(name, json.dumps(schema, sort_keys=True))
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]
    )
