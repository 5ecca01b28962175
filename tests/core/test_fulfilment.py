"""The fulfilment engine: timed steps, zero-delay runs, and steps by hand."""

from datetime import timedelta

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, ordering
from app.core.db import Database
from app.core.errors import IllegalTransition, NotAuthorized
from app.core.fulfilment import FulfilmentEngine, advance_order
from app.core.inventory import ProductState, list_products
from app.core.ordering import OrderState
from tests.factories import Caller, make_order


async def _state(database: Database, order_id: str) -> OrderState:
    async with database.session() as s:
        order = await s.get(ordering.Order, order_id)
        assert order is not None
        return order.state


async def test_the_engine_waits_for_each_delay(
    database: Database, session: AsyncSession, developer: Caller
) -> None:
    start = clock.now()
    clock.set_clock(lambda: start)
    engine = FulfilmentEngine(
        database, ack_after=timedelta(seconds=5), complete_after=timedelta(minutes=10)
    )
    placed = await make_order(session, developer)
    # The engine, not the order, knows how long an order stays acknowledged.
    assert placed.order.next_step_at == start

    assert await engine.tick() == 0
    clock.set_clock(lambda: start + timedelta(seconds=4))
    assert await engine.tick() == 0
    clock.set_clock(lambda: start + timedelta(seconds=5))
    assert await engine.tick() == 1
    assert await _state(database, placed.order.id) is OrderState.IN_PROGRESS
    clock.set_clock(lambda: start + timedelta(minutes=9))
    assert await engine.tick() == 0
    clock.set_clock(lambda: start + timedelta(minutes=11))
    assert await engine.tick() == 1
    assert await _state(database, placed.order.id) is OrderState.COMPLETED
    products = await list_products(session, principal=developer.principal)
    assert [p.state for p in products] == [ProductState.ACTIVE]


async def test_with_zero_delays_every_order_reaches_a_final_state(
    database: Database, session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    engine = FulfilmentEngine(database, ack_after=timedelta(0), complete_after=timedelta(0))
    kept = [await make_order(session, developer) for _ in range(3)]
    dropped = await make_order(session, other_developer)
    await ordering.request_cancellation(
        session, principal=other_developer.principal, order_id=dropped.order.id
    )
    assert await engine.run_until_idle() == 3 * 2 + 2
    assert {await _state(database, o.order.id) for o in kept} == {OrderState.COMPLETED}
    assert await _state(database, dropped.order.id) is OrderState.CANCELLED
    assert await engine.tick() == 0


async def test_ops_can_move_an_order_forward_by_hand(
    database: Database, session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    placed = await make_order(session, developer)
    with pytest.raises(NotAuthorized):
        await advance_order(session, principal=developer.principal, order_id=placed.order.id)
    order = await advance_order(session, principal=ops.principal, order_id=placed.order.id)
    assert order.state is OrderState.IN_PROGRESS
    order = await advance_order(session, principal=ops.principal, order_id=placed.order.id)
    assert order.state is OrderState.COMPLETED
    with pytest.raises(IllegalTransition):
        await advance_order(session, principal=ops.principal, order_id=placed.order.id)
