"""TMF678 Customer Bill v4 as its conformance kit runs it, through the ASGI app."""

from datetime import UTC, datetime

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import billing, clock
from tests.factories import Caller, make_product
from tests.rest_facades.tmf.kit import Kit

SPEC = "TMF678-CustomerBill-v4"
BASE = "/tmf-api/customerBillManagement/v4"


def _at(year: int, month: int, day: int) -> None:
    moment = datetime(year, month, day, tzinfo=UTC)
    clock.set_clock(lambda: moment)


async def _cycle_bill(session: AsyncSession, caller: Caller, ops: Caller) -> billing.Bill:
    """The March bill of a product activated on 3 March."""
    _at(2026, 3, 3)
    await make_product(session, caller)
    _at(2026, 4, 2)
    assert await billing.run_cycle(session, principal=ops.principal, year=2026, month=3) >= 1
    [bill] = (
        await billing.page_bills(
            session, principal=caller.principal, conditions=[], offset=0, limit=10
        )
    ).items
    return bill


async def test_the_kits_bills_and_rates_are_read_listed_filtered_and_selected(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    made = await _cycle_bill(session, customer, ops)
    # Bills and their rates are made by the bill run: the kit reads those the list shows.
    bills = Kit(
        client, customer, SPEC, BASE, "customerBill", mandatory=("href", "id", "billDocument")
    )
    bill = await bills.existing(made.id)
    assert bill["billDocument"][0]["id"]
    await bills.filters_and_fields(bill)
    await bills.unknown_is_404()

    rates = Kit(
        client,
        customer,
        SPEC,
        BASE,
        "appliedCustomerBillingRate",
        mandatory=("href", "id", "isBilled"),
    )
    listed = await rates.call("GET", "/appliedCustomerBillingRate", 200)
    rate = await rates.existing(listed.json()[0]["id"])
    assert rate["isBilled"] is True
    await rates.filters_and_fields(rate)
    await rates.unknown_is_404()


async def test_operations_staff_patch_the_state_of_a_bill_the_kits_way(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    made = await _cycle_bill(session, customer, ops)
    kit = Kit(
        client, ops, SPEC, BASE, "customerBill", mandatory=("href", "id", "billDocument", "state")
    )
    bill = await kit.existing(made.id)
    # The kit's patch: the bill is held back from payment, filtered on, then sent.
    held = await kit.patch(bill, {"state": "onHold"})
    await kit.filters_and_fields(held)
    # The buyer reads what operations staff recorded; MEF 141 shows a held bill as not yet due.
    seen = Kit(client, customer, SPEC, BASE, "customerBill", mandatory=("state",))
    assert (await seen.existing(made.id))["state"] == "onHold"
    mef = await client.get(
        f"/mefApi/cantata/customerBillManagement/v2/customerBill/{made.id}",
        headers=customer.headers,
    )
    # (MEF 141 answers a read by id with an array of the one bill.)
    assert (mef.status_code, mef.json()[0]["state"]) == (200, "generated")
    sent = await kit.patch(held, {"state": "sent"})
    await kit.filters_and_fields(sent)
    back = await kit.call("PATCH", f"/customerBill/{made.id}", 409, body={"state": "new"})
    assert back.json()["code"] == "ILLEGAL_TRANSITION"


async def test_the_kits_bill_on_demand_is_requested_read_listed_filtered_and_selected(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    kit = Kit(client, customer, SPEC, BASE, "customerBillOnDemand", mandatory=("href", "id"))
    # For the caller's default billing account, then (as the kit does) naming it: a made-up
    # account, such as the kit's own example, is refused.
    first = await kit.create({})
    second = await kit.create({"billingAccount": {"id": first["billingAccount"]["id"]}})
    assert first["id"] != second["id"]
    await kit.filters_and_fields(first)
    await kit.unknown_is_404()
