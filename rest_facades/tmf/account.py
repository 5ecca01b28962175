"""TMF666 Account v4: the billing, party, financial and settlement accounts each party keeps, and
the bill formats, presentation media and billing cycles: the platform's own, which everyone
reads, and those a party adds, which only it reads and changes."""

from collections.abc import Iterable, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import APIRouter, Request, Response

from app.core import accounts, billing, parties, relations
from app.core.accounts import (
    OWN_BILL_STRUCTURE,
    STANDARD_CYCLE_ID,
    STANDARD_FORMAT_ID,
    STANDARD_MEDIUM_ID,
    Account,
    AccountField,
    AccountKind,
    BillingCycle,
    BillingOption,
    BillingOptionKind,
    CycleField,
    NamedField,
    has_own_bill_structure,
)
from app.core.billing import AccountState, BillingAccount
from app.core.events import EntityKind, Event, EventKind
from app.core.parties import Principal
from app.core.relations import Holder, Relations
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import (
    Attribute,
    as_date_time,
    as_text,
    constant,
    in_document,
    kept_filters,
    linked,
)
from rest_facades.tmf.common import TMFQuery, TMFQueryDep, href, iso, listed, resource
from rest_facades.tmf.errors import TMFRoute, tmf_json
from rest_facades.tmf.generated import account as tmf
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes
from rest_facades.tmf.records import (
    SERVER_SET,
    add_resource_routes,
    as_number,
    changes,
    dumped,
    from_core,
    in_tmf_words,
    kept_to_core,
    merge_patch_model,
    one_of,
    related_filters,
    related_view,
    to_core,
)

if TYPE_CHECKING:
    BillingAccountPatch = tmf.BillingAccountUpdate
    PartyAccountPatch = tmf.PartyAccountUpdate
    FinancialAccountPatch = tmf.FinancialAccountUpdate
    SettlementAccountPatch = tmf.SettlementAccountUpdate
    BillFormatPatch = tmf.BillFormatUpdate
    BillPresentationMediaPatch = tmf.BillPresentationMediaUpdate
    BillingCycleSpecificationPatch = tmf.BillingCycleSpecificationUpdate
else:
    # The official update schemas require `name` (and `relatedParty`), which a patch omits.
    BillingAccountPatch = merge_patch_model(tmf.BillingAccountUpdate)
    PartyAccountPatch = merge_patch_model(tmf.PartyAccountUpdate)
    FinancialAccountPatch = merge_patch_model(tmf.FinancialAccountUpdate)
    SettlementAccountPatch = merge_patch_model(tmf.SettlementAccountUpdate)
    BillFormatPatch = merge_patch_model(tmf.BillFormatUpdate)
    BillPresentationMediaPatch = merge_patch_model(tmf.BillPresentationMediaUpdate)
    BillingCycleSpecificationPatch = merge_patch_model(tmf.BillingCycleSpecificationUpdate)

F = TypeVar("F", bound=StrEnum)


def _type(resource: str) -> str:
    return resource[0].upper() + resource[1:]


BASE = "/tmf-api/accountManagement/v4"
PARTY_BASE = "/tmf-api/party/v4"

# Account attributes the core keeps in fields of its own, by their TMF names.
ACCOUNT_FIELDS: dict[str, AccountField] = {
    "name": AccountField.NAME,
    "description": AccountField.DESCRIPTION,
    "accountType": AccountField.ACCOUNT_TYPE,
    "paymentStatus": AccountField.PAYMENT_STATUS,
    "state": AccountField.STATE,
}
# The attributes the core stores and filters on.
ACCOUNT_FILTERS: dict[str, Attribute[AccountField]] = {
    "id": Attribute(AccountField.ID, as_text),
    **{name: Attribute(field, as_text) for name, field in ACCOUNT_FIELDS.items()},
    "state": Attribute(AccountField.STATE, one_of(AccountState)),
    "lastModified": Attribute(AccountField.LAST_MODIFIED, as_date_time, ordered=True),
    "creditLimit.value": Attribute(AccountField.CREDIT_LIMIT_VALUE, as_number, ordered=True),
    "creditLimit.unit": Attribute(AccountField.CREDIT_LIMIT_UNIT, as_text),
    **related_filters(AccountField),
}
# By any path below them, the attributes of accounts that the core keeps as given.
for _model in (
    tmf.BillingAccountCreate,
    tmf.PartyAccountCreate,
    tmf.FinancialAccountCreate,
    tmf.SettlementAccountCreate,
):
    ACCOUNT_FILTERS |= kept_filters(_model, AccountField.EXTRA, [*ACCOUNT_FILTERS, *SERVER_SET])
# A billing account without a bill structure of its own shows the platform's standard one:
# each reference (its attribute, resource, id field and name) in SQL too.
STANDARD_STRUCTURE = (
    ("cycleSpecification", "billingCycleSpecification", AccountField.STANDARD_CYCLE),
    ("format", "billFormat", AccountField.STANDARD_FORMAT),
    ("presentationMedia", "billPresentationMedia", AccountField.STANDARD_MEDIUM),
)
STANDARD_NAMES = {
    "cycleSpecification": "Monthly, day 1",
    "format": "Machine-readable",
    "presentationMedia": "Published through the APIs",
}


def _standard_structure_filters() -> dict[str, Attribute[AccountField]]:
    """Filters on the references of a billing account's bill structure: the standard ones
    where it keeps none of its own, else those it keeps."""
    filters: dict[str, Attribute[AccountField]] = {}
    shown = AccountField.STANDARD_STRUCTURE
    for name, referred, field in STANDARD_STRUCTURE:
        at = (OWN_BILL_STRUCTURE, name)
        path = ".".join(at)

        def kept(attribute: str, at: tuple[str, ...] = at) -> Attribute[AccountField]:
            return in_document(AccountField.EXTRA, *at, attribute)

        filters |= {
            f"{path}.id": Attribute(field, as_text, ordered=True, also=kept("id")),
            f"{path}.href": replace(linked(field, BASE, referred), also=kept("href")),
            f"{path}.name": replace(kept("name"), constant=(STANDARD_NAMES[name],), shown=shown),
            f"{path}.isRef": replace(kept("isRef"), constant=(True,), shown=shown),
            f"{path}.@referredType": replace(
                kept("@referredType"), constant=(_type(referred),), shown=shown
            ),
        }
    return filters


ACCOUNT_FILTERS |= _standard_structure_filters()
# The owner's link (where the account does not name it), or that of a party it names.
ACCOUNT_FILTERS["relatedParty.href"] = replace(
    linked(AccountField.OWNER, PARTY_BASE, "organization"),
    also=Attribute(AccountField.RELATED_PARTY_HREF, as_text),
)
NAMED_FIELDS = {"name": NamedField.NAME, "description": NamedField.DESCRIPTION}
NAMED_FILTERS: dict[str, Attribute[NamedField]] = {
    "id": Attribute(NamedField.ID, as_text),
    **{name: Attribute(field, as_text) for name, field in NAMED_FIELDS.items()},
}
CYCLE_FILTERS: dict[str, Attribute[CycleField]] = {
    "id": Attribute(CycleField.ID, as_text),
    "name": Attribute(CycleField.NAME, as_text),
    "description": Attribute(CycleField.DESCRIPTION, as_text),
    "frequency": Attribute(CycleField.FREQUENCY, as_text),
    "billingPeriod": Attribute(CycleField.BILLING_PERIOD, as_text),
    **{
        name: Attribute(field, as_number, ordered=True)
        for name, field in (
            ("billingDateShift", CycleField.BILLING_DATE_SHIFT),
            ("chargeDateOffset", CycleField.CHARGE_DATE_OFFSET),
            ("creditDateOffset", CycleField.CREDIT_DATE_OFFSET),
            ("mailingDateOffset", CycleField.MAILING_DATE_OFFSET),
            ("paymentDueDateOffset", CycleField.PAYMENT_DUE_DATE_OFFSET),
        )
    },
}
# Every attribute of every list filters in SQL.
AFTER_PAGE: frozenset[str] = frozenset()
CYCLE_FIELDS = {
    **NAMED_FIELDS,
    "frequency": "frequency",
    "billingPeriod": "billing_period",
    "billingDateShift": "billing_date_shift",
    "chargeDateOffset": "charge_date_offset",
    "creditDateOffset": "credit_date_offset",
    "mailingDateOffset": "mailing_date_offset",
    "paymentDueDateOffset": "payment_due_date_offset",
}
# The TMF resource of each account kind.
ACCOUNT_RESOURCES = {
    AccountKind.PARTY: "partyAccount",
    AccountKind.FINANCIAL: "financialAccount",
    AccountKind.SETTLEMENT: "settlementAccount",
}
OPTION_RESOURCES = {
    BillingOptionKind.FORMAT: "billFormat",
    BillingOptionKind.MEDIUM: "billPresentationMedia",
}


def _identified(
    filters: dict[str, Attribute[F]], field: F, resource: str
) -> dict[str, Attribute[F]]:
    """`filters` with the link and `@type` that every `resource` shows (one set of filters serves
    several resources)."""
    return {
        **filters,
        "href": linked(field, BASE, resource),
        "@type": constant(field, _type(resource)),
    }


def _owner(request: Request, party_id: str, name: str | None) -> dict[str, Any]:
    return {
        "id": party_id,
        "href": href(request, PARTY_BASE, "organization", party_id),
        "name": name or party_id,
        "role": "owner",
        "@referredType": "Organization",
    }


def _ref(request: Request, resource: str, ref_id: str, name: str) -> dict[str, Any]:
    return {
        "id": ref_id,
        "href": href(request, BASE, resource, ref_id),
        "name": name,
        "isRef": True,
        "@referredType": _type(resource),
    }


def _standard_structure(request: Request) -> dict[str, Any]:
    """The platform's standard bill structure, by reference."""
    ids = {
        "cycleSpecification": STANDARD_CYCLE_ID,
        "format": STANDARD_FORMAT_ID,
        "presentationMedia": STANDARD_MEDIUM_ID,
    }
    structure: dict[str, Any] = {
        name: _ref(request, referred, ids[name], STANDARD_NAMES[name])
        for name, referred, _field in STANDARD_STRUCTURE
    }
    structure["presentationMedia"] = [structure["presentationMedia"]]
    return structure


def _cycle_to_core(body: dict[str, Any]) -> dict[str, Any]:
    values = to_core({k: v for k, v in body.items() if k != "validFor"}, CYCLE_FIELDS)
    if "validFor" in body:
        period = body["validFor"] or {}
        values["valid_from"] = period.get("startDateTime")
        values["valid_until"] = period.get("endDateTime")
    # The core keeps no further attributes of a cycle.
    values.pop("extra")
    return values


def _named_to_core(body: dict[str, Any]) -> dict[str, Any]:
    values = to_core(body, NAMED_FIELDS)
    values.pop("extra")
    return values


def _account_to_core(body: dict[str, Any]) -> dict[str, Any]:
    values = kept_to_core(body, ACCOUNT_FIELDS)
    if "creditLimit" in values["extra"]:
        limit = values["extra"].pop("creditLimit") or {}
        values["credit_limit_value"] = limit.get("value")
        values["credit_limit_unit"] = limit.get("unit")
    return values


def _related_party_ids(body: dict[str, Any]) -> list[str]:
    return [p["id"] for p in body.get("relatedParty") or [] if isinstance(p, dict) and "id" in p]


def account_view(
    request: Request,
    resource: str,
    account: Account | BillingAccount,
    owner_name: str | None,
    kept: Relations,
) -> dict[str, Any]:
    """An account as a TMF666 PartyAccount, FinancialAccount, SettlementAccount or
    BillingAccount: its stored fields, what the client gave beyond them, and its owner."""
    view: dict[str, Any] = {**(account.extra or {}), **from_core(account, ACCOUNT_FIELDS)}
    if account.credit_limit_value is not None or account.credit_limit_unit is not None:
        limit = {"value": account.credit_limit_value, "unit": account.credit_limit_unit}
        view["creditLimit"] = {k: v for k, v in limit.items() if v is not None}
    related = related_view(kept.parties_of(account.id)) or list(view.get("relatedParty") or [])
    if account.party_id not in {p.get("id") for p in related if isinstance(p, dict)}:
        related.append(_owner(request, account.party_id, owner_name))
    view["relatedParty"] = related
    view["lastModified"] = iso(account.updated_at or account.created_at)
    if isinstance(account, BillingAccount):
        view.setdefault("accountType", "default" if account.is_default else "additional")
        view.setdefault("description", accounts.billing_terms(account))
        if not has_own_bill_structure(account):
            view[OWN_BILL_STRUCTURE] = _standard_structure(request)
    return {
        **view,
        "id": account.id,
        "href": href(request, BASE, resource, account.id),
        "@type": _type(resource),
    }


def option_view(request: Request, option: BillingOption) -> dict[str, Any]:
    """A bill format or presentation medium."""
    resource = OPTION_RESOURCES[option.kind]
    return {
        **from_core(option, NAMED_FIELDS),
        "id": option.id,
        "href": href(request, BASE, resource, option.id),
        "@type": _type(resource),
    }


def cycle_view(request: Request, cycle: BillingCycle) -> dict[str, Any]:
    """A billing cycle as a TMF666 BillingCycleSpecification."""
    view = from_core(cycle, CYCLE_FIELDS)
    period = {
        key: iso(moment)
        for key, moment in (("startDateTime", cycle.valid_from), ("endDateTime", cycle.valid_until))
        if moment is not None
    }
    if period:
        view["validFor"] = period
    return {
        **view,
        "id": cycle.id,
        "href": href(request, BASE, "billingCycleSpecification", cycle.id),
        "@type": "BillingCycleSpecification",
    }


async def _names(session: Any, principal: Principal, party_ids: Iterable[str]) -> dict[str, str]:
    return await parties.party_names(session, principal=principal, party_ids=party_ids)


async def _account_views(
    request: Request,
    session: Any,
    principal: Principal,
    resource: str,
    found: Sequence[Account | BillingAccount],
) -> list[dict[str, Any]]:
    names = await _names(session, principal, [a.party_id for a in found])
    holder = Holder.BILLING_ACCOUNT if resource == "billingAccount" else Holder.ACCOUNT
    kept = await relations.load(session, holder, [a.id for a in found], media=False)
    return [account_view(request, resource, a, names.get(a.party_id), kept) for a in found]


async def _list_accounts(
    request: Request,
    session: Any,
    principal: Principal,
    query: TMFQuery,
    kind: AccountKind | None,
) -> Response:
    resource = "billingAccount" if kind is None else ACCOUNT_RESOURCES[kind]
    filters = _identified(ACCOUNT_FILTERS, AccountField.ID, resource)
    conditions, after = query.conditions(filters, AFTER_PAGE)
    page: Any
    if kind is None:
        page = await accounts.list_billing_accounts(
            session,
            principal=principal,
            conditions=conditions,
            offset=query.offset,
            limit=query.limit,
        )
    else:
        page = await accounts.list_accounts(
            session,
            principal=principal,
            kind=kind,
            conditions=conditions,
            offset=query.offset,
            limit=query.limit,
        )
    views = await _account_views(request, session, principal, resource, page.items)
    return await listed(query, views, total=page.total, after=after)


async def _account(
    session: Any, principal: Principal, kind: AccountKind | None, account_id: str
) -> Account | BillingAccount:
    if kind is None:
        return await billing.get_account(
            session, principal=principal, account_id=account_id, field_name="id"
        )
    return await accounts.get_account(
        session, principal=principal, kind=kind, account_id=account_id
    )


async def _account_response(
    request: Request,
    session: Any,
    principal: Principal,
    kind: AccountKind | None,
    account: Account | BillingAccount,
    status: int = 200,
) -> Response:
    resource = "billingAccount" if kind is None else ACCOUNT_RESOURCES[kind]
    [view] = await _account_views(request, session, principal, resource, [account])
    if status == 201:
        return tmf_json(view, status=201, headers={"Location": view["href"]})
    return tmf_json(view)


async def _get_account(
    request: Request,
    session: Any,
    principal: Principal,
    query: TMFQuery,
    kind: AccountKind | None,
    id: str,
) -> Response:
    account = await _account(session, principal, kind, id)
    resource_name = "billingAccount" if kind is None else ACCOUNT_RESOURCES[kind]
    [view] = await _account_views(request, session, principal, resource_name, [account])
    return resource(query, view)


async def _open_account(
    request: Request, session: Any, principal: Principal, kind: AccountKind | None, body: Any
) -> Response:
    given = dumped(body)
    record = _account_to_core(given)
    related = _related_party_ids(given)
    account: Account | BillingAccount
    if kind is None:
        account = await accounts.open_billing_account(
            session, principal=principal, record=record, related_party_ids=related
        )
    else:
        account = await accounts.open_account(
            session, principal=principal, kind=kind, record=record, related_party_ids=related
        )
    return await _account_response(request, session, principal, kind, account, status=201)


async def _patch_account(
    request: Request,
    session: Any,
    principal: Principal,
    kind: AccountKind | None,
    id: str,
    body: Any,
) -> Response:
    account = await _account(session, principal, kind, id)
    resource = "billingAccount" if kind is None else ACCOUNT_RESOURCES[kind]
    [current] = await _account_views(request, session, principal, resource, [account])
    patched = changes(dumped(body), current, _account_to_core)
    if kind is None:
        account = await accounts.update_billing_account(
            session, principal=principal, account_id=id, changes=patched
        )
    else:
        account = await accounts.update_account(
            session, principal=principal, kind=kind, account_id=id, changes=patched
        )
    return await _account_response(request, session, principal, kind, account)


async def list_billing_accounts(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's billing accounts."""
    return await _list_accounts(request, session, principal, query, None)


async def get_billing_account(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One of the caller's billing accounts."""
    return await _get_account(request, session, principal, query, None, id)


async def create_billing_account(
    body: tmf.BillingAccountCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Open a further billing account: the caller's, or that of the related party it may open
    one for (a buyer it acts for; any party, for operations staff)."""
    return await _open_account(request, session, principal, None, body)


async def patch_billing_account(
    id: str,
    body: BillingAccountPatch,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change one of the caller's billing accounts, by merge patch."""
    return await _patch_account(request, session, principal, None, id, body)


async def delete_billing_account(
    id: str, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Remove one of the caller's further billing accounts that has no bills or products."""
    await accounts.remove_billing_account(session, principal=principal, account_id=id)
    return Response(status_code=204)


async def list_party_accounts(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's party accounts."""
    return await _list_accounts(request, session, principal, query, AccountKind.PARTY)


async def get_party_account(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One of the caller's party accounts."""
    return await _get_account(request, session, principal, query, AccountKind.PARTY, id)


async def create_party_account(
    body: tmf.PartyAccountCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Open a party account."""
    return await _open_account(request, session, principal, AccountKind.PARTY, body)


async def patch_party_account(
    id: str,
    body: PartyAccountPatch,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change one of the caller's party accounts, by merge patch."""
    return await _patch_account(request, session, principal, AccountKind.PARTY, id, body)


async def delete_party_account(
    id: str, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Remove one of the caller's party accounts."""
    await accounts.close_account(
        session, principal=principal, kind=AccountKind.PARTY, account_id=id
    )
    return Response(status_code=204)


async def list_financial_accounts(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's financial accounts."""
    return await _list_accounts(request, session, principal, query, AccountKind.FINANCIAL)


async def get_financial_account(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One of the caller's financial accounts."""
    return await _get_account(request, session, principal, query, AccountKind.FINANCIAL, id)


async def create_financial_account(
    body: tmf.FinancialAccountCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Open a financial account."""
    return await _open_account(request, session, principal, AccountKind.FINANCIAL, body)


async def patch_financial_account(
    id: str,
    body: FinancialAccountPatch,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change one of the caller's financial accounts, by merge patch."""
    return await _patch_account(request, session, principal, AccountKind.FINANCIAL, id, body)


async def delete_financial_account(
    id: str, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Remove one of the caller's financial accounts."""
    await accounts.close_account(
        session, principal=principal, kind=AccountKind.FINANCIAL, account_id=id
    )
    return Response(status_code=204)


async def list_settlement_accounts(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's settlement accounts."""
    return await _list_accounts(request, session, principal, query, AccountKind.SETTLEMENT)


async def get_settlement_account(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One of the caller's settlement accounts."""
    return await _get_account(request, session, principal, query, AccountKind.SETTLEMENT, id)


async def create_settlement_account(
    body: tmf.SettlementAccountCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Open a settlement account."""
    return await _open_account(request, session, principal, AccountKind.SETTLEMENT, body)


async def patch_settlement_account(
    id: str,
    body: SettlementAccountPatch,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change one of the caller's settlement accounts, by merge patch."""
    return await _patch_account(request, session, principal, AccountKind.SETTLEMENT, id, body)


async def delete_settlement_account(
    id: str, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Remove one of the caller's settlement accounts."""
    await accounts.close_account(
        session, principal=principal, kind=AccountKind.SETTLEMENT, account_id=id
    )
    return Response(status_code=204)


async def _list_options(
    request: Request,
    session: Any,
    principal: Principal,
    query: TMFQuery,
    kind: BillingOptionKind,
) -> Response:
    filters = _identified(NAMED_FILTERS, NamedField.ID, OPTION_RESOURCES[kind])
    conditions, after = query.conditions(filters, AFTER_PAGE)
    page = await accounts.list_options(
        session,
        principal=principal,
        kind=kind,
        conditions=conditions,
        offset=query.offset,
        limit=query.limit,
    )
    return await listed(
        query, [option_view(request, o) for o in page.items], total=page.total, after=after
    )


async def _get_option(
    request: Request,
    session: Any,
    principal: Principal,
    query: TMFQuery,
    kind: BillingOptionKind,
    id: str,
) -> Response:
    option = await accounts.get_option(session, principal=principal, kind=kind, option_id=id)
    return resource(query, option_view(request, option))


async def _add_option(
    request: Request, session: Any, principal: Principal, kind: BillingOptionKind, body: Any
) -> Response:
    option = await accounts.add_option(
        session, principal=principal, kind=kind, record=_named_to_core(dumped(body))
    )
    view = option_view(request, option)
    return tmf_json(view, status=201, headers={"Location": view["href"]})


async def _patch_option(
    request: Request,
    session: Any,
    principal: Principal,
    kind: BillingOptionKind,
    id: str,
    body: Any,
) -> Response:
    option = await accounts.get_option(session, principal=principal, kind=kind, option_id=id)
    patched = changes(dumped(body), option_view(request, option), _named_to_core)
    option = await accounts.update_option(
        session, principal=principal, kind=kind, option_id=id, changes=patched
    )
    return tmf_json(option_view(request, option))


async def list_bill_formats(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The platform's bill formats and the caller's own."""
    return await _list_options(request, session, principal, query, BillingOptionKind.FORMAT)


async def get_bill_format(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One bill format."""
    return await _get_option(request, session, principal, query, BillingOptionKind.FORMAT, id)


async def create_bill_format(
    body: tmf.BillFormatCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Describe a bill format of the caller's."""
    return await _add_option(request, session, principal, BillingOptionKind.FORMAT, body)


async def patch_bill_format(
    id: str,
    body: BillFormatPatch,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change a bill format of the caller's (the platform's own: operations staff only)."""
    return await _patch_option(request, session, principal, BillingOptionKind.FORMAT, id, body)


async def delete_bill_format(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Remove a bill format of the caller's (the platform's own: operations staff only)."""
    await accounts.remove_option(
        session, principal=principal, kind=BillingOptionKind.FORMAT, option_id=id
    )
    return Response(status_code=204)


async def list_bill_media(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The platform's bill presentation media and the caller's own."""
    return await _list_options(request, session, principal, query, BillingOptionKind.MEDIUM)


async def get_bill_medium(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One bill presentation medium."""
    return await _get_option(request, session, principal, query, BillingOptionKind.MEDIUM, id)


async def create_bill_medium(
    body: tmf.BillPresentationMediaCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Describe a bill presentation medium of the caller's."""
    return await _add_option(request, session, principal, BillingOptionKind.MEDIUM, body)


async def patch_bill_medium(
    id: str,
    body: BillPresentationMediaPatch,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change a bill presentation medium of the caller's."""
    return await _patch_option(request, session, principal, BillingOptionKind.MEDIUM, id, body)


async def delete_bill_medium(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Remove a bill presentation medium of the caller's."""
    await accounts.remove_option(
        session, principal=principal, kind=BillingOptionKind.MEDIUM, option_id=id
    )
    return Response(status_code=204)


async def list_cycles(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The platform's billing cycles and the caller's own."""
    filters = _identified(CYCLE_FILTERS, CycleField.ID, "billingCycleSpecification")
    conditions, after = query.conditions(filters, AFTER_PAGE)
    page = await accounts.list_cycles(
        session,
        principal=principal,
        conditions=conditions,
        offset=query.offset,
        limit=query.limit,
    )
    return await listed(
        query, [cycle_view(request, c) for c in page.items], total=page.total, after=after
    )


async def get_cycle(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One billing cycle."""
    cycle = await accounts.get_cycle(session, principal=principal, cycle_id=id)
    return resource(query, cycle_view(request, cycle))


async def create_cycle(
    body: tmf.BillingCycleSpecificationCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Describe a billing cycle of the caller's."""
    with in_tmf_words(CYCLE_FIELDS):
        cycle = await accounts.add_cycle(
            session, principal=principal, record=_cycle_to_core(dumped(body))
        )
    view = cycle_view(request, cycle)
    return tmf_json(view, status=201, headers={"Location": view["href"]})


async def patch_cycle(
    id: str,
    body: BillingCycleSpecificationPatch,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change a billing cycle of the caller's."""
    cycle = await accounts.get_cycle(session, principal=principal, cycle_id=id)
    patched = changes(dumped(body), cycle_view(request, cycle), _cycle_to_core)
    with in_tmf_words(CYCLE_FIELDS):
        cycle = await accounts.update_cycle(
            session, principal=principal, cycle_id=id, changes=patched
        )
    return tmf_json(cycle_view(request, cycle))


async def delete_cycle(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Remove a billing cycle of the caller's."""
    await accounts.remove_cycle(session, principal=principal, cycle_id=id)
    return Response(status_code=204)


# The events TMF666 v4 defines: every account's changes, and only a financial account's
# creation and deletion.
ANNOUNCED = {EventKind.ATTRIBUTE_CHANGED, EventKind.STATE_CHANGED}
ANNOUNCED_FINANCIAL = ANNOUNCED | {EventKind.CREATED, EventKind.DELETED}


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """A core event about an account as the account it notifies about (its id, name, state
    and owner), if TMF666 defines such an event."""
    if event.entity is EntityKind.BILLING_ACCOUNT:
        found = "billingAccount"
    elif event.entity is EntityKind.ACCOUNT and event.data.get("kind") in set(AccountKind):
        found = ACCOUNT_RESOURCES[AccountKind(event.data["kind"])]
    else:
        return None
    if event.kind not in (ANNOUNCED_FINANCIAL if found == "financialAccount" else ANNOUNCED):
        return None
    view: dict[str, Any] = {
        "id": event.entity_id,
        "@type": _type(found),
        "name": event.data.get("name") or event.entity_id,
        "relatedParty": [
            # The owner by id (its name is not part of the event).
            {
                "id": event.party_id,
                "name": event.party_id,
                "role": "owner",
                "@referredType": "Organization",
            },
        ],
    }
    if event.state:
        view["state"] = event.state
    return found, view


NOTIFYING = NotifyingAPI("accountManagement", describe)

router = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF666 account"])
add_resource_routes(
    router,
    "billingAccount",
    tmf.BillingAccount,
    list[tmf.BillingAccount],
    (
        list_billing_accounts,
        get_billing_account,
        create_billing_account,
        patch_billing_account,
        delete_billing_account,
    ),
)
add_resource_routes(
    router,
    "partyAccount",
    tmf.PartyAccount,
    list[tmf.PartyAccount],
    (
        list_party_accounts,
        get_party_account,
        create_party_account,
        patch_party_account,
        delete_party_account,
    ),
)
add_resource_routes(
    router,
    "financialAccount",
    tmf.FinancialAccount,
    list[tmf.FinancialAccount],
    (
        list_financial_accounts,
        get_financial_account,
        create_financial_account,
        patch_financial_account,
        delete_financial_account,
    ),
)
add_resource_routes(
    router,
    "settlementAccount",
    tmf.SettlementAccount,
    list[tmf.SettlementAccount],
    (
        list_settlement_accounts,
        get_settlement_account,
        create_settlement_account,
        patch_settlement_account,
        delete_settlement_account,
    ),
)
add_resource_routes(
    router,
    "billFormat",
    tmf.BillFormat,
    list[tmf.BillFormat],
    (list_bill_formats, get_bill_format, create_bill_format, patch_bill_format, delete_bill_format),
)
add_resource_routes(
    router,
    "billPresentationMedia",
    tmf.BillPresentationMedia,
    list[tmf.BillPresentationMedia],
    (list_bill_media, get_bill_medium, create_bill_medium, patch_bill_medium, delete_bill_medium),
)
add_resource_routes(
    router,
    "billingCycleSpecification",
    tmf.BillingCycleSpecification,
    list[tmf.BillingCycleSpecification],
    (list_cycles, get_cycle, create_cycle, patch_cycle, delete_cycle),
)
add_hub_routes(router, NOTIFYING)
