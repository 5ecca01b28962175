"""MEF 87 Product Offering Qualification on both flavours, checked against the official files."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import geography
from app.core.catalog import ProductKind
from app.core.db import Database
from app.core.geography import AddressInput
from app.main import create_app
from app.settings import Settings
from rest_facades.mef.flavours import CANTATA, SONATA
from rest_facades.mef.products import product_types
from tests.factories import (
    CHICAGO,
    DALLAS,
    LAS_VEGAS,
    NEW_YORK,
    Caller,
    location_id,
    make_caller,
    make_product,
)
from tests.rest_facades.mef.configurations import minimal_configuration
from tests.rest_facades.mef.conformance import check_response
from tests.rest_facades.mef.conftest import AUDIENCE_BY_FLAVOUR
from tests.rest_facades.mef.notifications import check_event

BASES = {
    "sonata": "/mefApi/sonata/productOfferingQualification/v7",
    "cantata": "/mefApi/cantata/productOfferingQualification/v1",
}
API = "product_offering_qualification"
FLAVOURS = {"sonata": SONATA, "cantata": CANTATA}
ITEMS = "productOfferingQualificationItem"
BUYER_CONTACT = {
    "role": "buyerContactInformation",
    "name": "Ada Buyer",
    "emailAddress": "ada@buyer.example",
    "number": "+1 312 555 0100",
}


@pytest.fixture(params=sorted(BASES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs on Sonata and on Cantata."""
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """One application for the module (building one costs more than most of these tests)."""
    return create_app(Settings(database_url="sqlite://", environment="test"), run_workers=False)


@pytest.fixture
async def client(app: FastAPI, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """Like the suite's `client` (the real ASGI app, workers off), on the module's one app."""
    app.state.database = database
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def configuration(flavour: str, kind: str, gbps: float | None = None) -> dict[str, Any]:
    """A valid configuration of a line, a port or internet access, with a CIR if asked."""
    type_id = product_types(FLAVOURS[flavour])[ProductKind(kind)]
    built = minimal_configuration(type_id)
    if gbps is not None and kind == "ethernet_line":
        cir = {"irValue": gbps, "irUnits": "GBPS"}
        if flavour == "sonata":
            built["uniEp"] = {"egressBandwidthProfilePerEndPoint": [{"cir": cir}]}
        else:
            built["evcEndPointA"] = {
                "ingressBandwidthProfilePerClassofServiceName": [{"bwpFlow": {"cir": cir}}]
            }
    return built


def address_ref(location: str) -> dict[str, Any]:
    """A place by its address-book id, as MEF 121 returns it."""
    return {"@type": "GeographicAddressRef", "role": "INSTALL_LOCATION", "id": location}


def item(
    item_id: str, product: dict[str, Any], action: str = "add", **extra: Any
) -> dict[str, Any]:
    """One POQ item."""
    return {"id": item_id, "action": action, "product": product, **extra}


def poq(*items: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A POQ request answered at once."""
    return {
        "instantSyncQualification": True,
        "relatedContactInformation": [BUYER_CONTACT],
        ITEMS: list(items),
        **top,
    }


async def line(
    session: AsyncSession,
    flavour: str,
    a: str = CHICAGO,
    z: str = NEW_YORK,
    gbps: float | None = None,
) -> dict[str, Any]:
    """A line's product between two known addresses."""
    return {
        "productConfiguration": configuration(flavour, "ethernet_line", gbps),
        "place": [
            address_ref(await location_id(session, a)),
            address_ref(await location_id(session, z)),
        ],
    }


async def post(
    client: httpx.AsyncClient, flavour: str, caller: Caller, body: Any, status: int = 201
) -> Any:
    """POST a POQ, check the answer against the official file and return its body."""
    response = await client.post(
        f"{BASES[flavour]}/productOfferingQualification", headers=caller.headers, json=body
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    check_response(flavour, API, "/productOfferingQualification", "post", status, response.json())
    return response.json()


async def get(
    client: httpx.AsyncClient, flavour: str, caller: Caller, poq_id: str, status: int = 200
) -> Any:
    """GET a POQ by id, checked against the official file."""
    response = await client.get(
        f"{BASES[flavour]}/productOfferingQualification/{poq_id}", headers=caller.headers
    )
    assert response.status_code == status, response.text
    check_response(
        flavour, API, "/productOfferingQualification/{id}", "get", status, response.json()
    )
    return response.json()


async def find(
    client: httpx.AsyncClient,
    flavour: str,
    caller: Caller,
    query: dict[str, Any] | None = None,
    *,
    status: int = 200,
    **params: Any,
) -> httpx.Response:
    """GET the POQ list, checked against the official file."""
    response = await client.get(
        f"{BASES[flavour]}/productOfferingQualification",
        headers=caller.headers,
        params={**(query or {}), **params},
    )
    assert response.status_code == status, response.text
    check_response(flavour, API, "/productOfferingQualification", "get", status, response.json())
    return response


def problems(body: Any) -> set[tuple[str, str]]:
    """The (code, propertyPath) pairs of an Error422 list."""
    return {(e["code"], e["propertyPath"]) for e in body}


async def test_a_poq_is_answered_at_once_with_each_item_s_confidence(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    internet = {
        "productOffering": {"id": "internet-access"},
        "productConfiguration": configuration(flavour, "internet_access"),
        "place": [
            {
                "@type": "FieldedAddress",
                "role": "INSTALL_LOCATION",
                "streetNr": "600",
                "streetName": "W 7th St",
                "city": "Los Angeles",
                "stateOrProvince": "CA",
                "postcode": "90017",
                "country": "US",
            }
        ],
    }
    sent = poq(
        item("1", await line(session, flavour)),
        item("2", internet),
        externalId="my-poq",
        projectId="rollout",
    )
    answer = await post(client, flavour, customer, sent)
    assert answer["state"] == "done.ready"
    assert answer["href"].endswith(f"{BASES[flavour]}/productOfferingQualification/{answer['id']}")
    assert (answer["externalId"], answer["projectId"]) == ("my-poq", "rollout")
    roles = [c["role"] for c in answer["relatedContactInformation"]]
    assert roles == ["buyerContactInformation", "sellerContactInformation"]
    first, second = answer[ITEMS]
    assert (first["id"], first["state"], first["serviceabilityConfidence"]) == (
        "1",
        "done.ready",
        "green",
    )
    assert first["installationInterval"] == {"amount": 20, "units": "calendarDays"}
    assert (
        first["product"]["productConfiguration"]
        == sent[ITEMS][0]["product"]["productConfiguration"]
    )
    assert first["product"]["place"] == sent[ITEMS][0]["product"]["place"]
    assert (second["id"], second["serviceabilityConfidence"]) == ("2", "yellow")
    assert second["installationInterval"]["amount"] == 45
    assert second["product"]["place"][0]["city"] == "Los Angeles"
    assert [c["state"] for c in answer["stateChange"]] == ["done.ready"]

    assert await get(client, flavour, customer, answer["id"]) == answer
    listed = await find(client, flavour, customer)
    assert listed.headers["X-Total-Count"] == listed.headers["X-Result-Count"] == "1"
    assert listed.json() == [
        {"id": answer["id"], "externalId": "my-poq", "projectId": "rollout", "state": "done.ready"}
    ]


@pytest.mark.usefixtures("partner_covers_off_net")
async def test_a_red_item_gets_a_slower_alternative_when_asked(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    product = await line(session, flavour, a=LAS_VEGAS, z=CHICAGO, gbps=20)
    answer = await post(client, flavour, customer, poq(item("a", product), provideAlternative=True))
    assert answer["state"] == "done.unableToProvide"
    red = answer[ITEMS][0]
    assert red["serviceabilityConfidence"] == "red"
    assert "installationInterval" not in red
    assert "10000 Mbps" in red["serviceabilityConfidenceReason"]
    (proposal,) = red["alternateProductOfferingProposal"]
    alternative = proposal["alternateProduct"]["productConfiguration"]
    assert alternative["@type"] == product["productConfiguration"]["@type"]
    assert '"irValue": 10000' in str(alternative).replace("'", '"')
    assert proposal["installationInterval"] == {"amount": 60, "units": "calendarDays"}

    plain = await post(client, flavour, customer, poq(item("a", product)))
    assert "alternateProductOfferingProposal" not in plain[ITEMS][0]


async def test_sites_and_existing_products_are_qualified(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    site = await geography.create_site(
        session, principal=customer.principal, address=AddressInput(text=DALLAS)
    )
    theirs = await geography.create_site(
        session, principal=other_customer.principal, address=AddressInput(text=DALLAS)
    )
    port = {"productConfiguration": configuration(flavour, "ethernet_port")}
    site_ref = {"@type": "GeographicSiteRef", "role": "INSTALL_LOCATION", "id": site.id}
    at_site = {**port, "place": [site_ref]}
    answer = await post(client, flavour, customer, poq(item("1", at_site)))
    assert answer[ITEMS][0]["serviceabilityConfidence"] == "green"
    assert answer[ITEMS][0]["product"]["place"][0]["id"] == site.id

    at_their_site = {**port, "place": [{**site_ref, "id": theirs.id}]}
    refused = await post(client, flavour, customer, poq(item("1", at_their_site)), status=422)
    assert problems(refused) == {
        ("referenceNotFound", f"/{ITEMS}/0/product/place/0/id"),
    }

    mine = await make_product(session, customer)
    other = await make_product(session, other_customer)
    change = {"id": mine.id, "productConfiguration": configuration(flavour, "ethernet_line", 2)}
    existing = await post(
        client,
        flavour,
        customer,
        poq(item("m", change, "modify"), item("d", {"id": mine.id}, "delete")),
    )
    modified, deleted = existing[ITEMS]
    assert (modified["action"], modified["product"]["id"]) == ("modify", mine.id)
    assert modified["product"]["productConfiguration"] == change["productConfiguration"]
    assert (deleted["action"], deleted["serviceabilityConfidence"]) == ("delete", "green")
    assert "productConfiguration" not in deleted["product"]

    not_mine = await post(
        client, flavour, customer, poq(item("d", {"id": other.id}, "delete")), status=422
    )
    assert problems(not_mine) == {("referenceNotFound", f"/{ITEMS}/0/product/id")}


async def test_requests_that_break_the_spec_get_its_error_bodies_and_change_nothing(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    product = await line(session, flavour)
    no_contacts = poq(item("1", product))
    del no_contacts["relatedContactInformation"]
    assert problems(await post(client, flavour, customer, no_contacts, 422)) == {
        ("missingProperty", "/relatedContactInformation")
    }
    wrong_contact = poq(
        item("1", product), relatedContactInformation=[{**BUYER_CONTACT, "role": "somebody"}]
    )
    deferred = poq(item("1", product), instantSyncQualification=False)
    assert problems(await post(client, flavour, customer, wrong_contact, 422)) == {
        ("missingProperty", "/relatedContactInformation")
    }
    assert problems(await post(client, flavour, customer, deferred, 422)) == {
        ("missingProperty", "/requestedPOQCompletionDate")
    }
    unknown_type = {**product, "productConfiguration": {"@type": "urn:castle"}}
    end = "uniEp" if flavour == "sonata" else "evcEndPointA"
    bad_value = {**product, "productConfiguration": {**product["productConfiguration"], end: 5}}
    too_slow = await line(session, flavour, gbps=0.03)
    one_end = {**product, "place": product["place"][:1]}
    odd_place = {**product, "place": [{"@type": "Castle", "role": "x"}, product["place"][1]]}
    no_city = {
        **product,
        "place": [
            {"@type": "FieldedAddress", "role": "x", "streetName": "Main", "country": "US"},
            product["place"][1],
        ],
    }
    unknown_offering = {**product, "productOffering": {"id": "teleport"}}
    unknown_address = {**product, "place": [address_ref("loc_nope"), product["place"][1]]}
    answer = await post(
        client,
        flavour,
        customer,
        poq(
            item("0", unknown_type),
            item("1", too_slow),
            item("2", one_end),
            item("3", unknown_offering),
            item("4", unknown_address),
            item("5", {"place": product["place"]}),
        ),
        422,
    )
    assert problems(answer) == {
        ("invalidValue", f"/{ITEMS}/0/product/productConfiguration/@type"),
        ("missingProperty", f"/{ITEMS}/2/product/place"),
        ("referenceNotFound", f"/{ITEMS}/3/product/productOffering/id"),
        ("referenceNotFound", f"/{ITEMS}/4/product/place/0/id"),
        ("missingProperty", f"/{ITEMS}/5/product/productConfiguration"),
    }
    # Places that break the schema are refused before anything is looked up.
    places = await post(
        client, flavour, customer, poq(item("0", odd_place), item("1", no_city)), 422
    )
    assert problems(places) == {
        ("invalidValue", f"/{ITEMS}/0/product/place/0/@type"),
        ("missingProperty", f"/{ITEMS}/1/product/place/0/city"),
    }
    # The core refuses the speed once the request is otherwise sound.
    slow = await post(client, flavour, customer, poq(item("1", too_slow)), 422)
    assert problems(slow) == {("invalidValue", f"/{ITEMS}/0/product/productConfiguration")}
    schema = await post(client, flavour, customer, poq(item("1", bad_value)), 422)
    assert problems(schema) == {("invalidValue", f"/{ITEMS}/0/product/productConfiguration/{end}")}
    missing_action = poq({"id": "1", "product": product})
    assert problems(await post(client, flavour, customer, missing_action, 422)) == {
        ("missingProperty", f"/{ITEMS}/0/action")
    }
    duplicate = poq(item("1", product), item("1", product))
    assert problems(await post(client, flavour, customer, duplicate, 422)) == {
        ("invalidValue", f"/{ITEMS}")
    }
    not_json = await client.post(
        f"{BASES[flavour]}/productOfferingQualification",
        headers=customer.headers,
        content=b"{oops",
    )
    assert not_json.status_code == 400
    check_response(flavour, API, "/productOfferingQualification", "post", 400, not_json.json())
    nobody = await client.post(f"{BASES[flavour]}/productOfferingQualification", json={})
    assert nobody.status_code == 401
    check_response(flavour, API, "/productOfferingQualification", "post", 401, nobody.json())
    assert (await find(client, flavour, customer)).headers["X-Total-Count"] == "0"


async def test_lists_filter_and_page(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    product = await line(session, flavour)
    made = []
    for n in range(3):
        made.append(
            await post(
                client,
                flavour,
                customer,
                poq(
                    item("1", product),
                    externalId=f"ext-{n}",
                    projectId="even" if n % 2 == 0 else "odd",
                    requestedPOQCompletionDate=f"2031-0{n + 1}-15T00:00:00Z",
                ),
            )
        )
    page = await find(client, flavour, customer, offset=1, limit=1)
    assert (page.headers["X-Total-Count"], page.headers["X-Result-Count"]) == ("3", "1")
    assert page.json()[0]["id"] == made[1]["id"]
    assert page.json()[0]["requestedPOQCompletionDate"] == "2031-02-15"
    assert [
        p["externalId"] for p in (await find(client, flavour, customer, projectId="even")).json()
    ] == [
        "ext-2",
        "ext-0",
    ]
    assert [
        p["id"] for p in (await find(client, flavour, customer, externalId="ext-1")).json()
    ] == [made[1]["id"]]
    after = await find(
        client, flavour, customer, {"requestedPOQCompletionDate.gt": "2031-01-31T00:00:00Z"}
    )
    assert after.headers["X-Total-Count"] == "2"
    assert (await find(client, flavour, customer, state="done.ready")).headers[
        "X-Total-Count"
    ] == "3"
    assert (await find(client, flavour, customer, state="inProgress")).json() == []
    bad_state = await find(client, flavour, customer, status=400, state="done_ready")
    assert bad_state.json()["code"] == "invalidQuery"
    assert (await find(client, flavour, customer, status=400, limit=0)).json()[
        "code"
    ] == "invalidQuery"


async def test_another_party_s_poqs_do_not_exist_for_the_caller(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    theirs = await post(
        client, flavour, other_customer, poq(item("1", await line(session, flavour)))
    )
    refused = await get(client, flavour, customer, theirs["id"], status=404)
    assert refused["code"] == "notFound"
    assert (await get(client, flavour, customer, "poq_nope", status=404))["code"] == "notFound"
    assert (await find(client, flavour, customer)).json() == []
    assert await get(client, flavour, other_customer, theirs["id"]) == theirs
    # An agent asks for the buyer it names; the POQ is the buyer's.
    agent = await make_caller(
        session, AUDIENCE_BY_FLAVOUR[flavour], name="Agent", acting_for=[customer.party_id]
    )
    url = f"{BASES[flavour]}/productOfferingQualification"
    placed = await client.post(
        url,
        headers=agent.headers,
        params={"buyerId": customer.party_id},
        json=poq(item("1", await line(session, flavour))),
    )
    assert placed.status_code == 201
    check_response(flavour, API, "/productOfferingQualification", "post", 201, placed.json())
    assert (await get(client, flavour, customer, placed.json()["id"]))["id"] == placed.json()["id"]
    unnamed = await client.post(url, headers=agent.headers, json=poq(item("1", {})))
    assert unnamed.status_code == 400
    check_response(flavour, API, "/productOfferingQualification", "post", 400, unnamed.json())


async def test_listeners_hear_of_new_poqs(
    settings: Settings,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app(settings, run_workers=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        hub = await client.post(
            f"{BASES[flavour]}/hub",
            headers=customer.headers,
            json={"callback": "https://buyer.example/hooks", "query": "eventType=poqCreateEvent"},
        )
        assert hub.status_code == 201
        check_response(flavour, API, "/hub", "post", 201, hub.json())
        stranger = await client.post(
            f"{BASES[flavour]}/hub",
            headers=other_customer.headers,
            json={"callback": "https://stranger.example/hooks"},
        )
        assert stranger.status_code == 201
        created = await post(
            client, flavour, customer, poq(item("1", await line(session, flavour)))
        )
        sent: list[tuple[str, Any]] = []

        async def deliver(_client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
            sent.append((url, json.loads(kwargs["content"])))
            return httpx.Response(204, request=httpx.Request("POST", url))

        monkeypatch.setattr(httpx.AsyncClient, "post", deliver)
        await app.state.dispatcher.run_once()
        monkeypatch.undo()
        version = "v7" if flavour == "sonata" else "v1"
        ((url, body),) = sent
        assert url == (
            "https://buyer.example/hooks/mefApi/"
            f"{flavour}/productOfferingQualificationNotification/{version}/listener/poqCreateEvent"
        )
        check_event(flavour, f"{API}_notification", "poqCreateEvent", body)
        assert body["eventType"] == "poqCreateEvent"
        assert body["event"]["id"] == created["id"]

        gone = await client.delete(
            f"{BASES[flavour]}/hub/{hub.json()['id']}", headers=customer.headers
        )
        assert gone.status_code == 204
        again = await client.delete(
            f"{BASES[flavour]}/hub/{hub.json()['id']}", headers=customer.headers
        )
        assert again.status_code == 404
        check_response(flavour, API, "/hub/{id}", "delete", 404, again.json())
    await app.state.database.dispose()
