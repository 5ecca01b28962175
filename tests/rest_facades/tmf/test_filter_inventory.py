"""Every attribute that a TMF list shows, at any dotted path, filters in SQL, so that
`X-Total-Count` is exact and pages are full: each list of the twelve APIs is walked as it renders
its resources, and a filter on each attribute finds the resource it was read from and counts no
row for a value that no row shows, unless the API lists the attribute in its `AFTER_PAGE`."""

from datetime import UTC, datetime
from types import ModuleType

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import billing, clock
from rest_facades.tmf import (
    account,
    customer_bill,
    geographic_address,
    geographic_site,
    party,
    product_catalog,
    product_inventory,
    product_offering_qualification,
    product_ordering,
    quote_management,
    service_qualification,
    trouble_ticket,
)
from tests.factories import CHICAGO, Caller, location_id, make_order, make_product, make_ticket
from tests.rest_facades.tmf.kit import Kit

# Each list: its API's mapping module, the official file, and the resources it lists.
LISTS: list[tuple[ModuleType, str, tuple[str, ...]]] = [
    (
        product_catalog,
        "TMF620-ProductCatalog-v4",
        ("productSpecification", "productOffering", "productOfferingPrice", "category", "catalog"),
    ),
    (trouble_ticket, "TMF621-TroubleTicket-v4", ("troubleTicket",)),
    (product_ordering, "TMF622-ProductOrdering-v4", ("productOrder", "cancelProductOrder")),
    (party, "TMF632-PartyManagement-v4", ("individual", "organization")),
    (product_inventory, "TMF637-ProductInventory-v4", ("product",)),
    (
        service_qualification,
        "TMF645-ServiceQualification-v4",
        ("checkServiceQualification", "queryServiceQualification"),
    ),
    (quote_management, "TMF648-QuoteManagement-v4", ("quote",)),
    (
        account,
        "TMF666-AccountManagement-v4",
        (
            "partyAccount",
            "billingAccount",
            "billFormat",
            "billPresentationMedia",
            "billingCycleSpecification",
        ),
    ),
    (
        geographic_address,
        "TMF673-GeographicAddress-v4",
        ("geographicAddress", "geographicAddressValidation"),
    ),
    (geographic_site, "TMF674-GeographicSite-v4", ("geographicSite",)),
    (
        customer_bill,
        "TMF678-CustomerBill-v4",
        ("customerBill", "customerBillOnDemand", "appliedCustomerBillingRate"),
    ),
    (
        product_offering_qualification,
        "TMF679-ProductOfferingQualification-v4",
        ("productOfferingQualification",),
    ),
]


async def _post(client: httpx.AsyncClient, caller: Caller, path: str, body: object) -> None:
    made = await client.post(path, headers=caller.headers, json=body)
    assert made.status_code == 201, f"{path}: {made.text}"


async def _resources_of_every_kind(
    client: httpx.AsyncClient, session: AsyncSession, customer: Caller, ops: Caller
) -> None:
    """One resource (at least) of every list, for the customer."""
    moment = datetime(2026, 3, 3, tzinfo=UTC)
    clock.set_clock(lambda: moment)
    placed = await make_order(session, customer)
    await make_product(session, customer)
    await make_ticket(session, customer)
    moment = datetime(2026, 4, 2, tzinfo=UTC)
    assert await billing.run_cycle(session, principal=ops.principal, year=2026, month=3) >= 1
    [bills] = await billing.list_accounts(session, principal=customer.principal)
    chicago = await location_id(session, CHICAGO)
    place = [{"id": chicago, "role": "aEnd"}]
    service = {
        "serviceSpecification": {"id": "internet-access"},
        "place": place,
        "serviceCharacteristic": [{"name": "bandwidth", "value": 100}],
    }
    for path, body in (
        (
            f"{customer_bill.BASE}/customerBillOnDemand",
            {"name": "mid-month", "billingAccount": {"id": bills.id}},
        ),
        (
            f"{product_ordering.BASE}/cancelProductOrder",
            {"productOrder": {"id": placed.order.id}, "cancellationReason": "changed plans"},
        ),
        (f"{party.BASE}/individual", {"givenName": "Ana", "familyName": "Silva"}),
        (
            f"{account.BASE}/partyAccount",
            {
                "name": "Ops",
                "relatedParty": [
                    {
                        "id": customer.party_id,
                        "name": "Nimbus",
                        "role": "owner",
                        "@referredType": "Organization",
                    }
                ],
            },
        ),
        (
            f"{service_qualification.BASE}/checkServiceQualification",
            {"serviceQualificationItem": [{"id": "1", "service": service}]},
        ),
        (
            f"{service_qualification.BASE}/queryServiceQualification",
            {"searchCriteria": {"service": {"place": place}}},
        ),
        (
            f"{product_offering_qualification.BASE}/productOfferingQualification",
            {
                "place": place,
                "productOfferingQualificationItem": [
                    {"id": "1", "productOffering": {"id": "internet-access"}}
                ],
            },
        ),
        (
            f"{quote_management.BASE}/quote",
            {
                "quoteItem": [
                    {
                        "id": "1",
                        "action": "add",
                        "productOffering": {"id": "internet-access"},
                        "product": {
                            "place": [{"id": chicago, "role": "aEnd"}],
                            "productCharacteristic": [
                                {"name": "bandwidth", "value": 100},
                                {"name": "termMonths", "value": 12},
                            ],
                        },
                    }
                ]
            },
        ),
        (
            f"{geographic_address.BASE}/geographicAddressValidation",
            {
                "provideAlternative": False,
                "submittedGeographicAddress": {"streetNr": "350", "streetName": "E Cermak Rd"},
            },
        ),
    ):
        await _post(client, customer, path, body)


@pytest.mark.parametrize(("module", "spec", "resources"), LISTS, ids=[s for _, s, _ in LISTS])
async def test_every_attribute_a_list_shows_filters_in_sql(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Caller,
    ops: Caller,
    module: ModuleType,
    spec: str,
    resources: tuple[str, ...],
) -> None:
    await _resources_of_every_kind(client, session, customer, ops)
    for resource in resources:
        kit = Kit(client, customer, spec, module.BASE, resource)
        listed = await kit.call("GET", f"/{resource}", 200, params={"limit": "2"})
        assert listed.json(), f"no {resource} to walk"
        for instance in listed.json():
            await kit.filters_in_sql(instance)
