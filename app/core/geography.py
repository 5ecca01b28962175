"""Addresses, their validation against the address book, sites, and serviceability."""

import asyncio
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from enum import StrEnum
from importlib import resources
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    UniqueConstraint,
    case,
    false,
    func,
    literal,
    null,
    or_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import clock, postal
from app.core.db import (
    StrEnumType,
    UTCDateTime,
    add_unless_stored,
    commit,
    config_of,
    new_id,
)
from app.core.errors import Conflict, InvalidRequest, NotFound
from app.core.kept import Keeper, document_field, register_document
from app.core.paging import Condition, Page, Within, either_column, fetch_page, via, where
from app.core.parties import Party, Principal, get_scoped, resolve_buyer, scoped
from app.core.text import check_text, column_chars


class LocationKind(StrEnum):
    """What stands at an address in the address book."""

    CARRIER_HOTEL = "carrier_hotel"
    DATA_CENTER = "data_center"
    BUILDING = "building"


class GeocodePrecision(StrEnum):
    """How exactly a location's coordinates place it."""

    # Surveyed: the seeded buildings of the address book.
    BUILDING = "building"
    # The centroid of the address's ZIP code: a validated address that is not in the book.
    ZIP_CENTROID = "zip_centroid"


class Serviceability(StrEnum):
    """How an address relates to our network."""

    ON_NET = "on_net"
    NEAR_NET = "near_net"
    OFF_NET = "off_net"


class LocationBase(SQLModel):
    name: str = Field(max_length=200)
    kind: LocationKind = Field(default=LocationKind.BUILDING, sa_type=StrEnumType(LocationKind, 20))
    street_number: str = Field(max_length=20)
    street_name: str = Field(max_length=200)
    city: str = Field(max_length=100)
    state: str = Field(max_length=40)
    postcode: str = Field(max_length=20)
    country: str = Field(default="US", max_length=2)
    latitude: float
    longitude: float
    on_net: bool = False
    precision: GeocodePrecision = Field(
        default=GeocodePrecision.BUILDING, sa_type=StrEnumType(GeocodePrecision, 16)
    )
    # The address book is everyone's; a place that a party validated is seen by the parties
    # that validated it (`Place`), and by no one else.
    shared: bool = True


class Location(LocationBase, table=True):
    """A known, geocoded address: the shared address book, and the places parties validated."""

    __table_args__ = (UniqueConstraint("street_number", "street_name", "city", "postcode"),)
    id: str = Field(default_factory=lambda: new_id("loc"), primary_key=True, max_length=40)

    @property
    def line(self) -> str:
        """The one-line postal form, e.g. `350 E Cermak Rd, Chicago, IL 60616`."""
        return f"{self.street_number} {self.street_name}, {self.city}, {self.state} {self.postcode}"


class Place(SQLModel, table=True):
    """A party's hold on a location it validated (one not in the shared address book)."""

    __table_args__ = (UniqueConstraint("party_id", "location_id"),)
    id: str = Field(default_factory=lambda: new_id("plc"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    location_id: str = Field(foreign_key="location.id", index=True, max_length=40)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class SiteBase(SQLModel):
    name: str = Field(max_length=200)
    location_id: str = Field(foreign_key="location.id", index=True, max_length=40)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=40)
    instructions: str | None = Field(default=None, max_length=1000)


# The id of a site's contact person is the site's id with this suffix.
SITE_CONTACT_SUFFIX = "~contact"


class Site(SiteBase, table=True):
    """A party's named place of service at a known location."""

    __table_args__ = (UniqueConstraint("party_id", "location_id"),)
    id: str = Field(default_factory=lambda: new_id("site"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    # What the buyer sent that the core does not interpret (opening hours, related sites),
    # kept as given so that the face it came through can return it.
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


@dataclass(frozen=True)
class AddressInput:
    """An address as a caller gives it: free text, structured fields, or both."""

    text: str | None = None
    street_number: str | None = None
    street_name: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None
    # A location of the book, or a place the party validated before, by id.
    location_id: str | None = None

    def as_text(self) -> str:
        """The address as one line, whatever form it came in."""
        if self.text:
            return self.text
        street = " ".join(p for p in (self.street_number, self.street_name) if p)
        region = " ".join(p for p in (self.state, self.postcode) if p)
        return ", ".join(p for p in (street, self.city, region) if p)


class MatchQuality(StrEnum):
    """How well the best candidate matched."""

    EXACT = "exact"
    PARTIAL = "partial"
    NONE = "none"


@dataclass
class AddressValidation:
    """The outcome of validating an address: the best match (if confident) and alternates."""

    query: AddressInput
    quality: MatchQuality
    best: Location | None
    alternates: list[Location] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    # What is wrong with the address, or was corrected in it, when it is not in the book.
    reasons: list[postal.Reason] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceabilityResult:
    """Serviceability of a location and its distance to the network."""

    level: Serviceability
    distance_km: float


_ABBREVIATIONS = {
    "street": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "place": "pl",
    "court": "ct",
    "drive": "dr",
    "lane": "ln",
    "parkway": "pkwy",
    "freeway": "fwy",
    "highway": "hwy",
    "suite": "ste",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "first": "1st",
    "second": "2nd",
    "third": "3rd",
    "fourth": "4th",
    "fifth": "5th",
    "sixth": "6th",
    "seventh": "7th",
    "eighth": "8th",
    "ninth": "9th",
    "tenth": "10th",
    "eleventh": "11th",
    "fifteenth": "15th",
    "saint": "st",
    "fort": "ft",
    "illinois": "il",
    "new york": "ny",
    "california": "ca",
    "texas": "tx",
    "florida": "fl",
    "virginia": "va",
    "usa": "",
    "us": "",
    "united states": "",
}
US_NAMES = {"", "us", "usa", "united states", "united states of america", "america"}
EXACT_THRESHOLD = 0.9
CANDIDATE_THRESHOLD = 0.55
MAX_ALTERNATES = 5
# Longer than any name and one-line address of the book together: such a search finds nothing.
MAX_SEARCH_CHARS = 500


def normalize(text: str) -> str:
    """Lower-case, punctuation-free, abbreviated form used for matching."""
    words = re.sub(r"[^a-z0-9 ]", " ", text.lower().replace("&", " and ")).split()
    joined = " ".join(words)
    for long, short in _ABBREVIATIONS.items():
        if " " in long:
            joined = re.sub(rf"\b{long}\b", short, joined)
    return " ".join(w for w in (_ABBREVIATIONS.get(w, w) for w in joined.split()) if w)


def _score(query: AddressInput, normalized_query: str, location: Location) -> float:
    candidate = normalize(location.line)
    score = SequenceMatcher(None, normalized_query, candidate).ratio()
    tokens = normalized_query.split()
    # The house number and postcode carry most of the identity of an address.
    number = query.street_number or (tokens or [""])[0]
    if number == location.street_number.lower():
        score += 0.1
    elif number.isdigit():
        score -= 0.25
    # A postcode follows the street: a five-digit house number (`44470 Chilum Pl`) is not one.
    postcode = query.postcode or next(
        (t for t in reversed(tokens[1:]) if re.fullmatch(r"\d{5}", t)), None
    )
    if postcode:
        score += 0.1 if postcode == location.postcode else -0.15
    if query.city and normalize(query.city) != normalize(location.city):
        score -= 0.2
    return max(0.0, min(1.0, score))


ADDRESS_PARTS = ("text", "street_number", "street_name", "city", "state", "postcode", "country")


def bound_address(address: AddressInput, *, field_name: str = "address") -> None:
    """Refuse an address whose parts are longer than the address book could hold (or hold a
    NUL): matching text costs time in proportion to its length, and such text names nothing."""
    check_text(
        address.location_id, field=f"{field_name}.id", max_chars=column_chars(Location, "id")
    )
    for part in ADDRESS_PARTS:
        check_text(
            getattr(address, part),
            field=field_name if part == "text" else f"{field_name}.{part}",
            max_chars=column_chars(AddressCheck, part),
        )


def _rank(
    address: AddressInput, text: str, locations: list[Location]
) -> list[tuple[float, Location]]:
    """Every location with its score against the address, best first."""
    normalized_query = normalize(text)
    return sorted(
        ((_score(address, normalized_query, loc), loc) for loc in locations),
        key=lambda pair: (-pair[0], pair[1].id),
    )


def held_by(party_id: str | None) -> ColumnElement[bool]:
    """Locations of the shared address book, and the places the party validated."""
    shared = col(Location.shared).is_(True)
    if party_id is None:
        return shared
    held = select(Place.location_id).where(col(Place.party_id) == party_id)
    return or_(shared, col(Location.id).in_(held))


def visible_to(principal: Principal | None) -> list[ColumnElement[bool]]:
    """Conditions on `Location` that keep what a caller may see: the shared address book and the
    places its parties validated; operations staff see every place, anonymous callers the book."""
    if principal is None:
        return [held_by(None)]
    if principal.is_ops:
        return []
    held = select(Place.location_id).where(
        col(Place.party_id).in_(sorted(principal.visible_party_ids))
    )
    return [or_(col(Location.shared).is_(True), col(Location.id).in_(held))]


async def _place(
    session: AsyncSession, found: postal.PostalAddress, party_id: str | None
) -> Location:
    """The location at a normalised address: the book's building there, or a place that the
    party holds from now on (kept only for a party; for no party it is not stored)."""
    same = (
        select(Location)
        .where(
            col(Location.street_number) == found.street_number,
            func.upper(Location.street_name) == found.street_name,
            func.upper(Location.city) == found.city,
            col(Location.postcode) == found.postcode,
        )
        .order_by(col(Location.shared).desc(), col(Location.id))
    )
    location = (await session.exec(same)).first()
    if location is None:
        location = Location(
            name=found.line,
            kind=LocationKind.BUILDING,
            street_number=found.street_number,
            street_name=found.street_name,
            city=found.city,
            state=found.state,
            postcode=found.postcode,
            latitude=found.latitude,
            longitude=found.longitude,
            precision=GeocodePrecision.ZIP_CENTROID,
            shared=False,
        )
        if party_id is None:
            return location
        # Two parties may validate the same new address at once: one location for both.
        location = await add_unless_stored(session, location, same)
    if not location.shared and party_id is not None:
        hold = select(Place).where(Place.party_id == party_id, Place.location_id == location.id)
        if (await session.exec(hold)).first() is None:
            await add_unless_stored(
                session, Place(party_id=party_id, location_id=location.id), hold
            )
    return location


async def _held(
    session: AsyncSession, address: AddressInput, *, party_id: str | None, field_name: str
) -> AddressValidation:
    """The validation of an address given by the id of a location the party may use."""
    statement = select(Location).where(col(Location.id) == address.location_id, held_by(party_id))
    location = (await session.exec(statement)).first()
    if location is None:
        raise NotFound(f"no address '{address.location_id}'", field=field_name)
    return AddressValidation(address, MatchQuality.EXACT, location)


async def validate_address(
    session: AsyncSession,
    address: AddressInput,
    *,
    field_name: str = "address",
    party_id: str | None = None,
) -> AddressValidation:
    """Match an address against the address book; failing that, parse and check it as a US
    postal address, which then is (or becomes) a place the party holds. Without a party,
    nothing is stored."""
    bound_address(address, field_name=field_name)
    if address.location_id is not None:
        return await _held(session, address, party_id=party_id, field_name=field_name)
    text = address.as_text().strip()
    if not text:
        raise InvalidRequest("give an address as text or as structured fields", field="address")
    if address.country and normalize(address.country) not in US_NAMES:
        reason = postal.Reason(
            postal.Problem.NOT_US, "only addresses in the United States are served"
        )
        return AddressValidation(address, MatchQuality.NONE, None, reasons=[reason])
    # Only the book is matched loosely: a party's places are found again by their postal form.
    locations = list((await session.exec(select(Location).where(held_by(None)))).all())
    # Fuzzy matching over the whole book, and parsing, are CPU work: off the event loop, so
    # that other requests keep being served meanwhile.
    ranked = await asyncio.to_thread(_rank, address, text, locations)
    candidates = [(s, loc) for s, loc in ranked if s >= CANDIDATE_THRESHOLD][: MAX_ALTERNATES + 1]
    scores = {loc.id: round(s, 3) for s, loc in candidates}
    if candidates and candidates[0][0] >= EXACT_THRESHOLD:
        best = candidates[0][1]
        alternates = [loc for s, loc in candidates[1:] if s >= EXACT_THRESHOLD - 0.1]
        return AddressValidation(address, MatchQuality.EXACT, best, alternates, scores)
    checked = await asyncio.to_thread(postal.check, text)
    if checked.valid is not None:
        best = await _place(session, checked.valid, party_id)
        # A near miss of a building of the book is still worth pointing out.
        near = [loc for _, loc in candidates if loc.id != best.id]
        return AddressValidation(address, MatchQuality.EXACT, best, near, scores, checked.reasons)
    suggested = [await _place(session, a, party_id) for a in checked.alternatives]
    if candidates or suggested:
        alternates = [loc for _, loc in candidates] + suggested
        return AddressValidation(
            address,
            MatchQuality.PARTIAL,
            None,
            alternates[:MAX_ALTERNATES],
            scores,
            checked.reasons,
        )
    # Nothing close: offer the nearest known buildings in the same city or postcode, if any.
    nearby = [
        loc
        for _, loc in ranked
        if (address.city and normalize(address.city) == normalize(loc.city))
        or (address.postcode and address.postcode == loc.postcode)
    ][:MAX_ALTERNATES]
    return AddressValidation(address, MatchQuality.NONE, None, nearby, scores, checked.reasons)


async def resolve_address(
    session: AsyncSession,
    address: AddressInput,
    *,
    field_name: str = "address",
    party_id: str | None = None,
) -> Location:
    """The one location an address names (see `validate_address`), or an `InvalidRequest` that
    says why not and lists the alternates."""
    result = await validate_address(session, address, field_name=field_name, party_id=party_id)
    if result.best is not None:
        return result.best
    alternates = [loc.line for loc in result.alternates]
    why = "; ".join(r.message for r in result.reasons)
    hint = f"; did you mean: {' | '.join(alternates)}" if alternates else ""
    raise InvalidRequest(
        f"address '{address.as_text()}' is not a known or valid US street address"
        + (f" ({why})" if why else "")
        + hint,
        field=field_name,
        code="ADDRESS_NOT_FOUND",
        details={
            "alternates": [{"id": loc.id, "address": loc.line} for loc in result.alternates],
            "reasons": [{"code": r.problem.value, "message": r.message} for r in result.reasons],
        },
    )


async def get_location(
    session: AsyncSession, location_id: str, *, principal: Principal | None
) -> Location:
    """A location the caller may see by id: of the address book, or one of its places."""
    statement = select(Location).where(col(Location.id) == location_id, *visible_to(principal))
    location = (await session.exec(statement)).first()
    if location is None:
        raise NotFound(f"no address '{location_id}'", field="id")
    return location


async def get_visible_locations(
    session: AsyncSession, location_ids: list[str], *, principal: Principal | None
) -> dict[str, Location]:
    """Locations the caller may see by id, in one statement; others are simply absent."""
    if not location_ids:
        return {}
    statement = select(Location).where(
        col(Location.id).in_(set(location_ids)), *visible_to(principal)
    )
    return {loc.id: loc for loc in (await session.exec(statement)).all()}


async def get_locations(session: AsyncSession, location_ids: list[str]) -> dict[str, Location]:
    """Locations by id, in one statement, whoever holds them: for ids the core itself keeps
    (those of sites, orders and qualifications), never for ids a caller gives."""
    if not location_ids:
        return {}
    found = await session.exec(select(Location).where(col(Location.id).in_(set(location_ids))))
    return {loc.id: loc for loc in found.all()}


def distance_km(a: Location, b: Location) -> float:
    """Great-circle distance between two locations."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _classify(
    location: Location, on_net: list[Location], near_net_km: float
) -> ServiceabilityResult:
    if location.on_net:
        return ServiceabilityResult(Serviceability.ON_NET, 0.0)
    nearest = min((distance_km(location, other) for other in on_net), default=math.inf)
    if nearest <= near_net_km:
        return ServiceabilityResult(Serviceability.NEAR_NET, round(nearest, 3))
    return ServiceabilityResult(Serviceability.OFF_NET, round(nearest, 3))


async def _on_net(session: AsyncSession) -> list[Location]:
    on_net = select(Location).where(col(Location.on_net).is_(True), held_by(None))
    return list((await session.exec(on_net)).all())


async def nearest_served(
    session: AsyncSession, location: Location, *, limit: int = 3
) -> list[tuple[Location, ServiceabilityResult]]:
    """The buildings of the address book nearest to a location that we serve (on-net, or
    near-net), nearest first, each with its serviceability."""
    book = list((await session.exec(select(Location).where(held_by(None)))).all())
    on_net = [loc for loc in book if loc.on_net]
    near_net_km = config_of(session).near_net_km
    measured = sorted(
        (distance_km(location, loc), loc.id, loc) for loc in book if loc.id != location.id
    )
    served = [(loc, _classify(loc, on_net, near_net_km)) for _, _, loc in measured]
    return [(loc, r) for loc, r in served if r.level is not Serviceability.OFF_NET][:limit]


async def serviceability(session: AsyncSession, location: Location) -> ServiceabilityResult:
    """On-net, near-net (within the configured distance of an on-net building) or off-net."""
    if location.on_net:
        return ServiceabilityResult(Serviceability.ON_NET, 0.0)
    return _classify(location, await _on_net(session), config_of(session).near_net_km)


async def serviceability_of(
    session: AsyncSession, locations: list[Location]
) -> dict[str, ServiceabilityResult]:
    """Serviceability of many locations, measured against one read of the network."""
    on_net = await _on_net(session) if any(not loc.on_net for loc in locations) else []
    near_net_km = config_of(session).near_net_km
    return {loc.id: _classify(loc, on_net, near_net_km) for loc in locations}


async def search_locations(
    session: AsyncSession,
    *,
    text: str | None = None,
    near: tuple[float, float] | None = None,
    radius_km: float | None = None,
    limit: int = 20,
) -> list[Location]:
    """Locations by free text (name, street, city, state, postcode) and/or distance from a point."""
    check_text(text, field="text", max_chars=MAX_SEARCH_CHARS)
    book = select(Location).where(held_by(None)).order_by(col(Location.id))
    locations = list((await session.exec(book)).all())
    if text and text.strip():
        # Punctuation normalizes away: a search of `%_%` looks for those characters as written,
        # never for the empty text that every location holds.
        needle, literal = normalize(text), text.strip().lower()
        locations = [
            loc
            for loc in locations
            if (
                needle
                and (needle in normalize(f"{loc.name} {loc.line}") or needle in loc.name.lower())
            )
            or literal in f"{loc.name} {loc.line}".lower()
        ]
    if near is not None:
        origin = Location(
            name="",
            street_number="",
            street_name="",
            city="",
            state="",
            postcode="",
            latitude=near[0],
            longitude=near[1],
        )
        measured = sorted((distance_km(origin, loc), loc.id, loc) for loc in locations)
        locations = [loc for d, _, loc in measured if radius_km is None or d <= radius_km]
    return locations[:limit]


async def ensure_site(
    session: AsyncSession, *, party_id: str, location: Location, name: str | None = None
) -> Site:
    """The party's site at a location, created on first use (not committed here)."""
    stored = select(Site).where(Site.party_id == party_id, Site.location_id == location.id)
    site = (await session.exec(stored)).first()
    if site is None:
        site = await add_unless_stored(
            session,
            Site(party_id=party_id, location_id=location.id, name=name or location.name),
            stored,
        )
    return site


async def create_site(
    session: AsyncSession,
    *,
    principal: Principal,
    address: AddressInput,
    name: str | None = None,
    buyer_party_id: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    instructions: str | None = None,
    annotations: dict[str, Any] | None = None,
) -> Site:
    """Register a site for the caller (or a buyer it acts for) at a validated address."""
    party_id = await resolve_buyer(session, principal, buyer_party_id)
    location = await resolve_address(session, address, party_id=party_id)
    site = await ensure_site(session, party_id=party_id, location=location, name=name)
    site.contact_name = contact_name or site.contact_name
    site.contact_phone = contact_phone or site.contact_phone
    site.instructions = instructions or site.instructions
    if annotations:
        site.annotations = {**site.annotations, **annotations}
    session.add(site)
    await commit(session)
    return site


async def get_site(session: AsyncSession, *, principal: Principal, site_id: str) -> Site:
    """One of the caller's sites."""
    return await get_scoped(session, Site, site_id, principal, what="site")


@dataclass(frozen=True)
class SiteFilter:
    """Criteria a site must all meet; text criteria ignore case and match whole values."""

    party_id: str | None = None
    name: str | None = None
    instructions: str | None = None
    contact_name: str | None = None
    # The name of the party that owns the site.
    party_name: str | None = None
    location_id: str | None = None
    location_kinds: frozenset[LocationKind] | None = None
    street_number: str | None = None
    street_name: str | None = None
    # The last word of the street name, in any usual spelling (`Road`, `Rd`).
    street_type: str | None = None
    city: str | None = None
    postcode: str | None = None
    # A two-letter code; the usual names of the United States also mean `US`.
    country: str | None = None


def _same(column: object, value: str) -> ColumnElement[bool]:
    return func.lower(column) == value.strip().lower()


def _site_conditions(where: SiteFilter) -> list[ColumnElement[bool]]:
    texts = [
        (Site.name, where.name),
        (Site.instructions, where.instructions),
        (Site.contact_name, where.contact_name),
    ]
    conditions = [_same(column, value) for column, value in texts if value is not None]
    if where.party_id is not None:
        conditions.append(col(Site.party_id) == where.party_id)
    if where.location_id is not None:
        conditions.append(col(Site.location_id) == where.location_id)
    return conditions


def _location_conditions(where: SiteFilter) -> list[ColumnElement[bool]]:
    texts = [
        (Location.street_number, where.street_number),
        (Location.street_name, where.street_name),
        (Location.city, where.city),
        (Location.postcode, where.postcode),
    ]
    conditions = [_same(column, value) for column, value in texts if value is not None]
    if where.location_kinds is not None:
        conditions.append(col(Location.kind).in_(sorted(where.location_kinds)))
    if where.street_type is not None:
        suffix = normalize(where.street_type)
        conditions.append(func.lower(Location.street_name).endswith(f" {suffix}", autoescape=True))
    if where.country is not None:
        country = "US" if normalize(where.country) in US_NAMES else where.country
        conditions.append(_same(Location.country, country))
    return conditions


def sites_query(*, principal: Principal, where: SiteFilter | None = None) -> SelectOfScalar[Site]:
    """The caller's sites (those meeting `where`), oldest first, as a statement to page through."""
    statement = scoped(Site, principal)
    if where is not None:
        statement = statement.where(*_site_conditions(where))
        at_location = _location_conditions(where)
        if at_location:
            statement = statement.join(Location, col(Location.id) == col(Site.location_id)).where(
                *at_location
            )
        if where.party_name is not None:
            statement = statement.join(Party, col(Party.id) == col(Site.party_id)).where(
                _same(Party.name, where.party_name)
            )
    return statement.order_by(col(Site.created_at), col(Site.id))


class SiteField(StrEnum):
    """The fields of a site, and of the address it is at, that a list may be narrowed by."""

    ID = "id"
    NAME = "name"
    INSTRUCTIONS = "instructions"
    CONTACT_NAME = "contact_name"
    PARTY = "party"
    LOCATION = "location"
    CREATED_AT = "created_at"
    STREET_NUMBER = "street_number"
    STREET_NAME = "street_name"
    CITY = "city"
    STATE = "state"
    POSTCODE = "postcode"
    COUNTRY = "country"
    # The one-line postal form of its address (see `Location.line`).
    LINE = "line"
    # What the buyer sent that the core keeps as given (a condition names a path in it).
    ANNOTATIONS = "annotations"
    # The name of the party that owns the site.
    OWNER_NAME = "owner_name"
    # The id under which the site's contact person is known (none without a contact), and
    # whether it has one.
    CONTACT = "contact"
    HAS_CONTACT = "has_contact"


def _line() -> ColumnElement[str]:
    """`Location.line` in SQL."""
    line: ColumnElement[str] = (
        col(Location.street_number)
        + " "
        + col(Location.street_name)
        + ", "
        + col(Location.city)
        + ", "
        + col(Location.state)
        + " "
        + col(Location.postcode)
    )
    return line


register_document(Site, Keeper.SITE, "annotations")
_HAS_CONTACT = func.coalesce(col(Site.contact_name), "") != ""
SITE_COLUMNS: dict[SiteField, Any] = {
    SiteField.ANNOTATIONS: document_field(Keeper.SITE, Site.id),
    SiteField.ID: col(Site.id),
    SiteField.NAME: col(Site.name),
    SiteField.INSTRUCTIONS: col(Site.instructions),
    SiteField.CONTACT_NAME: col(Site.contact_name),
    SiteField.PARTY: col(Site.party_id),
    SiteField.LOCATION: col(Site.location_id),
    SiteField.CREATED_AT: col(Site.created_at),
    SiteField.STREET_NUMBER: col(Location.street_number),
    SiteField.STREET_NAME: col(Location.street_name),
    SiteField.CITY: col(Location.city),
    SiteField.STATE: col(Location.state),
    SiteField.POSTCODE: col(Location.postcode),
    SiteField.COUNTRY: col(Location.country),
    SiteField.LINE: _line(),
    SiteField.OWNER_NAME: via(Site.party_id, Party.id, Party.name),
    SiteField.CONTACT: case((_HAS_CONTACT, col(Site.id) + SITE_CONTACT_SUFFIX), else_=null()),
    SiteField.HAS_CONTACT: _HAS_CONTACT,
}
_AT_LOCATION = {
    SiteField.LINE,
    SiteField.STREET_NUMBER,
    SiteField.STREET_NAME,
    SiteField.CITY,
    SiteField.STATE,
    SiteField.POSTCODE,
    SiteField.COUNTRY,
}


async def find_sites(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: Sequence[Condition[SiteField]] = (),
    offset: int = 0,
    limit: int = 100,
) -> Page[Site]:
    """One page of the caller's sites that meet every condition, oldest first, and the count of
    all that meet them."""
    statement = sites_query(principal=principal)
    if any(c.field in _AT_LOCATION for c in conditions):
        statement = statement.join(Location, col(Location.id) == col(Site.location_id))
    statement = statement.where(*where(SITE_COLUMNS, conditions))
    return await fetch_page(session, statement, offset=offset, limit=limit)


async def update_site(
    session: AsyncSession,
    *,
    principal: Principal,
    site_id: str,
    name: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    instructions: str | None = None,
    annotations: dict[str, Any] | None = None,
) -> Site:
    """Rename one of the caller's sites or change its contact, access instructions and what it
    keeps as given (`annotations` merge; a `None` value removes its key)."""
    site = await get_site(session, principal=principal, site_id=site_id)
    if name is not None:
        if not name.strip():
            raise InvalidRequest("a site's name cannot be empty", field="name")
        site.name = name
    site.contact_name = contact_name if contact_name is not None else site.contact_name
    site.contact_phone = contact_phone if contact_phone is not None else site.contact_phone
    site.instructions = instructions if instructions is not None else site.instructions
    if annotations:
        # A new dict, so that the JSON column is seen to change.
        merged = {**site.annotations, **annotations}
        site.annotations = {k: v for k, v in merged.items() if v is not None}
    session.add(site)
    await commit(session)
    return site


async def delete_site(session: AsyncSession, *, principal: Principal, site_id: str) -> None:
    """Remove one of the caller's sites; a site that orders or products use is refused."""
    site = await get_site(session, principal=principal, site_id=site_id)
    # Every table that points at a site (order items, products, ...) keeps it in use.
    for table in SQLModel.metadata.tables.values():
        for key in table.foreign_keys:
            if key.column.table.name != Site.__tablename__:
                continue
            uses = select(func.count()).select_from(table).where(key.parent == site.id)
            if (await session.exec(uses)).one():
                raise Conflict(
                    f"site '{site.id}' is used by {table.name} rows and cannot be deleted",
                    code="SITE_IN_USE",
                )
    await session.delete(site)
    await commit(session)


async def list_sites(session: AsyncSession, *, principal: Principal) -> list[Site]:
    """The caller's sites, oldest first."""
    return list((await session.exec(sites_query(principal=principal))).all())


def locations_query(*, principal: Principal | None) -> SelectOfScalar[Location]:
    """The address book and the caller's places, by id, as a statement to page through."""
    return select(Location).where(*visible_to(principal)).order_by(col(Location.id))


class LocationField(StrEnum):
    """The fields of an address of the address book that a list may be narrowed by."""

    ID = "id"
    NAME = "name"
    KIND = "kind"
    STREET_NUMBER = "street_number"
    STREET_NAME = "street_name"
    CITY = "city"
    STATE = "state"
    POSTCODE = "postcode"
    COUNTRY = "country"
    # The last word of the street name (`Rd`), and either coordinate.
    STREET_TYPE = "street_type"
    COORDINATE = "coordinate"


def _street_type(condition: Condition[LocationField]) -> ColumnElement[bool]:
    name = col(Location.street_name)
    return or_(
        false(),
        *(
            or_(name == word, name.endswith(f" {word}", autoescape=True))
            for word in condition.values
            # A word has no space in it.
            if " " not in str(word)
        ),
    )


LOCATION_COLUMNS: dict[LocationField, Any] = {
    LocationField.STREET_TYPE: Within(_street_type),
    LocationField.COORDINATE: either_column(Location.longitude, Location.latitude),
    LocationField.ID: col(Location.id),
    LocationField.NAME: col(Location.name),
    LocationField.KIND: col(Location.kind),
    LocationField.STREET_NUMBER: col(Location.street_number),
    LocationField.STREET_NAME: col(Location.street_name),
    LocationField.CITY: col(Location.city),
    LocationField.STATE: col(Location.state),
    LocationField.POSTCODE: col(Location.postcode),
    LocationField.COUNTRY: col(Location.country),
}


async def find_locations(
    session: AsyncSession,
    *,
    principal: Principal | None,
    conditions: Sequence[Condition[LocationField]] = (),
    offset: int = 0,
    limit: int = 100,
) -> Page[Location]:
    """One page of the addresses of the book and of the caller's places that meet every
    condition, by id, and the count of all that meet them."""
    statement = locations_query(principal=principal).where(*where(LOCATION_COLUMNS, conditions))
    return await fetch_page(session, statement, offset=offset, limit=limit)


class AddressCheck(SQLModel, table=True):
    """A kept record of one address validation that a party asked for, to read back later."""

    id: str = Field(default_factory=lambda: new_id("adv"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    text: str | None = Field(default=None, max_length=500)
    street_number: str | None = Field(default=None, max_length=20)
    street_name: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=40)
    postcode: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=60)
    quality: MatchQuality = Field(sa_type=StrEnumType(MatchQuality, 12))
    best_location_id: str | None = Field(default=None, foreign_key="location.id", max_length=40)
    provide_alternatives: bool = True
    # Comma-separated location ids, best first.
    alternate_location_ids: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)

    @property
    def query(self) -> AddressInput:
        """The address as it was submitted."""
        return AddressInput(
            text=self.text,
            street_number=self.street_number,
            street_name=self.street_name,
            city=self.city,
            state=self.state,
            postcode=self.postcode,
            country=self.country,
        )

    @property
    def alternates(self) -> list[str]:
        """The ids of the alternate locations, best first."""
        return [i for i in self.alternate_location_ids.split(",") if i]


async def check_address(
    session: AsyncSession,
    *,
    principal: Principal,
    address: AddressInput,
    provide_alternatives: bool = True,
) -> AddressCheck:
    """Validate an address for the caller and keep the outcome (alternates only if asked)."""
    result = await validate_address(session, address, party_id=principal.party_id)
    check = AddressCheck(
        party_id=principal.party_id,
        text=address.text,
        street_number=address.street_number,
        street_name=address.street_name,
        city=address.city,
        state=address.state,
        postcode=address.postcode,
        country=address.country,
        quality=result.quality,
        best_location_id=result.best.id if result.best else None,
        provide_alternatives=provide_alternatives,
        alternate_location_ids=",".join(loc.id for loc in result.alternates)
        if provide_alternatives
        else "",
    )
    session.add(check)
    await commit(session)
    return check


async def recheck_address(
    session: AsyncSession,
    *,
    principal: Principal,
    check_id: str,
    address: AddressInput,
    provide_alternatives: bool,
) -> AddressCheck:
    """Validate the address of one of the caller's kept validations again, as now given; the
    validation keeps its id and takes the new outcome."""
    check = await get_address_check(session, principal=principal, check_id=check_id)
    result = await validate_address(session, address, party_id=check.party_id)
    for name in ("text", "street_number", "street_name", "city", "state", "postcode", "country"):
        setattr(check, name, getattr(address, name))
    check.quality = result.quality
    check.best_location_id = result.best.id if result.best else None
    check.provide_alternatives = provide_alternatives
    check.alternate_location_ids = (
        ",".join(loc.id for loc in result.alternates) if provide_alternatives else ""
    )
    check.created_at = clock.now()
    session.add(check)
    await commit(session)
    return check


async def get_address_check(
    session: AsyncSession, *, principal: Principal, check_id: str
) -> AddressCheck:
    """One of the caller's kept address validations."""
    return await get_scoped(session, AddressCheck, check_id, principal, what="address validation")


def address_checks_query(*, principal: Principal) -> SelectOfScalar[AddressCheck]:
    """The caller's kept address validations, oldest first, as a statement to page through."""
    return scoped(AddressCheck, principal).order_by(
        col(AddressCheck.created_at), col(AddressCheck.id)
    )


def load_address_book() -> list[dict[str, object]]:
    """The bundled address book of carrier hotels and data centres."""
    raw = resources.files("app.core").joinpath("data/locations.json").read_text()
    data: list[dict[str, object]] = json.loads(raw)
    return data


async def seed_address_book(session: AsyncSession, *, network_inverted: bool = False) -> int:
    """Load the bundled address book; existing rows are left as they are. `network_inverted`
    makes the places off our network the network (a demo partner carrier's)."""
    existing = {
        (loc.street_number, loc.street_name, loc.city)
        for loc in (await session.exec(select(Location))).all()
    }
    added = 0
    for entry in load_address_book():
        location = Location.model_validate(entry)
        if network_inverted:
            location.on_net = not location.on_net
        if (location.street_number, location.street_name, location.city) not in existing:
            session.add(location)
            added += 1
    await commit(session)
    return added


class AddressCheckField(StrEnum):
    """The fields of a kept address validation that a list may be narrowed by."""

    ID = "id"
    QUALITY = "quality"
    PROVIDE_ALTERNATIVES = "provide_alternatives"
    BEST_LOCATION = "best_location"
    CREATED_AT = "created_at"
    # The address as it was submitted, field by field (a free-text one in `SUBMITTED_TEXT`).
    SUBMITTED_TEXT = "text"
    STREET_NUMBER = "street_number"
    STREET_NAME = "street_name"
    CITY = "city"
    STATE = "state"
    POSTCODE = "postcode"
    COUNTRY = "country"


ADDRESS_CHECK_COLUMNS: dict[AddressCheckField, Any] = {
    AddressCheckField.ID: col(AddressCheck.id),
    AddressCheckField.SUBMITTED_TEXT: col(AddressCheck.text),
    AddressCheckField.STREET_NUMBER: col(AddressCheck.street_number),
    AddressCheckField.STREET_NAME: col(AddressCheck.street_name),
    AddressCheckField.CITY: col(AddressCheck.city),
    AddressCheckField.STATE: col(AddressCheck.state),
    AddressCheckField.POSTCODE: col(AddressCheck.postcode),
    AddressCheckField.COUNTRY: col(AddressCheck.country),
    AddressCheckField.QUALITY: col(AddressCheck.quality),
    AddressCheckField.PROVIDE_ALTERNATIVES: col(AddressCheck.provide_alternatives),
    AddressCheckField.BEST_LOCATION: col(AddressCheck.best_location_id),
    AddressCheckField.CREATED_AT: col(AddressCheck.created_at),
}


class _Position(FunctionElement[int]):
    """The 1-based position of a text in another, 0 if absent (SQLite and PostgreSQL)."""

    type = Integer()
    inherit_cache = True


@compiles(_Position)
def _position_sqlite(element: _Position, compiler: SQLCompiler, **kw: Any) -> str:
    text, part = (compiler.process(c, **kw) for c in element.clauses)
    return f"instr({text}, {part})"


@compiles(_Position, "postgresql")
def _position_postgresql(element: _Position, compiler: SQLCompiler, **kw: Any) -> str:
    text, part = (compiler.process(c, **kw) for c in element.clauses)
    return f"strpos({text}, {part})"


def _alternate(conditions: Sequence[Condition[LocationField]]) -> ColumnElement[bool]:
    """Whether one of a validation's alternate locations meets every condition."""
    listed = literal(",") + col(AddressCheck.alternate_location_ids) + ","
    found: ColumnElement[bool] = (
        select(Location.id)
        .where(
            _Position(listed, literal(",") + col(Location.id) + ",") > 0,
            *where(LOCATION_COLUMNS, conditions),
        )
        .exists()
    )
    return found


async def find_address_checks(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: Sequence[Condition[AddressCheckField]] = (),
    best: Sequence[Condition[LocationField]] | None = None,
    alternate: Sequence[Condition[LocationField]] | None = None,
    offset: int = 0,
    limit: int = 100,
) -> Page[AddressCheck]:
    """One page of the caller's kept address validations that meet every condition, oldest
    first, and the count of all that meet them. Given `best`, only those whose best location
    meets all of those; given `alternate`, only those with alternate locations, one of which
    meets each of those."""
    statement = address_checks_query(principal=principal)
    statement = statement.where(*where(ADDRESS_CHECK_COLUMNS, conditions))
    if best is not None:
        located = select(Location.id).where(*where(LOCATION_COLUMNS, best))
        statement = statement.where(col(AddressCheck.best_location_id).in_(located))
    if alternate is not None:
        statement = statement.where(*[_alternate([c]) for c in alternate] or [_alternate([])])
    return await fetch_page(session, statement, offset=offset, limit=limit)
