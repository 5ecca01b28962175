"""What every MEF endpoint shares: the caller, `buyerId`/`sellerId`, bodies and responses."""

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
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
    mef_json,
    pointer,
    unprocessable,
)
from rest_facades.mef.flavours import FLAVOURS_BY_NAME, SELLER_ID, Flavour

# The item lists of a request that the core bounds (`check_item_count`).
ITEM_LISTS = ("productOrderItem", "quoteItem", "productOfferingQualificationItem")


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


# Shows the API key scheme in the OpenAPI document; `CurrentPrincipal` does the checking.
BEARER_KEY = HTTPBearer(
    auto_error=False, scheme_name="bearerKey", description="An API key: `Bearer <key>`."
)
BearerKey = Annotated[HTTPAuthorizationCredentials | None, Security(BEARER_KEY)]


async def mef_caller(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    _key: BearerKey,
    buyer_id: Annotated[str | None, Query(alias="buyerId")] = None,
    seller_id: Annotated[str | None, Query(alias="sellerId")] = None,
) -> Caller:
    """The caller, if its audience may use the flavour it came to; a `buyerId` must name a
    buyer the caller acts for (MEF 123 R2 to R6), and a `sellerId` must name this seller."""
    # The flavour's check here rather than as a dependency of its own: each dependency is
    # solved again for every route that takes it (see `MEFRoute`).
    _require_channel(principal, flavour_of(request))
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


def owned_by_buyer(caller: Caller, party_id: str, what: str, object_id: str) -> None:
    """Refuse, as a missing object, one that is not the buyer the caller names."""
    if caller.buyer_id is not None and party_id != caller.buyer_id:
        raise NotFound(f"no {what} '{object_id}'", field="id")


def route_path(request: Request) -> str:
    """The path of a request below the application's `root_path`, as routes match it."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def flavour_of(request: Request) -> Flavour:
    """The flavour whose mount point (`/mefApi/<flavour>/...`) serves the request."""
    return FLAVOURS_BY_NAME[route_path(request).split("/")[2]]


async def mounted_flavour(request: Request) -> Flavour:
    """`flavour_of` as a dependency."""
    return flavour_of(request)


FlavourDep = Annotated[Flavour, Depends(mounted_flavour)]


def _require_channel(principal: Principal, flavour: Flavour) -> None:
    """Only audiences that may use a flavour get in."""
    try:
        principal.require_channel(flavour.channel)
    except NotAuthorized as exc:
        raise MEFError(403, {"code": "forbiddenRequester", "reason": exc.message[:255]}) from exc


async def require_flavour(
    principal: CurrentPrincipal, flavour: FlavourDep, _key: BearerKey
) -> None:
    """The check of `mef_caller`, for a MEF route that takes no caller (see `MEFRoute`)."""
    _require_channel(principal, flavour)


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


async def checked_body(request: Request) -> dict[str, Any] | None:
    """The body as raw JSON once it passes the checks its generated model cannot make; `None`
    when there is none (the model then reports it missing).

    `MEFRoute` runs this before FastAPI validates the body parameter: an item list is counted
    against the core's bound before anything else, and a date-time must be an RFC 3339 string
    with its offset, as the specs' `format` says."""
    if not await request.body():
        return None
    raw = await read_json(request)
    if not isinstance(raw, dict):
        raise bad_request("invalidBody", "the body must be a JSON object")
    for items in ITEM_LISTS:
        if isinstance(raw.get(items), list):
            check_item_count(len(raw[items]), field_name=items)
    bad = bad_date_times(raw, _date_time_names())
    if bad:
        raise unprocessable([("invalidFormat", f"{why}", pointer(path)) for path, why in bad])
    return raw


async def body_members(
    raw: Annotated[dict[str, Any] | None, Depends(checked_body)],
) -> frozenset[str]:
    """The names of the members a body sent, those its model does not define included; the
    values are read from the model."""
    return frozenset(raw or ())


# What a handler needs of a body beyond its model: which members were sent, to refuse those an
# operation does not take.
BodyMembers = Annotated[frozenset[str], Depends(body_members)]


def dump(model: BaseModel) -> dict[str, Any]:
    """A generated model as MEF JSON: aliases (`@type`), no nulls."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def sent(model: BaseModel) -> dict[str, Any]:
    """The members of a request's model that the buyer sent, as MEF JSON (a product
    configuration keeps the members of its product schema: see `codegen.EXTENSION_POINTS`)."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


async def list_window(
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Window:
    """`offset` and `limit` of a list request; bad values are an Error400 `invalidQuery`."""
    return Window(offset=offset, limit=limit)


ListWindow = Annotated[Window, Depends(list_window)]


@dataclass
class ListQuery:
    """What every MEF list request gives: the caller (with its `buyerId`) and the page."""

    caller: Caller
    window: Window


async def list_query(caller: MEFCaller, window: ListWindow) -> ListQuery:
    """The caller and page of a list; each list adds its own criteria (a query model)."""
    return ListQuery(caller=caller, window=window)


MEFList = Annotated[ListQuery, Depends(list_query)]


def listing(items: list[Any], *, total: int) -> Response:
    """A MEF list answer: the items and the `X-Total-Count`/`X-Result-Count` headers."""
    response = mef_json(items)
    set_count_headers(response, total=total, returned=len(items))
    return response
