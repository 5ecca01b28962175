"""Figures for the operations dashboards, across every party and channel."""

import statistics
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock
from app.core.events import Channel
from app.core.inventory import IN_SERVICE, ProductInstance
from app.core.ordering import Order, OrderState
from app.core.parties import Principal
from app.core.tickets import OPEN_STATES, Severity, Ticket

CYCLE_TIME_SAMPLE = 1000


@dataclass(frozen=True)
class CycleTime:
    """Hours from order to completion, over the most recent completed orders."""

    sample_size: int
    p50_hours: float | None
    p90_hours: float | None
    p99_hours: float | None


async def orders_by_state(session: AsyncSession, *, principal: Principal) -> dict[OrderState, int]:
    """How many orders are in each state."""
    principal.require_ops()
    rows = (await session.exec(select(Order.state, func.count()).group_by(col(Order.state)))).all()
    counts = dict.fromkeys(OrderState, 0)
    counts.update({OrderState(state): n for state, n in rows})
    return counts


async def orders_by_channel(session: AsyncSession, *, principal: Principal) -> dict[Channel, int]:
    """How many orders came through each face."""
    principal.require_ops()
    rows = (
        await session.exec(select(Order.channel, func.count()).group_by(col(Order.channel)))
    ).all()
    counts = dict.fromkeys(Channel, 0)
    counts.update({Channel(channel): n for channel, n in rows})
    return counts


def _percentile(sorted_hours: list[float], share: float) -> float | None:
    if not sorted_hours:
        return None
    if len(sorted_hours) == 1:
        return round(sorted_hours[0], 3)
    cuts = statistics.quantiles(sorted_hours, n=100, method="inclusive")
    return round(cuts[int(share * 100) - 1], 3)


async def order_cycle_time(session: AsyncSession, *, principal: Principal) -> CycleTime:
    """Percentiles of order-to-completion time."""
    principal.require_ops()
    rows = (
        await session.exec(
            select(Order.created_at, Order.completed_at)
            .where(Order.state == OrderState.COMPLETED, col(Order.completed_at).is_not(None))
            # The id breaks ties, so the sample at the limit is the same on every database.
            .order_by(col(Order.completed_at).desc(), col(Order.id))
            .limit(CYCLE_TIME_SAMPLE)
        )
    ).all()
    hours = sorted(
        (completed - created).total_seconds() / 3600
        for created, completed in rows
        if isinstance(completed, datetime)
    )
    return CycleTime(
        len(hours), _percentile(hours, 0.5), _percentile(hours, 0.9), _percentile(hours, 0.99)
    )


async def open_tickets_by_severity(
    session: AsyncSession, *, principal: Principal
) -> dict[Severity, int]:
    """How many tickets are open at each severity."""
    principal.require_ops()
    rows = (
        await session.exec(
            select(Ticket.severity, func.count())
            .where(col(Ticket.state).in_(sorted(OPEN_STATES)))
            .group_by(col(Ticket.severity))
        )
    ).all()
    counts = dict.fromkeys(Severity, 0)
    counts.update({Severity(severity): n for severity, n in rows})
    return counts


async def monthly_recurring_revenue_cents(session: AsyncSession, *, principal: Principal) -> int:
    """The monthly charges of every product in service, in cents."""
    principal.require_ops()
    total = (
        await session.exec(
            select(func.coalesce(func.sum(ProductInstance.monthly_cents), 0)).where(
                col(ProductInstance.state).in_(sorted(IN_SERVICE))
            )
        )
    ).one()
    return int(total)


def as_of() -> datetime:
    """When the figures were taken."""
    return clock.now()
