"""What every TMF API shares: absolute hrefs, ISO dates, TMF630 lists and JSON bodies."""

from datetime import datetime
from typing import Any

from fastapi import Request, Response

from rest_facades.common.paging import DEFAULT_LIMIT, MAX_LIMIT
from rest_facades.common.tmf630 import matches, parse_filters, select_fields
from rest_facades.tmf.errors import TMFError, tmf_json


def iso(moment: datetime) -> str:
    """A timestamp as TMF writes it (ISO 8601, `Z` for UTC)."""
    return moment.isoformat().replace("+00:00", "Z")


def href(request: Request, base: str, resource: str, object_id: str) -> str:
    """The absolute URL of a resource of an API mounted at `base`."""
    settings = request.app.state.settings
    root = (settings.public_base_url or str(request.base_url)).rstrip("/")
    return f"{root}{base}/{resource}/{object_id}"


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
    page = [
        select_fields(i, request.query_params.get("fields")) for i in kept[offset : offset + limit]
    ]
    return tmf_json(
        page, headers={"X-Total-Count": str(len(kept)), "X-Result-Count": str(len(page))}
    )


def one(request: Request, item: dict[str, Any]) -> Response:
    """A single resource, trimmed to `fields` if asked."""
    return tmf_json(select_fields(item, request.query_params.get("fields")))


async def read_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a TMF 400."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise TMFError(400, "INVALID_BODY", "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise TMFError(400, "INVALID_BODY", "the body must be a JSON object")
    return body
