"""Times read back as the instants stored, always in UTC and aware of it: those the platform
wrote, and text that another writer left in SQLite in another ISO 8601 shape."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.dialects import sqlite

from app.core.db import Database, UTCDateTime
from tests.core.scratch import scratch_database

pytestmark = pytest.mark.once

metadata = MetaData()
moments = Table(
    "moment",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=True),
)


async def _read(database: Database) -> dict[int, datetime | None]:
    async with database.engine.connect() as connection:
        return {row.id: row.at for row in await connection.execute(select(moments))}


async def test_stored_instants_read_back_in_utc(tmp_path: Path) -> None:
    database = await scratch_database(tmp_path / "times.db", metadata)
    stored = [
        datetime(2026, 11, 30, 12, 34, 56, 123456, tzinfo=UTC),
        datetime(2026, 11, 30, 12, 34, 56, tzinfo=UTC),
        # Another zone is stored as the same instant, and read back in UTC.
        datetime(2026, 12, 1, 3, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        None,
    ]
    async with database.engine.begin() as connection:
        await connection.execute(
            insert(moments), [{"id": i, "at": at} for i, at in enumerate(stored)]
        )
    read = await _read(database)
    await database.dispose()
    assert [read[i] for i in range(len(stored))] == stored
    assert {at.tzinfo for at in read.values() if at is not None} == {UTC}


async def test_text_in_other_iso_shapes_reads_as_utc(tmp_path: Path) -> None:
    database = await scratch_database(tmp_path / "times.db", metadata)
    async with database.engine.begin() as connection:
        for i, written in enumerate(
            ["2026-11-30 12:34:56", "2026-11-30 12:34:56.5", "2026-11-30T12:34:56.000001"]
        ):
            await connection.execute(
                text("INSERT INTO moment (id, at) VALUES (:id, :at)"), {"id": i, "at": written}
            )
    read = await _read(database)
    await database.dispose()
    assert read == {
        0: datetime(2026, 11, 30, 12, 34, 56, tzinfo=UTC),
        1: datetime(2026, 11, 30, 12, 34, 56, 500000, tzinfo=UTC),
        2: datetime(2026, 11, 30, 12, 34, 56, 1, tzinfo=UTC),
    }
    assert {at.tzinfo for at in read.values() if at is not None} == {UTC}


# Hypothesis takes naive bounds and draws the zone apart; the first day is left out, where UTC
# may not reach back from a zone ahead of it.
EARLIEST = datetime.min + timedelta(days=1)  # noqa: DTZ901


@settings(max_examples=60, deadline=None)
@given(st.datetimes(timezones=st.just(UTC), min_value=EARLIEST, allow_imaginary=False))
def test_any_instant_round_trips_through_sqlite_text(at: datetime) -> None:
    column = UTCDateTime()
    dialect = sqlite.dialect()
    write = column.bind_processor(dialect)
    read = column.result_processor(dialect, None)
    stored = write(at) if write is not None else at
    assert read(stored) == at
    assert read(stored).tzinfo is UTC
