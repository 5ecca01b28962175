"""Mutations that place an order once per idempotency key, on the core's idempotency records."""

from collections.abc import Awaitable, Callable
from typing import Any

from app.core import idempotency, ordering
from app.deps import idempotency_limits
from resolvers.context import Info


async def place_once(
    info: Info,
    *,
    key: str | None,
    mutation: str,
    request: dict[str, Any],
    place: Callable[[], Awaitable[ordering.OrderWithItems]],
) -> tuple[ordering.OrderWithItems, bool]:
    """The order `place` makes, or with a key already used for the same request, the order it
    made then (and `True`: replayed)."""
    if not key:
        return await place(), False
    principal = info.context.caller()
    session = info.context.session
    async with idempotency.claim(
        session,
        party_id=principal.party_id,
        key=key,
        fingerprint=idempotency.fingerprint({"mutation": mutation, "input": request}),
        limits=idempotency_limits(info.context.settings),
    ) as claimed:
        if claimed.replay is not None:
            order_id = claimed.replay["order_id"]
            return await ordering.get_order(session, principal=principal, order_id=order_id), True
        placed = await place()
        claimed.keep({"order_id": placed.order.id})
    return placed, False
