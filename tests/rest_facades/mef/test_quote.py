"""MEF 115 Quote on both flavours, checked against the official files."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import quoting
from app.core.catalog import ProductKind
from app.core.db import Database
from app.main import create_app
from app.settings import Settings
from rest_facades.mef.flavours import CANTATA, SONATA
from rest_facades.mef.products import product_types
from tests.factories import CHICAGO, LA_NEAR_NET, LAS_VEGAS, NEW_YORK, Caller, location_id
from tests.rest_facades.mef.configurations import minimal_configuration
from tests.rest_facades.mef.conformance import check_response
from tests.rest_facades.mef.notifications import check_event

BASES = {
    "sonata": "/mefApi/sonata/quoteManagement/v8",
    "cantata": "/mefApi/cantata/quoteManagement/v2",
}
POQ_BASES = {
    "sonata": "/mefApi/sonata/productOfferingQualification/v7",
    "cantata": "/mefApi/cantata/productOfferingQualification/v1",
}
API = "quote"
FLAVOURS = {"sonata": SONATA, "cantata": CANTATA}


def contact(role: str) -> dict[str, Any]:
    """A contact of the buyer in a given role."""
    return {"role": role, "name": "Ada", "emailAddress": "ada@buyer.example", "number": "+1 555"}


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


def line_configuration(flavour: str, gbps: float | None = None) -> dict[str, Any]:
    """A valid line configuration, with a CIR if asked."""
    built = minimal_configuration(product_types(FLAVOURS[flavour])[ProductKind.ETHERNET_LINE])
    if gbps is not None:
        cir = {"irValue": gbps, "irUnits": "GBPS"}
        if flavour == "sonata":
            built["uniEp"] = {"egressBandwidthProfilePerEndPoint": [{"cir": cir}]}
        else:
            built["evcEndPointA"] = {
                "ingressBandwidthProfilePerClassofServiceName": [{"bwpFlow": {"cir": cir}}]
            }
    return built


def address_ref(location: str) -> dict[str, Any]:
    """A place by its address-book id."""
    return {"@type": "GeographicAddressRef", "role": "INSTALL_LOCATION", "id": location}


async def line(
    session: AsyncSession,
    flavour: str,
    a: str = CHICAGO,
    z: str = NEW_YORK,
    gbps: float | None = None,
) -> dict[str, Any]:
    """A line's product between two known addresses."""
    return {
        "productConfiguration": line_configuration(flavour, gbps),
        "place": [
            address_ref(await location_id(session, a)),
            address_ref(await location_id(session, z)),
        ],
    }


def quote(
    *items: dict[str, Any], level: str = "firm", instant: bool = True, **top: Any
) -> dict[str, Any]:
    """A quote request."""
    return {
        "buyerRequestedQuoteLevel": level,
        "instantSyncQuote": instant,
        "quoteItem": list(items),
        **top,
    }


def item(
    item_id: str, product: dict[str, Any], action: str = "add", **extra: Any
) -> dict[str, Any]:
    """One quote item."""
    return {"id": item_id, "action": action, "product": product, **extra}


def term(
    months: int, units: str = "calendarMonths", action: str = "autoRenew", **extra: Any
) -> dict[str, Any]:
    """A requested quote item term."""
    return {
        "name": f"{months} months",
        "duration": {"amount": months, "units": units},
        "endOfTermAction": action,
        **extra,
    }


async def post(
    client: httpx.AsyncClient, flavour: str, caller: Caller, body: Any, status: int = 201
) -> Any:
    """POST a quote, check the answer against the official file and return its body."""
    response = await client.post(f"{BASES[flavour]}/quote", headers=caller.headers, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    check_response(flavour, API, "/quote", "post", status, response.json())
    return response.json()


async def get(
    client: httpx.AsyncClient, flavour: str, caller: Caller, quote_id: str, status: int = 200
) -> Any:
    """GET a quote by id, checked against the official file."""
    response = await client.get(f"{BASES[flavour]}/quote/{quote_id}", headers=caller.headers)
    assert response.status_code == status, response.text
    check_response(flavour, API, "/quote/{id}", "get", status, response.json())
    return response.json()


async def find(
    client: httpx.AsyncClient,
    flavour: str,
    caller: Caller,
    query: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> httpx.Response:
    """GET the quote list, checked against the official file."""
    response = await client.get(f"{BASES[flavour]}/quote", headers=caller.headers, params=query)
    assert response.status_code == status, response.text
    check_response(flavour, API, "/quote", "get", status, response.json())
    return response


async def operate(
    client: httpx.AsyncClient,
    flavour: str,
    caller: Caller,
    operation: str,
    body: Any,
    status: int = 200,
) -> Any:
    """POST cancelQuote or rejectQuote, checked against the official file."""
    response = await client.post(f"{BASES[flavour]}/{operation}", headers=caller.headers, json=body)
    assert response.status_code == status, response.text
    check_response(flavour, API, f"/{operation}", "post", status, response.json())
    return response.json()


def problems(body: Any) -> set[tuple[str, str]]:
    """The (code, propertyPath) pairs of an Error422 list."""
    return {(e["code"], e["propertyPath"]) for e in body}


async def test_an_instant_firm_quote_is_priced_and_orderable(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    product = await line(session, flavour)
    poq = await client.post(
        f"{POQ_BASES[flavour]}/productOfferingQualification",
        headers=customer.headers,
        json={
            "instantSyncQualification": True,
            "relatedContactInformation": [contact("buyerContactInformation")],
            "productOfferingQualificationItem": [{"id": "p1", "action": "add", "product": product}],
        },
    )
    assert poq.status_code == 201
    internet = {
        "productOffering": {"id": "internet-access"},
        "place": [address_ref(await location_id(session, LA_NEAR_NET))],
    }
    reference = {"productOfferingQualificationId": poq.json()["id"], "id": "p1"}
    sent = quote(
        item(
            "1",
            product,
            requestedQuoteItemTerm=term(36),
            productOfferingQualificationItem=reference,
        ),
        item(
            "2",
            internet,
            note=[
                {
                    "id": "n",
                    "author": "Ada",
                    "date": "2030-01-01T00:00:00Z",
                    "source": "buyer",
                    "text": "rooftop",
                }
            ],
        ),
        externalId="q-ext",
        projectId="rollout",
        description="two sites",
    )
    answer = await post(client, flavour, customer, sent)
    assert (answer["state"], answer["quoteLevel"], answer["buyerRequestedQuoteLevel"]) == (
        "approved.orderable",
        "firm",
        "firm",
    )
    assert answer["href"].endswith(f"{BASES[flavour]}/quote/{answer['id']}")
    assert [c["state"] for c in answer["stateChange"]] == ["acknowledged", "approved.orderable"]
    assert answer["validFor"]["endDateTime"] > answer["quoteDate"]
    assert answer["relatedContactInformation"][-1]["role"] == "sellerContactInformation"
    first, second = answer["quoteItem"]
    assert (first["id"], first["state"], first["subjectToFeasibilityCheck"]) == (
        "1",
        "approved.orderable",
        False,
    )
    assert first["quoteItemTerm"][0]["duration"] == {"amount": 36, "units": "calendarMonths"}
    assert first["productOfferingQualificationItem"] == reference
    assert first["product"]["productConfiguration"] == product["productConfiguration"]
    recurring, one_time = first["quoteItemPrice"]
    assert (recurring["priceType"], recurring["recurringChargePeriod"]) == ("recurring", "month")
    assert recurring["price"]["dutyFreeAmount"]["unit"] == "USD"
    assert recurring["price"]["dutyFreeAmount"]["value"] > 0
    # Three years or more waive installation of an on-net line.
    assert (one_time["priceType"], one_time["price"]["dutyFreeAmount"]["value"]) == (
        "nonRecurring",
        0,
    )
    assert first["quoteItemInstallationInterval"] == {"amount": 20, "units": "calendarDays"}
    assert second["subjectToFeasibilityCheck"] is True  # near-net
    assert second["quoteItemTerm"][0]["duration"]["amount"] == 12
    assert second["product"]["productConfiguration"] == {
        "@type": product_types(FLAVOURS[flavour])[ProductKind.INTERNET_ACCESS]
    }
    assert second["note"][0]["text"] == "rooftop"

    assert await get(client, flavour, customer, answer["id"]) == answer
    listed = await find(client, flavour, customer)
    assert listed.headers["X-Total-Count"] == listed.headers["X-Result-Count"] == "1"
    (found,) = listed.json()
    assert (found["id"], found["state"], found["externalId"], found["projectId"]) == (
        answer["id"],
        "approved.orderable",
        "q-ext",
        "rollout",
    )


async def test_an_answered_quote_can_be_rejected_once_and_never_cancelled(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    answered = await post(
        client,
        flavour,
        customer,
        quote(item("1", await line(session, flavour)), level="budgetary"),
    )
    assert (answered["state"], answered["quoteItem"][0]["state"]) == ("answered", "answered")
    assert "subjectToFeasibilityCheck" not in answered["quoteItem"][0]
    refused = await operate(
        client, flavour, customer, "cancelQuote", {"quoteId": answered["id"]}, 422
    )
    assert problems(refused) == {("otherIssue", "/quoteId")}
    assert "'answered'" in refused[0]["reason"]
    body = {"quoteId": answered["id"], "reason": "too dear"}
    assert await operate(client, flavour, customer, "rejectQuote", body) == body
    declined = await get(client, flavour, customer, answered["id"])
    assert declined["state"] == "declined"
    assert declined["stateChange"][-1] == {
        "changeDate": declined["stateChange"][-1]["changeDate"],
        "state": "declined",
        "changeReason": "too dear",
    }
    again = await operate(client, flavour, customer, "rejectQuote", body, 422)
    assert problems(again) == {("otherIssue", "/quoteId")}


async def test_a_deferred_quote_waits_for_the_seller_and_can_be_cancelled(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    product = await line(session, flavour)
    bare = quote(item("1", product), instant=False)
    assert problems(await post(client, flavour, customer, bare, 422)) == {
        ("missingProperty", "/relatedContactInformation"),
        ("missingProperty", "/quoteItem/0/relatedContactInformation"),
    }
    people = [contact("quoteItemTechnicalContact"), contact("quoteItemLocationContact")]
    sent = quote(
        item("1", product, relatedContactInformation=people),
        instant=False,
        relatedContactInformation=[contact("buyerContactInformation")],
        requestedQuoteCompletionDate="2031-01-01T00:00:00Z",
    )
    waiting = await post(client, flavour, customer, sent)
    assert (waiting["state"], waiting["quoteItem"][0]["state"]) == ("acknowledged", "acknowledged")
    assert waiting["expectedQuoteCompletionDate"] == "2031-01-01T00:00:00Z"
    assert "quoteItemPrice" not in waiting["quoteItem"][0]
    assert "effectiveQuoteCompletionDate" not in waiting
    body = {"quoteId": waiting["id"]}
    assert await operate(client, flavour, customer, "cancelQuote", body) == body
    cancelled = await get(client, flavour, customer, waiting["id"])
    assert (cancelled["state"], cancelled["quoteItem"][0]["state"]) == ("cancelled", "abandoned")

    later = await post(client, flavour, customer, sent)
    assert await quoting.answer_pending(session) == 1
    answered = await get(client, flavour, customer, later["id"])
    assert answered["state"] == "approved.orderable"
    assert answered["effectiveQuoteCompletionDate"]
    assert "expectedQuoteCompletionDate" not in answered


async def test_a_product_that_cannot_be_delivered_is_unable_to_provide(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    product = await line(session, flavour, a=LAS_VEGAS, z=CHICAGO, gbps=20)
    answer = await post(client, flavour, customer, quote(item("x", product)))
    assert answer["state"] == "unableToProvide"
    (refused,) = answer["quoteItem"]
    assert refused["state"] == "unableToProvide"
    assert refused["terminationError"][0]["propertyPath"] == "/quoteItem/0/product"
    assert "quoteItemPrice" not in refused


async def test_requests_that_break_the_spec_get_its_error_bodies_and_change_nothing(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    product = await line(session, flavour)
    no_level = quote(item("1", product))
    del no_level["buyerRequestedQuoteLevel"]
    assert problems(await post(client, flavour, customer, no_level, 422)) == {
        ("missingProperty", "/buyerRequestedQuoteLevel")
    }
    odd_place = {**product, "place": [{"@type": "Castle", "role": "x"}, product["place"][1]]}
    assert problems(await post(client, flavour, customer, quote(item("1", odd_place)), 422)) == {
        ("invalidValue", "/quoteItem/0/product/place/0/@type")
    }
    point = {"@type": "MEFGeographicPoint", "role": "x", "spatialRef": "WGS84", "x": "e", "y": "1"}
    answer = await post(
        client,
        flavour,
        customer,
        quote(
            item("0", product, requestedQuoteItemTerm=term(12, units="calendarDays")),
            item("1", product, requestedQuoteItemTerm=term(12, action="roll")),
            item(
                "2",
                product,
                requestedQuoteItemTerm=term(
                    12, rollInterval={"amount": 1, "units": "calendarMonths"}
                ),
            ),
            item("3", {**product, "productConfiguration": {"@type": "urn:castle"}}),
            item(
                "4",
                product,
                productOfferingQualificationItem={
                    "productOfferingQualificationId": "poq_nope",
                    "id": "1",
                },
            ),
            item("5", {"id": "prd_nope"}, "delete"),
            item("6", {**product, "id": "prd_nope"}),
            item("7", {**product, "place": [point, product["place"][1]]}),
        ),
        422,
    )
    assert problems(answer) == {
        ("invalidValue", "/quoteItem/0/requestedQuoteItemTerm/duration/units"),
        ("missingProperty", "/quoteItem/1/requestedQuoteItemTerm"),
        ("unexpectedProperty", "/quoteItem/2/requestedQuoteItemTerm/rollInterval"),
        ("invalidValue", "/quoteItem/3/product/productConfiguration/@type"),
        (
            "referenceNotFound",
            "/quoteItem/4/productOfferingQualificationItem/productOfferingQualificationId",
        ),
        ("referenceNotFound", "/quoteItem/5/product/id"),
        ("unexpectedProperty", "/quoteItem/6/product/id"),
        ("invalidFormat", "/quoteItem/7/product/place/0/x"),
    }
    # The core refuses a term it does not sell once the request is otherwise sound.
    too_long = quote(item("1", product, requestedQuoteItemTerm=term(61)))
    assert problems(await post(client, flavour, customer, too_long, 422)) == {
        ("invalidValue", "/quoteItem/0/requestedQuoteItemTerm/duration/amount")
    }
    not_json = await client.post(f"{BASES[flavour]}/quote", headers=customer.headers, content=b"[")
    assert not_json.status_code == 400
    check_response(flavour, API, "/quote", "post", 400, not_json.json())
    nobody = await client.post(f"{BASES[flavour]}/quote", json={})
    assert nobody.status_code == 401
    check_response(flavour, API, "/quote", "post", 401, nobody.json())
    for operation in ("cancelQuote", "rejectQuote"):
        missing = await operate(client, flavour, customer, operation, {"reason": "?"}, 422)
        assert problems(missing) == {("missingProperty", "/quoteId")}
        unknown = await operate(client, flavour, customer, operation, {"quoteId": "quo_nope"}, 422)
        assert problems(unknown) == {("referenceNotFound", "/quoteId")}
    assert (await find(client, flavour, customer)).headers["X-Total-Count"] == "0"


async def test_lists_filter_and_page(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, flavour: str
) -> None:
    product = await line(session, flavour)
    made = [
        await post(
            client,
            flavour,
            customer,
            quote(
                item("1", product),
                level="firm" if n < 2 else "budgetary",
                externalId=f"ext-{n}",
                projectId="even" if n % 2 == 0 else "odd",
                requestedQuoteCompletionDate=f"2031-0{n + 1}-15T00:00:00Z",
            ),
        )
        for n in range(3)
    ]
    page = await find(client, flavour, customer, {"offset": 1, "limit": 1})
    assert (page.headers["X-Total-Count"], page.headers["X-Result-Count"]) == ("3", "1")
    assert page.json()[0]["id"] == made[1]["id"]

    async def ids(**query: Any) -> list[str]:
        return [q["id"] for q in (await find(client, flavour, customer, query)).json()]

    assert await ids(projectId="even") == [made[2]["id"], made[0]["id"]]
    assert await ids(externalId="ext-1") == [made[1]["id"]]
    assert await ids(quoteLevel="budgetary") == [made[2]["id"]]
    assert await ids(quoteLevel="firmSubjectToFeasibilityCheck") == []
    assert await ids(state="answered") == [made[2]["id"]]
    assert await ids(**{"requestedQuoteCompletionDate.lt": "2031-02-01T00:00:00Z"}) == [
        made[0]["id"]
    ]
    assert len(await ids(**{"quoteDate.gt": "2020-01-01T00:00:00Z"})) == 3
    assert await ids(**{"effectiveQuoteCompletionDate.lt": "2020-01-01T00:00:00Z"}) == []
    # Only unanswered quotes still expect a completion.
    assert await ids(**{"expectedQuoteCompletionDate.gt": "2020-01-01T00:00:00Z"}) == []
    bad = await find(client, flavour, customer, {"state": "approved_orderable"}, status=400)
    assert bad.json()["code"] == "invalidQuery"
    bad_date = await find(client, flavour, customer, {"quoteDate.gt": "yesterday"}, status=400)
    assert bad_date.json()["code"] == "invalidQuery"


async def test_another_party_s_quotes_do_not_exist_for_the_caller(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
    flavour: str,
) -> None:
    theirs = await post(
        client,
        flavour,
        other_customer,
        quote(item("1", await line(session, flavour)), level="budgetary"),
    )
    assert (await get(client, flavour, customer, theirs["id"], 404))["code"] == "notFound"
    assert (await get(client, flavour, customer, "quo_nope", 404))["code"] == "notFound"
    assert (await find(client, flavour, customer)).json() == []
    for operation in ("cancelQuote", "rejectQuote"):
        refused = await operate(
            client, flavour, customer, operation, {"quoteId": theirs["id"]}, 422
        )
        assert problems(refused) == {("referenceNotFound", "/quoteId")}
    assert await get(client, flavour, other_customer, theirs["id"]) == theirs
    poq_ref = {"productOfferingQualificationId": "poq_theirs", "id": "1"}
    with_ref = quote(
        item("1", await line(session, flavour), productOfferingQualificationItem=poq_ref)
    )
    assert problems(await post(client, flavour, customer, with_ref, 422)) == {
        (
            "referenceNotFound",
            "/quoteItem/0/productOfferingQualificationItem/productOfferingQualificationId",
        )
    }


async def test_listeners_hear_of_quote_and_item_state_changes(
    settings: Settings,
    session: AsyncSession,
    customer: Caller,
    flavour: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app(settings, run_workers=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        hub = await client.post(
            f"{BASES[flavour]}/hub",
            headers=customer.headers,
            json={"callback": "https://buyer.example/hooks"},
        )
        assert hub.status_code == 201
        check_response(flavour, API, "/hub", "post", 201, hub.json())
        created = await post(
            client, flavour, customer, quote(item("a1", await line(session, flavour)))
        )
        sent: list[tuple[str, Any]] = []

        async def deliver(_client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
            sent.append((url, json.loads(kwargs["content"])))
            return httpx.Response(204, request=httpx.Request("POST", url))

        monkeypatch.setattr(httpx.AsyncClient, "post", deliver)
        await app.state.dispatcher.run_once()
        monkeypatch.undo()
        version = "v8" if flavour == "sonata" else "v2"
        base = f"https://buyer.example/hooks/mefApi/{flavour}/quoteNotification/{version}/listener/"
        assert [url for url, _ in sent] == [
            base + "quoteItemStateChangeEvent",
            base + "quoteStateChangeEvent",
        ]
        for url, body in sent:
            check_event(flavour, "quote_notification", url.rsplit("/", 1)[1], body)
            assert body["event"]["id"] == created["id"]
        assert sent[0][1]["event"]["quoteItemId"] == "a1"
        gone = await client.delete(
            f"{BASES[flavour]}/hub/{hub.json()['id']}", headers=customer.headers
        )
        assert gone.status_code == 204
        check_response(flavour, API, "/hub/{id}", "delete", 204, None)
    await app.state.database.dispose()
