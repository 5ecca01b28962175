"""TMF678 Customer Bill v4 through the ASGI app, checked against the official file."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import billing, clock
from app.core.billing import BillKind, BillState
from app.core.db import Database
from app.core.events import EntityKind, list_events
from rest_facades.tmf.customer_bill import NOTIFYING
from tests.factories import Caller, make_product
from tests.rest_facades.tmf.conformance import check_response
from tests.statements import copies, counting

SPEC = "TMF678-CustomerBill-v4"
BASE = "/tmf-api/customerBillManagement/v4"
MERGE = {"Content-Type": "application/merge-patch+json"}


async def _call(
    client: httpx.AsyncClient,
    caller: Caller,
    method: str,
    path: str,
    template: str,
    status: int,
    *,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    **query: str,
) -> httpx.Response:
    response = await client.request(
        method,
        f"{BASE}{path}",
        headers=caller.headers | (headers or {}),
        params=(params or {}) | query,
        json=body,
    )
    assert response.status_code == status, response.text
    if status != 204:
        check_response(SPEC, template, method, status, response.json())
    return response


def _at(year: int, month: int, day: int) -> None:
    moment = datetime(year, month, day, tzinfo=UTC)
    clock.set_clock(lambda: moment)


def _cents(money: dict[str, Any]) -> int:
    assert money["unit"] == "USD"
    return round(float(money["value"]) * 100)


async def _billed(session: AsyncSession, caller: Caller, ops: Caller) -> None:
    """A product activated on 3 March, the March cycle bill, and an on-demand bill in April."""
    _at(2026, 3, 3)
    await make_product(session, caller)
    _at(2026, 4, 2)
    assert await billing.run_cycle(session, principal=ops.principal, year=2026, month=3) >= 1


async def test_on_demand_bills_are_requested_and_read(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    await _billed(session, customer, ops)
    _at(2026, 4, 16)
    # An account reference without its id is malformed.
    empties: list[dict[str, Any]] = [{"billingAccount": {}}, {"billingAccount": {"name": "x"}}]
    for empty in empties:
        refused = await _call(
            client,
            customer,
            "POST",
            "/customerBillOnDemand",
            "/customerBillOnDemand",
            400,
            body=empty,
        )
        assert "billingAccount" in refused.json()["reason"]
    [account] = await billing.list_accounts(session, principal=customer.principal)
    made = await _call(
        client,
        customer,
        "POST",
        "/customerBillOnDemand",
        "/customerBillOnDemand",
        201,
        body={
            "name": "mid-month",
            "description": "before the audit",
            "billingAccount": {"id": account.id},
            "@type": "CustomerBillOnDemand",
        },
    )
    request = made.json()
    assert made.headers["location"] == request["href"]
    assert request["state"] == "done"
    assert (request["name"], request["description"]) == ("mid-month", "before the audit")
    read = await _call(
        client,
        customer,
        "GET",
        f"/customerBillOnDemand/{request['id']}",
        "/customerBillOnDemand/{id}",
        200,
    )
    assert read.json() == request
    for attribute, value in (
        ("id", request["id"]),
        ("name", "mid-month"),
        ("billingAccount.id", account.id),
        ("lastUpdate.gte", "2026-04-16T00:00:00Z"),
    ):
        found = await _call(
            client,
            customer,
            "GET",
            "/customerBillOnDemand",
            "/customerBillOnDemand",
            200,
            params={attribute: value},
        )
        assert [r["id"] for r in found.json()] == [request["id"]], attribute
    # The request and the bill it produced are one core bill.
    assert request["customerBill"]["id"] == request["id"]
    core = await billing.get_bill(session, principal=customer.principal, bill_id=request["id"])
    assert core.bill.kind is BillKind.ON_DEMAND
    assert request["billingAccount"]["id"] == core.bill.billing_account_id

    listed = await _call(
        client, customer, "GET", "/customerBillOnDemand", "/customerBillOnDemand", 200
    )
    assert [r["id"] for r in listed.json()] == [request["id"]]
    assert listed.headers["x-total-count"] == "1"
    got = await _call(
        client,
        customer,
        "GET",
        f"/customerBillOnDemand/{request['id']}",
        "/customerBillOnDemand/{id}",
        200,
        fields="state",
    )
    assert set(got.json()) == {"id", "href", "@type", "state"}
    bill = await _call(
        client,
        customer,
        "GET",
        f"/customerBill/{request['id']}",
        "/customerBill/{id}",
        200,
    )
    assert bill.json()["runType"] == "offCycle"
    assert bill.json()["billingPeriod"] == {
        "startDateTime": "2026-04-01T00:00:00Z",
        "endDateTime": "2026-04-16T00:00:00Z",
    }
    # A cycle bill is not an on-demand request.
    cycle = (await session.exec(billing.bills_query(principal=customer.principal))).all()
    cycle_id = next(b.id for b in cycle if b.kind is BillKind.CYCLE)
    await _call(
        client,
        customer,
        "GET",
        f"/customerBillOnDemand/{cycle_id}",
        "/customerBillOnDemand/{id}",
        404,
    )
    # An account that is not the caller's is refused.
    await _call(
        client,
        customer,
        "POST",
        "/customerBillOnDemand",
        "/customerBillOnDemand",
        400,
        body={"billingAccount": {"id": "ba_nope"}},
    )


async def test_bills_add_up_their_applied_rates(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    await _billed(session, customer, ops)
    listed = await _call(client, customer, "GET", "/customerBill", "/customerBill", 200)
    [bill] = listed.json()
    assert bill["runType"] == "onCycle"
    assert bill["state"] == "new"
    assert bill["billingPeriod"] == {
        "startDateTime": "2026-03-01T00:00:00Z",
        "endDateTime": "2026-04-01T00:00:00Z",
    }
    assert bill["billDate"] == "2026-04-02T00:00:00Z"
    assert bill["paymentDueDate"] == "2026-05-02T00:00:00Z"
    rates = await _call(
        client,
        customer,
        "GET",
        "/appliedCustomerBillingRate",
        "/appliedCustomerBillingRate",
        200,
        params={"bill.id": bill["id"]},
    )
    assert {r["type"] for r in rates.json()} == {"recurring", "oneTime"}
    assert sum(_cents(r["taxIncludedAmount"]) for r in rates.json()) == _cents(bill["amountDue"])
    assert _cents(bill["amountDue"]) > 0
    one_time = await _call(
        client,
        customer,
        "GET",
        "/appliedCustomerBillingRate",
        "/appliedCustomerBillingRate",
        200,
        type="oneTime",
        fields="taxIncludedAmount.value",
    )
    [installation] = one_time.json()
    assert set(installation) == {"id", "href", "@type", "taxIncludedAmount"}
    dearer = await _call(
        client,
        customer,
        "GET",
        "/appliedCustomerBillingRate",
        "/appliedCustomerBillingRate",
        200,
        params={"taxIncludedAmount.value.gt": "0.01"},
    )
    assert len(dearer.json()) == 2
    rate = await _call(
        client,
        customer,
        "GET",
        f"/appliedCustomerBillingRate/{installation['id']}",
        "/appliedCustomerBillingRate/{id}",
        200,
    )
    assert rate.json()["bill"]["id"] == bill["id"]
    assert rate.json()["periodCoverage"]["startDateTime"] == "2026-03-01T00:00:00Z"
    filtered = await _call(
        client,
        customer,
        "GET",
        "/customerBill",
        "/customerBill",
        200,
        params={"billingPeriod.startDateTime.gte": "2026-04-01T00:00:00Z"},
    )
    assert filtered.json() == []
    trimmed = await _call(
        client, customer, "GET", "/customerBill", "/customerBill", 200, fields="amountDue"
    )
    assert set(trimmed.json()[0]) == {"id", "href", "@type", "amountDue"}


async def test_operations_staff_patch_the_state_of_a_bill(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    await _billed(session, customer, ops)
    [bill] = (await session.exec(billing.bills_query(principal=customer.principal))).all()
    path = f"/customerBill/{bill.id}"
    await _call(client, customer, "PATCH", path, "/customerBill/{id}", 403, body={"state": "sent"})
    sent = await _call(
        client, ops, "PATCH", path, "/customerBill/{id}", 200, headers=MERGE, body={"state": "sent"}
    )
    assert sent.json()["state"] == "sent"
    settled = await _call(
        client, ops, "PATCH", path, "/customerBill/{id}", 200, body={"state": "settled"}
    )
    assert settled.json()["state"] == "settled"
    assert settled.json()["remainingAmount"]["value"] == 0
    await session.refresh(bill)
    assert bill.state is BillState.SETTLED
    back = await _call(client, ops, "PATCH", path, "/customerBill/{id}", 409, body={"state": "new"})
    assert back.json()["code"] == "ILLEGAL_TRANSITION"
    for body in ({"billNo": "x"}, {"state": "lost"}):
        await _call(client, ops, "PATCH", path, "/customerBill/{id}", 400, body=body)
    found = await list_events(
        session, principal=ops.principal, entity=EntityKind.BILL, entity_id=bill.id
    )
    assert [NOTIFYING.describe(e) for e in found] == [
        ("customerBill", {"id": bill.id, "state": state, "@type": "CustomerBill"})
        for state in ("new", "sent", "settled")
    ]


async def test_another_enterprises_bills_do_not_exist(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    ops: Caller,
) -> None:
    await _billed(session, other_customer, ops)
    [theirs] = (await session.exec(billing.bills_query(principal=other_customer.principal))).all()
    their_rates = (
        await session.exec(billing.applied_rates_query(principal=other_customer.principal))
    ).all()
    for path, template in (
        ("/customerBill", "/customerBill"),
        ("/customerBillOnDemand", "/customerBillOnDemand"),
        ("/appliedCustomerBillingRate", "/appliedCustomerBillingRate"),
    ):
        listed = await _call(client, customer, "GET", path, template, 200)
        assert listed.json() == []
    for path, template in (
        (f"/customerBill/{theirs.id}", "/customerBill/{id}"),
        (f"/customerBillOnDemand/{theirs.id}", "/customerBillOnDemand/{id}"),
        (f"/appliedCustomerBillingRate/{their_rates[0].id}", "/appliedCustomerBillingRate/{id}"),
        ("/customerBill/bill_nope", "/customerBill/{id}"),
    ):
        refused = await _call(client, customer, "GET", path, template, 404)
        assert refused.json()["code"] == "NOT_FOUND"
    await _call(
        client,
        customer,
        "POST",
        "/customerBillOnDemand",
        "/customerBillOnDemand",
        400,
        body={"billingAccount": {"id": theirs.billing_account_id}},
    )
    await session.refresh(theirs)
    assert theirs.state is BillState.NEW


async def test_the_hub(client: httpx.AsyncClient, customer: Caller) -> None:
    hub = await _call(
        client,
        customer,
        "POST",
        "/hub",
        "/hub",
        201,
        body={"callback": "https://listener.example.com"},
    )
    await _call(client, customer, "DELETE", f"/hub/{hub.json()['id']}", "/hub/{id}", 204)


async def test_a_bill_carries_what_the_conformance_profile_asks_and_adds_up(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    await _billed(session, customer, ops)
    [bill] = (await _call(client, customer, "GET", "/customerBill", "/customerBill", 200)).json()
    for name in (
        "billNo",
        "billDate",
        "lastUpdate",
        "nextBillDate",
        "paymentDueDate",
        "billingAccount",
        "billingPeriod",
        "amountDue",
        "remainingAmount",
        "taxExcludedAmount",
        "taxIncludedAmount",
        "taxItem",
        "billDocument",
        "relatedParty",
        "state",
        "runType",
        "category",
    ):
        assert bill[name] not in (None, "", []), name
    assert bill["nextBillDate"] == "2026-05-01T00:00:00Z"
    assert bill["billDocument"][0]["url"] == bill["href"]
    rates = await _call(
        client,
        customer,
        "GET",
        "/appliedCustomerBillingRate",
        "/appliedCustomerBillingRate",
        200,
        params={"bill.id": bill["id"]},
    )
    excluded = sum(_cents(r["taxExcludedAmount"]) for r in rates.json())
    taxes = sum(_cents(t["taxAmount"]) for r in rates.json() for t in r["appliedTax"])
    assert _cents(bill["taxExcludedAmount"]) == excluded
    assert sum(_cents(t["taxAmount"]) for t in bill["taxItem"]) == taxes
    assert _cents(bill["taxIncludedAmount"]) == excluded + taxes == _cents(bill["amountDue"])
    for attribute, value in (
        ("id", bill["id"]),
        ("billNo", bill["billNo"]),
        ("state", "new"),
        ("runType", "onCycle"),
        ("billingAccount.id", bill["billingAccount"]["id"]),
        ("relatedParty.id", customer.principal.party_id),
        ("billDate.gte", "2026-04-02T00:00:00Z"),
        ("paymentDueDate.lt", "2026-06-01T00:00:00Z"),
        ("amountDue.value.gt", "0"),
        ("category", "normal"),
    ):
        found = await _call(
            client,
            customer,
            "GET",
            "/customerBill",
            "/customerBill",
            200,
            params={attribute: value},
        )
        assert [b["id"] for b in found.json()] == [bill["id"]], attribute
    for attribute, value in (
        ("state", "settled"),
        ("runType", "offCycle"),
        ("billDate.lt", "2026-01-01"),
    ):
        found = await _call(
            client,
            customer,
            "GET",
            "/customerBill",
            "/customerBill",
            200,
            params={attribute: value},
        )
        assert found.json() == [], attribute
    bad = await client.get(
        f"{BASE}/customerBill", headers=customer.headers, params={"amountDue.value.gt": "lots"}
    )
    assert bad.status_code == 400
    assert "amountDue.value" in bad.json()["reason"]


async def test_a_bill_on_demand_is_for_an_account_of_the_party_it_names(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    mine = await billing.ensure_account(session, party_id=customer.principal.party_id)
    theirs = await billing.ensure_account(session, party_id=other_customer.principal.party_id)
    await session.commit()
    for body in (
        {"billingAccount": {"id": theirs.id}},
        {
            "billingAccount": {"id": mine.id},
            "relatedParty": {"id": other_customer.principal.party_id},
        },
        {"billingAccount": {"id": mine.id}, "state": "rejected"},
        {"billingAccount": {"id": mine.id}, "customerBill": {"id": "bill_x"}},
    ):
        await _call(
            client,
            customer,
            "POST",
            "/customerBillOnDemand",
            "/customerBillOnDemand",
            400,
            body=body,
        )
    made = await _call(
        client,
        customer,
        "POST",
        "/customerBillOnDemand",
        "/customerBillOnDemand",
        201,
        body={
            "billingAccount": {"id": mine.id},
            "relatedParty": {"id": customer.principal.party_id},
        },
    )
    assert made.json()["relatedParty"]["id"] == customer.principal.party_id
    hidden = await client.get(
        f"{BASE}/customerBillOnDemand/{made.json()['id']}", headers=other_customer.headers
    )
    assert hidden.status_code == 404


async def test_a_bill_page_costs_the_same_statements_for_10_and_1000_bills(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    ops: Caller,
) -> None:
    await _billed(session, customer, ops)
    [bill] = (await session.exec(billing.bills_query(principal=customer.principal))).all()
    [rate, *_] = (
        await session.exec(billing.applied_rates_query(principal=customer.principal))
    ).all()

    async def cost() -> list[int]:
        counts = []
        for path, params in (
            ("/customerBill", {"state": "new", "billDate.gte": "2000-01-01"}),
            ("/customerBillOnDemand", {}),
            ("/appliedCustomerBillingRate", {"type": "recurring,oneTime"}),
        ):
            with counting(database) as statements:
                listed = await client.get(
                    f"{BASE}{path}", headers=customer.headers, params={"limit": "20", **params}
                )
            assert listed.status_code == 200, listed.text
            assert len(listed.json()) == min(20, int(listed.headers["x-total-count"]))
            counts.append(len(statements))
        return counts

    def new_period(n: int) -> dict[str, Any]:
        return {"period_start": bill.period_start - timedelta(days=n + 1)}

    await copies(session, bill, 9, lambda n: {"id": f"bill_few{n}"} | new_period(n))
    await copies(session, rate, 9, lambda n: {"id": f"rate_few{n}"})
    few = await cost()
    await copies(session, bill, 990, lambda n: {"id": f"bill_many{n}"} | new_period(n + 9))
    await copies(session, rate, 990, lambda n: {"id": f"rate_many{n}"})
    many = await cost()
    assert many == few


async def test_the_served_document_describes_every_bill_body(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    on_demand = paths[f"{BASE}/customerBillOnDemand"]
    assert "requestBody" in on_demand["post"]
    assert "schema" in on_demand["post"]["responses"]["201"]["content"]["application/json"]
    assert "requestBody" in paths[f"{BASE}/customerBill/{{id}}"]["patch"]
    for path in ("/customerBill", "/customerBillOnDemand", "/appliedCustomerBillingRate"):
        listed = paths[f"{BASE}{path}"]["get"]
        assert "schema" in listed["responses"]["200"]["content"]["application/json"], path
        assert {p["name"] for p in listed["parameters"]} >= {"offset", "limit", "fields"}


async def test_a_minimal_body_bills_the_default_account_and_a_made_up_account_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    made = await _call(
        client, customer, "POST", "/customerBillOnDemand", "/customerBillOnDemand", 201, body={}
    )
    request = made.json()
    [account] = await billing.list_accounts(session, principal=customer.principal)
    assert request["billingAccount"]["id"] == account.id
    read = await _call(
        client,
        customer,
        "GET",
        f"/customerBillOnDemand/{request['id']}",
        "/customerBillOnDemand/{id}",
        200,
    )
    assert read.json() == request
    theirs = await _call(
        client,
        other_customer,
        "POST",
        "/customerBillOnDemand",
        "/customerBillOnDemand",
        201,
        body={},
    )
    for account_id in ("123", theirs.json()["billingAccount"]["id"]):
        refused = await _call(
            client,
            customer,
            "POST",
            "/customerBillOnDemand",
            "/customerBillOnDemand",
            400,
            body={"billingAccount": {"id": account_id}},
        )
        assert account_id in refused.json()["reason"]
