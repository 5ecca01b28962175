"""Locations of the address book and the caller's sites."""

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core import geography as core
from resolvers.context import Info
from resolvers.loaders import load_required
from schema.base import optional, resolve_many
from schema.enums import LocationKind, Serviceability


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


@strawberry.type(description="A known, geocoded building: a carrier hotel, data centre or office.")
class Location(relay.Node):
    location_id: relay.NodeID[str]
    name: str
    kind: LocationKind
    address: Address
    latitude: float
    longitude: float
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
        return await resolve_many(
            info.context.loaders.location_by_id.load_many, node_ids, cls.from_row
        )


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
        )


@strawberry.input(description="A point and an optional radius to search around.")
class NearInput:
    latitude: float
    longitude: float
    radius_km: float | None = None
