"""Every served API against its snapshot: a breaking change fails unless the snapshot and the
changelog record it."""

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from app.cli import main
from app.governance import (
    ChangeKind,
    Snapshots,
    compare,
    graphql_changes,
    openapi_changes,
    refresh,
    render,
    served_documents,
    served_sdl,
)
from tests.governance.conftest import ROOT

pytestmark = pytest.mark.once

# The smallest served document keeps Node's comparison quick.
SAMPLE = "tmf674-geographic-site"
KEEP_A_CHANGELOG_SECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_no_served_api_breaks_its_snapshot(served_app: FastAPI, diff_tool: Path) -> None:
    changes = compare(Snapshots(ROOT), served_app, served_sdl())
    breaking = [f"{c.api}: {c.description}" for c in changes if c.kind is ChangeKind.BREAKING]
    assert not breaking, (
        "breaking changes against the snapshots:\n  "
        + "\n  ".join(breaking)
        + "\nRestore compatibility, or name each API in the '## [Unreleased]' section of "
        "CHANGELOG.md and run `lumen snapshot` (see docs/versioning.md)."
    )
    unsnapshotted = [c.api for c in changes if c.description == "a new API"]
    assert not unsnapshotted, (
        f"served APIs without a snapshot (run `lumen snapshot`): {unsnapshotted}"
    )


def _sample(served_app: FastAPI) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render(served_documents(served_app)[SAMPLE]))
    return document


def test_openapi_breaking_changes_are_detected(served_app: FastAPI, diff_tool: Path) -> None:
    before = _sample(served_app)
    operation_removed = copy.deepcopy(before)
    del operation_removed["paths"]["/geographicSite/{id}"]["get"]
    parameter_required = copy.deepcopy(before)
    parameter_required["paths"]["/geographicSite"]["get"]["parameters"].append(
        {"name": "region", "in": "query", "required": True, "schema": {"type": "string"}}
    )
    pairs = {"removed": (before, operation_removed), "required": (before, parameter_required)}

    changes = openapi_changes(pairs, diff_tool)

    breaking = {c.api: c.description for c in changes if c.kind is ChangeKind.BREAKING}
    assert breaking.keys() == {"removed", "required"}
    assert "GET /geographicSite/{id}" in breaking["removed"]
    assert "region" in breaking["required"]


def test_an_added_field_is_accepted(served_app: FastAPI, diff_tool: Path) -> None:
    before = _sample(served_app)
    after = copy.deepcopy(before)
    after["components"]["schemas"]["GeographicSite"]["properties"]["elevation"] = {"type": "number"}
    after["paths"]["/geographicSite"]["get"]["parameters"].append(
        {"name": "region", "in": "query", "required": False, "schema": {"type": "string"}}
    )

    changes = openapi_changes({SAMPLE: (before, after)}, diff_tool)

    assert changes, "the comparison saw no change"
    assert {c.kind for c in changes} <= {ChangeKind.NON_BREAKING, ChangeKind.ANNOTATION}


def test_graphql_breaking_changes_are_detected_and_additions_accepted() -> None:
    before = served_sdl()
    removed = re.sub(r"\n  entityId: String!", "", before, count=1)
    added = before.replace("type Event {", "type Event {\n  region: String", 1)

    assert [(c.kind, c.description) for c in graphql_changes(before, removed)] == [
        (ChangeKind.BREAKING, "Field Event.entityId was removed.")
    ]
    assert graphql_changes(before, added) == []


def _checkout(tmp_path: Path) -> Snapshots:
    """A copy of the snapshots that a test may change."""
    shutil.copy(ROOT / "schema.graphql", tmp_path / "schema.graphql")
    shutil.copytree(ROOT / "governance" / "openapi", tmp_path / "governance" / "openapi")
    (tmp_path / "governance" / "tools").symlink_to(ROOT / "governance" / "tools")
    return Snapshots(tmp_path)


def test_a_breaking_change_is_snapshotted_only_with_a_changelog_entry(
    tmp_path: Path, served_app: FastAPI, diff_tool: Path
) -> None:
    snapshots = _checkout(tmp_path)
    # The snapshot promises an operation that is no longer served.
    saved = json.loads(snapshots.openapi(SAMPLE).read_text())
    saved["paths"]["/geographicSite/{id}/history"] = saved["paths"]["/geographicSite/{id}"]
    promised = render(saved)
    snapshots.openapi(SAMPLE).write_text(promised)
    snapshots.changelog.write_text("# Changelog\n\n## [Unreleased]\n\n### Added\n- Nothing.\n")

    refused = refresh(snapshots, served_app, served_sdl())

    assert refused.unlogged == [SAMPLE]
    assert refused.written == []
    assert snapshots.openapi(SAMPLE).read_text() == promised

    snapshots.changelog.write_text(
        "# Changelog\n\n## [Unreleased]\n\n### Removed\n"
        f"- {SAMPLE}: `GET /geographicSite/{{id}}/history`, never served.\n"
    )
    accepted = refresh(snapshots, served_app, served_sdl())

    assert accepted.unlogged == []
    assert snapshots.openapi(SAMPLE) in accepted.written
    assert "/geographicSite/{id}/history" not in snapshots.openapi(SAMPLE).read_text()


def test_the_changelog_keeps_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^(#{1,3}) (.+)$", text, re.MULTILINE)
    assert headings[0] == ("#", "Changelog")
    releases = [title for level, title in headings if level == "##"]
    assert releases[0] == "[Unreleased]"
    for title in releases[1:]:
        assert re.fullmatch(r"\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", title), title
    sections = {title for level, title in headings if level == "###"}
    assert sections <= KEEP_A_CHANGELOG_SECTIONS


def test_lumen_snapshot_names_the_unlogged_breaking_change(
    tmp_path: Path, diff_tool: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshots = _checkout(tmp_path)
    saved = json.loads(snapshots.openapi(SAMPLE).read_text())
    saved["paths"]["/geographicSite/{id}/history"] = saved["paths"]["/geographicSite/{id}"]
    snapshots.openapi(SAMPLE).write_text(render(saved))

    code = main(["snapshot", "--root", str(tmp_path)])

    captured = capsys.readouterr()
    assert code == 2
    assert f"{SAMPLE}: breaking: GET /geographicSite/{{id}}/history" in captured.out
    assert f"breaking changes in {SAMPLE}: name each" in captured.err
