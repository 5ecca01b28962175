"""Conditions on the core's own fields, which list queries turn into SQL `WHERE` clauses."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, false, or_

F = TypeVar("F", bound=StrEnum)


class Op(StrEnum):
    """How a field compares with the values of a condition."""

    EQ = "eq"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"


@dataclass(frozen=True)
class Condition(Generic[F]):
    """`field` compared by `op` with any one of `values` (already of the field's type)."""

    field: F
    op: Op
    values: tuple[str | int | float | bool | datetime, ...]


def _compare(column: Any, op: Op, value: Any) -> ColumnElement[bool]:
    comparisons = {
        Op.EQ: lambda: column == value,
        Op.GT: lambda: column > value,
        Op.GTE: lambda: column >= value,
        Op.LT: lambda: column < value,
        Op.LTE: lambda: column <= value,
    }
    result: ColumnElement[bool] = comparisons[op]()
    return result


def where_clauses(
    columns: Mapping[F, Any], conditions: Sequence[Condition[F]]
) -> list[ColumnElement[bool]]:
    """One SQL clause per condition: any of its values (OR), all conditions together (AND)."""
    clauses: list[ColumnElement[bool]] = []
    for condition in conditions:
        column = columns[condition.field]
        options = [_compare(column, condition.op, value) for value in condition.values]
        clauses.append(or_(*options) if options else false())
    return clauses
