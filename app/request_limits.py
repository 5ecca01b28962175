"""Bounds on what a request may carry: body size, JSON nesting, string length, NUL characters.

Checked before any route sees the request, and refused in the error format of the face that the
path belongs to, so that no body can stall the process or reach the database unfit for it."""

import json
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rest_facades.mef.errors import mef_json, pointer
from rest_facades.tmf.errors import TMFError, tmf_json


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, in words every face renders its own way."""

    status: int
    code: str
    message: str
    # The JSON pointer of the offending value inside the body, when there is one.
    where: str | None = None


def render(path: str, refusal: Refusal) -> Response:
    """The refusal in the error format of the face that serves `path`."""
    if path.startswith("/mefApi/"):
        if refusal.where is not None:
            problem = {"code": "invalidValue", "reason": refusal.message[:255]}
            return mef_json([{**problem, "propertyPath": refusal.where}], status=422)
        code = {404: "notFound", 413: "invalidBody"}.get(refusal.status, "invalidBody")
        if refusal.code == "INVALID_QUERY":
            code = "invalidQuery"
        return mef_json({"code": code, "reason": refusal.message[:255]}, status=refusal.status)
    if path.startswith("/tmf-api/"):
        error = TMFError(refusal.status, refusal.code, refusal.message)
        return tmf_json(error.body, status=refusal.status)
    if path.startswith("/graphql"):
        return JSONResponse(
            {"errors": [{"message": refusal.message, "extensions": {"code": refusal.code}}]},
            status_code=refusal.status,
        )
    return JSONResponse({"detail": refusal.message}, status_code=refusal.status)


def check_json(value: Any, *, max_depth: int, max_string_chars: int) -> Refusal | None:
    """The first reason to refuse a parsed JSON document: too deep, a string too long or with a
    NUL character (which PostgreSQL cannot store), or None."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        current, path = stack.pop()
        if isinstance(current, str):
            problem = _text_problem(current, max_string_chars)
            if problem is not None:
                where = pointer(path)
                return Refusal(400, "INVALID_VALUE", f"{where or 'the body'}: {problem}", where)
            continue
        if len(path) >= max_depth:
            return Refusal(400, "INVALID_BODY", f"the body nests deeper than {max_depth} levels")
        if isinstance(current, dict):
            for key, item in current.items():
                problem = _text_problem(key, max_string_chars)
                if problem is not None:
                    where = pointer(path)
                    return Refusal(400, "INVALID_VALUE", f"a name in {where}: {problem}", where)
                if isinstance(item, str | dict | list):
                    stack.append((item, (*path, key)))
        elif isinstance(current, list):
            stack.extend(
                (item, (*path, index))
                for index, item in enumerate(current)
                if isinstance(item, str | dict | list)
            )
    return None


def _text_problem(text: str, max_chars: int) -> str | None:
    if len(text) > max_chars:
        return f"the text is longer than {max_chars} characters"
    if "\x00" in text:
        return "the text contains a NUL character"
    return None


class RequestLimits:
    """ASGI middleware that bounds every HTTP request before the application reads it."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, max_json_depth: int, max_string_chars: int
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        self.max_string_chars = max_string_chars

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        refusal = self._check_url(path, scope.get("query_string", b""))
        body = b""
        if refusal is None:
            body, refusal = await self._read_body(scope, receive)
        if refusal is None and body:
            refusal = self._check_body(body)
        if refusal is not None:
            await render(path, refusal)(scope, receive, send)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _check_url(self, path: str, query: bytes) -> Refusal | None:
        if "\x00" in path:
            return Refusal(404, "NOT_FOUND", "no resource has a NUL character in its path")
        if b"%00" in query or b"\x00" in query:
            return Refusal(400, "INVALID_QUERY", "the query string contains a NUL character")
        return None

    async def _read_body(self, scope: Scope, receive: Receive) -> tuple[bytes, Refusal | None]:
        too_large = Refusal(
            413, "PAYLOAD_TOO_LARGE", f"the body is larger than {self.max_body_bytes} bytes"
        )
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return b"", too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            # Counted as it streams in, so a chunked body without a length is bounded too.
            if size > self.max_body_bytes:
                return b"", too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), None

    def _check_body(self, body: bytes) -> Refusal | None:
        start = body.lstrip()[:1]
        if start not in (b"{", b"[", b'"'):
            return None
        try:
            document = json.loads(body)
        except RecursionError:
            return Refusal(
                400, "INVALID_BODY", f"the body nests deeper than {self.max_json_depth} levels"
            )
        except ValueError:
            # Not JSON after all: the route refuses it in its own words.
            return None
        return check_json(
            document, max_depth=self.max_json_depth, max_string_chars=self.max_string_chars
        )
