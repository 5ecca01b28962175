"""JSON columns read back exactly what was stored, the values orjson refuses included, and a
session that ends uncommitted leaves nothing behind."""

import math
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert, select

from tests.core.scratch import scratch_database

pytestmark = pytest.mark.once

metadata = MetaData()
documents = Table(
    "document",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("body", JSON, nullable=False),
)

BODIES: list[Any] = [
    {"name": "Zürich, 東京", "bandwidth": [100, 1000], "nested": {"ok": True, "none": None}},
    {"ratio": 0.1, "tiny": 5e-324, "big": 1.7976931348623157e308},
    {"beyond 64 bits": 2**70, "negative": -(2**65)},
    [1, "two", 3.0],
    "just text",
]


async def test_json_values_read_back_as_stored(tmp_path: Path) -> None:
    database = await scratch_database(tmp_path / "json.db", metadata)
    rows = [{"id": i, "body": body} for i, body in enumerate(BODIES)]
    async with database.engine.begin() as connection:
        await connection.execute(insert(documents), rows)
        await connection.execute(insert(documents), [{"id": 99, "body": {"x": math.nan}}])
    async with database.engine.connect() as connection:
        read = {row.id: row.body for row in await connection.execute(select(documents))}
    await database.dispose()
    assert [read[i] for i in range(len(BODIES))] == BODIES
    # NaN is not JSON, but the standard library writes and reads it: it still reads back.
    assert math.isnan(read[99]["x"])


async def test_a_session_that_ends_uncommitted_leaves_nothing(tmp_path: Path) -> None:
    database = await scratch_database(tmp_path / "json.db", metadata)
    async with database.session() as session:
        await (await session.connection()).execute(insert(documents), [{"id": 1, "body": {}}])
    async with database.session() as session:
        connection = await session.connection()
        assert (await connection.execute(select(documents))).all() == []
    await database.dispose()
