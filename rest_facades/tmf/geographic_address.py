"""TMF673 Geographic Address v4: the address book as geographic addresses, and address
validation kept per party so that it can be read back."""

from typing import Any

from fastapi import APIRouter, Request, Response

from app.core import geography
from app.core.events import Event
from app.core.geography import AddressCheck, AddressInput, Location, MatchQuality
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.tmf.common import href, iso, listing, one, read_body
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes

BASE = "/tmf-api/geographicAddressManagement/v4"
RESULTS = {MatchQuality.EXACT: "success", MatchQuality.PARTIAL: "partial"}
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
    for tmf, core in ADDRESS_FIELDS.items():
        value = getattr(address, core)
        if value:
            view[tmf] = value
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
        "validationResult": RESULTS.get(check.quality, "fails"),
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
    for tmf, core in ADDRESS_FIELDS.items():
        value = submitted.get(tmf)
        if value is not None and not isinstance(value, str):
            raise TMFError(400, "INVALID_VALUE", f"submittedGeographicAddress.{tmf} is a string")
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


def router() -> APIRouter:
    """The TMF673 endpoints."""
    routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF673 geographic address"])

    async def book(session: Any, ids: set[str] | None = None) -> dict[str, Location]:
        if ids is not None:
            return await geography.get_locations(session, sorted(ids))
        found = (await session.exec(geography.locations_query())).all()
        return {loc.id: loc for loc in found}

    @routes.get("/geographicAddress")
    async def list_addresses(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The known addresses."""
        found = await book(session)
        return listing(request, [address_view(request, loc) for loc in found.values()])

    @routes.get("/geographicAddress/{id}")
    async def get_address(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One known address."""
        return one(request, address_view(request, await geography.get_location(session, id)))

    @routes.get("/geographicAddress/{address_id}/geographicSubAddress")
    async def list_sub_addresses(
        address_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Sub-addresses of a known address (the address book keeps none)."""
        await geography.get_location(session, address_id)
        return listing(request, [])

    @routes.get("/geographicAddress/{address_id}/geographicSubAddress/{id}")
    async def get_sub_address(
        address_id: str, id: str, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One sub-address: there are none."""
        await geography.get_location(session, address_id)
        raise TMFError(404, "NOT_FOUND", f"no sub-address '{id}'")

    @routes.post("/geographicAddressValidation", status_code=201)
    async def create_validation(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Validate an address against the address book."""
        body = await read_body(request)
        address = _address_input(body)
        check = await geography.check_address(
            session,
            principal=principal,
            address=address,
            provide_alternatives=body["provideAlternative"],
        )
        ids = set(check.alternates) | (
            {check.best_location_id} if check.best_location_id else set()
        )
        view = validation_view(request, check, await book(session, ids))
        return tmf_json(view, status=201, headers={"Location": view["href"]})

    @routes.get("/geographicAddressValidation")
    async def list_validations(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The caller's address validations."""
        checks = (await session.exec(geography.address_checks_query(principal=principal))).all()
        ids = {i for c in checks for i in c.alternates} | {
            c.best_location_id for c in checks if c.best_location_id
        }
        locations = await book(session, ids)
        return listing(request, [validation_view(request, c, locations) for c in checks])

    @routes.get("/geographicAddressValidation/{id}")
    async def get_validation(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One of the caller's address validations."""
        check = await geography.get_address_check(session, principal=principal, check_id=id)
        ids = set(check.alternates) | (
            {check.best_location_id} if check.best_location_id else set()
        )
        return one(request, validation_view(request, check, await book(session, ids)))

    @routes.patch("/geographicAddressValidation/{id}")
    async def patch_validation(id: str, principal: CurrentPrincipal) -> Response:
        """Not offered: a validation is a finished record; submit a new one instead."""
        raise TMFError(
            405, "METHOD_NOT_ALLOWED", "a validation cannot be changed; submit a new one"
        )

    add_hub_routes(routes, NOTIFYING)
    return routes
