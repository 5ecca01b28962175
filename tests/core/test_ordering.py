"""Placing orders, their state machines, cancellation, modification and tenancy."""

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, ordering, quoting
from app.core.db import Database, commit
from app.core.errors import Conflict, IllegalTransition, InvalidRequest, NotFound
from app.core.events import Channel, Event
from app.core.geography import Site
from app.core.inventory import ProductState, get_product
from app.core.ordering import ItemAction, ItemRequest, ItemState, OrderState
from app.core.qualification import assess
from tests.factories import (
    LAS_VEGAS,
    NEW_YORK,
    Caller,
    complete,
    line_spec,
    make_caller,
    make_order,
    make_product,
)


async def _counts(session: AsyncSession) -> tuple[int, int, int]:
    orders = (await session.exec(select(func.count()).select_from(ordering.Order))).one()
    events = (await session.exec(select(func.count()).select_from(Event))).one()
    sites = (await session.exec(select(func.count()).select_from(Site))).one()
    return orders, events, sites


async def test_an_order_is_acknowledged_priced_and_announced(
    session: AsyncSession, developer: Caller
) -> None:
    spec = await line_spec(session)
    placed = await make_order(session, developer, spec=spec, external_id="PO-1")

    assert placed.order.state is OrderState.ACKNOWLEDGED
    assert placed.order.party_id == developer.party_id
    assert placed.order.channel is Channel.GRAPHQL
    [item] = placed.items
    assert item.state is ItemState.ACKNOWLEDGED
    assert item.action is ItemAction.ADD
    expected = (await assess(session, spec)).quoted_price
    assert (item.monthly_cents, item.one_time_cents) == (
        expected.monthly_cents,
        expected.one_time_cents,
    )
    assert placed.order.monthly_cents == item.monthly_cents
    assert item.a_site_id
    assert item.z_site_id
    created = (await session.exec(select(Event).where(Event.entity_id == placed.order.id))).all()
    assert [(e.kind, e.state) for e in created] == [("created", "acknowledged")]
    assert created[0].data["buyer_party_id"] == developer.party_id


async def test_an_invalid_item_stores_nothing(session: AsyncSession, developer: Caller) -> None:
    before = await _counts(session)
    bad = replace(await line_spec(session), bandwidth_mbps=300)
    with pytest.raises(InvalidRequest) as refused:
        await make_order(session, developer, spec=bad)
    assert refused.value.field == "items[0].bandwidth_mbps"
    assert refused.value.code == "UNSUPPORTED_BANDWIDTH"
    await session.rollback()
    assert await _counts(session) == before


async def test_an_item_that_cannot_be_delivered_offers_alternatives(
    session: AsyncSession, developer: Caller
) -> None:
    before = await _counts(session)
    too_fast = await line_spec(session, a=LAS_VEGAS, z=NEW_YORK, mbps=100000)
    with pytest.raises(InvalidRequest) as refused:
        await make_order(session, developer, spec=too_fast)
    assert refused.value.code == "NOT_SERVICEABLE"
    # Las Vegas is off-net and no partner serves it: the nearest buildings we serve instead.
    why, *nearest = refused.value.details["alternatives"]
    assert "no partner carrier serves it" in why["reason"]
    assert nearest
    await session.rollback()
    assert await _counts(session) == before


async def test_an_order_against_a_firm_quote_takes_its_prices_and_accepts_it(
    session: AsyncSession, developer: Caller
) -> None:
    spec = await line_spec(session)
    quote = await quoting.request_quote(
        session,
        principal=developer.principal,
        specs=[spec],
        kind=quoting.QuoteKind.FIRM,
        channel=Channel.SONATA,
    )
    placed = await ordering.place(
        session,
        principal=developer.principal,
        items=[],
        channel=Channel.SONATA,
        quote_id=quote.quote.id,
    )
    assert placed.items[0].quote_item_id == quote.items[0].id
    assert placed.order.monthly_cents == quote.quote.monthly_cents
    refreshed = await quoting.get_quote(
        session, principal=developer.principal, quote_id=quote.quote.id
    )
    assert refreshed.quote.state is quoting.QuoteState.ACCEPTED
    # An accepted quote cannot be ordered twice.
    with pytest.raises(IllegalTransition):
        await ordering.place(
            session,
            principal=developer.principal,
            items=[],
            channel=Channel.SONATA,
            quote_id=quote.quote.id,
        )


async def test_a_budgetary_quote_cannot_be_ordered(
    session: AsyncSession, developer: Caller
) -> None:
    quote = await quoting.request_quote(
        session,
        principal=developer.principal,
        specs=[await line_spec(session)],
        kind=quoting.QuoteKind.BUDGETARY,
        channel=Channel.GRAPHQL,
    )
    with pytest.raises(IllegalTransition) as refused:
        await ordering.place(
            session,
            principal=developer.principal,
            items=[],
            channel=Channel.GRAPHQL,
            quote_id=quote.quote.id,
        )
    assert refused.value.field == "quote_id"


async def test_fulfilment_completes_the_order_and_creates_inventory(
    session: AsyncSession, developer: Caller
) -> None:
    placed = await make_order(session, developer)
    await complete(session, placed.order)
    assert placed.order.state is OrderState.COMPLETED
    assert placed.order.completed_at is not None
    [item] = await ordering.items_of(session, placed.order.id)
    assert item.state is ItemState.COMPLETED
    assert item.product_id is not None
    product = await get_product(session, principal=developer.principal, product_id=item.product_id)
    assert product.state is ProductState.ACTIVE
    assert product.bandwidth_mbps == 1000
    assert product.monthly_cents == item.monthly_cents
    assert product.billing_account_id == placed.order.billing_account_id
    states = (
        await session.exec(
            select(Event.state).where(Event.entity_id == placed.order.id).order_by(Event.seq)  # type: ignore[arg-type]
        )
    ).all()
    assert states == ["acknowledged", "in_progress", "completed"]


async def test_cancelling_an_open_order(session: AsyncSession, developer: Caller) -> None:
    placed = await make_order(session, developer)
    order = await ordering.request_cancellation(
        session, principal=developer.principal, order_id=placed.order.id, reason="budget cut"
    )
    assert order.state is OrderState.ASSESSING_CANCELLATION
    await complete(session, order)
    assert OrderState(order.state) is OrderState.CANCELLED
    assert order.cancellation_reason == "budget cut"
    [item] = await ordering.items_of(session, order.id)
    assert item.state is ItemState.CANCELLED
    assert item.product_id is None


async def test_a_completed_order_cannot_be_cancelled(
    session: AsyncSession, developer: Caller
) -> None:
    placed = await make_order(session, developer)
    await complete(session, placed.order)
    with pytest.raises(IllegalTransition):
        await ordering.request_cancellation(
            session, principal=developer.principal, order_id=placed.order.id
        )
    assert placed.order.state is OrderState.COMPLETED


async def test_changing_the_bandwidth_of_a_product(
    session: AsyncSession, developer: Caller
) -> None:
    product = await make_product(session, developer)
    old_price = product.monthly_cents
    change = await ordering.place(
        session,
        principal=developer.principal,
        channel=Channel.GRAPHQL,
        items=[
            ItemRequest(
                action=ItemAction.MODIFY,
                product_id=product.id,
                spec=replace(product.spec(), bandwidth_mbps=10000),
            )
        ],
    )
    assert change.items[0].bandwidth_mbps == 10000
    await session.refresh(product)
    assert product.state is ProductState.ACTIVE_PENDING_CHANGE
    # A second change while one is pending is refused.
    with pytest.raises(IllegalTransition):
        await ordering.place(
            session,
            principal=developer.principal,
            channel=Channel.GRAPHQL,
            items=[ItemRequest(action=ItemAction.DELETE, product_id=product.id)],
        )
    await complete(session, change.order)
    await session.refresh(product)
    assert ProductState(product.state) is ProductState.ACTIVE
    assert product.bandwidth_mbps == 10000
    assert product.monthly_cents > old_price


async def test_a_modification_that_changes_nothing_is_refused(
    session: AsyncSession, developer: Caller
) -> None:
    product = await make_product(session, developer)
    with pytest.raises(InvalidRequest):
        await ordering.place(
            session,
            principal=developer.principal,
            channel=Channel.GRAPHQL,
            items=[
                ItemRequest(action=ItemAction.MODIFY, product_id=product.id, spec=product.spec())
            ],
        )


async def test_disconnecting_a_product(session: AsyncSession, developer: Caller) -> None:
    product = await make_product(session, developer)
    disconnect = await ordering.place(
        session,
        principal=developer.principal,
        channel=Channel.TMF,
        items=[ItemRequest(action=ItemAction.DELETE, product_id=product.id)],
    )
    assert disconnect.items[0].monthly_cents == 0
    await complete(session, disconnect.order)
    await session.refresh(product)
    assert product.state is ProductState.TERMINATED
    assert product.terminated_at is not None


async def test_cancelling_a_modification_returns_the_product_to_service(
    session: AsyncSession, developer: Caller
) -> None:
    product = await make_product(session, developer)
    change = await ordering.place(
        session,
        principal=developer.principal,
        channel=Channel.GRAPHQL,
        items=[ItemRequest(action=ItemAction.DELETE, product_id=product.id)],
    )
    await ordering.request_cancellation(
        session, principal=developer.principal, order_id=change.order.id
    )
    await complete(session, change.order)
    await session.refresh(product)
    assert product.state is ProductState.ACTIVE


async def test_moving_the_requested_completion_date(
    session: AsyncSession, developer: Caller
) -> None:
    placed = await make_order(session, developer)
    when = clock.now() + timedelta(days=40)
    changed = await ordering.change_requested_completion(
        session,
        principal=developer.principal,
        order_id=placed.order.id,
        item_id=placed.items[0].id,
        requested_completion_at=when,
    )
    assert changed.items[0].requested_completion_at == when
    with pytest.raises(InvalidRequest):
        await ordering.change_requested_completion(
            session,
            principal=developer.principal,
            order_id=placed.order.id,
            item_id=placed.items[0].id,
            requested_completion_at=clock.now() - timedelta(days=1),
        )
    with pytest.raises(NotFound):
        await ordering.change_requested_completion(
            session,
            principal=developer.principal,
            order_id=placed.order.id,
            item_id="oi_missing",
            requested_completion_at=when,
        )


async def test_another_partys_order_does_not_exist_for_the_caller(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    placed = await make_order(session, developer)
    order_id = placed.order.id
    for attempt in (
        ordering.get_order(session, principal=other_developer.principal, order_id=order_id),
        ordering.request_cancellation(
            session, principal=other_developer.principal, order_id=order_id
        ),
        ordering.change_requested_completion(
            session,
            principal=other_developer.principal,
            order_id=order_id,
            item_id=placed.items[0].id,
            requested_completion_at=clock.now() + timedelta(days=9),
        ),
    ):
        with pytest.raises(NotFound) as hidden:
            await attempt
        assert hidden.value.field == "id"
    with pytest.raises(NotFound) as missing:
        await ordering.get_order(session, principal=developer.principal, order_id="ord_nope")
    assert (missing.value.code, missing.value.field) == ("NOT_FOUND", "id")

    assert await ordering.list_orders(session, principal=other_developer.principal) == []
    assert [o.id for o in await ordering.list_orders(session, principal=ops.principal)] == [
        order_id
    ]
    assert placed.order.state is OrderState.ACKNOWLEDGED


async def test_an_order_is_read_with_its_items_in_order_by_its_party_and_by_operations(
    session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    spec = await line_spec(session)
    placed = await ordering.place(
        session,
        principal=developer.principal,
        channel=Channel.GRAPHQL,
        items=[ordering.ItemRequest(spec=spec, external_id=name) for name in ("b", "a", "c")],
    )
    for reader in (developer, ops):
        found = await ordering.get_order(
            session, principal=reader.principal, order_id=placed.order.id
        )
        assert found.order.id == placed.order.id
        assert [item.external_id for item in found.items] == ["b", "a", "c"]
        assert [item.position for item in found.items] == [1, 2, 3]


async def test_another_partys_product_cannot_be_changed(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    product = await make_product(session, developer)
    with pytest.raises(NotFound):
        await ordering.place(
            session,
            principal=other_developer.principal,
            channel=Channel.GRAPHQL,
            items=[ItemRequest(action=ItemAction.DELETE, product_id=product.id)],
        )
    await session.refresh(product)
    assert product.state is ProductState.ACTIVE


async def test_two_concurrent_changes_to_one_order_cannot_both_win(
    database: Database, session: AsyncSession, developer: Caller
) -> None:
    placed = await make_order(session, developer)
    async with database.session() as first, database.session() as second:
        mine = await first.get(ordering.Order, placed.order.id)
        theirs = await second.get(ordering.Order, placed.order.id)
        assert mine is not None
        assert theirs is not None
        ordering.transition(first, mine, OrderState.ASSESSING_CANCELLATION)
        ordering.transition(second, theirs, OrderState.IN_PROGRESS)
        await commit(first)
        with pytest.raises(Conflict):
            await commit(second)
    await session.refresh(placed.order)
    assert placed.order.state is OrderState.ASSESSING_CANCELLATION
    assert placed.order.version == 2
    history = (
        await session.exec(select(Event.state).where(Event.entity_id == placed.order.id))
    ).all()
    assert sorted(state or "" for state in history) == ["acknowledged", "assessing_cancellation"]


async def test_items_by_order_and_delivering_items_are_scoped(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    product = await make_product(session, developer)
    second = await make_order(session, developer)
    mine = await ordering.items_by_order(
        session, principal=developer.principal, order_ids=[product.order_id, second.order.id]
    )
    assert [len(mine[product.order_id]), len(mine[second.order.id])] == [1, 1]
    assert mine[product.order_id][0].product_id == product.id
    theirs = await ordering.items_by_order(
        session, principal=other_developer.principal, order_ids=[second.order.id]
    )
    assert theirs == {second.order.id: []}
    delivered = await ordering.delivering_items(
        session, principal=developer.principal, products=[product]
    )
    assert delivered[product.id].order_id == product.order_id
    hidden = await ordering.delivering_items(
        session, principal=other_developer.principal, products=[product]
    )
    assert hidden == {}


@pytest.mark.parametrize("buyers", [1, 2, 3, 4, 7])
async def test_an_agent_reads_the_orders_of_every_buyer_it_acts_for_and_no_one_elses(
    session: AsyncSession, buyers: int
) -> None:
    # An agent sees its own party and its buyers': every count of parties, whether or not
    # it fills the parameters of the statement that reads them, must read the same rows.
    owners = [await make_caller(session, "carrier", name=f"Buyer {i}") for i in range(buyers)]
    stranger = await make_caller(session, "carrier", name="Stranger")
    agent = await make_caller(
        session, "carrier", name="Agent", acting_for=[o.party_id for o in owners]
    )
    orders = {o.party_id: (await make_order(session, o)).order.id for o in owners}
    theirs = (await make_order(session, stranger)).order.id
    for party_id, order_id in orders.items():
        read = await ordering.read_order(session, principal=agent.principal, order_id=order_id)
        assert read.order.party_id == party_id
        assert [item.order_id for item in read.items] == [order_id]
        got = await ordering.get_order(session, principal=agent.principal, order_id=order_id)
        assert got.order.id == order_id
    with pytest.raises(NotFound):
        await ordering.read_order(session, principal=agent.principal, order_id=theirs)
    with pytest.raises(NotFound):
        await ordering.get_order(session, principal=agent.principal, order_id=theirs)
    for count in range(1, len(orders) + 1):
        wanted = [*list(orders.values())[:count], theirs]
        read_many = await ordering.read_orders(
            session, principal=agent.principal, order_ids=wanted, with_sites=True
        )
        assert sorted(o.order.id for o in read_many.orders) == sorted(wanted[:count])
        assert all(o.items for o in read_many.orders)
