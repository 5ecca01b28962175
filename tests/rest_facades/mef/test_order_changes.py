"""Cancellation requests and requested-date changes: listed and filtered as MEF 123 defines,
whichever face asked, and only the caller's own."""

from datetime import timedelta
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, ordering
from app.core.db import Database
from app.core.events import Channel
from tests.factories import Caller, make_order
from tests.rest_facades.mef.conformance import check_response
from tests.statements import committing

BASE = "/mefApi/sonata/productOrderingManagement/v10"
API = "product_order"
CONTACT = [
    {"role": "buyerContactInformation", "name": "Ada", "emailAddress": "a@x.example", "number": "1"}
]


async def _cancel(http: httpx.AsyncClient, caller: Caller, order_id: str, **extra: Any) -> Any:
    response = await http.post(
        f"{BASE}/cancelProductOrder",
        headers=caller.headers,
        json={
            "productOrder": {"productOrderId": order_id},
            "relatedContactInformation": CONTACT,
            **extra,
        },
    )
    check_response(
        "sonata", API, "/cancelProductOrder", "post", response.status_code, response.json()
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_cancellations_list_by_order_state_and_kind_and_stay_private(
    client: httpx.AsyncClient,
    session: AsyncSession,
    carrier: Caller,
    other_carrier: Caller,
) -> None:
    orders = [(await make_order(session, carrier, channel=Channel.SONATA)).order for _ in range(3)]
    technical = await _cancel(client, carrier, orders[0].id, cancellationReasonType="technical")
    await _cancel(client, carrier, orders[1].id, cancellationReasonType="commercial")
    # Asked through another face, it is a cancellation request all the same.
    await ordering.request_cancellation(
        session, principal=carrier.principal, order_id=orders[2].id, reason="by GraphQL"
    )

    async def listed(**params: str) -> list[str]:
        response = await client.get(
            f"{BASE}/cancelProductOrder", headers=carrier.headers, params=params
        )
        check_response("sonata", API, "/cancelProductOrder", "get", 200, response.json())
        assert response.headers["x-total-count"] == str(len(response.json()))
        return sorted(c["productOrder"]["productOrderId"] for c in response.json())

    assert await listed() == sorted(o.id for o in orders)
    assert await listed(productOrderId=orders[1].id) == [orders[1].id]
    assert await listed(cancellationReasonType="technical") == [orders[0].id]
    assert await listed(state="done") == []
    assert len(await listed(state="acknowledged")) == 3
    bad = await client.get(
        f"{BASE}/cancelProductOrder", headers=carrier.headers, params={"state": "nearly"}
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "invalidQuery")

    theirs = await client.get(
        f"{BASE}/cancelProductOrder/{technical['id']}", headers=other_carrier.headers
    )
    assert (theirs.status_code, theirs.json()["code"]) == (404, "notFound")
    none = await client.get(f"{BASE}/cancelProductOrder", headers=other_carrier.headers)
    assert none.json() == []
    again = await client.post(
        f"{BASE}/cancelProductOrder",
        headers=carrier.headers,
        json={
            "productOrder": {"productOrderId": orders[0].id},
            "relatedContactInformation": CONTACT,
        },
    )
    assert again.status_code == 409


async def test_date_changes_list_by_date_and_expedite(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, other_carrier: Caller
) -> None:
    placed = await make_order(session, carrier, channel=Channel.SONATA)
    soon, later = clock.now() + timedelta(days=20), clock.now() + timedelta(days=90)
    made = []
    for when, expedite in ((soon, True), (later, False)):
        response = await client.post(
            f"{BASE}/modifyProductOrderItemRequestedDeliveryDate",
            headers=carrier.headers,
            json={
                "productOrderItem": {
                    "productOrderId": placed.order.id,
                    "productOrderItemId": str(placed.items[0].position),
                },
                "requestedCompletionDate": when.isoformat(),
                "expediteIndicator": expedite,
            },
        )
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])

    async def listed(params: dict[str, str] | None = None, caller: Caller = carrier) -> list[str]:
        response = await client.get(
            f"{BASE}/modifyProductOrderItemRequestedDeliveryDate",
            headers=caller.headers,
            params=params,
        )
        check_response(
            "sonata",
            API,
            "/modifyProductOrderItemRequestedDeliveryDate",
            "get",
            200,
            response.json(),
        )
        return [c["id"] for c in response.json()]

    assert sorted(await listed()) == sorted(made)
    assert await listed({"expediteIndicator": "true"}) == [made[0]]
    middle = (clock.now() + timedelta(days=50)).isoformat()
    assert await listed({"requestedCompletionDate.gt": middle}) == [made[1]]
    assert await listed({"requestedCompletionDate.lt": middle}) == [made[0]]
    assert await listed(caller=other_carrier) == []
    order_id = placed.order.id
    session.expire_all()
    item = await ordering.items_of(session, order_id)
    assert item[0].requested_completion_at == later


async def test_a_cancellation_or_a_date_change_is_one_transaction_with_its_order_change(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, carrier: Caller
) -> None:
    moving, cancelling = [
        await make_order(session, carrier, channel=Channel.SONATA) for _ in range(2)
    ]
    moving_id, item_ref, cancelling_id = (
        moving.order.id,
        str(moving.items[0].position),
        cancelling.order.id,
    )
    later = clock.now() + timedelta(days=60)
    with committing(database) as commits:
        moved = await client.post(
            f"{BASE}/modifyProductOrderItemRequestedDeliveryDate",
            headers=carrier.headers,
            json={
                "productOrderItem": {"productOrderId": moving_id, "productOrderItemId": item_ref},
                "requestedCompletionDate": later.isoformat(),
            },
        )
    assert moved.status_code == 201, moved.text
    assert len(commits) == 1
    with committing(database) as commits:
        cancelled = await _cancel(client, carrier, cancelling_id)
    assert len(commits) == 1
    assert cancelled["state"] == "acknowledged"
    session.expire_all()
    [item] = await ordering.items_of(session, moving_id)
    assert item.requested_completion_at == later
    found = await ordering.get_order(session, principal=carrier.principal, order_id=cancelling_id)
    assert found.order.state == ordering.OrderState.ASSESSING_CANCELLATION
