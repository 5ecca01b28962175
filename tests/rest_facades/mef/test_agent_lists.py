"""A caller acting for several buyers names one with `buyerId`: each MEF list then shows that
buyer's objects only, and a read by id of another buyer's object is a 404."""

from datetime import timedelta

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import billing, qualification, quoting, workforce
from app.core.events import Channel
from app.core.fulfilment import step
from app.core.quoting import QuoteKind
from rest_facades.mef.flavours import FLAVOURS_BY_NAME, SONATA
from tests.factories import Caller, line_spec, make_caller, make_order, make_product
from tests.rest_facades.mef.conformance import check_response
from tests.rest_facades.mef.conftest import AUDIENCE_BY_FLAVOUR

CONTACT = {"role": "siteContact", "name": "Ada", "emailAddress": "ada@b.example", "number": "+1"}


async def _poq(session: AsyncSession, buyer: Caller) -> str:
    made, _ = await qualification.qualify(
        session, principal=buyer.principal, specs=[await line_spec(session)], channel=Channel.SONATA
    )
    return made.id


async def _quote(session: AsyncSession, buyer: Caller) -> str:
    made = await quoting.request_quote(
        session,
        principal=buyer.principal,
        specs=[await line_spec(session)],
        kind=QuoteKind.BUDGETARY,
        channel=Channel.SONATA,
    )
    return made.quote.id


LISTS = {
    "qualifications": ("product_offering_qualification", "/productOfferingQualification", _poq),
    "quotes": ("quote", "/quote", _quote),
}


@pytest.mark.parametrize("name", sorted(LISTS))
async def test_an_agent_lists_what_the_buyer_it_names_asked_for(
    client: httpx.AsyncClient,
    session: AsyncSession,
    carrier: Caller,
    other_carrier: Caller,
    name: str,
) -> None:
    api, path, make = LISTS[name]
    agent = await make_caller(
        session, "carrier", name="Agent", acting_for=[carrier.party_id, other_carrier.party_id]
    )
    made = {buyer.party_id: await make(session, buyer) for buyer in (carrier, other_carrier)}
    url = f"{SONATA.base_path(api).rstrip('/')}{path}"
    for buyer_id, object_id in made.items():
        listed = await client.get(url, headers=agent.headers, params={"buyerId": buyer_id})
        assert listed.status_code == 200, listed.text
        check_response("sonata", api, path, "get", 200, listed.json())
        assert [found["id"] for found in listed.json()] == [object_id]
        assert listed.headers["X-Total-Count"] == "1"


async def _objects(session: AsyncSession, buyer: Caller) -> dict[tuple[str, str], str]:
    """One object of each kind that MEF reads by id, all the buyer's: (api, path template) -> id."""
    placed = await make_order(session, buyer)
    assert await step(session, placed.order, complete_after=timedelta(hours=1))
    await session.commit()
    where = workforce.WorkOrderFilter(order_item_ids=frozenset(i.id for i in placed.items))
    work = (
        await session.exec(workforce.work_orders_query(principal=buyer.principal, where=where))
    ).one()
    slots = await workforce.free_slots(session, principal=buyer.principal, work_order_id=work.id)
    appointment = await workforce.book(
        session,
        principal=buyer.principal,
        work_order_id=work.id,
        slot=slots[0],
        contact=workforce.Contact(name="Ada", email="ada@b.example", number="+1"),
    )
    await make_product(session, buyer)
    bill = await billing.bill_on_demand(session, principal=buyer.principal)
    return {
        ("product_order", "/productOrder/{id}"): placed.order.id,
        ("quote", "/quote/{id}"): await _quote(session, buyer),
        (
            "product_offering_qualification",
            "/productOfferingQualification/{id}",
        ): await _poq(session, buyer),
        ("billing", "/customerBill/{id}"): bill.bill.id,
        ("billing", "/customerBillItem/{id}"): bill.rates[0].id,
        ("work_order", "/workorder/{id}"): work.id,
        ("appointment", "/appointment/{id}"): appointment.id,
    }


@pytest.mark.parametrize("flavour", sorted(AUDIENCE_BY_FLAVOUR))
async def test_an_agent_reads_by_id_only_what_the_buyer_it_names_owns(
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
    made = {buyer.party_id: await _objects(session, buyer) for buyer in (customer, other_customer)}
    for owner, objects in made.items():
        for (api, template), object_id in objects.items():
            url = FLAVOURS_BY_NAME[flavour].base_path(api).rstrip("/") + template
            url = url.replace("{id}", object_id)
            for named in made:
                read = await client.get(url, headers=agent.headers, params={"buyerId": named})
                status = 200 if named == owner else 404
                assert read.status_code == status, (template, read.text)
                check_response(flavour, api, template, "get", status, read.json())
    # Changes by id are refused the same way, before anything changes.
    theirs = made[other_customer.party_id]
    base = FLAVOURS_BY_NAME[flavour].base_path
    wrong = {"buyerId": customer.party_id}
    order = f"{base('product_order')}productOrder/{theirs['product_order', '/productOrder/{id}']}"
    patched = await client.patch(
        order, headers=agent.headers, params=wrong, json={"externalId": "PO-9"}
    )
    assert patched.status_code == 404, patched.text
    appointment = f"{base('appointment')}appointment/{theirs['appointment', '/appointment/{id}']}"
    for method, url, body in (
        ("PATCH", appointment, {"relatedContactInformation": [CONTACT]}),
        ("POST", f"{appointment}/cancel", None),
    ):
        refused = await client.request(method, url, headers=agent.headers, params=wrong, json=body)
        assert refused.status_code == 404, refused.text
    right = {"buyerId": other_customer.party_id}
    assert (await client.get(order, headers=agent.headers, params=right)).json().get(
        "externalId"
    ) != "PO-9"
    kept = await client.get(appointment, headers=agent.headers, params=right)
    assert kept.json()["status"] == "confirmed"
