"""What every MEF endpoint shares: the caller, `buyerId`/`sellerId`, bodies and responses."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import NotAuthorized, NotFound
from app.core.parties import Principal
from app.core.qualification import check_item_count
from app.deps import CurrentPrincipal, SessionDep, public_base_url
from rest_facades.common.paging import DEFAULT_LIMIT, MAX_LIMIT, Window, set_count_headers
from rest_facades.common.values import bad_date_times, date_time_names, loads, overlong_texts
from rest_facades.mef.errors import (
    MEFError,
    bad_request,
    from_validation_error,
    mef_json,
    pointer,
    unprocessable,
)
from rest_facades.mef.flavours import SELLER_ID, Flavour

Model = TypeVar("Model", bound=BaseModel)


@dataclass
class Caller:
    """The authenticated caller of a MEF request and the buyer it names, if any."""

    principal: Principal
    session: AsyncSession
    buyer_id: str | None
    request: Request

    def href(self, base_path: str, resource: str, object_id: str) -> str:
        """The absolute URL of a resource of this API."""
        return f"{public_base_url(self.request)}{base_path}{resource}/{object_id}"


async def mef_caller(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    buyer_id: Annotated[str | None, Query(alias="buyerId")] = None,
    seller_id: Annotated[str | None, Query(alias="sellerId")] = None,
) -> Caller:
    """The caller; a `buyerId` must name a buyer the caller acts for (MEF 123 R2 to R6), and a
    `sellerId` must name this seller."""
    try:
        if seller_id is not None and seller_id != SELLER_ID:
            raise NotFound(f"no seller '{seller_id}'", field="sellerId")
        principal.buyer_for(buyer_id, field_name="buyerId")
    except NotFound as exc:
        # On a resource that exists for someone, an unknown party behaves as an unknown
        # resource (404); where no resource is named, the requester is refused (403).
        if "id" not in request.path_params:
            raise MEFError(403, {"code": "forbiddenRequester", "reason": exc.message}) from exc
        raise
    return Caller(principal=principal, session=session, buyer_id=buyer_id, request=request)


MEFCaller = Annotated[Caller, Depends(mef_caller)]


def flavour_access(flavour: Flavour) -> Callable[[Principal], Awaitable[None]]:
    """The dependency of every route of a flavour: only audiences that may use it get in."""

    async def require_flavour(principal: CurrentPrincipal) -> None:
        try:
            principal.require_channel(flavour.channel)
        except NotAuthorized as exc:
            raise MEFError(
                403, {"code": "forbiddenRequester", "reason": exc.message[:255]}
            ) from exc

    return require_flavour


async def read_json(request: Request) -> Any:
    """The request body as JSON, or an Error400 `invalidBody`; a string longer than its bound
    is an Error422 `invalidValue`."""
    raw = await request.body()
    try:
        body = loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise bad_request("invalidBody", f"the body is not JSON: {exc}") from exc
    overlong = overlong_texts(body)
    if overlong:
        raise unprocessable([("invalidValue", why, pointer(path)) for path, why in overlong])
    return body


@cache
def _date_time_names() -> frozenset[str]:
    """The attributes that the official files (APIs and product schemas) make date-times."""
    generated = resources.files("rest_facades.mef.generated")
    return date_time_names(
        json.loads(entry.read_text())
        for folder in ("sonata", "cantata", "product_schemas")
        for entry in generated.joinpath(folder).iterdir()
        if entry.name.endswith(".json")
    )


async def parse_body(
    request: Request, model: type[Model], *, items: str | None = None
) -> tuple[Model, Any]:
    """The body parsed by a generated model (and as raw JSON), or the MEF refusal of it; a
    date-time must be an RFC 3339 string with its offset, as the specs' `format` says. The
    array named by `items` is counted against the core's bound before anything else."""
    raw = await read_json(request)
    if not isinstance(raw, dict):
        raise bad_request("invalidBody", "the body must be a JSON object")
    if items is not None and isinstance(raw.get(items), list):
        check_item_count(len(raw[items]), field_name=items)
    bad = bad_date_times(raw, _date_time_names())
    if bad:
        raise unprocessable([("invalidFormat", f"{why}", pointer(path)) for path, why in bad])
    try:
        return model.model_validate(raw), raw
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def dump(model: BaseModel) -> dict[str, Any]:
    """A generated model as MEF JSON: aliases (`@type`), no nulls."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def list_window(
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Window:
    """`offset` and `limit` of a list request; bad values are an Error400 `invalidQuery`."""
    return Window(offset=offset, limit=limit)


ListWindow = Annotated[Window, Depends(list_window)]


def listing(items: list[Any], *, total: int) -> Response:
    """A MEF list answer: the items and the `X-Total-Count`/`X-Result-Count` headers."""
    response = mef_json(items)
    set_count_headers(response, total=total, returned=len(items))
    return response
