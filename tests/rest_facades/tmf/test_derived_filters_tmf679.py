"""TMF679 qualifications filter in SQL on what the face derives from the core's qualification
items (their id, result, places, offering, characteristics and expected activation), on the
items of a qualification the seller could not answer (their termination error) and on the
seller's note: `X-Total-Count` is exact, every page is full, another party's qualifications are
never counted and the statements of a list do not grow with its table."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.db import Database
from app.core.qualification import Confidence, Qualification, QualificationItem
from tests.factories import CHICAGO, LAS_VEGAS, NEW_YORK, Caller, location_id
from tests.rest_facades.tmf.kit import Kit
from tests.rest_facades.tmf.listing import PAGE, counted_pages, list_page
from tests.statements import copies, kept_copies

BASE = "/tmf-api/productOfferingQualification/v4"
RESOURCE = "productOfferingQualification"
PATH = f"{BASE}/{RESOURCE}"
CATALOG = "http://testserver/tmf-api/productCatalogManagement/v4/productOffering"
ITEM = "productOfferingQualificationItem"
# How many qualifications each batch adds, for the caller and as many for another party.
BATCH = 12


def _items(poq: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = poq[ITEM]
    return items


def every(check: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    """Whether an item of a qualification passes `check`."""
    return lambda poq: any(check(i) for i in _items(poq))


async def _check(
    client: httpx.AsyncClient,
    database: Database,
    caller: Caller,
    seed: Callable[[int], Any],
    filters: list[tuple[dict[str, str], Callable[[int], bool], Callable[[dict[str, Any]], bool]]],
) -> None:
    """Each filter (with which copies `n` match it and what each entry found shows) before and
    after each of two batches of copies: the count grows by exactly the copies that match, more
    than a page of them, every page is full, every entry shows the value, and the first page
    costs the same statements for twice the rows."""
    before = [(await list_page(client, caller, PATH, **params))[1] for params, _, _ in filters]
    cost: list[int] = []
    for batch in (0, 1):
        await seed(batch)
        for index, (params, matching, shows) in enumerate(filters):
            added = sum(1 for n in range(BATCH * (batch + 1)) if matching(n))
            assert added // (batch + 1) > PAGE, params
            seen, found = await counted_pages(client, database, caller, PATH, params)
            assert len(found) == before[index] + added, params
            assert all(shows(poq) for poq in found), params
            if batch == 0:
                cost.append(seen)
            else:
                assert seen == cost[index], params


async def _created(client: httpx.AsyncClient, caller: Caller, body: dict[str, Any]) -> str:
    created = await client.post(PATH, headers=caller.headers, json=body)
    assert created.status_code == 201, created.text
    poq_id: str = created.json()["id"]
    return poq_id


async def _template(session: AsyncSession, poq_id: str) -> tuple[Qualification, list[Any]]:
    poq = await session.get(Qualification, poq_id)
    assert poq is not None
    items = (
        await session.exec(
            select(QualificationItem).where(QualificationItem.qualification_id == poq_id)
        )
    ).all()
    return poq, list(items)


async def _copy(
    session: AsyncSession,
    poq: Qualification,
    item: QualificationItem,
    prefix: str,
    vary: Callable[[int], dict[str, Any]],
) -> None:
    """`BATCH` copies of a qualification with its one item, the item of copy `n` changed by
    `vary(n)`."""
    await copies(session, poq, BATCH, lambda n: {"id": f"{prefix}{n}"})
    await copies(
        session,
        item,
        BATCH,
        lambda n: {"id": f"{prefix}i{n}", "qualification_id": f"{prefix}{n}"} | vary(n),
    )


async def test_qualifications_filter_on_what_their_items_show(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    other_customer: Caller,
) -> None:
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    body = {
        "place": [{"id": chicago, "role": "aEnd"}],
        ITEM: [{"id": "1", "productOffering": {"id": "internet-access"}}],
    }
    templates = {}
    for caller in (customer, other_customer):
        poq, [item] = await _template(session, await _created(client, caller, body))
        templates[caller.party_id] = (poq, item)
    mine = templates[customer.party_id][0]
    assert mine.completed_at is not None
    ready = mine.completed_at + timedelta(days=30)

    def vary(n: int) -> dict[str, Any]:
        """Copy `n`'s item: one in three qualified (ready in 20 or 60 days), one in three
        offered a slower speed, the rest neither; half at 250 Mbps; half with a Z end in New
        York on an ethernet line; half named by the buyer."""
        outcome = n % 3
        return {
            "qualified": outcome == 2,
            "confidence": Confidence.YELLOW if outcome == 2 else Confidence.RED,
            "alternatives": [
                {"reason": "not here", "bandwidth_mbps": 100, "monthly_cents": 1}
                if outcome == 0
                else {"reason": "not here", "location_id": new_york}
            ]
            if outcome != 2
            else [],
            "lead_time_days": 60 if n % 6 == 5 else 20,
            "bandwidth_mbps": 250 if n % 2 else 100,
            "z_location_id": new_york if n % 4 < 2 else None,
            "offering_id": "ethernet-line" if n % 4 < 2 else "internet-access",
            "external_id": "mine" if n % 2 else None,
        }

    async def seed(batch: int) -> None:
        for party, (poq, template) in templates.items():
            prefix = f"poq_{party[-4:]}{batch}"
            await _copy(session, poq, template, prefix, lambda n: vary(n + BATCH * batch))

    def places(item: dict[str, Any]) -> list[str]:
        return [p["id"] for p in item["product"]["place"]]

    def values(item: dict[str, Any]) -> list[Any]:
        return [c["value"] for c in item["product"]["productCharacteristic"]]

    await _check(
        client,
        database,
        customer,
        seed,
        [
            (
                {f"{ITEM}.qualificationItemResult": "alternate"},
                lambda n: n % 3 == 0,
                every(lambda i: i["qualificationItemResult"] == "alternate"),
            ),
            (
                {f"{ITEM}.qualificationItemResult": "unqualified"},
                lambda n: n % 3 == 1,
                every(lambda i: i["qualificationItemResult"] == "unqualified"),
            ),
            (
                {f"{ITEM}.state": "done", f"{ITEM}.action": "add"},
                lambda n: True,
                every(lambda i: (i["state"], i["action"]) == ("done", "add")),
            ),
            (
                {f"{ITEM}.product.place.id": new_york},
                lambda n: n % 4 < 2,
                every(lambda i: new_york in places(i)),
            ),
            (
                {f"{ITEM}.product.place.role": "zEnd"},
                lambda n: n % 4 < 2,
                every(lambda i: len(places(i)) == 2),
            ),
            (
                {f"{ITEM}.productOffering.id": "ethernet-line"},
                lambda n: n % 4 < 2,
                every(lambda i: i["productOffering"]["id"] == "ethernet-line"),
            ),
            (
                {f"{ITEM}.product.productOffering.href": f"{CATALOG}/ethernet-line"},
                lambda n: n % 4 < 2,
                every(lambda i: i["product"]["productOffering"]["id"] == "ethernet-line"),
            ),
            (
                {f"{ITEM}.product.productCharacteristic.value": "250"},
                lambda n: n % 2 == 1,
                every(lambda i: 250 in values(i)),
            ),
            (
                {f"{ITEM}.id": "mine"},
                lambda n: n % 2 == 1,
                every(lambda i: i["id"] == "mine"),
            ),
            (
                {f"{ITEM}.expectedActivationDate.gte": mine.completed_at.isoformat()},
                lambda n: n % 3 == 2,
                every(lambda i: "expectedActivationDate" in i),
            ),
        ],
    )
    # Ready later than 30 days after the answer: only those qualified with a lead time of 60.
    later, total = await list_page(
        client, customer, PATH, **{f"{ITEM}.expectedActivationDate.gt": ready.isoformat()}
    )
    assert total == sum(1 for n in range(2 * BATCH) if n % 6 == 5) == len(later)
    assert all(
        datetime.fromisoformat(i["expectedActivationDate"]) == ready + timedelta(days=30)
        for poq in later
        for i in _items(poq)
    )
    # A value that no item shows matches none, in SQL.
    for name, value in (
        ("qualificationItemResult", "maybe"),
        ("product.place.role", "middle"),
        ("product.productCharacteristic.name", "colour"),
        ("@type", "QuoteItem"),
    ):
        assert (await list_page(client, customer, PATH, **{f"{ITEM}.{name}": value}))[1] == 0


async def _terminated_copies(session: AsyncSession, poq: Qualification, prefix: str) -> None:
    """`BATCH` copies of a terminated qualification: half for one reason, half for another, a
    day apart in four."""
    ended = poq.completed_at
    assert ended is not None
    await kept_copies(
        session,
        poq,
        BATCH,
        lambda n: {
            "id": f"{prefix}{n}",
            "state_reason": "no offering" if n % 2 else "no place",
            "completed_at": ended + timedelta(days=n % 4),
        },
    )


async def test_terminated_qualifications_filter_on_their_items_and_the_sellers_note(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    other_customer: Caller,
) -> None:
    chicago = await location_id(session, CHICAGO)
    # Without an offering the seller cannot answer: the qualification ends at once, its reason
    # in a note by the seller beside the buyer's own.
    body = {
        "note": [{"id": "b1", "author": "buyer", "text": "for the Chicago office"}],
        ITEM: [
            {"id": "k1", "action": "add", "product": {"place": [{"id": chicago, "role": "aEnd"}]}}
        ],
    }
    templates = {}
    for caller in (customer, other_customer):
        poq, items = await _template(session, await _created(client, caller, body))
        assert (poq.state_reason, items) != (None, [])
        templates[caller.party_id] = poq
    mine = templates[customer.party_id]
    assert mine.completed_at is not None
    later = mine.completed_at + timedelta(days=2)

    async def seed(batch: int) -> None:
        for party, poq in templates.items():
            await _terminated_copies(session, poq, f"poq_{party[-4:]}t{batch}")

    def noted(check: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
        return lambda poq: any(check(note) for note in poq["note"])

    def erred(poq: dict[str, Any]) -> list[str]:
        return [e["value"] for i in _items(poq) for e in i["terminationError"]]

    await _check(
        client,
        database,
        customer,
        seed,
        [
            (
                {"note.text": "no offering"},
                lambda n: n % 2 == 1,
                noted(lambda note: note["text"] == "no offering"),
            ),
            (
                {"note.author": "seller", "note.id": "b1"},
                lambda n: True,
                noted(lambda note: note["author"] == "seller"),
            ),
            (
                {"note.date.gte": later.isoformat()},
                lambda n: n % 4 >= 2,
                noted(
                    lambda note: "date" in note and datetime.fromisoformat(note["date"]) >= later
                ),
            ),
            (
                {f"{ITEM}.state": "terminatedWithError", f"{ITEM}.id": "k1"},
                lambda n: True,
                every(lambda i: (i["state"], i["id"]) == ("terminatedWithError", "k1")),
            ),
            (
                {f"{ITEM}.terminationError.value": "no offering"},
                lambda n: n % 2 == 1,
                lambda poq: erred(poq) == ["no offering"],
            ),
            (
                {
                    f"{ITEM}.terminationError.@type": "TerminationError",
                    f"{ITEM}.product.place.id": chicago,
                    f"{ITEM}.action": "add",
                },
                lambda n: True,
                every(lambda i: i["product"]["place"][0]["id"] == chicago),
            ),
        ],
    )
    # What the seller shows of answered items is not shown by these.
    for name, value in (
        ("@type", "ProductOfferingQualificationItem"),
        ("product.@type", "Product"),
    ):
        assert (await list_page(client, customer, PATH, **{f"{ITEM}.{name}": value}))[1] == 0
    # A service check that ended so shows, as a qualification, the items it was asked for.
    check = await client.post(
        "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification",
        headers=customer.headers,
        json={"serviceQualificationItem": [{"id": "s1", "service": {"place": []}}]},
    )
    assert check.status_code == 201, check.text
    assert check.json()["state"] == "terminatedWithError"
    found, total = await list_page(client, customer, PATH, **{f"{ITEM}.id": "s1"})
    assert total == 1
    [item] = _items(found[0])
    assert (item["id"], item["state"]) == ("s1", "terminatedWithError")
    assert item["terminationError"][0]["value"]


@pytest.mark.usefixtures("partner_covers_off_net")
async def test_every_attribute_of_an_item_that_cannot_be_delivered_filters_in_sql(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    places = [{"id": chicago, "role": "aEnd"}, {"id": new_york, "role": "zEnd"}]
    asked = [
        # Off-net access is sold up to 10 Gbps: a slower speed is proposed instead.
        {
            "id": "far",
            "product": {
                "productOffering": {"id": "internet-access"},
                "place": [{"name": LAS_VEGAS, "role": "aEnd"}],
                "productCharacteristic": [{"name": "bandwidth", "value": 20000}],
            },
        },
        {"id": "line", "productOffering": {"id": "ethernet-line"}, "product": {"place": places}},
    ]
    kit = Kit(client, customer, "TMF679-ProductOfferingQualification-v4", BASE, RESOURCE)
    for body in (
        {ITEM: asked},
        # Not answered (no offering): the items as asked, with what the buyer said of them.
        {
            ITEM: [
                {
                    "id": "bare",
                    "product": {"place": places},
                    "eligibilityUnavailabilityReason": [{"code": "x1", "label": "asked"}],
                }
            ]
        },
    ):
        instance = (await kit.call("POST", f"/{RESOURCE}", 201, body=body)).json()
        results = [i.get("qualificationItemResult") for i in _items(instance)]
        assert results in (["alternate", "qualified"], [None])
        await kit.filters_in_sql(instance)
