"""TMF630 lists over the core's stored fields: the filters on attributes the core stores become
its SQL conditions; the page comes back with the count of the same statement."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, Optional

from fastapi import Request, Response
from pydantic import BaseModel, Field, create_model

from app.core.conditions import Condition, Op
from app.core.paging import Page
from rest_facades.common.paging import DEFAULT_LIMIT, MAX_LIMIT
from rest_facades.common.tmf630 import Filter, matches, parse_filters
from rest_facades.tmf.common import trimmed
from rest_facades.tmf.errors import TMFError, tmf_json


class Kind(Enum):
    """How a query value of a stored attribute is read."""

    TEXT = "text"
    DATE_TIME = "date-time"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Stored:
    """A TMF attribute the core stores: its core field, how its values read, and (for an
    enum) the values it can hold."""

    field: StrEnum
    kind: Kind = Kind.TEXT
    allowed: frozenset[str] | None = None


@dataclass(frozen=True)
class ListQuery:
    """A TMF630 list request: window, core conditions, the filters left to match after the
    page is read, and `fields`."""

    offset: int
    limit: int
    conditions: list[Condition[Any]]
    remaining: list[Filter]
    fields: str | None


def _value(stored: Stored, text: str, where: str) -> Any:
    if stored.kind is Kind.DATE_TIME:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise TMFError(400, "INVALID_QUERY", f"{where} takes a date-time") from exc
        if moment.tzinfo is None:
            raise TMFError(400, "INVALID_QUERY", f"{where} takes a date-time with a zone")
        return moment
    if stored.kind is Kind.BOOLEAN:
        if text.lower() not in {"true", "false"}:
            raise TMFError(400, "INVALID_QUERY", f"{where} is true or false")
        return text.lower() == "true"
    return text


def list_query(request: Request, stored: Mapping[str, Stored]) -> ListQuery:
    """The list request of a TMF630 query string, its stored attributes as core conditions."""
    try:
        offset = int(request.query_params.get("offset", "0"))
        limit = int(request.query_params.get("limit", str(DEFAULT_LIMIT)))
    except ValueError as exc:
        raise TMFError(400, "INVALID_QUERY", "offset and limit are whole numbers") from exc
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise TMFError(400, "INVALID_QUERY", f"offset >= 0 and 1 <= limit <= {MAX_LIMIT}")
    conditions: list[Condition[Any]] = []
    remaining: list[Filter] = []
    for found in parse_filters(list(request.query_params.multi_items())):
        attribute = ".".join(found.path)
        known = stored.get(attribute)
        if known is None:
            remaining.append(found)
            continue
        values = tuple(_value(known, v, attribute) for v in found.values)
        if known.allowed is not None:
            # A value the attribute can never hold matches nothing.
            values = tuple(v for v in values if v in known.allowed)
        conditions.append(Condition(known.field, Op(found.operator), values))
    return ListQuery(offset, limit, conditions, remaining, request.query_params.get("fields"))


def page_response(
    query: ListQuery, page: Page[Any], view: Callable[[Any], dict[str, Any]]
) -> Response:
    """A TMF630 list answer: the page's views (filters on attributes the core does not store
    applied to the page), trimmed to `fields`, with the count headers."""
    views = [view(item) for item in page.items]
    kept = [v for v in views if matches(v, query.remaining)]
    total = page.total - (len(views) - len(kept))
    body = [trimmed(v, query.fields) for v in kept]
    return tmf_json(body, headers={"X-Total-Count": str(total), "X-Result-Count": str(len(body))})


def merge_patch_model(model: type[BaseModel]) -> type[BaseModel]:
    """The body of a merge patch of `model`: every attribute optional, even those the official
    `<Resource>_Update` lists as required, which a patch that leaves them alone omits."""
    optional: dict[str, Any] = {
        name: (Optional[info.annotation], Field(default=None, alias=info.alias))  # noqa: UP045
        for name, info in model.model_fields.items()
        if info.is_required()
    }
    patch: type[BaseModel] = create_model(f"{model.__name__}Patch", __base__=model, **optional)
    return patch
