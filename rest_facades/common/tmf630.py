"""TM Forum TMF630 REST guidelines: attribute filters, attribute selection and merge patch.

A filter on an attribute that the core stores or derives from what it stores becomes a
`Condition` of the core's own query (each API's mapping module names those attributes with an
`Attribute`); any other filter is matched against the rendered resources of the page that was read.
"""

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from app.core.paging import Condition, Operator

F = TypeVar("F", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)

# Query parameters with a meaning of their own; every other one filters.
RESERVED = {"fields", "offset", "limit", "sort", "depth", "expand"}
OPERATORS = {"gt", "gte", "lt", "lte", "eq"}
ALWAYS_KEPT = ("id", "href", "@type")


@dataclass(frozen=True)
class Filter:
    """`path` (dotted) compared by `operator` with any of `values` (comma means OR)."""

    path: tuple[str, ...]
    operator: str
    values: tuple[str, ...]


def parse_filters(params: list[tuple[str, str]]) -> list[Filter]:
    """The filters of a query string: `a.b=x,y`, `date.gt=...`, `state=done`."""
    filters = []
    for name, value in params:
        if name in RESERVED:
            continue
        parts = name.split(".")
        operator = "eq"
        if len(parts) > 1 and parts[-1] in OPERATORS:
            operator = parts.pop()
        filters.append(Filter(tuple(parts), operator, tuple(v for v in value.split(",") if v)))
    return filters


@dataclass(frozen=True)
class Attribute(Generic[F]):
    """A TMF attribute (dotted path) that the core can filter on: its core `field`, how one
    query value becomes the field's values (ValueError for a bad one), and whether it also
    takes `.gt/.gte/.lt/.lte` (dates and numbers)."""

    field: F
    values: Callable[[str], Iterable[Any]]
    ordered: bool = False
    # For an attribute the core keeps as given in a document: where the attribute sits in it.
    # The attribute and every dotted path below it then filter (also ordered) on that document.
    document: tuple[str, ...] | None = None
    # Where else the attribute may be found (a row matches either way), e.g. kept entries
    # beside the ones the core derives.
    also: "Attribute[F] | None" = None
    # Values that every row shows at the attribute (e.g. the buyer's role, a fixed price type):
    # a filter that one of them meets (equal, or `.gt` ... for an ordered attribute) matches
    # every row, whatever the other ways the attribute has.
    constant: tuple[Any, ...] = ()
    # Where not every row shows the attribute: the (true or false) field of those that do,
    # which a filter met by a `constant` then matches, with the rows that hold the attribute
    # the other ways.
    shown: F | None = None
    # For a link to a resource (an `href`): its path below the API's origin, up to the id. A
    # value that is such a link filters as the id it ends with; any other value matches none.
    link: str | None = None


def constant(field: F, *values: Any, shown: F | None = None) -> Attribute[F]:
    """An attribute that every row (or every row of which the field `shown` is true) shows
    with one of `values` and nothing else: a filter on it is decided once, matching those
    rows or none."""
    return Attribute(field, lambda _text: (), ordered=True, constant=values, shown=shown)


def linked(field: F, base: str, resource: str) -> Attribute[F]:
    """The `href` of a resource of the API mounted at `base`, whose id is `field`."""
    return Attribute(field, as_text, link=f"{base}/{resource}/")


def in_document(field: F, *where: str) -> Attribute[F]:
    """An attribute kept as given in the document `field`, at `where` in it."""
    return Attribute(field, as_text, ordered=True, document=where)


def kept_filters(
    model: type[BaseModel], field: F, answered: Iterable[str], *, where: tuple[str, ...] = ()
) -> dict[str, Attribute[F]]:
    """Filters on the attributes of `model` that the core keeps as given, in the document
    `field` (at `where` in it): those that no `answered` filter (nor one below it) covers."""
    covered = {name.split(".")[0] for name in answered}
    names = {info.alias or name for name, info in model.model_fields.items()}
    return {name: in_document(field, *where, name) for name in sorted(names - covered)}


def _attribute(
    path: tuple[str, ...], attributes: Mapping[str, Attribute[F]]
) -> tuple[Attribute[F] | None, tuple[str, ...]]:
    """The attribute a filter's path names, and the rest of the path below a kept one."""
    found = attributes.get(".".join(path))
    if found is not None:
        return found, ()
    for length in range(len(path) - 1, 0, -1):
        found = attributes.get(".".join(path[:length]))
        if found is not None and found.document is not None:
            return found, path[length:]
    return None, ()


def answered(path: tuple[str, ...], attributes: Mapping[str, Attribute[F]]) -> bool:
    """Whether a filter on the attribute at `path` (any operator it takes) is answered in SQL."""
    return _attribute(path, attributes)[0] is not None


def conditions(
    filters: Iterable[Filter],
    attributes: Mapping[str, Attribute[F]],
    origin: str = "",
    after_page: Collection[str] = (),
) -> tuple[list[Condition[F]], list[Filter]]:
    """The filters that `attributes` maps, as core conditions, and the rest (to match after
    the page is read, as those on a path in `after_page` do); ValueError names a value that its
    attribute cannot take. `origin` is the scheme and host that links (`href`) start with."""
    mapped: list[Condition[F]] = []
    rest: list[Filter] = []
    for found in filters:
        attribute, below = _attribute(found.path, attributes)
        if ".".join(found.path) in after_page:
            attribute = None
        if attribute is None or (found.operator != "eq" and not attribute.ordered):
            rest.append(found)
        elif any(
            _compare(shown, found.operator, wanted)
            for shown in attribute.constant
            for wanted in found.values
        ):
            if attribute.shown is not None:
                # The rows that do not show it may still hold the attribute the other ways.
                other = _condition(found, attribute, below, origin)
                mapped.append(Condition(attribute.shown, Operator.EQ, (True,), either=(other,)))
        else:
            mapped.append(_condition(found, attribute, below, origin))
    return mapped, rest


def _elsewhere(
    found: Filter, attribute: Attribute[F], below: tuple[str, ...], origin: str
) -> tuple[Condition[F], ...]:
    """The condition of a filter on where else the attribute may be found (its `also`)."""
    also = attribute.also
    # An unordered alternative has no part in `.gt/.gte/.lt/.lte`.
    if also is None or (found.operator != "eq" and not also.ordered):
        return ()
    return (_condition(found, also, below, origin),)


def _condition(
    found: Filter, attribute: Attribute[F], below: tuple[str, ...], origin: str = ""
) -> Condition[F]:
    """The core condition of a filter on an attribute (and where else it may be found)."""
    operator = Operator(found.operator)
    either = _elsewhere(found, attribute, below, origin)
    if attribute.document is not None:
        path = (*attribute.document, *below)
        return Condition(attribute.field, operator, found.values, path, either)
    values: list[Any] = []
    for text in found.values:
        if attribute.link is not None:
            # A link names one resource: of another API, host or kind it names none of these.
            start = origin + attribute.link
            found_id = text.removeprefix(start)
            if not text.startswith(start) or not found_id or "/" in found_id:
                continue
            text = found_id
        try:
            values += attribute.values(text)
        except ValueError as exc:
            raise ValueError(f"{'.'.join(found.path)}: '{text}' {exc}") from exc
    return Condition(attribute.field, operator, tuple(values), (), either)


def as_text(text: str) -> tuple[str]:
    """A filter value compared as it is given (ids, names)."""
    return (text,)


def as_date_time(text: str) -> tuple[datetime]:
    """A filter value that is a date-time (a date alone is its midnight; no offset is UTC)."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        raise ValueError("is not a date-time (2026-05-01T09:00:00Z)")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError("is not a date-time (2026-05-01T09:00:00Z)") from exc
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC),)


def by_name(names: Mapping[E, str]) -> Callable[[str], tuple[E, ...]]:
    """Filter values that are the TMF names of a core enum: every member a name stands for
    (a name no member has matches nothing, as no resource carries it)."""
    return lambda text: tuple(member for member, name in names.items() if name == text)


def as_cents(text: str) -> tuple[int]:
    """A filter value that is an amount of money (`12.50`), in cents."""
    try:
        amount = Decimal(text)
        # Bounded so that the cents fit a database integer.
        if not amount.is_finite() or not -(10**12) < amount < 10**12:
            raise ArithmeticError(text)
        return (int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)),)
    except ArithmeticError as exc:
        raise ValueError("is not an amount (12.50) below a trillion") from exc


def _values_at(item: Any, path: tuple[str, ...]) -> list[Any]:
    """Every value found at a dotted path, descending into arrays."""
    if not path:
        return [item]
    if isinstance(item, list):
        return [found for element in item for found in _values_at(element, path)]
    if isinstance(item, dict) and path[0] in item:
        return _values_at(item[path[0]], path[1:])
    return []


def _as_time(text: str) -> datetime | None:
    if not re.match(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _compare(actual: Any, operator: str, wanted: str) -> bool:
    if isinstance(actual, list):
        return any(_compare(a, operator, wanted) for a in actual)
    if operator == "eq":
        if isinstance(actual, bool):
            return str(actual).lower() == wanted.lower()
        if isinstance(actual, int | float):
            try:
                return float(actual) == float(wanted)
            except ValueError:
                return False
        return str(actual) == wanted
    left: Any
    right: Any
    if isinstance(actual, int | float) and not isinstance(actual, bool):
        try:
            left, right = float(actual), float(wanted)
        except ValueError:
            return False
    else:
        left, right = _as_time(str(actual)), _as_time(wanted)
        if left is None or right is None:
            left, right = str(actual), wanted
        elif (left.tzinfo is None) != (right.tzinfo is None):
            return False
    return bool(
        {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[
            operator
        ]
    )


def matches(item: dict[str, Any], filters: list[Filter]) -> bool:
    """Whether a resource passes every filter (each filter: any value, any array element)."""
    for found_filter in filters:
        found = _values_at(item, found_filter.path)
        if not any(
            _compare(value, found_filter.operator, wanted)
            for value in found
            for wanted in found_filter.values
        ):
            return False
    return True


def select_fields(item: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Only the attributes named by `fields` (dotted paths too), plus `id`, `href`, `@type`."""
    if not fields or fields.strip() == "":
        return item
    wanted = [f.strip().split(".") for f in fields.split(",") if f.strip()]
    kept: dict[str, Any] = {k: item[k] for k in ALWAYS_KEPT if k in item}
    for path in wanted:
        _copy_path(item, kept, path)
    return kept


def _copy_path(source: Any, target: dict[str, Any], path: list[str]) -> None:
    head, rest = path[0], path[1:]
    if not isinstance(source, dict) or head not in source:
        return
    value = source[head]
    if not rest:
        target[head] = value
    elif isinstance(value, dict):
        _copy_path(value, target.setdefault(head, _identity(value)), rest)
    elif isinstance(value, list):
        parts = target.setdefault(head, [_identity(element) for element in value])
        for element, part in zip(value, parts, strict=False):
            _copy_path(element, part, rest)


def _identity(value: Any) -> dict[str, Any]:
    # A nested reference keeps what identifies it, as the top-level resource does.
    return {k: value[k] for k in ALWAYS_KEPT if isinstance(value, dict) and k in value}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge, `null` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def repeats(given: Any, current: Any) -> bool:
    """Whether a value a client sent (e.g. in a patch) says what the resource already says
    (every attribute it names, in every element of a list); date-times and numbers compare by
    value."""
    if isinstance(given, dict):
        return isinstance(current, dict) and all(
            repeats(v, current.get(k)) for k, v in given.items()
        )
    if isinstance(given, list):
        return (
            isinstance(current, list)
            and len(given) == len(current)
            and all(repeats(g, c) for g, c in zip(given, current, strict=True))
        )
    if isinstance(given, int | float) and isinstance(current, int | float):
        return float(given) == float(current)
    if isinstance(given, str) and isinstance(current, str) and given != current:
        try:
            return as_date_time(given) == as_date_time(current)
        except ValueError:
            return False
    return bool(given == current)
