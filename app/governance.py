"""API governance: snapshots of every served API, and the changes that would break their users.

The GraphQL schema (`schema.graphql`) is compared with graphql-core's `find_breaking_changes`;
each OpenAPI document (`governance/openapi/<slug>.json`) with api-smart-diff, an npm package run
by Node.js from `governance/tools`, which classifies every change as breaking or not.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from graphql import (
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
)

from app.api_documents import api_document, served_apis
from schema.root import schema

# The snapshots name the server that `make run` serves, so they do not depend on settings.
SNAPSHOT_SERVER_URL = "http://127.0.0.1:8000"
GRAPHQL = "graphql"
DIFF_TOOL = "api-smart-diff"
# How long one run of the comparison may take before it counts as stuck.
DIFF_TIMEOUT_SECONDS = 600
UNRELEASED = re.compile(r"^## \[Unreleased\][^\n]*\n(.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)


class ChangeKind(StrEnum):
    """How a change of an API affects the clients written against its snapshot."""

    BREAKING = "breaking"
    # Could change what a client sees without breaking it: a new enum value, a new default.
    DANGEROUS = "dangerous"
    NON_BREAKING = "non-breaking"
    DEPRECATED = "deprecated"
    ANNOTATION = "annotation"
    UNCLASSIFIED = "unclassified"


@dataclass(frozen=True)
class Change:
    """One difference between an API's snapshot and what the platform serves."""

    api: str
    kind: ChangeKind
    description: str


class DiffToolMissing(RuntimeError):
    """Node.js or npm, which run the OpenAPI comparison, are not installed."""


@dataclass(frozen=True)
class Snapshots:
    """Where a checkout keeps its snapshots: `schema.graphql` and `governance/` at its root."""

    root: Path

    @property
    def graphql(self) -> Path:
        """The GraphQL schema in SDL."""
        return self.root / "schema.graphql"

    @property
    def openapi_dir(self) -> Path:
        """One OpenAPI document per served MEF and TMF API, by slug."""
        return self.root / "governance" / "openapi"

    @property
    def tools(self) -> Path:
        """The npm project of the OpenAPI comparison."""
        return self.root / "governance" / "tools"

    @property
    def changelog(self) -> Path:
        """The platform's changelog."""
        return self.root / "CHANGELOG.md"

    def openapi(self, slug: str) -> Path:
        """The snapshot of one API."""
        return self.openapi_dir / f"{slug}.json"

    def saved_openapi(self) -> dict[str, dict[str, Any]]:
        """Every OpenAPI snapshot, by slug."""
        return {
            path.stem: json.loads(path.read_text())
            for path in sorted(self.openapi_dir.glob("*.json"))
        }


def served_documents(app: FastAPI) -> dict[str, dict[str, Any]]:
    """The OpenAPI document of each API `app` serves, by slug, as the snapshots keep them."""
    return {
        api.slug: api_document(app, api, server_url=SNAPSHOT_SERVER_URL) for api in served_apis(app)
    }


def served_sdl() -> str:
    """The native GraphQL schema in SDL, as `schema.graphql` holds it."""
    return str(schema) + "\n"


def render(document: dict[str, Any]) -> str:
    """A document as its snapshot file holds it."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def graphql_changes(before_sdl: str, after_sdl: str) -> list[Change]:
    """Breaking and dangerous changes from one GraphQL schema to another, both in SDL."""
    before, after = build_schema(before_sdl), build_schema(after_sdl)
    return [
        Change(GRAPHQL, ChangeKind.BREAKING, change.description)
        for change in find_breaking_changes(before, after)
    ] + [
        Change(GRAPHQL, ChangeKind.DANGEROUS, change.description)
        for change in find_dangerous_changes(before, after)
    ]


def ensure_diff_tool(tools: Path) -> None:
    """Install the OpenAPI comparison into `tools/node_modules` unless it is there."""
    if (tools / "node_modules" / DIFF_TOOL / "package.json").is_file():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise DiffToolMissing("Node.js and npm are needed to compare OpenAPI documents")
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"],
        cwd=tools,
        check=True,
        timeout=DIFF_TIMEOUT_SECONDS,
    )


def openapi_changes(
    pairs: dict[str, tuple[dict[str, Any], dict[str, Any]]], tools: Path
) -> list[Change]:
    """The classified changes from each `(before, after)` pair of documents, by API slug."""
    # Most documents are unchanged, and comparing one costs seconds: only the others go.
    changed = {api: pair for api, pair in pairs.items() if pair[0] != pair[1]}
    if not changed:
        return []
    ensure_diff_tool(tools)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(changed, file)
    try:
        done = subprocess.run(
            ["node", str(tools / "compare.cjs"), file.name],
            check=True,
            capture_output=True,
            text=True,
            timeout=DIFF_TIMEOUT_SECONDS,
        )
    finally:
        os.unlink(file.name)
    found: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)
    return [
        Change(api, ChangeKind(diff["type"]), _located(diff))
        for api, diffs in found.items()
        for diff in diffs
    ]


def compare(snapshots: Snapshots, app: FastAPI, graphql_sdl: str) -> list[Change]:
    """Every change of what `app` and the GraphQL schema `graphql_sdl` serve against the
    snapshots; an API no longer served is a breaking change."""
    changes = []
    if snapshots.graphql.is_file():
        changes += graphql_changes(snapshots.graphql.read_text(), graphql_sdl)
    saved = snapshots.saved_openapi()
    served = served_documents(app)
    for slug in sorted(saved.keys() - served.keys()):
        changes.append(Change(slug, ChangeKind.BREAKING, "the API is no longer served"))
    for slug in sorted(served.keys() - saved.keys()):
        changes.append(Change(slug, ChangeKind.NON_BREAKING, "a new API"))
    pairs = {slug: (saved[slug], served[slug]) for slug in sorted(saved.keys() & served.keys())}
    return changes + openapi_changes(pairs, snapshots.tools)


def unlogged(changes: list[Change], changelog: str) -> list[str]:
    """The APIs with breaking changes that the changelog's `[Unreleased]` section never names."""
    found = UNRELEASED.search(changelog)
    unreleased = found.group(1) if found else ""
    broken = sorted({c.api for c in changes if c.kind is ChangeKind.BREAKING})
    return [api for api in broken if not _names(unreleased, api)]


@dataclass(frozen=True)
class Refresh:
    """What `refresh` found and did."""

    changes: list[Change]
    unlogged: list[str]
    written: list[Path]


def refresh(snapshots: Snapshots, app: FastAPI, graphql_sdl: str) -> Refresh:
    """Write the snapshots anew, unless a breaking change is missing from the changelog."""
    changes = compare(snapshots, app, graphql_sdl)
    changelog = snapshots.changelog.read_text() if snapshots.changelog.is_file() else ""
    missing = unlogged(changes, changelog)
    written = [] if missing else write(snapshots, app, graphql_sdl)
    return Refresh(changes, missing, written)


def write(snapshots: Snapshots, app: FastAPI, graphql_sdl: str) -> list[Path]:
    """Write every snapshot anew from what is served; the files that changed."""
    written = []
    wanted = {snapshots.graphql: graphql_sdl}
    wanted |= {snapshots.openapi(slug): render(doc) for slug, doc in served_documents(app).items()}
    snapshots.openapi_dir.mkdir(parents=True, exist_ok=True)
    for stale in set(snapshots.openapi_dir.glob("*.json")) - wanted.keys():
        stale.unlink()
        written.append(stale)
    for path, text in wanted.items():
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def _names(text: str, api: str) -> bool:
    if api == GRAPHQL:
        return "graphql" in text.lower()
    return re.search(rf"(?<![\w-]){re.escape(api)}(?![\w-])", text) is not None


def _located(diff: dict[str, Any]) -> str:
    """`GET /productOrder: [Removed] ...` for a change inside an operation."""
    path = diff.get("path", [])
    if len(path) >= 3 and path[0] == "paths":
        return f"{path[2].upper()} {path[1]}: {diff['description']}"
    if len(path) >= 2 and path[0] == "paths":
        return f"{path[1]}: {diff['description']}"
    return str(diff["description"])
