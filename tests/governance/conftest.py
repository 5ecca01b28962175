"""The application whose OpenAPI description the governance tests cut and compare, built once:
FastAPI takes seconds to describe every route."""

import os
from pathlib import Path

import pytest
from fastapi import FastAPI

from app import governance
from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def served_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The platform as `make run` serves it; no request reaches its database."""
    database = tmp_path_factory.mktemp("served") / "lumen.db"
    return create_app(Settings(database_url=f"sqlite:///{database}"), run_workers=False)


@pytest.fixture(scope="session")
def diff_tool() -> Path:
    """The OpenAPI comparison, installed if missing; without Node.js it skips, except in CI."""
    tools = governance.Snapshots(ROOT).tools
    try:
        governance.ensure_diff_tool(tools)
    except governance.DiffToolMissing as missing:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{missing}: install Node.js to run the OpenAPI comparison")
    return tools
