"""MEF 160 Product Offering Availability and Pricing Discovery: which configurations of the
catalog can be delivered at a place (or between two), and their prices per term, as the core's
qualification and quoting price them."""

from dataclasses import dataclass
from typing import Any

from app.core import catalog, geography, qualification
from app.core.catalog import ClassOfService, ProductKind, ProductSpec
from app.core.errors import NotFound
from app.core.geography import Location
from app.core.inventory import ProductInstance, get_product
from app.core.qualification import Assessment
from rest_facades.mef.errors import mef_json, unprocessable
from rest_facades.mef.flavours import Flavour

# Handlers take the Sonata models for both flavours (see flavours.py).
from rest_facades.mef.generated.sonata import availability_and_pricing as models
from rest_facades.mef.product_inventory import configuration
from rest_facades.mef.products import kind_of, product_types
from rest_facades.mef.requested_products import Problems, days, kind_of_offering, resolve_place
from rest_facades.mef.requests import Caller, FlavourDep, MEFCaller, dump
from rest_facades.mef.routing import mef_router

API = "availability_and_pricing"
TAG = "availability and pricing discovery (MEF 160)"
# The place types this API's files allow: references to a known address or to a buyer's site.
PLACE_TYPES = {"GeographicAddressRef", "GeographicSiteRef"}
# An identifier joins what a configuration is: offering, bandwidth and the ends it was found at.
SEPARATOR = "~"
# A MEF configuration carries no class of service that a MEF quote reads, so configurations
# are offered (and priced) at the standard class, as the quote of one then prices it.
MEF_CLASSES = (ClassOfService.STANDARD,)


@dataclass(frozen=True)
class Configuration:
    """What a `productConfigurationIdentifier` names."""

    offering_id: str
    bandwidth_mbps: int
    location_ids: tuple[str, ...]

    @property
    def identifier(self) -> str:
        """Its identifier, as the buyer passes it back to ask for prices."""
        return SEPARATOR.join((self.offering_id, str(self.bandwidth_mbps), *self.location_ids))

    @classmethod
    def parse(cls, identifier: str) -> "Configuration | None":
        """The configuration an identifier names, or None if it names none."""
        parts = identifier.split(SEPARATOR)
        if len(parts) < 3:
            return None
        offering_id, bandwidth, *locations = parts
        if not bandwidth.isdigit() or len(locations) > 2 or not all(locations):
            return None
        return cls(offering_id, int(bandwidth), tuple(locations))

    def spec(self, term_months: int) -> ProductSpec:
        """The core product of this configuration for a term."""
        return ProductSpec(
            offering_id=self.offering_id,
            a_location_id=self.location_ids[0],
            z_location_id=self.location_ids[1] if len(self.location_ids) > 1 else None,
            bandwidth_mbps=self.bandwidth_mbps,
            term_months=term_months,
            class_of_service=MEF_CLASSES[0],
        )


async def _places(
    flavour: Flavour, caller: Caller, places: list[Any], needed: int | None
) -> tuple[list[Location], Problems]:
    """The locations that the request's places name; `needed` is how many the product takes."""
    if not places:
        return [], [("missingProperty", "a new product needs its place(s)", "/place")]
    if needed is not None and len(places) != needed:
        return [], [("invalidValue", f"this product takes {needed} place(s)", "/place")]
    if len(places) > 2:
        return [], [("invalidValue", "a product takes one or two places", "/place/2")]
    buyer = caller.principal.buyer_for(caller.buyer_id, field_name="buyerId")
    locations: list[Location] = []
    problems: Problems = []
    for index, place in enumerate(places):
        where = f"/place/{index}"
        if place.get("@type") not in PLACE_TYPES:
            problems.append(
                ("invalidValue", f"a place is one of {sorted(PLACE_TYPES)}", f"{where}/@type")
            )
            continue
        found, place_problems = await resolve_place(flavour, API, caller, place, where, buyer=buyer)
        problems += place_problems
        if found is not None:
            locations.append(found)
    return locations, problems


def _unexpected(given: dict[str, Any], names: tuple[str, ...], action: str) -> Problems:
    return [
        ("unexpectedProperty", f"a request to {action} a product has no {name}", f"/{name}")
        for name in names
        if given.get(name) is not None
    ]


async def _existing(caller: Caller, product_id: str) -> ProductInstance:
    buyer = caller.principal.buyer_for(caller.buyer_id, field_name="buyerId")
    try:
        product = await get_product(
            caller.session, principal=caller.principal, product_id=product_id
        )
    except NotFound:
        product = None
    if product is None or product.party_id != buyer:
        raise unprocessable([("referenceNotFound", f"no product '{product_id}'", "/productRef/id")])
    return product


def _shown(flavour: Flavour, kind: ProductKind, found: Assessment) -> dict[str, Any]:
    """The configuration of an assessed product in this flavour's product schema."""
    # Built as inventory builds a delivered product's, from what the product is.
    spec = found.spec
    built = ProductInstance.model_construct(
        bandwidth_mbps=spec.bandwidth_mbps,
        class_of_service=spec.class_of_service,
        term_months=spec.term_months,
        monthly_cents=found.quoted_price.monthly_cents,
        one_time_cents=found.quoted_price.one_time_cents,
        configuration={},
    )
    return configuration(flavour, kind, built)


routes = mef_router()


@routes.post("/productOfferingAvailability", response_model=models.ProductOfferingAvailability)
async def offering_availability(
    body: models.ProductOfferingAvailabilityRequest, caller: MEFCaller, flavour: FlavourDep
) -> Any:
    """The configurations of the catalog that can be delivered where asked, each with its
    installation interval and the identifier to ask its prices by."""
    given = body.model_dump(mode="json", by_alias=True, exclude_none=True)
    problems: Problems = []
    kind: ProductKind | None = None
    locations: list[Location] = []
    if body.action is models.ProductActionAddModifyType.add:
        problems += _unexpected(given, ("productRef",), "add")
        if body.productSpecification is None:
            problems.append(
                (
                    "missingProperty",
                    "a new product needs its productSpecification",
                    "/productSpecification",
                )
            )
        else:
            kind = kind_of(flavour, body.productSpecification.id)
            if kind is None:
                sold = ", ".join(sorted(set(product_types(flavour).values())))
                problems.append(
                    (
                        "referenceNotFound",
                        f"no product specification '{body.productSpecification.id}'; "
                        f"sold here: {sold}",
                        "/productSpecification/id",
                    )
                )
        needed = None if kind is None else (2 if kind is ProductKind.ETHERNET_LINE else 1)
        locations, place_problems = await _places(flavour, caller, given.get("place") or [], needed)
        problems += place_problems
    else:
        problems += _unexpected(given, ("productSpecification", "place"), "modify")
        if body.productRef is None:
            problems.append(("missingProperty", "a change names the product", "/productRef"))
        if problems:
            raise unprocessable(problems)
        assert body.productRef is not None
        product = await _existing(caller, body.productRef.id)
        kind = kind_of_offering(product.offering_id)
        ids = [product.a_location_id, *([product.z_location_id] if product.z_location_id else [])]
        by_id = await geography.get_locations(caller.session, ids)
        locations = [by_id[i] for i in ids]
    if problems:
        raise unprocessable(problems)
    assert kind is not None
    assessed = await qualification.available(
        caller.session, kind=kind, locations=locations, classes_of_service=MEF_CLASSES
    )
    answer = models.ProductOfferingAvailability.model_validate(
        given
        | {
            "availableProductOfferingConfigurations": [
                {
                    "productOffering": {"id": found.offering.id},
                    "productConfiguration": _shown(flavour, kind, found),
                    "productConfigurationIdentifier": Configuration(
                        found.offering.id,
                        found.spec.bandwidth_mbps,
                        tuple(location.id for location in locations),
                    ).identifier,
                    "installationInterval": days(found.lead_time_days),
                }
                for found in assessed
            ]
        }
    )
    view = dump(answer)
    # A configuration is answered exactly as built for its product schema.
    for shown, found in zip(view["availableProductOfferingConfigurations"], assessed, strict=True):
        shown["productConfiguration"] = _shown(flavour, kind, found)
    return mef_json(view)


def _price(name: str, kind: str, cents: int, currency: str) -> dict[str, Any]:
    price: dict[str, Any] = {
        "name": name,
        "priceType": kind,
        "price": {"dutyFreeAmount": {"unit": currency, "value": cents / 100}},
    }
    if kind == "recurring":
        price["recurringChargePeriod"] = "month"
    return price


@routes.post("/pricingDiscovery", response_model=models.PricingDiscovery)
async def pricing_discovery(
    body: models.PricingDiscoveryRequest, caller: MEFCaller, flavour: FlavourDep
) -> Any:
    """The prices of a configuration for every term its offering sells, as a quote gives them."""
    given = body.model_dump(mode="json", by_alias=True, exclude_none=True)
    chosen = Configuration.parse(body.productConfigurationIdentifier)
    where = "/productConfigurationIdentifier"
    if chosen is None or kind_of_offering(chosen.offering_id) is None:
        raise unprocessable([("referenceNotFound", "no such product configuration", where)])
    adding = body.action is models.ProductActionAddModifyType.add
    if adding:
        problems = _unexpected(given, ("productRef",), "add")
        locations, place_problems = await _places(
            flavour, caller, given.get("place") or [], len(chosen.location_ids)
        )
        problems += place_problems
        if not problems and tuple(location.id for location in locations) != chosen.location_ids:
            problems.append(
                ("invalidValue", "the configuration was offered at other places", "/place")
            )
    else:
        problems = _unexpected(given, ("place",), "modify")
        if body.productRef is None:
            problems.append(("missingProperty", "a change names the product", "/productRef"))
        else:
            product = await _existing(caller, body.productRef.id)
            ends = (
                product.a_location_id,
                *([product.z_location_id] if product.z_location_id else []),
            )
            if product.offering_id != chosen.offering_id or ends != chosen.location_ids:
                problems.append(("invalidValue", "the configuration is of another product", where))
    if problems:
        raise unprocessable(problems)
    offering = await catalog.get_offering(caller.session, chosen.offering_id)
    pricing = []
    for term in catalog.terms_offered(offering):
        found = await qualification.assess(caller.session, chosen.spec(term))
        if not found.qualified:
            raise unprocessable([("invalidValue", "the configuration is not available", where)])
        # As an order charges: only a new product pays its one-time charges.
        one_time = found.quoted_price.one_time_cents if adding else 0
        pricing.append(
            {
                "identifier": f"{chosen.identifier}{SEPARATOR}{term}",
                "installationInterval": days(found.lead_time_days),
                "term": {
                    "name": f"{term} months",
                    "duration": {"amount": term, "units": "calendarMonths"},
                    "endOfTermAction": "roll",
                    "rollInterval": {"amount": 1, "units": "calendarMonths"},
                },
                "price": [
                    _price(
                        "Monthly recurring charge",
                        "recurring",
                        found.quoted_price.monthly_cents,
                        found.quoted_price.currency,
                    ),
                    _price(
                        "One-time charge", "nonRecurring", one_time, found.quoted_price.currency
                    ),
                ],
                "subjectToAdditionalNonrecurringCharges": False,
                "productOffering": {"id": offering.id},
            }
        )
    return mef_json(
        dump(models.PricingDiscovery.model_validate(given | {"pricingAndTerms": pricing}))
    )
