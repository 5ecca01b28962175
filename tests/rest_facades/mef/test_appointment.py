"""MEF 137 Work Order and Appointment on both flavours, checked against the official files: the
buyer finds the visits its orders need, searches free windows, books, moves and cancels them."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, workforce
from app.core.db import Database, new_id
from app.core.fulfilment import step
from app.core.workforce import WorkOrderState, WorkReason
from app.main import create_app
from app.settings import Settings
from tests.factories import Caller, make_order
from tests.rest_facades.mef.conformance import check_response
from tests.rest_facades.mef.listener import listening
from tests.rest_facades.mef.notifications import check_event
from tests.statements import counting

WORK_BASES = {
    "sonata": "/mefApi/sonata/workOrderManagement/v2",
    "cantata": "/mefApi/cantata/workOrderManagement/v2",
}
BASES = {
    "sonata": "/mefApi/sonata/appointment/v2",
    "cantata": "/mefApi/cantata/appointment/v2",
}
MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
CONTACT = {"role": "siteContact", "name": "Ada", "emailAddress": "ada@b.example", "number": "+1"}


@pytest.fixture(params=sorted(BASES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs on Sonata and on Cantata."""
    name: str = request.param
    return name


@pytest.fixture(autouse=True)
def _monday() -> None:
    clock.set_clock(lambda: MONDAY)


def _period(day: int, morning: bool = True) -> dict[str, str]:
    start = MONDAY.replace(hour=8 if morning else 13) + timedelta(days=day)
    end = start + timedelta(hours=4)
    return {"startDateTime": start.isoformat(), "endDateTime": end.isoformat()}


async def _call(
    client: httpx.AsyncClient,
    flavour: str,
    caller: Caller,
    method: str,
    path: str,
    template: str | None = None,
    status: int = 200,
    *,
    work: bool = False,
    **kwargs: Any,
) -> Any:
    base = (WORK_BASES if work else BASES)[flavour]
    response = await client.request(method, f"{base}{path}", headers=caller.headers, **kwargs)
    assert response.status_code == status, response.text
    body = response.json() if response.content else None
    api = "work_order" if work else "appointment"
    if work and path == "/workorder" and status == 200:
        # The Grace file gives the work order list a single WorkOrder_Find as its schema; the
        # list answers an array (as every MEF list does), each item of which is one.
        assert isinstance(body, list)
        for item in body:
            check_response(flavour, api, path, method, status, item)
        assert "X-Total-Count" in response.headers
        return body
    check_response(flavour, api, template or path, method, status, body)
    return body


async def _work(session: AsyncSession, caller: Caller) -> str:
    """The installation visit of an order that fulfilment has started."""
    placed = await make_order(session, caller)
    assert await step(session, placed.order, complete_after=timedelta(hours=1))
    await session.commit()
    where = workforce.WorkOrderFilter(order_item_ids=frozenset(i.id for i in placed.items))
    found = (
        await session.exec(workforce.work_orders_query(principal=caller.principal, where=where))
    ).one()
    return found.id


async def test_an_order_needs_a_visit_that_the_buyer_books_moves_and_cancels(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    work_id = await _work(session, customer)
    listed = await _call(client, flavour, customer, "GET", "/workorder", work=True)
    assert [(w["id"], w["state"], w["appointmentRequired"]) for w in listed] == [
        (work_id, "open", True)
    ]
    order_id = listed[0]["relatedEntity"][0]["id"]
    by_order = await _call(
        client,
        flavour,
        customer,
        "GET",
        "/workorder",
        work=True,
        params={"relatedEntityType": "ProductOrder", "relatedEntityId": order_id},
    )
    assert [w["id"] for w in by_order] == [work_id]
    # An id alone could be an order's or a ticket's: refused rather than ignored.
    untyped = await _call(
        client,
        flavour,
        customer,
        "GET",
        "/workorder",
        status=400,
        work=True,
        params={"relatedEntityId": order_id},
    )
    assert untyped["code"] == "missingQueryParameter"
    assert "relatedEntityType" in untyped["reason"]

    search = await _call(
        client,
        flavour,
        customer,
        "POST",
        "/searchTimeSlot",
        status=201,
        json={"workOrder": {"id": work_id}, "requestedTimeSlot": [{"validFor": _period(2)}]},
    )
    assert [s["validFor"] for s in search["availableTimeSlot"]] == [
        {"startDateTime": "2026-03-04T08:00:00Z", "endDateTime": "2026-03-04T12:00:00Z"}
    ]
    booked = await _call(
        client,
        flavour,
        customer,
        "POST",
        "/appointment",
        status=201,
        json={
            "workOrder": {"id": work_id},
            "validFor": _period(2),
            "relatedContactInformation": [CONTACT],
        },
    )
    assert booked["status"] == "confirmed"
    work = await _call(
        client, flavour, customer, "GET", f"/workorder/{work_id}", "/workorder/{id}", work=True
    )
    assert work["state"] == "planned"
    assert [a["id"] for a in work["appointment"]] == [booked["id"]]

    moved = await _call(
        client,
        flavour,
        customer,
        "PATCH",
        f"/appointment/{booked['id']}",
        "/appointment/{id}",
        json={"validFor": _period(3, morning=False)},
    )
    assert moved["validFor"]["startDateTime"] == "2026-03-05T13:00:00Z"
    listed = await _call(
        client, flavour, customer, "GET", "/appointment", params={"workOrderId": work_id}
    )
    assert [a["id"] for a in listed] == [booked["id"]]
    await _call(
        client,
        flavour,
        customer,
        "POST",
        f"/appointment/{booked['id']}/cancel",
        "/appointment/{id}/cancel",
        status=204,
    )
    gone = await _call(
        client, flavour, customer, "GET", f"/appointment/{booked['id']}", "/appointment/{id}"
    )
    assert gone["status"] == "cancelled"
    again = await _call(
        client,
        flavour,
        customer,
        "PATCH",
        f"/appointment/{booked['id']}",
        "/appointment/{id}",
        status=409,
        json={"validFor": _period(4)},
    )
    assert again["code"] == "conflict"


async def test_bookings_that_break_the_rules_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    work_id = await _work(session, customer)

    async def book(body: dict[str, Any]) -> list[dict[str, Any]]:
        refused: list[dict[str, Any]] = await _call(
            client, flavour, customer, "POST", "/appointment", status=422, json=body
        )
        return refused

    tomorrow = {
        "workOrder": {"id": work_id},
        "validFor": _period(1),
        "relatedContactInformation": [CONTACT],
    }
    assert [e["propertyPath"] for e in await book(tomorrow)] == ["/validFor"]
    missing = {"workOrder": {"id": work_id}, "validFor": _period(2)}
    assert [(e["code"], e["propertyPath"]) for e in await book(missing)] == [
        ("missingProperty", "/relatedContactInformation")
    ]
    nobody = {**tomorrow, "workOrder": {"id": "wo_nothing"}, "validFor": _period(2)}
    assert [(e["code"], e["propertyPath"]) for e in await book(nobody)] == [
        ("referenceNotFound", "/workOrder/id")
    ]


async def test_another_buyers_visits_are_not_found(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    theirs = await _work(session, other_customer)
    await _call(
        client, flavour, customer, "GET", f"/workorder/{theirs}", "/workorder/{id}", 404, work=True
    )
    assert await _call(client, flavour, customer, "GET", "/workorder", work=True) == []
    refused = await _call(
        client,
        flavour,
        customer,
        "POST",
        "/searchTimeSlot",
        status=422,
        json={"workOrder": {"id": theirs}, "requestedTimeSlot": []},
    )
    assert [e["propertyPath"] for e in refused] == ["/workOrder/id"]


async def test_pages_of_visits_cost_the_same_statements_for_10_and_1000(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    flavour: str,
) -> None:
    location = await session.get(workforce.WorkOrder, await _work(session, customer))
    assert location is not None

    async def add(count: int) -> None:
        works = [
            {
                "id": new_id("wo"),
                "party_id": customer.principal.party_id,
                "reason": WorkReason.REPAIR,
                "location_id": location.location_id,
                "task": "Repair",
                "appointment_required": True,
                "duration_minutes": 240,
                "state": WorkOrderState.PLANNED,
                # Older than the order's own, which stays on the first page.
                "created_at": MONDAY - timedelta(days=1),
                "updated_at": MONDAY,
            }
            for _ in range(count)
        ]
        await (await session.connection()).execute(insert(workforce.WorkOrder), works)
        await (await session.connection()).execute(
            insert(workforce.Appointment),
            [
                {
                    "id": new_id("apt"),
                    "party_id": customer.principal.party_id,
                    "work_order_id": w["id"],
                    "starts_at": MONDAY + timedelta(days=2, hours=-1),
                    "ends_at": MONDAY + timedelta(days=2, hours=3),
                    "state": workforce.AppointmentState.COMPLETED,
                    "contact_name": "Ada",
                    "contact_email": "ada@b.example",
                    "contact_number": "+1",
                    "created_at": MONDAY,
                    "updated_at": MONDAY,
                }
                for w in works
            ],
        )
        await session.commit()

    async def statements() -> tuple[int, int]:
        with counting(database) as seen:
            works = await _call(
                client, flavour, customer, "GET", "/workorder", work=True, params={"limit": 5}
            )
        counted = len(seen)
        with counting(database) as seen:
            visits = await _call(
                client, flavour, customer, "GET", "/appointment", params={"limit": 5}
            )
        assert len(works) == len(visits) == 5
        return counted, len(seen)

    await add(10)
    few = await statements()
    await add(990)
    assert await statements() == few


async def test_listeners_hear_of_work_orders_and_appointments(
    settings: Settings,
    database: Database,
    session: AsyncSession,
    customer: Caller,
    flavour: str,
) -> None:
    app: FastAPI = create_app(settings, run_workers=False)
    app.state.database = database
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        listening() as listener,
        listening() as booker,
    ):
        hubs = []
        # The second listener asks, as the notification file defines, for one event type only.
        for base, callback, query in (
            (WORK_BASES[flavour], listener.url, None),
            (BASES[flavour], listener.url, None),
            (WORK_BASES[flavour], booker.url, "eventType=workOrderAppointmentRequiredEvent"),
        ):
            hub = await client.post(
                f"{base}/hub",
                headers=customer.headers,
                json={"callback": callback, **({"query": query} if query else {})},
            )
            assert hub.status_code == 201, hub.text
            hubs.append(f"{base}/hub/{hub.json()['id']}")
        work_id = await _work(session, customer)
        booked = await _call(
            client,
            flavour,
            customer,
            "POST",
            "/appointment",
            status=201,
            json={
                "workOrder": {"id": work_id},
                "validFor": _period(2),
                "relatedContactInformation": [CONTACT],
            },
        )
        await _call(
            client,
            flavour,
            customer,
            "PATCH",
            f"/appointment/{booked['id']}",
            "/appointment/{id}",
            json={"validFor": _period(3)},
        )
        await _call(
            client,
            flavour,
            customer,
            "POST",
            f"/appointment/{booked['id']}/cancel",
            "/appointment/{id}/cancel",
            status=204,
        )
        await app.state.dispatcher.run_once()
        for registered in hubs:
            gone = await client.delete(registered, headers=customer.headers)
            assert gone.status_code == 204
    heard: dict[str, list[str]] = {}
    for path, body in listener.received:
        api, name = path.split("/")[3], path.rsplit("/", 1)[1]
        notification_api = {
            "workOrderNotification": "work_order_notification",
            "appointmentNotification": "appointment_notification",
        }[api]
        check_event(flavour, notification_api, name, body)
        assert path.startswith(f"/mefApi/{flavour}/{api}/v2/listener/"), path
        assert body["event"]["id"] == (work_id if api == "workOrderNotification" else booked["id"])
        heard.setdefault(api, []).append(name)
    # Deliveries run concurrently: their order of arrival is not promised.
    assert sorted(heard["workOrderNotification"]) == [
        "workOrderAppointmentRequiredEvent",  # a new work order needs a visit
        "workOrderAppointmentRequiredEvent",  # and needs another once its visit is cancelled
        "workOrderCreateEvent",
        "workOrderStateChangeEvent",  # planned once booked
        "workOrderStateChangeEvent",  # open again once cancelled
    ]
    for _, body in booker.received:
        check_event(flavour, "work_order_notification", "workOrderAppointmentRequiredEvent", body)
        assert body["event"]["id"] == work_id
    assert [path for path, _ in booker.received] == 2 * [
        f"/mefApi/{flavour}/workOrderNotification/v2/listener/workOrderAppointmentRequiredEvent"
    ]
    assert sorted(heard["appointmentNotification"]) == [
        "appointmentAttributeValueChangeEvent",  # moved
        "appointmentStatusChangeEvent",  # cancelled
    ]
