"""TMF632 Party v4 as its conformance kit runs it, through the ASGI app."""

import httpx

from tests.factories import Caller
from tests.rest_facades.tmf.kit import Kit

SPEC = "TMF632-PartyManagement-v4"
BASE = "/tmf-api/party/v4"
# The kit's bodies and the attributes it asks of every answer.
INDIVIDUAL = {"familyName": "Lamborgizzia", "givenName": "Jane"}
INDIVIDUAL_MANDATORY = ("familyName", "givenName", "href", "id")
ORGANIZATION = {"tradingName": "Coffee Do Brazil Fair Trade"}
ORGANIZATION_MANDATORY = ("href", "id", "tradingName")


async def test_the_kits_individuals_are_kept_read_listed_filtered_patched_and_deleted(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    kit = Kit(client, customer, SPEC, BASE, "individual", mandatory=INDIVIDUAL_MANDATORY)
    first = await kit.create(INDIVIDUAL)
    second = await kit.create(INDIVIDUAL)
    assert first["id"] != second["id"]
    await kit.filters_and_fields(first)
    await kit.unknown_is_404()
    patched = await kit.patch(first, {"givenName": "Janet", "title": "Dr"})
    await kit.filters_and_fields(patched)
    await kit.delete(second)


async def test_the_kits_organizations_are_kept_by_a_party_and_registered_by_operations(
    client: httpx.AsyncClient, customer: Caller, ops: Caller
) -> None:
    for caller in (customer, ops):
        kit = Kit(client, caller, SPEC, BASE, "organization", mandatory=ORGANIZATION_MANDATORY)
        first = await kit.create(ORGANIZATION)
        second = await kit.create(ORGANIZATION)
        assert first["id"] != second["id"]
        await kit.filters_and_fields(first)
        await kit.unknown_is_404()
        patched = await kit.patch(first, {"name": "Coffee Do Brazil Ltda"})
        await kit.filters_and_fields(patched)
        await kit.delete(second)
