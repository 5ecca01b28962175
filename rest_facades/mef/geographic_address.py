"""MEF 121 Address Validation: `geographicAddressValidation` and `geographicAddress/{id}`."""

from typing import Any

from fastapi import Response

from app.core import geography
from app.core.db import commit
from app.core.errors import CoreError
from app.core.geography import AddressInput, Location, MatchQuality
from rest_facades.mef.errors import from_core_error, mef_json
from rest_facades.mef.flavours import Flavour
from rest_facades.mef.generated.sonata import geographic_address as models
from rest_facades.mef.requests import Caller, FlavourDep, MEFCaller, dump
from rest_facades.mef.routing import mef_router

API = "geographic_address"
TAG = "address validation (MEF 121)"
# A point given as coordinates matches a building within this distance.
POINT_MATCH_KM = 0.5
_RESULT = {
    MatchQuality.EXACT: "success",
    MatchQuality.PARTIAL: "partial",
    MatchQuality.NONE: "fail",
}


def to_core(address: Any) -> AddressInput | tuple[float, float] | str:
    """The core's form of a submitted address: fields, coordinates, or a known location id."""
    kind = address.field_type
    if kind == "FieldedAddress":
        street = " ".join(p for p in (address.streetName, address.streetType) if p)
        return AddressInput(
            street_number=address.streetNr,
            street_name=street,
            city=address.city,
            state=address.stateOrProvince,
            postcode=address.postcode,
            country=address.country,
        )
    if kind == "FormattedAddress":
        line = ", ".join(
            p
            for p in (
                address.addrLine1,
                address.addrLine2,
                address.city,
                address.stateOrProvince,
                address.postcode,
            )
            if p
        )
        return AddressInput(text=line, country=address.country)
    if kind == "MEFGeographicPoint":
        return float(address.y), float(address.x)
    return str(address.externalReferenceId)


# The MEF names of the core's address parts, for pointing at the one a refusal is about.
_MEF_PARTS = {
    "street_number": "streetNr",
    "street_name": "streetName",
    "city": "city",
    "state": "stateOrProvince",
    "postcode": "postcode",
    "country": "country",
}


def submitted_pointer(field: str | None) -> str:
    """The JSON pointer, in the request, of the address part a core refusal names."""
    name = _MEF_PARTS.get((field or "").rpartition(".")[2])
    return "/submittedGeographicAddress" + (f"/{name}" if name else "")


def fielded(flavour: Flavour, caller: Caller, location: Location) -> models.FieldedAddress:
    """A known location as a MEF FieldedAddress."""
    number, _, name = f"{location.street_number} {location.street_name}".partition(" ")
    return models.FieldedAddress.model_validate(
        {
            "@type": "FieldedAddress",
            "id": location.id,
            "href": caller.href(flavour.base_path(API), "geographicAddress", location.id),
            "streetNr": number,
            "streetName": name,
            "city": location.city,
            "stateOrProvince": location.state,
            "postcode": location.postcode,
            "country": location.country,
            "allowsNewSite": True,
            "hasPublicSite": location.kind != geography.LocationKind.BUILDING,
        }
    )


async def match(
    caller: Caller, submitted: AddressInput | tuple[float, float] | str
) -> tuple[str, Location | None, list[Location]]:
    """`success`, `partial` or `fail`, the known location matched, and alternates."""
    session = caller.session
    if isinstance(submitted, AddressInput):
        result = await geography.validate_address(
            session, submitted, party_id=caller.principal.party_id
        )
        return _RESULT[result.quality], result.best, result.alternates
    if isinstance(submitted, tuple):
        nearby = await geography.search_locations(session, near=submitted, limit=5)
        if nearby and geography.distance_km(_point(submitted), nearby[0]) <= POINT_MATCH_KM:
            return "success", nearby[0], nearby[1:]
        return "fail", None, nearby
    visible = await geography.get_visible_locations(
        session, [submitted], principal=caller.principal
    )
    found = visible.get(submitted)
    return ("success", found, []) if found else ("fail", None, [])


def _point(latitude_longitude: tuple[float, float]) -> Location:
    latitude, longitude = latitude_longitude
    return Location(
        name="",
        street_number="",
        street_name="",
        city="",
        state="",
        postcode="",
        latitude=latitude,
        longitude=longitude,
    )


routes = mef_router()


@routes.post(
    "/geographicAddressValidation",
    status_code=200,
    response_model=models.GeographicAddressValidation,
)
async def validate_address(
    body: models.GeographicAddressValidationCreate, caller: MEFCaller, flavour: FlavourDep
) -> Response:
    """Validate an address: the best match known to the seller and alternates."""
    submitted = body.submittedGeographicAddress
    try:
        result, best, alternates = await match(caller, to_core(submitted))
        # The places a validation found are the caller's from now on.
        await commit(caller.session)
    except CoreError as exc:
        raise from_core_error(exc, field_pointer=submitted_pointer) from exc
    answer = models.GeographicAddressValidation(
        provideAlternative=body.provideAlternative,
        submittedGeographicAddress=submitted,
        validationResult=result,
        bestMatchGeographicAddress=fielded(flavour, caller, best) if best else None,
        alternateGeographicAddress=[fielded(flavour, caller, a) for a in alternates],
    )
    return mef_json(dump(answer))


@routes.get("/geographicAddress/{id}", response_model=models.FieldedAddress)
async def get_address(id: str, caller: MEFCaller, flavour: FlavourDep) -> Response:
    """A known address by id."""
    location = await geography.get_location(caller.session, id, principal=caller.principal)
    return mef_json(dump(fielded(flavour, caller, location)))
