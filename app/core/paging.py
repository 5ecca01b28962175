"""Pages of a scoped statement: the rows of one window and the total behind it, and the
conditions on an entity's own fields that narrow the statement first."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, false, func, or_
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")
F = TypeVar("F", bound=StrEnum)


@dataclass
class Page(Generic[T]):
    """`items` from position `offset` of `total` matching rows."""

    items: list[T]
    total: int
    offset: int


class Op(StrEnum):
    """How a field is compared with a value."""

    EQ = "eq"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"


@dataclass(frozen=True)
class Condition(Generic[F]):
    """`field` compared by `op` with any one of `values` (values of the field's own type)."""

    field: F
    op: Op
    values: tuple[Any, ...]


def _compared(column: Any, op: Op, value: Any) -> ColumnElement[bool]:
    if op is Op.EQ:
        return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]
    compared: ColumnElement[bool] = {
        Op.GT: column > value,
        Op.GTE: column >= value,
        Op.LT: column < value,
        Op.LTE: column <= value,
    }[op]
    return compared


def filtered(
    statement: SelectOfScalar[T], columns: Mapping[F, Any], conditions: Iterable[Condition[F]]
) -> SelectOfScalar[T]:
    """The statement narrowed to rows that meet every condition (each: any of its values)."""
    for condition in conditions:
        column = columns[condition.field]
        compared = [_compared(column, condition.op, value) for value in condition.values]
        statement = statement.where(or_(*compared) if compared else false())
    return statement


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
