"""What every TMF API shares: absolute hrefs, ISO dates, TMF630 lists and JSON bodies."""

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response

from app.core.catalog import ClassOfService
from app.core.paging import Condition
from app.core.parties import Channel
from app.deps import CurrentPrincipal, public_base_url
from rest_facades.common.paging import DEFAULT_LIMIT, MAX_LIMIT, json_array, views_of
from rest_facades.common.tmf630 import (
    Attribute,
    Filter,
    as_text,
    conditions,
    in_document,
    matches,
    parse_filters,
    select_fields,
)
from rest_facades.common.values import (
    bad_date_times,
    date_time_names,
    dotted,
    loads,
    overlong_texts,
    whole_number,
)
from rest_facades.tmf.errors import MEDIA_TYPE, TMFError, tmf_json

_GENERATED = "rest_facades.tmf.generated"
F = TypeVar("F", bound=StrEnum)


def iso(moment: datetime) -> str:
    """A timestamp as TMF writes it (ISO 8601, `Z` for UTC)."""
    return moment.isoformat().replace("+00:00", "Z")


async def tmf_access(principal: CurrentPrincipal) -> None:
    """The dependency of every TMF route: only audiences that may use TMF APIs get in (403)."""
    principal.require_channel(Channel.TMF)


def href(request: Request, base: str, resource: str, object_id: str) -> str:
    """The absolute URL of a resource of an API mounted at `base`."""
    return f"{public_base_url(request)}{base}/{resource}/{object_id}"


def _documents() -> list[Any]:
    return [
        json.loads(entry.read_text())
        for entry in resources.files(_GENERATED).iterdir()
        if entry.name.endswith(".json")
    ]


@cache
def _date_time_names() -> frozenset[str]:
    """The attributes that the official definitions make date-times."""
    return date_time_names(_documents())


@cache
def _required_by_type() -> dict[str, set[str]]:
    """The attributes each TMF resource type must always carry, from the official definitions."""
    required: dict[str, set[str]] = {}
    for document in _documents():
        definitions = document.get("definitions", {})
        for name, schema in definitions.items():
            found = set(schema.get("required", []))
            for part in schema.get("allOf", []):
                found |= set(part.get("required", []))
            required.setdefault(name, set()).update(found)
    return required


def trimmed(item: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """`fields=` selection that still keeps what the resource's type makes mandatory."""
    picked = select_fields(item, fields)
    for name in _required_by_type().get(str(item.get("@type")), set()):
        if name in item and name not in picked:
            picked[name] = item[name]
    return picked


@dataclass(frozen=True)
class TMFQuery:
    """What a TMF list or read asks for: a window, the attributes to keep (`fields`) and the
    TMF630 filters (every other query parameter)."""

    offset: int
    limit: int
    fields: str | None
    filters: tuple[Filter, ...]
    # The scheme and host of the links the answer carries (see `href`).
    origin: str = ""

    def conditions(
        self, attributes: Mapping[str, Attribute[F]], after_page: Collection[str] = ()
    ) -> tuple[list[Condition[F]], list[Filter]]:
        """The filters the core answers in SQL (those `attributes` maps), and those left to
        match after the page is read (as the API documents for `after_page`); a TMF 400 names
        a value its attribute cannot take."""
        try:
            return conditions(self.filters, attributes, self.origin, after_page)
        except ValueError as exc:
            raise TMFError(400, "INVALID_QUERY", f"invalid filter {exc}") from exc


def buyer_and_related_parties(party: F, kept: F, *where: str) -> dict[str, Attribute[F]]:
    """Filters on the `relatedParty` of a resource that names its buyer (the `party` field, role
    `customer`) before the parties the buyer named, kept as given in `kept` (at `where`)."""
    at = (*where, "relatedParty")
    return {
        "relatedParty": Attribute(kept, as_text, ordered=True, document=at),
        "relatedParty.id": Attribute(party, as_text, also=in_document(kept, *at, "id")),
        "relatedParty.role": Attribute(
            kept, as_text, ordered=True, document=(*at, "role"), constant=("customer",)
        ),
        "relatedParty.@referredType": Attribute(
            kept, as_text, ordered=True, document=(*at, "@referredType"), constant=("Organization",)
        ),
    }


async def tmf_query(
    request: Request,
    offset: Annotated[int, Query(ge=0, description="The first entry to return (0-based).")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="The most entries to return.")
    ] = DEFAULT_LIMIT,
    fields: Annotated[
        str | None,
        Query(description="Attributes to return, comma-separated (id, href, @type always)."),
    ] = None,
) -> TMFQuery:
    """The paging, `fields` and filters of a TMF request (`attr=v1,v2`, `attr.gt=...`)."""
    filters = parse_filters(list(request.query_params.multi_items()))
    return TMFQuery(
        offset=offset,
        limit=limit,
        fields=fields,
        filters=tuple(filters),
        origin=public_base_url(request),
    )


TMFQueryDep = Annotated[TMFQuery, Depends(tmf_query)]


async def listed(
    query: TMFQuery, views: list[dict[str, Any]], *, total: int, after: list[Filter]
) -> Response:
    """One page of a TMF list the core already filtered and paged: the `after` filters (those
    the core does not store) match the page's views, then `fields` trims them.
    `X-Total-Count` is the core's count, before the `after` filters. A long page is trimmed
    and encoded in chunks, so that other requests get their turns meanwhile."""
    page = await views_of(
        (v for v in views if matches(v, after)), lambda v: trimmed(v, query.fields)
    )
    return Response(
        await json_array(page),
        media_type=MEDIA_TYPE,
        headers={"X-Total-Count": str(total), "X-Result-Count": str(len(page))},
    )


def resource(
    query: TMFQuery, view: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A single resource, trimmed to `fields` if asked."""
    return tmf_json(trimmed(view, query.fields), status=status, headers=headers)


def _checked(raw: bytes) -> Any:
    """A body as JSON whose date-times are date-times and whose strings are within their
    bounds, or a TMF 400."""
    try:
        body = loads(raw)
    except ValueError as exc:
        raise TMFError(400, "INVALID_BODY", f"the body is not JSON: {exc}") from exc
    bad = bad_date_times(body, _date_time_names()) + overlong_texts(body)
    if bad:
        raise TMFError(
            400,
            "INVALID_VALUE",
            "; ".join(f"{dotted(path)} {why}" for path, why in bad),
        )
    return body


async def checked_body(request: Request) -> None:
    """The dependency of every TMF route that checks a body before its model reads it: JSON
    numbers, date-times and string bounds (a TMF 400 names the attribute)."""
    raw = await request.body()
    if raw.strip():
        _checked(raw)


def product_characteristics(product: dict[str, Any], where: str) -> dict[str, Any]:
    """The `bandwidth` (Mbps), `termMonths` and `classOfService` characteristics that a product
    gives, under the core's names, each checked; a TMF 400 names the one that is not valid."""
    entries = product.get("productCharacteristic") or []
    if not isinstance(entries, list):
        raise TMFError(400, "INVALID_VALUE", f"{where}.productCharacteristic must be a list")
    found: dict[str, Any] = {}
    for index, entry in enumerate(entries):
        field = f"{where}.productCharacteristic[{index}]"
        if not isinstance(entry, dict):
            raise TMFError(400, "INVALID_VALUE", f"{field} must be an object")
        name, value = entry.get("name"), entry.get("value")
        try:
            if name == "bandwidth":
                found["bandwidth_mbps"] = whole_number(value)
            elif name == "termMonths":
                found["term_months"] = whole_number(value)
            elif name == "classOfService":
                if value not in set(ClassOfService):
                    raise ValueError(f"is not one of {', '.join(ClassOfService)}")
                found["class_of_service"] = ClassOfService(value)
        except ValueError as exc:
            raise TMFError(400, "INVALID_VALUE", f"{field}.value ('{name}') {exc}") from exc
    return found
