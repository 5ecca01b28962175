"""TMF lists filter in SQL on what the core keeps as given (catalog annotations, a person's
skills, an account's contacts, a site's calendar, an order's items and related parties, ...):
`X-Total-Count` is exact and a page is full, whatever the filter."""

from collections.abc import Callable
from typing import Any

import httpx
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import ordering
from app.core.accounts import Account
from app.core.catalog import Offering
from app.core.contacts import Person
from app.core.db import Database
from app.core.geography import Location, Site
from app.core.kept import flatten
from app.core.tickets import Ticket
from tests.factories import (
    CHICAGO,
    Caller,
    location_id,
    make_order,
    make_product,
    make_ticket,
)
from tests.rest_facades.tmf.listing import PAGE, counted_pages, list_page
from tests.statements import copies, counting, kept_copies


async def _check_exact_pages(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    caller: Caller,
    *,
    path: str,
    row: SQLModel,
    vary: Callable[[int], dict[str, Any]],
    filters: dict[str, str],
    matching: Callable[[int], bool],
    check: Callable[[dict[str, Any]], bool],
) -> None:
    """Copies of `row` (copy `n` changed by `vary(n)`; those for which `matching(n)` holds
    match `filters`): the count is exact, every page is full until the last, every entry
    passes `check`, and the list costs as many statements for twice the rows."""

    async def pages() -> tuple[int, int, list[dict[str, Any]]]:
        cost, found = await counted_pages(client, database, caller, path, filters)
        return cost, len(found), found

    await kept_copies(session, row, 12, lambda n: vary(n))
    few, total, found = await pages()
    assert total == sum(1 for n in range(12) if matching(n)) > PAGE
    assert all(check(item) for item in found)
    assert len({item["id"] for item in found}) == total
    await kept_copies(session, row, 12, lambda n: vary(n + 12))
    many, total, found = await pages()
    assert total == sum(1 for n in range(24) if matching(n))
    assert all(check(item) for item in found)
    assert many == few


def _ids(entries: Any, key: str = "id") -> set[Any]:
    return {entry.get(key) for entry in entries or []}


async def test_offerings_filter_on_their_kept_channels_and_segments(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    offering = await session.get(Offering, "ethernet-line")
    assert offering is not None
    await _check_exact_pages(
        client,
        session,
        database,
        customer,
        path="/tmf-api/productCatalogManagement/v4/productOffering",
        row=offering,
        vary=lambda n: {
            "id": f"off_k{n}",
            "annotations": {
                "channel": [{"id": "web" if n % 2 else "shop"}],
                "marketSegment": [{"id": f"seg{n % 3}", "name": "SMB"}],
            },
        },
        filters={"channel.id": "web", "marketSegment.name": "SMB"},
        matching=lambda n: n % 2 == 1,
        check=lambda item: "web" in _ids(item["channel"]),
    )


async def test_individuals_filter_on_their_skills(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    created = await client.post(
        "/tmf-api/party/v4/individual",
        headers=customer.headers,
        json={"givenName": "Ana", "familyName": "Silva"},
    )
    assert created.status_code == 201, created.text
    person = await session.get(Person, created.json()["id"])
    assert person is not None
    await _check_exact_pages(
        client,
        session,
        database,
        customer,
        path="/tmf-api/party/v4/individual",
        row=person,
        vary=lambda n: {
            "id": f"ind_k{n}",
            "extra": {"skill": [{"skillCode": "fiber"}, {"skillCode": f"s{n % 3}"}]},
        },
        filters={"skill.skillCode": "s1"},
        matching=lambda n: n % 3 == 1,
        check=lambda item: "s1" in _ids(item["skill"], "skillCode"),
    )


async def test_accounts_filter_on_their_tax_exemptions(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    created = await client.post(
        "/tmf-api/accountManagement/v4/partyAccount",
        headers=customer.headers,
        json={
            "name": "Ops",
            "relatedParty": [
                {
                    "id": customer.party_id,
                    "name": "Nimbus",
                    "role": "owner",
                    "@referredType": "Organization",
                }
            ],
        },
    )
    assert created.status_code == 201, created.text
    account = await session.get(Account, created.json()["id"])
    assert account is not None
    await _check_exact_pages(
        client,
        session,
        database,
        customer,
        path="/tmf-api/accountManagement/v4/partyAccount",
        row=account,
        vary=lambda n: {
            "id": f"acc_k{n}",
            "extra": {"taxExemption": [{"issuingJurisdiction": "NY" if n < 7 else "TX"}]},
        },
        filters={"taxExemption.issuingJurisdiction": "NY"},
        matching=lambda n: n < 7,
        check=lambda item: "NY" in _ids(item["taxExemption"], "issuingJurisdiction"),
    )


async def test_sites_filter_on_their_calendar(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    created = await client.post(
        "/tmf-api/geographicSiteManagement/v4/geographicSite",
        headers=customer.headers,
        json={"name": "HQ", "place": [{"id": await location_id(session, CHICAGO)}]},
    )
    assert created.status_code == 201, created.text
    site = await session.get(Site, created.json()["id"])
    assert site is not None
    # A party has one site per address: each copy is at an address of its own.
    address = await session.get(Location, site.location_id)
    assert address is not None
    await copies(session, address, 24, lambda n: {"id": f"loc_k{n}", "street_number": f"9{n}"})
    await _check_exact_pages(
        client,
        session,
        database,
        customer,
        path="/tmf-api/geographicSiteManagement/v4/geographicSite",
        row=site,
        vary=lambda n: {
            "id": f"site_k{n}",
            "location_id": f"loc_k{n}",
            "annotations": {"calendar": [{"day": "weekdays" if n % 2 else "weekends"}]},
        },
        filters={"calendar.day": "weekdays"},
        matching=lambda n: n % 2 == 1,
        check=lambda item: "weekdays" in _ids(item["calendar"], "day"),
    )


async def test_orders_filter_on_their_items_prices_and_related_parties(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    placed = await make_order(session, customer)
    [item] = placed.items
    order = placed.order
    order.annotations = {"tmf": {"relatedParty": [{"id": "ind-7", "role": "contact"}]}}
    await session.commit()
    path = "/tmf-api/productOrderingManagement/v4/productOrder"
    # Every copy has the item; half of them name the contact.
    rows = await session.exec(select(ordering.OrderItem).where(ordering.OrderItem.id == item.id))
    template = rows.one()

    def vary(n: int) -> dict[str, Any]:
        kept = {"relatedParty": [{"id": "ind-7" if n % 2 else "ind-8", "role": "contact"}]}
        return {"id": f"ord_k{n}", "annotations": {"tmf": kept}}

    filters = {
        "relatedParty.id": "ind-7",
        "productOrderItem.productOffering.id": "ethernet-line",
        "orderTotalPrice.price.dutyFreeAmount.unit": order.currency,
        "relatedParty.role": "customer",
    }
    with counting(database) as seen:
        first, total = await list_page(client, customer, path, limit=str(PAGE), **filters)
    few = len(seen)
    assert [o["id"] for o in first] == [order.id]
    assert total == 1
    await kept_copies(session, order, 12, vary)
    await kept_copies(session, template, 12, lambda n: {"id": f"oi_k{n}", "order_id": f"ord_k{n}"})
    first, total = await list_page(client, customer, path, limit=str(PAGE), **filters)
    assert total == 7
    assert len(first) == PAGE
    assert all("ind-7" in _ids(o["relatedParty"]) for o in first)
    monthly = order.monthly_cents / 100
    _, total = await list_page(
        client,
        customer,
        path,
        limit=str(PAGE),
        **{
            "orderTotalPrice.price.dutyFreeAmount.value.gte": str(monthly),
            "relatedParty.id": "ind-8",
        },
    )
    assert total == 6
    # The order itself names no product of another offering.
    _, none = await list_page(
        client, customer, path, **{"productOrderItem.productOffering.id": "x"}
    )
    assert none == 0
    with counting(database) as seen:
        await list_page(client, customer, path, limit=str(PAGE), **filters)
    assert len(seen) == few


async def test_tickets_keep_filter_and_return_the_buyers_word_for_their_type(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    path = "/tmf-api/troubleTicket/v4/troubleTicket"
    created = await client.post(
        path,
        headers=customer.headers,
        json={"description": "Fibre cut", "severity": "Major", "ticketType": "Outage"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["ticketType"] == "Outage"
    ticket = await session.get(Ticket, created.json()["id"])
    assert ticket is not None
    # Only the copies below say "Outage".
    ticket.ticket_type_word = "Fault"
    await session.commit()
    await _check_exact_pages(
        client,
        session,
        database,
        customer,
        path=path,
        row=ticket,
        vary=lambda n: {"id": f"tt_k{n}", "ticket_type_word": "Outage" if n % 2 else None},
        filters={"ticketType": "Outage"},
        matching=lambda n: n % 2 == 1,
        check=lambda item: item["ticketType"] == "Outage",
    )
    # Tickets without a word of their own are found by the core's type, by its name.
    _, assistance = await list_page(client, customer, path, ticketType="Assistance")
    assert assistance == 12
    await make_ticket(session, customer)
    _, assistance = await list_page(client, customer, path, ticketType="Assistance")
    assert assistance == 13


def test_kept_documents_index_every_scalar_at_its_path_without_array_positions() -> None:
    document = {"skill": [{"code": "a", "level": 3}, {"code": None}], "on": True, "x": []}
    assert sorted(flatten(document)) == [
        ("on", "true", None),
        ("skill.code", "a", None),
        ("skill.level", "3", 3.0),
    ]


async def test_products_filter_on_characteristics_prices_places_and_fixed_values(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    product = await make_product(session, customer)
    path = "/tmf-api/productInventory/v4/product"

    async def count(**params: str) -> int:
        return (await list_page(client, customer, path, **params))[1]

    assert await count(**{"productCharacteristic.value": "1000"}) == 1
    assert await count(**{"productCharacteristic.value": "standard"}) == 1
    assert await count(**{"productCharacteristic.value": "7"}) == 0
    # Ordered filters compare the numbers only: no class of service is "greater".
    assert await count(**{"productCharacteristic.value.gt": "100000"}) == 0
    assert await count(**{"productCharacteristic.value.lte": "12"}) == 1
    assert await count(**{"place.id": product.a_site_id}) == 1
    assert await count(**{"place.id": "site_elsewhere"}) == 0
    assert await count(isBundle="false", **{"productPrice.priceType": "oneTime"}) == 1
    assert await count(isBundle="true") == 0
    monthly = str(product.monthly_cents / 100)
    assert await count(**{"productPrice.price.dutyFreeAmount.value": monthly}) == 1
