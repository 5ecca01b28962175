"""The TMF `Error` body and the route class that renders every refusal in it."""

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from app.core.errors import (
    Conflict,
    CoreError,
    IllegalTransition,
    NotAuthorized,
    NotFound,
    Unauthenticated,
)
from rest_facades.common.idempotency import IDEMPOTENCY_KEY, Refusals, idempotent
from rest_facades.common.values import dotted

# Every TMF API declares the same Error; one API's model documents them all.
from rest_facades.tmf.generated.product_ordering import Error as ErrorBody

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/json;charset=utf-8"


class TMFError(Exception):
    """A refusal already in TMF form."""

    def __init__(self, status: int, code: str, reason: str, message: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.body: dict[str, Any] = {
            "@type": "Error",
            "code": code,
            "reason": reason[:255],
            "status": str(status),
        }
        if message:
            self.body["message"] = message


def tmf_json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with the media type the TMF APIs declare."""
    return JSONResponse(content, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def from_core_error(error: CoreError) -> TMFError:
    """A core refusal as a TMF Error with the status TMF630 gives it."""
    message = "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in error.all())
    if isinstance(error, NotFound) and error.field in {None, "id"}:
        return TMFError(404, "NOT_FOUND", error.message)
    if isinstance(error, Unauthenticated):
        return TMFError(401, "UNAUTHENTICATED", error.message)
    if isinstance(error, NotAuthorized):
        return TMFError(403, "FORBIDDEN", error.message)
    if isinstance(error, Conflict | IllegalTransition):
        return TMFError(409, error.code, error.message, message)
    return TMFError(400, error.code, error.message, message)


def _attribute(loc: tuple[Any, ...]) -> str:
    # Union members show in a location by their model's name, which the client never wrote.
    kept = tuple(p for p in loc if isinstance(p, int) or (isinstance(p, str) and p[:1].islower()))
    return dotted(kept) or "the body"


def from_validation_error(error: RequestValidationError) -> TMFError:
    """A request that its parameters or its body's model refused, as a TMF 400 that names the
    attribute (`productOrderItem[0].action`) and says what is wrong with it."""
    problems = error.errors()
    first = problems[0] if problems else {}
    where, *path = first.get("loc", ()) or ("body",)
    attribute = _attribute(tuple(path))
    message = "; ".join(
        f"{_attribute(tuple(p.get('loc', ())[1:]))}: {p.get('msg', '')}" for p in problems
    )
    if first.get("type") == "json_invalid":
        return TMFError(400, "INVALID_BODY", "the body is not JSON", message)
    if where != "body":
        return TMFError(400, "INVALID_QUERY", f"invalid {where} parameter {attribute}", message)
    if first.get("type") == "missing":
        return TMFError(400, "MISSING_ATTRIBUTE", f"{attribute} is mandatory", message)
    return TMFError(400, "INVALID_VALUE", f"{attribute}: {first.get('msg', '')}", message)


def _refusal(status: int, code: str) -> Callable[[str], Response]:
    return lambda reason: tmf_json(TMFError(status, code, reason).body, status=status)


IDEMPOTENCY_REFUSALS = Refusals(
    bad_key=_refusal(400, "INVALID_HEADER"),
    reused=_refusal(422, "IDEMPOTENCY_KEY_REUSED"),
    in_use=_refusal(409, "IDEMPOTENCY_KEY_IN_USE"),
)


class TMFRoute(APIRoute):
    """Renders every refusal of its endpoint as a TMF `Error`, never a bare 500; a POST takes an
    `Idempotency-Key`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # Every refusal is a TMF Error (never FastAPI's own 422 body): so the document says.
        kwargs["responses"] = {
            "4XX": {"model": ErrorBody, "description": "Refused: a TMF Error"},
            **(kwargs.get("responses") or {}),
        }
        if "POST" in (kwargs.get("methods") or ()):
            kwargs["dependencies"] = [*(kwargs.get("dependencies") or ()), IDEMPOTENCY_KEY]
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except TMFError as exc:
                return tmf_json(exc.body, status=exc.status)
            except RequestValidationError as exc:
                refused = from_validation_error(exc)
                return tmf_json(refused.body, status=refused.status)
            except CoreError as exc:
                refused = from_core_error(exc)
                return tmf_json(refused.body, status=refused.status)
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return tmf_json(
                    TMFError(500, "INTERNAL_ERROR", "Unexpected error").body, status=500
                )

        async def handle_once(request: Request) -> Response:
            return await idempotent(request, handle, IDEMPOTENCY_REFUSALS)

        return handle_once
