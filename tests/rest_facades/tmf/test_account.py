"""TMF666 Account v4 through the ASGI app, checked against the official file."""

from typing import Any
from uuid import uuid4

import httpx
from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import billing, clock
from app.core.accounts import Account, BillingCycle, BillingOption
from app.core.billing import BillingAccount
from app.core.db import Database
from tests.factories import Caller, make_caller, make_order
from tests.rest_facades.tmf.conformance import check_response
from tests.statements import counting

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
    if status != 204:
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


async def test_accounts_are_kept_by_the_party_that_opens_them(
    client: httpx.AsyncClient, customer: Caller, other_customer: Caller
) -> None:
    # A party we do not know is a reference kept as given, not the owner.
    stranger = {"@referredType": "Organization", "id": "4665", "name": "John Doe"}
    for resource in ("partyAccount", "financialAccount", "settlementAccount"):
        one, many = f"/{resource}/{{id}}", f"/{resource}"
        created = await _call(
            client,
            customer,
            "post",
            many,
            many,
            201,
            {"name": "Travel account", "accountType": "travel", "relatedParty": [stranger]},
        )
        travel = created.json()
        assert created.headers["location"] == travel["href"]
        assert [p["id"] for p in travel["relatedParty"]] == ["4665", customer.party_id]
        path = f"/{resource}/{travel['id']}"
        read = await _call(client, customer, "get", path, one, 200)
        assert read.json() == travel
        await _call(
            client, customer, "post", many, many, 201, {"name": "Other", "relatedParty": [stranger]}
        )
        for query in ({"name": "Travel account"}, {"accountType": "travel"}, {"id": travel["id"]}):
            found = await _call(client, customer, "get", many, many, 200, **query)
            assert [a["id"] for a in found.json()] == [travel["id"]], query
            assert found.headers["x-total-count"] == "1"
        names = await _call(client, customer, "get", many, many, 200, fields="name")
        # Trimmed to `name` and what the resource must always carry.
        for trimmed in names.json():
            assert {"id", "href", "@type", "name"} <= set(trimmed)
            assert set(trimmed) <= {"id", "href", "@type", "name", "relatedParty"}

        # Every attribute of <Resource>_Update, by merge patch.
        patch: dict[str, Any] = {
            "description": "Trips",
            "state": "closed",
            "creditLimit": {"unit": "USD", "value": 500},
            "accountRelationship": [
                {
                    "relationshipType": "parent",
                    "account": {"id": "acct_x", "name": "Main"},
                    "validFor": {"startDateTime": "2026-01-01T00:00:00Z"},
                }
            ],
            "contact": [
                {"contactType": "primary", "validFor": {"startDateTime": "2026-01-01T00:00:00Z"}}
            ],
            "taxExemption": [{"issuingJurisdiction": "US", "validFor": {}}],
        }
        if resource != "financialAccount":
            patch |= {
                "paymentStatus": "paid",
                "defaultPaymentMethod": {"id": "pm-1"},
                "paymentPlan": [{"numberOfPayments": 2, "planType": "split"}],
            }
        patched = await _call(client, customer, "patch", path, one, 200, patch)
        for name, value in patch.items():
            assert patched.json()[name] == value, name
        assert patched.json()["name"] == "Travel account"
        closed = await _call(client, customer, "get", many, many, 200, state="closed")
        assert [a["id"] for a in closed.json()] == [travel["id"]]
        wrong = await _call(client, customer, "patch", path, one, 400, {"state": "gone"})
        assert "state" in wrong.json()["reason"]

        # Another party's accounts do not exist for it.
        await _call(client, other_customer, "get", path, one, 404)
        await _call(client, other_customer, "patch", path, one, 404, {"name": "Mine"})
        await _call(client, other_customer, "delete", path, one, 404)
        theirs = await _call(client, other_customer, "get", many, many, 200)
        assert theirs.json() == []
        await _call(client, customer, "delete", path, one, 204)
        await _call(client, customer, "get", path, one, 404)


async def test_only_a_party_that_may_names_another_owner(
    client: httpx.AsyncClient,
    session: AsyncSession,
    ops: Caller,
    customer: Caller,
    other_customer: Caller,
) -> None:
    carrier = await make_caller(
        session, "carrier", name="Northwind Carrier", acting_for=[customer.party_id]
    )

    def owned_by(party: Caller) -> dict[str, Any]:
        party_ref = {"id": party.party_id, "name": "X", "@referredType": "Organization"}
        return {"name": "Billing", "relatedParty": [party_ref]}

    # A buyer the carrier acts for owns the account it opens for it.
    for_buyer = await _call(
        client, carrier, "post", "/billingAccount", "/billingAccount", 201, owned_by(customer)
    )
    path = f"/billingAccount/{for_buyer.json()['id']}"
    await _call(client, customer, "get", path, "/billingAccount/{id}", 200)
    # Another party of ours is only a reference: the account stays the carrier's.
    for_other = await _call(
        client,
        carrier,
        "post",
        "/billingAccount",
        "/billingAccount",
        201,
        owned_by(other_customer),
    )
    other_path = f"/billingAccount/{for_other.json()['id']}"
    await _call(client, other_customer, "get", other_path, "/billingAccount/{id}", 404)
    owners = [p for p in for_other.json()["relatedParty"] if p.get("role") == "owner"]
    assert [p["id"] for p in owners] == [carrier.party_id]
    # Operations staff open accounts for any existing party.
    by_ops = await _call(
        client, ops, "post", "/partyAccount", "/partyAccount", 201, owned_by(other_customer)
    )
    await _call(
        client,
        other_customer,
        "get",
        f"/partyAccount/{by_ops.json()['id']}",
        "/partyAccount/{id}",
        200,
    )


async def test_formats_media_and_cycles_of_the_platform_and_of_a_party(
    client: httpx.AsyncClient, ops: Caller, customer: Caller, other_customer: Caller
) -> None:
    for resource, standard, extra in (
        ("billingCycleSpecification", "monthly-day-1", {"frequency": "weekly"}),
        ("billFormat", "pdf", {}),
        ("billPresentationMedia", "email", {}),
    ):
        one, many = f"/{resource}/{{id}}", f"/{resource}"
        listed = await _call(client, customer, "get", many, many, 200)
        assert standard in {i["id"] for i in listed.json()}
        await _call(client, customer, "get", f"/{resource}/{standard}", one, 200)
        await _call(client, customer, "get", f"/{resource}/nope", one, 404)
        created = await _call(
            client, customer, "post", many, many, 201, {"name": "Detailed", **extra}
        )
        mine = created.json()
        path = f"/{resource}/{mine['id']}"
        assert created.headers["location"] == mine["href"]
        found = await _call(client, customer, "get", many, many, 200, name="Detailed")
        assert [i["id"] for i in found.json()] == [mine["id"]]
        patched = await _call(
            client, customer, "patch", path, one, 200, {"description": "With every line"}
        )
        assert patched.json()["description"] == "With every line"
        # Only the party that added it sees it; the platform's own change by operations staff.
        await _call(client, other_customer, "get", path, one, 404)
        await _call(client, other_customer, "patch", path, one, 404, {"name": "Mine"})
        await _call(client, other_customer, "delete", path, one, 404)
        theirs = await _call(client, other_customer, "get", many, many, 200, name="Detailed")
        assert theirs.json() == []
        standard_path = f"/{resource}/{standard}"
        await _call(client, customer, "patch", standard_path, one, 403, {"description": "x"})
        await _call(client, customer, "delete", standard_path, one, 403)
        await _call(client, ops, "patch", standard_path, one, 200, {"description": "Ours"})
        await _call(client, customer, "delete", path, one, 204)
        await _call(client, customer, "get", path, one, 404)
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
    week = await _call(
        client,
        customer,
        "post",
        "/billingCycleSpecification",
        "/billingCycleSpecification",
        201,
        {
            "name": "Weekly",
            "billingDateShift": 2,
            "validFor": {"startDateTime": "2026-01-01T00:00:00Z"},
        },
    )
    assert week.json()["validFor"] == {"startDateTime": "2026-01-01T00:00:00Z"}


async def test_a_billing_account_is_opened_and_renamed(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, other_customer: Caller
) -> None:
    owner = {"id": customer.party_id, "name": "Nimbus Labs", "@referredType": "Organization"}
    for body, missing in (({"relatedParty": [owner]}, "name"), ({"name": "Lab"}, "relatedParty")):
        refused = await _call(
            client, customer, "post", "/billingAccount", "/billingAccount", 400, body
        )
        assert missing in refused.json()["reason"]
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
    closed = await _call(
        client, customer, "patch", path, "/billingAccount/{id}", 200, {"state": "closed"}
    )
    assert closed.json()["state"] == "closed"
    await _call(
        client, other_customer, "patch", path, "/billingAccount/{id}", 404, {"name": "Mine"}
    )
    still = await _call(client, customer, "get", path, "/billingAccount/{id}", 200)
    assert still.json()["name"] == "Lab application/json"
    await _call(client, other_customer, "delete", path, "/billingAccount/{id}", 404)
    await _call(client, customer, "delete", path, "/billingAccount/{id}", 204)
    await _call(client, customer, "get", path, "/billingAccount/{id}", 404)
    # The default account, which bills the products, stays.
    default = await billing.ensure_account(session, party_id=customer.party_id)
    await session.commit()
    kept = await _call(
        client, customer, "delete", f"/billingAccount/{default.id}", "/billingAccount/{id}", 409
    )
    assert "closed" in kept.json()["reason"]


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


async def _statements_of_lists(
    client: httpx.AsyncClient, database: Database, caller: Caller
) -> list[int]:
    counts = []
    for resource in ("partyAccount", "billingAccount", "billFormat", "billingCycleSpecification"):
        with counting(database) as statements:
            listed = await _call(
                client, caller, "get", f"/{resource}", f"/{resource}", 200, limit="5", offset="3"
            )
        assert len(listed.json()) == 5
        counts.append(len(statements))
    return counts


async def test_lists_page_in_the_database(
    client: httpx.AsyncClient, database: Database, session: AsyncSession, customer: Caller
) -> None:
    async def keep(count: int) -> None:
        now = clock.now()
        owned = {"party_id": customer.party_id, "created_at": now}
        accounts = [
            {"id": f"acct_{uuid4().hex[:16]}", "name": f"Account {n}", "kind": "party"}
            | {"credit_limit_value": 10.0 * count, "credit_limit_unit": "USD"}
            for n in range(count)
        ]
        await session.exec(
            insert(Account), params=[a | owned | {"state": "active"} for a in accounts]
        )
        billing_accounts = [
            {"id": f"ba_{uuid4().hex[:16]}", "name": f"Billing {n}", "is_default": False}
            for n in range(count)
        ]
        defaults = {"state": "active", "currency": "USD", "payment_terms_days": 30}
        await session.exec(
            insert(BillingAccount),
            params=[a | owned | defaults | {"bill_cycle_day": 1} for a in billing_accounts],
        )
        formats = [
            {"id": f"bopt_{uuid4().hex[:16]}", "name": f"Format {n}", "kind": "format"}
            for n in range(count)
        ]
        await session.exec(insert(BillingOption), params=[f | owned for f in formats])
        cycles = [{"id": f"cyc_{uuid4().hex[:16]}", "name": f"Cycle {n}"} for n in range(count)]
        await session.exec(insert(BillingCycle), params=[c | owned for c in cycles])
        await session.commit()

    await keep(10)
    few = await _statements_of_lists(client, database, customer)
    await keep(990)
    many = await _statements_of_lists(client, database, customer)
    assert many == few, (few, many)
    # The key, its party and agencies; the count; the page; the owners' names; the parties the
    # accounts name.
    assert max(few) <= 7
    total = await _call(client, customer, "get", "/partyAccount", "/partyAccount", 200)
    assert total.headers["x-total-count"] == "1000"
    # The credit limit and the owner (a related party without a row of its own) filter in SQL:
    # the counts are exact.
    generous = await _call(
        client,
        customer,
        "get",
        "/partyAccount",
        "/partyAccount",
        200,
        limit="2",
        **{"creditLimit.value.gt": "500", "relatedParty.role": "owner"},
    )
    assert generous.headers["x-total-count"] == "990"
    assert generous.json()[0]["creditLimit"] == {"value": 9900.0, "unit": "USD"}


async def test_a_billing_cycle_offset_beyond_ten_years_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    path = "/billingCycleSpecification"
    before = await _call(client, customer, "get", path, path, 200)
    # Beyond 64 bits, beyond 32 bits and just beyond the bound: each a TMF 400 naming the field.
    for offset in (-15501454953681612800, 2**40, 3661):
        refused = await _call(
            client, customer, "post", path, path, 400, {"name": "Odd", "mailingDateOffset": offset}
        )
        assert "mailingDateOffset" in refused.json()["reason"]
    after = await _call(client, customer, "get", path, path, 200)
    assert after.headers["x-total-count"] == before.headers["x-total-count"]

    cycle = await _call(
        client, customer, "post", path, path, 201, {"name": "Long", "chargeDateOffset": 3660}
    )
    one = f"{path}/{cycle.json()['id']}"
    response = await client.patch(
        f"{BASE}{one}", headers=customer.headers, json={"chargeDateOffset": 2**63}
    )
    assert response.status_code == 400, response.text
    kept = await _call(client, customer, "get", one, f"{path}/{{id}}", 200)
    assert kept.json()["chargeDateOffset"] == 3660
