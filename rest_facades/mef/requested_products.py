"""What POQ and quote items share: a MEF product (offering, configuration, places) as a core
`ProductSpec`, and a core item's product, places and intervals back in MEF form."""

import copy
import re
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.core import catalog, geography
from app.core.catalog import ProductKind, ProductSpec
from app.core.errors import NotFound
from app.core.geography import Location
from app.core.inventory import get_product
from app.core.journeys import OFFERING_FOR_KIND
from app.core.qualification import ItemDetails
from rest_facades.mef import geographic_address
from rest_facades.mef.errors import from_validation_error
from rest_facades.mef.flavours import Flavour
from rest_facades.mef.products import bandwidth_mbps, check_configuration, kind_of, product_types
from rest_facades.mef.requests import Caller

Problems = list[tuple[str, str, str]]
Model = TypeVar("Model", bound=BaseModel)

# Characteristics a request may leave out. A configuration without a committed information
# rate (`cir`) is priced at these speeds; a POQ item, which carries no term, for this term.
DEFAULT_MBPS = {
    ProductKind.ETHERNET_LINE: 1000,
    ProductKind.ETHERNET_PORT: 10000,
    ProductKind.INTERNET_ACCESS: 100,
}
DEFAULT_TERM_MONTHS = 12
PLACE_TYPES = (
    "FieldedAddress",
    "FormattedAddress",
    "GeographicAddressLabel",
    "GeographicAddressRef",
    "GeographicSiteRef",
    "MEFGeographicPoint",
)
PLACE_ROLE = "INSTALL_LOCATION"
# MEF 79 and MEF 80 ask the Seller to name its contact in every answer.
SELLER_CONTACT = {
    "role": "sellerContactInformation",
    "name": "Lumen Sales Desk",
    "organization": "Lumen",
    "emailAddress": "sales@lumen.example",
    "number": "+1 000 000 0000",
}
_KIND_OF_OFFERING = {offering: kind for kind, offering in OFFERING_FOR_KIND.items()}
_ITEM_FIELD = re.compile(r"items\[(\d+)\](?:\.(\w+))?$")


def iso(moment: datetime | None) -> str | None:
    """A timestamp as MEF writes it (`Z` for UTC)."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def days(amount: int) -> dict[str, Any]:
    """A MEF Duration of calendar days."""
    return {"amount": amount, "units": "calendarDays"}


def contacts(sent: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The buyer's contacts as sent, and the seller's."""
    return [*(sent or []), SELLER_CONTACT]


def kept_item(item: dict[str, Any], keys: tuple[str, ...]) -> ItemDetails:
    """What the core keeps of a MEF item: its id, configuration, and the rest of its product and
    the `keys` as sent."""
    product = item.get("product") or {}
    annotations = {k: item[k] for k in keys if k in item}
    if product:
        annotations["product"] = {k: v for k, v in product.items() if k != "productConfiguration"}
    return ItemDetails(
        external_id=item["id"],
        configuration=product.get("productConfiguration"),
        annotations=annotations,
    )


def kind_of_offering(offering_id: str) -> ProductKind | None:
    """The kind of product a standard offering sells."""
    return _KIND_OF_OFFERING.get(offering_id)


def _parse_problems(error: ValidationError, where: str) -> Problems:
    root = tuple(where.strip("/").split("/")) if where else ()
    refused = from_validation_error(error, root=root)
    return [(e["code"], e["reason"], e["propertyPath"]) for e in refused.body]


def _place_problems(flavour: Flavour, api: str, place: Any, where: str) -> Problems:
    kind = place.get("@type") if isinstance(place, dict) else None
    if kind not in PLACE_TYPES:
        return [("invalidValue", f"unknown place @type '{kind}'", f"{where}/@type")]
    try:
        getattr(flavour.models(api), kind).model_validate(place)
    except ValidationError as exc:
        return _parse_problems(exc, where)
    return []


async def resolve_place(
    flavour: Flavour, api: str, caller: Caller, place: Any, where: str, *, buyer: str
) -> tuple[Location | None, Problems]:
    """The known location a MEF place names: an address ref (an address-book id, as MEF 121
    returns it), a site ref (one of the buyer's sites), or an address value matched exactly."""
    problems = _place_problems(flavour, api, place, where)
    if problems:
        return None, problems
    parsed = getattr(flavour.models(api), place["@type"]).model_validate(place)
    kind = place["@type"]
    session = caller.session
    if kind == "GeographicSiteRef":
        try:
            site = await geography.get_site(session, principal=caller.principal, site_id=parsed.id)
        except NotFound:
            site = None
        if site is None or site.party_id != buyer:
            return None, [("referenceNotFound", f"no site '{parsed.id}'", f"{where}/id")]
        return (await geography.get_locations(session, [site.location_id]))[site.location_id], []
    if kind == "GeographicAddressRef":
        visible = await geography.get_visible_locations(
            session, [parsed.id], principal=caller.principal
        )
        found = visible.get(parsed.id)
        if found is None:
            return None, [("referenceNotFound", f"no address '{parsed.id}'", f"{where}/id")]
        return found, []
    try:
        submitted = geographic_address.to_core(parsed)
    except ValueError:
        return None, [("invalidFormat", "coordinates must be decimal degrees", f"{where}/x")]
    _result, best, alternates = await geographic_address.match(caller, submitted)
    if best is None:
        hint = " | ".join(a.line for a in alternates[:3])
        return None, [
            (
                "referenceNotFound",
                "the place did not match a known address"
                + (f"; did you mean: {hint}" if hint else ""),
                where,
            )
        ]
    return best, []


async def requested_spec(
    flavour: Flavour,
    api: str,
    caller: Caller,
    *,
    action: str,
    product: Any,
    where: str,
    buyer: str,
    term_months: int | None,
) -> tuple[ProductSpec | None, Problems]:
    """The core product a MEF item asks about: `add` by its offering or configuration and its
    places; `modify` and `delete` by the buyer's product `id` (with a new configuration)."""
    product = product if isinstance(product, dict) else {}
    configuration = product.get("productConfiguration")
    at = f"{where}/product"
    problems: Problems = []
    if configuration is not None:
        problems += check_configuration(flavour, configuration, f"{at}/productConfiguration")
    configured = kind_of(flavour, configuration.get("@type", "")) if configuration else None
    if action != "add":
        return await _existing(
            caller,
            product,
            at,
            configured,
            action=action,
            buyer=buyer,
            term_months=term_months,
            known=problems,
        )
    if "id" in product:
        problems.append(("unexpectedProperty", "a new product has no id yet", f"{at}/id"))
    offering = None
    offered = product.get("productOffering")
    if isinstance(offered, dict) and "id" in offered:
        try:
            offering = await catalog.get_offering(caller.session, str(offered["id"]))
        except NotFound as exc:
            problems.append(("referenceNotFound", exc.message, f"{at}/productOffering/id"))
    if offering is None and configuration is None and not problems:
        problems.append(
            (
                "missingProperty",
                "a new product needs its productConfiguration or productOffering",
                f"{at}/productConfiguration",
            )
        )
    if offering is not None and configured is not None and offering.kind is not configured:
        problems.append(
            (
                "invalidValue",
                f"offering '{offering.id}' does not sell '{configuration['@type']}'",
                f"{at}/productOffering/id",
            )
        )
    kind = offering.kind if offering is not None else configured
    if kind is None or problems:
        return None, problems
    places = product.get("place") or []
    needed = 2 if kind is ProductKind.ETHERNET_LINE else 1
    if len(places) < needed:
        return None, [("missingProperty", f"this product needs {needed} place(s)", f"{at}/place")]
    if len(places) > needed:
        return None, [
            ("invalidValue", f"this product takes {needed} place(s)", f"{at}/place/{needed}")
        ]
    locations: list[Location] = []
    for index, place in enumerate(places):
        found, place_problems = await resolve_place(
            flavour, api, caller, place, f"{at}/place/{index}", buyer=buyer
        )
        problems += place_problems
        if found is not None:
            locations.append(found)
    if problems:
        return None, problems
    return ProductSpec(
        offering_id=offering.id if offering is not None else OFFERING_FOR_KIND[kind],
        a_location_id=locations[0].id,
        z_location_id=locations[1].id if needed == 2 else None,
        bandwidth_mbps=(bandwidth_mbps(configuration) if configuration else None)
        or DEFAULT_MBPS[kind],
        term_months=DEFAULT_TERM_MONTHS if term_months is None else term_months,
    ), []


async def _existing(
    caller: Caller,
    product: dict[str, Any],
    at: str,
    configured: ProductKind | None,
    *,
    action: str,
    buyer: str,
    term_months: int | None,
    known: Problems,
) -> tuple[ProductSpec | None, Problems]:
    problems = list(known)
    configuration = product.get("productConfiguration")
    if action == "delete" and configuration is not None:
        problems.append(
            (
                "unexpectedProperty",
                "an item that deletes a product carries no configuration",
                f"{at}/productConfiguration",
            )
        )
    if action == "modify" and configuration is None:
        problems.append(
            (
                "missingProperty",
                "an item that modifies a product gives its new configuration",
                f"{at}/productConfiguration",
            )
        )
    if "id" not in product:
        return None, [
            *problems,
            ("missingProperty", f"an item that does '{action}' names the product", f"{at}/id"),
        ]
    try:
        current = await get_product(
            caller.session, principal=caller.principal, product_id=str(product["id"])
        )
    except NotFound:
        current = None
    if current is None or current.party_id != buyer:
        return None, [*problems, ("referenceNotFound", f"no product '{product['id']}'", f"{at}/id")]
    if configured is not None and kind_of_offering(current.offering_id) not in (None, configured):
        problems.append(
            (
                "invalidValue",
                f"product '{current.id}' is not of that product type",
                f"{at}/productConfiguration/@type",
            )
        )
    if problems:
        return None, problems
    spec = current.spec()
    if action == "modify" and configuration:
        spec = replace(
            spec,
            bandwidth_mbps=bandwidth_mbps(configuration) or spec.bandwidth_mbps,
            term_months=spec.term_months if term_months is None else term_months,
        )
    return spec, []


def item_pointer(items: str, field: str | None, *, term: str) -> str:
    """The JSON pointer of a core refusal's field (`items[1].bandwidth_mbps`) in a MEF request
    whose item list is `items`; `term` is where an item's term lies."""
    if field == "items":
        return f"/{items}"
    found = _ITEM_FIELD.match(field or "")
    if found is None:
        return f"/{field}" if field else ""
    index, name = found.groups()
    return f"/{items}/{index}" + {
        None: "",
        "bandwidth_mbps": "/product/productConfiguration",
        "class_of_service": "/product/productConfiguration",
        "offering": "/product/productOffering/id",
        "term_months": term,
        "a_end": "/product/place/0",
        "z_end": "/product/place",
        "product_id": "/product/id",
    }.get(name, "/product")


def product_view(
    flavour: Flavour,
    caller: Caller,
    *,
    sent: dict[str, Any] | None,
    offering_id: str,
    locations: list[str | None],
    product_id: str | None = None,
) -> dict[str, Any]:
    """An item's product as the buyer sent it (without its configuration, which the caller adds
    after validation), or, for items made through other faces, built from the core item."""
    if sent:
        return {k: v for k, v in sent.items() if k != "productConfiguration"}
    view: dict[str, Any] = {
        "productOffering": {"id": offering_id},
        "place": [
            {
                "@type": "GeographicAddressRef",
                "role": PLACE_ROLE,
                "id": location,
                "href": caller.href(
                    flavour.base_path("geographic_address"), "geographicAddress", location
                ),
            }
            for location in locations
            if location
        ],
    }
    if product_id:
        view["id"] = product_id
    return view


def configuration_of(
    flavour: Flavour, stored: dict[str, Any], offering_id: str
) -> dict[str, Any] | None:
    """An item's configuration as the buyer sent it, or the bare `@type` of its offering."""
    if stored:
        return stored
    kind = kind_of_offering(offering_id)
    return {"@type": product_types(flavour)[kind]} if kind else None


def with_bandwidth(configuration: dict[str, Any], mbps: int) -> dict[str, Any]:
    """A copy of a configuration whose committed rates (`cir`) are at most `mbps`."""
    changed = copy.deepcopy(configuration)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, child in node.items():
                if name.lower() == "cir" and isinstance(child, dict) and "irValue" in child:
                    if (bandwidth_mbps({"cir": child}) or 0) > mbps:
                        child["irValue"] = mbps
                        child["irUnits"] = "MBPS"
                else:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(changed)
    return changed
