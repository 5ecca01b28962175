"""The `Idempotency-Key` header on every REST create, on the core's idempotency records.

A POST with the header is claimed for the caller's party before its handler runs: the first
request runs, and its successful answer (status, body, `Location`) is kept and replayed to every
retry with the same method, path, query and JSON body. A retry that comes while the first is
still running waits for it, for a bounded time, and is then refused with 409. The same key with
another request is refused with 422. A refused first request keeps nothing, so that it can be
corrected and sent again with its key."""

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response

from app.core import idempotency
from app.core.db import Database
from app.core.errors import Conflict, Unauthenticated
from app.core.parties import authenticate
from app.deps import bearer_token, idempotency_limits

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Headers of a kept answer that a replay repeats; the rest (dates, lengths) are made afresh.
_KEPT_HEADERS = ("content-type", "location")
# Visible ASCII and spaces; a structured-field string ("...") as the IETF draft writes it is
# taken without its quotes.
_KEY = re.compile(rf"^[\x20-\x7e]{{1,{idempotency.MAX_KEY_LENGTH}}}$")

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Refusals:
    """How a face words the refusals of its idempotency keys, each from a reason."""

    bad_key: Callable[[str], Response]
    reused: Callable[[str], Response]
    in_use: Callable[[str], Response]


async def idempotency_key_header(
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            max_length=idempotency.MAX_KEY_LENGTH + 2,
            description=(
                "A key of your choice (up to 255 characters, unique per request): a retry with "
                "the same key and body gets the first answer again instead of a second resource."
            ),
        ),
    ] = None,
) -> None:
    """Declares the header in the OpenAPI document; `idempotent` reads it."""


IDEMPOTENCY_KEY = Depends(idempotency_key_header)


def _key(raw: str) -> str | None:
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return text if _KEY.match(text) and text.strip() else None


def _fingerprint(request: Request, body: bytes) -> str:
    try:
        content: Any = json.loads(body) if body else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        content = body.decode("latin-1")
    return idempotency.fingerprint(
        {
            "method": request.method,
            "path": request.url.path,
            "query": sorted(request.query_params.multi_items()),
            "body": content,
        }
    )


def _kept(response: Response) -> dict[str, Any] | None:
    """What a replay needs of a successful answer; `None` for answers not kept."""
    body = getattr(response, "body", None)
    if not 200 <= response.status_code < 300 or not isinstance(body, bytes):
        return None
    return {
        "status": response.status_code,
        "headers": {k: v for k, v in response.headers.items() if k in _KEPT_HEADERS},
        "body": body.decode(),
    }


def _replay(kept: dict[str, Any]) -> Response:
    return Response(
        content=kept["body"].encode(),
        status_code=kept["status"],
        headers={**kept["headers"], REPLAYED_HEADER: "true"},
    )


async def idempotent(request: Request, handle: Handler, refusals: Refusals) -> Response:
    """`handle` the request once per `Idempotency-Key` of the caller's party."""
    raw_key = request.headers.get(HEADER)
    if request.method != "POST" or raw_key is None:
        return await handle(request)
    key = _key(raw_key)
    if key is None:
        return refusals.bad_key(
            f"{HEADER} must be 1 to {idempotency.MAX_KEY_LENGTH} visible ASCII characters"
        )
    database: Database = request.app.state.database
    async with database.session() as session:
        try:
            principal = await authenticate(
                session, bearer_token(request.headers.get("authorization"))
            )
        except Unauthenticated:
            return await handle(request)  # which refuses it in the face's own words
        await session.rollback()
        body = await request.body()
        try:
            async with idempotency.claim(
                session,
                party_id=principal.party_id,
                key=key,
                fingerprint=_fingerprint(request, body),
                limits=idempotency_limits(request.app.state.settings),
            ) as claimed:
                if claimed.replay is not None:
                    return _replay(claimed.replay)
                response = await handle(request)
                kept = _kept(response)
                if kept is not None:
                    claimed.keep(kept)
                return response
        except Conflict as exc:
            if exc.code == idempotency.KEY_REUSED:
                return refusals.reused(f"{HEADER} '{key}' was used for a different request")
            if exc.code == idempotency.KEY_IN_USE:
                return refusals.in_use(
                    f"the first request with {HEADER} '{key}' is still being processed; retry later"
                )
            raise
