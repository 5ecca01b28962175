"""MEF error bodies (Error400/401/403/404/409/422/500) and the refusals that make them."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.core.errors import (
    Conflict,
    CoreError,
    IllegalTransition,
    NotAuthorized,
    NotFound,
    Unauthenticated,
)

MEDIA_TYPE = "application/json;charset=utf-8"


class MEFError(Exception):
    """A refusal already in MEF form: a status and its body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class MEFJSONResponse(JSONResponse):
    """JSON with the media type the MEF APIs declare."""

    media_type = MEDIA_TYPE


def mef_json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with the media type the MEF APIs declare."""
    return MEFJSONResponse(content, status_code=status, headers=headers)


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
    # Unions add the chosen (or tried) type's name or tag to the path; it is not a property.
    return [p for p in loc if not _is_type_name(p)]


def _is_type_name(part: Any) -> bool:
    return isinstance(part, str) and (part[:1].isupper() or ":" in part)


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        if isinstance(document, dict) and isinstance(part, str):
            document = document.get(part)
        elif isinstance(document, list) and isinstance(part, int) and part < len(document):
            document = document[part]
        else:
            return None
    return document


def _named_members(issues: Sequence[Mapping[str, Any]], body: Any) -> list[Mapping[str, Any]]:
    """The issues of a union member that the value's `@type` names, in place of every member's
    complaints (the generated place unions are not discriminated; `@type` says what was meant);
    a value whose `@type` names no member gets one issue of its own."""
    kept: list[Mapping[str, Any]] = []
    unnamed: dict[tuple[Any, ...], Any] = {}
    named: set[tuple[Any, ...]] = set()
    for issue in issues:
        loc = tuple(issue["loc"])
        at = next((i for i, p in enumerate(loc) if _is_type_name(p) and ":" not in p), None)
        value = _at(body, loc[:at]) if at is not None else None
        if at is None or not isinstance(value, dict):
            kept.append(issue)
            continue
        if value.get("@type") == loc[at]:
            kept.append(issue)
            named.add(loc[:at])
        else:
            unnamed[loc[:at]] = value.get("@type")
    for where, kind in unnamed.items():
        if where not in named:
            kept.append(
                {"type": "enum", "loc": (*where, "@type"), "msg": f"unknown @type '{kind}'"}
            )
    return kept


def from_validation_error(
    error: ValidationError, *, root: tuple[Any, ...] = (), body: Any = None
) -> MEFError:
    """A pydantic refusal of a request body as MEF Error422s with property paths."""
    return from_issues(error.errors(), root=root, body=body)


def from_issues(
    issues: Sequence[Mapping[str, Any]], *, root: tuple[Any, ...] = (), body: Any = None
) -> MEFError:
    """Pydantic issues with a body (locations relative to it) as MEF Error422s."""
    problems = []
    for issue in _named_members(issues, body):
        kind = issue["type"]
        code = _PYDANTIC_CODES.get(
            kind, "invalidFormat" if kind.endswith(("_type", "_parsing")) else "invalidValue"
        )
        problems.append((code, str(issue["msg"]), pointer((*root, *_location(issue["loc"])))))
    return unprocessable(problems)


def from_request_validation(error: RequestValidationError) -> MEFError:
    """FastAPI's refusal of a request's parameters or body in MEF form: a body that is not a
    JSON object is an Error400 `invalidBody`, a body the model refuses Error422s with property
    paths, a bad query parameter an Error400."""
    issues = list(error.errors())
    in_body = [i for i in issues if tuple(i.get("loc", ()))[:1] == ("body",)]
    whole = [i for i in in_body if i["type"] == "json_invalid" or len(i["loc"]) == 1]
    if whole:
        why = "is not JSON" if whole[0]["type"] == "json_invalid" else "must be a JSON object"
        return bad_request("invalidBody", f"the body {why}")
    if in_body:
        return from_issues([{**i, "loc": tuple(i["loc"])[1:]} for i in in_body], body=error.body)
    first = issues[0] if issues else {}
    where = ".".join(str(p) for p in first.get("loc", ())[1:])
    if first.get("type") == "missing":
        return bad_request("missingQueryParameter", f"the query parameter '{where}' is required")
    if first.get("input") == "":
        return bad_request("missingQueryValue", f"the query parameter '{where}' has no value")
    return bad_request("invalidQuery", f"invalid {where}: {first.get('msg', 'bad request')}")


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
