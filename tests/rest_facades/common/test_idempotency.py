"""`Idempotency-Key` on REST creates: one resource per key, retries replayed, reuse refused."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import ordering, quoting, tickets
from app.core.idempotency import IdempotencyRecord
from tests.factories import CHICAGO, NEW_YORK, Caller, location_id
from tests.rest_facades.mef.test_product_order import line_order

SONATA_ORDERS = "/mefApi/sonata/productOrderingManagement/v10/productOrder"
TMF_ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
CONCURRENT_RETRIES = 50


async def _count(session: AsyncSession, table: Any) -> int:
    count: int = (await session.exec(select(func.count()).select_from(table))).one()
    return count


async def _sonata_order(session: AsyncSession, mbps: int = 1000) -> dict[str, Any]:
    order = await line_order(session, "sonata")
    # Another term makes another request; Sonata has no bandwidth outside the configuration.
    order["productOrderItem"][0]["requestedItemTerm"]["duration"]["amount"] = (
        24 if mbps == 1000 else 36
    )
    return order


async def _tmf_order(session: AsyncSession, mbps: int = 1000) -> dict[str, Any]:
    return {
        "externalId": "PO-1",
        "productOrderItem": [
            {
                "id": "1",
                "action": "add",
                "productOffering": {"id": "ethernet-line"},
                "product": {
                    "productCharacteristic": [
                        {"name": "bandwidth", "value": mbps},
                        {"name": "termMonths", "value": 12},
                    ],
                    "place": [
                        {"id": await location_id(session, CHICAGO), "role": "A-End"},
                        {"id": await location_id(session, NEW_YORK), "role": "Z-End"},
                    ],
                },
            }
        ],
    }


FACES = {"sonata": (SONATA_ORDERS, _sonata_order), "tmf": (TMF_ORDERS, _tmf_order)}


@pytest.fixture(params=sorted(FACES))
def face(request: pytest.FixtureRequest) -> str:
    """Each test runs on a MEF Sonata and on a TMF622 product order."""
    name: str = request.param
    return name


def _keyed(caller: Caller, key: str) -> dict[str, str]:
    return caller.headers | {"Idempotency-Key": key}


async def test_concurrent_retries_make_one_order_and_all_get_its_answer(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, face: str
) -> None:
    path, make_body = FACES[face]
    body = await make_body(session)
    answers = await asyncio.gather(
        *(
            client.post(path, json=body, headers=_keyed(carrier, "order-7"))
            for _ in range(CONCURRENT_RETRIES)
        )
    )
    statuses = sorted({a.status_code for a in answers})
    assert set(statuses) <= {201, 409}, [a.text for a in answers if a.status_code not in {201}]
    created = [a for a in answers if a.status_code == 201]
    assert {a.json()["id"] for a in created} == {created[0].json()["id"]}
    assert {a.headers["location"] for a in created} == {created[0].json()["href"]}
    replayed = [a for a in created if a.headers.get("idempotent-replayed") == "true"]
    assert len(replayed) == len(created) - 1
    for refused in (a for a in answers if a.status_code == 409):
        assert "still being processed" in refused.text
    assert await _count(session, ordering.Order) == 1
    assert await _count(session, quoting.Quote) == 0


async def test_a_later_retry_replays_status_body_and_location(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, face: str
) -> None:
    path, make_body = FACES[face]
    body = await make_body(session)
    first = await client.post(path, json=body, headers=_keyed(carrier, "k"))
    again = await client.post(path, json=body, headers=_keyed(carrier, "k"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == first.headers["content-type"]
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(session, ordering.Order) == 1


async def test_the_same_key_with_another_body_is_refused_in_the_faces_words(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, face: str
) -> None:
    path, make_body = FACES[face]
    await client.post(path, json=await make_body(session), headers=_keyed(carrier, "k"))
    other = await client.post(
        path, json=await make_body(session, mbps=500), headers=_keyed(carrier, "k")
    )
    assert other.status_code == 422, other.text
    if face == "tmf":
        assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert other.json()["@type"] == "Error"
    else:
        [problem] = other.json()
        assert problem["code"] == "otherIssue"
        assert "Idempotency-Key" in problem["reason"]
    assert await _count(session, ordering.Order) == 1


async def test_another_partys_identical_key_gets_its_own_order(
    client: httpx.AsyncClient,
    session: AsyncSession,
    carrier: Caller,
    other_carrier: Caller,
    face: str,
) -> None:
    path, make_body = FACES[face]
    body = await make_body(session)
    mine = await client.post(path, json=body, headers=_keyed(carrier, "shared"))
    theirs = await client.post(path, json=body, headers=_keyed(other_carrier, "shared"))
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert "idempotent-replayed" not in theirs.headers
    assert await _count(session, ordering.Order) == 2


async def test_without_a_key_every_post_creates(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, face: str
) -> None:
    path, make_body = FACES[face]
    body = await make_body(session)
    for _ in range(2):
        assert (await client.post(path, json=body, headers=carrier.headers)).status_code == 201
    assert await _count(session, ordering.Order) == 2


async def test_a_refused_request_keeps_nothing_and_can_be_corrected(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, face: str
) -> None:
    path, make_body = FACES[face]
    body = await make_body(session)
    broken = {k: v for k, v in body.items() if k != "productOrderItem"}
    refused = await client.post(path, json=broken, headers=_keyed(carrier, "fix-me"))
    assert refused.status_code in {400, 422}
    assert (await session.exec(select(IdempotencyRecord))).all() == []
    fixed = await client.post(path, json=body, headers=_keyed(carrier, "fix-me"))
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "caf\u00e9"])
async def test_a_malformed_key_is_a_bad_request(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, face: str, key: str
) -> None:
    path, make_body = FACES[face]
    answer = await client.post(
        path,
        json=await make_body(session),
        headers=[
            *((k.encode(), v.encode()) for k, v in carrier.headers.items()),
            (b"Idempotency-Key", key.encode()),
        ],
    )
    assert answer.status_code == 400, answer.text
    assert "Idempotency-Key" in answer.text
    assert await _count(session, ordering.Order) == 0


async def test_a_quoted_key_as_the_ietf_draft_writes_it_is_the_same_key(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller
) -> None:
    body = await _tmf_order(session)
    first = await client.post(TMF_ORDERS, json=body, headers=_keyed(carrier, '"abc-1"'))
    again = await client.post(TMF_ORDERS, json=body, headers=_keyed(carrier, "abc-1"))
    assert again.json()["id"] == first.json()["id"]


async def test_every_rest_create_takes_the_header(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    posts = [
        (path, operation)
        for path, item in document["paths"].items()
        if path.startswith(("/mefApi/", "/tmf-api/"))
        for method, operation in item.items()
        if method == "post"
    ]
    assert posts
    for path, operation in posts:
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in names, path


async def test_a_trouble_ticket_is_opened_once_per_key(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller
) -> None:
    body = {
        "name": "Link down",
        "description": "No light on port 1.",
        "severity": "Significant",
        "priority": "High",
        "ticketType": "Assistance",
    }
    path = "/tmf-api/troubleTicket/v4/troubleTicket"
    answers = [await client.post(path, json=body, headers=_keyed(carrier, "t-1")) for _ in range(5)]
    assert {a.status_code for a in answers} == {201}, answers[0].text
    assert len({a.json()["id"] for a in answers}) == 1
    assert await _count(session, tickets.Ticket) == 1
