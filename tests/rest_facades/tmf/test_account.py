"""TMF666 Account v4 through the ASGI app, checked against the official file."""

from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import billing
from tests.factories import Caller, make_caller, make_order
from tests.rest_facades.tmf.conformance import check_response

SPEC = "TMF666-AccountManagement-v4"
BASE = "/tmf-api/accountManagement/v4"


async def _call(
    client: httpx.AsyncClient,
    caller: Caller,
    method: str,
    path: str,
    template: str,
    status: int,
    body: dict[str, Any] | None = None,
    /,
    **params: str,
) -> httpx.Response:
    response = await client.request(
        method, f"{BASE}{path}", headers=caller.headers, json=body, params=params
    )
    assert response.status_code == status, response.text
    check_response(SPEC, template, method, status, response.json())
    return response


async def test_billing_accounts_are_the_core_accounts_of_the_caller(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    empty = await _call(client, customer, "get", "/billingAccount", "/billingAccount", 200)
    assert empty.json() == []
    assert empty.headers["x-total-count"] == "0"
    await make_order(session, customer)
    await make_order(session, other_customer)
    [core] = await billing.list_accounts(session, principal=customer.principal)

    listed = await _call(client, customer, "get", "/billingAccount", "/billingAccount", 200)
    [account] = listed.json()
    assert account["id"] == core.id
    assert account["relatedParty"][0]["id"] == customer.party_id
    assert account["relatedParty"][0]["name"] == "Nimbus Labs"
    assert account["billStructure"]["cycleSpecification"]["id"] == "monthly-day-1"
    filtered = await _call(
        client,
        customer,
        "get",
        "/billingAccount",
        "/billingAccount",
        200,
        **{"relatedParty.name": "Nimbus Labs", "lastModified.lte": "2999-01-01T00:00:00Z"},
        fields="state,name,relatedParty",
    )
    assert filtered.json() == [
        {
            "id": core.id,
            "href": account["href"],
            "@type": "BillingAccount",
            "state": "active",
            "name": account["name"],
            "relatedParty": account["relatedParty"],
        }
    ]
    none = await _call(
        client, customer, "get", "/billingAccount", "/billingAccount", 200, state="closed"
    )
    assert none.json() == []

    read = await _call(
        client, customer, "get", f"/billingAccount/{core.id}", "/billingAccount/{id}", 200
    )
    assert read.json() == account
    await _call(client, customer, "get", "/billingAccount/ba_nope", "/billingAccount/{id}", 404)
    [theirs] = await billing.list_accounts(session, principal=other_customer.principal)
    await _call(
        client, customer, "get", f"/billingAccount/{theirs.id}", "/billingAccount/{id}", 404
    )


async def test_derived_accounts_follow_the_visible_parties(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    carrier = await make_caller(
        session, "carrier", name="Northwind Carrier", acting_for=[customer.party_id]
    )
    for resource in ("partyAccount", "financialAccount"):
        listed = await _call(client, carrier, "get", f"/{resource}", f"/{resource}", 200)
        assert {a["relatedParty"][0]["id"] for a in listed.json()} == {
            carrier.party_id,
            customer.party_id,
        }
        first = listed.json()[0]
        read = await _call(
            client, carrier, "get", f"/{resource}/{first['id']}", f"/{resource}/{{id}}", 200
        )
        assert read.json() == first
        await _call(
            client, other_customer, "get", f"/{resource}/{first['id']}", f"/{resource}/{{id}}", 404
        )
        trimmed = await _call(
            client,
            carrier,
            "get",
            f"/{resource}",
            f"/{resource}",
            200,
            accountType="carrier",
            fields="name,relatedParty",
        )
        assert [set(a) for a in trimmed.json()] == [{"id", "href", "@type", "name", "relatedParty"}]
    settlement = await _call(
        client, carrier, "get", "/settlementAccount", "/settlementAccount", 200
    )
    [only] = settlement.json()
    assert only["relatedParty"][0]["id"] == carrier.party_id
    await _call(
        client,
        carrier,
        "get",
        f"/settlementAccount/settle-{customer.party_id}",
        "/settlementAccount/{id}",
        404,
    )
    await _call(client, carrier, "get", "/partyAccount/nope", "/partyAccount/{id}", 404)


async def test_cycles_formats_and_media_are_constants(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    for resource, known in (
        ("billingCycleSpecification", "monthly-day-1"),
        ("billFormat", "pdf"),
        ("billPresentationMedia", "email"),
    ):
        listed = await _call(client, customer, "get", f"/{resource}", f"/{resource}", 200)
        assert known in {i["id"] for i in listed.json()}
        await _call(client, customer, "get", f"/{resource}/{known}", f"/{resource}/{{id}}", 200)
        await _call(client, customer, "get", f"/{resource}/nope", f"/{resource}/{{id}}", 404)
    cycle = await _call(
        client,
        customer,
        "get",
        "/billingCycleSpecification",
        "/billingCycleSpecification",
        200,
        **{"paymentDueDateOffset.gte": "30"},
    )
    assert cycle.json()[0]["frequency"] == "monthly"


async def test_changes_are_refused_but_for_billing_accounts(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    refused = await _call(
        client,
        customer,
        "post",
        "/partyAccount",
        "/partyAccount",
        405,
        {"name": "Second", "relatedParty": [{"id": customer.party_id}]},
    )
    assert refused.json()["code"] == "METHOD_NOT_ALLOWED"
    await _call(client, customer, "patch", "/billFormat/pdf", "/billFormat/{id}", 405, {})
    await _call(client, customer, "delete", "/partyAccount/x", "/partyAccount/{id}", 405)
    await _call(client, customer, "delete", "/billingAccount/x", "/billingAccount/{id}", 405)


async def test_a_billing_account_is_opened_and_renamed(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    owner = {"id": customer.party_id, "name": "Nimbus Labs", "@referredType": "Organization"}
    for body in ({"relatedParty": [owner]}, {"name": "Lab"}):
        missing = await _call(
            client, customer, "post", "/billingAccount", "/billingAccount", 400, body
        )
        assert missing.json()["code"] == "MISSING_ATTRIBUTE"
    created = await _call(
        client,
        customer,
        "post",
        "/billingAccount",
        "/billingAccount",
        201,
        {"name": "Lab", "relatedParty": [owner]},
    )
    lab = created.json()
    assert created.headers["location"] == lab["href"]
    assert lab["accountType"] == "additional"
    # The same core row.
    [core] = await billing.list_accounts(session, principal=customer.principal)
    assert core.id == lab["id"]
    foreign = {**owner, "id": other_customer.party_id}
    # Another party is no owner the caller may name: a bad reference, not a missing resource.
    unknown_owner = await _call(
        client,
        customer,
        "post",
        "/billingAccount",
        "/billingAccount",
        400,
        {"name": "Theirs", "relatedParty": [foreign]},
    )
    assert unknown_owner.json()["code"] == "NOT_FOUND"

    path = f"/billingAccount/{lab['id']}"
    for content_type in ("application/merge-patch+json", "application/json"):
        patched = await client.patch(
            f"{BASE}{path}",
            headers={**customer.headers, "Content-Type": content_type},
            content=f'{{"name": "Lab {content_type}"}}',
        )
        assert patched.status_code == 200, patched.text
        check_response(SPEC, "/billingAccount/{id}", "patch", 200, patched.json())
        assert patched.json()["name"] == f"Lab {content_type}"
    not_patchable = await _call(
        client, customer, "patch", path, "/billingAccount/{id}", 400, {"state": "closed"}
    )
    assert not_patchable.json()["code"] == "NOT_PATCHABLE"
    await _call(
        client, other_customer, "patch", path, "/billingAccount/{id}", 404, {"name": "Mine"}
    )
    still = await _call(client, customer, "get", path, "/billingAccount/{id}", 200)
    assert still.json()["name"] == "Lab application/json"


async def test_listeners_register_and_unregister_at_the_hub(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    registered = await client.post(
        f"{BASE}/hub", headers=customer.headers, json={"callback": "https://listener.example.com"}
    )
    assert registered.status_code == 201, registered.text
    check_response(SPEC, "/hub", "post", 201, registered.json())
    hub_id = registered.json()["id"]
    removed = await client.delete(f"{BASE}/hub/{hub_id}", headers=customer.headers)
    assert removed.status_code == 204
    again = await client.delete(f"{BASE}/hub/{hub_id}", headers=customer.headers)
    assert again.status_code == 404
    check_response(SPEC, "/hub/{id}", "delete", 404, again.json())
