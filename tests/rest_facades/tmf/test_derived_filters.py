"""TMF lists filter in SQL on what a face derives from what the core stores (an offering's terms
and the speeds it sells, the characteristics of an order's or a quote's items, a bill's amount
before tax and its document, an address's street type): `X-Total-Count` is exact, every page is
full and the statements of a list do not grow with its table."""

from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import billing, clock, ordering, quoting
from app.core.billing import Bill, BillState
from app.core.catalog import Offering
from app.core.db import Database
from app.core.geography import Location
from app.core.qualification import (
    Confidence,
    Qualification,
    QualificationItem,
    QualificationState,
)
from tests.factories import CHICAGO, Caller, location_id, make_order, make_product
from tests.rest_facades.tmf.listing import PAGE, list_page
from tests.rest_facades.tmf.test_kept_filters import _check_exact_pages
from tests.statements import copies, counting, kept_copies

CATALOG = "/tmf-api/productCatalogManagement/v4"


async def test_offerings_filter_on_their_terms_speeds_and_validity(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    offering = await session.get(Offering, "ethernet-line")
    assert offering is not None
    start = datetime(2026, 1, 1, tzinfo=UTC)
    await _check_exact_pages(
        client,
        session,
        database,
        customer,
        path=f"{CATALOG}/productOffering",
        row=offering,
        vary=lambda n: {
            "id": f"off_d{n}",
            "max_term_months": 36 if n % 3 else 60,
            "bandwidths_mbps": [100, 250] if n % 2 else [100],
            "valid_from": start.replace(month=1 + n % 12),
        },
        filters={
            "productOfferingTerm.duration.amount": "36",
            "prodSpecCharValueUse.productSpecCharacteristicValue.value": "250",
            "validFor.startDateTime.gte": "2026-02-01T00:00:00Z",
            "productOfferingTerm.name": "maximum term",
            "@type": "ProductOffering",
        },
        matching=lambda n: n % 3 != 0 and n % 2 == 1 and n % 12 >= 1,
        check=lambda item: item["validFor"]["startDateTime"] >= "2026-02-01",
    )
    # A value that no offering shows at a fixed attribute matches none, in SQL.
    _, none = await list_page(
        client, customer, f"{CATALOG}/productOffering", **{"productOfferingTerm.name": "x"}
    )
    assert none == 0


async def _order_copies(
    session: AsyncSession, order: ordering.Order, item: ordering.OrderItem, batch: str
) -> None:
    """Twelve copies of an order with its item, seven of them at 250 Mbps."""
    await copies(session, order, 12, lambda n: {"id": f"ord_d{batch}{n}"})
    await copies(
        session,
        item,
        12,
        lambda n: {
            "id": f"oi_d{batch}{n}",
            "order_id": f"ord_d{batch}{n}",
            "bandwidth_mbps": 250 if n < 7 else 100,
        },
    )


async def test_orders_filter_on_the_characteristics_of_their_items(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    placed = await make_order(session, customer)
    [item] = placed.items
    rows = await session.exec(select(ordering.OrderItem).where(ordering.OrderItem.id == item.id))
    template = rows.one()
    path = "/tmf-api/productOrderingManagement/v4/productOrder"
    wanted = {"productOrderItem.product.productCharacteristic.value": "250"}
    _, total = await list_page(client, customer, path, **wanted)
    assert total == 0
    few = 0
    for batch in ("a", "b"):
        await _order_copies(session, placed.order, template, batch)
        with counting(database) as seen:
            first, total = await list_page(client, customer, path, limit=str(PAGE), **wanted)
        assert total == (7 if batch == "a" else 14)
        assert len(first) == PAGE
        assert len(seen) == (few or len(seen))
        few = len(seen)
    values = {
        c["value"]
        for order in first
        for entry in order["productOrderItem"]
        for c in entry["product"]["productCharacteristic"]
    }
    assert 250 in values
    # Terms compare as numbers; every item of the seed order has one of at least a month.
    _, total = await list_page(
        client,
        customer,
        path,
        **{"productOrderItem.product.productCharacteristic.value.gte": "1"},
    )
    assert total == 25


async def test_bills_filter_on_their_amount_before_tax_what_is_left_and_their_document(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    ops: Caller,
) -> None:
    moment = datetime(2026, 3, 3, tzinfo=UTC)
    clock.set_clock(lambda: moment)
    await make_product(session, customer)
    moment = datetime(2026, 4, 2, tzinfo=UTC)
    assert await billing.run_cycle(session, principal=ops.principal, year=2026, month=3) >= 1
    bill = (await session.exec(select(Bill).where(Bill.party_id == customer.party_id))).first()
    assert bill is not None
    await _check_exact_pages(
        client,
        session,
        database,
        customer,
        path="/tmf-api/customerBillManagement/v4/customerBill",
        row=bill,
        vary=lambda n: {
            "id": f"bill_d{n}",
            # A bill is one of an account's for its period.
            "period_start": bill.period_start + timedelta(minutes=n + 1),
            "recurring_cents": 10_000,
            "one_time_cents": 0,
            "tax_cents": 800,
            "total_cents": 10_800,
            "state": BillState.SETTLED if n % 2 else BillState.SENT,
        },
        filters={
            "taxExcludedAmount.value": "100.00",
            "remainingAmount.value": "0",
            "taxItem.taxRate": "0.08",
            "category": "normal",
            "billDocument.mimeType": "application/json",
        },
        matching=lambda n: n % 2 == 1,
        check=lambda item: item["state"] == "settled",
    )
    _, one = await list_page(
        client,
        customer,
        "/tmf-api/customerBillManagement/v4/customerBill",
        **{"billDocument.name": "Bill bill_d3"},
    )
    assert one == 1


def _bill_date(n: int) -> datetime:
    """Late on the last day of March, midnight on its first, or late on the last of February."""
    return (
        datetime(2026, 2, 28, 23, 59, tzinfo=UTC),
        datetime(2026, 3, 31, 23, 30, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
    )[n % 3]


async def test_bills_filter_on_their_next_bill_date(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    ops: Caller,
) -> None:
    moment = datetime(2026, 3, 3, tzinfo=UTC)
    clock.set_clock(lambda: moment)
    await make_product(session, customer)
    moment = datetime(2026, 4, 2, tzinfo=UTC)
    assert await billing.run_cycle(session, principal=ops.principal, year=2026, month=3) >= 1
    bill = (await session.exec(select(Bill).where(Bill.party_id == customer.party_id))).first()
    assert bill is not None
    path = "/tmf-api/customerBillManagement/v4/customerBill"
    await _check_exact_pages(
        client,
        session,
        database,
        customer,
        path=path,
        row=bill,
        vary=lambda n: {
            "id": f"bill_n{n}",
            "period_start": bill.period_start + timedelta(minutes=n + 1),
            "bill_date": _bill_date(n),
        },
        filters={"nextBillDate": "2026-04-01T00:00:00Z"},
        matching=lambda n: n % 3 != 0,
        check=lambda item: item["nextBillDate"].startswith("2026-04-01T00:00:00"),
    )
    # Those billed in February are next billed on the first of March; the bill of the run
    # (billed on 2 April) on the first of May.
    _, march = await list_page(client, customer, path, **{"nextBillDate.lt": "2026-04-01"})
    assert march == 8
    _, may = await list_page(client, customer, path, **{"nextBillDate.gt": "2026-04-01T00:00:00Z"})
    assert may == 1
    _, none = await list_page(client, customer, path, nextBillDate="2026-04-02T00:00:00Z")
    assert none == 0


async def test_accounts_options_and_cycles_filter_on_their_link_and_type(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    base = "/tmf-api/accountManagement/v4"
    for resource in ("billFormat", "billPresentationMedia", "billingCycleSpecification"):
        listed, total = await list_page(client, customer, f"{base}/{resource}")
        assert total >= 1
        first = listed[0]
        _, same = await list_page(
            client, customer, f"{base}/{resource}", **{"@type": first["@type"]}
        )
        assert same == total
        _, one = await list_page(client, customer, f"{base}/{resource}", href=first["href"])
        assert one == 1
        # Another resource's link or type names none of these.
        other = first["href"].replace(f"/{resource}/", "/partyAccount/")
        _, none = await list_page(client, customer, f"{base}/{resource}", href=other)
        assert none == 0
        _, none = await list_page(
            client, customer, f"{base}/{resource}", **{"@type": "PartyAccount"}
        )
        assert none == 0


async def test_addresses_filter_on_their_street_type_and_coordinates(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    address = await session.get(Location, await location_id(session, CHICAGO))
    assert address is not None
    path = "/tmf-api/geographicAddressManagement/v4/geographicAddress"
    with counting(database) as seen:
        _, before = await list_page(client, customer, path, limit=str(PAGE), streetType="Blvd")
    few = len(seen)
    await copies(
        session,
        address,
        12,
        lambda n: {
            "id": f"loc_d{n}",
            "street_number": f"7{n}",
            "street_name": "S Decatur Blvd" if n % 2 else "Blvd Haussmann",
            "longitude": -100.0 - n,
        },
    )
    with counting(database) as seen:
        first, total = await list_page(client, customer, path, limit=str(PAGE), streetType="Blvd")
    assert total == before + 6
    assert len(first) == PAGE
    assert all(a["streetType"] == "Blvd" for a in first)
    assert len(seen) == few
    _, exact = await list_page(client, customer, path, **{"geographicLocation.coordinates": "-107"})
    assert exact == 1


async def test_quotes_filter_on_the_characteristics_of_their_items(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    path = "/tmf-api/quoteManagement/v4/quote"
    chicago = await location_id(session, CHICAGO)
    characteristics = [{"name": "bandwidth", "value": 100}, {"name": "termMonths", "value": 12}]
    created = await client.post(
        path,
        headers=customer.headers,
        json={
            "quoteItem": [
                {
                    "id": "1",
                    "action": "add",
                    "productOffering": {"id": "internet-access"},
                    "product": {
                        "place": [{"id": chicago, "role": "aEnd"}],
                        "productCharacteristic": characteristics,
                    },
                }
            ]
        },
    )
    assert created.status_code == 201, created.text
    quote = await session.get(quoting.Quote, created.json()["id"])
    assert quote is not None
    [item] = (
        await session.exec(select(quoting.QuoteItem).where(quoting.QuoteItem.quote_id == quote.id))
    ).all()
    wanted = {
        "quoteItem.product.productCharacteristic.value": "250",
        "quoteItem.@type": "QuoteItem",
    }
    few = 0
    for batch in ("a", "b"):
        await _quote_copies(session, quote, item, batch)
        with counting(database) as seen:
            first, total = await list_page(client, customer, path, limit=str(PAGE), **wanted)
        assert total == (5 if batch == "a" else 10)
        assert len(first) == PAGE
        assert len(seen) == (few or len(seen))
        few = len(seen)
    _, none = await list_page(client, customer, path, **{"quoteItem.action": "modify"})
    assert none == 0


async def _quote_copies(
    session: AsyncSession, quote: quoting.Quote, item: quoting.QuoteItem, batch: str
) -> None:
    """Twelve copies of a quote with its item, five of them at 250 Mbps."""
    await copies(session, quote, 12, lambda n: {"id": f"q_d{batch}{n}"})
    await copies(
        session,
        item,
        12,
        lambda n: {
            "id": f"qi_d{batch}{n}",
            "quote_id": f"q_d{batch}{n}",
            "bandwidth_mbps": 250 if n < 5 else 100,
        },
    )


async def test_qualifications_filter_on_their_result_and_the_state_of_their_items(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    path = "/tmf-api/productOfferingQualification/v4/productOfferingQualification"
    chicago = await location_id(session, CHICAGO)
    created = await client.post(
        path,
        headers=customer.headers,
        json={
            "place": [{"id": chicago, "role": "aEnd"}],
            "productOfferingQualificationItem": [
                {"id": "1", "productOffering": {"id": "internet-access"}}
            ],
        },
    )
    assert created.status_code == 201, created.text
    poq = await session.get(Qualification, created.json()["id"])
    assert poq is not None
    [item] = (
        await session.exec(
            select(QualificationItem).where(QualificationItem.qualification_id == poq.id)
        )
    ).all()
    before = {
        result: (await list_page(client, customer, path, qualificationResult=result))[1]
        for result in ("green", "yellow", "red")
    }
    # Twelve more: all red, all green, and green beside yellow (yellow as a whole); and two
    # that ended without items.
    await copies(session, poq, 12, lambda n: {"id": f"poq_d{n}"})
    confidences = (Confidence.RED, Confidence.GREEN, Confidence.GREEN)
    await copies(
        session,
        item,
        16,
        lambda n: {
            "id": f"poqi_d{n}",
            "qualification_id": f"poq_d{n if n < 12 else (n - 12) * 3 + 2}",
            "confidence": confidences[n % 3] if n < 12 else Confidence.YELLOW,
        },
    )
    await copies(
        session,
        poq,
        2,
        lambda n: {
            "id": f"poq_t{n}",
            "state": QualificationState.TERMINATED_WITH_ERROR,
            "annotations": {"productOfferingQualificationItem": [{"id": "1"}]},
        },
    )
    for result, more in (("green", 4), ("yellow", 4), ("red", 4)):
        first, total = await list_page(
            client, customer, path, limit=str(PAGE), qualificationResult=result
        )
        assert total == before[result] + more
        assert len(first) == PAGE
        assert all(q["qualificationResult"] == result for q in first)
    terminated, total = await list_page(
        client, customer, path, **{"productOfferingQualificationItem.state": "terminatedWithError"}
    )
    assert total == 2
    assert {q["id"] for q in terminated} == {"poq_t0", "poq_t1"}
    _, done = await list_page(
        client, customer, path, **{"productOfferingQualificationItem.state": "done"}
    )
    _, everything = await list_page(client, customer, path)
    assert done == everything - 2
    _, asynchronous = await list_page(client, customer, path, instantSyncQualification="false")
    assert asynchronous == 0


async def test_quotes_filter_on_their_total_prices_and_the_state_of_their_items(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    path = "/tmf-api/quoteManagement/v4/quote"
    chicago = await location_id(session, CHICAGO)
    product = {
        "place": [{"id": chicago, "role": "aEnd"}],
        "productCharacteristic": [{"name": "bandwidth", "value": 100}],
    }
    created = await client.post(
        path,
        headers=customer.headers,
        json={
            "quoteItem": [
                {
                    "id": "1",
                    "action": "add",
                    "productOffering": {"id": "internet-access"},
                    "product": product,
                }
            ]
        },
    )
    assert created.status_code == 201, created.text
    quote = await session.get(quoting.Quote, created.json()["id"])
    assert quote is not None
    assert quote.answered_at is not None
    wanted = {"quoteTotalPrice.price.dutyFreeAmount.value": "50.00"}
    _, before = await list_page(client, customer, path, **wanted)
    _, answered = await list_page(
        client, customer, path, **{"quoteTotalPrice.priceType": "recurring"}
    )
    # Twelve more that took no item: two in three answered, half of them at 50.00 a month.
    await copies(
        session,
        quote,
        12,
        lambda n: {
            "id": f"quo_t{n}",
            "monthly_cents": 5000 if n % 2 else 7000,
            "answered_at": None if n % 3 == 0 else quote.answered_at,
        },
    )
    first, total = await list_page(client, customer, path, limit=str(PAGE), **wanted)
    assert total == before + 4
    assert len(first) == PAGE
    monthly = [p for q in first for p in q["quoteTotalPrice"] if p["priceType"] == "recurring"]
    assert [p["price"]["dutyFreeAmount"]["value"] for p in monthly] == [50.0] * PAGE
    _, priced = await list_page(
        client, customer, path, **{"quoteTotalPrice.priceType": "recurring"}
    )
    assert priced == answered + 8
    rejected, total = await list_page(client, customer, path, **{"quoteItem.state": "rejected"})
    assert total == 12
    assert all(i["state"] == "rejected" for q in rejected for i in q["quoteItem"])
    _, none = await list_page(client, customer, path, **{"quoteTotalPrice.name": "discount"})
    assert none == 0


async def test_service_checks_filter_on_their_result(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    path = "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification"
    chicago = await location_id(session, CHICAGO)
    service = {
        "serviceSpecification": {"id": "internet-access"},
        "place": [{"id": chicago, "role": "aEnd"}],
        "serviceCharacteristic": [{"name": "bandwidth", "value": 100}],
    }
    created = await client.post(
        path,
        headers=customer.headers,
        json={"serviceQualificationItem": [{"id": "1", "service": service}]},
    )
    assert created.status_code == 201, created.text
    check = await session.get(Qualification, created.json()["id"])
    assert check is not None
    [item] = (
        await session.exec(
            select(QualificationItem).where(QualificationItem.qualification_id == check.id)
        )
    ).all()
    results = ("alternate", "unqualified", "qualified")
    before = {
        result: (await list_page(client, customer, path, qualificationResult=result))[1]
        for result in results
    }
    # Twelve more, each with one item: red with a slower speed to offer, red, and green.
    await kept_copies(session, check, 12, lambda n: {"id": f"sqc_d{n}"})
    await copies(
        session,
        item,
        12,
        lambda n: {
            "id": f"sqci_d{n}",
            "qualification_id": f"sqc_d{n}",
            "confidence": Confidence.GREEN if n % 3 == 2 else Confidence.RED,
            "qualified": n % 3 == 2,
            "alternatives": [{"bandwidth_mbps": 50}] if n % 3 == 0 else [],
        },
    )
    for result in results:
        first, total = await list_page(
            client, customer, path, limit=str(PAGE), qualificationResult=result
        )
        assert total == before[result] + 4
        assert len(first) == PAGE
        assert [c["qualificationResult"] for c in first] == [result] * PAGE, first
    _, checks = await list_page(client, customer, path)
    _, done = await list_page(client, customer, path, **{"serviceQualificationItem.state": "done"})
    assert done == checks
    _, asynchronous = await list_page(client, customer, path, instantSyncQualification="false")
    assert asynchronous == 0


async def test_billing_cycles_filter_on_their_frequency_and_offsets(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    path = "/tmf-api/accountManagement/v4/billingCycleSpecification"
    wanted = {"frequency": "weekly", "mailingDateOffset.gt": "5"}
    _, before = await list_page(client, customer, path, **wanted)
    for n in range(4):
        made = await client.post(
            path,
            headers=customer.headers,
            json={"name": f"weekly {n}", "frequency": "weekly", "mailingDateOffset": 3 + 2 * n},
        )
        assert made.status_code == 201, made.text
    found, total = await list_page(client, customer, path, limit="1", **wanted)
    assert total == before + 2
    assert found[0]["mailingDateOffset"] > 5
    _, none = await list_page(client, customer, path, frequency="hourly")
    assert none == 0


async def test_bills_on_demand_filter_on_the_name_and_description_they_show_by_default(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    await make_product(session, customer)
    [account] = await billing.list_accounts(session, principal=customer.principal)
    path = "/tmf-api/customerBillManagement/v4/customerBillOnDemand"
    for body in ({}, {"name": "mid-month", "description": "for the audit"}, {}):
        made = await client.post(
            path, headers=customer.headers, json={"billingAccount": {"id": account.id}, **body}
        )
        assert made.status_code == 201, made.text
    default = "Charges from the start of the month to the request"
    found, total = await list_page(client, customer, path, limit="1", description=default)
    assert total == 2
    assert found[0]["description"] == default
    _, named = await list_page(client, customer, path, name="On-demand bill")
    assert named == 2
    _, given = await list_page(client, customer, path, description="for the audit")
    assert given == 1


async def test_sites_filter_on_the_type_of_their_related_parties(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    path = "/tmf-api/geographicSiteManagement/v4/geographicSite"
    partner = {
        "id": "p1",
        "name": "Ana",
        "role": "installer",
        "@type": "Partner",
        "@referredType": "Individual",
    }
    made = await client.post(
        path,
        headers=customer.headers,
        json={
            "name": "Annex",
            "place": [{"streetNr": "350", "streetName": "E Cermak Rd", "city": "Chicago"}],
            "relatedParty": [partner],
        },
    )
    assert made.status_code == 201, made.text
    _, sites = await list_page(client, customer, path)
    # Every site shows its owner as a `RelatedParty`.
    _, every = await list_page(client, customer, path, **{"relatedParty.@type": "RelatedParty"})
    assert every == sites
    found, one = await list_page(client, customer, path, **{"relatedParty.@type": "Partner"})
    assert one == 1
    assert found[0]["name"] == "Annex"
    _, none = await list_page(client, customer, path, **{"relatedParty.@type": "Broker"})
    assert none == 0
