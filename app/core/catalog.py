"""Product offerings, their characteristics, and deterministic pricing."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock
from app.core.db import StrEnumType, UTCDateTime, commit
from app.core.errors import Conflict, InvalidRequest, NotFound
from app.core.geography import Location, Serviceability, distance_km
from app.core.parties import Principal

CURRENCY = "USD"
LINE_BANDWIDTHS_MBPS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000]
PORT_SPEEDS_MBPS = [1000, 10000, 100000]
MIN_TERM_MONTHS, MAX_TERM_MONTHS = 1, 60
# The terms a price list shows; an offering sells those within its own bounds.
STANDARD_TERMS_MONTHS = (12, 24, 36, 60)


class ProductKind(StrEnum):
    """The shapes of product the core knows how to qualify, price and deliver."""

    ETHERNET_LINE = "ethernet_line"  # point to point between two sites
    ETHERNET_PORT = "ethernet_port"  # a customer-facing port at one site
    INTERNET_ACCESS = "internet_access"  # dedicated internet access at one site


class ClassOfService(StrEnum):
    """Performance tier of a connection."""

    STANDARD = "standard"
    PRIORITY = "priority"
    REAL_TIME = "real_time"


class OfferingStatus(StrEnum):
    """Lifecycle of an offering in the catalog."""

    ACTIVE = "active"
    RETIRED = "retired"


class OfferingBase(SQLModel):
    name: str = Field(max_length=200)
    kind: ProductKind = Field(sa_type=StrEnumType(ProductKind, 20))
    description: str = Field(default="", max_length=2000)
    bandwidths_mbps: list[int] = Field(default_factory=list, sa_type=JSON)
    classes_of_service: list[str] = Field(default_factory=list, sa_type=JSON)
    min_term_months: int = MIN_TERM_MONTHS
    max_term_months: int = MAX_TERM_MONTHS
    category: str = Field(default="connectivity", max_length=100)


class Offering(OfferingBase, table=True):
    """A sellable product of the catalog."""

    id: str = Field(primary_key=True, max_length=40)
    status: OfferingStatus = Field(
        default=OfferingStatus.ACTIVE, sa_type=StrEnumType(OfferingStatus, 12)
    )
    version: int = 1
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)

    @property
    def needs_two_ends(self) -> bool:
        """Whether an item of this offering joins an A end and a Z end."""
        return self.kind is ProductKind.ETHERNET_LINE


class OfferingUpdate(SQLModel):
    """Fields of an offering that operations staff may change."""

    name: str | None = None
    description: str | None = None
    bandwidths_mbps: list[int] | None = None
    classes_of_service: list[str] | None = None
    min_term_months: int | None = None
    max_term_months: int | None = None
    category: str | None = None
    status: OfferingStatus | None = None


STANDARD_OFFERINGS: list[dict[str, Any]] = [
    {
        "id": "ethernet-line",
        "name": "Ethernet Line (Access E-Line / EVPL)",
        "kind": ProductKind.ETHERNET_LINE,
        "description": "Point-to-point Ethernet virtual connection between two sites.",
        "bandwidths_mbps": LINE_BANDWIDTHS_MBPS,
        "classes_of_service": list(ClassOfService),
    },
    {
        "id": "ethernet-port",
        "name": "Ethernet Port (UNI)",
        "kind": ProductKind.ETHERNET_PORT,
        "description": "A dedicated Ethernet port at a site, ready for virtual connections.",
        "bandwidths_mbps": PORT_SPEEDS_MBPS,
        "classes_of_service": [ClassOfService.STANDARD],
    },
    {
        "id": "internet-access",
        "name": "Dedicated Internet Access",
        "kind": ProductKind.INTERNET_ACCESS,
        "description": "Symmetric, uncontended Internet access with a static IPv4 block.",
        "bandwidths_mbps": LINE_BANDWIDTHS_MBPS,
        "classes_of_service": [ClassOfService.STANDARD, ClassOfService.PRIORITY],
    },
]


@dataclass(frozen=True)
class ProductSpec:
    """What a buyer asks for: an offering, its ends and its characteristics."""

    offering_id: str
    a_location_id: str
    z_location_id: str | None
    bandwidth_mbps: int
    term_months: int
    class_of_service: ClassOfService = ClassOfService.STANDARD


@dataclass(frozen=True)
class PriceComponent:
    """One line of a price's explanation."""

    name: str
    monthly_cents: int
    one_time_cents: int


@dataclass(frozen=True)
class Price:
    """Monthly recurring and one-time charges, in cents of `currency`."""

    monthly_cents: int
    one_time_cents: int
    currency: str = CURRENCY
    components: tuple[PriceComponent, ...] = field(default=())

    @property
    def monthly(self) -> Decimal:
        """Monthly recurring charge as a decimal amount."""
        return Decimal(self.monthly_cents) / 100

    @property
    def one_time(self) -> Decimal:
        """One-time charge as a decimal amount."""
        return Decimal(self.one_time_cents) / 100


async def get_offering(
    session: AsyncSession, offering_id: str, *, active_only: bool = True
) -> Offering:
    """An offering by id; retired offerings are only returned when asked for."""
    offering = await session.get(Offering, offering_id)
    if offering is None or (active_only and offering.status is not OfferingStatus.ACTIVE):
        raise NotFound(f"no product offering '{offering_id}'", field="offering")
    return offering


async def list_offerings(session: AsyncSession, *, include_retired: bool = False) -> list[Offering]:
    """The catalog, public to every caller."""
    statement = select(Offering).order_by(col(Offering.id))
    if not include_retired:
        statement = statement.where(Offering.status == OfferingStatus.ACTIVE)
    return list((await session.exec(statement)).all())


async def seed_catalog(session: AsyncSession) -> int:
    """Create the standard offerings that are missing."""
    added = 0
    for entry in STANDARD_OFFERINGS:
        if await session.get(Offering, entry["id"]) is None:
            session.add(Offering.model_validate(entry))
            added += 1
    await commit(session)
    return added


def _validate_offering_fields(offering: Offering) -> None:
    if not offering.bandwidths_mbps or any(
        b not in LINE_BANDWIDTHS_MBPS for b in offering.bandwidths_mbps
    ):
        raise InvalidRequest(
            f"bandwidths must be chosen from {LINE_BANDWIDTHS_MBPS}", field="bandwidths_mbps"
        )
    if any(c not in set(ClassOfService) for c in offering.classes_of_service):
        raise InvalidRequest(
            f"classes of service must be among {[str(c) for c in ClassOfService]}",
            field="classes_of_service",
        )
    if (
        not MIN_TERM_MONTHS
        <= offering.min_term_months
        <= offering.max_term_months
        <= MAX_TERM_MONTHS
    ):
        raise InvalidRequest("terms must lie within 1 to 60 months", field="term_months")


async def create_offering(
    session: AsyncSession, *, principal: Principal, offering_id: str, data: OfferingBase
) -> Offering:
    """Add an offering to the catalog (operations staff only)."""
    principal.require_ops()
    if await session.get(Offering, offering_id) is not None:
        raise Conflict(f"product offering '{offering_id}' exists", field="id")
    offering = Offering.model_validate({**data.model_dump(), "id": offering_id})
    offering.classes_of_service = offering.classes_of_service or [ClassOfService.STANDARD]
    _validate_offering_fields(offering)
    session.add(offering)
    await commit(session)
    return offering


async def update_offering(
    session: AsyncSession, *, principal: Principal, offering_id: str, changes: OfferingUpdate
) -> Offering:
    """Change an offering (operations staff only); bumps its version."""
    principal.require_ops()
    offering = await get_offering(session, offering_id, active_only=False)
    updates = {k: v for k, v in changes.model_dump(exclude_unset=True).items() if v is not None}
    # Check a detached copy first: a refused change must not linger in the session's row.
    _validate_offering_fields(Offering.model_validate({**offering.model_dump(), **updates}))
    for name, value in updates.items():
        setattr(offering, name, value)
    offering.version += 1
    offering.updated_at = clock.now()
    session.add(offering)
    await commit(session)
    return offering


async def retire_offering(session: AsyncSession, *, principal: Principal, offering_id: str) -> None:
    """Withdraw an offering from sale; existing inventory keeps referring to it."""
    await update_offering(
        session,
        principal=principal,
        offering_id=offering_id,
        changes=OfferingUpdate(status=OfferingStatus.RETIRED),
    )


def check_characteristics(offering: Offering, spec: ProductSpec) -> None:
    """Refuse characteristics that the offering does not sell."""
    if spec.bandwidth_mbps not in offering.bandwidths_mbps:
        lower = [b for b in offering.bandwidths_mbps if b < spec.bandwidth_mbps]
        higher = [b for b in offering.bandwidths_mbps if b > spec.bandwidth_mbps]
        nearest = ([max(lower)] if lower else []) + ([min(higher)] if higher else [])
        raise InvalidRequest(
            f"{offering.name} is sold at {_mbps_list(offering.bandwidths_mbps)}; "
            f"{spec.bandwidth_mbps} Mbps is not one of them",
            field="bandwidth_mbps",
            code="UNSUPPORTED_BANDWIDTH",
            details={"alternatives_mbps": nearest},
        )
    if not offering.min_term_months <= spec.term_months <= offering.max_term_months:
        raise InvalidRequest(
            f"term must be {offering.min_term_months} to {offering.max_term_months} months",
            field="term_months",
            code="UNSUPPORTED_TERM",
        )
    if spec.class_of_service not in offering.classes_of_service:
        raise InvalidRequest(
            f"{offering.name} offers classes of service {offering.classes_of_service}",
            field="class_of_service",
            code="UNSUPPORTED_CLASS_OF_SERVICE",
        )
    if offering.needs_two_ends and not spec.z_location_id:
        raise InvalidRequest(f"{offering.name} needs a Z end", field="z_end")
    if offering.needs_two_ends and spec.z_location_id == spec.a_location_id:
        raise InvalidRequest("the A and Z ends must be different sites", field="z_end")
    if not offering.needs_two_ends and spec.z_location_id:
        raise InvalidRequest(f"{offering.name} has one end only", field="z_end")


def terms_offered(offering: Offering) -> list[int]:
    """The standard terms an offering sells, shortest first (its shortest term if none)."""
    terms = [
        t
        for t in STANDARD_TERMS_MONTHS
        if offering.min_term_months <= t <= offering.max_term_months
    ]
    return terms or [offering.min_term_months]


def _mbps_list(values: list[int]) -> str:
    return ", ".join(f"{v // 1000} Gbps" if v >= 1000 else f"{v} Mbps" for v in values)


def _cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _term_factor(term_months: int) -> Decimal:
    if term_months >= 60:
        return Decimal("0.72")
    if term_months >= 36:
        return Decimal("0.82")
    if term_months >= 24:
        return Decimal("0.90")
    if term_months >= 12:
        return Decimal("1.00")
    return Decimal("1.25")


_CLASS_FACTOR = {
    ClassOfService.STANDARD: Decimal("1.00"),
    ClassOfService.PRIORITY: Decimal("1.12"),
    ClassOfService.REAL_TIME: Decimal("1.30"),
}
_END_MONTHLY_FACTOR = {
    Serviceability.ON_NET: Decimal("0"),
    Serviceability.NEAR_NET: Decimal("0.10"),
    Serviceability.OFF_NET: Decimal("0.35"),
}
_END_ONE_TIME = {
    Serviceability.ON_NET: Decimal("0"),
    Serviceability.NEAR_NET: Decimal("2500"),
    Serviceability.OFF_NET: Decimal("1000"),
}
_PORT_MONTHLY = {1000: Decimal("300"), 10000: Decimal("900"), 100000: Decimal("3500")}


def _distance_factor(km: float) -> tuple[str, Decimal]:
    if km < 80:
        return "metro", Decimal("1.00")
    if km < 800:
        return "regional", Decimal("1.30")
    return "long haul", Decimal("1.60")


def price(
    offering: Offering, spec: ProductSpec, ends: list[tuple[Location, Serviceability]]
) -> Price:
    """The price of a product; the same inputs always give the same price."""
    bandwidth = Decimal(spec.bandwidth_mbps)
    components: list[PriceComponent] = []
    if offering.kind is ProductKind.ETHERNET_PORT:
        base = _PORT_MONTHLY.get(spec.bandwidth_mbps, Decimal("300"))
        components.append(PriceComponent("port", _cents(base), _cents(Decimal("250"))))
    elif offering.kind is ProductKind.INTERNET_ACCESS:
        base = Decimal(80) * (bandwidth / 10) ** Decimal("0.6")
        components.append(PriceComponent("internet access", _cents(base), _cents(Decimal("500"))))
    else:
        base = Decimal(120) * (bandwidth / 10) ** Decimal("0.55")
        reach, factor = _distance_factor(distance_km(ends[0][0], ends[1][0]))
        components.append(
            PriceComponent(
                f"ethernet line ({reach})",
                _cents(base * factor),
                _cents(Decimal("500") * len(ends)),
            )
        )
        base *= factor
    for location, level in ends:
        monthly = base * _END_MONTHLY_FACTOR[level]
        one_time = _END_ONE_TIME[level]
        if monthly or one_time:
            components.append(
                PriceComponent(
                    f"{level.replace('_', '-')} access at {location.name}",
                    _cents(monthly),
                    _cents(one_time),
                )
            )
    modifier = _term_factor(spec.term_months) * _CLASS_FACTOR[spec.class_of_service]
    monthly_cents = sum(_cents(Decimal(c.monthly_cents) / 100 * modifier) for c in components)
    # Installation is waived on terms of three years or more; build and partner fees are not.
    one_time_cents = sum(
        c.one_time_cents
        for i, c in enumerate(components)
        if not (i == 0 and spec.term_months >= 36)
    )
    return Price(
        monthly_cents=monthly_cents, one_time_cents=one_time_cents, components=tuple(components)
    )
