"""Pages of a scoped statement: the rows of one window and the total behind it."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """`items` from position `offset` of `total` matching rows."""

    items: list[T]
    total: int
    offset: int


async def count(session: AsyncSession, statement: SelectOfScalar[T]) -> int:
    """How many rows a statement selects."""
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    return int((await session.exec(counted)).one())


async def fetch_page(
    session: AsyncSession,
    statement: SelectOfScalar[T],
    *,
    offset: int,
    limit: int,
    total: int | None = None,
) -> Page[T]:
    """One window of a statement's rows, with the total count (pass `total` if known)."""
    if total is None:
        total = await count(session, statement)
    if limit <= 0 or offset >= total:
        return Page([], total, offset)
    rows = (await session.exec(statement.offset(offset).limit(limit))).all()
    return Page(list(rows), total, offset)


@dataclass(frozen=True)
class Between:
    """Bounds of a time filter: strictly after `after` and strictly before `before`."""

    after: datetime | None = None
    before: datetime | None = None


def within(statement: SelectOfScalar[T], column: Any, period: Between | None) -> SelectOfScalar[T]:
    """The statement limited to rows whose `column` lies in `period` (if one is given)."""
    if period is not None and period.after is not None:
        statement = statement.where(col(column) > period.after)
    if period is not None and period.before is not None:
        statement = statement.where(col(column) < period.before)
    return statement
