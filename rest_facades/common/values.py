"""Values of REST bodies read strictly: JSON numbers, whole numbers and RFC 3339 date-times."""

import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

# RFC 3339 `date-time` (the OpenAPI `format: date-time` of both standards): a date, a time and
# an offset; `T` or a space between them, any fraction of a second.
_DATE_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)
_WHOLE = re.compile(r"^\s*\d{1,18}\s*$")
Path = tuple[str | int, ...]
# The most characters of one string of a body: names and contact details are short; notes,
# descriptions and the rest of the free text that the core keeps (much of it in JSON columns)
# are longer. An attachment's `content` is data, bounded by the size of the request alone.
NAME_CHARS = 1_000
TEXT_CHARS = 4_000
_NAME_SUFFIXES = ("name", "email", "emailaddress", "number", "phone", "phonenumber")
_UNBOUNDED = frozenset({"content"})


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(raw: bytes | str) -> Any:
    """JSON as RFC 8259 has it: `NaN`, `Infinity` and numbers beyond a float raise ValueError."""
    return json.loads(raw, parse_float=_finite, parse_constant=_no_constant)


def parse_date_time(value: Any) -> datetime:
    """An RFC 3339 date-time (with its offset) as an aware UTC datetime, or ValueError."""
    found = _DATE_TIME.match(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError("is not an ISO 8601 date-time with a time zone (2026-05-01T09:00:00Z)")
    day, time, fraction, offset = found.groups()
    offset = "+00:00" if offset in {"Z", "z"} else offset
    try:
        moment = datetime.fromisoformat(f"{day}T{time}.{(fraction or '0')[:6]:0<6}{offset}")
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError("is not a valid date-time") from exc


def whole_number(value: Any) -> int:
    """A positive whole number given as a JSON integer (or its digits), or ValueError."""
    if isinstance(value, bool):
        raise ValueError("is not a number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _WHOLE.match(value):
        value = int(value)
    if not isinstance(value, int):
        raise ValueError("is not a whole number")
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def _declared(document: Any) -> Iterator[tuple[str, bool]]:
    """(property name, declared as a date-time) for every property a schema document has."""
    if isinstance(document, dict):
        for name, schema in (document.get("properties") or {}).items():
            if isinstance(schema, dict):
                yield name, schema.get("format") == "date-time"
        for value in document.values():
            yield from _declared(value)
    elif isinstance(document, list):
        for value in document:
            yield from _declared(value)


def date_time_names(documents: Iterable[Any]) -> frozenset[str]:
    """Property names that are a date-time wherever the documents declare them."""
    date_times: set[str] = set()
    others: set[str] = set()
    for document in documents:
        for name, is_date_time in _declared(document):
            (date_times if is_date_time else others).add(name)
    return frozenset(date_times - others)


def bad_date_times(body: Any, names: frozenset[str], path: Path = ()) -> list[tuple[Path, str]]:
    """Where a body holds an attribute named in `names` that is not a date-time, and why;
    `null` counts as absent."""
    found: list[tuple[Path, str]] = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key in names and value is not None:
                try:
                    parse_date_time(value)
                except ValueError as exc:
                    found.append(((*path, key), str(exc)))
            else:
                found += bad_date_times(value, names, (*path, key))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            found += bad_date_times(value, names, (*path, index))
    return found


def dotted(path: Path) -> str:
    """A path as `productOrderItem[0].requestedCompletionDate`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def _most_chars(key: str | int) -> int | None:
    if not isinstance(key, str):
        return TEXT_CHARS
    if key in _UNBOUNDED:
        return None
    return NAME_CHARS if key.lower().endswith(_NAME_SUFFIXES) else TEXT_CHARS


def overlong_texts(body: Any, path: Path = ()) -> list[tuple[Path, str]]:
    """Where a body holds a string longer than its bound (`NAME_CHARS` for names, emails and
    numbers, `TEXT_CHARS` for other text), and why."""
    found: list[tuple[Path, str]] = []
    entries: Iterable[tuple[str | int, Any]] = ()
    if isinstance(body, dict):
        entries = body.items()
    elif isinstance(body, list):
        entries = enumerate(body)
    for key, value in entries:
        if isinstance(value, str):
            # Array elements take the bound of the attribute that holds the array.
            most = _most_chars(path[-1] if isinstance(key, int) and path else key)
            if most is not None and len(value) > most:
                found.append(
                    ((*path, key), f"is {len(value)} characters long; at most {most} are accepted")
                )
        else:
            found += overlong_texts(value, (*path, key))
    return found
