"""Hostile bodies: references that are not objects, nulls in merge patches, other parties'
objects, too many items and overlong free text get the face's own refusal, never a 500."""

import json
import time
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.qualification import MAX_ITEMS
from tests.factories import Caller, make_order, make_product, make_ticket
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
    raw = '{"productOrder": 1e400}' if value == "1e400" else None
    answer = await client.post(
        TMF_CANCEL,
        **({"content": raw} if raw else {"json": {"productOrder": value}}),  # type: ignore[arg-type]
        headers=carrier.headers | {"Content-Type": "application/json"},
    )
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
]


async def _tmf_bodies(session: AsyncSession, path: str) -> list[dict[str, Any]]:
    base = await _tmf_order(session) if path == TMF_ORDERS else {}
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
    started = time.monotonic()
    # A Sonata item holds enough objects that 200 items are near the request limits' bound.
    count = 200 if path.startswith("/mefApi") else 1000
    answer = await client.post(path, json=await make_body(session, count), headers=carrier.headers)
    assert time.monotonic() - started < 5
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
