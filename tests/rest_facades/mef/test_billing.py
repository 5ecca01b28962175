"""MEF 141 Billing on both flavours, checked against the official files: bills, their items and
totals, filters, tenancy and notifications."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import billing, clock
from app.core.billing import Bill, BillKind, BillState
from app.core.db import Database, new_id
from app.main import create_app
from app.settings import Settings
from tests.factories import Caller, make_caller, make_product
from tests.rest_facades.mef.conformance import check_response
from tests.rest_facades.mef.conftest import AUDIENCE_BY_FLAVOUR
from tests.rest_facades.mef.listener import listening
from tests.rest_facades.mef.notifications import check_event
from tests.statements import counting

BASES = {
    "sonata": "/mefApi/sonata/customerBillManagement/v2",
    "cantata": "/mefApi/cantata/customerBillManagement/v2",
}
API = "billing"
LIST, ONE, ITEM = "/customerBill", "/customerBill/{id}", "/customerBillItem/{id}"


@pytest.fixture(params=sorted(BASES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs on Sonata and on Cantata."""
    name: str = request.param
    return name


async def _get(
    client: httpx.AsyncClient,
    flavour: str,
    caller: Caller,
    path: str,
    template: str,
    status: int = 200,
    **params: Any,
) -> httpx.Response:
    response = await client.get(f"{BASES[flavour]}{path}", headers=caller.headers, params=params)
    assert response.status_code == status, response.text
    check_response(flavour, API, template, "get", status, response.json())
    return response


async def _billed(session: AsyncSession, caller: Caller) -> billing.BillWithRates:
    """A bill on demand of a buyer with one new product: its month so far and installation."""
    await make_product(session, caller)
    return await billing.bill_on_demand(session, principal=caller.principal)


async def test_a_bill_adds_up_to_its_items(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    made = await _billed(session, customer)
    listed = await _get(client, flavour, customer, LIST, LIST)
    assert listed.headers["X-Total-Count"] == "1"
    assert [b["id"] for b in listed.json()] == [made.bill.id]
    # The official file answers a retrieval by id with an array of the one object.
    bill = (await _get(client, flavour, customer, f"{LIST}/{made.bill.id}", ONE)).json()[0]
    assert bill["state"] == "generated"
    assert bill["billingAccount"]["id"] == made.bill.billing_account_id
    items = [
        (await _get(client, flavour, customer, f"/customerBillItem/{ref['id']}", ITEM)).json()[0]
        for ref in bill["customerBillItem"]
    ]
    assert sorted(i["customerBillItemType"] for i in items) == ["nonRecurring", "recurring"]
    total = sum(round(i["taxExcludedAmount"]["value"] * 100) for i in items)
    assert total == round(bill["taxExcludedAmount"]["value"] * 100) == made.bill.total_cents
    assert bill["amountDue"] == bill["taxIncludedAmount"] == bill["remainingAmount"]
    product = items[0]["product"]["id"]
    assert all(i["product"]["id"] == product for i in items)
    assert items[0]["productOrderItem"]["productOrderId"]


async def test_bills_filter_by_account_period_and_state(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    ops: Caller,
    flavour: str,
) -> None:
    made = await _billed(session, customer)
    await billing.change_bill_state(
        session, principal=ops.principal, bill_id=made.bill.id, state=BillState.SENT
    )
    start = made.bill.period_start

    async def found(**params: Any) -> list[str]:
        return [
            b["id"] for b in (await _get(client, flavour, customer, LIST, LIST, **params)).json()
        ]

    assert await found(state="paymentDue") == [made.bill.id]
    assert await found(state="settled") == []
    assert await found(**{"billingAccount.id": made.bill.billing_account_id}) == [made.bill.id]
    assert await found(**{"billingAccount.id": "ba_none"}) == []
    before = (start - timedelta(seconds=1)).isoformat()
    after = (start + timedelta(seconds=1)).isoformat()
    assert await found(**{"billingPeriod.startDateTime.gt": before}) == [made.bill.id]
    assert await found(**{"billingPeriod.startDateTime.gt": after}) == []
    assert await found(**{"billingPeriod.endDateTime.lt": before}) == []
    assert await found(category="normal") == [made.bill.id]
    assert await found(category="duplicate") == []
    refused = await _get(client, flavour, customer, LIST, LIST, status=400, state="paid")
    assert refused.json()["code"] == "invalidQuery"


async def test_another_buyers_bill_and_items_are_not_found(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    theirs = await _billed(session, other_customer)
    await _get(client, flavour, customer, f"{LIST}/{theirs.bill.id}", ONE, status=404)
    await _get(
        client, flavour, customer, f"/customerBillItem/{theirs.rates[0].id}", ITEM, status=404
    )
    listed = await _get(client, flavour, customer, LIST, LIST)
    assert listed.json() == []


async def _bulk_bills(session: AsyncSession, account_id: str, party_id: str, count: int) -> None:
    now = clock.now()
    await (await session.connection()).execute(
        insert(Bill),
        [
            {
                "id": new_id("bill"),
                "party_id": party_id,
                "billing_account_id": account_id,
                "kind": BillKind.ON_DEMAND,
                "state": BillState.NEW,
                "period_start": now - timedelta(days=400, minutes=i),
                "period_end": now - timedelta(minutes=i),
                "bill_date": now,
                "due_date": now + timedelta(days=30),
            }
            for i in range(count)
        ],
    )
    await session.commit()


async def test_a_page_of_bills_costs_the_same_statements_for_10_and_1000_bills(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    flavour: str,
) -> None:
    account = await billing.ensure_account(session, party_id=customer.principal.party_id)
    await session.commit()

    async def statements() -> int:
        with counting(database) as seen:
            listed = await _get(client, flavour, customer, LIST, LIST, limit=5, state="generated")
        assert len(listed.json()) == 5
        return len(seen)

    await _bulk_bills(session, account.id, account.party_id, 10)
    few = await statements()
    await _bulk_bills(session, account.id, account.party_id, 990)
    assert await statements() == few
    listed = await _get(client, flavour, customer, LIST, LIST, offset=995, limit=10)
    assert listed.headers["X-Total-Count"] == "1000"
    assert listed.headers["X-Result-Count"] == "5"


async def test_listeners_hear_of_new_bills_and_state_changes(
    settings: Settings,
    database: Database,
    session: AsyncSession,
    customer: Caller,
    ops: Caller,
    flavour: str,
) -> None:
    app: FastAPI = create_app(settings, run_workers=False)
    app.state.database = database
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        listening() as listener,
    ):
        hub = await client.post(
            f"{BASES[flavour]}/hub", headers=customer.headers, json={"callback": listener.url}
        )
        assert hub.status_code == 201, hub.text
        check_response(flavour, API, "/hub", "post", 201, hub.json())
        made = await _billed(session, customer)
        for state in (BillState.SENT, BillState.PARTIALLY_PAID, BillState.SETTLED):
            await billing.change_bill_state(
                session, principal=ops.principal, bill_id=made.bill.id, state=state
            )
        await app.state.dispatcher.run_once()
        gone = await client.delete(
            f"{BASES[flavour]}/hub/{hub.json()['id']}", headers=customer.headers
        )
        assert gone.status_code == 204
    heard = [(path.rsplit("/", 1)[1], body) for path, body in listener.received]
    # Sent and partly paid are both `paymentDue`: the move between them is not told.
    # Deliveries run concurrently: their order of arrival is not promised.
    assert sorted(name for name, _ in heard) == [
        "customerBillCreateEvent",
        "customerBillStateChangeEvent",
        "customerBillStateChangeEvent",
    ]
    for name, body in heard:
        check_event(flavour, "billing_notification", name, body)
        assert body["event"]["id"] == made.bill.id
    assert all(
        f"/mefApi/{flavour}/customerBillNotification/v2/listener/" in p
        for p, _ in listener.received
    )


async def test_an_agent_lists_the_bills_of_the_buyer_it_names(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    agent = await make_caller(
        session,
        AUDIENCE_BY_FLAVOUR[flavour],
        name="Agent",
        acting_for=[customer.party_id, other_customer.party_id],
    )
    mine = await _billed(session, customer)
    theirs = await _billed(session, other_customer)
    for buyer, bill in ((customer, mine), (other_customer, theirs)):
        listed = await _get(client, flavour, agent, LIST, LIST, buyerId=buyer.party_id)
        assert [b["id"] for b in listed.json()] == [bill.bill.id]
        assert listed.headers["X-Total-Count"] == "1"
    unnamed = await _get(client, flavour, agent, LIST, LIST, status=400)
    assert unnamed.json()["code"] == "missingQueryParameter"
    stranger = await client.get(
        f"{BASES[flavour]}{LIST}", headers=agent.headers, params={"buyerId": "pty_nobody"}
    )
    assert (stranger.status_code, stranger.json()["code"]) == (403, "forbiddenRequester")
