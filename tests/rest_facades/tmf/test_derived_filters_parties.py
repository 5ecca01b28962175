"""TMF lists of parties, accounts, sites and address validations filter in SQL on what a face
derives from what the core stores (a party's characteristics, a billing account's standard bill
structure, the owner and contact of a site or an account, the address a validation was
submitted with): `X-Total-Count` is exact, every page is full, another party's rows are never
counted and the statements of a list do not grow with its table."""

from collections.abc import Callable
from typing import Any

import httpx
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.billing import BillingAccount
from app.core.contacts import Organization, Person
from app.core.db import Database
from app.core.geography import AddressCheck, Location, Site
from tests.factories import CHICAGO, Caller, location_id
from tests.rest_facades.tmf.kit import Kit
from tests.rest_facades.tmf.listing import PAGE, counted_pages, list_page
from tests.statements import copies, kept_copies

PARTY = "/tmf-api/party/v4"
ACCOUNTS = "/tmf-api/accountManagement/v4"
SITES = "/tmf-api/geographicSiteManagement/v4"
ADDRESSES = "/tmf-api/geographicAddressManagement/v4"
# A party that an account names (without a link), beside its owner.
PAYER = {"id": "payer", "name": "Payer", "role": "payer", "@referredType": "Organization"}


async def _pages(
    client: httpx.AsyncClient,
    database: Database,
    caller: Caller,
    path: str,
    filters: dict[str, str],
) -> tuple[int, int, list[dict[str, Any]]]:
    """The statements of a filtered list's first page, its total and every entry."""
    cost, found = await counted_pages(client, database, caller, path, filters)
    return cost, len(found), found


async def _twice(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    caller: Caller,
    *,
    path: str,
    filters: dict[str, str],
    seed: Callable[[int], Any],
    expected: Callable[[int], int],
    check: Callable[[dict[str, Any]], bool],
) -> None:
    """Seed twelve rows (`seed(0)`), then twelve more (`seed(12)`): each time the filtered list
    counts `expected(rows seeded)`, more than a page, its entries pass `check`, and the list
    costs as many statements for twice the rows."""
    await seed(0)
    few, total, found = await _pages(client, database, caller, path, filters)
    assert total == expected(12) > PAGE
    assert all(check(item) for item in found)
    await seed(12)
    many, total, found = await _pages(client, database, caller, path, filters)
    assert total == expected(24)
    assert all(check(item) for item in found)
    assert many == few


async def _created(client: httpx.AsyncClient, caller: Caller, path: str, body: Any) -> Any:
    made = await client.post(path, headers=caller.headers, json=body)
    assert made.status_code == 201, made.text
    return made.json()


async def _site(
    client: httpx.AsyncClient, session: AsyncSession, caller: Caller, name: str
) -> Site:
    made = await _created(
        client,
        caller,
        f"{SITES}/geographicSite",
        {
            "name": name,
            "place": [{"id": await location_id(session, CHICAGO)}],
            "relatedParty": [
                {
                    "id": "c-1",
                    "name": "Alex Kim",
                    "role": "siteContact",
                    "@referredType": "Individual",
                }
            ],
        },
    )
    site = await session.get(Site, made["id"])
    assert site is not None
    return site


async def _addresses(session: AsyncSession, site: Site, prefix: str, number: int) -> None:
    """Addresses of their own for the copies of a site (a party has one site per address),
    their street numbers starting with `number`."""
    address = await session.get(Location, site.location_id)
    assert address is not None
    await copies(
        session,
        address,
        24,
        lambda n: {"id": f"loc_{prefix}{n}", "street_number": f"{number}{n:02}"},
    )


def _with(entries: Any, key: str, value: Any) -> bool:
    return any(isinstance(e, dict) and e.get(key) == value for e in entries or [])


async def test_sites_filter_on_their_owner_and_contact(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    other_customer: Caller,
) -> None:
    site = await _site(client, session, customer, "HQ")
    theirs = await _site(client, session, other_customer, "Their HQ")
    await _addresses(session, site, "p", 8)
    await _addresses(session, theirs, "q", 9)
    [shown] = (await list_page(client, customer, f"{SITES}/geographicSite"))[0]
    owner_href, contact_href = (p["href"] for p in shown["relatedParty"])

    async def seed(start: int) -> None:
        # Half of the sites have a contact named Alex Kim; the other party's sites all do.
        def vary(prefix: str) -> Callable[[int], dict[str, Any]]:
            return lambda n: {
                "id": f"site_{prefix}{start + n}",
                "location_id": f"loc_{prefix}{start + n}",
                "contact_name": "Alex Kim" if n % 2 or prefix == "q" else "Sam Lee",
            }

        await kept_copies(session, site, 12, vary("p"))
        await kept_copies(session, theirs, 12, vary("q"))

    await _twice(
        client,
        session,
        database,
        customer,
        path=f"{SITES}/geographicSite",
        # The owner by its name and link, the contact by its name.
        filters={
            "relatedParty.name": "Nimbus Labs",
            "relatedParty.href": owner_href,
            "relatedParty.name.eq": "Alex Kim",
        },
        expected=lambda seeded: 1 + seeded // 2,
        check=lambda item: _with(item["relatedParty"], "name", "Alex Kim"),
        seed=seed,
    )
    # The contact's link names one site; the other party's owner names none of the caller's.
    for href, count in (
        (contact_href, 1),
        (owner_href.replace(customer.party_id, other_customer.party_id), 0),
        (owner_href.replace("organization", "individual"), 0),
    ):
        found, total = await list_page(
            client, customer, f"{SITES}/geographicSite", **{"relatedParty.href": href}
        )
        assert total == len(found) == count, href


async def test_validations_filter_on_the_address_submitted(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    other_customer: Caller,
) -> None:
    path = f"{ADDRESSES}/geographicAddressValidation"
    body = {
        "provideAlternative": False,
        "submittedGeographicAddress": {
            "streetNr": "350",
            "streetName": "E Cermak",
            "streetType": "Rd",
            "city": "Chicago",
        },
    }
    mine = await session.get(AddressCheck, (await _created(client, customer, path, body))["id"])
    theirs = await session.get(
        AddressCheck, (await _created(client, other_customer, path, body))["id"]
    )
    assert mine is not None
    assert theirs is not None

    async def seed(start: int) -> None:
        await kept_copies(
            session,
            mine,
            12,
            lambda n: {"id": f"adv_p{start + n}", "street_number": "350" if n % 3 else "352"},
        )
        await kept_copies(session, theirs, 12, lambda n: {"id": f"adv_q{start + n}"})

    submitted = "submittedGeographicAddress"
    await _twice(
        client,
        session,
        database,
        customer,
        path=path,
        # The street type given apart is part of the street name.
        filters={
            f"{submitted}.streetNr": "350",
            f"{submitted}.streetName": "E Cermak Rd",
            f"{submitted}.city": "Chicago",
        },
        expected=lambda seeded: 1 + seeded * 2 // 3,
        check=lambda item: item[submitted]["streetNr"] == "350",
        seed=seed,
    )


async def test_individuals_filter_on_their_characteristics(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    other_customer: Caller,
) -> None:
    site = await _site(client, session, customer, "HQ")
    await _site(client, session, other_customer, "Their HQ")
    await _addresses(session, site, "p", 8)
    made = await _created(
        client,
        customer,
        f"{PARTY}/individual",
        {"givenName": "Ana", "familyName": "Silva"},
    )
    person = await session.get(Person, made["id"])
    assert person is not None

    async def seed(start: int) -> None:
        # The contact people of new sites, and people who were given the same characteristic
        # (every third of them).
        await kept_copies(
            session,
            site,
            6,
            lambda n: {"id": f"site_p{start + n}", "location_id": f"loc_p{start + n}"},
        )
        await kept_copies(
            session,
            person,
            6,
            lambda n: {
                "id": f"ind_p{start + n}",
                "extra": {
                    "partyCharacteristic": [
                        {"name": "siteContactOf" if n % 3 == 0 else "team", "value": "x"}
                    ]
                },
            },
        )

    await _twice(
        client,
        session,
        database,
        customer,
        path=f"{PARTY}/individual",
        filters={"partyCharacteristic.name": "siteContactOf"},
        expected=lambda seeded: 1 + seeded // 2 + seeded // 6,
        check=lambda item: _with(item["partyCharacteristic"], "name", "siteContactOf"),
        seed=seed,
    )
    # A contact person's characteristic names its site: one of them.
    found, total = await list_page(
        client,
        customer,
        f"{PARTY}/individual",
        **{"partyCharacteristic.value": site.id, "partyCharacteristic.valueType": "string"},
    )
    assert [item["id"] for item in found] == [f"{site.id}~contact"]
    assert total == 1


async def test_organizations_filter_on_their_characteristics(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    other_customer: Caller,
) -> None:
    path = f"{PARTY}/organization"
    rows: list[SQLModel] = []
    for caller in (customer, other_customer):
        made = await _created(client, caller, path, {"tradingName": "Acme"})
        found = await session.get(Organization, made["id"])
        assert found is not None
        rows.append(found)
    mine, theirs = rows

    async def seed(start: int) -> None:
        def vary(prefix: str) -> Callable[[int], dict[str, Any]]:
            country = [{"name": "country", "value": "US" if n % 2 else "CA"} for n in range(12)]
            return lambda n: {
                "id": f"org_{prefix}{start + n}",
                "extra": {"partyCharacteristic": [country[n]]},
            }

        await kept_copies(session, mine, 12, vary("p"))
        await kept_copies(session, theirs, 12, vary("q"))

    # The caller's own party (in the US) and the organisations it said are.
    await _twice(
        client,
        session,
        database,
        customer,
        path=path,
        filters={"partyCharacteristic.name": "country", "partyCharacteristic.value": "US"},
        expected=lambda seeded: 1 + seeded // 2,
        check=lambda item: _with(item["partyCharacteristic"], "value", "US"),
        seed=seed,
    )
    listed, total = await list_page(
        client, customer, path, **{"partyCharacteristic.valueType": "string", "name": "Nimbus Labs"}
    )
    assert [item["id"] for item in listed] == [customer.party_id]
    assert total == 1


async def test_billing_accounts_filter_on_their_bill_structure_and_owner(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    customer: Caller,
    other_customer: Caller,
) -> None:
    path = f"{ACCOUNTS}/billingAccount"
    rows: list[SQLModel] = []
    for caller in (customer, other_customer):
        made = await _created(
            client,
            caller,
            path,
            {"name": "Projects", "relatedParty": [{**PAYER, "id": f"payer-{caller.party_id}"}]},
        )
        found = await session.get(BillingAccount, made["id"])
        assert found is not None
        rows.append(found)
    mine, theirs = rows
    [shown] = (await list_page(client, customer, path))[0]
    structure = shown["billStructure"]
    owner = next(p for p in shown["relatedParty"] if p["role"] == "owner")

    async def seed(start: int) -> None:
        # Every other account has a structure of its own, half of those in the standard format.
        def vary(prefix: str) -> Callable[[int], dict[str, Any]]:
            own = {"format": {"id": "json", "name": "JSON"}}
            return lambda n: {
                "id": f"ba_{prefix}{start + n}",
                "extra": {"billStructure": own if n % 4 == 1 else {"format": {"id": "pdf"}}}
                if n % 2
                else None,
            }

        await kept_copies(session, mine, 12, vary("p"))
        await kept_copies(session, theirs, 12, vary("q"))

    await _twice(
        client,
        session,
        database,
        customer,
        path=path,
        filters={"billStructure.format.id": "json", "relatedParty.href": owner["href"]},
        expected=lambda seeded: 1 + seeded // 2 + seeded // 4,
        check=lambda item: item["billStructure"]["format"]["id"] == "json",
        seed=seed,
    )
    # What only the standard structure shows: its links, names and kinds.
    medium = structure["presentationMedia"][0]
    _, total, _ = await _pages(
        client,
        database,
        customer,
        path,
        {
            "billStructure.format.href": structure["format"]["href"],
            "billStructure.cycleSpecification.@referredType": "BillingCycleSpecification",
            "billStructure.presentationMedia.name": medium["name"],
            "billStructure.presentationMedia.isRef": "true",
        },
    )
    assert total == 1 + 24 // 2
    _, none = await list_page(client, customer, path, **{"billStructure.format.name": "JSON"})
    assert none == 24 // 4


async def test_accounts_filter_on_the_links_of_their_related_parties(
    client: httpx.AsyncClient, customer: Caller, other_customer: Caller
) -> None:
    path = f"{ACCOUNTS}/partyAccount"
    named = {
        "id": "pty-x",
        "href": "https://example.com/parties/pty-x",
        "name": "Partner",
        "role": "partner",
        "@referredType": "Organization",
    }
    for caller in (customer, other_customer):
        for body in (
            {"name": "Plain", "relatedParty": [PAYER]},
            {"name": "Partner", "relatedParty": [named]},
            {
                "name": "Owned",
                "relatedParty": [
                    {
                        "id": caller.party_id,
                        "href": "https://example.com/owner",
                        "name": "Us",
                        "role": "owner",
                        "@referredType": "Organization",
                    }
                ],
            },
        ):
            await _created(client, caller, path, body)
    found, total = await list_page(client, customer, path, **{"relatedParty.href": named["href"]})
    assert [item["name"] for item in found] == ["Partner"]
    assert total == 1
    # The owner shows its own link only where the account does not name it.
    [plain] = (await list_page(client, customer, path, name="Plain"))[0]
    owner_href = next(p["href"] for p in plain["relatedParty"] if p["role"] == "owner")
    found, total = await list_page(client, customer, path, **{"relatedParty.href": owner_href})
    assert sorted(item["name"] for item in found) == ["Partner", "Plain"]
    assert total == 2
    found, total = await list_page(
        client, customer, path, **{"relatedParty.role": "owner", "name": "Owned"}
    )
    assert total == 1
    found, total = await list_page(
        client,
        customer,
        path,
        **{"relatedParty.href": "https://example.com/owner", "relatedParty.role": "owner"},
    )
    assert [item["name"] for item in found] == ["Owned"]
    assert total == 1


async def test_every_attribute_of_fuller_resources_filters_in_sql(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    # Beyond what the inventory walks: a site's contact person, people and organisations that
    # name parties by link and give contact media, an account with its own bill structure,
    # and validations that found a valid address and alternates.
    named = {**PAYER, "href": "https://example.com/parties/payer"}
    await _site(client, session, customer, "HQ")
    medium = {
        "mediumType": "email",
        "characteristic": {"emailAddress": "a@b.c", "contactType": "work"},
    }
    for path, body in (
        (
            f"{PARTY}/individual",
            {
                "givenName": "Ana",
                "familyName": "Silva",
                "relatedParty": [named],
                "contactMedium": [medium],
                "partyCharacteristic": [{"name": "team", "value": "ops", "valueType": "string"}],
            },
        ),
        (f"{PARTY}/organization", {"tradingName": "Acme", "relatedParty": [named]}),
        (
            f"{ACCOUNTS}/billingAccount",
            {
                "name": "Own",
                "relatedParty": [named],
                "billStructure": {"format": {"id": "pdf", "name": "PDF", "isRef": True}},
            },
        ),
        (
            f"{ADDRESSES}/geographicAddressValidation",
            {
                "provideAlternative": True,
                "submittedGeographicAddress": {
                    "streetNr": "350",
                    "streetName": "E Cermak",
                    "streetType": "Rd",
                    "city": "Chicago",
                    "stateOrProvince": "IL",
                    "postcode": "60616",
                    "country": "US",
                },
            },
        ),
        (
            f"{ADDRESSES}/geographicAddressValidation",
            {"provideAlternative": True, "submittedGeographicAddress": {"city": "Chicago"}},
        ),
    ):
        await _created(client, customer, path, body)
    for base, spec, resource in (
        (PARTY, "TMF632-PartyManagement-v4", "individual"),
        (PARTY, "TMF632-PartyManagement-v4", "organization"),
        (ACCOUNTS, "TMF666-AccountManagement-v4", "billingAccount"),
        (SITES, "TMF674-GeographicSite-v4", "geographicSite"),
        (ADDRESSES, "TMF673-GeographicAddress-v4", "geographicAddressValidation"),
    ):
        kit = Kit(client, customer, spec, base, resource)
        listed = await kit.call("GET", f"/{resource}", 200)
        for instance in listed.json():
            await kit.filters_in_sql(instance)
    found, _ = await list_page(client, customer, f"{ADDRESSES}/geographicAddressValidation")
    assert any(item["alternateGeographicAddress"] for item in found)
    assert any("validGeographicAddress" in item for item in found)
