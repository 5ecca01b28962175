"""Generates what the MEF faces need at run time from the official MEF LSO Grace files.

For each API and flavour: pydantic models (datamodel-code-generator) and a JSON document with the
API's version, base path, schemas and operations (parameters, request body, responses per status),
for request and response validation. For each product
schema: one self-contained JSON Schema with its relative references bundled, keyed by `$id`.
Descriptions, examples and titles are dropped: the project keeps the structure, not the prose.

    python -m rest_facades.mef.codegen [--specs ../shared/specs/mef] [--output DIR]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from rest_facades.common.codegen import operations, strip_prose

ROOT = Path(__file__).resolve().parents[2]
# `LUMEN_SPECS_DIR` points elsewhere (an empty folder plays a clone without ../shared).
DEFAULT_SPECS = Path(os.environ.get("LUMEN_SPECS_DIR", ROOT.parent / "shared" / "specs")) / "mef"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "generated"
FLAVOURS = ("sonata", "cantata")
# Module name of each API, by the file-name stem the MEF SDK gives it.
APIS = {
    "MEF121-geographicAddressManagement": "geographic_address",
    "MEF122-geographicSiteManagement": "geographic_site",
    "MEF87-productOfferingQualificationManagement": "product_offering_qualification",
    "MEF87-productOfferingQualificationNotification": "product_offering_qualification_notification",
    "MEF115-quoteManagement": "quote",
    "MEF115-quoteNotification": "quote_notification",
    "MEF123-productOrderManagement": "product_order",
    "MEF123-productOrderNotification": "product_order_notification",
    "MEF116-productInventoryManagement": "product_inventory",
    "MEF124-troubleTicketManagement": "trouble_ticket",
    "MEF124-troubleTicketNotification": "trouble_ticket_notification",
    "MEF160-productOfferingAvailabilityAndPricingDiscovery": "availability_and_pricing",
    "MEFW142-productCatalog": "product_catalog",
    "MEFW142-productCatalogNotification": "product_catalog_notification",
    "MEF141-billingManagement": "billing",
    "MEF141-billingNotification": "billing_notification",
    "MEF137-appointmentManagement": "appointment",
    "MEF137-appointmentNotification": "appointment_notification",
    "MEF137-workorderManagement": "work_order",
    "MEF137-workorderNotification": "work_order_notification",
}


def api_document(spec: dict[str, Any]) -> dict[str, Any]:
    """Version, base path, schemas and operations of one API, ready for validation."""
    server = spec.get("servers", [{}])[0].get("url", "")
    base_path = "/" + server.split("}/", 1)[-1].strip("/") + "/" if "}/" in server else "/"
    return {
        "version": spec["info"]["version"],
        "basePath": base_path,
        "schemas": strip_prose(spec.get("components", {}).get("schemas", {})),
        # `#/components/schemas/...` references in the operations resolve against `schemas`
        # once the document is read as `{"components": {"schemas": ...}, "paths": ...}`.
        "paths": operations(spec.get("paths", {})),
    }


def find_api_files(specs: Path, flavour: str) -> dict[str, Path]:
    """The API files of a flavour by module name."""
    found: dict[str, Path] = {}
    for path in sorted((specs / flavour).glob("*.api.yaml")):
        # Release candidates carry a suffix: `-v2.0.0-RC.api.yaml`.
        stem = re.sub(r"-v\d+\.\d+\.\d+(-[A-Za-z0-9.]+)?\.api\.yaml$", "", path.name)
        if stem in APIS:
            found[APIS[stem]] = path
    return found


# The extension point of product payloads: its members beyond `@type` are those of the product
# schema that `@type` names, so its model keeps them (and handlers read configurations from it).
EXTENSION_POINTS = ("MEFProductConfiguration",)


def open_extension_points(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with its extension-point schemas open to further members."""
    schemas = dict(spec.get("components", {}).get("schemas", {}))
    for name in EXTENSION_POINTS:
        if name in schemas:
            schemas[name] = {**schemas[name], "additionalProperties": True}
    return {**spec, "components": {**spec.get("components", {}), "schemas": schemas}}


def generate_models(spec: dict[str, Any], target: Path) -> None:
    """Pydantic models of an API's schemas, through datamodel-code-generator."""
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "api.json"
        source.write_text(json.dumps(strip_prose(open_extension_points(spec))))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "datamodel_code_generator",
                "--input",
                str(source),
                "--input-file-type",
                "openapi",
                "--output",
                str(target),
                "--output-model-type",
                "pydantic_v2.BaseModel",
                "--target-python-version",
                "3.11",
                "--use-annotated",
                "--use-standard-collections",
                "--use-union-operator",
                "--disable-timestamp",
                "--formatters",
                "ruff-format",
                "--custom-file-header",
                "# Generated by rest_facades.mef.codegen: do not edit.",
            ],
            check=True,
            capture_output=True,
        )


def _ref_key(path: Path, root: Path) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", str(path.relative_to(root).with_suffix("")))


def bundle_product_schema(path: Path, root: Path) -> dict[str, Any]:
    """One product schema with every file it references inlined under `$defs`."""
    loaded: dict[str, Any] = {}

    def load(file: Path) -> Any:
        return strip_prose(yaml.safe_load(file.read_text()))

    def rewrite(node: Any, here: Path, key: str | None) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for name, value in node.items():
                if name == "$ref" and isinstance(value, str):
                    target, _, pointer = value.partition("#")
                    if target:
                        file = (here.parent / target).resolve()
                        file_key = _ref_key(file, root)
                        if file_key not in loaded:
                            loaded[file_key] = {}
                            loaded[file_key] = rewrite(load(file), file, file_key)
                        out[name] = f"#/$defs/{file_key}{pointer}"
                    elif key is not None:
                        out[name] = f"#/$defs/{key}{pointer}"
                    else:
                        out[name] = value
                else:
                    out[name] = rewrite(value, here, key)
            return out
        if isinstance(node, list):
            return [rewrite(item, here, key) for item in node]
        return node

    document: dict[str, Any] = rewrite(load(path), path.resolve(), None)
    if loaded:
        document["$defs"] = dict(sorted(loaded.items()))
    return document


def generate(specs: Path, output: Path) -> list[Path]:
    """Write every generated file below `output`; returns the files written."""
    written: list[Path] = []
    output.mkdir(parents=True, exist_ok=True)
    (output / "__init__.py").write_text('"""Generated from the official MEF LSO files."""\n')
    written.append(output / "__init__.py")
    registry: dict[str, str] = {}
    for flavour in FLAVOURS:
        target = output / flavour
        target.mkdir(exist_ok=True)
        (target / "__init__.py").write_text(f'"""Generated {flavour} models."""\n')
        written.append(target / "__init__.py")
        for module, path in find_api_files(specs, flavour).items():
            spec = yaml.safe_load(path.read_text())
            generate_models(spec, target / f"{module}.py")
            document = target / f"{module}.json"
            document.write_text(json.dumps(api_document(spec), indent=1, sort_keys=True) + "\n")
            written += [target / f"{module}.py", document]
        schema_root = (specs / flavour / "productSchema").resolve()
        for path in sorted(schema_root.rglob("*.yaml")):
            raw = yaml.safe_load(path.read_text())
            # Cantata and Sonata share most product schemas (same `$id`): one copy serves both.
            if not isinstance(raw, dict) or "$id" not in raw or raw["$id"] in registry:
                continue
            bundled = bundle_product_schema(path, schema_root)
            name = f"{flavour}_{_ref_key(path.resolve(), schema_root)}.json"
            schema_dir = output / "product_schemas"
            schema_dir.mkdir(exist_ok=True)
            (schema_dir / name).write_text(json.dumps(bundled, indent=1, sort_keys=True) + "\n")
            registry[raw["$id"]] = name
            written.append(schema_dir / name)
    index = output / "product_schemas" / "index.json"
    index.write_text(json.dumps(dict(sorted(registry.items())), indent=1) + "\n")
    written.append(index)
    return written


def main(argv: list[str] | None = None) -> int:
    """Entry point: regenerate into the project (or elsewhere)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--specs", type=Path, default=DEFAULT_SPECS)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if not (args.specs / "sonata").is_dir():
        print(f"no MEF specs at {args.specs}", file=sys.stderr)
        return 2
    files = generate(args.specs, args.output)
    print(f"wrote {len(files)} files to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
