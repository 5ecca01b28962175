"""The Alembic migrations build exactly the schema that the models describe."""

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.core.db import sync_url
from app.core.migrate import render_item, upgrade
from app.core.tables import metadata


def _differences(url: str) -> list[Any]:
    engine = create_engine(sync_url(url))
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_item": render_item}
        )
        diffs = compare_metadata(context, metadata)
    engine.dispose()
    return list(diffs)


def test_migrations_build_the_models_schema_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    assert _differences(url) == []
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
    engine.dispose()


def test_migrations_build_the_models_schema_on_postgresql(postgres_schema: str | None) -> None:
    if not postgres_schema:
        pytest.skip("LUMEN_TEST_DATABASE_URL names no PostgreSQL server")
    assert _differences(postgres_schema) == []
