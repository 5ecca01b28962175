"""Paging of REST lists: `offset`/`limit` in, `X-Total-Count`/`X-Result-Count` out."""

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Response

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
# How many objects of a page are rendered between two turns of the event loop.
RENDER_CHUNK = 10

Row = TypeVar("Row")
View = TypeVar("View")


@dataclass(frozen=True)
class Window:
    """Which rows of a list the caller asked for."""

    offset: int = 0
    limit: int = DEFAULT_LIMIT


def set_count_headers(response: Response, *, total: int, returned: int) -> None:
    """The headers that tell a client how many rows match and how many came back."""
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Result-Count"] = str(returned)


async def views_of(rows: Iterable[Row], view: Callable[[Row], View]) -> list[View]:
    """`view` of each row of a page, letting the event loop turn after every `RENDER_CHUNK` rows.
    The process serves every request and `/healthz` on one loop, and each turn waits for the
    slice of every request that is ready: rendering a page of 100 orders at once is a slice of
    10 ms or more, and a dozen such pages at once held a probe up for a few hundred."""
    views: list[View] = []
    for row in rows:
        views.append(view(row))
        if len(views) % RENDER_CHUNK == 0:
            await asyncio.sleep(0)
    return views


async def json_array(views: list[Any]) -> bytes:
    """The views of a page as a JSON array, the very bytes a `JSONResponse` of the list would
    carry, encoded `RENDER_CHUNK` views at a time with a turn of the event loop in between."""
    chunks: list[bytes] = []
    for start in range(0, len(views), RENDER_CHUNK):
        if start:
            await asyncio.sleep(0)
        chunks.append(b",".join(_json(view) for view in views[start : start + RENDER_CHUNK]))
    return b"[" + b",".join(chunks) + b"]"


def _json(content: Any) -> bytes:
    # As `JSONResponse.render` encodes.
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")
