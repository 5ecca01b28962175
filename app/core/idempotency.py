"""Idempotency keys: one answer per party and key, replayed to every retry of the same request.

A request that carries a key first claims it: an in-progress record, inserted and committed on
its own, so that the unique (party, key) constraint lets exactly one of several concurrent
requests win. The winner does the work and keeps its answer in the record; a retry with the same
fingerprint gets that answer back (waiting, for a bounded time, while the winner still works); a
request with another fingerprint is refused. Work that fails keeps nothing: the claim is released
so that the request can be sent again. Records expire after a time to live."""

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, UniqueConstraint, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock
from app.core.db import StrEnumType, UTCDateTime, new_id
from app.core.errors import Conflict

KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"
MAX_KEY_LENGTH = 255
# How often a retry looks again at a record whose first request is still running.
_FIRST_POLL_SECONDS = 0.02
_LAST_POLL_SECONDS = 0.25


class IdempotencyState(StrEnum):
    """Whether the first request with a key is still running or has kept its answer."""

    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"


class IdempotencyRecord(SQLModel, table=True):
    """The claim of one idempotency key by one party, and the answer kept for its retries."""

    __tablename__ = "idempotencyrecord"
    __table_args__ = (UniqueConstraint("party_id", "key", name="uq_idempotencyrecord_party_key"),)
    id: str = Field(default_factory=lambda: new_id("idem"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", max_length=40)
    key: str = Field(max_length=MAX_KEY_LENGTH)
    fingerprint: str = Field(max_length=64)
    state: IdempotencyState = Field(sa_type=StrEnumType(IdempotencyState, 12))
    # What the face needs to answer a retry (a stored HTTP response, or ids to load again).
    response: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass(frozen=True)
class Limits:
    """How long answers are kept, how long a retry waits for a running first request, and when
    a claim whose request never finished (a crashed process) may be taken over."""

    ttl: timedelta = timedelta(hours=24)
    wait: timedelta = timedelta(seconds=10)
    abandoned_after: timedelta = timedelta(minutes=5)


@dataclass
class Claim:
    """A key claimed for one request: `replay` is the kept answer when the request is a retry."""

    record_id: str
    replay: dict[str, Any] | None = None
    kept: dict[str, Any] | None = field(default=None, init=False)

    def keep(self, response: dict[str, Any]) -> None:
        """The answer to give every retry of this request."""
        self.kept = response


def fingerprint(request: Any) -> str:
    """A digest of a request as JSON, the same whatever the order of its object keys."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@asynccontextmanager
async def claim(
    session: AsyncSession,
    *,
    party_id: str,
    key: str,
    fingerprint: str,
    limits: Limits | None = None,
) -> AsyncIterator[Claim]:
    """Claim `key` for a request of `party_id`; the body does the work on `session` and calls
    `keep` with the answer to give retries.

    The record lives in a session of its own, so that the claim commits before the work starts
    (call this before the work writes anything: it ends the read transaction of `session`, so
    that a retry holds no connection while it waits). A retry gets a claim with `replay` set; a key
    used with another fingerprint raises `Conflict` IDEMPOTENCY_KEY_REUSED; a first request still
    running after the wait raises `Conflict` IDEMPOTENCY_KEY_IN_USE. When the body raises or
    keeps nothing, `session` is rolled back and the key released."""
    limits = limits or Limits()
    engine = session.bind
    if not isinstance(engine, AsyncEngine):
        raise TypeError("idempotency keys are claimed on a session bound to an engine")
    await session.commit()
    async with AsyncSession(engine, expire_on_commit=False) as records:
        claimed = await _claim(records, party_id, key, fingerprint, limits)
        if claimed.replay is not None:
            yield claimed
            return
        try:
            yield claimed
        except BaseException:
            await session.rollback()
            await _release(records, claimed.record_id)
            raise
        if claimed.kept is None:
            await session.rollback()
            await _release(records, claimed.record_id)
            return
        await records.exec(
            update(IdempotencyRecord)
            .where(col(IdempotencyRecord.id) == claimed.record_id)
            .values(
                state=IdempotencyState.COMPLETE,
                response=claimed.kept,
                completed_at=clock.now(),
            )
        )
        await records.commit()


async def _claim(
    session: AsyncSession, party_id: str, key: str, fingerprint: str, limits: Limits
) -> Claim:
    deadline = time.monotonic() + limits.wait.total_seconds()
    pause = _FIRST_POLL_SECONDS
    while True:
        record = IdempotencyRecord(
            party_id=party_id,
            key=key,
            fingerprint=fingerprint,
            state=IdempotencyState.IN_PROGRESS,
        )
        session.add(record)
        try:
            await session.commit()
            return Claim(record.id)
        except IntegrityError:
            await session.rollback()
        statement = (
            select(IdempotencyRecord)
            .where(IdempotencyRecord.party_id == party_id, IdempotencyRecord.key == key)
            .execution_options(populate_existing=True)
        )
        existing = (await session.exec(statement)).first()
        # Rolling back (to read afresh at the next look) expires the row: keep what is needed.
        found = None if existing is None else existing.model_copy()
        await session.rollback()
        if found is None:  # released meanwhile: claim it again
            continue
        now = clock.now()
        expired = found.created_at <= now - limits.ttl
        abandoned = (
            found.state is IdempotencyState.IN_PROGRESS
            and found.created_at <= now - limits.abandoned_after
        )
        if expired or abandoned:
            await session.exec(
                delete(IdempotencyRecord).where(
                    col(IdempotencyRecord.id) == found.id,
                    col(IdempotencyRecord.created_at) == found.created_at,
                )
            )
            await session.commit()
            continue
        if found.fingerprint != fingerprint:
            raise Conflict(
                "this idempotency key was used for a different request",
                field="idempotency_key",
                code=KEY_REUSED,
            )
        if found.state is IdempotencyState.COMPLETE:
            return Claim(found.id, found.response or {})
        if time.monotonic() >= deadline:
            raise Conflict(
                "the first request with this idempotency key is still being processed; retry later",
                field="idempotency_key",
                code=KEY_IN_USE,
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LAST_POLL_SECONDS)


async def _release(session: AsyncSession, record_id: str) -> None:
    await session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.id) == record_id))
    await session.commit()


async def purge_expired(session: AsyncSession, *, ttl: timedelta) -> int:
    """Forget the answers kept longer than `ttl`; how many were forgotten."""
    result = await session.exec(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) <= clock.now() - ttl)
    )
    await session.commit()
    return int(result.rowcount or 0)
