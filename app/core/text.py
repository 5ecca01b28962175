"""Bounds on the text a caller gives: its length, and the characters a database can store."""

import re
from typing import Any

from sqlmodel import SQLModel

from app.core.errors import InvalidRequest

# Half of a UTF-16 pair: JSON's `"\ud800"` escape decodes to one, and no UTF-8 text holds it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def unstorable_character(text: str) -> str | None:
    """What in `text` no database stores, if anything: a NUL character (PostgreSQL refuses it)
    or a lone UTF-16 surrogate (it has no UTF-8 form)."""
    if "\x00" in text:
        return "a NUL character"
    if not text.isascii() and _SURROGATE.search(text):
        return "a lone UTF-16 surrogate"
    return None


def check_text(value: str | None, *, field: str, max_chars: int | None) -> None:
    """Refuse text longer than `max_chars` or holding a character no database stores (NUL, a
    lone surrogate), before anything reads it."""
    if value is None:
        return
    if max_chars is not None and len(value) > max_chars:
        raise InvalidRequest(
            f"{field} is {len(value)} characters long; at most {max_chars} are accepted",
            field=field,
            code="TEXT_TOO_LONG",
        )
    character = unstorable_character(value)
    if character is not None:
        raise InvalidRequest(f"{field} contains {character}", field=field, code="INVALID_CHARACTER")


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
