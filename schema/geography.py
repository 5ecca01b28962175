"""Locations of the address book and the caller's sites."""

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core import geography as core
from resolvers.context import Info
from resolvers.loaders import load_required
from schema.base import UserError, optional, resolve_many
from schema.enums import GeocodePrecision, LocationKind, Serviceability


@strawberry.type(description="A postal address.")
class Address:
    line: str = strawberry.field(
        description="One-line form, e.g. '350 E Cermak Rd, Chicago, IL 60616'."
    )
    street_number: str
    street_name: str
    city: str
    state: str
    postcode: str
    country: str


@strawberry.type(description="How an address relates to the network.")
class ServiceabilityInfo:
    level: Serviceability
    distance_km: float = strawberry.field(description="Distance to the nearest on-net building.")


@strawberry.type(
    description="A known, geocoded building (a carrier hotel, data centre or office of the "
    "shared address book), or a place you validated."
)
class Location(relay.Node):
    location_id: relay.NodeID[str]
    name: str
    kind: LocationKind
    address: Address
    latitude: float
    longitude: float
    precision: GeocodePrecision = strawberry.field(
        description="How exactly the coordinates place it: a surveyed building, or the centroid "
        "of its ZIP code."
    )
    on_net: bool

    @classmethod
    def from_row(cls, row: core.Location) -> "Location":
        """The GraphQL view of an address-book location."""
        return cls(
            location_id=row.id,
            name=row.name,
            kind=row.kind,
            latitude=row.latitude,
            longitude=row.longitude,
            precision=row.precision,
            on_net=row.on_net,
            address=Address(
                line=row.line,
                street_number=row.street_number,
                street_name=row.street_name,
                city=row.city,
                state=row.state,
                postcode=row.postcode,
                country=row.country,
            ),
        )

    @strawberry.field(description="On-net, near-net or off-net, and how far from the network.")
    async def serviceability(self, info: Info) -> ServiceabilityInfo | None:
        found = await info.context.loaders.serviceability_by_location_id.load(self.location_id)
        return optional(
            found, lambda s: ServiceabilityInfo(level=s.level, distance_km=s.distance_km)
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Location | None"]:
        # By id, a caller sees the address book and its own places only.
        ids = list(node_ids)
        visible = await core.get_visible_locations(
            info.context.session, ids, principal=info.context.principal
        )
        return [cls.from_row(visible[i]) if i in visible else None for i in ids]


@strawberry.type(description="One of your places of service, at a known location.")
class Site(relay.Node):
    site_id: relay.NodeID[str]
    name: str
    contact_name: str | None
    contact_phone: str | None
    instructions: str | None
    created_at: datetime
    location_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: core.Site) -> "Site":
        """The GraphQL view of a site."""
        return cls(
            site_id=row.id,
            name=row.name,
            contact_name=row.contact_name,
            contact_phone=row.contact_phone,
            instructions=row.instructions,
            created_at=row.created_at,
            location_id=row.location_id,
        )

    @strawberry.field
    async def location(self, info: Info) -> Location:
        return Location.from_row(
            await load_required(info.context.loaders.location_by_id, self.location_id)
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Site | None"]:
        return await resolve_many(info.context.loaders.site_by_id.load_many, node_ids, cls.from_row)


@strawberry.input(description="An address: free text, structured fields, or a known location.")
class AddressInput:
    address: str | None = strawberry.field(
        default=None, description="Free text, e.g. '60 Hudson St, New York, NY 10013'."
    )
    place_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A location of the address book, or a place you validated "
        "(`validateAddress`), by its `id`.",
    )
    street_number: str | None = None
    street_name: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None

    def to_core(self) -> core.AddressInput:
        """The core's form of this address."""
        return core.AddressInput(
            text=self.address,
            street_number=self.street_number,
            street_name=self.street_name,
            city=self.city,
            state=self.state,
            postcode=self.postcode,
            country=self.country,
            location_id=_location_id(self.place_id) if self.place_id else None,
        )


def _location_id(place_id: str) -> str:
    """The core id behind a Location's global id; a bare core id is taken as it is."""
    try:
        global_id = relay.GlobalID.from_id(place_id)
    except Exception:  # not base64 or not 'Type:id': a core id
        return place_id
    return global_id.node_id if global_id.type_name == "Location" else place_id


@strawberry.type(description="What is wrong with an address, or what was corrected in it.")
class AddressReason:
    code: str = strawberry.field(description="e.g. PO_BOX, UNKNOWN_ZIP, CITY_ZIP_MISMATCH.")
    message: str


@strawberry.type(description="The outcome of validating an address.")
class AddressValidationPayload:
    result: str | None = strawberry.field(
        default=None, description="SUCCESS, PARTIAL (see the alternatives) or FAIL."
    )
    place: Location | None = strawberry.field(
        default=None, description="The building or place the address names; refer to it by id."
    )
    alternatives: list[Location] = strawberry.field(
        default_factory=list, description="Addresses it may have meant, best first."
    )
    reasons: list[AddressReason] = strawberry.field(default_factory=list)
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(description="A point and an optional radius to search around.")
class NearInput:
    latitude: float
    longitude: float
    radius_km: float | None = None
