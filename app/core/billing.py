"""Billing: accounts, applied rates from active inventory, monthly and on-demand bills."""

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Numeric, UniqueConstraint, case, cast, func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import clock, events
from app.core.db import StrEnumType, UTCDateTime, add_unless_stored, commit, new_id
from app.core.errors import Conflict, IllegalTransition, InvalidRequest, NotFound
from app.core.events import EntityKind, EventKind
from app.core.inventory import ProductInstance
from app.core.paging import Condition, Operator, Page, fetch_page, month_after, where
from app.core.parties import Party, Principal, get_scoped, resolve_buyer, scoped

PAYMENT_DAYS = 30


class AccountState(StrEnum):
    """Lifecycle of a billing account."""

    ACTIVE = "active"
    CLOSED = "closed"


class BillKind(StrEnum):
    """A bill of the monthly cycle, or one asked for between cycles."""

    CYCLE = "cycle"
    ON_DEMAND = "on_demand"


class BillState(StrEnum):
    """Lifecycle of a bill."""

    NEW = "new"
    # Held back from payment (e.g. while the buyer disputes it), until sent again or settled.
    ON_HOLD = "on_hold"
    SENT = "sent"
    PARTIALLY_PAID = "partially_paid"
    SETTLED = "settled"


class RateKind(StrEnum):
    """Recurring monthly charges and one-time charges."""

    RECURRING = "recurring"
    ONE_TIME = "one_time"


class BillingAccount(SQLModel, table=True):
    """Where a party's charges are collected and billed."""

    # One default account per party, even when two first orders of a party race to create it.
    __table_args__ = (
        Index(
            "uq_billingaccount_default",
            "party_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: str = Field(default_factory=lambda: new_id("ba"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    name: str = Field(max_length=200)
    state: AccountState = Field(default=AccountState.ACTIVE, sa_type=StrEnumType(AccountState, 12))
    currency: str = Field(default="USD", max_length=3)
    payment_terms_days: int = PAYMENT_DAYS
    bill_cycle_day: int = 1
    is_default: bool = True
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    # What the party records about the account beyond what billing needs (see core.accounts).
    description: str | None = Field(default=None, max_length=1000)
    account_type: str | None = Field(default=None, max_length=100)
    payment_status: str | None = Field(default=None, max_length=100)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    credit_limit_value: float | None = None
    credit_limit_unit: str | None = Field(default=None, max_length=10)
    extra: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class Bill(SQLModel, table=True):
    """A bill: the applied rates of one account over one period."""

    __table_args__ = (UniqueConstraint("billing_account_id", "kind", "period_start", "period_end"),)
    id: str = Field(default_factory=lambda: new_id("bill"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    billing_account_id: str = Field(foreign_key="billingaccount.id", index=True, max_length=40)
    kind: BillKind = Field(sa_type=StrEnumType(BillKind, 12))
    # What the caller called a bill it asked for on demand.
    name: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=500)
    state: BillState = Field(default=BillState.NEW, sa_type=StrEnumType(BillState, 16))
    period_start: datetime = Field(sa_type=UTCDateTime)
    period_end: datetime = Field(sa_type=UTCDateTime)
    bill_date: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    due_date: datetime = Field(sa_type=UTCDateTime)
    recurring_cents: int = 0
    one_time_cents: int = 0
    tax_cents: int = 0
    total_cents: int = 0
    currency: str = Field(default="USD", max_length=3)


class AppliedRate(SQLModel, table=True):
    """A charge applied to an account for one product over a period."""

    id: str = Field(default_factory=lambda: new_id("rate"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    billing_account_id: str = Field(foreign_key="billingaccount.id", index=True, max_length=40)
    bill_id: str = Field(foreign_key="bill.id", index=True, max_length=40)
    product_id: str = Field(foreign_key="productinstance.id", index=True, max_length=40)
    kind: RateKind = Field(sa_type=StrEnumType(RateKind, 12))
    description: str = Field(max_length=300)
    period_start: datetime = Field(sa_type=UTCDateTime)
    period_end: datetime = Field(sa_type=UTCDateTime)
    amount_cents: int
    currency: str = Field(default="USD", max_length=3)
    applied_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


@dataclass
class BillWithRates:
    """A bill and the applied rates that make it up."""

    bill: Bill
    rates: list[AppliedRate]


async def ensure_account(session: AsyncSession, *, party_id: str) -> BillingAccount:
    """The party's default billing account, created on first use (not committed here)."""
    stored = select(BillingAccount).where(
        BillingAccount.party_id == party_id, col(BillingAccount.is_default).is_(True)
    )
    account = (await session.exec(stored)).first()
    if account is None:
        party = await session.get(Party, party_id)
        if party is None:
            raise NotFound(f"no party '{party_id}'", field="party")
        account = await add_unless_stored(
            session, BillingAccount(party_id=party_id, name=f"{party.name} billing"), stored
        )
    return account


async def get_account(
    session: AsyncSession,
    *,
    principal: Principal,
    account_id: str,
    field_name: str = "billing_account",
) -> BillingAccount:
    """One of the caller's billing accounts."""
    return await get_scoped(
        session,
        BillingAccount,
        account_id,
        principal,
        what="billing account",
        field_name=field_name,
    )


async def list_accounts(session: AsyncSession, *, principal: Principal) -> list[BillingAccount]:
    """The caller's billing accounts."""
    statement = scoped(BillingAccount, principal).order_by(col(BillingAccount.created_at))
    return list((await session.exec(statement)).all())


def month_period(year: int, month: int) -> tuple[datetime, datetime]:
    """The first instant of a month and the first instant of the next."""
    start = datetime(year, month, 1, tzinfo=UTC)
    days = calendar.monthrange(year, month)[1]
    return start, start + timedelta(days=days)


def _overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> timedelta:
    return max(timedelta(0), min(a_end, b_end) - max(a_start, b_start))


def rates_for(
    instance: ProductInstance, period_start: datetime, period_end: datetime
) -> list[tuple[RateKind, str, int]]:
    """What one product costs over a period: the recurring charge prorated by days in service,
    and its one-time charge if it was activated within the period."""
    if instance.activated_at is None:
        return []
    in_service_until = instance.terminated_at or period_end
    served = _overlap(instance.activated_at, in_service_until, period_start, period_end)
    month_start, month_end = month_period(period_start.year, period_start.month)
    month = month_end - month_start
    out: list[tuple[RateKind, str, int]] = []
    if served > timedelta(0):
        # Prorated by the second against the calendar month, so a whole month bills in full.
        amount = (
            instance.monthly_cents
            if served >= month
            else round(instance.monthly_cents * (served / month))
        )
        out.append((RateKind.RECURRING, f"{instance.name}, monthly charge", amount))
    if period_start <= instance.activated_at < period_end and instance.one_time_cents:
        out.append((RateKind.ONE_TIME, f"{instance.name}, installation", instance.one_time_cents))
    return out


async def _build_bill(
    session: AsyncSession,
    account: BillingAccount,
    kind: BillKind,
    period_start: datetime,
    period_end: datetime,
    *,
    name: str = "",
    description: str = "",
) -> BillWithRates:
    products = (
        await session.exec(
            select(ProductInstance)
            .where(ProductInstance.billing_account_id == account.id)
            .order_by(col(ProductInstance.created_at), col(ProductInstance.id))
        )
    ).all()
    bill = Bill(
        party_id=account.party_id,
        billing_account_id=account.id,
        kind=kind,
        name=name,
        description=description,
        period_start=period_start,
        period_end=period_end,
        due_date=clock.now() + timedelta(days=account.payment_terms_days),
        currency=account.currency,
    )
    session.add(bill)
    await session.flush()
    rates = [
        AppliedRate(
            party_id=account.party_id,
            billing_account_id=account.id,
            bill_id=bill.id,
            product_id=p.id,
            kind=rate_kind,
            description=text,
            period_start=period_start,
            period_end=period_end,
            amount_cents=amount,
            currency=account.currency,
        )
        for p in products
        for rate_kind, text, amount in rates_for(p, period_start, period_end)
    ]
    session.add_all(rates)
    bill.recurring_cents = sum(r.amount_cents for r in rates if r.kind is RateKind.RECURRING)
    bill.one_time_cents = sum(r.amount_cents for r in rates if r.kind is RateKind.ONE_TIME)
    bill.total_cents = bill.recurring_cents + bill.one_time_cents + bill.tax_cents
    events.record(
        session,
        party_id=account.party_id,
        entity=EntityKind.BILL,
        entity_id=bill.id,
        kind=EventKind.CREATED,
        state=bill.state,
        data={"kind": kind},
    )
    return BillWithRates(bill, rates)


async def bill_on_demand(
    session: AsyncSession,
    *,
    principal: Principal,
    account_id: str | None = None,
    buyer_party_id: str | None = None,
    name: str = "",
    description: str = "",
) -> BillWithRates:
    """A bill from the start of this month to now, for one of the caller's accounts (of the
    buyer it names, when it names one)."""
    if account_id is None:
        account = await ensure_account(
            session, party_id=await resolve_buyer(session, principal, buyer_party_id)
        )
    else:
        account = await get_account(session, principal=principal, account_id=account_id)
        if buyer_party_id is not None and account.party_id != buyer_party_id:
            raise InvalidRequest(
                f"billing account '{account_id}' is not one of party '{buyer_party_id}'",
                field="billing_account",
            )
    if account.state is not AccountState.ACTIVE:
        raise InvalidRequest(f"billing account '{account.id}' is closed", field="billing_account")
    now = clock.now()
    start, _ = month_period(now.year, now.month)
    result = await _build_bill(
        session, account, BillKind.ON_DEMAND, start, now, name=name, description=description
    )
    try:
        await commit(session)
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict("a bill of this account was made at this very instant; try again") from exc
    return result


async def run_cycle(session: AsyncSession, *, principal: Principal, year: int, month: int) -> int:
    """Bill every account for a month (operations staff); accounts already billed are skipped."""
    principal.require_ops()
    return await _bill_month(session, year=year, month=month)


async def bill_last_month(session: AsyncSession) -> int:
    """The monthly cycle as a system job: bill last month for the accounts not yet billed."""
    last = clock.now().replace(day=1) - timedelta(days=1)
    return await _bill_month(session, year=last.year, month=last.month, skip_claimed=True)


async def _bill_month(
    session: AsyncSession, *, year: int, month: int, skip_claimed: bool = False
) -> int:
    if not 1 <= month <= 12:
        raise InvalidRequest("month must be 1 to 12", field="month")
    if not 2000 <= year <= 9998:
        raise InvalidRequest("year must be 2000 to 9998", field="year")
    start, end = month_period(year, month)
    if end > clock.now():
        raise InvalidRequest("a month can be billed only once it has ended", field="month")
    accounts_query = select(BillingAccount).order_by(col(BillingAccount.id))
    if skip_claimed:
        # Accounts that another worker's run holds are its to bill: skip them, not wait.
        accounts_query = accounts_query.with_for_update(skip_locked=True)
    accounts = (await session.exec(accounts_query)).all()
    billed = {
        bill.billing_account_id
        for bill in (
            await session.exec(
                select(Bill).where(Bill.kind == BillKind.CYCLE, Bill.period_start == start)
            )
        ).all()
    }
    created = 0
    for account in accounts:
        # An account opened after the month has nothing to bill for it.
        if (
            account.id not in billed
            and account.state is AccountState.ACTIVE
            and account.created_at < end
        ):
            await _build_bill(session, account, BillKind.CYCLE, start, end)
            created += 1
    try:
        await commit(session)
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict("the month is being billed by another run; try again") from exc
    return created


async def get_bill(session: AsyncSession, *, principal: Principal, bill_id: str) -> BillWithRates:
    """One of the caller's bills with its applied rates."""
    bill = await get_scoped(session, Bill, bill_id, principal, what="bill")
    rates = (
        await session.exec(
            select(AppliedRate).where(AppliedRate.bill_id == bill.id).order_by(col(AppliedRate.id))
        )
    ).all()
    return BillWithRates(bill, list(rates))


@dataclass(frozen=True)
class BillFilter:
    """Criteria of a bill search; each one given must hold (periods compare strictly)."""

    billing_account_id: str | None = None
    states: frozenset[BillState] | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    ends_after: datetime | None = None
    ends_before: datetime | None = None


def bills_query(
    *, principal: Principal, kind: BillKind | None = None, where: BillFilter | None = None
) -> SelectOfScalar[Bill]:
    """The caller's bills (of one kind, when named, meeting `where`), newest first, to page
    through."""
    statement = scoped(Bill, principal)
    if kind is not None:
        statement = statement.where(Bill.kind == kind)
    if where is not None:
        conditions = [
            Bill.billing_account_id == where.billing_account_id
            if where.billing_account_id is not None
            else None,
            col(Bill.state).in_(where.states) if where.states is not None else None,
            col(Bill.period_start) > where.starts_after if where.starts_after else None,
            col(Bill.period_start) < where.starts_before if where.starts_before else None,
            col(Bill.period_end) > where.ends_after if where.ends_after else None,
            col(Bill.period_end) < where.ends_before if where.ends_before else None,
        ]
        statement = statement.where(*(c for c in conditions if c is not None))
    return statement.order_by(col(Bill.bill_date).desc(), col(Bill.id))


class BillField(StrEnum):
    """The fields of a bill that a list can filter on."""

    ID = "id"
    NAME = "name"
    DESCRIPTION = "description"
    KIND = "kind"
    STATE = "state"
    BILLING_ACCOUNT_ID = "billing_account_id"
    PARTY_ID = "party_id"
    BILL_DATE = "bill_date"
    # When the account is next billed: the first of the month after the bill date.
    NEXT_BILL_DATE = "next_bill_date"
    DUE_DATE = "due_date"
    PERIOD_START = "period_start"
    PERIOD_END = "period_end"
    TOTAL_CENTS = "total_cents"
    TAX_CENTS = "tax_cents"
    CURRENCY = "currency"
    # What is charged before tax, what is left to pay (nothing once settled), and the tax rate.
    EXCLUDED_CENTS = "excluded_cents"
    REMAINING_CENTS = "remaining_cents"
    TAX_RATE = "tax_rate"


class RateField(StrEnum):
    """The fields of an applied rate that a list can filter on."""

    ID = "id"
    KIND = "kind"
    DESCRIPTION = "description"
    BILL_ID = "bill_id"
    BILLING_ACCOUNT_ID = "billing_account_id"
    PRODUCT_ID = "product_id"
    APPLIED_AT = "applied_at"
    PERIOD_START = "period_start"
    PERIOD_END = "period_end"
    AMOUNT_CENTS = "amount_cents"
    CURRENCY = "currency"


_EXCLUDED = col(Bill.recurring_cents) + col(Bill.one_time_cents)
_BILL_COLUMNS: dict[BillField, Any] = {
    field: col(getattr(Bill, field.value))
    for field in BillField
    if field.value in Bill.model_fields
} | {
    BillField.NEXT_BILL_DATE: month_after(col(Bill.bill_date)),
    BillField.EXCLUDED_CENTS: _EXCLUDED,
    BillField.REMAINING_CENTS: case(
        (col(Bill.state) == BillState.SETTLED, 0), else_=col(Bill.total_cents)
    ),
    # As the bill shows it: rounded to four places, none where nothing is charged before tax.
    BillField.TAX_RATE: case(
        (_EXCLUDED == 0, 0),
        else_=func.round(cast(col(Bill.tax_cents), Numeric) / _EXCLUDED, 4),
    ),
}
_RATE_COLUMNS = {field: col(getattr(AppliedRate, field.value)) for field in RateField}


async def page_bills(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: list[Condition[BillField]],
    offset: int,
    limit: int,
) -> Page[Bill]:
    """One page of the caller's bills that meet every condition, newest first, with the count
    of all that do."""
    statement = bills_query(principal=principal).where(*where(_BILL_COLUMNS, conditions))
    return await fetch_page(session, statement, offset=offset, limit=limit)


async def page_applied_rates(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: list[Condition[RateField]],
    offset: int,
    limit: int,
) -> Page[AppliedRate]:
    """One page of the caller's applied rates that meet every condition, newest first, with the
    count of all that do."""
    statement = applied_rates_query(principal=principal).where(*where(_RATE_COLUMNS, conditions))
    return await fetch_page(session, statement, offset=offset, limit=limit)


def on_demand_only() -> Condition[BillField]:
    """The condition that keeps the bills made on demand."""
    return Condition(BillField.KIND, Operator.EQ, (BillKind.ON_DEMAND,))


async def get_on_demand_bill(session: AsyncSession, *, principal: Principal, bill_id: str) -> Bill:
    """One of the caller's bills made on demand."""
    bill = await get_scoped(session, Bill, bill_id, principal, what="bill")
    if bill.kind is not BillKind.ON_DEMAND:
        raise NotFound(f"no bill on demand '{bill_id}'")
    return bill


def next_bill_date(bill: Bill) -> datetime:
    """When the account is next billed: the first day of the month after the bill's."""
    _, following = month_period(bill.bill_date.year, bill.bill_date.month)
    return following


async def list_bills(
    session: AsyncSession, *, principal: Principal, offset: int = 0, limit: int = 100
) -> list[Bill]:
    """The caller's bills, newest first."""
    statement = scoped(Bill, principal).order_by(col(Bill.bill_date).desc(), col(Bill.id))
    return list((await session.exec(statement.offset(offset).limit(limit))).all())


async def list_applied_rates(
    session: AsyncSession, *, principal: Principal, offset: int = 0, limit: int = 100
) -> list[AppliedRate]:
    """The caller's applied rates, newest first."""
    statement = scoped(AppliedRate, principal).order_by(
        col(AppliedRate.applied_at).desc(), col(AppliedRate.id)
    )
    return list((await session.exec(statement.offset(offset).limit(limit))).all())


# The moves of a bill that operations staff record as it is sent and paid.
BILL_TRANSITIONS: dict[BillState, set[BillState]] = {
    BillState.NEW: {BillState.ON_HOLD, BillState.SENT, BillState.SETTLED},
    BillState.ON_HOLD: {BillState.SENT, BillState.PARTIALLY_PAID, BillState.SETTLED},
    BillState.SENT: {BillState.ON_HOLD, BillState.PARTIALLY_PAID, BillState.SETTLED},
    BillState.PARTIALLY_PAID: {BillState.ON_HOLD, BillState.SETTLED},
    BillState.SETTLED: set(),
}


async def change_bill_state(
    session: AsyncSession, *, principal: Principal, bill_id: str, state: BillState
) -> Bill:
    """Operations staff record that a bill was sent, held or (partly) paid."""
    principal.require_ops()
    bill = await get_scoped(session, Bill, bill_id, principal, what="bill")
    if state is bill.state:
        return bill
    if state not in BILL_TRANSITIONS[bill.state]:
        raise IllegalTransition(
            f"a bill in state '{bill.state}' cannot become '{state}'", field="state"
        )
    previous = bill.state
    bill.state = state
    session.add(bill)
    events.record(
        session,
        party_id=bill.party_id,
        entity=EntityKind.BILL,
        entity_id=bill.id,
        kind=EventKind.STATE_CHANGED,
        state=state,
        previous_state=previous,
        data={"kind": bill.kind},
    )
    await commit(session)
    return bill


async def get_applied_rate(
    session: AsyncSession, *, principal: Principal, rate_id: str
) -> AppliedRate:
    """One of the caller's applied rates."""
    return await get_scoped(session, AppliedRate, rate_id, principal, what="applied rate")


def applied_rates_query(
    *, principal: Principal, bill_id: str | None = None
) -> SelectOfScalar[AppliedRate]:
    """The caller's applied rates (of one bill, when named), newest first, to page through."""
    statement = scoped(AppliedRate, principal)
    if bill_id is not None:
        statement = statement.where(AppliedRate.bill_id == bill_id)
    return statement.order_by(col(AppliedRate.applied_at).desc(), col(AppliedRate.id))


async def open_account(
    session: AsyncSession,
    *,
    principal: Principal,
    name: str,
    buyer_party_id: str | None = None,
    currency: str = "USD",
) -> BillingAccount:
    """Open a further billing account for the caller (or a buyer it acts for)."""
    if not name.strip():
        raise InvalidRequest("an account's name cannot be empty", field="name")
    if currency != "USD":
        raise InvalidRequest("accounts are billed in USD", field="currency")
    party_id = await resolve_buyer(session, principal, buyer_party_id)
    account = BillingAccount(party_id=party_id, name=name, currency=currency, is_default=False)
    session.add(account)
    await commit(session)
    return account


async def rename_account(
    session: AsyncSession, *, principal: Principal, account_id: str, name: str
) -> BillingAccount:
    """Rename one of the caller's billing accounts."""
    if not name.strip():
        raise InvalidRequest("an account's name cannot be empty", field="name")
    account = await get_account(
        session, principal=principal, account_id=account_id, field_name="id"
    )
    account.name = name
    session.add(account)
    await commit(session)
    return account
