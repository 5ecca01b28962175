"""Hostile bodies: references that are not objects, nulls in merge patches, other parties'
objects, too many items and overlong free text get the face's own refusal, never a 500."""

import json
import time
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import geography, ordering, quoting
from app.core.events import Channel
from app.core.geography import AddressInput
from app.core.qualification import MAX_ITEMS
from rest_facades.common.values import NAME_CHARS, TEXT_CHARS
from tests.factories import CHICAGO, Caller, line_spec, make_order, make_product, make_ticket
from tests.rest_facades.common.test_idempotency import (
    SONATA_ORDERS,
    TMF_ORDERS,
    _sonata_order,
    _tmf_order,
)
from tests.rest_facades.test_bad_values import _tmf_qualification, _tmf_quote

TMF_CANCEL = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"
NOT_REFERENCES: list[Any] = [
    "x",
    -1,
    True,
    1e300,
    [None],
    [{}],
    [{"id": None}],
    {"id": None},
    {"id": 7},
    {"id": ["x"]},
    {"id": {"id": "x"}},
]


def _is_tmf_error(answer: httpx.Response) -> bool:
    body = answer.json()
    return isinstance(body, dict) and body.get("@type") == "Error" and bool(body.get("code"))


@pytest.mark.parametrize("value", [*NOT_REFERENCES, "1e400"])
async def test_a_tmf_cancellation_of_a_non_reference_is_a_tmf_400(
    client: httpx.AsyncClient, carrier: Caller, value: Any
) -> None:
    # 1e400 is beyond a float: sent as written, it is not JSON that Python would write.
    raw = '{"productOrder": 1e400}' if value == "1e400" else json.dumps({"productOrder": value})
    answer = await client.post(TMF_CANCEL, content=raw, headers=carrier.headers | JSON)
    assert answer.status_code == 400, answer.text
    assert _is_tmf_error(answer)


TMF_CREATES = [
    "/tmf-api/accountManagement/v4/billingAccount",
    "/tmf-api/customerBillManagement/v4/customerBillOnDemand",
    "/tmf-api/geographicAddressManagement/v4/geographicAddressValidation",
    "/tmf-api/geographicSiteManagement/v4/geographicSite",
    "/tmf-api/party/v4/organization",
    "/tmf-api/party/v4/individual",
    "/tmf-api/productCatalogManagement/v4/productOffering",
    "/tmf-api/productInventory/v4/product",
    "/tmf-api/productOfferingQualification/v4/productOfferingQualification",
    TMF_ORDERS,
    TMF_CANCEL,
    "/tmf-api/quoteManagement/v4/quote",
    "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification",
    "/tmf-api/serviceQualificationManagement/v4/queryServiceQualification",
    "/tmf-api/troubleTicket/v4/troubleTicket",
]
# Members of TMF bodies that hold references, lists of references or text.
MEMBERS = [
    "productOrder",
    "quote",
    "billingAccount",
    "relatedParty",
    "place",
    "productOffering",
    "product",
    "productOrderItem",
    "quoteItem",
    "productOfferingQualificationItem",
    "serviceQualificationItem",
    "note",
    "externalId",
    "description",
    "name",
    "channel",
    "agreement",
    "contactMedium",
    "relatedEntity",
    "geographicAddress",
    "submittedGeographicAddress",
    "ticketType",
    "severity",
    "state",
    "cancellationReason",
    "requestedCompletionDate",
    "productCharacteristic",
    "productSpecification",
    "paymentMethod",
    "billStructure",
    "billingAccount",
    "financialAccount",
    "account",
    "engagedParty",
    "characteristic",
    "searchCriteria",
    "service",
    "serviceSpecification",
    "productOfferingQualification",
    "relatedPlace",
    "attachment",
    "relatedContactInformation",
]


async def _tmf_bodies(session: AsyncSession, path: str) -> list[dict[str, Any]]:
    valid = {
        TMF_ORDERS: _tmf_order,
        "/tmf-api/quoteManagement/v4/quote": _tmf_quote,
        "/tmf-api/productOfferingQualification/v4/productOfferingQualification": (
            _tmf_qualification
        ),
    }
    base = await valid[path](session) if path in valid else {}
    return [base | {member: value} for member in MEMBERS for value in NOT_REFERENCES]


@pytest.mark.parametrize("path", TMF_CREATES)
async def test_tmf_creates_refuse_non_references_in_tmf_words(
    client: httpx.AsyncClient, session: AsyncSession, ops: Caller, path: str
) -> None:
    failures = []
    for body in await _tmf_bodies(session, path):
        answer = await client.post(path, json=body, headers=ops.headers)
        if answer.status_code >= 500 or (answer.status_code >= 400 and not _is_tmf_error(answer)):
            failures.append(f"{body}: {answer.status_code} {answer.text[:200]}")
    assert not failures, "\n".join(failures[:20])


MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


@pytest.mark.parametrize(
    "patch",
    [
        {"productOrderItem": None},
        {"relatedContactInformation": None},
        {"note": None},
        {"productOrderItem": [None]},
        {"productOrderItem": [{"id": None}]},
        {"productOrderItem": "x"},
        {"productOrderItem": [{}]},
        {"relatedContactInformation": [None]},
        {"externalId": ["x"]},
    ],
)
async def test_a_sonata_order_patch_with_null_or_wrong_members_is_a_mef_422(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, patch: dict[str, Any]
) -> None:
    placed = await client.post(
        SONATA_ORDERS, json=await _sonata_order(session), headers=carrier.headers
    )
    assert placed.status_code == 201, placed.text
    answer = await client.patch(
        f"{SONATA_ORDERS}/{placed.json()['id']}",
        content=json.dumps(patch),
        headers=carrier.headers | MERGE_PATCH,
    )
    assert answer.status_code in {400, 422}, answer.text
    refusal = answer.json()
    assert refusal[0]["code"] if isinstance(refusal, list) else refusal["code"]
    unchanged = await client.get(f"{SONATA_ORDERS}/{placed.json()['id']}", headers=carrier.headers)
    assert (
        unchanged.json()["relatedContactInformation"] == placed.json()["relatedContactInformation"]
    )


TMF_PATCHES = {
    "order": TMF_ORDERS,
    "product": "/tmf-api/productInventory/v4/product",
    "ticket": "/tmf-api/troubleTicket/v4/troubleTicket",
}


async def _tmf_objects(session: AsyncSession, caller: Caller) -> dict[str, str]:
    order = await make_order(session, caller)
    product = await make_product(session, caller)
    ticket = await make_ticket(session, caller, product_id=product.id)
    return {"order": order.order.id, "product": product.id, "ticket": ticket.id}


async def test_tmf_patches_refuse_non_references_and_nulls_in_tmf_words(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller
) -> None:
    ids = await _tmf_objects(session, carrier)
    failures = []
    for kind, base in TMF_PATCHES.items():
        for member in MEMBERS:
            for value in [*NOT_REFERENCES, None]:
                answer = await client.patch(
                    f"{base}/{ids[kind]}",
                    json={member: value},
                    headers=carrier.headers | MERGE_PATCH,
                )
                if answer.status_code >= 500 or (
                    answer.status_code >= 400 and not _is_tmf_error(answer)
                ):
                    failures.append(
                        f"{kind} {member}={value!r}: {answer.status_code} {answer.text[:150]}"
                    )
    assert not failures, "\n".join(failures[:30])


def _many(items: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    return [items[0] | {"id": str(n)} for n in range(count)]


async def _tmf_order_of(session: AsyncSession, count: int) -> dict[str, Any]:
    body = await _tmf_order(session)
    body["productOrderItem"] = _many(body["productOrderItem"], count)
    return body


async def _sonata_order_of(session: AsyncSession, count: int) -> dict[str, Any]:
    body = await _sonata_order(session)
    body["productOrderItem"] = _many(body["productOrderItem"], count)
    return body


async def _tmf_quote_of(session: AsyncSession, count: int) -> dict[str, Any]:
    body = await _tmf_quote(session)
    body["quoteItem"] = _many(body["quoteItem"], count)
    return body


async def _tmf_poq_of(session: AsyncSession, count: int) -> dict[str, Any]:
    body = await _tmf_qualification(session)
    items = body["productOfferingQualificationItem"]
    body["productOfferingQualificationItem"] = _many(items, count)
    return body


async def _sonata_items(name: str, count: int) -> dict[str, Any]:
    return {name: [{"id": str(n), "action": "add"} for n in range(count)]}


MANY_ITEMS = {
    "tmf622": (TMF_ORDERS, _tmf_order_of, "productOrderItem"),
    "tmf648": ("/tmf-api/quoteManagement/v4/quote", _tmf_quote_of, "quoteItem"),
    "tmf679": (
        "/tmf-api/productOfferingQualification/v4/productOfferingQualification",
        _tmf_poq_of,
        "productOfferingQualificationItem",
    ),
    "sonata-order": (SONATA_ORDERS, _sonata_order_of, "productOrderItem"),
}


@pytest.mark.parametrize("face", sorted(MANY_ITEMS))
async def test_more_items_than_the_bound_are_refused_at_once(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, face: str
) -> None:
    path, make_body, items = MANY_ITEMS[face]
    started = time.process_time()  # the app's CPU, in this process: immune to a loaded machine
    # A Sonata item holds enough objects that 200 items are near the request limits' bound.
    count = 200 if path.startswith("/mefApi") else 1000
    answer = await client.post(path, json=await make_body(session, count), headers=carrier.headers)
    assert time.process_time() - started < 5
    if path.startswith("/mefApi"):
        assert answer.status_code == 422, answer.text
        [problem] = answer.json()
        assert problem["propertyPath"] == f"/{items}"
        assert str(MAX_ITEMS) in problem["reason"]
    else:
        assert answer.status_code == 400, answer.text
        assert _is_tmf_error(answer)
        assert answer.json()["message"].startswith(f"{items}: ")
    # The bound itself is accepted.
    if face in {"tmf622", "sonata-order"}:
        body = await make_body(session, 2)
        assert (await client.post(path, json=body, headers=carrier.headers)).status_code == 201


@pytest.mark.parametrize(
    ("path", "items"),
    [
        ("/mefApi/sonata/quoteManagement/v8/quote", "quoteItem"),
        (
            "/mefApi/sonata/productOfferingQualification/v7/productOfferingQualification",
            "productOfferingQualificationItem",
        ),
        (
            "/mefApi/cantata/productOrderingManagement/v5/productOrder",
            "productOrderItem",
        ),
    ],
)
async def test_mef_quotes_and_qualifications_refuse_too_many_items(
    client: httpx.AsyncClient, ops: Caller, path: str, items: str
) -> None:
    answer = await client.post(
        path, json=await _sonata_items(items, MAX_ITEMS + 1), headers=ops.headers
    )
    assert answer.status_code == 422, answer.text
    assert any(p["propertyPath"] == f"/{items}" for p in answer.json())


async def test_tmf_service_qualification_refuses_too_many_items(
    client: httpx.AsyncClient, ops: Caller
) -> None:
    item = {"id": "1", "service": {"serviceSpecification": {"id": "internet-access"}}}
    answer = await client.post(
        "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification",
        json={"serviceQualificationItem": [item | {"id": str(n)} for n in range(MAX_ITEMS + 1)]},
        headers=ops.headers,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith("serviceQualificationItem: ")


async def test_graphql_quotes_refuse_too_many_items(
    client: httpx.AsyncClient, developer: Caller
) -> None:
    item = {
        "product": "INTERNET_ACCESS",
        "aEnd": {"address": "350 E Cermak Rd, Chicago, IL 60616"},
        "bandwidthMbps": 100,
        "termMonths": 24,
    }
    answer = await client.post(
        "/graphql",
        json={
            "query": """mutation($i: RequestQuoteInput!) { requestQuote(input: $i) {
                quote { id } userErrors { field code message } } }""",
            "variables": {"i": {"items": [item] * (MAX_ITEMS + 1)}},
        },
        headers=developer.headers,
    )
    payload = answer.json()["data"]["requestQuote"]
    assert payload["quote"] is None
    [error] = payload["userErrors"]
    assert error["field"] == "items"
    assert str(MAX_ITEMS) in error["message"]


SONATA = "/mefApi/sonata/productOrderingManagement/v10"
TMF_TICKETS = "/tmf-api/troubleTicket/v4/troubleTicket"


def _same_refusal(foreign: httpx.Response, unknown: httpx.Response, foreign_id: str) -> None:
    """Another party's object is answered exactly as one that does not exist."""
    assert foreign.status_code == unknown.status_code, (foreign.text, unknown.text)
    assert foreign.status_code in {400, 404, 422}, foreign.text
    assert foreign.text.replace(foreign_id, "ID") == unknown.text.replace("missing-id", "ID")


async def _refusals(
    client: httpx.AsyncClient, caller: Caller, path: str, body: Any, foreign_id: str
) -> None:
    text = json.dumps(body)
    foreign = await client.post(path, content=text, headers=caller.headers | JSON)
    unknown = await client.post(
        path, content=text.replace(foreign_id, "missing-id"), headers=caller.headers | JSON
    )
    _same_refusal(foreign, unknown, foreign_id)


JSON = {"Content-Type": "application/json"}


async def test_another_partys_order_cannot_be_cancelled_or_moved_on_any_face(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, other_carrier: Caller
) -> None:
    placed = await make_order(session, other_carrier)
    order_id = placed.order.id
    await _refusals(
        client,
        carrier,
        f"{SONATA}/cancelProductOrder",
        {
            "productOrder": {"productOrderId": order_id},
            "cancellationReason": "changed our mind",
            "cancellationReasonType": "commercial",
        },
        order_id,
    )
    await _refusals(
        client,
        carrier,
        f"{SONATA}/modifyProductOrderItemRequestedDeliveryDate",
        {
            "productOrderItem": {"productOrderId": order_id, "productOrderItemId": "1"},
            "requestedCompletionDate": "2031-01-01T09:00:00Z",
        },
        order_id,
    )
    await _refusals(client, carrier, TMF_CANCEL, {"productOrder": {"id": order_id}}, order_id)
    kept = await ordering.get_order(session, principal=other_carrier.principal, order_id=order_id)
    await session.refresh(kept.order)
    assert kept.order.state is ordering.OrderState.ACKNOWLEDGED
    assert "cancellation" not in kept.order.annotations
    assert "dateChanges" not in kept.order.annotations


async def test_another_partys_quote_and_product_are_unknown_references(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, other_carrier: Caller
) -> None:
    quote = await quoting.request_quote(
        session,
        principal=other_carrier.principal,
        specs=[await line_spec(session)],
        kind=quoting.QuoteKind.FIRM,
        channel=Channel.TMF,
    )
    order = await _tmf_order(session)
    order["quote"] = [{"id": quote.quote.id}]
    await _refusals(client, carrier, TMF_ORDERS, order, quote.quote.id)
    product = await make_product(session, other_carrier)
    ticket = {
        "name": "Link down",
        "description": "No light on port 1.",
        "severity": "Significant",
        "ticketType": "Assistance",
        "relatedEntity": [{"id": product.id, "@referredType": "Product", "role": "impacted"}],
    }
    await _refusals(client, carrier, TMF_TICKETS, ticket, product.id)
    site = await geography.create_site(
        session, principal=other_carrier.principal, address=AddressInput(text=CHICAGO)
    )
    order = await _tmf_order(session)
    order["productOrderItem"][0]["product"]["place"][0]["id"] = site.id
    await _refusals(client, carrier, TMF_ORDERS, order, site.id)
    sonata = await _sonata_order(session)
    sonata["productOrderItem"][0]["product"]["place"][0] = {
        "@type": "GeographicSiteRef",
        "role": "A_END",
        "id": site.id,
    }
    await _refusals(client, carrier, SONATA_ORDERS, sonata, site.id)
    orders = await ordering.list_orders(session, principal=carrier.principal)
    assert orders == []


async def test_overlong_free_text_is_refused_by_mef_and_kept_at_its_bound(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller
) -> None:
    body = await _sonata_order(session)
    body["relatedContactInformation"][0]["name"] = "A" * 40_000
    refused = await client.post(SONATA_ORDERS, json=body, headers=carrier.headers)
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()
    assert problem["propertyPath"] == "/relatedContactInformation/0/name"
    assert "1000" in problem["reason"]
    assert await ordering.list_orders(session, principal=carrier.principal) == []
    body["relatedContactInformation"][0]["name"] = "A" * NAME_CHARS
    note = {"id": "1", "source": "buyer", "author": "Ada", "date": "2030-01-01T09:00:00Z"}
    body["note"] = [note | {"text": "n" * TEXT_CHARS}]
    taken = await client.post(SONATA_ORDERS, json=body, headers=carrier.headers)
    assert taken.status_code == 201, taken.text
    assert taken.json()["relatedContactInformation"][0]["name"] == "A" * NAME_CHARS
    body["note"][0]["text"] += "n"
    refused = await client.post(SONATA_ORDERS, json=body, headers=carrier.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()[0]["propertyPath"] == "/note/0/text"


@pytest.mark.parametrize(
    ("member", "value", "where"),
    [
        ("description", "d" * (TEXT_CHARS + 1), "description"),
        ("note", [{"text": "t" * (TEXT_CHARS + 1)}], "note[0].text"),
        ("name", "n" * (NAME_CHARS + 1), "name"),
    ],
)
async def test_overlong_free_text_is_refused_by_tmf(
    client: httpx.AsyncClient, carrier: Caller, member: str, value: Any, where: str
) -> None:
    ticket = {
        "name": "Link down",
        "description": "No light on port 1.",
        "severity": "Significant",
        "ticketType": "Assistance",
    }
    refused = await client.post(TMF_TICKETS, json=ticket | {member: value}, headers=carrier.headers)
    assert refused.status_code == 400, refused.text
    assert _is_tmf_error(refused)
    assert refused.json()["reason"].startswith(f"{where} is ")
    listed = await client.get(TMF_TICKETS, headers=carrier.headers)
    assert listed.json() == []
