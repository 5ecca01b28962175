"""Validation of responses against the official TM Forum v4 files (tests only)."""

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "tmf"
requires_specs = pytest.mark.skipif(
    not SPECS.is_dir(), reason=f"the official TM Forum files are not at {SPECS}"
)


@cache
def official(name: str) -> dict[str, Any]:
    """An official Swagger 2.0 document by file-name prefix, e.g. `TMF620-ProductCatalog-v4`."""
    path = next(SPECS.glob(f"{name}*.swagger.json"))
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


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
