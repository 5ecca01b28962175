"""MEF 160 availability and pricing discovery on both flavours, checked against the official
files: what is offered where, and prices that a quote then gives."""

from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import catalog
from app.core.catalog import ProductKind
from rest_facades.mef.flavours import CANTATA, SONATA
from rest_facades.mef.products import product_types
from tests.factories import CHICAGO, LAS_VEGAS, NEW_YORK, Caller, location_id, make_product
from tests.rest_facades.mef.conformance import check_response

BASES = {
    "sonata": "/mefApi/sonata/productOfferingAvailabilityAndPricingDiscovery/v2",
    "cantata": "/mefApi/cantata/productOfferingAvailabilityAndPricingDiscovery/v2",
}
QUOTE_BASES = {
    "sonata": "/mefApi/sonata/quoteManagement/v8",
    "cantata": "/mefApi/cantata/quoteManagement/v2",
}
FLAVOURS = {"sonata": SONATA, "cantata": CANTATA}
API = "availability_and_pricing"
AVAILABILITY, PRICING = "/productOfferingAvailability", "/pricingDiscovery"


@pytest.fixture(params=sorted(BASES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs on Sonata and on Cantata."""
    name: str = request.param
    return name


def _spec(flavour: str, kind: ProductKind) -> dict[str, str]:
    return {"id": product_types(FLAVOURS[flavour])[kind]}


def _place(location: str) -> dict[str, str]:
    return {"@type": "GeographicAddressRef", "role": "INSTALL_LOCATION", "id": location}


async def _post(
    client: httpx.AsyncClient,
    flavour: str,
    caller: Caller,
    path: str,
    body: dict[str, Any],
    status: int = 200,
) -> Any:
    response = await client.post(f"{BASES[flavour]}{path}", headers=caller.headers, json=body)
    assert response.status_code == status, response.text
    check_response(flavour, API, path, "post", status, response.json())
    return response.json()


async def _line_places(session: AsyncSession) -> list[dict[str, str]]:
    return [
        _place(await location_id(session, CHICAGO)),
        _place(await location_id(session, NEW_YORK)),
    ]


async def test_a_line_between_two_places_is_offered_at_every_bandwidth_it_sells(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    places = await _line_places(session)
    body = {"action": "add", "productSpecification": _spec(flavour, ProductKind.ETHERNET_LINE)}
    answer = await _post(client, flavour, customer, AVAILABILITY, body | {"place": places})
    offered = answer["availableProductOfferingConfigurations"]
    line = await catalog.get_offering(session, "ethernet-line")
    assert len(offered) == len(line.bandwidths_mbps)
    assert {o["productOffering"]["id"] for o in offered} == {"ethernet-line"}
    kinds = {o["productConfiguration"]["@type"] for o in offered}
    assert kinds == {product_types(FLAVOURS[flavour])[ProductKind.ETHERNET_LINE]}
    assert all(o["installationInterval"]["units"] == "calendarDays" for o in offered)
    assert len({o["productConfigurationIdentifier"] for o in offered}) == len(offered)


@pytest.mark.usefixtures("partner_covers_off_net")
async def test_off_net_places_are_offered_only_what_partners_can_carry(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    body = {
        "action": "add",
        "productSpecification": _spec(flavour, ProductKind.INTERNET_ACCESS),
        "place": [_place(await location_id(session, LAS_VEGAS))],
    }
    offered = (await _post(client, flavour, customer, AVAILABILITY, body))[
        "availableProductOfferingConfigurations"
    ]
    assert offered
    # Off-net access stops at 10 Gbps: nothing faster is offered there.
    identifiers = [o["productConfigurationIdentifier"] for o in offered]
    assert all(int(i.split("~")[1]) <= 10000 for i in identifiers)


async def test_pricing_gives_every_term_at_the_price_a_quote_gives(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    places = await _line_places(session)
    offered = (
        await _post(
            client,
            flavour,
            customer,
            AVAILABILITY,
            {
                "action": "add",
                "productSpecification": _spec(flavour, ProductKind.ETHERNET_LINE),
                "place": places,
            },
        )
    )["availableProductOfferingConfigurations"]
    chosen = next(o for o in offered if o["productConfigurationIdentifier"].split("~")[1] == "1000")
    pricing = await _post(
        client,
        flavour,
        customer,
        PRICING,
        {
            "action": "add",
            "productConfigurationIdentifier": chosen["productConfigurationIdentifier"],
            "place": places,
        },
    )
    terms = {p["term"]["duration"]["amount"]: p for p in pricing["pricingAndTerms"]}
    assert sorted(terms) == [12, 24, 36, 60]
    monthly = {
        term: next(p for p in found["price"] if p["priceType"] == "recurring")["price"]
        for term, found in terms.items()
    }
    # Longer terms cost less a month.
    assert monthly[60]["dutyFreeAmount"]["value"] < monthly[12]["dutyFreeAmount"]["value"]

    quote = await client.post(
        f"{QUOTE_BASES[flavour]}/quote",
        headers=customer.headers,
        json={
            "instantSyncQuote": True,
            "buyerRequestedQuoteLevel": "firm",
            "quoteItem": [
                {
                    "id": "1",
                    "action": "add",
                    "product": {
                        "productConfiguration": chosen["productConfiguration"],
                        "place": places,
                    },
                    "requestedQuoteItemTerm": terms[36]["term"],
                }
            ],
        },
    )
    assert quote.status_code == 201, quote.text
    quoted = quote.json()["quoteItem"][0]["quoteItemPrice"]
    assert {p["priceType"]: p["price"] for p in quoted} == {
        p["priceType"]: p["price"] for p in terms[36]["price"]
    }


async def test_a_change_is_priced_for_the_buyers_product_without_installation(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    product = await make_product(session, customer)
    offered = (
        await _post(
            client,
            flavour,
            customer,
            AVAILABILITY,
            {"action": "modify", "productRef": {"id": product.id}},
        )
    )["availableProductOfferingConfigurations"]
    identifier = offered[-1]["productConfigurationIdentifier"]
    pricing = await _post(
        client,
        flavour,
        customer,
        PRICING,
        {
            "action": "modify",
            "productConfigurationIdentifier": identifier,
            "productRef": {"id": product.id},
        },
    )
    for found in pricing["pricingAndTerms"]:
        one_time = next(p for p in found["price"] if p["priceType"] == "nonRecurring")
        assert one_time["price"]["dutyFreeAmount"]["value"] == 0


async def test_another_buyers_product_and_site_are_not_found(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    theirs = await make_product(session, other_customer)
    refused = await _post(
        client,
        flavour,
        customer,
        AVAILABILITY,
        {"action": "modify", "productRef": {"id": theirs.id}},
        status=422,
    )
    assert refused == [
        {
            "code": "referenceNotFound",
            "reason": f"no product '{theirs.id}'",
            "propertyPath": "/productRef/id",
        }
    ]
    site = {"@type": "GeographicSiteRef", "role": "INSTALL_LOCATION", "id": theirs.a_site_id}
    refused = await _post(
        client,
        flavour,
        customer,
        AVAILABILITY,
        {
            "action": "add",
            "productSpecification": _spec(flavour, ProductKind.INTERNET_ACCESS),
            "place": [site],
        },
        status=422,
    )
    assert [e["propertyPath"] for e in refused] == ["/place/0/id"]


async def test_requests_that_break_the_rules_get_the_specs_errors(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    places = await _line_places(session)
    line = _spec(flavour, ProductKind.ETHERNET_LINE)
    cases: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
        ({"action": "add", "place": places}, [("missingProperty", "/productSpecification")]),
        (
            {"action": "add", "productSpecification": {"id": "urn:nothing"}, "place": places},
            [("referenceNotFound", "/productSpecification/id")],
        ),
        ({"action": "add", "productSpecification": line}, [("missingProperty", "/place")]),
        (
            {"action": "add", "productSpecification": line, "place": places[:1]},
            [("invalidValue", "/place")],
        ),
        (
            {"action": "modify", "productSpecification": line},
            [("unexpectedProperty", "/productSpecification"), ("missingProperty", "/productRef")],
        ),
        ({"action": "remove"}, [("invalidValue", "/action")]),
        ({}, [("missingProperty", "/action")]),
    ]
    for body, expected in cases:
        refused = await _post(client, flavour, customer, AVAILABILITY, body, status=422)
        assert [(e["code"], e["propertyPath"]) for e in refused] == expected, body
    refused = await _post(
        client,
        flavour,
        customer,
        PRICING,
        {"action": "add", "productConfigurationIdentifier": "nothing", "place": places},
        status=422,
    )
    assert [(e["code"], e["propertyPath"]) for e in refused] == [
        ("referenceNotFound", "/productConfigurationIdentifier")
    ]
    bad = await client.post(
        f"{BASES[flavour]}{AVAILABILITY}", headers=customer.headers, content=b"{not json"
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalidBody"
