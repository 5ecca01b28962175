"""Pages of a scoped statement: the rows of one window and the total behind it, and the
conditions on an entity's own fields that narrow the statement first."""

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import Boolean, ColumnElement, Float, Integer, String, false, func, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core.db import UTCDateTime

T = TypeVar("T")
F = TypeVar("F", bound=StrEnum)


@dataclass
class Page(Generic[T]):
    """`items` from position `offset` of `total` matching rows."""

    items: list[T]
    total: int
    offset: int


class Operator(StrEnum):
    """How a condition compares a field with its values."""

    EQ = "eq"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"


_COMPARE: dict[Operator, Callable[[Any, Any], Any]] = {
    Operator.EQ: operator.eq,
    Operator.GT: operator.gt,
    Operator.GTE: operator.ge,
    Operator.LT: operator.lt,
    Operator.LTE: operator.le,
}


@dataclass(frozen=True)
class Condition(Generic[F]):
    """A filterable `field` of an entity compared by `operator` with any of `values` (no
    value matches no row). Values are of the field's own type (a state, a datetime, an id)."""

    field: F
    operator: Operator
    values: tuple[Any, ...]
    # Where the field is a document the entity keeps as given: the dotted path within it.
    path: tuple[str, ...] = ()
    # Other conditions that a row may meet instead (the same attribute, stored elsewhere).
    either: tuple["Condition[F]", ...] = ()


@dataclass(frozen=True)
class Within:
    """A field that is a document kept as given: `clause` is the SQL of a condition on a path
    in it (see `app.core.kept.document_field`)."""

    clause: Callable[[Condition[Any]], ColumnElement[bool]]


def compared(column: Any, condition: Condition[Any]) -> ColumnElement[bool]:
    """Whether a column matches any of a condition's values (no value matches no row)."""
    compare = _COMPARE[condition.operator]
    return or_(false(), *(compare(column, value) for value in condition.values))


def _clause(
    columns: Mapping[F, ColumnElement[Any] | Mapped[Any] | Within], condition: Condition[F]
) -> ColumnElement[bool]:
    column = columns[condition.field]
    if isinstance(column, Within):
        found = column.clause(condition)
    else:
        found = compared(column, condition)
    if condition.either:
        return or_(found, *(_clause(columns, other) for other in condition.either))
    return found


def via(
    key: Any,
    link: Any,
    column: Any,
    *,
    joined: tuple[tuple[Any, Any], ...] = (),
    only: Any = None,
) -> Within:
    """A field of related rows: a row matches if its `key` is the `link` of a related row
    whose `column` matches (e.g. orders by the offerings of their items); `joined` are the
    (table, on clause) joins that lead from the `link`'s table to the `column`'s, `only` what
    else a related row must meet."""

    def clause(condition: Condition[Any]) -> ColumnElement[bool]:
        own = Condition(condition.field, condition.operator, condition.values, condition.path)
        related = select(link)
        for table, on in joined:
            related = related.join(table, on)
        if only is not None:
            related = related.where(only)
        found: ColumnElement[bool] = col(key).in_(
            related.where(_clause({condition.field: column}, own))
        )
        return found

    return Within(clause)


def either_column(*columns: Any) -> Within:
    """A field that is any of several columns: a row matches if one of them does."""

    def clause(condition: Condition[Any]) -> ColumnElement[bool]:
        found: ColumnElement[bool] = or_(*(compared(column, condition) for column in columns))
        return found

    return Within(clause)


class _ListHas(FunctionElement[bool]):
    """Whether a JSON array column holds an element that reads as a text (SQLite, PostgreSQL)."""

    type = Boolean()
    inherit_cache = True


@compiles(_ListHas)
def _list_has_sqlite(element: _ListHas, compiler: SQLCompiler, **kw: Any) -> str:
    column, text = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM json_each({column}) AS listed "
        f"WHERE CAST(listed.value AS TEXT) = {text})"
    )


@compiles(_ListHas, "postgresql")
def _list_has_postgresql(element: _ListHas, compiler: SQLCompiler, **kw: Any) -> str:
    column, text = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM json_array_elements_text({column}) AS listed(v) WHERE v = {text})"
    )


def in_list(column: Any) -> Within:
    """A field that is a JSON array of scalars a row keeps: a row matches if any element does
    (equality, as text)."""

    def clause(condition: Condition[Any]) -> ColumnElement[bool]:
        found: ColumnElement[bool] = or_(
            false(), *(_ListHas(column, str(value)) for value in condition.values)
        )
        return found

    return Within(clause)


class _MonthAfter(FunctionElement[datetime]):
    """Midnight UTC on the first day of the month after a moment's (SQLite, PostgreSQL)."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(_MonthAfter)
def _month_after_sqlite(element: _MonthAfter, compiler: SQLCompiler, **kw: Any) -> str:
    [moment] = (compiler.process(c, **kw) for c in element.clauses)
    # In the form SQLite's moments are stored in, so that they compare as text.
    return f"(date({moment}, 'start of month', '+1 month') || ' 00:00:00.000000')"


@compiles(_MonthAfter, "postgresql")
def _month_after_postgresql(element: _MonthAfter, compiler: SQLCompiler, **kw: Any) -> str:
    [moment] = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"((date_trunc('month', {moment} AT TIME ZONE 'UTC') + interval '1 month') "
        "AT TIME ZONE 'UTC')"
    )


def month_after(column: Any) -> ColumnElement[datetime]:
    """The first moment of the month after a moment column's, as a column to compare."""
    return _MonthAfter(column)


class _DaysAfter(FunctionElement[datetime]):
    """A moment a whole number of days (of 24 hours) after a moment (SQLite, PostgreSQL)."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(_DaysAfter)
def _days_after_sqlite(element: _DaysAfter, compiler: SQLCompiler, **kw: Any) -> str:
    moment, days = (compiler.process(c, **kw) for c in element.clauses)
    # In the form SQLite's moments are stored in (with their microseconds), so that they
    # compare as text.
    return f"(datetime({moment}, ({days}) || ' days') || substr({moment}, 20))"


@compiles(_DaysAfter, "postgresql")
def _days_after_postgresql(element: _DaysAfter, compiler: SQLCompiler, **kw: Any) -> str:
    moment, days = (compiler.process(c, **kw) for c in element.clauses)
    return f"((({moment} AT TIME ZONE 'UTC') + ({days}) * interval '1 day') AT TIME ZONE 'UTC')"


def days_after(moment: Any, days: Any) -> ColumnElement[datetime]:
    """The moment `days` (a column or a number) days after a moment column, as a column to
    compare."""
    return _DaysAfter(moment, days)


class _EntryText(FunctionElement[str]):
    """The text at a key of the object `any_entry` looks at (null where it holds no text)."""

    type = String()
    inherit_cache = True


@compiles(_EntryText)
def _entry_text_sqlite(element: _EntryText, compiler: SQLCompiler, **kw: Any) -> str:
    [key] = (compiler.process(c, **kw) for c in element.clauses)
    path = f"'$.' || {key}"
    return (
        f"(CASE WHEN json_type(listed.value, {path}) = 'text' "
        f"THEN json_extract(listed.value, {path}) END)"
    )


@compiles(_EntryText, "postgresql")
def _entry_text_postgresql(element: _EntryText, compiler: SQLCompiler, **kw: Any) -> str:
    [key] = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CASE WHEN json_typeof(listed.v -> {key}) = 'string' THEN listed.v ->> {key} END)"


class _EntryNumber(FunctionElement[float]):
    """The number at a key of the object `any_entry` looks at (null where it holds none)."""

    type = Float()
    inherit_cache = True


@compiles(_EntryNumber)
def _entry_number_sqlite(element: _EntryNumber, compiler: SQLCompiler, **kw: Any) -> str:
    [key] = (compiler.process(c, **kw) for c in element.clauses)
    path = f"'$.' || {key}"
    return (
        f"(CASE WHEN json_type(listed.value, {path}) IN ('integer', 'real') "
        f"THEN json_extract(listed.value, {path}) END)"
    )


@compiles(_EntryNumber, "postgresql")
def _entry_number_postgresql(element: _EntryNumber, compiler: SQLCompiler, **kw: Any) -> str:
    [key] = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"(CASE WHEN json_typeof(listed.v -> {key}) = 'number' "
        f"THEN CAST(listed.v ->> {key} AS double precision) END)"
    )


class _EntryPosition(FunctionElement[int]):
    """The position (from 1) in its array of the object `any_entry` looks at."""

    type = Integer()
    inherit_cache = True


@compiles(_EntryPosition)
def _entry_position_sqlite(element: _EntryPosition, compiler: SQLCompiler, **kw: Any) -> str:
    return "(listed.key + 1)"


@compiles(_EntryPosition, "postgresql")
def _entry_position_postgresql(element: _EntryPosition, compiler: SQLCompiler, **kw: Any) -> str:
    return "listed.n"


class _AnyEntry(FunctionElement[bool]):
    """Whether a JSON array column holds an object that meets a test (SQLite, PostgreSQL)."""

    type = Boolean()
    inherit_cache = True


@compiles(_AnyEntry)
def _any_entry_sqlite(element: _AnyEntry, compiler: SQLCompiler, **kw: Any) -> str:
    column, test = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM json_each({column}) AS listed "
        f"WHERE listed.type = 'object' AND {test})"
    )


@compiles(_AnyEntry, "postgresql")
def _any_entry_postgresql(element: _AnyEntry, compiler: SQLCompiler, **kw: Any) -> str:
    column, test = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM json_array_elements({column}) WITH ORDINALITY AS listed(v, n) "
        f"WHERE json_typeof(listed.v) = 'object' AND {test})"
    )


@dataclass(frozen=True)
class Entry:
    """What `any_entry` tests of one object of a JSON array."""

    def text(self, key: str) -> ColumnElement[str]:
        """The text at `key` (null where there is none)."""
        return _EntryText(literal(key))

    def number(self, key: str) -> ColumnElement[float]:
        """The number at `key` (null where there is none)."""
        return _EntryNumber(literal(key))

    def position(self) -> ColumnElement[int]:
        """Its position in the array, from 1."""
        return _EntryPosition()


def any_entry(column: Any, test: Callable[[Entry], ColumnElement[bool]]) -> ColumnElement[bool]:
    """Whether a JSON array column holds an object that meets `test`."""
    return _AnyEntry(column, test(Entry()))


def list_length(column: Any) -> ColumnElement[int]:
    """The number of elements of a JSON array column (SQLite, PostgreSQL)."""
    length: ColumnElement[int] = func.json_array_length(column)
    return length


def where(
    columns: Mapping[F, ColumnElement[Any] | Mapped[Any] | Within],
    conditions: Iterable[Condition[F]],
) -> list[ColumnElement[bool]]:
    """The SQL of conditions on the fields that `columns` maps to an entity's columns (or to
    the documents it keeps)."""
    return [_clause(columns, condition) for condition in conditions]


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


async def fetch_window(
    session: AsyncSession, statement: SelectOfScalar[T], *, offset: int, limit: int
) -> tuple[list[T], bool]:
    """Up to `limit` rows of a statement from `offset`, and whether more follow, without
    counting them all: one row past the window tells."""
    rows = list((await session.exec(statement.offset(offset).limit(limit + 1))).all())
    return rows[:limit], len(rows) > limit


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
