"""Accounts beyond billing: the party, financial and settlement accounts a party keeps, the
billing accounts' own records, and the bill formats, presentation media and billing cycles that
the platform offers everyone and that each party may add to."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import JSON, Boolean, String, case, cast, func, literal, null, or_
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import billing, clock, events, relations
from app.core.billing import AccountState, BillingAccount
from app.core.db import StrEnumType, UTCDateTime, commit, new_id, validated
from app.core.errors import Conflict, InvalidRequest, NotFound
from app.core.events import EntityKind, EventKind
from app.core.inventory import ProductInstance
from app.core.kept import Keeper, document_field, holds, keeps, register_document
from app.core.paging import Condition, Page, fetch_page, where
from app.core.parties import Party, Principal, get_scoped, scoped
from app.core.relations import Holder, RelatedPartyRef, RelationField


class AccountKind(StrEnum):
    """What an account (other than a billing account) is for."""

    PARTY = "party"
    FINANCIAL = "financial"
    SETTLEMENT = "settlement"


class AccountRecord(SQLModel):
    """What a party records about any of its accounts (the parties it names are relations of
    its own); `extra` holds further attributes (contacts, payment plans, ...) kept as given."""

    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    account_type: str | None = Field(default=None, max_length=100)
    payment_status: str | None = Field(default=None, max_length=100)
    state: AccountState = Field(default=AccountState.ACTIVE, sa_type=StrEnumType(AccountState, 12))
    # How much the party may owe, in `credit_limit_unit` (a currency).
    credit_limit_value: float | None = None
    credit_limit_unit: str | None = Field(default=None, max_length=10)
    extra: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class Account(AccountRecord, table=True):
    """A party, financial or settlement account of a party."""

    id: str = Field(default_factory=lambda: new_id("acct"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    kind: AccountKind = Field(sa_type=StrEnumType(AccountKind, 16), index=True)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


register_document(Account, Keeper.ACCOUNT, "extra")
register_document(BillingAccount, Keeper.BILLING_ACCOUNT, "extra")


class AccountField(StrEnum):
    """The fields accounts can be listed by."""

    ID = "id"
    NAME = "name"
    DESCRIPTION = "description"
    ACCOUNT_TYPE = "account_type"
    PAYMENT_STATUS = "payment_status"
    STATE = "state"
    PARTY = "party_id"
    CREDIT_LIMIT_VALUE = "credit_limit_value"
    CREDIT_LIMIT_UNIT = "credit_limit_unit"
    # When the account last changed (or was opened).
    LAST_MODIFIED = "last_modified"
    # The further attributes kept as given (a condition names a path in them).
    EXTRA = "extra"
    # The owner where the account does not name it among its related parties (none where it
    # does): an account shows its owner as a related party of its own then.
    OWNER = "owner"
    # Whether the account is billed by the platform's standard bill structure (a billing
    # account that keeps none of its own, see `OWN_BILL_STRUCTURE`), and the ids of the
    # standard cycle, format and medium where it is (none where not).
    STANDARD_STRUCTURE = "standard_structure"
    STANDARD_CYCLE = "standard_cycle"
    STANDARD_FORMAT = "standard_format"
    STANDARD_MEDIUM = "standard_medium"
    RELATED_PARTY_ID = RelationField.PARTY_ID.value
    RELATED_PARTY_ROLE = RelationField.PARTY_ROLE.value
    RELATED_PARTY_NAME = RelationField.PARTY_NAME.value
    RELATED_PARTY_TYPE = RelationField.PARTY_TYPE.value
    RELATED_PARTY_HREF = RelationField.PARTY_HREF.value


class BillingOptionKind(StrEnum):
    """A bill's format, or the medium through which it is presented."""

    FORMAT = "format"
    MEDIUM = "medium"


class BillingOptionRecord(SQLModel):
    """A named format or presentation medium of bills."""

    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=1000)


class BillingOption(BillingOptionRecord, table=True):
    """A bill format or presentation medium: the platform's own (no party) or a party's."""

    id: str = Field(default_factory=lambda: new_id("bopt"), primary_key=True, max_length=40)
    party_id: str | None = Field(default=None, foreign_key="party.id", index=True, max_length=40)
    kind: BillingOptionKind = Field(sa_type=StrEnumType(BillingOptionKind, 12), index=True)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


# No date of a bill moves further than this from the cycle's date (ten years); a larger offset
# is a mistake, and one beyond the database's integers would fail as it was stored.
MAX_OFFSET_DAYS = 3660


class BillingCycleRecord(SQLModel):
    """When bills of a cycle are made, sent and due, as offsets in days."""

    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    frequency: str | None = Field(default=None, max_length=100)
    billing_period: str | None = Field(default=None, max_length=100)
    billing_date_shift: int | None = Field(default=None, ge=-MAX_OFFSET_DAYS, le=MAX_OFFSET_DAYS)
    charge_date_offset: int | None = Field(default=None, ge=-MAX_OFFSET_DAYS, le=MAX_OFFSET_DAYS)
    credit_date_offset: int | None = Field(default=None, ge=-MAX_OFFSET_DAYS, le=MAX_OFFSET_DAYS)
    mailing_date_offset: int | None = Field(default=None, ge=-MAX_OFFSET_DAYS, le=MAX_OFFSET_DAYS)
    payment_due_date_offset: int | None = Field(
        default=None, ge=-MAX_OFFSET_DAYS, le=MAX_OFFSET_DAYS
    )
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BillingCycle(BillingCycleRecord, table=True):
    """A billing cycle: the platform's own (no party) or one a party describes."""

    id: str = Field(default_factory=lambda: new_id("cyc"), primary_key=True, max_length=40)
    party_id: str | None = Field(default=None, foreign_key="party.id", index=True, max_length=40)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class NamedField(StrEnum):
    """The fields bill formats, media and billing cycles can be listed by."""

    ID = "id"
    NAME = "name"
    DESCRIPTION = "description"


class CycleField(StrEnum):
    """The fields billing cycles can be listed by."""

    ID = "id"
    NAME = "name"
    DESCRIPTION = "description"
    FREQUENCY = "frequency"
    BILLING_PERIOD = "billing_period"
    BILLING_DATE_SHIFT = "billing_date_shift"
    CHARGE_DATE_OFFSET = "charge_date_offset"
    CREDIT_DATE_OFFSET = "credit_date_offset"
    MAILING_DATE_OFFSET = "mailing_date_offset"
    PAYMENT_DUE_DATE_OFFSET = "payment_due_date_offset"


# The platform's own bill formats, media and cycle, which every party may read.
STANDARD_OPTIONS = [
    ("pdf", BillingOptionKind.FORMAT, "PDF document"),
    ("json", BillingOptionKind.FORMAT, "Machine-readable (customer bill API)"),
    ("email", BillingOptionKind.MEDIUM, "Sent by e-mail"),
    ("api", BillingOptionKind.MEDIUM, "Published through the APIs"),
]
STANDARD_CYCLE_ID = "monthly-day-1"
STANDARD_FORMAT_ID = "json"
STANDARD_MEDIUM_ID = "api"
# The attribute of a billing account's kept document in which its party gives a bill structure
# of its own (cycle, format, media); an account without one is billed by the standard ones.
OWN_BILL_STRUCTURE = "billStructure"


async def seed_billing_standards(session: AsyncSession) -> None:
    """The platform's own bill formats, presentation media and monthly cycle (once)."""
    for option_id, kind, name in STANDARD_OPTIONS:
        if await session.get(BillingOption, option_id) is None:
            session.add(BillingOption(id=option_id, kind=kind, name=name))
    if await session.get(BillingCycle, STANDARD_CYCLE_ID) is None:
        session.add(
            BillingCycle(
                id=STANDARD_CYCLE_ID,
                name="Monthly, day 1",
                description="Each calendar month is billed on the first day of the next",
                frequency="monthly",
                billing_period="month",
                billing_date_shift=0,
                charge_date_offset=0,
                mailing_date_offset=0,
                payment_due_date_offset=billing.PAYMENT_DAYS,
            )
        )
    await commit(session)


Shared = TypeVar("Shared", BillingOption, BillingCycle)


def _shared_scope(model: type[Shared], principal: Principal) -> SelectOfScalar[Shared]:
    """The platform's own rows and the rows of the parties the caller may see."""
    statement = select(model)
    if principal.is_ops:
        return statement
    owner: Any = model.party_id
    return statement.where(
        or_(col(owner).is_(None), col(owner).in_(sorted(principal.visible_party_ids)))
    )


def _named_columns(model: type[SQLModel]) -> dict[NamedField, Any]:
    return {field: getattr(model, field.value) for field in NamedField}


async def owner_for(
    session: AsyncSession, principal: Principal, related_party_ids: Iterable[str]
) -> str:
    """The party a new account belongs to: the first related party the caller may open an
    account for (itself, a buyer it acts for, or, for operations staff, any existing party);
    any other related party is only a reference, and the account is the caller's."""
    for party_id in related_party_ids:
        if party_id == principal.party_id or party_id in principal.acting_for:
            return party_id
        if principal.is_ops and await session.get(Party, party_id) is not None:
            return party_id
    return principal.party_id


def billing_terms(account: BillingAccount) -> str:
    """How a billing account without a description of its own is described: its terms."""
    return (
        f"Billed in {account.currency}, due {account.payment_terms_days} days after the bill date"
    )


# `billing_terms` in SQL, so that a billing account filters on the description it shows.
_BILLING_TERMS = (
    literal("Billed in ")
    + col(BillingAccount.currency)
    + literal(", due ")
    + cast(col(BillingAccount.payment_terms_days), String)
    + literal(" days after the bill date")
)


# The fields of an account that are worked out rather than stored in a column of its own.
_WORKED_OUT = {
    AccountField.LAST_MODIFIED,
    AccountField.EXTRA,
    AccountField.OWNER,
    AccountField.STANDARD_STRUCTURE,
    AccountField.STANDARD_CYCLE,
    AccountField.STANDARD_FORMAT,
    AccountField.STANDARD_MEDIUM,
}


def _owner(model: type[Account] | type[BillingAccount], holder: Holder) -> Any:
    """The owner of an account where it does not name it among its related parties."""
    named = (
        select(RelatedPartyRef.id)
        .where(
            RelatedPartyRef.holder == holder,
            RelatedPartyRef.holder_id == model.id,
            RelatedPartyRef.ref_id == model.party_id,
        )
        .exists()
    )
    return case((named, null()), else_=col(model.party_id))


def _account_columns(
    model: type[Account] | type[BillingAccount], holder: Holder
) -> dict[AccountField, Any]:
    columns: dict[AccountField, Any] = {
        field: getattr(model, field.value)
        for field in AccountField
        if field not in _WORKED_OUT and field.value not in set(RelationField)
    }
    columns[AccountField.LAST_MODIFIED] = func.coalesce(model.updated_at, model.created_at)
    columns[AccountField.OWNER] = _owner(model, holder)
    columns[AccountField.RELATED_PARTY_HREF] = relations.related(
        holder, col(model.id), RelationField.PARTY_HREF
    )
    standard: Any = literal(False, Boolean)
    if model is BillingAccount:
        # A billing account without a type of its own is its party's default one or another.
        default = case((col(BillingAccount.is_default), "default"), else_="additional")
        columns[AccountField.ACCOUNT_TYPE] = func.coalesce(BillingAccount.account_type, default)
        columns[AccountField.DESCRIPTION] = func.coalesce(
            BillingAccount.description, _BILLING_TERMS
        )
        standard = ~keeps(Keeper.BILLING_ACCOUNT, model.id, OWN_BILL_STRUCTURE)
    columns[AccountField.STANDARD_STRUCTURE] = standard
    for field, standard_id in (
        (AccountField.STANDARD_CYCLE, STANDARD_CYCLE_ID),
        (AccountField.STANDARD_FORMAT, STANDARD_FORMAT_ID),
        (AccountField.STANDARD_MEDIUM, STANDARD_MEDIUM_ID),
    ):
        columns[field] = case((standard, literal(standard_id, String)), else_=null())
    keeper = Keeper.ACCOUNT if model is Account else Keeper.BILLING_ACCOUNT
    columns[AccountField.EXTRA] = document_field(keeper, model.id)
    return columns


def has_own_bill_structure(account: Account | BillingAccount) -> bool:
    """Whether an account keeps a bill structure of its own (see `OWN_BILL_STRUCTURE`)."""
    return holds(account.extra, OWN_BILL_STRUCTURE)


def _account_conditions(
    model: type[Account] | type[BillingAccount],
    holder: Holder,
    conditions: Sequence[Condition[AccountField]],
) -> list[Any]:
    """The SQL of conditions on accounts, their owner counting as a related party where the
    account does not name it."""
    owner_id = _owner(model, holder)
    shown = owner_id.is_not(None)
    owner_name = select(Party.name).where(Party.id == model.party_id).scalar_subquery()
    owner = {
        RelationField.PARTY_ID: owner_id,
        RelationField.PARTY_ROLE: case((shown, literal("owner", String)), else_=null()),
        RelationField.PARTY_TYPE: case((shown, literal("Organization", String)), else_=null()),
        RelationField.PARTY_NAME: case((shown, owner_name), else_=null()),
    }
    related, own = relations.relation_clauses(holder, col(model.id), conditions, inline=owner)
    return [*where(_account_columns(model, holder), own), *related]


def _data(account: Account | BillingAccount) -> dict[str, Any]:
    """What an account's events carry: its name and (beyond billing accounts) its kind."""
    data: dict[str, Any] = {"name": account.name}
    if isinstance(account, Account):
        data["kind"] = account.kind.value
    return data


def _record(session: AsyncSession, account: Account | BillingAccount, kind: EventKind) -> None:
    """An event about an account, in the caller's unit of work."""
    events.record(
        session,
        party_id=account.party_id,
        entity=EntityKind(_holder(account)),
        entity_id=account.id,
        kind=kind,
        state=account.state.value,
        data=_data(account),
    )


def _holder(account: Account | BillingAccount) -> Holder:
    return Holder.ACCOUNT if isinstance(account, Account) else Holder.BILLING_ACCOUNT


async def list_accounts(
    session: AsyncSession,
    *,
    principal: Principal,
    kind: AccountKind,
    conditions: Sequence[Condition[AccountField]] = (),
    offset: int = 0,
    limit: int = 100,
) -> Page[Account]:
    """The caller's accounts of one kind, oldest first: one page and how many match."""
    statement = (
        scoped(Account, principal)
        .where(Account.kind == kind, *_account_conditions(Account, Holder.ACCOUNT, conditions))
        .order_by(col(Account.created_at), col(Account.id))
    )
    return await fetch_page(session, statement, offset=offset, limit=limit)


async def get_account(
    session: AsyncSession, *, principal: Principal, kind: AccountKind, account_id: str
) -> Account:
    """One of the caller's accounts of one kind."""
    account = await get_scoped(session, Account, account_id, principal, what=f"{kind} account")
    if account.kind is not kind:
        raise NotFound(f"no {kind} account '{account_id}'", field="id")
    return account


def _checked_name(name: str | None) -> None:
    if name is None or not name.strip():
        raise InvalidRequest("a name cannot be empty", field="name")


async def open_account(
    session: AsyncSession,
    *,
    principal: Principal,
    kind: AccountKind,
    record: dict[str, Any],
    related_party_ids: Iterable[str] = (),
) -> Account:
    """Open an account of one kind for the caller (or a party it may open one for), with the
    parties it names under `relations.RELATED_PARTIES`."""
    own, named = relations.taken(record)
    account = Account(
        **_checked(AccountRecord, own).model_dump(),
        kind=kind,
        party_id=await owner_for(session, principal, related_party_ids),
    )
    session.add(account)
    await relations.keep(session, Holder.ACCOUNT, account.id, named)
    _record(session, account, EventKind.CREATED)
    await commit(session)
    return account


async def update_account(
    session: AsyncSession,
    *,
    principal: Principal,
    kind: AccountKind,
    account_id: str,
    changes: dict[str, Any],
) -> Account:
    """Change what the caller records about one of its accounts."""
    account = await get_account(session, principal=principal, kind=kind, account_id=account_id)
    await _change(session, account, changes)
    return account


async def _change(
    session: AsyncSession, account: Account | BillingAccount, changes: dict[str, Any]
) -> None:
    own, named = relations.taken(changes)
    before = account.model_dump(include=set(AccountRecord.model_fields))
    _apply(account, AccountRecord, own)
    account.updated_at = clock.now()
    session.add(account)
    await relations.keep(session, _holder(account), account.id, named)
    events.record_change(
        session,
        party_id=account.party_id,
        entity=EntityKind(_holder(account)),
        entity_id=account.id,
        before=before,
        after=account.model_dump(include=set(before)),
        also_changed=bool(named),
        data=_data(account),
    )
    await commit(session)


async def _remove(session: AsyncSession, account: Account | BillingAccount) -> None:
    await relations.forget(session, _holder(account), account.id)
    _record(session, account, EventKind.DELETED)
    await session.delete(account)
    await commit(session)


async def close_account(
    session: AsyncSession, *, principal: Principal, kind: AccountKind, account_id: str
) -> None:
    """Remove one of the caller's accounts."""
    account = await get_account(session, principal=principal, kind=kind, account_id=account_id)
    await _remove(session, account)


Record = TypeVar("Record", AccountRecord, BillingOptionRecord, BillingCycleRecord)


def _checked(record: type[Record], values: dict[str, Any]) -> Record:
    """A whole record, checked, with a name that is not blank."""
    checked = validated(record, values)
    _checked_name(checked.name)
    return checked


def _apply(row: SQLModel, record: type[Record], changes: dict[str, Any]) -> None:
    """Set the changed fields of a row, checked as a whole record first."""
    merged = _checked(record, row.model_dump(include=set(record.model_fields)) | changes)
    for field_name in changes:
        setattr(row, field_name, getattr(merged, field_name))


async def list_billing_accounts(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: Sequence[Condition[AccountField]] = (),
    offset: int = 0,
    limit: int = 100,
) -> Page[BillingAccount]:
    """The caller's billing accounts, oldest first: one page and how many match."""
    statement = (
        scoped(BillingAccount, principal)
        .where(*_account_conditions(BillingAccount, Holder.BILLING_ACCOUNT, conditions))
        .order_by(col(BillingAccount.created_at), col(BillingAccount.id))
    )
    return await fetch_page(session, statement, offset=offset, limit=limit)


async def open_billing_account(
    session: AsyncSession,
    *,
    principal: Principal,
    record: dict[str, Any],
    related_party_ids: Iterable[str] = (),
) -> BillingAccount:
    """Open a further billing account for the caller (or a party it may open one for)."""
    own, named = relations.taken(record)
    account = BillingAccount(
        **_checked(AccountRecord, own).model_dump(),
        party_id=await owner_for(session, principal, related_party_ids),
        is_default=False,
    )
    session.add(account)
    await relations.keep(session, Holder.BILLING_ACCOUNT, account.id, named)
    _record(session, account, EventKind.CREATED)
    await commit(session)
    return account


async def update_billing_account(
    session: AsyncSession, *, principal: Principal, account_id: str, changes: dict[str, Any]
) -> BillingAccount:
    """Change what the caller records about one of its billing accounts."""
    account = await billing.get_account(
        session, principal=principal, account_id=account_id, field_name="id"
    )
    await _change(session, account, changes)
    return account


async def remove_billing_account(
    session: AsyncSession, *, principal: Principal, account_id: str
) -> None:
    """Remove one of the caller's further billing accounts that nothing was billed or
    delivered to; the others are closed instead (state `closed`)."""
    account = await billing.get_account(
        session, principal=principal, account_id=account_id, field_name="id"
    )
    if account.is_default:
        raise Conflict("a party's default billing account stays; it can be closed", field="id")
    for model in (billing.Bill, ProductInstance):
        used: Any = model.billing_account_id
        if (await session.exec(select(model).where(used == account.id).limit(1))).first():
            raise Conflict(
                "the account has bills or products; close it instead (state 'closed')",
                field="id",
                code="ACCOUNT_IN_USE",
            )
    await _remove(session, account)


async def list_options(
    session: AsyncSession,
    *,
    principal: Principal,
    kind: BillingOptionKind,
    conditions: Sequence[Condition[NamedField]] = (),
    offset: int = 0,
    limit: int = 100,
) -> Page[BillingOption]:
    """The platform's bill formats (or media) and the caller's own: one page, how many match."""
    statement = (
        _shared_scope(BillingOption, principal)
        .where(
            BillingOption.kind == kind,
            *where(_named_columns(BillingOption), conditions),
        )
        .order_by(col(BillingOption.created_at), col(BillingOption.id))
    )
    return await fetch_page(session, statement, offset=offset, limit=limit)


async def get_option(
    session: AsyncSession, *, principal: Principal, kind: BillingOptionKind, option_id: str
) -> BillingOption:
    """One of the platform's or the caller's bill formats (or media)."""
    found = (
        await session.exec(
            _shared_scope(BillingOption, principal).where(
                BillingOption.id == option_id, BillingOption.kind == kind
            )
        )
    ).first()
    if found is None:
        raise NotFound(f"no bill {kind} '{option_id}'", field="id")
    return found


def _own(row: BillingOption | BillingCycle, principal: Principal) -> None:
    """Refuse to change the platform's own rows, unless the caller is operations staff."""
    if row.party_id is None:
        principal.require_ops()


async def add_option(
    session: AsyncSession,
    *,
    principal: Principal,
    kind: BillingOptionKind,
    record: dict[str, Any],
) -> BillingOption:
    """Describe a further bill format (or medium) of the caller's."""
    values = _checked(BillingOptionRecord, record).model_dump()
    option = BillingOption(**values, kind=kind, party_id=principal.party_id)
    session.add(option)
    await commit(session)
    return option


async def update_option(
    session: AsyncSession,
    *,
    principal: Principal,
    kind: BillingOptionKind,
    option_id: str,
    changes: dict[str, Any],
) -> BillingOption:
    """Change one of the caller's bill formats (or media)."""
    option = await get_option(session, principal=principal, kind=kind, option_id=option_id)
    _own(option, principal)
    _apply(option, BillingOptionRecord, changes)
    session.add(option)
    await commit(session)
    return option


async def remove_option(
    session: AsyncSession, *, principal: Principal, kind: BillingOptionKind, option_id: str
) -> None:
    """Remove one of the caller's bill formats (or media)."""
    option = await get_option(session, principal=principal, kind=kind, option_id=option_id)
    _own(option, principal)
    await session.delete(option)
    await commit(session)


async def list_cycles(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: Sequence[Condition[CycleField]] = (),
    offset: int = 0,
    limit: int = 100,
) -> Page[BillingCycle]:
    """The platform's billing cycles and the caller's own: one page and how many match."""
    columns = {field: getattr(BillingCycle, field.value) for field in CycleField}
    statement = (
        _shared_scope(BillingCycle, principal)
        .where(*where(columns, conditions))
        .order_by(col(BillingCycle.created_at), col(BillingCycle.id))
    )
    return await fetch_page(session, statement, offset=offset, limit=limit)


async def get_cycle(session: AsyncSession, *, principal: Principal, cycle_id: str) -> BillingCycle:
    """One of the platform's or the caller's billing cycles."""
    found = (
        await session.exec(
            _shared_scope(BillingCycle, principal).where(BillingCycle.id == cycle_id)
        )
    ).first()
    if found is None:
        raise NotFound(f"no billing cycle '{cycle_id}'", field="id")
    return found


async def add_cycle(
    session: AsyncSession, *, principal: Principal, record: dict[str, Any]
) -> BillingCycle:
    """Describe a further billing cycle of the caller's."""
    cycle = BillingCycle(
        **_checked(BillingCycleRecord, record).model_dump(), party_id=principal.party_id
    )
    session.add(cycle)
    await commit(session)
    return cycle


async def update_cycle(
    session: AsyncSession, *, principal: Principal, cycle_id: str, changes: dict[str, Any]
) -> BillingCycle:
    """Change one of the caller's billing cycles."""
    cycle = await get_cycle(session, principal=principal, cycle_id=cycle_id)
    _own(cycle, principal)
    _apply(cycle, BillingCycleRecord, changes)
    session.add(cycle)
    await commit(session)
    return cycle


async def remove_cycle(session: AsyncSession, *, principal: Principal, cycle_id: str) -> None:
    """Remove one of the caller's billing cycles."""
    cycle = await get_cycle(session, principal=principal, cycle_id=cycle_id)
    _own(cycle, principal)
    await session.delete(cycle)
    await commit(session)
