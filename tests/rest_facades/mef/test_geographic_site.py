"""MEF 122 Geographic Site on both flavours, checked against the official files."""

from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.geography import AddressInput, Site, create_site
from tests.factories import CHICAGO, DALLAS, NEW_YORK, Caller, make_caller
from tests.rest_facades.mef.conformance import check_response
from tests.rest_facades.mef.conftest import AUDIENCE_BY_FLAVOUR

BASES = {
    "sonata": "/mefApi/sonata/geographicSiteManagement/v7",
    "cantata": "/mefApi/cantata/geographicSiteManagement/v1",
}
ADDRESS_BASES = {
    "sonata": "/mefApi/sonata/geographicAddressManagement/v7",
    "cantata": "/mefApi/cantata/geographicAddressManagement/v1",
}
API = "geographic_site"
LIST, ONE = "/geographicSite", "/geographicSite/{id}"


@pytest.fixture(params=sorted(BASES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs on Sonata and on Cantata."""
    name: str = request.param
    return name


async def _site(session: AsyncSession, caller: Caller, address: str, **kwargs: Any) -> Site:
    return await create_site(
        session, principal=caller.principal, address=AddressInput(text=address), **kwargs
    )


async def _list(
    client: httpx.AsyncClient, flavour: str, caller: Caller, **params: Any
) -> httpx.Response:
    response = await client.get(f"{BASES[flavour]}{LIST}", headers=caller.headers, params=params)
    check_response(flavour, API, LIST, "get", response.status_code, response.json())
    return response


async def _get(
    client: httpx.AsyncClient, flavour: str, caller: Caller, site_id: str, **params: Any
) -> httpx.Response:
    response = await client.get(
        f"{BASES[flavour]}{LIST}/{site_id}", headers=caller.headers, params=params
    )
    check_response(flavour, API, ONE, "get", response.status_code, response.json())
    return response


def _ids(response: httpx.Response) -> list[str]:
    return [site["id"] for site in response.json()]


async def test_sites_are_listed_and_retrieved_with_their_address(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    chicago = await _site(
        session,
        customer,
        CHICAGO,
        name="Chicago POP",
        contact_name="Ada",
        instructions="Loading dock on 21st St.",
    )
    dallas = await _site(session, customer, DALLAS)
    listed = await _list(client, flavour, customer)
    assert listed.status_code == 200
    assert listed.headers["content-type"] == "application/json;charset=utf-8"
    assert (listed.headers["X-Total-Count"], listed.headers["X-Result-Count"]) == ("2", "2")
    assert _ids(listed) == [chicago.id, dallas.id]
    first = listed.json()[0]
    assert first["href"].endswith(f"{BASES[flavour]}/geographicSite/{chicago.id}")
    assert (first["name"], first["description"], first["customerName"], first["siteType"]) == (
        "Chicago POP",
        "Loading dock on 21st St.",
        "Nimbus Labs",
        "public",
    )
    (place,) = first["place"]
    assert place["@type"] == "FieldedAddress"
    assert (place["id"], place["streetNr"], place["streetName"], place["postcode"]) == (
        chicago.location_id,
        "350",
        "E Cermak Rd",
        "60616",
    )
    # The place is the same address that MEF 121 gives for its id.
    assert place["href"].endswith(f"{ADDRESS_BASES[flavour]}/geographicAddress/{place['id']}")
    address = await client.get(place["href"], headers=customer.headers)
    assert address.json() == place

    fetched = await _get(client, flavour, customer, chicago.id)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "application/json;charset=utf-8"
    assert fetched.json() == first


async def test_the_specs_filters_and_paging(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    chicago = await _site(session, customer, CHICAGO, name="Chicago POP", contact_name="Ada")
    dallas = await _site(session, customer, DALLAS, instructions="Ring twice")
    new_york = await _site(session, customer, NEW_YORK)
    expectations: list[tuple[dict[str, Any], list[str]]] = [
        ({"name": "chicago pop"}, [chicago.id]),
        ({"serviceSiteContactName": "Ada"}, [chicago.id]),
        ({"description": "Ring twice"}, [dallas.id]),
        ({"customerName": "Nimbus Labs"}, [chicago.id, dallas.id, new_york.id]),
        ({"customerName": "Quanta Devices"}, []),
        ({"companyName": "Digital Realty"}, []),
        ({"siteType": "public"}, [chicago.id, dallas.id, new_york.id]),
        ({"siteType": "private"}, []),
        ({"geographicAddress.id": dallas.location_id}, [dallas.id]),
        ({"streetNr": "60", "streetName": "Hudson St"}, [new_york.id]),
        ({"streetType": "Road", "city": "Chicago", "postcode": "60616"}, [chicago.id]),
        ({"country": "US", "city": "dallas"}, [dallas.id]),
        ({"country": "FR"}, []),
    ]
    for params, expected in expectations:
        response = await _list(client, flavour, customer, **params)
        assert response.status_code == 200, params
        assert _ids(response) == expected, params
        assert response.headers["X-Total-Count"] == str(len(expected))

    page = await _list(client, flavour, customer, offset=1, limit=1)
    assert _ids(page) == [dallas.id]
    assert (page.headers["X-Total-Count"], page.headers["X-Result-Count"]) == ("3", "1")
    beyond = await _list(client, flavour, customer, offset=5)
    assert (beyond.json(), beyond.headers["X-Total-Count"]) == ([], "3")


async def test_bad_queries_get_the_specs_error_bodies(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    await _site(session, customer, CHICAGO)
    for params, code in [
        ({"siteType": "castle"}, "invalidQuery"),
        ({"limit": "0"}, "invalidQuery"),
        ({"offset": "-1"}, "invalidQuery"),
        ({"limit": "many"}, "invalidQuery"),
        ({"city": ""}, "missingQueryValue"),
    ]:
        response = await _list(client, flavour, customer, **params)
        assert response.status_code == 400, params
        assert response.json()["code"] == code, params
    anonymous = await client.get(f"{BASES[flavour]}{LIST}")
    assert anonymous.status_code == 401
    check_response(flavour, API, LIST, "get", 401, anonymous.json())
    bad_key = await client.get(
        f"{BASES[flavour]}{LIST}/site_x", headers={"Authorization": "Bearer lumen_x_y"}
    )
    assert bad_key.status_code == 401
    check_response(flavour, API, ONE, "get", 401, bad_key.json())


async def test_unknown_and_other_parties_sites_are_not_found(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    theirs = await _site(session, other_customer, CHICAGO, name="Their POP")
    missing = await _get(client, flavour, customer, "site_missing")
    foreign = await _get(client, flavour, customer, theirs.id)
    assert missing.status_code == foreign.status_code == 404
    assert missing.json()["code"] == foreign.json()["code"] == "notFound"
    assert _ids(await _list(client, flavour, customer)) == []
    assert _ids(await _list(client, flavour, customer, city="Chicago")) == []
    # The owner still sees it as it was.
    kept = await _get(client, flavour, other_customer, theirs.id)
    assert (kept.status_code, kept.json()["name"]) == (200, "Their POP")


async def test_buyer_and_seller_ids(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    ops: Caller,
    flavour: str,
) -> None:
    mine = await _site(session, customer, CHICAGO)
    theirs = await _site(session, other_customer, DALLAS)
    agent = await make_caller(
        session,
        AUDIENCE_BY_FLAVOUR[flavour],
        name="Agent",
        acting_for=[customer.party_id, other_customer.party_id],
    )
    # Acting for several buyers, the agent must say which one (buyerId).
    unnamed = await _list(client, flavour, agent)
    assert (unnamed.status_code, unnamed.json()["code"]) == (400, "missingQueryParameter")
    for_me = await _list(client, flavour, agent, buyerId=customer.party_id)
    assert _ids(for_me) == [mine.id]
    named = await _get(client, flavour, agent, mine.id, buyerId=customer.party_id)
    assert named.status_code == 200
    other_buyer = await _get(client, flavour, agent, theirs.id, buyerId=customer.party_id)
    assert other_buyer.status_code == 404
    stranger = await _get(client, flavour, agent, mine.id, buyerId="pty_nobody")
    assert stranger.status_code == 404
    refused = await _list(client, flavour, agent, buyerId="pty_nobody")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbiddenRequester")
    seller = await _get(client, flavour, customer, mine.id, sellerId="acme")
    assert seller.status_code == 404
    # Operations staff see every party's sites, or one buyer's.
    assert set(_ids(await _list(client, flavour, ops))) == {mine.id, theirs.id}
    assert _ids(await _list(client, flavour, ops, buyerId=other_customer.party_id)) == [theirs.id]
