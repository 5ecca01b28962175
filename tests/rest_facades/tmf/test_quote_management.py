"""TMF648 Quote Management v4 through the ASGI app, checked against the official file."""

from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import to_base64

from app.core import geography, ordering, qualification, quoting
from app.core.db import Database
from app.core.events import Channel, EntityKind, Event, EventKind
from app.core.quoting import QuoteKind
from rest_facades.tmf.quote_management import describe
from tests.factories import CHICAGO, NEW_YORK, Caller, line_spec, location_id
from tests.rest_facades.mef.conformance import check_response as mef_check
from tests.rest_facades.tmf.conformance import check_response
from tests.rest_facades.tmf.kit import Kit
from tests.statements import copies, counting

SPEC = "TMF648-QuoteManagement-v4"
BASE = "/tmf-api/quoteManagement/v4"


def _line(a: dict[str, Any], z: dict[str, Any], mbps: Any = 1000) -> dict[str, Any]:
    return {
        "id": "1",
        "action": "add",
        "product": {
            "productOffering": {"id": "ethernet-line"},
            "place": [a | {"role": "aEnd"}, z | {"role": "zEnd"}],
            "productCharacteristic": [
                {"name": "bandwidth", "value": mbps},
                {"name": "termMonths", "value": 24},
            ],
        },
    }


async def _create(client: httpx.AsyncClient, caller: Caller, body: dict[str, Any]) -> Any:
    response = await client.post(f"{BASE}/quote", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    check_response(SPEC, "/quote", "post", 201, response.json())
    assert response.headers["location"] == response.json()["href"]
    return response.json()


async def _get(
    client: httpx.AsyncClient, caller: Caller, path: str, template: str, **params: str
) -> Any:
    response = await client.get(f"{BASE}{path}", headers=caller.headers, params=params)
    assert response.status_code == 200, response.text
    check_response(SPEC, template, "get", 200, response.json())
    return response


async def test_a_firm_quote_from_location_site_and_address(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    chicago = await location_id(session, CHICAGO)
    site = await geography.create_site(
        session, principal=customer.principal, address=geography.AddressInput(text=NEW_YORK)
    )
    by_ids = await _create(
        client,
        customer,
        {
            "externalId": "PO-7",
            "description": "two sites",
            "note": [{"id": "n1", "text": "call first"}],
            "quoteItem": [_line({"id": chicago}, {"id": site.id})],
        },
    )
    assert by_ids["state"] == "approved"
    assert by_ids["category"] == "firm"
    assert by_ids["note"] == [{"id": "n1", "text": "call first"}]
    [item] = by_ids["quoteItem"]
    assert [p["id"] for p in item["product"]["place"]] == [chicago, site.location_id]
    assert {p["priceType"] for p in item["quoteItemPrice"]} == {"recurring", "oneTime"}
    assert by_ids["quoteTotalPrice"][0]["price"]["dutyFreeAmount"]["unit"] == "USD"

    by_address = await _create(
        client,
        customer,
        {
            "category": "budgetary",
            "quoteItem": [
                _line(
                    {"streetNr": "350", "streetName": "E Cermak Rd", "city": "Chicago"},
                    {"name": NEW_YORK},
                )
            ],
        },
    )
    assert by_address["category"] == "budgetary"
    assert by_address["quoteItem"][0]["product"]["place"][0]["id"] == chicago

    core = await quoting.get_quote(session, principal=customer.principal, quote_id=by_ids["id"])
    assert core.quote.channel is Channel.TMF
    assert core.quote.external_id == "PO-7"
    assert (core.items[0].bandwidth_mbps, core.items[0].term_months) == (1000, 24)
    assert by_ids["quoteTotalPrice"][0]["price"]["dutyFreeAmount"]["value"] == (
        core.quote.monthly_cents / 100
    )


async def test_refusals_are_tmf_errors(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    for body in (
        {"description": "no items"},
        {"quoteItem": [_line({"id": chicago}, {"id": new_york}, mbps="fast")]},
        {"quoteItem": [_line({"id": chicago}, {"name": "1 Nowhere Lane, Springfield"})]},
    ):
        response = await client.post(f"{BASE}/quote", json=body, headers=customer.headers)
        assert response.status_code == 400, response.text
        check_response(SPEC, "/quote", "post", 400, response.json())
    listed = await _get(client, customer, "/quote", "/quote")
    assert listed.json() == []


async def test_list_filter_fields_and_tenancy(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    other_customer: Caller,
) -> None:
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    fast = await _create(
        client, customer, {"quoteItem": [_line({"id": chicago}, {"id": new_york}, 10000)]}
    )
    # A quote asked for through another face is the same core row.
    other_face = await quoting.request_quote(
        session,
        principal=customer.principal,
        specs=[await line_spec(session)],
        kind=QuoteKind.BUDGETARY,
        channel=Channel.GRAPHQL,
    )
    theirs = await _create(
        client, other_customer, {"quoteItem": [_line({"id": chicago}, {"id": new_york})]}
    )

    listed = await _get(client, customer, "/quote", "/quote")
    assert listed.headers["x-total-count"] == "2"
    assert {q["id"] for q in listed.json()} == {fast["id"], other_face.quote.id}
    through = await _get(client, customer, f"/quote/{other_face.quote.id}", "/quote/{id}")
    assert through.json()["category"] == "budgetary"
    assert through.json()["quoteItem"][0]["product"]["productOffering"]["id"] == "ethernet-line"

    slow_monthly = other_face.quote.monthly_cents / 100
    by_speed = await _get(
        client,
        customer,
        "/quote",
        "/quote",
        **{"quoteTotalPrice.price.dutyFreeAmount.value.gt": str(slow_monthly)},
    )
    assert [q["id"] for q in by_speed.json()] == [fast["id"]]
    by_category = await _get(client, customer, "/quote", "/quote", category="firm,other")
    assert [q["id"] for q in by_category.json()] == [fast["id"]]
    trimmed = await _get(
        client, customer, "/quote", "/quote", fields="state", limit="1", offset="1"
    )
    assert trimmed.headers["x-total-count"] == "2"
    assert trimmed.headers["x-result-count"] == "1"
    assert set(trimmed.json()[0]) == {"id", "href", "@type", "state", "quoteItem"}
    one = await _get(client, customer, f"/quote/{fast['id']}", "/quote/{id}", fields="category")
    assert one.json() == {
        "id": fast["id"],
        "href": fast["href"],
        "@type": "Quote",
        "category": "firm",
        "quoteItem": fast["quoteItem"],
    }

    for method in ("get", "patch", "delete"):
        response = await client.request(
            method,
            f"{BASE}/quote/{theirs['id']}",
            headers=customer.headers,
            json={"state": "rejected"} if method == "patch" else None,
        )
        assert response.status_code == 404, (method, response.text)
        check_response(SPEC, "/quote/{id}", method, 404, response.json())
    unchanged = await _get(client, other_customer, f"/quote/{theirs['id']}", "/quote/{id}")
    assert unchanged.json()["state"] == "approved"
    missing = await client.get(f"{BASE}/quote/quo_missing", headers=customer.headers)
    assert missing.status_code == 404
    check_response(SPEC, "/quote/{id}", "get", 404, missing.json())


async def test_patch_and_delete_move_the_core_quote(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    body = {"quoteItem": [_line({"id": chicago}, {"id": new_york})]}
    answered = await _create(client, customer, body)
    pending = await _create(client, customer, body | {"instantSyncQuote": False})
    assert pending["state"] == "inProgress"
    assert "quoteTotalPrice" not in pending

    # The buyer's own words change; the seller's answer does not.
    described = await client.patch(
        f"{BASE}/quote/{answered['id']}", json={"description": "x"}, headers=customer.headers
    )
    assert described.json()["description"] == "x"
    not_patchable = await client.patch(
        f"{BASE}/quote/{answered['id']}", json={"category": "budgetary"}, headers=customer.headers
    )
    assert not_patchable.status_code == 400
    assert not_patchable.json()["code"] == "NOT_PATCHABLE"
    check_response(SPEC, "/quote/{id}", "patch", 400, not_patchable.json())
    accept = await client.patch(
        f"{BASE}/quote/{answered['id']}", json={"state": "accepted"}, headers=customer.headers
    )
    assert accept.status_code == 409
    check_response(SPEC, "/quote/{id}", "patch", 409, accept.json())

    for media_type in ("application/merge-patch+json", "application/json"):
        quote = await _create(client, customer, body)
        rejected = await client.patch(
            f"{BASE}/quote/{quote['id']}",
            content=b'{"state": "rejected"}',
            headers={**customer.headers, "Content-Type": media_type},
        )
        assert rejected.status_code == 200, rejected.text
        check_response(SPEC, "/quote/{id}", "patch", 200, rejected.json())
        assert rejected.json()["state"] == "rejected"
        core = await quoting.get_quote(session, principal=customer.principal, quote_id=quote["id"])
        assert core.quote.state is quoting.QuoteState.DECLINED

    cancelled = await client.patch(
        f"{BASE}/quote/{pending['id']}", json={"state": "cancelled"}, headers=customer.headers
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["quoteItem"][0]["state"] == "cancelled"
    again = await client.patch(
        f"{BASE}/quote/{pending['id']}", json={"state": "cancelled"}, headers=customer.headers
    )
    assert again.status_code == 200
    twice = await client.patch(
        f"{BASE}/quote/{pending['id']}", json={"state": "rejected"}, headers=customer.headers
    )
    assert twice.status_code == 409
    check_response(SPEC, "/quote/{id}", "patch", 409, twice.json())

    deleted = await client.delete(f"{BASE}/quote/{answered['id']}", headers=customer.headers)
    assert deleted.status_code == 204
    after = await _get(client, customer, f"/quote/{answered['id']}", "/quote/{id}")
    assert after.json()["state"] == "rejected"
    gone_again = await client.delete(f"{BASE}/quote/{answered['id']}", headers=customer.headers)
    assert gone_again.status_code == 409
    check_response(SPEC, "/quote/{id}", "delete", 409, gone_again.json())


async def test_an_order_against_the_quote_shows_it_accepted(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    quote = await _create(
        client, customer, {"quoteItem": [_line({"id": chicago}, {"id": new_york})]}
    )
    await ordering.place(
        session,
        principal=customer.principal,
        items=[],
        channel=Channel.GRAPHQL,
        quote_id=quote["id"],
    )
    after = await _get(client, customer, f"/quote/{quote['id']}", "/quote/{id}")
    assert after.json()["state"] == "accepted"


async def test_hub_and_event_descriptions(client: httpx.AsyncClient, customer: Caller) -> None:
    registered = await client.post(
        f"{BASE}/hub",
        json={"callback": "http://listener.test/q", "query": "eventType=quoteStateChangeEvent"},
        headers=customer.headers,
    )
    assert registered.status_code == 201
    check_response(SPEC, "/hub", "post", 201, registered.json())
    hub_id = registered.json()["id"]
    removed = await client.delete(f"{BASE}/hub/{hub_id}", headers=customer.headers)
    assert removed.status_code == 204
    missing = await client.delete(f"{BASE}/hub/{hub_id}", headers=customer.headers)
    assert missing.status_code == 404
    check_response(SPEC, "/hub/{id}", "delete", 404, missing.json())

    event = Event(
        party_id=customer.party_id,
        entity=EntityKind.QUOTE,
        entity_id="quo_1",
        kind=EventKind.STATE_CHANGED,
        state="approved_orderable",
    )
    assert describe(event) == ("quote", {"id": "quo_1", "@type": "Quote", "state": "approved"})
    item_event = Event(
        party_id=customer.party_id,
        entity=EntityKind.ORDER,
        entity_id="ord_1",
        kind=EventKind.CREATED,
    )
    assert describe(item_event) is None


async def test_a_quote_refers_to_a_qualification(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    poq, _ = await qualification.qualify(
        session,
        principal=customer.principal,
        specs=[await line_spec(session)],
        channel=Channel.GRAPHQL,
    )
    body = {
        "productOfferingQualification": [{"id": poq.id}],
        "quoteItem": [_line({"id": chicago}, {"id": new_york})],
    }
    quote = await _create(client, customer, body)
    [ref] = quote["productOfferingQualification"]
    assert ref["id"] == poq.id
    assert ref["href"].endswith(
        f"/tmf-api/productOfferingQualification/v4/productOfferingQualification/{poq.id}"
    )
    foreign = await client.post(f"{BASE}/quote", json=body, headers=other_customer.headers)
    assert foreign.status_code == 400
    check_response(SPEC, "/quote", "post", 400, foreign.json())


async def test_the_api_answers_as_a_conformance_kit_checks_it(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    kit = Kit(
        client,
        customer,
        SPEC,
        BASE,
        "quote",
        mandatory=("id", "href", "quoteItem", "state", "quoteDate"),
    )
    chicago = await location_id(session, CHICAGO)
    new_york = await location_id(session, NEW_YORK)
    created = await kit.create({"quoteItem": [_line({"id": chicago}, {"id": new_york})]})
    await kit.filters_and_fields(created)
    patched = await kit.patch(
        created,
        {
            "description": "two data centres",
            "externalId": "PO-9",
            "requestedQuoteCompletionDate": "2031-01-01T00:00:00Z",
            "expectedFulfillmentStartDate": "2031-02-01T00:00:00Z",
            "note": [{"id": "n1", "text": "call first"}],
            "contactMedium": [{"mediumType": "email", "characteristic": {"emailAddress": "a@b.c"}}],
            "relatedParty": [{"id": "ind-1", "role": "buyer", "@referredType": "Individual"}],
            "agreement": [{"id": "agr-1"}],
            "billingAccount": [{"id": "ba-1"}],
            "authorization": [{"name": "budget", "state": "approved"}],
            "@type": "Quote",
        },
    )
    seller = ("category", "version", "quoteItem", "quoteTotalPrice", "validFor")
    # The seller's answer may be repeated as it is; `version` counts the changes of the quote.
    again = await kit.patch(
        patched, {k: patched[k] for k in (*seller, "effectiveQuoteCompletionDate")}
    )
    await kit.patch(again, {"state": "rejected"})
    other = await kit.create({"quoteItem": [_line({"id": chicago}, {"id": new_york})]})

    async def withdrawn(path: str) -> None:
        got = await kit.call("GET", path, 200)
        assert got.json()["state"] == "rejected"

    await kit.delete(other, then=withdrawn)
    await kit.unknown_is_404()


async def test_a_list_costs_the_same_statements_for_ten_and_a_thousand_quotes(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, customer: Caller
) -> None:
    made = await quoting.request_quote(
        session,
        principal=customer.principal,
        specs=[await line_spec(session)],
        kind=QuoteKind.FIRM,
        channel=Channel.TMF,
    )

    async def statements() -> tuple[int, str]:
        with counting(database) as seen:
            # The copies have no items: the answer is not checked against the schema here.
            listed = await client.get(
                f"{BASE}/quote",
                headers=customer.headers,
                params={"state": "approved", "category": "firm", "limit": "5"},
            )
        assert listed.headers["x-result-count"] == "5"
        assert any("LIMIT" in statement.upper() for statement in seen)
        return len(seen), listed.headers["x-total-count"]

    await copies(session, made.quote, 9, lambda n: {"id": f"quo_few{n}"})
    few, ten = await statements()
    await copies(session, made.quote, 990, lambda n: {"id": f"quo_many{n}"})
    many, thousand = await statements()
    assert (ten, thousand) == ("10", "1000")
    assert many == few


async def test_a_minimal_conformance_body_is_recorded_and_rejected_with_the_reason(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller
) -> None:
    kit = Kit(
        client,
        customer,
        SPEC,
        BASE,
        "quote",
        mandatory=("id", "href", "quoteItem", "state", "quoteDate"),
    )
    created = await kit.create({"quoteItem": [{"id": "1", "action": "add"}]})
    assert created["state"] == "rejected"
    assert created["quoteItem"] == [{"id": "1", "action": "add", "state": "rejected"}]
    reason = "quoteItem[0] lacks product.productOffering.id"
    assert created["note"][-1]["text"] == reason
    # Nothing is priced.
    assert "quoteTotalPrice" not in created
    core = await quoting.get_quote(session, principal=customer.principal, quote_id=created["id"])
    assert (core.quote.state_reason, core.quote.monthly_cents, core.items) == (reason, 0, [])
    await kit.filters_and_fields(created)
    await kit.patch(created, {"description": "retry with an offering", "note": created["note"]})
    await kit.delete(created)
    # An unknown offering or a made-up place is answered the same way, every item named.
    chicago = await location_id(session, CHICAGO)
    made_up = await kit.create(
        {
            "quoteItem": [
                {"id": "a", "action": "add", "productOffering": {"id": "no-such-offering"}},
                _line({"id": chicago}, {"id": "made-up-place"}),
            ]
        }
    )
    assert made_up["state"] == "rejected"
    text = made_up["note"][-1]["text"]
    assert "no-such-offering" in text
    assert "made-up-place" in text
    assert [i["state"] for i in made_up["quoteItem"]] == ["rejected", "rejected"]
    # A rejected quote cannot be ordered.
    order = await client.post(
        "/tmf-api/productOrderingManagement/v4/productOrder",
        json={
            "quote": [{"id": made_up["id"]}],
            "productOrderItem": [{"id": "1", "action": "add", "quoteItem": {"id": "a"}}],
        },
        headers=customer.headers,
    )
    assert order.status_code in {400, 409}, order.text


async def test_refused_minimal_quotes_and_qualifications_show_on_cantata_and_graphql(
    client: httpx.AsyncClient, customer: Caller, ops: Caller
) -> None:
    quote = (
        await client.post(
            f"{BASE}/quote",
            json={"quoteItem": [{"id": "7", "action": "add"}]},
            headers=customer.headers,
        )
    ).json()
    poq = (
        await client.post(
            "/tmf-api/productOfferingQualification/v4/productOfferingQualification",
            json={"productOfferingQualificationItem": [{"id": "8"}]},
            headers=customer.headers,
        )
    ).json()
    cantata = "/mefApi/cantata/quoteManagement/v2/quote"
    seen = await client.get(f"{cantata}/{quote['id']}", headers=customer.headers)
    assert seen.status_code == 200, seen.text
    mef_check("cantata", "quote", "/quote/{id}", "get", 200, seen.json())
    assert seen.json()["state"] == "rejected"
    [asked] = seen.json()["quoteItem"]
    assert (asked["id"], asked["state"]) == ("7", "rejected")
    assert "lacks product.productOffering.id" in asked["terminationError"][0]["value"]
    assert "quoteItemPrice" not in asked
    poqs = "/mefApi/cantata/productOfferingQualification/v1/productOfferingQualification"
    seen = await client.get(f"{poqs}/{poq['id']}", headers=customer.headers)
    assert seen.status_code == 200, seen.text
    mef_check(
        "cantata",
        "product_offering_qualification",
        "/productOfferingQualification/{id}",
        "get",
        200,
        seen.json(),
    )
    assert seen.json()["state"] == "terminatedWithError"
    [asked] = seen.json()["productOfferingQualificationItem"]
    assert (asked["id"], asked["state"]) == ("8", "terminatedWithError")
    answer = await client.post(
        "/graphql",
        json={
            "query": "query($id: ID!) { node(id: $id) { ... on Quote "
            "{ state stateReason price { monthlyRecurring } items { state } } } }",
            "variables": {"id": to_base64("Quote", quote["id"])},
        },
        headers=ops.headers,
    )
    assert answer.json()["data"]["node"] == {
        "state": "REJECTED",
        "stateReason": "quoteItem[0] lacks product.productOffering.id",
        "price": {"monthlyRecurring": "0.00"},
        "items": [],
    }
