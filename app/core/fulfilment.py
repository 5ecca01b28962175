"""The fulfilment engine: moves accepted orders forward and turns completed items into inventory."""

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, partners, quoting, workforce
from app.core.db import Database, commit
from app.core.errors import Conflict, IllegalTransition
from app.core.geography import Serviceability, get_locations, serviceability_of
from app.core.inventory import ProductInstance, ProductState, set_state
from app.core.order_changes import ChangeState
from app.core.ordering import (
    ItemAction,
    ItemState,
    Order,
    OrderItem,
    OrderState,
    items_of,
    move_cancellation,
    transition,
    transition_item,
)
from app.core.parties import Principal, get_scoped

log = logging.getLogger(__name__)

# States the engine moves on when an order's `next_step_at` has come.
ACTIVE_STATES = [
    OrderState.ACKNOWLEDGED,
    OrderState.IN_PROGRESS,
    OrderState.ASSESSING_CANCELLATION,
    OrderState.PENDING_CANCELLATION,
]
# Active states whose `next_step_at` is the moment of the step itself.
_TIMED_STATES = [s for s in ACTIVE_STATES if s is not OrderState.ACKNOWLEDGED]


async def step(session: AsyncSession, order: Order, *, complete_after: timedelta) -> bool:
    """Take an order one step along its lifecycle; False when it has no step to take."""
    items = await items_of(session, order.id)
    now = clock.now()
    if order.state is OrderState.ACKNOWLEDGED:
        transition(session, order, OrderState.IN_PROGRESS)
        for item in items:
            transition_item(session, order, item, ItemState.IN_PROGRESS)
        workforce.open_for_order(session, order, items)
        order.next_step_at = now + complete_after
        if await _buy_off_net_access(session, order, items):
            # The partner worker sets the next step when every partner has delivered.
            order.next_step_at = None
    elif order.state is OrderState.IN_PROGRESS:
        if any(
            w.state is not partners.PartnerWorkState.COMPLETED
            for w in await partners.work_of_order(session, order.id)
        ):
            order.next_step_at = None
            session.add(order)
            return False
        for item in items:
            await _deliver(session, order, item)
            transition_item(session, order, item, ItemState.COMPLETED)
        await workforce.finish_for_items(session, [i.id for i in items], done=True)
        transition(session, order, OrderState.COMPLETED)
        order.next_step_at = None
    elif order.state is OrderState.ASSESSING_CANCELLATION:
        transition(session, order, OrderState.PENDING_CANCELLATION)
        await move_cancellation(session, order, ChangeState.ASSESSING_CHARGE)
        order.next_step_at = now
    elif order.state is OrderState.PENDING_CANCELLATION:
        partners.cancel_work(session, await partners.work_of_order(session, order.id))
        for item in items:
            if item.state not in {ItemState.COMPLETED, ItemState.CANCELLED}:
                transition_item(session, order, item, ItemState.CANCELLED)
                await _release(session, item)
        await workforce.finish_for_items(session, [i.id for i in items], done=False)
        transition(session, order, OrderState.CANCELLED)
        await move_cancellation(session, order, ChangeState.DONE)
        order.next_step_at = None
    else:
        return False
    session.add(order)
    return True


async def _buy_off_net_access(session: AsyncSession, order: Order, items: list[OrderItem]) -> bool:
    """Start buying each new off-net end from the partner that priced it when the order was
    placed (an order placed before partners were remembered: the one that reaches it now);
    True when the order waits on partners (its reason says on which)."""
    wanted = [
        i
        for i in items
        if i.action is ItemAction.ADD and i.serviceability is Serviceability.OFF_NET
    ]
    if not wanted:
        return False
    locations = await get_locations(
        session,
        [i.a_location_id for i in wanted] + [i.z_location_id for i in wanted if i.z_location_id],
    )
    planned = {
        (w.order_item_id, w.location_id): w
        for w in await partners.work_of_order(session, order.id)
        if w.state is partners.PartnerWorkState.TO_PLACE
    }
    levels = await serviceability_of(session, list(locations.values()))
    waiting_on: list[str] = []
    for item in wanted:
        for location_id in (item.a_location_id, item.z_location_id):
            location = locations.get(location_id or "")
            if location is None:
                continue
            work = planned.get((item.id, location.id))
            if work is not None:
                partners.start_work(session, work)
                chosen = await session.get(partners.Partner, work.partner_id)
                assert chosen is not None  # foreign key
                waiting_on.append(f"{chosen.name} at {location.line}")
                continue
            if levels[location.id].level is not Serviceability.OFF_NET:
                continue
            partner = await partners.covering_partner(session, location)
            if partner is None:
                continue
            partners.plan_work(
                session,
                partner_id=partner.id,
                order_id=order.id,
                order_item_id=item.id,
                location_id=location.id,
                bandwidth_mbps=item.bandwidth_mbps,
                term_months=item.term_months,
            )
            waiting_on.append(f"{partner.name} at {location.line}")
    if waiting_on:
        order.state_reason = "waiting for partner access: " + "; ".join(waiting_on)
    return bool(waiting_on)


async def _deliver(session: AsyncSession, order: Order, item: OrderItem) -> None:
    """Make inventory true to a completed item."""
    if item.action is ItemAction.ADD:
        offering_name = item.offering_id.replace("-", " ").title()
        instance = ProductInstance(
            party_id=item.party_id,
            name=f"{offering_name} {item.bandwidth_mbps} Mbps",
            offering_id=item.offering_id,
            state=ProductState.PENDING_ACTIVE,
            a_location_id=item.a_location_id,
            z_location_id=item.z_location_id,
            a_site_id=item.a_site_id,
            z_site_id=item.z_site_id,
            bandwidth_mbps=item.bandwidth_mbps,
            term_months=item.term_months,
            class_of_service=item.class_of_service,
            monthly_cents=item.monthly_cents,
            one_time_cents=item.one_time_cents,
            currency=order.currency,
            billing_account_id=order.billing_account_id,
            order_id=order.id,
            configuration=item.configuration,
        )
        session.add(instance)
        await session.flush()
        set_state(session, instance, ProductState.ACTIVE)
        item.product_id = instance.id
        return
    existing = await session.get(ProductInstance, item.product_id)
    assert existing is not None  # foreign key
    if item.action is ItemAction.MODIFY:
        existing.bandwidth_mbps = item.bandwidth_mbps
        existing.term_months = item.term_months
        existing.class_of_service = item.class_of_service
        existing.monthly_cents = item.monthly_cents
        existing.configuration = item.configuration or existing.configuration
        existing.name = f"{item.offering_id.replace('-', ' ').title()} {item.bandwidth_mbps} Mbps"
        set_state(session, existing, ProductState.ACTIVE)
    else:
        set_state(session, existing, ProductState.TERMINATED)


async def _release(session: AsyncSession, item: OrderItem) -> None:
    """Return a product that a cancelled item would have changed to plain service."""
    if item.product_id and item.action is not ItemAction.ADD:
        instance = await session.get(ProductInstance, item.product_id)
        if instance is not None and instance.state in {
            ProductState.ACTIVE_PENDING_CHANGE,
            ProductState.PENDING_TERMINATE,
        }:
            set_state(session, instance, ProductState.ACTIVE)


class PartnerOutcomes:
    """What partner work means for our orders: delivered access lets an order complete, a
    partner's refusal fails it with the partner's reason."""

    async def access_ready(self, session: AsyncSession, order_id: str) -> None:
        """Every partner access of an order is delivered: its next step is due now."""
        order = await session.get(Order, order_id)
        if order is None or order.state is not OrderState.IN_PROGRESS:
            return
        order.state_reason = None
        order.next_step_at = clock.now()
        session.add(order)

    async def access_failed(self, session: AsyncSession, order_id: str, reason: str) -> None:
        """A partner refused or failed an access: the order fails with the partner's reason."""
        order = await session.get(Order, order_id)
        if order is None or order.state is not OrderState.IN_PROGRESS:
            return
        items = await items_of(session, order.id)
        for item in items:
            if item.state in {ItemState.IN_PROGRESS, ItemState.ACKNOWLEDGED}:
                transition_item(session, order, item, ItemState.FAILED)
        await workforce.finish_for_items(session, [i.id for i in items], done=False)
        partners.cancel_work(
            session,
            [
                w
                for w in await partners.work_of_order(session, order.id)
                if w.state is not partners.PartnerWorkState.REJECTED
            ],
        )
        order.state_reason = reason[:1000]
        transition(session, order, OrderState.FAILED)
        order.next_step_at = None


class FulfilmentEngine:
    """Runs `step` on every order whose next step is due, each order in its own transaction;
    several engines on one database never take the same step twice."""

    def __init__(
        self,
        database: Database,
        *,
        ack_after: timedelta,
        complete_after: timedelta,
        quote_after: timedelta | None = None,
    ) -> None:
        self.database = database
        self.ack_after = ack_after
        self.complete_after = complete_after
        self.quote_after = quote_after if quote_after is not None else ack_after

    def _due(self, now: datetime) -> ColumnElement[bool]:
        """Orders whose next step has come: an acknowledged order `ack_after` after it was
        acknowledged (its `next_step_at`), the others at their `next_step_at`."""
        step_at = col(Order.next_step_at)
        return or_(
            and_(col(Order.state) == OrderState.ACKNOWLEDGED, step_at <= now - self.ack_after),
            and_(col(Order.state).in_(_TIMED_STATES), step_at <= now),
        )

    async def tick(self) -> int:
        """Advance everything that is due now; returns the number of steps taken."""
        steps = 0
        async with self.database.session() as session:
            await quoting.answer_pending(session, older_than=self.quote_after)
            due = (
                await session.exec(
                    select(Order.id).where(self._due(clock.now())).order_by(col(Order.next_step_at))
                )
            ).all()
        for order_id in due:
            async with self.database.session() as session:
                # The row lock, held until the step commits, makes this engine the only one
                # to take this step; an order another engine holds is skipped, not waited for.
                order = (
                    await session.exec(
                        select(Order)
                        .where(Order.id == order_id, self._due(clock.now()))
                        .with_for_update(skip_locked=True)
                    )
                ).first()
                if order is None:
                    continue
                try:
                    if await step(session, order, complete_after=self.complete_after):
                        await commit(session)
                        steps += 1
                except (Conflict, IllegalTransition):
                    # Someone else moved the order meanwhile; it is looked at again next tick.
                    log.info("order %s changed while being fulfilled; retrying later", order_id)
        return steps

    async def run_until_idle(self, max_rounds: int = 20) -> int:
        """Tick until nothing is due (with zero delays: every order reaches a final state)."""
        total = 0
        for _ in range(max_rounds):
            taken = await self.tick()
            total += taken
            if not taken:
                break
        return total

    async def run_forever(self, poll_seconds: float) -> None:
        """Tick until cancelled."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("fulfilment tick failed; retrying at the next poll")
            await asyncio.sleep(poll_seconds)


async def advance_order(
    session: AsyncSession,
    *,
    principal: Principal,
    order_id: str,
    complete_after: timedelta = timedelta(0),
) -> Order:
    """Take an order its next step now, whatever its timer says (operations staff)."""
    principal.require_ops()
    order = await get_scoped(session, Order, order_id, principal, what="order")
    if not await step(session, order, complete_after=complete_after):
        raise IllegalTransition(
            f"an order in state '{order.state}' has no next step", field="state"
        )
    await commit(session)
    return order
