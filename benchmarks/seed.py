"""The data a benchmark reads: the demo parties, and many delivered orders for each of the
customers it calls as, copied in bulk from one order of theirs."""

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from app.core import demo
from app.core.db import Database
from app.core.geography import AddressInput, resolve_address
from app.core.migrate import upgrade
from app.core.ordering import Order, OrderItem, OrderState
from tests.statements import copies

# The demo parties the benchmark calls as: a carrier (Sonata, TMF), an enterprise (Cantata,
# TMF) and a developer (GraphQL).
CUSTOMERS = ("carrier", "enterprise", "developer")
CHICAGO = "350 E Cermak Rd, Chicago, IL 60616"
NEW_YORK = "60 Hudson St, New York, NY 10013"


@dataclass(frozen=True)
class Seeded:
    """What the load driver needs to know about the seeded data."""

    keys: dict[str, str]
    # One delivered order of each customer, by role.
    order_ids: dict[str, str]
    chicago_id: str
    new_york_id: str


def _order_copy(n: int, *, prefix: str, created: datetime) -> dict[str, Any]:
    # A second apart, so that every list has one order of them.
    return {
        "id": f"{prefix}{n}",
        "external_id": f"BENCH-{n}",
        "created_at": created + timedelta(seconds=n + 1),
    }


def _item_copy(n: int, *, prefix: str, position: int) -> dict[str, Any]:
    return {"id": f"oi_{prefix[4:]}{n}x{position}", "order_id": f"{prefix}{n}"}


async def seed(url: str, *, orders_per_customer: int, secret: str) -> Seeded:
    """Migrate and seed the database at `url`; each customer gets `orders_per_customer` more
    delivered orders, inserted in one statement per table."""
    upgrade(url)
    database = Database.connect(url)
    try:
        keys = await demo.seed(database, secret=secret)
        # Fresh ids on every run, so that a PostgreSQL database can be benchmarked again.
        run = uuid.uuid4().hex[:8]
        order_ids: dict[str, str] = {}
        async with database.session() as session:
            for role in CUSTOMERS:
                party_id = next(p.party_id for p in demo.DEMO_PARTIES if p.role == role)
                template = (
                    await session.exec(
                        select(Order)
                        .where(Order.party_id == party_id, Order.state == OrderState.COMPLETED)
                        .order_by(col(Order.created_at))
                    )
                ).first()
                assert template is not None, f"the demo party {role} has no delivered order"
                items = (
                    await session.exec(select(OrderItem).where(OrderItem.order_id == template.id))
                ).all()
                prefix = f"ord_b{run}{role[:3]}"
                await copies(
                    session,
                    template,
                    orders_per_customer,
                    functools.partial(_order_copy, prefix=prefix, created=template.created_at),
                )
                for item in items:
                    await copies(
                        session,
                        item,
                        orders_per_customer,
                        functools.partial(_item_copy, prefix=prefix, position=item.position),
                    )
                order_ids[role] = f"{prefix}0"
            chicago = await resolve_address(session, AddressInput(text=CHICAGO))
            new_york = await resolve_address(session, AddressInput(text=NEW_YORK))
            await session.commit()
        return Seeded(keys, order_ids, chicago.id, new_york.id)
    finally:
        await database.dispose()
