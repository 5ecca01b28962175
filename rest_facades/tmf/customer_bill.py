"""TMF678 Customer Bill v4: the core's bills and applied rates as customerBill and
appliedCustomerBillingRate; an on-demand bill is both the customerBillOnDemand request and the
customerBill it produced (one core bill of kind on_demand, one id)."""

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response

from app.core import billing
from app.core.billing import AppliedRate, Bill, BillKind, BillState, RateKind
from app.core.events import Event
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import merge_patch
from rest_facades.tmf.common import href, iso, listing, one, read_body
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes

BASE = "/tmf-api/customerBillManagement/v4"
ACCOUNT_BASE = "/tmf-api/accountManagement/v4"
INVENTORY_BASE = "/tmf-api/productInventory/v4"
STATE = {
    BillState.NEW: "new",
    BillState.SENT: "sent",
    BillState.PARTIALLY_PAID: "partiallyPaid",
    BillState.SETTLED: "settled",
}
CORE_STATE = {name: state for state, name in STATE.items()}
RATE_TYPE = {RateKind.RECURRING: "recurring", RateKind.ONE_TIME: "oneTime"}


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


def bill_view(request: Request, bill: Bill) -> dict[str, Any]:
    """A core bill as a TMF678 CustomerBill."""
    remaining = 0 if bill.state is BillState.SETTLED else bill.total_cents
    return {
        "id": bill.id,
        "href": href(request, BASE, "customerBill", bill.id),
        "@type": "CustomerBill",
        "billNo": bill.id,
        "category": "normal",
        "runType": "onCycle" if bill.kind is BillKind.CYCLE else "offCycle",
        "state": STATE[bill.state],
        "billDate": iso(bill.bill_date),
        "paymentDueDate": iso(bill.due_date),
        "billingPeriod": {
            "startDateTime": iso(bill.period_start),
            "endDateTime": iso(bill.period_end),
        },
        "billingAccount": _account_ref(request, bill.billing_account_id),
        "relatedParty": [_party_ref(bill.party_id)],
        "amountDue": money(bill.total_cents, bill.currency),
        "remainingAmount": money(remaining, bill.currency),
        "taxExcludedAmount": money(bill.recurring_cents + bill.one_time_cents, bill.currency),
        "taxIncludedAmount": money(bill.total_cents, bill.currency),
    }


def on_demand_view(request: Request, bill: Bill) -> dict[str, Any]:
    """An on-demand core bill as the TMF678 CustomerBillOnDemand that asked for it."""
    return {
        "id": bill.id,
        "href": href(request, BASE, "customerBillOnDemand", bill.id),
        "@type": "CustomerBillOnDemand",
        "name": "On-demand bill",
        "description": "Charges from the start of the month to the request",
        "lastUpdate": iso(bill.bill_date),
        "state": "done",
        "billingAccount": _account_ref(request, bill.billing_account_id),
        "relatedParty": _party_ref(bill.party_id),
        "customerBill": {
            "id": bill.id,
            "href": href(request, BASE, "customerBill", bill.id),
            "@referredType": "CustomerBill",
        },
    }


def rate_view(request: Request, rate: AppliedRate) -> dict[str, Any]:
    """A core applied rate as a TMF678 AppliedCustomerBillingRate."""
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
        "bill": {
            "id": rate.bill_id,
            "href": href(request, BASE, "customerBill", rate.bill_id),
            "@referredType": "CustomerBill",
        },
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
        "taxExcludedAmount": amount,
        "taxIncludedAmount": amount,
    }


def _describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    if event.entity != "bill" or event.state is None:
        return None
    return "customerBill", {
        "id": event.entity_id,
        "state": STATE[BillState(event.state)],
        "@type": "CustomerBill",
    }


NOTIFYING = NotifyingAPI("customerBill", _describe)


def router() -> APIRouter:
    """The TMF678 endpoints."""
    routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF678 customer bill"])

    @routes.get("/customerBill")
    async def list_bills(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The caller's bills, newest first."""
        found = (await session.exec(billing.bills_query(principal=principal))).all()
        return listing(request, [bill_view(request, b) for b in found])

    @routes.get("/customerBill/{id}")
    async def get_bill(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One bill."""
        found = await billing.get_bill(session, principal=principal, bill_id=id)
        return one(request, bill_view(request, found.bill))

    @routes.patch("/customerBill/{id}")
    async def patch_bill(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Record that a bill was sent or paid (its state is all that changes)."""
        current = bill_view(
            request, (await billing.get_bill(session, principal=principal, bill_id=id)).bill
        )
        patch = await read_body(request)
        extra = set(patch) - {"state", "@type", "@baseType", "@schemaLocation"}
        if extra:
            raise TMFError(400, "NOT_PATCHABLE", f"{', '.join(sorted(extra))} cannot be changed")
        wanted = merge_patch(current, patch).get("state")
        if wanted not in CORE_STATE:
            raise TMFError(400, "INVALID_VALUE", "state must be one of " + ", ".join(CORE_STATE))
        bill = await billing.change_bill_state(
            session, principal=principal, bill_id=id, state=CORE_STATE[wanted]
        )
        return one(request, bill_view(request, bill))

    @routes.post("/customerBillOnDemand", status_code=201)
    async def request_bill(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Bill this month's charges so far, now."""
        body = await read_body(request)
        account = body.get("billingAccount")
        party = body.get("relatedParty")
        if account is not None and not (isinstance(account, dict) and account.get("id")):
            raise TMFError(400, "MISSING_ATTRIBUTE", "billingAccount.id is mandatory")
        if party is not None and not (isinstance(party, dict) and party.get("id")):
            raise TMFError(400, "MISSING_ATTRIBUTE", "relatedParty.id is mandatory")
        made = await billing.bill_on_demand(
            session,
            principal=principal,
            account_id=str(account["id"]) if account else None,
            buyer_party_id=str(party["id"]) if party else None,
        )
        view = on_demand_view(request, made.bill)
        return tmf_json(view, status=201, headers={"Location": view["href"]})

    @routes.get("/customerBillOnDemand")
    async def list_on_demand(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The caller's on-demand bill requests, newest first."""
        query = billing.bills_query(principal=principal, kind=BillKind.ON_DEMAND)
        found = (await session.exec(query)).all()
        return listing(request, [on_demand_view(request, b) for b in found])

    @routes.get("/customerBillOnDemand/{id}")
    async def get_on_demand(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One on-demand bill request."""
        bill = (await billing.get_bill(session, principal=principal, bill_id=id)).bill
        if bill.kind is not BillKind.ON_DEMAND:
            raise TMFError(404, "NOT_FOUND", f"no customer bill on demand '{id}'")
        return one(request, on_demand_view(request, bill))

    @routes.get("/appliedCustomerBillingRate")
    async def list_rates(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The caller's applied rates, newest first."""
        found = (await session.exec(billing.applied_rates_query(principal=principal))).all()
        return listing(request, [rate_view(request, r) for r in found])

    @routes.get("/appliedCustomerBillingRate/{id}")
    async def get_rate(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One applied rate."""
        rate = await billing.get_applied_rate(session, principal=principal, rate_id=id)
        return one(request, rate_view(request, rate))

    add_hub_routes(routes, NOTIFYING)
    return routes
