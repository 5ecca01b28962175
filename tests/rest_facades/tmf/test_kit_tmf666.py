"""TMF666 Account v4 as its conformance kit runs it, through the ASGI app."""

from typing import Any

import httpx
import pytest

from tests.factories import Caller
from tests.rest_facades.tmf.kit import Kit

SPEC = "TMF666-AccountManagement-v4"
BASE = "/tmf-api/accountManagement/v4"
# The kit's body of each account: a name and a related organization (one we do not know).
ACCOUNTS = {
    "partyAccount": ("Travel account", "4665", "John Doe"),
    "billingAccount": ("Home Account", "6838", "Richard Cole"),
    "settlementAccount": ("Per Usage Account", "5965", "Jimmy Doe"),
}
# The kit's body of each resource that is only named (financial accounts, and what describes
# how a party is billed: the platform's, and those a party adds).
NAMED = {
    "financialAccount": "Administration account",
    "billFormat": "Detailed invoice",
    "billPresentationMedia": "Paper by post",
    "billingCycleSpecification": "Monthly billing",
}


async def _run(kit: Kit, body: dict[str, Any], patch: dict[str, Any]) -> None:
    """The kit's steps (two alike, read, list, filter, select, 404) then patch and delete."""
    first = await kit.create(body)
    second = await kit.create(body)
    assert first["id"] != second["id"]
    await kit.filters_and_fields(first)
    await kit.unknown_is_404()
    patched = await kit.patch(first, patch)
    await kit.filters_and_fields(patched)
    await kit.delete(second)


@pytest.mark.parametrize("resource", sorted(ACCOUNTS))
async def test_the_kits_accounts_are_opened_read_listed_filtered_patched_and_deleted(
    client: httpx.AsyncClient, customer: Caller, resource: str
) -> None:
    name, party_id, party_name = ACCOUNTS[resource]
    related = {"@referredType": "Organization", "id": party_id, "name": party_name}
    kit = Kit(
        client, customer, SPEC, BASE, resource, mandatory=("name", "relatedParty", "href", "id")
    )
    await _run(
        kit,
        {"name": name, "relatedParty": [related]},
        {"description": "Kept by the kit", "state": "closed"},
    )


@pytest.mark.parametrize("resource", sorted(NAMED))
async def test_the_kits_named_resources_are_added_read_listed_filtered_patched_and_deleted(
    client: httpx.AsyncClient, customer: Caller, resource: str
) -> None:
    kit = Kit(client, customer, SPEC, BASE, resource, mandatory=("name", "href", "id"))
    await _run(kit, {"name": NAMED[resource]}, {"description": "Kept by the kit"})


@pytest.mark.parametrize(
    "resource", ["billFormat", "billPresentationMedia", "billingCycleSpecification"]
)
async def test_operations_staff_run_the_kit_on_the_platforms_billing_descriptions(
    client: httpx.AsyncClient, ops: Caller, resource: str
) -> None:
    kit = Kit(client, ops, SPEC, BASE, resource, mandatory=("name", "href", "id"))
    await _run(kit, {"name": NAMED[resource]}, {"description": "The platform's"})
