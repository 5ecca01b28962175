"""Bounds on the text a caller gives: its length, and the characters a database can store."""

from typing import Any

from sqlmodel import SQLModel

from app.core.errors import InvalidRequest


def check_text(value: str | None, *, field: str, max_chars: int | None) -> None:
    """Refuse text longer than `max_chars` or holding a NUL character, before anything reads it."""
    if value is None:
        return
    if max_chars is not None and len(value) > max_chars:
        raise InvalidRequest(
            f"{field} is {len(value)} characters long; at most {max_chars} are accepted",
            field=field,
            code="TEXT_TOO_LONG",
        )
    if "\x00" in value:
        raise InvalidRequest(
            f"{field} contains a NUL character", field=field, code="INVALID_CHARACTER"
        )


def column_chars(model: type[SQLModel], name: str) -> int | None:
    """The most characters the table column behind `model.name` holds (None: no bound)."""
    column = model.__table__.columns[name]  # type: ignore[attr-defined]  # set on table models
    return column_type_chars(column.type)


def column_type_chars(column_type: Any) -> int | None:
    """The most characters a column type holds: `String(n)`, or a type stored as one (None: no
    bound, or not text)."""
    # A TypeDecorator (sqlmodel's AutoString, StrEnumType) passes attributes to its String.
    length = getattr(column_type, "length", None)
    return length if isinstance(length, int) else None
