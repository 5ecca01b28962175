"""A page is rendered and encoded in chunks: other requests (and `/healthz`) get turns of the
event loop while a long page is rendered, and the page comes out whole, in order, and encoded
to the same bytes as at once."""

import asyncio
import itertools

import pytest
from starlette.responses import JSONResponse

from rest_facades.common.paging import RENDER_CHUNK, json_array, views_of

pytestmark = pytest.mark.once


async def test_other_work_runs_between_the_chunks_of_a_page() -> None:
    turns = 0
    stop = False

    async def other_request() -> None:
        nonlocal turns
        while not stop:
            turns += 1
            await asyncio.sleep(0)

    seen: list[int] = []

    def view(row: int) -> str:
        seen.append(turns)  # how many turns the other request had when this row was rendered
        return f"order {row}"

    other = asyncio.create_task(other_request())
    await asyncio.sleep(0)
    try:
        views = await views_of(range(10 * RENDER_CHUNK), view)
    finally:
        stop = True
        await other
    assert views == [f"order {n}" for n in range(10 * RENDER_CHUNK)]
    chunks = [seen[n : n + RENDER_CHUNK] for n in range(0, len(seen), RENDER_CHUNK)]
    # Within a chunk nothing else runs; between two chunks the other request had a turn.
    assert all(len(set(chunk)) == 1 for chunk in chunks)
    assert all(later[0] > earlier[0] for earlier, later in itertools.pairwise(chunks))


async def test_a_short_page_is_rendered_at_once() -> None:
    assert await views_of([], str) == []
    assert await views_of(range(3), str) == ["0", "1", "2"]


@pytest.mark.parametrize("count", [0, 1, RENDER_CHUNK, 2 * RENDER_CHUNK + 3])
async def test_a_page_encodes_to_the_bytes_of_its_json_response(count: int) -> None:
    views = [
        {"id": f"ord_{n}", "name": "Zürich / 東京", "amount": n / 4, "items": [None, True, {}]}
        for n in range(count)
    ]
    assert await json_array(views) == JSONResponse(views).body
