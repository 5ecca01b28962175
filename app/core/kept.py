"""The attributes that core rows keep as given (a JSON document such as `annotations`), also
kept value by value in rows of their own, so that lists filter on them in SQL and count exactly.

A model registers the document it keeps (`register`); every flush that creates, changes or
deletes such a row writes its values here, in the same transaction. A list condition names a
path in the document (array positions left out: a row matches if any element does)."""

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Index, Text, delete, event, false, insert, or_
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel, col, select

from app.core.db import StrEnumType
from app.core.paging import Condition, Operator, Within

# A filter deeper than this names no kept value; deeper values are not indexed.
MAX_DEPTH = 8
_PATH_CHARS = 400


class Keeper(StrEnum):
    """The kind of row whose document a value comes from."""

    OFFERING = "offering"
    SPECIFICATION = "specification"
    CATEGORY = "category"
    CATALOG = "catalog"
    PRICE = "price"
    PERSON = "person"
    ORGANIZATION = "organization"
    ACCOUNT = "account"
    BILLING_ACCOUNT = "billing_account"
    SITE = "site"
    ORDER = "order"
    ORDER_ITEM = "order_item"
    QUOTE = "quote"
    QUOTE_ITEM = "quote_item"
    QUALIFICATION = "qualification"
    QUALIFICATION_ITEM = "qualification_item"
    TICKET = "ticket"
    BILL = "bill"


class KeptValue(SQLModel, table=True):
    """One scalar of a row's kept document at its dotted `path`: `text` as JSON would write it
    without quotes (`true`, `12.5`, `abc`), `number` when it is a number."""

    __table_args__ = (
        Index("ix_keptvalue_path", "keeper", "path"),
        Index("ix_keptvalue_row", "keeper", "row_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    keeper: Keeper = Field(sa_type=StrEnumType(Keeper, 20))
    row_id: str = Field(max_length=40)
    path: str = Field(max_length=_PATH_CHARS)
    text: str = Field(sa_type=Text)
    number: float | None = None


@dataclass(frozen=True)
class _Registration:
    keeper: Keeper
    attribute: str


_REGISTERED: dict[type[Any], _Registration] = {}


def register_document(model: type[Any], keeper: Keeper, attribute: str) -> None:
    """Keep the values of `model`'s JSON `attribute` (keyed by the row's `id`) as `keeper`'s."""
    _REGISTERED[model] = _Registration(keeper, attribute)


def _scalar(value: Any) -> tuple[str, float | None]:
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if isinstance(value, int | float):
        return str(value), float(value)
    # PostgreSQL text holds no NUL character.
    return str(value).replace("\x00", ""), None


def flatten(document: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str, float | None]]:
    """Every scalar of a document with its dotted path (arrays add no step); nulls are left out."""
    if isinstance(document, dict):
        if len(path) >= MAX_DEPTH:
            return
        for key, value in document.items():
            yield from flatten(value, (*path, str(key)))
    elif isinstance(document, list):
        for element in document:
            yield from flatten(element, path)
    elif document is not None and path:
        dotted = ".".join(path)
        if len(dotted) <= _PATH_CHARS:
            yield (dotted, *_scalar(document))


def rows(keeper: Keeper, row_id: str, document: Any) -> list[dict[str, Any]]:
    """The `KeptValue` rows (as insert parameters) of one row's document."""
    return [
        {"keeper": keeper, "row_id": row_id, "path": path, "text": text, "number": number}
        for path, text, number in flatten(document)
    ]


@event.listens_for(Session, "after_flush")
def _keep_values(session: Session, _context: Any) -> None:
    """Write the kept values of the rows this flush created, changed or deleted: one DELETE per
    kind of row and one INSERT, whatever the number of rows."""
    stale: dict[Keeper, set[str]] = {}
    fresh: list[dict[str, Any]] = []
    for instance in (*session.new, *session.dirty, *session.deleted):
        registration = _REGISTERED.get(type(instance))
        if registration is None:
            continue
        state = sa_inspect(instance)
        # A row read in another transaction may have its attributes expired: its key stays.
        row_id = state.dict.get("id") or (state.identity[0] if state.identity else None)
        if row_id is None:
            continue
        is_new = instance in session.new
        if not is_new:
            if instance not in session.deleted and (
                not state.attrs[registration.attribute].history.has_changes()
            ):
                continue
            stale.setdefault(registration.keeper, set()).add(row_id)
        if instance not in session.deleted:
            fresh += rows(registration.keeper, row_id, state.dict.get(registration.attribute))
    if not stale and not fresh:
        return
    connection = session.connection()
    for keeper, ids in stale.items():
        connection.execute(
            delete(KeptValue).where(
                col(KeptValue.keeper) == keeper, col(KeptValue.row_id).in_(sorted(ids))
            )
        )
    if fresh:
        connection.execute(insert(KeptValue), fresh)


def _as_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


_ORDERED: dict[Operator, Callable[[Any, Any], ColumnElement[bool]]] = {
    Operator.GT: operator.gt,
    Operator.GTE: operator.ge,
    Operator.LT: operator.lt,
    Operator.LTE: operator.le,
}


def _matching(operator: Operator, wanted: str) -> ColumnElement[bool]:
    """Kept values that match one wanted value: equal as text (booleans in any case) or as a
    number; ordered as numbers when `wanted` is one, else as text (ISO date-times order so)."""
    number = _as_number(wanted)
    if operator is Operator.EQ:
        text = wanted.lower() if wanted.lower() in {"true", "false"} else wanted
        same = col(KeptValue.text) == text
        return or_(same, col(KeptValue.number) == number) if number is not None else same
    compare = _ORDERED[operator]
    if number is not None:
        return compare(col(KeptValue.number), number)
    return compare(col(KeptValue.text), wanted)


def document_field(keeper: Keeper, row_id: Any) -> Within:
    """A field of a list that is the document `keeper`'s rows keep: a condition on it names a
    path in the document, and matches the rows (by `row_id`) of which any value at it matches."""

    def clause(condition: Condition[Any]) -> ColumnElement[bool]:
        if not condition.path or len(condition.path) > MAX_DEPTH:
            return false()
        found = select(KeptValue.row_id).where(
            col(KeptValue.keeper) == keeper,
            col(KeptValue.path) == ".".join(condition.path),
            or_(false(), *(_matching(condition.operator, str(v)) for v in condition.values)),
        )
        matching: ColumnElement[bool] = col(row_id).in_(found)
        return matching

    return Within(clause)


def holds(document: Any, name: str) -> bool:
    """Whether a document keeps any value under its attribute `name` (as `keeps` finds)."""
    found = document.get(name) if isinstance(document, dict) else None
    return any(True for _ in flatten({name: found}))


def keeps(keeper: Keeper, row_id: Any, name: str) -> ColumnElement[bool]:
    """Whether the `keeper` row whose id is `row_id` keeps any value under the attribute `name`
    of its document, in SQL."""
    found: ColumnElement[bool] = (
        select(KeptValue.id)
        .where(
            col(KeptValue.keeper) == keeper,
            col(KeptValue.row_id) == row_id,
            or_(col(KeptValue.path) == name, col(KeptValue.path).startswith(f"{name}.")),
        )
        .exists()
    )
    return found
