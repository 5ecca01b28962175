"""The route class of every MEF endpoint and the routers the API modules declare them on."""

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.core.errors import CoreError
from rest_facades.common.idempotency import IDEMPOTENCY_KEY, Refusals, idempotent
from rest_facades.mef.errors import (
    MEFError,
    MEFJSONResponse,
    bad_request,
    from_core_error,
    from_request_validation,
    mef_json,
    pointer,
    unprocessable,
)
from rest_facades.mef.generated.sonata import geographic_address as error_models
from rest_facades.mef.requests import checked_body, mef_caller, require_flavour

log = logging.getLogger(__name__)
# The error bodies every MEF operation may answer, as the official files list them (every
# API's generated module has the same error models).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": error_models.Error400, "description": "Bad Request"},
    401: {"model": error_models.Error401, "description": "Unauthorized"},
    403: {"model": error_models.Error403, "description": "Forbidden"},
    404: {"model": error_models.Error404, "description": "Not Found"},
    422: {"model": list[error_models.Error422], "description": "Unprocessable entity"},
    500: {"model": error_models.Error500, "description": "Internal Server Error"},
}
_CHECKED_BODY = Depends(checked_body)
_REQUIRE_FLAVOUR = Depends(require_flavour)


def _internal() -> Response:
    return mef_json({"code": "internalError", "reason": "Unexpected error"}, status=500)


def _field_pointer(field: str | None) -> str:
    return pointer(tuple(field.replace("]", "").replace("[", ".").split("."))) if field else ""


IDEMPOTENCY_REFUSALS = Refusals(
    bad_key=lambda reason: mef_json(bad_request("invalidQuery", reason).body, status=400),
    reused=lambda reason: mef_json(unprocessable([("otherIssue", reason, "")]).body, status=422),
    in_use=lambda reason: mef_json({"code": "conflict", "reason": reason[:255]}, status=409),
)


def _takes_caller(dependant: Dependant) -> bool:
    """Whether an endpoint's dependencies include `mef_caller`."""
    return dependant.call is mef_caller or any(map(_takes_caller, dependant.dependencies))


class MEFRoute(APIRoute):
    """Renders every refusal of its endpoint in the MEF error format, never a bare 500; a POST
    takes an `Idempotency-Key`; a body passes `checked_body` before its model sees it; only
    audiences that may use the flavour get in (`mef_caller` checks, or `require_flavour`
    where the endpoint takes no caller)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = set(kwargs.get("methods") or ())
        added = [IDEMPOTENCY_KEY] if "POST" in methods else []
        if not _takes_caller(get_dependant(path=path, call=endpoint)):
            added.append(_REQUIRE_FLAVOUR)
        if methods & {"POST", "PATCH", "PUT"}:
            added.append(_CHECKED_BODY)
        kwargs["dependencies"] = [*added, *(kwargs.get("dependencies") or ())]
        super().__init__(path, endpoint, **kwargs)

    def refusal(self, error: RequestValidationError) -> MEFError:
        """How a request that FastAPI refused is answered."""
        return from_request_validation(error)

    def answered(self, refused: MEFError) -> MEFError:
        """The refusal as this route answers it (some operations document no 422)."""
        return refused

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except MEFError as exc:
                refused = self.answered(exc)
                return mef_json(refused.body, status=refused.status)
            except RequestValidationError as exc:
                refused = self.answered(self.refusal(exc))
                return mef_json(refused.body, status=refused.status)
            except CoreError as exc:
                refused = from_core_error(exc, field_pointer=_field_pointer)
                return mef_json(refused.body, status=refused.status)
            except HTTPException as exc:
                # FastAPI's own refusal of a body it could not read.
                if exc.status_code != 400:
                    raise
                return mef_json(bad_request("invalidBody", str(exc.detail)).body, status=400)
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return _internal()

        async def handle_once(request: Request) -> Response:
            return await idempotent(request, handle, IDEMPOTENCY_REFUSALS)

        return handle_once


class NoUnprocessableRoute(MEFRoute):
    """A route whose official operation answers no 422 (a notification hub, an order's PATCH):
    every refusal of its body, the route's own checks included, is an Error400 `invalidBody`."""

    def answered(self, refused: MEFError) -> MEFError:
        if refused.status != 422:
            return refused
        first = refused.body[0]
        where = first.get("propertyPath")
        reason = f"{where}: {first['reason']}" if where else first["reason"]
        return bad_request("invalidBody", reason)


def mef_router(route_class: type[MEFRoute] = MEFRoute) -> APIRouter:
    """The router of one API module's handlers; `router.include_mef` mounts it per flavour."""
    # A body without a media type is still read as JSON, as MEF clients send it.
    return APIRouter(
        route_class=route_class,
        strict_content_type=False,
        default_response_class=MEFJSONResponse,
    )
