"""TMF673 Geographic Address v4: the address book as geographic addresses, and address
validation kept per party so that it can be read back.

A PATCH of a validation that changes `submittedGeographicAddress` or `provideAlternative`
validates the address again under the same id; the outcome (`state`, `validationDate`,
`validationResult`, the valid and alternate addresses) is the seller's and may only be repeated."""

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import geography
from app.core.events import Event
from app.core.geography import (
    AddressCheck,
    AddressCheckField,
    AddressInput,
    Location,
    LocationField,
    MatchQuality,
)
from app.core.paging import Condition, Operator
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import (
    Attribute,
    Filter,
    as_date_time,
    as_text,
    by_name,
    constant,
    linked,
    merge_patch,
)
from rest_facades.tmf.common import TMFQueryDep, href, iso, listed, resource
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.generated import geographic_address as tmf
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes
from rest_facades.tmf.patching import refuse_sellers_changes

BASE = "/tmf-api/geographicAddressManagement/v4"
RESULTS = {
    MatchQuality.EXACT: "success",
    MatchQuality.PARTIAL: "partial",
    MatchQuality.NONE: "fails",
}
ADDRESS_FIELDS = {
    "streetNr": "street_number",
    "streetName": "street_name",
    "city": "city",
    "stateOrProvince": "state",
    "postcode": "postcode",
    "country": "country",
}


def address_view(request: Request, location: Location) -> dict[str, Any]:
    """A location of the address book as a TMF673 GeographicAddress."""
    street_type = location.street_name.rsplit(" ", 1)[-1]
    return {
        "id": location.id,
        "href": href(request, BASE, "geographicAddress", location.id),
        "@type": "GeographicAddress",
        "name": location.name,
        "streetNr": location.street_number,
        "streetName": location.street_name,
        "streetType": street_type,
        "city": location.city,
        "stateOrProvince": location.state,
        "postcode": location.postcode,
        "country": location.country,
        "geographicLocation": {
            "@type": "GeoJsonPoint",
            "coordinates": [location.longitude, location.latitude],
        },
        "geographicSubAddress": [],
    }


def submitted_view(address: AddressInput) -> dict[str, Any]:
    """An address as it was submitted, in TMF673 form."""
    view: dict[str, Any] = {"@type": "GeographicAddress"}
    if address.text:
        view["name"] = address.text
    for name, core in ADDRESS_FIELDS.items():
        value = getattr(address, core)
        if value:
            view[name] = value
    return view


def validation_view(
    request: Request, check: AddressCheck, locations: dict[str, Location]
) -> dict[str, Any]:
    """A kept validation as a TMF673 GeographicAddressValidation."""
    view: dict[str, Any] = {
        "id": check.id,
        "href": href(request, BASE, "geographicAddressValidation", check.id),
        "@type": "GeographicAddressValidation",
        "state": "done",
        "provideAlternative": check.provide_alternatives,
        "validationDate": iso(check.created_at),
        "validationResult": RESULTS[check.quality],
        "submittedGeographicAddress": submitted_view(check.query),
        "alternateGeographicAddress": [
            address_view(request, locations[i]) for i in check.alternates if i in locations
        ],
    }
    if check.best_location_id in locations:
        view["validGeographicAddress"] = address_view(request, locations[check.best_location_id])
    return view


def _address_input(body: dict[str, Any]) -> AddressInput:
    submitted = body.get("submittedGeographicAddress")
    if not isinstance(submitted, dict):
        raise TMFError(400, "MISSING_ATTRIBUTE", "submittedGeographicAddress is mandatory")
    if not isinstance(body.get("provideAlternative"), bool):
        raise TMFError(400, "MISSING_ATTRIBUTE", "provideAlternative is mandatory (a boolean)")
    values: dict[str, str | None] = {}
    for name, core in ADDRESS_FIELDS.items():
        value = submitted.get(name)
        if value is not None and not isinstance(value, str):
            raise TMFError(400, "INVALID_VALUE", f"submittedGeographicAddress.{name} is a string")
        values[core] = value
    # Our street names carry their type (`E Cermak Rd`); TMF may split it off.
    street_type = submitted.get("streetType")
    if isinstance(street_type, str) and values["street_name"]:
        values["street_name"] = f"{values['street_name']} {street_type}"
    text = submitted.get("name") if not any(values.values()) else None
    address = AddressInput(text=text if isinstance(text, str) else None, **values)
    if not address.as_text().strip():
        raise TMFError(
            400, "MISSING_ATTRIBUTE", "submittedGeographicAddress needs street, city or postcode"
        )
    return address


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """Nothing: the core records no events about address validations."""
    return None


NOTIFYING = NotifyingAPI("geographicAddress", describe)


def _number(text: str) -> tuple[float, ...]:
    """A filter value that is a coordinate; any other matches none."""
    try:
        number = float(text)
    except ValueError:
        return ()
    return (number,) if abs(number) <= 180 else ()


def _flag(text: str) -> tuple[bool, ...]:
    return {"true": (True,), "false": (False,)}.get(text.lower(), ())


# TMF673 attributes that the core's queries answer; other filters match after paging.
ADDRESS_FILTERS: dict[str, Attribute[LocationField]] = {
    "id": Attribute(LocationField.ID, as_text),
    "name": Attribute(LocationField.NAME, as_text),
    "streetNr": Attribute(LocationField.STREET_NUMBER, as_text),
    "streetName": Attribute(LocationField.STREET_NAME, as_text),
    "city": Attribute(LocationField.CITY, as_text),
    "stateOrProvince": Attribute(LocationField.STATE, as_text),
    "postcode": Attribute(LocationField.POSTCODE, as_text, ordered=True),
    "country": Attribute(LocationField.COUNTRY, as_text),
    "href": linked(LocationField.ID, BASE, "geographicAddress"),
    "@type": constant(LocationField.ID, "GeographicAddress"),
    "streetType": Attribute(LocationField.STREET_TYPE, as_text),
    "geographicLocation.@type": constant(LocationField.ID, "GeoJsonPoint"),
    "geographicLocation.coordinates": Attribute(LocationField.COORDINATE, _number, ordered=True),
}
VALIDATION_FILTERS: dict[str, Attribute[AddressCheckField]] = {
    "id": Attribute(AddressCheckField.ID, as_text),
    "href": linked(AddressCheckField.ID, BASE, "geographicAddressValidation"),
    "@type": constant(AddressCheckField.ID, "GeographicAddressValidation"),
    "state": constant(AddressCheckField.ID, "done"),
    "submittedGeographicAddress.@type": constant(AddressCheckField.ID, "GeographicAddress"),
    "provideAlternative": Attribute(AddressCheckField.PROVIDE_ALTERNATIVES, _flag),
    "validationResult": Attribute(AddressCheckField.QUALITY, by_name(RESULTS)),
    "validationDate": Attribute(AddressCheckField.CREATED_AT, as_date_time, ordered=True),
    # The address as it was submitted (a street type given apart is part of its street name).
    "submittedGeographicAddress.name": Attribute(AddressCheckField.SUBMITTED_TEXT, as_text),
    "submittedGeographicAddress.streetNr": Attribute(AddressCheckField.STREET_NUMBER, as_text),
    "submittedGeographicAddress.streetName": Attribute(AddressCheckField.STREET_NAME, as_text),
    "submittedGeographicAddress.city": Attribute(AddressCheckField.CITY, as_text),
    "submittedGeographicAddress.stateOrProvince": Attribute(AddressCheckField.STATE, as_text),
    "submittedGeographicAddress.postcode": Attribute(
        AddressCheckField.POSTCODE, as_text, ordered=True
    ),
    "submittedGeographicAddress.country": Attribute(AddressCheckField.COUNTRY, as_text),
}
# The addresses of the book that a validation found, each filtering by the attributes of the
# address list (`validGeographicAddress.city`, `alternateGeographicAddress.postcode.gte`, ...).
FOUND = ("validGeographicAddress", "alternateGeographicAddress")
# Every attribute of both lists filters in SQL.
AFTER_PAGE: frozenset[str] = frozenset()
# Attributes of GeographicAddressValidation_Update that the buyer may change.
BUYERS = ("submittedGeographicAddress", "provideAlternative", "@type")


async def _located(session: AsyncSession, checks: list[AddressCheck]) -> dict[str, Location]:
    """The address-book entries that validations name, in one read."""
    ids = {i for c in checks for i in c.alternates} | {
        c.best_location_id for c in checks if c.best_location_id
    }
    return await geography.get_locations(session, sorted(ids))


routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF673 geographic address"])


@routes.get("/geographicAddress", response_model=list[tmf.GeographicAddress])
async def list_addresses(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The known addresses."""
    conditions, after = query.conditions(ADDRESS_FILTERS, AFTER_PAGE)
    page = await geography.find_locations(
        session, principal=principal, conditions=conditions, offset=query.offset, limit=query.limit
    )
    views = [address_view(request, location) for location in page.items]
    return await listed(query, views, total=page.total, after=after)


@routes.get("/geographicAddress/{id}", response_model=tmf.GeographicAddress)
async def get_address(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One known address."""
    return resource(
        query, address_view(request, await geography.get_location(session, id, principal=principal))
    )


@routes.get(
    "/geographicAddress/{geographicAddressId}/geographicSubAddress",
    response_model=list[tmf.GeographicSubAddress],
)
async def list_sub_addresses(
    geographicAddressId: str, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """Sub-addresses of a known address (the address book keeps none)."""
    await geography.get_location(session, geographicAddressId, principal=principal)
    return await listed(query, [], total=0, after=[])


@routes.get(
    "/geographicAddress/{geographicAddressId}/geographicSubAddress/{id}",
    response_model=tmf.GeographicSubAddress,
)
async def get_sub_address(
    geographicAddressId: str, id: str, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """One sub-address: there are none."""
    await geography.get_location(session, geographicAddressId, principal=principal)
    raise TMFError(404, "NOT_FOUND", f"no sub-address '{id}'")


@routes.post(
    "/geographicAddressValidation",
    status_code=201,
    response_model=tmf.GeographicAddressValidation,
)
async def create_validation(
    body: tmf.GeographicAddressValidationCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Validate an address against the address book."""
    sent = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    check = await geography.check_address(
        session,
        principal=principal,
        address=_address_input(sent),
        provide_alternatives=body.provideAlternative,
    )
    view = validation_view(request, check, await _located(session, [check]))
    return tmf_json(view, status=201, headers={"Location": view["href"]})


@routes.get("/geographicAddressValidation", response_model=list[tmf.GeographicAddressValidation])
async def list_validations(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's address validations."""
    own = replace(query, filters=tuple(f for f in query.filters if f.path[0] not in FOUND))
    conditions, after = own.conditions(VALIDATION_FILTERS, AFTER_PAGE)
    found: dict[str, list[Condition[LocationField]] | None] = dict.fromkeys(FOUND)
    for name in FOUND:
        below = tuple(
            Filter(f.path[1:], f.operator, f.values)
            for f in query.filters
            if f.path[0] == name and len(f.path) > 1
        )
        if len(below) < sum(1 for f in query.filters if f.path[0] == name):
            # The address itself, not an attribute of it: no value names it.
            found[name] = [Condition(LocationField.ID, Operator.EQ, ())]
        elif below:
            found[name], rest = replace(query, filters=below).conditions(ADDRESS_FILTERS)
            after += [Filter((name, *f.path), f.operator, f.values) for f in rest]
    page = await geography.find_address_checks(
        session,
        principal=principal,
        conditions=conditions,
        best=found["validGeographicAddress"],
        alternate=found["alternateGeographicAddress"],
        offset=query.offset,
        limit=query.limit,
    )
    locations = await _located(session, page.items)
    views = [validation_view(request, check, locations) for check in page.items]
    return await listed(query, views, total=page.total, after=after)


@routes.get("/geographicAddressValidation/{id}", response_model=tmf.GeographicAddressValidation)
async def get_validation(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One of the caller's address validations."""
    check = await geography.get_address_check(session, principal=principal, check_id=id)
    return resource(query, validation_view(request, check, await _located(session, [check])))


@routes.patch("/geographicAddressValidation/{id}", response_model=tmf.GeographicAddressValidation)
async def patch_validation(
    id: str,
    body: tmf.GeographicAddressValidationUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Validate a changed address (or the same one, with or without alternatives) again."""
    check = await geography.get_address_check(session, principal=principal, check_id=id)
    current = validation_view(request, check, await _located(session, [check]))
    patch = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    merged = merge_patch(current, patch)
    refuse_sellers_changes(patch, merged, current, BUYERS)
    if any(merged.get(k) != current.get(k) for k in BUYERS):
        check = await geography.recheck_address(
            session,
            principal=principal,
            check_id=id,
            address=_address_input(merged),
            provide_alternatives=merged.get("provideAlternative") is True,
        )
    return tmf_json(validation_view(request, check, await _located(session, [check])))


add_hub_routes(routes, NOTIFYING)


def router() -> APIRouter:
    """The TMF673 endpoints."""
    return routes
