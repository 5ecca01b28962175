"""Bounds on what a request may carry: body size, JSON nesting, string length, and characters
no database stores (NUL, lone surrogates).

Checked before any route sees the request, and refused in the error format of the face that the
path belongs to, so that no body can stall the process or reach the database unfit for it."""

import asyncio
import json
import re
from dataclasses import dataclass
from itertools import chain
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.text import unstorable_character
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


def _mef_unprocessable(method: str, path: str) -> bool:
    # The MEF APIs document Error422 on their creates and task requests, not on the hub, on
    # listeners, or on every PATCH: those answer an Error400 `invalidBody` instead.
    return method == "POST" and not path.endswith("/hub") and "/listener/" not in path


def render(method: str, path: str, refusal: Refusal) -> Response:
    """The refusal in the error format of the face that serves `path`."""
    if path.startswith("/mefApi/"):
        if refusal.where is not None and _mef_unprocessable(method, path):
            problem = {"code": "invalidValue", "reason": refusal.message[:255]}
            return mef_json([{**problem, "propertyPath": refusal.where}], status=422)
        code = {"NOT_FOUND": "notFound", "INVALID_QUERY": "invalidQuery"}.get(
            refusal.code, "invalidBody"
        )
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


# As long as a URL may be, path and query string together (h11's bound on a request line).
MAX_URL_CHARS = 16 * 1024
# Bodies up to this size are checked on the event loop; larger ones in a worker thread.
INLINE_BYTES = 64 * 1024
# More arrays and objects than any request needs; a megabyte of `[]` takes a second to parse.
MAX_JSON_CONTAINERS = 10_000
# Values in a document beyond which an unfit string is refused without naming where it is.
LOCATE_BUDGET = 20_000
# The JSON escape of a NUL or of half a UTF-16 pair (`\ud800`-`\udfff`); the halves of an
# escaped pair decode to one character and pass.
UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def may_be_unfit(body: bytes, *, max_depth: int, max_chars: int) -> bool:
    """Whether a JSON text may nest deeper than `max_depth`, or hold a string longer than
    `max_chars` or with a character no database stores. False is certain, and is the answer for
    nearly every body: it is found by scanning the bytes, without parsing them."""
    if body.count(b"[") + body.count(b"{") > max_depth or UNSTORABLE_ESCAPE.search(body):
        return True
    if len(body) <= max_chars:
        return False
    # A string that long is a run of bytes without a quote, unless it holds escaped quotes.
    return b'\\"' in body or max(map(len, body.split(b'"'))) > max_chars


def check_json(value: Any, *, max_depth: int, max_string_chars: int) -> Refusal | None:
    """The first reason to refuse a parsed JSON document: too deep, a string too long or with a
    character no database stores (NUL, a lone surrogate), or None."""
    # A first pass, level by level and without paths, is cheap even over a megabyte of tiny
    # values; only a document found unfit is walked again to name the offending value.
    level: list[Any] = [value]
    depth = seen = 0
    unfit = False
    while level and not unfit:
        texts = [item for item in level if isinstance(item, str)]
        unfit = any(_text_problem(text, max_string_chars) for text in texts)
        containers = [item for item in level if isinstance(item, dict | list)]
        if containers:
            depth += 1
            if depth > max_depth:
                return Refusal(
                    400, "INVALID_BODY", f"the body nests deeper than {max_depth} levels"
                )
        level = list(
            chain.from_iterable(
                chain(item, item.values()) if isinstance(item, dict) else item
                for item in containers
            )
        )
        seen += len(level)
    if not unfit:
        return None
    if seen > LOCATE_BUDGET:
        return Refusal(
            400,
            "INVALID_VALUE",
            "a string in the body is too long or holds a character that cannot be stored",
        )
    return _locate_unfit_text(value, max_string_chars)


def _locate_unfit_text(value: Any, max_chars: int) -> Refusal | None:
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        current, path = stack.pop()
        if isinstance(current, str):
            problem = _text_problem(current, max_chars)
            if problem is not None:
                where = pointer(path)
                return Refusal(400, "INVALID_VALUE", f"{where or 'the body'}: {problem}", where)
        elif isinstance(current, dict):
            for key, item in current.items():
                problem = _text_problem(key, max_chars)
                if problem is not None:
                    where = pointer(path)
                    message = f"a name in {where or 'the body'}: {problem}"
                    return Refusal(400, "INVALID_VALUE", message, where)
                stack.append((item, (*path, key)))
        elif isinstance(current, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(current))
    return None


def _text_problem(text: str, max_chars: int) -> str | None:
    if len(text) > max_chars:
        return f"the text is longer than {max_chars} characters"
    character = unstorable_character(text)
    return None if character is None else f"the text contains {character}"


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
            refusal = await self._check_body(body)
        if refusal is not None:
            await render(scope["method"], path, refusal)(scope, receive, send)
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
        # Every filter of a TMF630 query string is parsed and applied: their number is bounded.
        if len(path) + len(query) > MAX_URL_CHARS:
            return Refusal(
                414, "INVALID_QUERY", f"the URL is longer than {MAX_URL_CHARS} characters"
            )
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

    async def _check_body(self, body: bytes) -> Refusal | None:
        if body.lstrip()[:1] not in (b"{", b"[", b'"'):
            return None
        # Each array or object costs far more to parse than its bytes suggest: their number is
        # bounded before anything parses the body (brackets inside strings count too).
        if body.count(b"[") + body.count(b"{") > MAX_JSON_CONTAINERS:
            return Refusal(
                400,
                "INVALID_BODY",
                f"the body holds more than {MAX_JSON_CONTAINERS} arrays and objects",
            )
        # Small bodies, nearly all of them, are cleared here at once; anything larger or
        # suspect is examined off the event loop: a megabyte of tiny values takes a while.
        if len(body) <= INLINE_BYTES and not self._may_be_unfit(body):
            return None
        return await asyncio.to_thread(self._find_unfit, body)

    def _may_be_unfit(self, body: bytes) -> bool:
        return may_be_unfit(body, max_depth=self.max_json_depth, max_chars=self.max_string_chars)

    def _find_unfit(self, body: bytes) -> Refusal | None:
        if not self._may_be_unfit(body):
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
