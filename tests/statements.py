"""What proves that a list's cost does not grow with its table: counting the SQL statements
of a call, and seeding many rows with one bulk insert."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, insert
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.db import Database


@contextmanager
def counting(database: Database) -> Iterator[list[str]]:
    """Every SQL statement the database runs inside the block."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


@contextmanager
def committing(database: Database) -> Iterator[list[str]]:
    """One entry per transaction the database commits inside the block."""
    commits: list[str] = []

    def record(connection: Any) -> None:
        commits.append("COMMIT")

    event.listen(database.engine.sync_engine, "commit", record)
    try:
        yield commits
    finally:
        event.remove(database.engine.sync_engine, "commit", record)


async def copies(
    session: AsyncSession,
    row: SQLModel,
    count: int,
    vary: Callable[[int], dict[str, Any]],
) -> None:
    """`count` copies of a stored row in one INSERT, copy `n` changed by `vary(n)` (which
    must give at least a new primary key)."""
    table = type(row).__table__  # type: ignore[attr-defined]  # SQLModel tables have one
    values = {column.key: getattr(row, column.key) for column in table.columns}
    await session.exec(insert(table), params=[values | vary(n) for n in range(count)])
    await session.commit()


async def kept_copies(
    session: AsyncSession,
    row: SQLModel,
    count: int,
    vary: Callable[[int], dict[str, Any]],
) -> None:
    """`count` copies of a stored row added through the ORM, so that the attributes they keep
    as given are kept value by value too (see `app.core.kept`); copy `n` changed by `vary(n)`."""
    model = type(row)
    table = model.__table__  # type: ignore[attr-defined]  # SQLModel tables have one
    values = {column.key: getattr(row, column.key) for column in table.columns}
    session.add_all([model(**(values | vary(n))) for n in range(count)])
    await session.commit()
