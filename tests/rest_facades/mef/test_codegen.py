"""The committed MEF models and schemas are what the official files generate today."""

import ast
from pathlib import Path

import pytest

from rest_facades.mef.codegen import DEFAULT_OUTPUT, DEFAULT_SPECS, generate

pytestmark = pytest.mark.once

# Only the drift tests need the official files; the checks of the committed files do not.
requires_specs = pytest.mark.skipif(
    not (DEFAULT_SPECS / "sonata").is_dir(),
    reason=f"the official MEF files are not at {DEFAULT_SPECS} (a clone without ../shared)",
)


def _same(generated: Path, committed: Path) -> bool:
    if generated.suffix == ".py":
        # Formatting may differ between formatter versions; the code may not.
        return ast.dump(ast.parse(generated.read_text())) == ast.dump(
            ast.parse(committed.read_text())
        )
    return generated.read_bytes() == committed.read_bytes()


@requires_specs
def test_regenerating_from_the_official_files_changes_nothing(tmp_path: Path) -> None:
    written = generate(DEFAULT_SPECS, tmp_path)
    fresh = {p.relative_to(tmp_path) for p in written}
    committed = {
        p.relative_to(DEFAULT_OUTPUT)
        for p in DEFAULT_OUTPUT.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert fresh == committed, "run `python -m rest_facades.mef.codegen` and commit the result"
    drifted = sorted(str(p) for p in fresh if not _same(tmp_path / p, DEFAULT_OUTPUT / p))
    assert drifted == [], "run `python -m rest_facades.mef.codegen` and commit the result"


def test_no_prose_is_copied_from_the_specs() -> None:
    for path in DEFAULT_OUTPUT.rglob("*"):
        if path.suffix in {".json", ".py"}:
            text = path.read_text()
            # A property may be called `description`; a description text may not be kept.
            assert '"description": "' not in text, path
            assert "description=" not in text, path


def test_both_flavours_share_one_model_per_api() -> None:
    # Handlers of both mounts are typed with the Sonata module (see rest_facades/mef/flavours.py).
    sonata = {p.name for p in (DEFAULT_OUTPUT / "sonata").glob("*.py") if p.stem != "__init__"}
    cantata = {p.name for p in (DEFAULT_OUTPUT / "cantata").glob("*.py") if p.stem != "__init__"}
    assert sonata == cantata
    differing = [
        name
        for name in sorted(sonata)
        if not _same(DEFAULT_OUTPUT / "sonata" / name, DEFAULT_OUTPUT / "cantata" / name)
    ]
    assert differing == [], "these APIs need a handler per flavour"
