"""Reading TMF lists as a client pages through them: one page with its counts, or every page."""

from typing import Any

import httpx

from app.core.db import Database
from tests.factories import Caller
from tests.statements import counting

# Small, so that a few dozen rows make several pages.
PAGE = 3


async def list_page(
    client: httpx.AsyncClient, caller: Caller, path: str, **params: str
) -> tuple[list[dict[str, Any]], int]:
    """One page of a list and its `X-Total-Count` (its `X-Result-Count` checked)."""
    response = await client.get(path, headers=caller.headers, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["x-result-count"] == str(len(response.json()))
    return response.json(), int(response.headers["x-total-count"])


async def every_page(
    client: httpx.AsyncClient, caller: Caller, path: str, filters: dict[str, str]
) -> list[dict[str, Any]]:
    """Every entry that `filters` select, `PAGE` at a time: each page full until the last, the
    same total on every page, and no entry twice."""
    found, total = await list_page(client, caller, path, limit=str(PAGE), **filters)
    while len(found) < total:
        more, again = await list_page(
            client, caller, path, limit=str(PAGE), offset=str(len(found)), **filters
        )
        assert again == total, filters
        assert len(more) == min(PAGE, total - len(found)), filters
        found += more
    assert len({entry["id"] for entry in found}) == total, filters
    return found


async def counted_pages(
    client: httpx.AsyncClient,
    database: Database,
    caller: Caller,
    path: str,
    filters: dict[str, str],
) -> tuple[int, list[dict[str, Any]]]:
    """The statements that the first page of a filtered list costs, and every entry it selects
    (as `every_page` reads them)."""
    with counting(database) as seen:
        await list_page(client, caller, path, limit=str(PAGE), **filters)
    return len(seen), await every_page(client, caller, path, filters)
