"""MEF 141 Billing: the bills of the buyer's billing accounts (`customerBill`), their items
(`customerBillItem`, one per applied charge) and notifications of new bills and state changes."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query

from app.core import billing, parties
from app.core.billing import AppliedRate, Bill, BillFilter, BillKind, BillState, RateKind
from app.core.events import EntityKind, Event, EventKind
from app.core.inventory import ProductInstance
from app.core.ordering import OrderItem
from app.core.paging import fetch_page
from rest_facades.mef import hub
from rest_facades.mef.errors import bad_request, mef_json
from rest_facades.mef.flavours import Flavour

# Handlers take the Sonata models for both flavours (see flavours.py).
from rest_facades.mef.generated.sonata import billing as models
from rest_facades.mef.hub import NotifyingAPI
from rest_facades.mef.requested_products import SELLER_CONTACT
from rest_facades.mef.requests import (
    Caller,
    FlavourDep,
    MEFCaller,
    MEFList,
    dump,
    listing,
    owned_by_buyer,
)
from rest_facades.mef.routing import mef_router

API = "billing"
TAG = "billing (MEF 141)"
STATE = {
    BillState.NEW: "generated",
    # MEF 141 has no held bill: one held back from payment is not due.
    BillState.ON_HOLD: "generated",
    BillState.SENT: "paymentDue",
    BillState.PARTIALLY_PAID: "paymentDue",
    BillState.SETTLED: "settled",
}
CORE_STATES: dict[str, frozenset[BillState]] = {
    name: frozenset(s for s, n in STATE.items() if n == name) for name in set(STATE.values())
}
ITEM_TYPE = {RateKind.RECURRING: "recurring", RateKind.ONE_TIME: "nonRecurring"}
# The bills here are all originals: no duplicates, no trial bills.
CATEGORY = "normal"
_BILLING_CONTACT = SELLER_CONTACT | {"role": "sellerBillingContact", "name": "Lumen Billing Desk"}


def _money(cents: int, currency: str) -> dict[str, Any]:
    return {"unit": currency, "value": cents / 100}


def _href(flavour: Flavour, caller: Caller, resource: str, object_id: str) -> str:
    return caller.href(flavour.base_path(API), resource, object_id)


def _find_view(flavour: Flavour, caller: Caller, bill: Bill) -> dict[str, Any]:
    return dump(
        models.CustomerBillFind.model_validate(
            {
                "id": bill.id,
                "billNo": bill.id,
                "billingAccount": {"id": bill.billing_account_id},
                "billingPeriod": {
                    "startDateTime": bill.period_start,
                    "endDateTime": bill.period_end,
                },
                "category": CATEGORY,
                "state": STATE[bill.state],
            }
        )
    )


def _bill_view(
    flavour: Flavour, caller: Caller, bill: Bill, rates: list[AppliedRate]
) -> dict[str, Any]:
    """A core bill as a MEF CustomerBill; its amounts are the sums of its items."""
    currency = bill.currency
    remaining = 0 if bill.state is BillState.SETTLED else bill.total_cents
    paid = bill.total_cents - remaining
    return dump(
        models.CustomerBill.model_validate(
            {
                "id": bill.id,
                "href": _href(flavour, caller, "customerBill", bill.id),
                "billNo": bill.id,
                "amountDue": _money(bill.total_cents, currency),
                "appliedPayment": ([{"appliedAmount": _money(paid, currency)}] if paid else []),
                "billingAccount": {"id": bill.billing_account_id},
                "billCycle": "monthly" if bill.kind is BillKind.CYCLE else "on demand",
                "billDate": bill.bill_date,
                "billDocument": {},
                "billingPeriod": {
                    "startDateTime": bill.period_start,
                    "endDateTime": bill.period_end,
                },
                "category": CATEGORY,
                "credits": _money(0, currency),
                "customerBillItem": [
                    {"id": r.id, "href": _href(flavour, caller, "customerBillItem", r.id)}
                    for r in rates
                ],
                "discounts": _money(0, currency),
                "fees": _money(0, currency),
                "financialAccount": {"id": bill.billing_account_id},
                "lastUpdate": bill.bill_date,
                "paymentDueDate": bill.due_date,
                "runType": "onCycle" if bill.kind is BillKind.CYCLE else "offCycle",
                "relatedContactInformation": [_BILLING_CONTACT],
                "remainingAmount": _money(remaining, currency),
                "state": STATE[bill.state],
                "taxExcludedAmount": _money(bill.recurring_cents + bill.one_time_cents, currency),
                "taxIncludedAmount": _money(bill.total_cents, currency),
                "taxItem": [],
            }
        )
    )


async def _item_view(flavour: Flavour, caller: Caller, rate: AppliedRate) -> dict[str, Any]:
    """A core applied charge as a MEF CustomerBillItem, with the order item that made it."""
    session, principal = caller.session, caller.principal
    bill = await parties.get_scoped(session, Bill, rate.bill_id, principal, what="bill")
    product = await parties.get_scoped(
        session, ProductInstance, rate.product_id, principal, what="product"
    )
    items = await parties.children_scoped(session, OrderItem, "product_id", [product.id], principal)
    made_by = next(iter(items.get(product.id, [])), None)
    return dump(
        models.CustomerBillItem.model_validate(
            {
                "id": rate.id,
                "href": _href(flavour, caller, "customerBillItem", rate.id),
                "appliedTax": [],
                "appliedFee": [],
                "customerBillItemType": ITEM_TYPE[rate.kind],
                "description": rate.description,
                "periodCoverage": {
                    "startDateTime": rate.period_start,
                    "endDateTime": rate.period_end,
                },
                "product": {
                    "id": product.id,
                    "href": caller.href(
                        flavour.base_path("product_inventory"), "product", product.id
                    ),
                },
                "productOrderItem": {
                    "productOrderId": product.order_id,
                    "productOrderItemId": (
                        (made_by.external_id or str(made_by.position)) if made_by else "1"
                    ),
                    "productOrderHref": caller.href(
                        flavour.base_path("product_order"), "productOrder", product.order_id
                    ),
                },
                "productName": product.name,
                "state": STATE[bill.state],
                "taxExcludedAmount": _money(rate.amount_cents, rate.currency),
                "unit": "month" if rate.kind is RateKind.RECURRING else "each",
                "unitRate": _money(rate.amount_cents, rate.currency),
                "unitQuantity": 1,
            }
        )
    )


@dataclass(frozen=True)
class BillSearch:
    """The criteria of a bill list as MEF 141 names them."""

    where: BillFilter
    category: str | None


async def bill_search(
    caller: MEFCaller,
    account_id: Annotated[str | None, Query(alias="billingAccount.id")] = None,
    starts_before: Annotated[datetime | None, Query(alias="billingPeriod.startDateTime.lt")] = None,
    starts_after: Annotated[datetime | None, Query(alias="billingPeriod.startDateTime.gt")] = None,
    ends_before: Annotated[datetime | None, Query(alias="billingPeriod.endDateTime.lt")] = None,
    ends_after: Annotated[datetime | None, Query(alias="billingPeriod.endDateTime.gt")] = None,
    category: str | None = None,
    state: str | None = None,
) -> BillSearch:
    """The bill criteria of a list request; an unknown state or category is an Error400."""
    if state is not None and state not in CORE_STATES:
        raise bad_request("invalidQuery", f"state must be one of {', '.join(sorted(CORE_STATES))}")
    if category is not None and category not in set(models.CustomerBillCategory):
        names = ", ".join(models.CustomerBillCategory)
        raise bad_request("invalidQuery", f"category must be one of {names}")
    return BillSearch(
        BillFilter(
            party_id=caller.buyer_id,
            billing_account_id=account_id,
            states=CORE_STATES[state] if state else None,
            starts_after=starts_after,
            starts_before=starts_before,
            ends_after=ends_after,
            ends_before=ends_before,
        ),
        category,
    )


BillSearchDep = Annotated[BillSearch, Depends(bill_search)]
routes = mef_router()


@routes.get("/customerBill", response_model=list[models.CustomerBillFind])
async def list_bills(query: MEFList, flavour: FlavourDep, search: BillSearchDep) -> Any:
    """The bills of the buyer's billing accounts that meet every criterion given, newest
    first."""
    caller, window = query.caller, query.window
    if search.category not in (None, CATEGORY):
        return listing([], total=0)
    statement = billing.bills_query(principal=caller.principal, where=search.where)
    page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
    return listing([_find_view(flavour, caller, b) for b in page.items], total=page.total)


# The Grace file of MEF 141 answers a retrieval by id with an array (of the one object found):
# so do these, or a client generated from the file could not read the answer.


@routes.get("/customerBill/{id}", response_model=list[models.CustomerBill])
async def get_bill(id: str, caller: MEFCaller, flavour: FlavourDep) -> Any:
    """One of the buyer's bills with the references of its items."""
    found = await billing.get_bill(caller.session, principal=caller.principal, bill_id=id)
    owned_by_buyer(caller, found.bill.party_id, "bill", id)
    return mef_json([_bill_view(flavour, caller, found.bill, found.rates)])


@routes.get("/customerBillItem/{id}", response_model=list[models.CustomerBillItem])
async def get_bill_item(id: str, caller: MEFCaller, flavour: FlavourDep) -> Any:
    """One item of one of the buyer's bills: a charge for one product over a period."""
    rate = await billing.get_applied_rate(caller.session, principal=caller.principal, rate_id=id)
    owned_by_buyer(caller, rate.party_id, "bill item", id)
    return mef_json([await _item_view(flavour, caller, rate)])


routes.include_router(hub.routes)


def notification(flavour: Flavour, event: Event) -> tuple[str, dict[str, Any]] | None:
    """The MEF 141 event for a core bill event."""
    if event.entity != EntityKind.BILL:
        return None
    if event.kind is EventKind.CREATED:
        return "customerBillCreateEvent", {"id": event.entity_id}
    # Sent and partly paid are both `paymentDue` here: a move between them changes nothing.
    if event.kind is EventKind.STATE_CHANGED and _mef_state(event.state) != _mef_state(
        event.previous_state
    ):
        return "customerBillStateChangeEvent", {"id": event.entity_id}
    return None


def _mef_state(value: str | None) -> str | None:
    return next((name for state, name in STATE.items() if state == value), None)


NOTIFYING = NotifyingAPI(
    api=API, notification_api="billing_notification", notification=notification
)
