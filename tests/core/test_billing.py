"""Billing: accounts, applied rates from inventory, the monthly cycle and on-demand bills."""

import asyncio
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import billing, clock, ordering
from app.core.billing import BillKind, BillState, RateKind
from app.core.db import Database
from app.core.errors import IllegalTransition, InvalidRequest, NotAuthorized, NotFound
from app.core.events import Channel, EntityKind, EventKind, list_events
from app.core.inventory import ProductInstance, ProductState
from tests.factories import Caller, complete, make_order, make_product

DAY = timedelta(days=1)


def _at(moment: datetime) -> None:
    """Stop the clock at `moment`."""
    clock.set_clock(lambda: moment)


def _utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def _product_at(session: AsyncSession, caller: Caller, moment: datetime) -> ProductInstance:
    """A product ordered and activated at `moment`."""
    _at(moment)
    product = await make_product(session, caller)
    assert product.activated_at == moment
    assert product.monthly_cents > 0
    assert product.one_time_cents > 0
    return product


async def _terminate_at(
    session: AsyncSession, caller: Caller, product: ProductInstance, moment: datetime
) -> None:
    """Disconnect a product by a completed order at `moment`."""
    _at(moment)
    placed = await ordering.place(
        session,
        principal=caller.principal,
        channel=Channel.GRAPHQL,
        items=[ordering.ItemRequest(action=ordering.ItemAction.DELETE, product_id=product.id)],
    )
    await complete(session, placed.order)
    assert product.state is ProductState.TERMINATED
    assert product.terminated_at == moment


def _is_prorated(amount: int, monthly: int, served: timedelta, month_days: int) -> bool:
    """Whether `amount` is the monthly charge for `served` out of the month, to the cent."""
    exact = Fraction(monthly) * Fraction(served / DAY) / month_days
    return abs(amount - exact) <= Fraction(1, 2)


def _by_kind(rates: list[tuple[RateKind, str, int]]) -> dict[RateKind, int]:
    kinds = [kind for kind, _, _ in rates]
    assert len(kinds) == len(set(kinds)), rates
    return {kind: amount for kind, _, amount in rates}


async def test_each_party_gets_one_default_account_which_its_orders_use(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    account = await billing.ensure_account(session, party_id=developer.party_id)
    again = await billing.ensure_account(session, party_id=developer.party_id)
    theirs = await billing.ensure_account(session, party_id=other_developer.party_id)
    await session.commit()
    assert again.id == account.id
    assert theirs.id != account.id
    assert account.party_id == developer.party_id
    assert account.is_default
    assert account.state is billing.AccountState.ACTIVE
    assert account.name == "Nimbus Labs billing"
    assert account.payment_terms_days == billing.PAYMENT_DAYS
    assert [a.id for a in await billing.list_accounts(session, principal=developer.principal)] == [
        account.id
    ]

    placed = await make_order(session, developer)
    assert placed.order.billing_account_id == account.id
    assert [a.id for a in await billing.list_accounts(session, principal=developer.principal)] == [
        account.id
    ]
    with pytest.raises(NotFound):
        await billing.ensure_account(session, party_id="pty_0000000000000000")


async def test_rates_follow_the_products_time_in_service(
    session: AsyncSession, developer: Caller
) -> None:
    # Activated at noon on 10 February 2024 (a 29-day month), disconnected on 16 April (30 days).
    product = await _product_at(session, developer, _utc(2024, 2, 10, 12))
    await _terminate_at(session, developer, product, _utc(2024, 4, 16))
    monthly, one_time = product.monthly_cents, product.one_time_cents

    def month(m: int) -> dict[RateKind, int]:
        return _by_kind(billing.rates_for(product, *billing.month_period(2024, m)))

    assert month(1) == {}
    february = month(2)
    assert set(february) == {RateKind.RECURRING, RateKind.ONE_TIME}
    assert _is_prorated(february[RateKind.RECURRING], monthly, 19.5 * DAY, 29)
    assert february[RateKind.RECURRING] < monthly
    assert february[RateKind.ONE_TIME] == one_time
    assert month(3) == {RateKind.RECURRING: monthly}
    april = month(4)
    assert set(april) == {RateKind.RECURRING}
    assert _is_prorated(april[RateKind.RECURRING], monthly, 15 * DAY, 30)
    assert month(5) == {}

    # A part of a month is prorated against the whole calendar month.
    part = _by_kind(billing.rates_for(product, _utc(2024, 3, 1), _utc(2024, 3, 16, 12)))
    assert set(part) == {RateKind.RECURRING}
    assert _is_prorated(part[RateKind.RECURRING], monthly, 15.5 * DAY, 31)
    names = {text for _, text, _ in billing.rates_for(product, *billing.month_period(2024, 2))}
    assert all(product.name in text for text in names)


async def test_the_cycle_bills_every_account_for_an_ended_month(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    mine = await _product_at(session, developer, _utc(2024, 2, 10, 12))
    theirs = await _product_at(session, other_developer, _utc(2024, 3, 1))
    _at(_utc(2024, 4, 2, 9))

    assert await billing.run_cycle(session, principal=ops.principal, year=2024, month=3) == 2

    [my_bill] = await billing.list_bills(session, principal=developer.principal)
    mine_billed = await billing.get_bill(session, principal=developer.principal, bill_id=my_bill.id)
    assert my_bill.kind is BillKind.CYCLE
    assert (my_bill.period_start, my_bill.period_end) == (_utc(2024, 3, 1), _utc(2024, 4, 1))
    assert my_bill.bill_date == _utc(2024, 4, 2, 9)
    assert my_bill.due_date == my_bill.bill_date + billing.PAYMENT_DAYS * DAY
    assert my_bill.state is billing.BillState.NEW
    assert [(r.product_id, r.kind, r.amount_cents) for r in mine_billed.rates] == [
        (mine.id, RateKind.RECURRING, mine.monthly_cents)
    ]
    assert (my_bill.recurring_cents, my_bill.one_time_cents) == (mine.monthly_cents, 0)
    assert my_bill.total_cents == mine.monthly_cents

    # Activated at the first instant of March: a whole month and the installation.
    [their_bill] = await billing.list_bills(session, principal=other_developer.principal)
    theirs_billed = await billing.get_bill(
        session, principal=other_developer.principal, bill_id=their_bill.id
    )
    assert {r.kind: r.amount_cents for r in theirs_billed.rates} == {
        RateKind.RECURRING: theirs.monthly_cents,
        RateKind.ONE_TIME: theirs.one_time_cents,
    }
    assert their_bill.recurring_cents == theirs.monthly_cents
    assert their_bill.one_time_cents == theirs.one_time_cents
    for billed in (mine_billed, theirs_billed):
        assert billed.bill.total_cents == sum(r.amount_cents for r in billed.rates)
        assert {r.billing_account_id for r in billed.rates} == {billed.bill.billing_account_id}
        assert {(r.period_start, r.period_end) for r in billed.rates} == {
            (billed.bill.period_start, billed.bill.period_end)
        }

    created = await list_events(session, principal=developer.principal, entity=EntityKind.BILL)
    assert [(e.entity_id, e.kind) for e in created] == [(my_bill.id, EventKind.CREATED)]


async def test_a_month_bills_the_proration_and_the_installation_then_nothing_after_termination(
    session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    product = await _product_at(session, developer, _utc(2024, 2, 10, 12))
    await _terminate_at(session, developer, product, _utc(2024, 4, 16))
    _at(_utc(2024, 6, 1))
    totals: dict[int, billing.BillWithRates] = {}
    # January ended before the account was opened: nothing to bill.
    assert await billing.run_cycle(session, principal=ops.principal, year=2024, month=1) == 0
    for month in (2, 3, 4, 5):
        assert (
            await billing.run_cycle(session, principal=ops.principal, year=2024, month=month) == 1
        )
    for bill in await billing.list_bills(session, principal=developer.principal):
        billed = await billing.get_bill(session, principal=developer.principal, bill_id=bill.id)
        totals[bill.period_start.month] = billed
        assert bill.total_cents == sum(r.amount_cents for r in billed.rates)
        assert bill.total_cents == bill.recurring_cents + bill.one_time_cents + bill.tax_cents
    assert sorted(totals) == [2, 3, 4, 5]
    february = totals[2].bill
    assert february.one_time_cents == product.one_time_cents
    assert _is_prorated(february.recurring_cents, product.monthly_cents, 19.5 * DAY, 29)
    assert totals[3].bill.total_cents == product.monthly_cents
    assert totals[4].bill.one_time_cents == 0
    assert _is_prorated(totals[4].bill.recurring_cents, product.monthly_cents, 15 * DAY, 30)
    assert totals[5].rates == []
    assert totals[5].bill.total_cents == 0

    rates = await billing.list_applied_rates(session, principal=developer.principal)
    assert sorted(r.amount_cents for r in rates) == sorted(
        r.amount_cents for b in totals.values() for r in b.rates
    )
    assert len(rates) == 4


async def test_running_the_cycle_again_bills_nobody_twice(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    await _product_at(session, developer, _utc(2024, 2, 10, 12))
    await _product_at(session, other_developer, _utc(2024, 2, 20))
    _at(_utc(2024, 4, 2))
    assert await billing.run_cycle(session, principal=ops.principal, year=2024, month=3) == 2
    before = await billing.list_bills(session, principal=ops.principal)
    rates = await billing.list_applied_rates(session, principal=ops.principal)
    assert await billing.run_cycle(session, principal=ops.principal, year=2024, month=3) == 0
    assert await billing.list_bills(session, principal=ops.principal) == before
    assert len(await billing.list_applied_rates(session, principal=ops.principal)) == len(rates)


async def test_only_ops_run_the_cycle(
    session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    await _product_at(session, developer, _utc(2024, 2, 10, 12))
    _at(_utc(2024, 4, 2))
    with pytest.raises(NotAuthorized):
        await billing.run_cycle(session, principal=developer.principal, year=2024, month=3)
    assert await billing.list_bills(session, principal=ops.principal) == []


async def test_the_cycle_bills_a_month_only_once_it_has_ended(
    session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    await _product_at(session, developer, _utc(2024, 2, 10, 12))
    refused_months = [
        (_utc(2024, 4, 2), 2024, 4),  # the month is still running
        (_utc(2024, 4, 2), 2024, 5),  # the month has not begun
        (datetime(2024, 3, 31, 23, 59, 59, tzinfo=UTC), 2024, 3),  # one second short
        (_utc(2024, 4, 2), 2024, 13),
        (_utc(2024, 4, 2), 2024, 0),
    ]
    for now, year, month in refused_months:
        _at(now)
        with pytest.raises(InvalidRequest) as refused:
            await billing.run_cycle(session, principal=ops.principal, year=year, month=month)
        assert refused.value.field == "month", (now, year, month)
    assert await billing.list_bills(session, principal=ops.principal) == []

    _at(_utc(2024, 4, 1))  # the first instant after March
    assert await billing.run_cycle(session, principal=ops.principal, year=2024, month=3) == 1


async def test_an_on_demand_bill_covers_this_month_so_far(
    session: AsyncSession, developer: Caller
) -> None:
    older = await _product_at(session, developer, _utc(2024, 4, 10))
    newer = await _product_at(session, developer, _utc(2024, 5, 5))
    now = _utc(2024, 5, 20, 12)
    _at(now)

    billed = await billing.bill_on_demand(session, principal=developer.principal)
    bill = billed.bill
    assert bill.kind is BillKind.ON_DEMAND
    assert (bill.period_start, bill.period_end) == (_utc(2024, 5, 1), now)
    assert bill.party_id == developer.party_id
    rates = {(r.product_id, r.kind): r.amount_cents for r in billed.rates}
    assert set(rates) == {
        (older.id, RateKind.RECURRING),
        (newer.id, RateKind.RECURRING),
        (newer.id, RateKind.ONE_TIME),
    }
    assert _is_prorated(rates[older.id, RateKind.RECURRING], older.monthly_cents, 19.5 * DAY, 31)
    assert _is_prorated(rates[newer.id, RateKind.RECURRING], newer.monthly_cents, 15.5 * DAY, 31)
    assert rates[newer.id, RateKind.ONE_TIME] == newer.one_time_cents
    assert bill.total_cents == sum(rates.values())
    assert bill.one_time_cents == newer.one_time_cents

    stored = await billing.get_bill(session, principal=developer.principal, bill_id=bill.id)
    assert sorted(r.id for r in stored.rates) == sorted(r.id for r in billed.rates)
    assert stored.bill.total_cents == bill.total_cents


async def test_an_on_demand_bill_for_a_named_account_must_be_the_callers(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    await _product_at(session, developer, _utc(2024, 4, 10))
    account = await billing.ensure_account(session, party_id=developer.party_id)
    await session.commit()
    _at(_utc(2024, 5, 20, 12))
    billed = await billing.bill_on_demand(
        session, principal=developer.principal, account_id=account.id
    )
    assert billed.bill.billing_account_id == account.id
    assert billed.bill.total_cents > 0

    with pytest.raises(NotFound) as refused:
        await billing.bill_on_demand(
            session, principal=other_developer.principal, account_id=account.id
        )
    assert refused.value.field == "billing_account"
    assert await billing.list_bills(session, principal=other_developer.principal) == []


async def test_a_party_without_products_gets_an_empty_on_demand_bill(
    session: AsyncSession, developer: Caller
) -> None:
    billed = await billing.bill_on_demand(session, principal=developer.principal)
    assert billed.rates == []
    assert billed.bill.total_cents == 0
    assert [a.id for a in await billing.list_accounts(session, principal=developer.principal)] == [
        billed.bill.billing_account_id
    ]


async def test_bills_accounts_and_rates_belong_to_their_party(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    await _product_at(session, developer, _utc(2024, 2, 10, 12))
    theirs = await _product_at(session, other_developer, _utc(2024, 2, 12))
    _at(_utc(2024, 4, 2))
    assert await billing.run_cycle(session, principal=ops.principal, year=2024, month=3) == 2
    [my_bill] = await billing.list_bills(session, principal=developer.principal)
    [their_bill] = await billing.list_bills(session, principal=other_developer.principal)
    assert my_bill.party_id == developer.party_id
    assert their_bill.party_id == other_developer.party_id
    [my_account] = await billing.list_accounts(session, principal=developer.principal)

    stranger = other_developer.principal
    with pytest.raises(NotFound):
        await billing.get_bill(session, principal=stranger, bill_id=my_bill.id)
    with pytest.raises(NotFound) as refused:
        await billing.get_account(session, principal=stranger, account_id=my_account.id)
    assert refused.value.field == "billing_account"
    assert my_account.id not in {
        a.id for a in await billing.list_accounts(session, principal=stranger)
    }
    their_rates = await billing.list_applied_rates(session, principal=stranger)
    assert their_rates
    assert {r.product_id for r in their_rates} == {theirs.id}
    assert {r.party_id for r in their_rates} == {other_developer.party_id}

    everyone = await billing.list_bills(session, principal=ops.principal)
    assert {b.id for b in everyone} == {my_bill.id, their_bill.id}
    seen = await billing.get_bill(session, principal=ops.principal, bill_id=my_bill.id)
    assert seen.bill.id == my_bill.id


async def test_the_monthly_job_bills_last_month_once(
    session: AsyncSession, developer: Caller
) -> None:
    product = await _product_at(session, developer, _utc(2024, 2, 10, 12))
    _at(_utc(2024, 3, 5))
    assert await billing.bill_last_month(session) == 1
    assert await billing.bill_last_month(session) == 0
    [bill] = await billing.list_bills(session, principal=developer.principal)
    assert (bill.period_start, bill.period_end) == (_utc(2024, 2, 1), _utc(2024, 3, 1))
    assert bill.one_time_cents == product.one_time_cents


async def test_monthly_jobs_of_two_workers_at_once_bill_each_account_once(
    postgres_schema: str | None,
    database: Database,
    session: AsyncSession,
    developer: Caller,
    other_developer: Caller,
    ops: Caller,
) -> None:
    if not postgres_schema:
        pytest.skip("SQLite has one writer: two workers need PostgreSQL")
    for caller in (developer, other_developer):
        await _product_at(session, caller, _utc(2024, 2, 10, 12))
    _at(_utc(2024, 3, 5))

    async def one_run() -> int:
        async with database.session() as own:
            return await billing.bill_last_month(own)

    # Whichever run holds an account bills it; the other skips it rather than fail or wait.
    assert sum(await asyncio.gather(one_run(), one_run())) == 2
    bills = await billing.list_bills(session, principal=ops.principal)
    assert len(bills) == 2


async def test_ops_move_a_bill_forward_and_rates_are_read_within_tenancy(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    _at(_utc(2026, 3, 3))
    await make_product(session, developer)
    _at(_utc(2026, 3, 20))
    made = await billing.bill_on_demand(session, principal=developer.principal)
    on_demand = billing.bills_query(principal=developer.principal, kind=BillKind.ON_DEMAND)
    assert [b.id for b in (await session.exec(on_demand)).all()] == [made.bill.id]
    cycle = billing.bills_query(principal=developer.principal, kind=BillKind.CYCLE)
    assert (await session.exec(cycle)).all() == []
    rate = made.rates[0]
    assert (
        await billing.get_applied_rate(session, principal=developer.principal, rate_id=rate.id)
    ).id == rate.id
    with pytest.raises(NotFound):
        await billing.get_applied_rate(
            session, principal=other_developer.principal, rate_id=rate.id
        )
    mine = billing.applied_rates_query(principal=developer.principal, bill_id=made.bill.id)
    assert {r.id for r in (await session.exec(mine)).all()} == {r.id for r in made.rates}
    theirs = billing.applied_rates_query(principal=other_developer.principal)
    assert (await session.exec(theirs)).all() == []
    with pytest.raises(NotAuthorized):
        await billing.change_bill_state(
            session, principal=developer.principal, bill_id=made.bill.id, state=BillState.SENT
        )
    sent = await billing.change_bill_state(
        session, principal=ops.principal, bill_id=made.bill.id, state=BillState.SENT
    )
    assert sent.state is BillState.SENT
    with pytest.raises(IllegalTransition):
        await billing.change_bill_state(
            session, principal=ops.principal, bill_id=made.bill.id, state=BillState.NEW
        )
    moves = await list_events(
        session, principal=ops.principal, entity=EntityKind.BILL, entity_id=made.bill.id
    )
    assert [(e.kind, e.state) for e in moves] == [
        (EventKind.CREATED, "new"),
        (EventKind.STATE_CHANGED, "sent"),
    ]


async def test_a_further_account_is_opened_and_renamed_by_its_party_only(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    opened = await billing.open_account(session, principal=developer.principal, name="Lab")
    assert (opened.party_id, opened.is_default) == (developer.party_id, False)
    with pytest.raises(InvalidRequest):
        await billing.open_account(session, principal=developer.principal, name=" ")
    with pytest.raises(InvalidRequest):
        await billing.open_account(
            session, principal=developer.principal, name="Euro", currency="EUR"
        )
    renamed = await billing.rename_account(
        session, principal=developer.principal, account_id=opened.id, name="Lab 2"
    )
    assert renamed.name == "Lab 2"
    with pytest.raises(NotFound):
        await billing.rename_account(
            session, principal=other_developer.principal, account_id=opened.id, name="Mine"
        )
    listed = await billing.list_accounts(session, principal=developer.principal)
    assert [a.id for a in listed] == [opened.id]
