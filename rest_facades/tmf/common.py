"""What every TMF API shares: absolute hrefs, ISO dates, TMF630 lists and JSON bodies."""

import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from fastapi import Request, Response

from app.core.parties import Channel
from app.deps import CurrentPrincipal, public_base_url
from rest_facades.common.paging import DEFAULT_LIMIT, MAX_LIMIT
from rest_facades.common.tmf630 import matches, parse_filters, select_fields
from rest_facades.tmf.errors import TMFError, tmf_json

_GENERATED = "rest_facades.tmf.generated"


def iso(moment: datetime) -> str:
    """A timestamp as TMF writes it (ISO 8601, `Z` for UTC)."""
    return moment.isoformat().replace("+00:00", "Z")


async def tmf_access(principal: CurrentPrincipal) -> None:
    """The dependency of every TMF route: only audiences that may use TMF APIs get in (403)."""
    principal.require_channel(Channel.TMF)


def href(request: Request, base: str, resource: str, object_id: str) -> str:
    """The absolute URL of a resource of an API mounted at `base`."""
    return f"{public_base_url(request)}{base}/{resource}/{object_id}"


@cache
def _required_by_type() -> dict[str, set[str]]:
    """The attributes each TMF resource type must always carry, from the official definitions."""
    required: dict[str, set[str]] = {}
    for entry in resources.files(_GENERATED).iterdir():
        if not entry.name.endswith(".json"):
            continue
        definitions = json.loads(entry.read_text()).get("definitions", {})
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


def listing(request: Request, items: list[dict[str, Any]]) -> Response:
    """A TMF630 list: filtered, windowed, trimmed to `fields`, with the count headers."""
    params = list(request.query_params.multi_items())
    try:
        offset = int(request.query_params.get("offset", "0"))
        limit = int(request.query_params.get("limit", str(DEFAULT_LIMIT)))
    except ValueError as exc:
        raise TMFError(400, "INVALID_QUERY", "offset and limit are whole numbers") from exc
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise TMFError(400, "INVALID_QUERY", f"offset >= 0 and 1 <= limit <= {MAX_LIMIT}")
    kept = [i for i in items if matches(i, parse_filters(params))]
    page = [trimmed(i, request.query_params.get("fields")) for i in kept[offset : offset + limit]]
    return tmf_json(
        page, headers={"X-Total-Count": str(len(kept)), "X-Result-Count": str(len(page))}
    )


def one(request: Request, item: dict[str, Any]) -> Response:
    """A single resource, trimmed to `fields` if asked."""
    return tmf_json(trimmed(item, request.query_params.get("fields")))


async def read_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a TMF 400."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise TMFError(400, "INVALID_BODY", "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise TMFError(400, "INVALID_BODY", "the body must be a JSON object")
    return body
