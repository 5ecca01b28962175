"""TMF678 Customer Bill v4: the core's bills and applied rates as customerBill and
appliedCustomerBillingRate; an on-demand bill is both the customerBillOnDemand request and the
customerBill it produced (one core bill of kind on_demand, one id).

A bill on demand is asked for one of the caller's billing accounts (`billingAccount.id`, as
TMF666 lists them); a request that names none is refused, so that an empty body bills nothing.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response

from app.core import billing
from app.core.billing import AppliedRate, Bill, BillField, BillKind, BillState, RateField, RateKind
from app.core.events import EntityKind, Event
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import (
    Attribute,
    as_cents,
    as_date_time,
    as_text,
    by_name,
    constant,
    linked,
)
from rest_facades.tmf.common import TMFQueryDep, href, iso, listed, resource
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.generated import customer_bill as models
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes

BASE = "/tmf-api/customerBillManagement/v4"
ACCOUNT_BASE = "/tmf-api/accountManagement/v4"
INVENTORY_BASE = "/tmf-api/productInventory/v4"
STATE = {
    BillState.NEW: "new",
    BillState.ON_HOLD: "onHold",
    BillState.SENT: "sent",
    BillState.PARTIALLY_PAID: "partiallyPaid",
    BillState.SETTLED: "settled",
}
CORE_STATE = {name: state for state, name in STATE.items()}
RUN_TYPE = {BillKind.CYCLE: "onCycle", BillKind.ON_DEMAND: "offCycle"}
RATE_TYPE = {RateKind.RECURRING: "recurring", RateKind.ONE_TIME: "oneTime"}
TAX_CATEGORY = "sales tax"
# What a bill on demand shows where it was given no name or description.
UNNAMED = "On-demand bill"
UNDESCRIBED = "Charges from the start of the month to the request"


def money(cents: int, currency: str) -> dict[str, Any]:
    """An amount in cents as TMF Money."""
    return {"unit": currency, "value": float(Decimal(cents) / 100)}


def _account_ref(request: Request, account_id: str) -> dict[str, Any]:
    return {
        "id": account_id,
        "href": href(request, ACCOUNT_BASE, "billingAccount", account_id),
        "@referredType": "BillingAccount",
    }


def _party_ref(party_id: str) -> dict[str, Any]:
    return {"id": party_id, "role": "customer", "@referredType": "Organization"}


def _bill_ref(request: Request, bill_id: str) -> dict[str, Any]:
    return {
        "id": bill_id,
        "href": href(request, BASE, "customerBill", bill_id),
        "@referredType": "CustomerBill",
    }


def bill_view(request: Request, bill: Bill) -> dict[str, Any]:
    """A core bill as a TMF678 CustomerBill: its amounts add up (tax excluded plus its tax
    items is tax included, which is the amount due)."""
    remaining = 0 if bill.state is BillState.SETTLED else bill.total_cents
    excluded = bill.recurring_cents + bill.one_time_cents
    link = href(request, BASE, "customerBill", bill.id)
    return {
        "id": bill.id,
        "href": link,
        "@type": "CustomerBill",
        "billNo": bill.id,
        "category": "normal",
        "runType": RUN_TYPE[bill.kind],
        "state": STATE[bill.state],
        "billDate": iso(bill.bill_date),
        "lastUpdate": iso(bill.bill_date),
        "nextBillDate": iso(billing.next_bill_date(bill)),
        "paymentDueDate": iso(bill.due_date),
        "billingPeriod": {
            "startDateTime": iso(bill.period_start),
            "endDateTime": iso(bill.period_end),
        },
        "billingAccount": _account_ref(request, bill.billing_account_id),
        "relatedParty": [_party_ref(bill.party_id)],
        "amountDue": money(bill.total_cents, bill.currency),
        "remainingAmount": money(remaining, bill.currency),
        "taxExcludedAmount": money(excluded, bill.currency),
        "taxIncludedAmount": money(excluded + bill.tax_cents, bill.currency),
        "taxItem": [
            {
                "taxCategory": TAX_CATEGORY,
                "taxRate": round(bill.tax_cents / excluded, 4) if excluded else 0.0,
                "taxAmount": money(bill.tax_cents, bill.currency),
                "@type": "TaxItem",
            }
        ],
        "appliedPayment": [],
        # The bill's document is the bill itself, as this API renders it.
        "billDocument": [
            {
                "id": bill.id,
                "href": link,
                "name": f"Bill {bill.id}",
                "attachmentType": "bill",
                "mimeType": "application/json",
                "url": link,
                "@type": "Attachment",
            }
        ],
    }


def on_demand_view(request: Request, bill: Bill) -> dict[str, Any]:
    """An on-demand core bill as the TMF678 CustomerBillOnDemand that asked for it."""
    return {
        "id": bill.id,
        "href": href(request, BASE, "customerBillOnDemand", bill.id),
        "@type": "CustomerBillOnDemand",
        "name": bill.name or UNNAMED,
        "description": bill.description or UNDESCRIBED,
        "lastUpdate": iso(bill.bill_date),
        "state": models.StateValues.done.value,
        "billingAccount": _account_ref(request, bill.billing_account_id),
        "relatedParty": _party_ref(bill.party_id),
        "customerBill": _bill_ref(request, bill.id),
    }


def rate_view(request: Request, rate: AppliedRate) -> dict[str, Any]:
    """A core applied rate as a TMF678 AppliedCustomerBillingRate (the core taxes bills, not
    their rates, so a rate's tax-included amount is its amount)."""
    amount = money(rate.amount_cents, rate.currency)
    return {
        "id": rate.id,
        "href": href(request, BASE, "appliedCustomerBillingRate", rate.id),
        "@type": "AppliedCustomerBillingRate",
        "name": rate.description,
        "description": rate.description,
        "type": RATE_TYPE[rate.kind],
        "date": iso(rate.applied_at),
        "isBilled": True,
        "bill": _bill_ref(request, rate.bill_id),
        "billingAccount": _account_ref(request, rate.billing_account_id),
        "product": {
            "id": rate.product_id,
            "href": href(request, INVENTORY_BASE, "product", rate.product_id),
            "@referredType": "Product",
        },
        "periodCoverage": {
            "startDateTime": iso(rate.period_start),
            "endDateTime": iso(rate.period_end),
        },
        "appliedTax": [],
        "taxExcludedAmount": amount,
        "taxIncludedAmount": amount,
    }


def _describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    if event.entity != EntityKind.BILL or event.state is None:
        return None
    return "customerBill", {
        "id": event.entity_id,
        "state": STATE[BillState(event.state)],
        "@type": "CustomerBill",
    }


NOTIFYING = NotifyingAPI("customerBill", _describe)


def _rate(text: str) -> tuple[Decimal, ...]:
    """A filter value that is a tax rate (a number); any other matches none."""
    try:
        rate = Decimal(text)
    except ArithmeticError:
        return ()
    return (rate,) if rate.is_finite() and abs(rate) < 10**6 else ()


def _or_unset(default: str) -> Callable[[str], tuple[str, ...]]:
    """Filter values of a text shown as `default` where none was given (kept empty)."""
    return lambda text: (text, "") if text == default else (text,)


def _document_name(text: str) -> tuple[str, ...]:
    """The bill a document's name (`Bill <id>`) names."""
    return (text.removeprefix("Bill "),) if text.startswith("Bill ") else ()


def _account(field: BillField | RateField) -> dict[str, Attribute[Any]]:
    return {
        "billingAccount.id": Attribute(field, as_text),
        "billingAccount.href": linked(field, ACCOUNT_BASE, "billingAccount"),
        "billingAccount.@referredType": constant(field, "BillingAccount"),
    }


def _bill(field: BillField | RateField, at: str) -> dict[str, Attribute[Any]]:
    return {
        f"{at}.id": Attribute(field, as_text),
        f"{at}.href": linked(field, BASE, "customerBill"),
        f"{at}.@referredType": constant(field, "CustomerBill"),
    }


def _buyer(field: BillField) -> dict[str, Attribute[Any]]:
    return {
        "relatedParty.id": Attribute(field, as_text),
        "relatedParty.role": constant(field, "customer"),
        "relatedParty.@referredType": constant(field, "Organization"),
    }


_DOCUMENT = "billDocument"
# The attributes that the core stores, or derives from what it stores, and filters on.
BILL_FILTERS: dict[str, Attribute[BillField]] = {
    "id": Attribute(BillField.ID, as_text),
    "href": linked(BillField.ID, BASE, "customerBill"),
    "@type": constant(BillField.ID, "CustomerBill"),
    "billNo": Attribute(BillField.ID, as_text),
    "category": constant(BillField.ID, "normal"),
    "state": Attribute(BillField.STATE, by_name(STATE)),
    "runType": Attribute(BillField.KIND, by_name(RUN_TYPE)),
    **_account(BillField.BILLING_ACCOUNT_ID),
    **_buyer(BillField.PARTY_ID),
    "billDate": Attribute(BillField.BILL_DATE, as_date_time, ordered=True),
    "lastUpdate": Attribute(BillField.BILL_DATE, as_date_time, ordered=True),
    "nextBillDate": Attribute(BillField.NEXT_BILL_DATE, as_date_time, ordered=True),
    "paymentDueDate": Attribute(BillField.DUE_DATE, as_date_time, ordered=True),
    "billingPeriod.startDateTime": Attribute(BillField.PERIOD_START, as_date_time, ordered=True),
    "billingPeriod.endDateTime": Attribute(BillField.PERIOD_END, as_date_time, ordered=True),
    "amountDue.value": Attribute(BillField.TOTAL_CENTS, as_cents, ordered=True),
    "taxIncludedAmount.value": Attribute(BillField.TOTAL_CENTS, as_cents, ordered=True),
    "taxExcludedAmount.value": Attribute(BillField.EXCLUDED_CENTS, as_cents, ordered=True),
    "remainingAmount.value": Attribute(BillField.REMAINING_CENTS, as_cents, ordered=True),
    **{
        f"{amount}.unit": Attribute(BillField.CURRENCY, as_text)
        for amount in (
            "amountDue",
            "taxIncludedAmount",
            "taxExcludedAmount",
            "remainingAmount",
            "taxItem.taxAmount",
        )
    },
    "taxItem.taxAmount.value": Attribute(BillField.TAX_CENTS, as_cents, ordered=True),
    "taxItem.taxRate": Attribute(BillField.TAX_RATE, _rate, ordered=True),
    "taxItem.taxCategory": constant(BillField.ID, TAX_CATEGORY),
    "taxItem.@type": constant(BillField.ID, "TaxItem"),
    # A bill is its own document.
    f"{_DOCUMENT}.id": Attribute(BillField.ID, as_text),
    f"{_DOCUMENT}.href": linked(BillField.ID, BASE, "customerBill"),
    f"{_DOCUMENT}.url": linked(BillField.ID, BASE, "customerBill"),
    f"{_DOCUMENT}.name": Attribute(BillField.ID, _document_name),
    f"{_DOCUMENT}.attachmentType": constant(BillField.ID, "bill"),
    f"{_DOCUMENT}.mimeType": constant(BillField.ID, "application/json"),
    f"{_DOCUMENT}.@type": constant(BillField.ID, "Attachment"),
}
ON_DEMAND_FILTERS: dict[str, Attribute[BillField]] = {
    "id": Attribute(BillField.ID, as_text),
    "href": linked(BillField.ID, BASE, "customerBillOnDemand"),
    "@type": constant(BillField.ID, "CustomerBillOnDemand"),
    "name": Attribute(BillField.NAME, _or_unset(UNNAMED)),
    "description": Attribute(BillField.DESCRIPTION, _or_unset(UNDESCRIBED)),
    "state": constant(BillField.ID, models.StateValues.done.value),
    **_account(BillField.BILLING_ACCOUNT_ID),
    **_buyer(BillField.PARTY_ID),
    **_bill(BillField.ID, "customerBill"),
    "lastUpdate": Attribute(BillField.BILL_DATE, as_date_time, ordered=True),
}
RATE_FILTERS: dict[str, Attribute[RateField]] = {
    "id": Attribute(RateField.ID, as_text),
    "href": linked(RateField.ID, BASE, "appliedCustomerBillingRate"),
    "@type": constant(RateField.ID, "AppliedCustomerBillingRate"),
    "isBilled": constant(RateField.ID, True),
    "name": Attribute(RateField.DESCRIPTION, as_text),
    "description": Attribute(RateField.DESCRIPTION, as_text),
    "type": Attribute(RateField.KIND, by_name(RATE_TYPE)),
    **_bill(RateField.BILL_ID, "bill"),
    **_account(RateField.BILLING_ACCOUNT_ID),
    "product.id": Attribute(RateField.PRODUCT_ID, as_text),
    "product.href": linked(RateField.PRODUCT_ID, INVENTORY_BASE, "product"),
    "product.@referredType": constant(RateField.PRODUCT_ID, "Product"),
    "date": Attribute(RateField.APPLIED_AT, as_date_time, ordered=True),
    "periodCoverage.startDateTime": Attribute(RateField.PERIOD_START, as_date_time, ordered=True),
    "periodCoverage.endDateTime": Attribute(RateField.PERIOD_END, as_date_time, ordered=True),
    "taxExcludedAmount.value": Attribute(RateField.AMOUNT_CENTS, as_cents, ordered=True),
    "taxIncludedAmount.value": Attribute(RateField.AMOUNT_CENTS, as_cents, ordered=True),
    "taxExcludedAmount.unit": Attribute(RateField.CURRENCY, as_text),
    "taxIncludedAmount.unit": Attribute(RateField.CURRENCY, as_text),
}
# TMF678 attributes that filter after the page is read: none, every attribute filters in SQL.
AFTER_PAGE: frozenset[str] = frozenset()
router = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF678 customer bill"])


@router.get("/customerBill", response_model=list[models.CustomerBill])
async def list_bills(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's bills, newest first."""
    conditions, after = query.conditions(BILL_FILTERS, AFTER_PAGE)
    page = await billing.page_bills(
        session, principal=principal, conditions=conditions, offset=query.offset, limit=query.limit
    )
    views = [bill_view(request, b) for b in page.items]
    return await listed(query, views, total=page.total, after=after)


@router.get("/customerBill/{id}", response_model=models.CustomerBill)
async def get_bill(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One bill."""
    found = await billing.get_bill(session, principal=principal, bill_id=id)
    return resource(query, bill_view(request, found.bill))


@router.patch("/customerBill/{id}", response_model=models.CustomerBill)
async def patch_bill(
    id: str,
    body: models.CustomerBillUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Record that a bill was sent, held or paid (its state is all that changes)."""
    current = (await billing.get_bill(session, principal=principal, bill_id=id)).bill
    extra = body.model_fields_set - {
        "state",
        "field_type",
        "field_baseType",
        "field_schemaLocation",
    }
    if extra:
        raise TMFError(400, "NOT_PATCHABLE", f"{', '.join(sorted(extra))} cannot be changed")
    wanted = body.state.value if body.state is not None else STATE[current.state]
    if wanted not in CORE_STATE:
        raise TMFError(400, "INVALID_VALUE", "state must be one of " + ", ".join(CORE_STATE))
    bill = await billing.change_bill_state(
        session, principal=principal, bill_id=id, state=CORE_STATE[wanted]
    )
    return tmf_json(bill_view(request, bill))


@router.post("/customerBillOnDemand", status_code=201, response_model=models.CustomerBillOnDemand)
async def request_bill(
    body: models.CustomerBillOnDemandCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Bill this month's charges so far, now, for one of the caller's billing accounts (its
    default one, or the named buyer's, when none is named)."""
    if body.state not in (None, models.StateValues.inProgress, models.StateValues.done):
        raise TMFError(400, "INVALID_VALUE", "a new request's state is inProgress or done")
    if body.customerBill is not None:
        raise TMFError(400, "NOT_SETTABLE", "customerBill is the bill this request produces")
    made = await billing.bill_on_demand(
        session,
        principal=principal,
        account_id=body.billingAccount.id if body.billingAccount else None,
        buyer_party_id=body.relatedParty.id if body.relatedParty else None,
        name=body.name or "",
        description=body.description or "",
    )
    view = on_demand_view(request, made.bill)
    return tmf_json(view, status=201, headers={"Location": view["href"]})


@router.get("/customerBillOnDemand", response_model=list[models.CustomerBillOnDemand])
async def list_on_demand(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's on-demand bill requests, newest first."""
    conditions, after = query.conditions(ON_DEMAND_FILTERS, AFTER_PAGE)
    page = await billing.page_bills(
        session,
        principal=principal,
        conditions=[*conditions, billing.on_demand_only()],
        offset=query.offset,
        limit=query.limit,
    )
    views = [on_demand_view(request, b) for b in page.items]
    return await listed(query, views, total=page.total, after=after)


@router.get("/customerBillOnDemand/{id}", response_model=models.CustomerBillOnDemand)
async def get_on_demand(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One on-demand bill request."""
    bill = await billing.get_on_demand_bill(session, principal=principal, bill_id=id)
    return resource(query, on_demand_view(request, bill))


@router.get("/appliedCustomerBillingRate", response_model=list[models.AppliedCustomerBillingRate])
async def list_rates(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's applied rates, newest first."""
    conditions, after = query.conditions(RATE_FILTERS, AFTER_PAGE)
    page = await billing.page_applied_rates(
        session, principal=principal, conditions=conditions, offset=query.offset, limit=query.limit
    )
    views = [rate_view(request, r) for r in page.items]
    return await listed(query, views, total=page.total, after=after)


@router.get("/appliedCustomerBillingRate/{id}", response_model=models.AppliedCustomerBillingRate)
async def get_rate(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One applied rate."""
    rate = await billing.get_applied_rate(session, principal=principal, rate_id=id)
    return resource(query, rate_view(request, rate))


add_hub_routes(router, NOTIFYING)
