"""Idempotency keys: one answer per party and key, retries replayed, other requests refused."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, idempotency, ordering
from app.core.db import Database
from app.core.errors import Conflict
from app.core.idempotency import IdempotencyRecord, IdempotencyState
from tests.factories import Caller, make_order


async def _order_count(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(ordering.Order))).one()


async def _place_once(
    session: AsyncSession, caller: Caller, key: str, what: str = "line"
) -> tuple[str, bool]:
    async with idempotency.claim(
        session,
        party_id=caller.party_id,
        key=key,
        fingerprint=idempotency.fingerprint({"what": what}),
    ) as claimed:
        if claimed.replay is not None:
            return claimed.replay["order_id"], True
        placed = await make_order(session, caller)
        claimed.keep({"order_id": placed.order.id})
    return placed.order.id, False


async def test_a_retry_with_the_same_key_replays_the_first_answer(
    session: AsyncSession, developer: Caller
) -> None:
    first, replayed = await _place_once(session, developer, "retry-1")
    assert not replayed
    before = await _order_count(session)
    again, replayed = await _place_once(session, developer, "retry-1")
    assert (again, replayed) == (first, True)
    assert await _order_count(session) == before


async def test_the_same_key_for_another_request_is_refused(
    session: AsyncSession, developer: Caller
) -> None:
    await _place_once(session, developer, "k")
    with pytest.raises(Conflict) as refused:
        await _place_once(session, developer, "k", what="another line")
    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"


async def test_keys_belong_to_one_party(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    mine, _ = await _place_once(session, developer, "shared")
    theirs, replayed = await _place_once(session, other_developer, "shared")
    assert mine != theirs
    assert not replayed


async def test_failed_work_releases_the_key_and_stores_nothing(
    session: AsyncSession, developer: Caller
) -> None:
    before = await _order_count(session)

    async def fail_after_ordering() -> None:
        async with idempotency.claim(
            session, party_id=developer.party_id, key="k", fingerprint="f"
        ):
            await make_order(session, developer)
            raise RuntimeError("the answer could not be rendered")

    with pytest.raises(RuntimeError):
        await fail_after_ordering()
    assert (await session.exec(select(IdempotencyRecord))).all() == []
    # The order was committed before the failure: releasing the key does not undo it, and
    # the retry orders again: which is why work keeps its answer as soon as it is done.
    assert await _order_count(session) == before + 1
    _, replayed = await _place_once(session, developer, "k")
    assert not replayed


async def test_an_expired_answer_is_forgotten(session: AsyncSession, developer: Caller) -> None:
    first, _ = await _place_once(session, developer, "old")
    later = clock.now() + timedelta(hours=25)
    clock.set_clock(lambda: later)
    again, replayed = await _place_once(session, developer, "old")
    assert again != first
    assert not replayed
    assert await idempotency.purge_expired(session, ttl=timedelta(hours=24)) == 0
    clock.set_clock(lambda: later + timedelta(hours=25))
    assert await idempotency.purge_expired(session, ttl=timedelta(hours=24)) == 1


async def test_a_retry_waits_for_the_first_request_then_replays_it(
    database: Database, developer: Caller
) -> None:
    started, finish = asyncio.Event(), asyncio.Event()

    async def first() -> str:
        async with database.session() as session:
            async with idempotency.claim(
                session, party_id=developer.party_id, key="slow", fingerprint="f"
            ) as claimed:
                started.set()
                await finish.wait()
                claimed.keep({"answer": "first"})
        return "first"

    async def retry() -> dict[str, str] | None:
        await started.wait()
        async with database.session() as session:
            async with idempotency.claim(
                session, party_id=developer.party_id, key="slow", fingerprint="f"
            ) as claimed:
                return claimed.replay

    running = asyncio.gather(first(), retry())
    await started.wait()
    await asyncio.sleep(0.1)
    finish.set()
    assert list(await running) == ["first", {"answer": "first"}]


async def test_a_retry_that_waits_too_long_is_refused_as_in_use(
    database: Database, session: AsyncSession, developer: Caller
) -> None:
    session.add(
        IdempotencyRecord(
            party_id=developer.party_id,
            key="busy",
            fingerprint="f",
            state=IdempotencyState.IN_PROGRESS,
        )
    )
    await session.commit()

    async def claim_busy_key() -> None:
        async with idempotency.claim(
            session,
            party_id=developer.party_id,
            key="busy",
            fingerprint="f",
            limits=idempotency.Limits(wait=timedelta(seconds=0.1)),
        ):
            pytest.fail("the key is held by a running request")

    with pytest.raises(Conflict) as refused:
        await claim_busy_key()
    assert refused.value.code == "IDEMPOTENCY_KEY_IN_USE"


async def test_a_claim_abandoned_by_a_crashed_request_is_taken_over(
    session: AsyncSession, developer: Caller
) -> None:
    session.add(
        IdempotencyRecord(
            party_id=developer.party_id,
            key="crashed",
            fingerprint=idempotency.fingerprint({"what": "line"}),
            state=IdempotencyState.IN_PROGRESS,
            created_at=clock.now() - timedelta(minutes=6),
        )
    )
    await session.commit()
    _, replayed = await _place_once(session, developer, "crashed")
    assert not replayed
