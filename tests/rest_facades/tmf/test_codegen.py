"""The committed TMF models and definitions are what the official v4 files generate today."""

import ast
import json
from pathlib import Path

import pytest

from rest_facades.tmf.codegen import APIS, DEFAULT_OUTPUT, DEFAULT_SPECS, find_api_files, generate

pytestmark = pytest.mark.once

# Only the drift tests need the official files; the checks of the committed files do not.
requires_specs = pytest.mark.skipif(
    not DEFAULT_SPECS.is_dir(),
    reason=f"the official TM Forum files are not at {DEFAULT_SPECS} (a clone without ../shared)",
)


def _same(generated: Path, committed: Path) -> bool:
    if generated.suffix == ".py":
        # Formatting may differ between formatter versions; the code may not.
        return ast.dump(ast.parse(generated.read_text())) == ast.dump(
            ast.parse(committed.read_text())
        )
    return generated.read_bytes() == committed.read_bytes()


@requires_specs
def test_every_api_served_has_its_v4_file() -> None:
    assert sorted(find_api_files(DEFAULT_SPECS)) == sorted(APIS.values())


@requires_specs
def test_regenerating_from_the_official_files_changes_nothing(tmp_path: Path) -> None:
    written = generate(DEFAULT_SPECS, tmp_path)
    fresh = {p.relative_to(tmp_path) for p in written}
    committed = {
        p.relative_to(DEFAULT_OUTPUT)
        for p in DEFAULT_OUTPUT.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert fresh == committed, "run `python -m rest_facades.tmf.codegen` and commit the result"
    drifted = sorted(str(p) for p in fresh if not _same(tmp_path / p, DEFAULT_OUTPUT / p))
    assert drifted == [], "run `python -m rest_facades.tmf.codegen` and commit the result"


def test_no_prose_is_copied_from_the_specs() -> None:
    for path in DEFAULT_OUTPUT.rglob("*"):
        if path.suffix in {".json", ".py"}:
            text = path.read_text()
            # A property may be called `description`; a description text may not be kept.
            assert '"description": "' not in text, path
            assert "description=" not in text, path


def test_documents_carry_version_base_path_definitions_and_operations() -> None:
    for module in APIS.values():
        document = json.loads((DEFAULT_OUTPUT / f"{module}.json").read_text())
        assert sorted(document) == ["basePath", "definitions", "paths", "version"], module
        assert document["version"].startswith("4."), module
        assert document["basePath"].startswith("/tmf-api/"), module
        assert document["basePath"].endswith("/v4/"), module
        assert document["definitions"], module
        assert document["paths"], module
