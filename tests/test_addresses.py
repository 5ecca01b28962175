"""Any US street address, on every face: a table of real-looking addresses validated through
GraphQL, MEF 121 (Sonata and Cantata) and TMF673; a validated address becomes a place that its
party refers to by id afterwards (and no other party can); near-net places are priced with a
build charge, off-net places that no partner serves are not priced at all."""

from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import postal
from app.core.catalog import ProductKind
from rest_facades.mef.flavours import SONATA
from rest_facades.mef.products import product_types
from tests.factories import Caller, make_caller
from tests.graphql.conftest import Post, data
from tests.rest_facades.mef.conformance import check_response as check_mef
from tests.rest_facades.tmf.conformance import check_response as check_tmf

MEF_121 = {
    "sonata": "/mefApi/sonata/geographicAddressManagement/v7",
    "cantata": "/mefApi/cantata/geographicAddressManagement/v1",
}
MEF_PRICING = "/mefApi/sonata/productOfferingAvailabilityAndPricingDiscovery/v2"
TMF_673 = "/tmf-api/geographicAddressManagement/v4"
TMF_674 = "/tmf-api/geographicSiteManagement/v4"

# (street, city, state, ZIP) as a buyer types them; the outcome, in MEF's words.
TABLE = [
    (("1 Main St", "Springfield", "IL", "62701"), "success"),
    (("500 Boylston Street", "Boston", "MA", "02116"), "success"),
    (("2200 Post Oak Blvd", "Houston", "TX", "77056"), "success"),
    (("100 N Tryon St", "Charlotte", "NC", "28202"), "success"),
    # Misspelt city, right ZIP code: read as the ZIP code's city.
    (("120 Congress St", "Portlnd", "ME", "04101"), "success"),
    # City and ZIP code disagree, or the ZIP code is wrong: the alternatives say which.
    (("1 Main St", "Chicago", "IL", "62701"), "partial"),
    (("400 Broad St", "Seattle", "WA", "99999"), "partial"),
    (("PO Box 123", "Austin", "TX", "78701"), "fail"),
    (("Main Street", "Springfield", "IL", "62701"), "fail"),
]
GRAPHQL_RESULTS = {"success": "SUCCESS", "partial": "PARTIAL", "fail": "FAIL"}
TMF_RESULTS = {"success": "success", "partial": "partial", "fail": "fails"}

VALIDATE = """
mutation Validate($input: AddressInput!) {
  validateAddress(input: $input) {
    result
    place { id precision address { line } serviceability { level distanceKm } }
    alternatives { id address { line } }
    reasons { code message }
    userErrors { field code message }
  }
}
"""
BUY = """
mutation Buy($input: OrderConnectionInput!) {
  orderConnection(input: $input) {
    price { monthlyRecurring oneTime }
    serviceability leadTimeDays dryRun
    aEnd { id precision }
    userErrors { field code message alternatives }
  }
}
"""
PRICE = """
query Price($input: ProductInput!) {
  price(input: $input) {
    price { monthlyRecurring oneTime }
    serviceability leadTimeDays
    userErrors { code message alternatives }
  }
}
"""
SEEDED_ON_NET = "60 Hudson St, New York, NY 10013"
NEAR_NET = "500 Boylston Street, Boston, MA 02116"
OFF_NET = "1 Main St, Springfield, IL 62701"


@pytest.fixture(scope="module", autouse=True)
def _zip_database() -> None:
    postal.load()


@pytest.fixture
def gql(client: httpx.AsyncClient) -> Post:
    """POST /graphql as a caller and return the JSON answer."""

    async def post(
        query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None = None
    ) -> dict[str, Any]:
        headers = caller.headers if caller else {}
        body = {"query": query, "variables": variables or {}}
        answer: dict[str, Any] = (await client.post("/graphql", json=body, headers=headers)).json()
        return answer

    return post


def _text(parts: tuple[str, str, str, str]) -> str:
    street, city, state, postcode = parts
    return f"{street}, {city}, {state} {postcode}"


async def _graphql_validate(gql: Post, caller: Caller, address: str) -> dict[str, Any]:
    answer = await gql(VALIDATE, {"input": {"address": address}}, caller=caller)
    found: dict[str, Any] = data(answer)["validateAddress"]
    return found


async def _mef_validate(
    client: httpx.AsyncClient, flavour: str, caller: Caller, address: dict[str, Any]
) -> httpx.Response:
    response = await client.post(
        f"{MEF_121[flavour]}/geographicAddressValidation",
        headers=caller.headers,
        json={"provideAlternative": True, "submittedGeographicAddress": address},
    )
    check_mef(
        flavour,
        "geographic_address",
        "/geographicAddressValidation",
        "post",
        response.status_code,
        response.json(),
    )
    return response


async def _tmf_validate(
    client: httpx.AsyncClient, caller: Caller, address: dict[str, Any]
) -> httpx.Response:
    response = await client.post(
        f"{TMF_673}/geographicAddressValidation",
        headers=caller.headers,
        json={"provideAlternative": True, "submittedGeographicAddress": address},
    )
    check_tmf(
        "TMF673-GeographicAddress-v4",
        "/geographicAddressValidation",
        "post",
        response.status_code,
        response.json(),
    )
    return response


async def test_the_table_of_addresses_validates_alike_on_every_face(
    client: httpx.AsyncClient,
    gql: Post,
    developer: Caller,
    carrier: Caller,
    other_carrier: Caller,
    session: AsyncSession,
) -> None:
    enterprise = await make_caller(session, "enterprise", name="Harbor Freight Lines")
    for row, (parts, outcome) in enumerate(TABLE):
        street, city, state, postcode = parts
        # Sonata for a carrier and Cantata for an enterprise, row by row.
        flavour, mef_caller = ("sonata", carrier) if row % 2 else ("cantata", enterprise)
        native = await _graphql_validate(gql, developer, _text(parts))
        assert native["result"] == GRAPHQL_RESULTS[outcome], (parts, native)
        assert native["userErrors"] == []
        assert (native["place"] is not None) == (outcome == "success")
        assert bool(native["alternatives"]) == (outcome == "partial"), parts
        if outcome != "success":
            assert native["reasons"], parts

        mef = await _mef_validate(
            client,
            flavour,
            mef_caller,
            {
                "@type": "FieldedAddress",
                "streetNr": street.split(" ", 1)[0],
                "streetName": street.split(" ", 1)[1],
                "city": city,
                "stateOrProvince": state,
                "postcode": postcode,
                "country": "US",
            },
        )
        assert mef.status_code == 200, mef.text
        assert mef.json()["validationResult"] == outcome, (parts, mef.json())

        tmf = await _tmf_validate(
            client,
            other_carrier,
            {"streetName": street, "city": city, "stateOrProvince": state, "postcode": postcode},
        )
        assert tmf.status_code == 201, tmf.text
        assert tmf.json()["validationResult"] == TMF_RESULTS[outcome], (parts, tmf.json())
        if outcome == "success":
            # The same normalised address on every face, geocoded to its ZIP code's centroid.
            line = native["place"]["address"]["line"]
            assert mef.json()["bestMatchGeographicAddress"]["postcode"] == line[-5:]
            valid = tmf.json()["validGeographicAddress"]
            assert f"{valid['streetNr']} {valid['streetName']}, {valid['city']}" in line
            assert native["place"]["precision"] == "ZIP_CENTROID"


async def test_bad_and_hostile_addresses_get_a_clear_answer_on_every_face(
    client: httpx.AsyncClient, gql: Post, developer: Caller, carrier: Caller
) -> None:
    empty = await _graphql_validate(gql, developer, "   ")
    assert [(e["field"], e["code"]) for e in empty["userErrors"]] == [
        ("address", "INVALID_REQUEST")
    ]
    too_long = await _graphql_validate(gql, developer, "1 Main St, Springfield, IL " * 40)
    assert [e["code"] for e in too_long["userErrors"]] == ["TEXT_TOO_LONG"]
    long_enough = await _graphql_validate(gql, developer, "1 Main St, Springfield, IL " * 10)
    assert [r["code"] for r in long_enough["reasons"]] == ["TOO_LONG"]
    foreign = await _graphql_validate(gql, developer, "10 Downing Street, London SW1A 2AA, UK")
    assert (foreign["result"], foreign["place"]) == ("FAIL", None)

    for flavour in ("sonata",):
        non_us = await _mef_validate(
            client,
            flavour,
            carrier,
            {
                "@type": "FormattedAddress",
                "addrLine1": "10 Downing Street",
                "city": "London",
                "postcode": "SW1A 2AA",
                "country": "GB",
            },
        )
        assert non_us.json()["validationResult"] == "fail"
        huge = await _mef_validate(
            client,
            flavour,
            carrier,
            {
                "@type": "FormattedAddress",
                "addrLine1": "1 Main St " * 100,
                "city": "X",
                "country": "US",
            },
        )
        assert huge.status_code in (400, 422), huge.text
    tmf_empty = await _tmf_validate(client, carrier, {"city": ""})
    assert tmf_empty.status_code == 400


async def test_a_validated_address_is_a_place_its_party_uses_by_id_on_every_face(
    client: httpx.AsyncClient,
    gql: Post,
    developer: Caller,
    other_developer: Caller,
    carrier: Caller,
    other_carrier: Caller,
) -> None:
    # GraphQL: validate, then order between a seeded building and the place, by its id.
    place = (await _graphql_validate(gql, developer, NEAR_NET))["place"]
    assert place["serviceability"]["level"] == "NEAR_NET"
    dry_run = {
        "aEnd": {"address": SEEDED_ON_NET},
        "zEnd": {"placeId": place["id"]},
        "bandwidthMbps": 1000,
        "termMonths": 36,
        "dryRun": True,
    }
    bought = data(await gql(BUY, {"input": dry_run}, caller=developer))["orderConnection"]
    assert bought["userErrors"] == []
    assert bought["serviceability"] == "NEAR_NET"
    assert bought["leadTimeDays"] == 45
    # The installation is waived on a three-year term; the build charge of near-net is not.
    assert float(bought["price"]["oneTime"]) == 2500
    # Another party cannot use it.
    theirs = data(await gql(BUY, {"input": dry_run}, caller=other_developer))["orderConnection"]
    assert [e["code"] for e in theirs["userErrors"]] == ["NOT_FOUND"]
    node = await gql(
        "query($id: ID!) { node(id: $id) { id } }", {"id": place["id"]}, caller=other_developer
    )
    assert data(node)["node"] is None

    # MEF 121 and then MEF pricing at the place, by its id.
    validated = await _mef_validate(
        client,
        "sonata",
        carrier,
        {
            "@type": "FormattedAddress",
            "addrLine1": "500 Boylston Street",
            "city": "Boston",
            "stateOrProvince": "MA",
            "postcode": "02116",
            "country": "US",
        },
    )
    place_id = validated.json()["bestMatchGeographicAddress"]["id"]
    fetched = await client.get(
        f"{MEF_121['sonata']}/geographicAddress/{place_id}", headers=carrier.headers
    )
    assert fetched.status_code == 200
    hidden = await client.get(
        f"{MEF_121['sonata']}/geographicAddress/{place_id}", headers=other_carrier.headers
    )
    assert hidden.status_code == 404
    ask = {
        "action": "add",
        "productSpecification": {"id": product_types(SONATA)[ProductKind.INTERNET_ACCESS]},
        "place": [{"@type": "GeographicAddressRef", "role": "INSTALL_LOCATION", "id": place_id}],
    }
    offered = await client.post(
        f"{MEF_PRICING}/productOfferingAvailability", headers=carrier.headers, json=ask
    )
    assert offered.status_code == 200, offered.text
    configurations = offered.json()["availableProductOfferingConfigurations"]
    assert configurations
    # Near-net: built by us, so it takes longer.
    assert {c["installationInterval"]["amount"] for c in configurations} == {45}
    refused = await client.post(
        f"{MEF_PRICING}/productOfferingAvailability", headers=other_carrier.headers, json=ask
    )
    assert refused.status_code == 422, refused.text
    assert "no address" in refused.text

    # TMF673 and then a TMF674 site at the place, by its id.
    tmf = await _tmf_validate(
        client,
        carrier,
        {
            "streetName": "500 Boylston Street",
            "city": "Boston",
            "stateOrProvince": "MA",
            "postcode": "02116",
        },
    )
    tmf_place = tmf.json()["validGeographicAddress"]["id"]
    assert tmf_place == place_id
    site = await client.post(
        f"{TMF_674}/geographicSite",
        headers=carrier.headers,
        json={"name": "Boston office", "place": [{"id": tmf_place}]},
    )
    assert site.status_code == 201, site.text
    assert site.json()["place"][0]["postcode"] == "02116"
    other_site = await client.post(
        f"{TMF_674}/geographicSite",
        headers=other_carrier.headers,
        json={"name": "Not theirs", "place": [{"id": tmf_place}]},
    )
    # As for an id that does not exist.
    assert other_site.status_code == 400, other_site.text
    assert f"no address '{tmf_place}'" in other_site.text
    # The site is the carrier's on MEF 122 too, at the place the MEF 121 validation named.
    mef_sites = await client.get(
        "/mefApi/sonata/geographicSiteManagement/v7/geographicSite", headers=carrier.headers
    )
    assert mef_sites.status_code == 200, mef_sites.text
    [mef_site] = mef_sites.json()
    assert mef_site["place"][0]["id"] == place_id
    assert mef_site["place"][0]["streetName"] == "BOYLSTON ST"
    listed = await client.get(f"{TMF_673}/geographicAddress/{tmf_place}", headers=carrier.headers)
    assert listed.status_code == 200
    assert listed.json()["postcode"] == "02116"
    unseen = await client.get(
        f"{TMF_673}/geographicAddress/{tmf_place}", headers=other_carrier.headers
    )
    assert unseen.status_code == 404


async def test_an_off_net_place_no_partner_serves_gets_no_price_but_the_nearest_buildings(
    gql: Post, developer: Caller
) -> None:
    asked = {
        "aEnd": {"address": SEEDED_ON_NET},
        "zEnd": {"address": OFF_NET},
        "bandwidthMbps": 1000,
        "termMonths": 12,
        "dryRun": True,
    }
    bought = data(await gql(BUY, {"input": asked}, caller=developer))["orderConnection"]
    assert bought["price"] is None
    [refusal] = bought["userErrors"]
    assert (refusal["code"], refusal["field"]) == ("NOT_SERVICEABLE", "zEnd")
    why, *nearest = refusal["alternatives"]
    assert "1 MAIN ST, SPRINGFIELD, IL 62701 is off our network" in why
    assert nearest
    assert all("nearest" in a for a in nearest)
    product = {
        "product": "ETHERNET_LINE",
        "aEnd": {"address": SEEDED_ON_NET},
        "zEnd": {"address": OFF_NET},
        "bandwidthMbps": 1000,
        "termMonths": 12,
    }
    # The public price answers alike, without storing the address for anyone.
    priced = data(await gql(PRICE, {"input": product}))["price"]
    assert (priced["price"], priced["serviceability"]) == (None, None)
    assert [e["code"] for e in priced["userErrors"]] == ["NOT_SERVICEABLE"]
    near = data(await gql(PRICE, {"input": product | {"zEnd": {"address": NEAR_NET}}}))["price"]
    assert (near["serviceability"], near["leadTimeDays"]) == ("NEAR_NET", 45)
    on_net = product | {"zEnd": {"address": "1 Summer St, Boston, MA 02110"}}
    direct = data(await gql(PRICE, {"input": on_net}))["price"]
    assert direct["serviceability"] == "ON_NET"
    assert float(near["price"]["monthlyRecurring"]) > float(direct["price"]["monthlyRecurring"])
    assert float(near["price"]["oneTime"]) > float(direct["price"]["oneTime"])
