"""TMF648 quotes and TMF645 service qualifications filter in SQL on what the core answers for
their items (ids, places, offerings, prices, results) and on the seller's reasons: with more
matching rows than a page, `X-Total-Count` is exact, every page is full, another party's rows
never count, and the statements of a list do not grow with its table."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, quoting
from app.core.db import Database
from app.core.qualification import Confidence, Qualification, QualificationItem
from app.core.quoting import QuoteItemState
from tests.factories import CHICAGO, NEW_YORK, Caller, location_id
from tests.rest_facades.tmf.kit import Kit
from tests.rest_facades.tmf.listing import PAGE, every_page, list_page
from tests.statements import copies, counting, kept_copies

QUOTES = "/tmf-api/quoteManagement/v4/quote"


def _quote_item(place: str, **product: Any) -> dict[str, Any]:
    return {
        "id": "1",
        "action": "add",
        "productOffering": {"id": "internet-access"},
        "product": {"place": [{"id": place, "role": "aEnd"}], **product},
    }


async def _quote_copies(
    session: AsyncSession,
    quote: quoting.Quote,
    item: quoting.QuoteItem,
    batch: str,
    party_id: str,
    elsewhere: str,
) -> None:
    """Twelve copies of a quote with its item, of `party_id`: copy `n` is answered unless
    `n % 6 == 5`; its item is at 70.00 a month when `n` is even (else 50.00), 60.00 once,
    `unableToProvide` when `n % 4 == 3`, has the buyer's id `b` when `n < 4` (else its
    position), is at `elsewhere` when `n % 3 == 0` and of `ethernet-port` when `n % 2 == 1`."""
    await copies(
        session,
        quote,
        12,
        lambda n: {
            "id": f"q{batch}{n}",
            "party_id": party_id,
            "answered_at": None if n % 6 == 5 else quote.answered_at,
        },
    )
    await copies(
        session,
        item,
        12,
        lambda n: {
            "id": f"qi{batch}{n}",
            "quote_id": f"q{batch}{n}",
            "party_id": party_id,
            "monthly_cents": 7000 if n % 2 == 0 else 5000,
            "one_time_cents": 6000,
            "state": QuoteItemState.UNABLE_TO_PROVIDE if n % 4 == 3 else item.state,
            "external_id": "b" if n < 4 else None,
            "a_location_id": elsewhere if n % 3 == 0 else item.a_location_id,
            "offering_id": "ethernet-port" if n % 2 == 1 else item.offering_id,
        },
    )


def _priced(n: int) -> bool:
    return n % 6 != 5 and n % 4 != 3


async def test_quotes_filter_on_the_ids_places_offerings_and_prices_of_their_items(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    other_customer: Caller,
) -> None:
    clock.set_clock(lambda: datetime(2026, 3, 3, tzinfo=UTC))
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    created = await client.post(
        QUOTES,
        headers=customer.headers,
        json={
            "quoteItem": [
                _quote_item(chicago, productCharacteristic=[{"name": "bandwidth", "value": 100}])
            ]
        },
    )
    assert created.status_code == 201, created.text
    quote = await session.get(quoting.Quote, created.json()["id"])
    assert quote is not None
    [item] = (
        await session.exec(select(quoting.QuoteItem).where(quoting.QuoteItem.quote_id == quote.id))
    ).all()
    # Each filter, and which copies (by `n`) it selects.
    selections: dict[tuple[tuple[str, str], ...], Any] = {
        (("quoteItem.quoteItemPrice.price.dutyFreeAmount.value.gt", "60"),): (
            lambda n: _priced(n) and n % 2 == 0
        ),
        (("quoteItem.quoteItemPrice.price.dutyFreeAmount.value.lt", "60"),): (
            lambda n: _priced(n) and n % 2 == 1
        ),
        (("quoteItem.quoteItemPrice.priceType", "recurring"),): _priced,
        (("quoteItem.quoteItemPrice.price.dutyFreeAmount.unit", "USD"),): _priced,
        (("quoteItem.id", "b"),): lambda n: n < 4,
        (("quoteItem.product.place.id", new_york),): lambda n: n % 3 == 0,
        (("quoteItem.product.productOffering.id", "ethernet-port"),): lambda n: n % 2 == 1,
        (
            ("quoteItem.product.place.role", "aEnd"),
            ("quoteItem.product.productOffering.href", "x"),
        ): lambda n: False,
    }
    before = {
        wanted: (await list_page(client, customer, QUOTES, **dict(wanted)))[1]
        for wanted in selections
    }
    statements: list[int] = []
    for batch, copied in (("a", 12), ("b", 24)):
        await _quote_copies(session, quote, item, batch, customer.party_id, new_york)
        # Another party's copies match the same filters, and are never counted.
        await _quote_copies(session, quote, item, f"o{batch}", other_customer.party_id, new_york)
        for wanted, matching in selections.items():
            with counting(database) as seen:
                await list_page(client, customer, QUOTES, limit=str(PAGE), **dict(wanted))
            statements.append(len(seen))
            found = await every_page(client, customer, QUOTES, dict(wanted))
            expected = before[wanted] + sum(1 for n in range(copied) if matching(n % 12))
            assert len(found) == expected, wanted
            assert not any(q["id"].startswith("qo") for q in found)
    # The statements of a list do not depend on how many rows it has.
    assert statements[: len(selections)] == statements[len(selections) :]
    # Each quote found has an item priced above 60.00.
    dear, _ = await list_page(
        client,
        customer,
        QUOTES,
        **{"quoteItem.quoteItemPrice.price.dutyFreeAmount.value.gt": "60"},
    )
    assert dear
    assert all(
        any(
            p["price"]["dutyFreeAmount"]["value"] > 60
            for i in q["quoteItem"]
            for p in i.get("quoteItemPrice", [])
        )
        for q in dear
    )


async def test_quotes_rejected_at_once_filter_on_the_items_asked_for_and_the_sellers_note(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    chicago = await location_id(session, CHICAGO)
    for caller in (customer, other_customer):
        for n in range(PAGE + 1):
            # No bandwidth: the seller rejects the quote at once, with its reason in a note.
            lacking = _quote_item(chicago) | {"id": f"ask{n % 2}"}
            made = await client.post(QUOTES, headers=caller.headers, json={"quoteItem": [lacking]})
            assert made.status_code == 201, made.text
            assert made.json()["state"] == "rejected"
    rejected = await every_page(client, customer, QUOTES, {"note.author": "seller"})
    assert len(rejected) == PAGE + 1
    assert all(q["note"][-1]["author"] == "seller" for q in rejected)
    reason = rejected[0]["note"][-1]["text"]
    assert len(await every_page(client, customer, QUOTES, {"note.text": reason})) == PAGE + 1
    asked = await every_page(client, customer, QUOTES, {"quoteItem.id": "ask1"})
    assert len(asked) == 2
    assert all(q["quoteItem"][0]["id"] == "ask1" for q in asked)
    # What the items asked for show as sent, and nothing that the core answers for priced ones.
    _, places = await list_page(client, customer, QUOTES, **{"quoteItem.product.place.id": chicago})
    assert places == PAGE + 1
    _, priced = await list_page(client, customer, QUOTES, **{"quoteItem.quoteItemPrice.@type": "x"})
    assert priced == 0
    _, typed = await list_page(client, customer, QUOTES, **{"quoteItem.product.@type": "Product"})
    assert typed == 0


CHECKS = "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification"
QUERIES = "/tmf-api/serviceQualificationManagement/v4/queryServiceQualification"


async def _qualification(
    client: httpx.AsyncClient, session: AsyncSession, caller: Caller, path: str, body: Any
) -> tuple[Qualification, QualificationItem]:
    """A check or query the caller asked for, and its first item."""
    made = await client.post(path, headers=caller.headers, json=body)
    assert made.status_code == 201, made.text
    found = await session.get(Qualification, made.json()["id"])
    assert found is not None
    items = await session.exec(
        select(QualificationItem)
        .where(QualificationItem.qualification_id == found.id)
        .order_by(col(QualificationItem.position))
    )
    first = items.first()
    assert first is not None
    return found, first


async def _exact(
    client: httpx.AsyncClient,
    database: Database,
    caller: Caller,
    path: str,
    selections: dict[tuple[str, str], Callable[[int], bool]],
    seed: Callable[[str], Awaitable[None]],
) -> None:
    """Two batches of twelve rows seeded by `seed(batch)`: each filter (`path=value`) finds
    exactly the rows `n` of which its selection holds, besides those found before, page by
    page, and a list costs as many statements for twice the rows."""
    before = {
        wanted: (await list_page(client, caller, path, **dict([wanted])))[1]
        for wanted in selections
    }
    statements: list[int] = []
    for batch, copied in (("a", 12), ("b", 24)):
        await seed(batch)
        for wanted, matching in selections.items():
            with counting(database) as seen:
                await list_page(client, caller, path, limit=str(PAGE), **dict([wanted]))
            statements.append(len(seen))
            found = await every_page(client, caller, path, dict([wanted]))
            assert len(found) == before[wanted] + sum(
                1 for n in range(copied) if matching(n % 12)
            ), wanted
            assert not any(entry["id"].startswith("o") for entry in found), wanted
    assert statements[: len(selections)] == statements[len(selections) :]


async def test_service_checks_filter_on_the_results_places_and_reasons_of_their_items(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    other_customer: Caller,
) -> None:
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    service = {
        "serviceSpecification": {"id": "internet-access"},
        "place": [{"id": chicago, "role": "aEnd"}],
        "serviceCharacteristic": [{"name": "bandwidth", "value": 100}],
    }
    check, item = await _qualification(
        client,
        session,
        customer,
        CHECKS,
        {"serviceQualificationItem": [{"id": "1", "service": service}]},
    )

    async def seed(batch: str) -> None:
        await seed_of(batch, customer.party_id, "")
        await seed_of(batch, other_customer.party_id, "o")

    async def seed_of(batch: str, party: str, prefix: str) -> None:
        # Copy `n`: deliverable when `n % 3 == 2`, else red with a slower speed offered when
        # `n % 3 == 0`; at New York when `n` is even; its item `b` when `n < 4`.
        await kept_copies(
            session, check, 12, lambda n: {"id": f"{prefix}c{batch}{n}", "party_id": party}
        )
        await copies(
            session,
            item,
            12,
            lambda n: {
                "id": f"{prefix}ci{batch}{n}",
                "qualification_id": f"{prefix}c{batch}{n}",
                "party_id": party,
                "qualified": n % 3 == 2,
                "confidence": Confidence.GREEN if n % 3 == 2 else Confidence.RED,
                "alternatives": (
                    [{"reason": "slower only", "bandwidth_mbps": 50}] if n % 3 == 0 else []
                ),
                "a_location_id": new_york if n % 2 == 0 else chicago,
                "external_id": "b" if n < 4 else None,
            },
        )

    prefix = "serviceQualificationItem"
    proposal = "alternateServiceProposal"
    await _exact(
        client,
        database,
        customer,
        CHECKS,
        {
            (f"{prefix}.qualificationResult", "alternate"): lambda n: n % 3 == 0,
            (f"{prefix}.qualificationResult", "unqualified"): lambda n: n % 3 == 1,
            (f"{prefix}.service.place.id", new_york): lambda n: n % 2 == 0,
            (f"{prefix}.id", "b"): lambda n: n < 4,
            (f"{prefix}.eligibilityUnavailabilityReason.label", "slower only"): (
                lambda n: n % 3 == 0
            ),
            (f"{prefix}.eligibilityUnavailabilityReason.code", "notServiceable"): (
                lambda n: n % 3 != 2
            ),
            (f"{prefix}.{proposal}.alternateService.serviceCharacteristic.value", "50"): (
                lambda n: n % 3 == 0
            ),
            (f"{prefix}.{proposal}.@type", "AlternateServiceProposal"): lambda n: n % 3 == 0,
        },
        seed,
    )
    # A proposal is named by its item's id and its position among what the item offers.
    for proposal_id, count in (("cia0-1", 1), ("cia0-2", 0), ("cia1-1", 0), ("ocia0-1", 0)):
        found, total = await list_page(
            client, customer, CHECKS, **{f"{prefix}.{proposal}.id": proposal_id}
        )
        assert total == count, proposal_id
        assert all(p["id"] == proposal_id for c in found for i in c[prefix] for p in i[proposal])


async def test_service_queries_filter_on_their_search_criteria_and_the_items_they_found(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    other_customer: Caller,
) -> None:
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    query, item = await _qualification(
        client,
        session,
        customer,
        QUERIES,
        {"searchCriteria": {"service": {"place": [{"id": chicago, "role": "aEnd"}]}}},
    )

    async def seed(batch: str) -> None:
        await seed_of(batch, customer.party_id, "")
        await seed_of(batch, other_customer.party_id, "o")

    async def seed_of(batch: str, party: str, prefix: str) -> None:
        # Copy `n`: searched at New York when `n` is even; it found `ethernet-port`
        # deliverable unless `n % 3 == 0` (then not, and a query does not show it).
        await kept_copies(
            session,
            query,
            12,
            lambda n: {
                "id": f"{prefix}q{batch}{n}",
                "party_id": party,
                "annotations": query.annotations
                | {
                    "searchCriteria": {
                        "service": {"place": [{"id": new_york if n % 2 == 0 else chicago}]}
                    }
                },
            },
        )
        await copies(
            session,
            item,
            12,
            lambda n: {
                "id": f"{prefix}qi{batch}{n}",
                "qualification_id": f"{prefix}q{batch}{n}",
                "party_id": party,
                "offering_id": "ethernet-port",
                "qualified": n % 3 != 0,
            },
        )

    prefix = "serviceQualificationItem.service"
    await _exact(
        client,
        database,
        customer,
        QUERIES,
        {
            ("searchCriteria.service.place.id", new_york): lambda n: n % 2 == 0,
            (f"{prefix}.serviceSpecification.id", "ethernet-port"): lambda n: n % 3 != 0,
            ("serviceQualificationItem.@type", "ServiceQualificationItem"): lambda n: n % 3 != 0,
        },
        seed,
    )
    _, none = await list_page(client, customer, QUERIES, **{"terminationError.@type": "x"})
    assert none == 0


async def test_every_attribute_of_refused_and_undeliverable_requests_filters_in_sql(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    chicago = await location_id(session, CHICAGO)
    service = {
        "serviceSpecification": {"id": "internet-access"},
        "place": [{"id": chicago, "role": "aEnd"}],
        "serviceCharacteristic": [{"name": "bandwidth", "value": 100}],
    }
    # A check whose item cannot be delivered as asked, offering a slower speed instead.
    check, item = await _qualification(
        client,
        session,
        customer,
        CHECKS,
        {"serviceQualificationItem": [{"id": "1", "service": service}]},
    )
    item.qualified = False
    item.confidence = Confidence.RED
    item.alternatives = [
        {"reason": "no such speed here"},
        {"reason": "slower only", "bandwidth_mbps": 50},
    ]
    session.add(item)
    await session.commit()
    made = {CHECKS: [check.id]}
    for path, body in (
        # Refused at once: a quote lacking a speed, a check lacking a specification, a query at
        # a place the core does not know. What the buyer sent with them shows as sent.
        (
            QUOTES,
            {
                "quoteItem": [
                    _quote_item(chicago)
                    | {
                        "note": [{"id": "n1", "text": "asap", "author": "Ana"}],
                        "quoteItemPrice": [{"priceType": "recurring", "name": "budget"}],
                    }
                ]
            },
        ),
        (
            CHECKS,
            {
                "serviceQualificationItem": [
                    {"id": "7", "service": {"place": [{"id": chicago, "role": "aEnd"}]}}
                ]
            },
        ),
        (
            QUERIES,
            {
                "searchCriteria": {
                    "id": "s1",
                    "service": {"place": [{"id": "nowhere", "role": "aEnd"}]},
                }
            },
        ),
    ):
        created = await client.post(path, headers=customer.headers, json=body)
        assert created.status_code == 201, created.text
        assert created.json()["state"] in {"rejected", "terminatedWithError"}
        made.setdefault(path, []).append(created.json()["id"])
    specs = {
        QUOTES: "TMF648-QuoteManagement-v4",
        CHECKS: "TMF645-ServiceQualification-v4",
        QUERIES: "TMF645-ServiceQualification-v4",
    }
    for path, ids in made.items():
        base, resource = path.rsplit("/", 1)
        kit = Kit(client, customer, specs[path], base, resource)
        for made_id in ids:
            [instance] = (await kit.call("GET", f"/{resource}", 200, params={"id": made_id})).json()
            await kit.filters_in_sql(instance)
