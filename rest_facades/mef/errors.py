"""MEF error bodies (Error400/401/403/404/409/422/500) and the route class that renders them."""

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError

from app.core.errors import (
    Conflict,
    CoreError,
    IllegalTransition,
    NotAuthorized,
    NotFound,
    Unauthenticated,
)
from rest_facades.common.idempotency import IDEMPOTENCY_KEY, Refusals, idempotent

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/json;charset=utf-8"


class MEFError(Exception):
    """A refusal already in MEF form: a status and its body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def mef_json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with the media type the MEF APIs declare."""
    return JSONResponse(content, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def bad_request(code: str, reason: str, message: str | None = None) -> MEFError:
    """An Error400 (`invalidBody`, `invalidQuery`, `missingQueryParameter`, ...)."""
    body = {"code": code, "reason": reason[:255]}
    if message:
        body["message"] = message
    return MEFError(400, body)


def unprocessable(problems: list[tuple[str, str, str]]) -> MEFError:
    """An Error422 list from (code, reason, JSON pointer) triples."""
    return MEFError(
        422,
        [
            {"code": code, "reason": reason[:255], "propertyPath": pointer}
            for code, reason, pointer in problems
        ],
    )


def pointer(parts: tuple[Any, ...] | list[Any]) -> str:
    """A JSON pointer from a location path."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "/" + "/".join(escaped) if parts else ""


_PYDANTIC_CODES = {
    "missing": "missingProperty",
    "union_tag_not_found": "missingProperty",
    "literal_error": "invalidValue",
    "enum": "invalidValue",
    "union_tag_invalid": "invalidValue",
    "greater_than_equal": "invalidValue",
    "less_than_equal": "invalidValue",
    "extra_forbidden": "unexpectedProperty",
}


def _location(loc: tuple[Any, ...]) -> list[Any]:
    # Discriminated unions add the chosen type's tag to the path; it is not a property.
    return [p for p in loc if not (isinstance(p, str) and (p[:1].isupper() or ":" in p))]


def from_validation_error(error: ValidationError, *, root: tuple[Any, ...] = ()) -> MEFError:
    """A pydantic refusal of a request body as MEF Error422s with property paths."""
    problems = []
    for issue in error.errors():
        kind = issue["type"]
        code = _PYDANTIC_CODES.get(
            kind, "invalidFormat" if kind.endswith(("_type", "_parsing")) else "invalidValue"
        )
        problems.append((code, str(issue["msg"]), pointer((*root, *_location(issue["loc"])))))
    return unprocessable(problems)


def from_core_error(error: CoreError, *, field_pointer: Callable[[str | None], str]) -> MEFError:
    """A core refusal in MEF form; `field_pointer` turns the core's field into a JSON pointer."""
    if isinstance(error, NotFound) and error.field in {None, "id", "buyerId", "sellerId"}:
        return MEFError(404, {"code": "notFound", "reason": error.message[:255]})
    if isinstance(error, Unauthenticated):
        return MEFError(401, {"code": "missingCredentials", "reason": error.message[:255]})
    if isinstance(error, NotAuthorized):
        return MEFError(403, {"code": "accessDenied", "reason": error.message[:255]})
    if isinstance(error, Conflict | IllegalTransition):
        return MEFError(409, {"code": "conflict", "reason": error.message[:255]})
    if error.code == "BUYER_REQUIRED":
        return MEFError(400, {"code": "missingQueryParameter", "reason": error.message[:255]})
    codes = {"NOT_FOUND": "referenceNotFound"}
    return unprocessable(
        [
            (codes.get(e.code, "invalidValue"), e.message, field_pointer(e.field))
            for e in error.all()
        ]
    )


def _internal() -> Response:
    return mef_json({"code": "internalError", "reason": "Unexpected error"}, status=500)


IDEMPOTENCY_REFUSALS = Refusals(
    bad_key=lambda reason: mef_json(bad_request("invalidQuery", reason).body, status=400),
    reused=lambda reason: mef_json(unprocessable([("otherIssue", reason, "")]).body, status=422),
    in_use=lambda reason: mef_json({"code": "conflict", "reason": reason[:255]}, status=409),
)


class MEFRoute(APIRoute):
    """Renders every refusal of its endpoint in the MEF error format, never a bare 500; a POST
    takes an `Idempotency-Key`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if "POST" in (kwargs.get("methods") or ()):
            kwargs["dependencies"] = [*(kwargs.get("dependencies") or ()), IDEMPOTENCY_KEY]
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except MEFError as exc:
                return mef_json(exc.body, status=exc.status)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                return mef_json(
                    bad_request(
                        "invalidQuery", f"invalid {where}: {first.get('msg', 'bad request')}"
                    ).body,
                    status=400,
                )
            except CoreError as exc:
                refused = from_core_error(
                    exc,
                    field_pointer=lambda f: pointer(
                        tuple((f or "").replace("]", "").replace("[", ".").split(".")) if f else ()
                    ),
                )
                return mef_json(refused.body, status=refused.status)
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return _internal()

        async def handle_once(request: Request) -> Response:
            return await idempotent(request, handle, IDEMPOTENCY_REFUSALS)

        return handle_once
