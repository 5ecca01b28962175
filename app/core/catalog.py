"""Product offerings, their characteristics, and deterministic pricing."""

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from sqlalchemy import JSON, ColumnElement, event, func, or_
from sqlalchemy.orm import ORMExecuteState, Session, aliased
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import clock
from app.core.db import StrEnumType, UTCDateTime, commit, config_of, new_id
from app.core.errors import Conflict, InvalidRequest, NotFound
from app.core.events import EntityKind, Event, EventAudience, EventKind, record
from app.core.geography import Location, Serviceability, distance_km
from app.core.kept import Keeper, document_field, register_document
from app.core.paging import (
    Condition,
    Page,
    either_column,
    fetch_page,
    in_list,
    list_length,
    via,
    where,
)
from app.core.parties import Principal

CURRENCY = "USD"
LINE_BANDWIDTHS_MBPS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000]
PORT_SPEEDS_MBPS = [1000, 10000, 100000]
MIN_TERM_MONTHS, MAX_TERM_MONTHS = 1, 60
# The terms a price list shows; an offering sells those within its own bounds.
STANDARD_TERMS_MONTHS = (12, 24, 36, 60)
# Amounts stay within a database integer.
MAX_CENTS = 10**14
_Entry = TypeVar("_Entry", bound=SQLModel)
_Field = TypeVar("_Field", bound=StrEnum)


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


class LifecycleStatus(StrEnum):
    """Lifecycle of an entry of the catalog: designed, then on sale (active), then retired."""

    IN_DESIGN = "in_design"
    ACTIVE = "active"
    RETIRED = "retired"


class ValueType(StrEnum):
    """The type of the values of a characteristic."""

    INTEGER = "integer"
    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"


class PriceKind(StrEnum):
    """Charged every period, once, or by use."""

    RECURRING = "recurring"
    ONE_TIME = "one_time"
    USAGE = "usage"


class OfferingBase(SQLModel):
    name: str = Field(max_length=200)
    # What the core delivers for it, from its specification; none while it is in design.
    kind: ProductKind | None = Field(default=None, sa_type=StrEnumType(ProductKind, 20))
    description: str = Field(default="", max_length=2000)
    bandwidths_mbps: list[int] = Field(default_factory=list, sa_type=JSON)
    classes_of_service: list[str] = Field(default_factory=list, sa_type=JSON)
    min_term_months: int = MIN_TERM_MONTHS
    max_term_months: int = MAX_TERM_MONTHS
    category: str = Field(default="connectivity", max_length=100)
    # When the entry is valid, as operations staff publish it.
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    specification_id: str | None = Field(
        default=None, foreign_key="specification.id", index=True, max_length=40
    )
    # What operations staff published that the core keeps without interpreting (no face
    # filters on it), by the name the face gave it.
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Offering(OfferingBase, table=True):
    """A sellable product of the catalog."""

    id: str = Field(primary_key=True, max_length=40)
    # Why an offering is not (yet) orderable; empty when it is.
    status_reason: str = Field(default="", max_length=300)
    status: LifecycleStatus = Field(
        default=LifecycleStatus.ACTIVE, sa_type=StrEnumType(LifecycleStatus, 12)
    )
    version: int = 1
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)

    @property
    def delivered_kind(self) -> ProductKind:
        """The kind of an offering on sale; one still in design has none yet."""
        if self.kind is None:
            raise InvalidRequest(f"offering '{self.id}' is in design", field="offering")
        return self.kind

    @property
    def needs_two_ends(self) -> bool:
        """Whether an item of this offering joins an A end and a Z end."""
        return self.kind is ProductKind.ETHERNET_LINE


class OfferingUpdate(SQLModel):
    """Fields of an offering that operations staff may change (its version is the core's)."""

    name: str | None = None
    description: str | None = None
    bandwidths_mbps: list[int] | None = None
    classes_of_service: list[str] | None = None
    min_term_months: int | None = None
    max_term_months: int | None = None
    category: str | None = None
    specification_id: str | None = None
    status: LifecycleStatus | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    # Merged into what the entry keeps; a None value removes its key.
    annotations: dict[str, Any] | None = None


class Specification(SQLModel, table=True):
    """A product specification: what a kind of product is and the characteristics it takes."""

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    brand: str = Field(default="", max_length=100)
    version: str = Field(default="1.0", max_length=20)
    # The kind the core delivers for offerings of this specification; none for a specification
    # that only describes (its offerings stay in design).
    kind: ProductKind | None = Field(default=None, sa_type=StrEnumType(ProductKind, 20))
    status: LifecycleStatus = Field(
        default=LifecycleStatus.ACTIVE, sa_type=StrEnumType(LifecycleStatus, 12)
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    # When the entry is valid, as operations staff publish it.
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What operations staff published that the core keeps without interpreting (no face
    # filters on it), by the name the face gave it.
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class SpecCharacteristic(SQLModel, table=True):
    """A characteristic a specification takes: its name, value type, unit and allowed range."""

    id: str = Field(default_factory=lambda: new_id("chr"), primary_key=True, max_length=40)
    specification_id: str = Field(foreign_key="specification.id", index=True, max_length=40)
    position: int = 0
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=500)
    value_type: ValueType = Field(default=ValueType.STRING, sa_type=StrEnumType(ValueType, 12))
    unit: str | None = Field(default=None, max_length=20)
    value_from: int | None = None
    value_to: int | None = None


class CharacteristicValue(SQLModel, table=True):
    """One value a characteristic allows."""

    id: str = Field(default_factory=lambda: new_id("chv"), primary_key=True, max_length=40)
    characteristic_id: str = Field(foreign_key="speccharacteristic.id", index=True, max_length=40)
    position: int = 0
    value: str = Field(max_length=100)
    is_default: bool = False


class Category(SQLModel, table=True):
    """A category that groups offerings, possibly below a parent category."""

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    parent_id: str | None = Field(default=None, foreign_key="category.id", max_length=40)
    version: str = Field(default="1.0", max_length=20)
    status: LifecycleStatus = Field(
        default=LifecycleStatus.ACTIVE, sa_type=StrEnumType(LifecycleStatus, 12)
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    # When the entry is valid, as operations staff publish it.
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What operations staff published that the core keeps without interpreting (no face
    # filters on it), by the name the face gave it.
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Catalog(SQLModel, table=True):
    """A published catalog: a set of categories."""

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    catalog_type: str = Field(default="ProductCatalog", max_length=60)
    version: str = Field(default="1.0", max_length=20)
    status: LifecycleStatus = Field(
        default=LifecycleStatus.ACTIVE, sa_type=StrEnumType(LifecycleStatus, 12)
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    # When the entry is valid, as operations staff publish it.
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What operations staff published that the core keeps without interpreting (no face
    # filters on it), by the name the face gave it.
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class CatalogCategory(SQLModel, table=True):
    """A category published in a catalog."""

    catalog_id: str = Field(foreign_key="catalog.id", primary_key=True, max_length=40)
    category_id: str = Field(foreign_key="category.id", primary_key=True, max_length=40)


class OfferingPrice(SQLModel, table=True):
    """A published list price: charged monthly, once or by use. Orders are priced by `price`
    for their actual sites, speed and term; this is what the catalog advertises."""

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    kind: PriceKind = Field(default=PriceKind.RECURRING, sa_type=StrEnumType(PriceKind, 12))
    amount_cents: int = 0
    currency: str = Field(default=CURRENCY, max_length=3)
    # Months between two recurring charges.
    period_months: int | None = None
    unit_of_measure: str | None = Field(default=None, max_length=40)
    version: str = Field(default="1.0", max_length=20)
    status: LifecycleStatus = Field(
        default=LifecycleStatus.ACTIVE, sa_type=StrEnumType(LifecycleStatus, 12)
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    # When the entry is valid, as operations staff publish it.
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What operations staff published that the core keeps without interpreting (no face
    # filters on it), by the name the face gave it.
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class OfferingPriceLink(SQLModel, table=True):
    """A price an offering is sold at."""

    offering_id: str = Field(foreign_key="offering.id", primary_key=True, max_length=40)
    price_id: str = Field(foreign_key="offeringprice.id", primary_key=True, max_length=40)


class CharacteristicInput(SQLModel):
    """A characteristic of a specification as operations staff describe it."""

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    value_type: ValueType = ValueType.STRING
    unit: str | None = Field(default=None, max_length=20)
    value_from: int | None = Field(default=None, ge=-(2**31), lt=2**31)
    value_to: int | None = Field(default=None, ge=-(2**31), lt=2**31)
    values: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list)
    default_value: str | None = None


class EntryInput(SQLModel):
    """What every new catalog entry takes: its name, description, version, lifecycle status,
    validity and the attributes it keeps as given."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    version: str = Field(default="1.0", max_length=20)
    status: LifecycleStatus = LifecycleStatus.ACTIVE
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    # Kept as given, not interpreted (see the row's `annotations`).
    annotations: dict[str, Any] = Field(default_factory=dict)


class EntryUpdate(SQLModel):
    """What operations staff may change of every catalog entry (None: unchanged)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    version: str | None = Field(default=None, max_length=20)
    status: LifecycleStatus | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    # Merged into what the entry keeps; a None value removes its key.
    annotations: dict[str, Any] | None = None


class SpecificationInput(EntryInput):
    """A new specification."""

    brand: str = Field(default="", max_length=100)
    characteristics: list[CharacteristicInput] = Field(default_factory=list)


class SpecificationUpdate(EntryUpdate):
    """Fields of a specification that operations staff may change."""

    brand: str | None = Field(default=None, max_length=100)
    characteristics: list[CharacteristicInput] | None = None


class CategoryInput(EntryInput):
    """A new category."""

    parent_id: str | None = Field(default=None, max_length=40)


class CategoryUpdate(EntryUpdate):
    """Fields of a category that operations staff may change."""

    parent_id: str | None = Field(default=None, max_length=40)


class CatalogInput(EntryInput):
    """A new catalog."""

    catalog_type: str = Field(default="ProductCatalog", max_length=60)
    category_ids: list[str] = Field(default_factory=list)


class CatalogUpdate(EntryUpdate):
    """Fields of a catalog that operations staff may change."""

    catalog_type: str | None = Field(default=None, max_length=60)
    category_ids: list[str] | None = None


class PriceInput(EntryInput):
    """A new list price."""

    kind: PriceKind = PriceKind.RECURRING
    amount_cents: int = Field(default=0, ge=0, lt=MAX_CENTS)
    currency: str = CURRENCY
    period_months: int | None = Field(default=None, ge=1, le=MAX_TERM_MONTHS)
    unit_of_measure: str | None = Field(default=None, max_length=40)


class PriceUpdate(EntryUpdate):
    """Fields of a list price that operations staff may change."""

    kind: PriceKind | None = None
    amount_cents: int | None = Field(default=None, ge=0, lt=MAX_CENTS)
    currency: str | None = None
    period_months: int | None = Field(default=None, ge=1, le=MAX_TERM_MONTHS)
    unit_of_measure: str | None = Field(default=None, max_length=40)


@dataclass
class CharacteristicDetail:
    """A characteristic and the values it allows."""

    characteristic: SpecCharacteristic
    values: list[CharacteristicValue]


@dataclass
class SpecificationDetail:
    """A specification and its characteristics."""

    specification: Specification
    characteristics: list[CharacteristicDetail]


@dataclass
class OfferingDetail:
    """An offering with what it refers to: specification, category and prices."""

    offering: Offering
    specification: Specification | None
    category: Category | None
    prices: list[OfferingPrice]


@dataclass
class CategoryDetail:
    """A category with its offerings and subcategories."""

    category: Category
    offerings: list[Offering]
    subcategories: list[Category]


@dataclass
class CatalogDetail:
    """A catalog with its categories."""

    catalog: Catalog
    categories: list[Category]


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
class BoughtAccess:
    """Access at an off-net end that a partner sells us, priced with our margin."""

    partner_name: str
    monthly_cents: int
    one_time_cents: int
    # The partner that priced it and its quote: the order buys from that partner, at that quote.
    partner_id: str = ""
    quote_id: str | None = None


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
    if offering is None or (active_only and offering.status is not LifecycleStatus.ACTIVE):
        raise NotFound(f"no product offering '{offering_id}'", field="offering")
    return offering


class OfferingCache:
    """Every offering of the catalog, retired ones too, kept by a process between changes.

    Dropped when a session of the process commits a change to an offering, when any process
    announces one (`heard`, from the event feed), and whenever announcements may have gone
    unheard (`drop`); kept only while `trusted()` (e.g. while the event feed listens). The
    offerings it hands out are detached copies shared by every reader: read them only."""

    def __init__(self, *, trusted: Callable[[], bool] = lambda: True) -> None:
        self.trusted = trusted
        self._offerings: dict[str, Offering] | None = None
        # Counts the drops: a read that began before a drop must not be kept after it.
        self._generation = 0

    @property
    def holds(self) -> bool:
        """Whether it holds the catalog now."""
        return self._offerings is not None

    def drop(self) -> None:
        """Forget the catalog, and any read of it under way."""
        self._offerings = None
        self._generation += 1

    async def heard(self, events: list[Event]) -> None:
        """Drop the catalog when these committed events announce a change to an offering."""
        if any(e.entity is EntityKind.OFFERING for e in events):
            self.drop()

    def kept(self) -> dict[str, Offering] | None:
        """The catalog by id while it is kept, else None."""
        return self._offerings if self.trusted() else None

    async def by_id(self, session: AsyncSession, ids: Collection[str]) -> dict[str, Offering]:
        """The catalog by id: as kept while it holds every id asked for, else read again."""
        kept = self.kept()
        if kept is not None and all(i in kept for i in ids):
            return kept
        generation = self._generation
        read = await list_offerings(session, include_retired=True)
        offerings = {o.id: Offering.model_validate(o.model_dump()) for o in read}
        if generation == self._generation and self.trusted():
            self._offerings = offerings
        return offerings


_OFFERINGS_CHANGED = "lumen.offerings_changed"


@event.listens_for(Session, "after_flush")
def _note_changed_offerings(session: Session, _context: Any) -> None:
    if any(isinstance(row, Offering) for row in (*session.new, *session.dirty, *session.deleted)):
        session.info[_OFFERINGS_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_offering_changes(state: ORMExecuteState) -> None:
    # An INSERT, UPDATE or DELETE statement on the table, which no flush sees.
    if not state.is_select and state.bind_mapper is not None:
        if state.bind_mapper.class_ is Offering:
            state.session.info[_OFFERINGS_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _drop_changed_offerings(session: Session) -> None:
    if session.info.pop(_OFFERINGS_CHANGED, False):
        cache = config_of(session).offerings
        if cache is not None:
            cache.drop()


async def offerings_by_id(session: AsyncSession, ids: Collection[str]) -> dict[str, Offering]:
    """The catalog's offerings by id, retired ones included, holding at least `ids` that
    exist: from the process's `OfferingCache` when the session's configuration has one."""
    cache = config_of(session).offerings
    if cache is not None:
        return await cache.by_id(session, ids)
    return {o.id: o for o in await list_offerings(session, include_retired=True)}


def kept_offerings(session: AsyncSession) -> dict[str, Offering] | None:
    """The catalog's offerings by id as the process keeps them, if it does now (no read)."""
    cache = config_of(session).offerings
    return cache.kept() if cache is not None else None


async def list_offerings(session: AsyncSession, *, include_retired: bool = False) -> list[Offering]:
    """The catalog, public to every caller."""
    statement = select(Offering).order_by(col(Offering.id))
    if not include_retired:
        statement = statement.where(Offering.status == LifecycleStatus.ACTIVE)
    return list((await session.exec(statement)).all())


# The names under which specifications publish what orders and qualifications choose.
BANDWIDTH, CLASS_OF_SERVICE, TERM = "bandwidth", "classOfService", "termMonths"
SPECIFICATION_NAMES = {
    ProductKind.ETHERNET_LINE: "Ethernet virtual connection, point to point",
    ProductKind.ETHERNET_PORT: "Ethernet port (UNI)",
    ProductKind.INTERNET_ACCESS: "Dedicated Internet access",
}
STANDARD_CATEGORY = "connectivity"
STANDARD_CATALOG = "lumen-connectivity"


def _standard_characteristics(entry: dict[str, Any]) -> list[CharacteristicInput]:
    """What a buyer chooses for a product of a standard offering's kind."""
    speeds = [str(b) for b in entry["bandwidths_mbps"]]
    classes = [str(c) for c in entry["classes_of_service"]]
    return [
        CharacteristicInput(
            name=BANDWIDTH,
            description="Committed information rate",
            value_type=ValueType.INTEGER,
            unit="Mbps",
            values=speeds,
            default_value=speeds[0],
        ),
        CharacteristicInput(
            name=CLASS_OF_SERVICE,
            description="Performance tier",
            values=classes,
            default_value=classes[0],
        ),
        CharacteristicInput(
            name=TERM,
            description="Minimum term of the contract",
            value_type=ValueType.INTEGER,
            unit="month",
            value_from=MIN_TERM_MONTHS,
            value_to=MAX_TERM_MONTHS,
        ),
    ]


def _check_characteristics_input(inputs: list[CharacteristicInput]) -> None:
    names = [c.name for c in inputs]
    if len(set(names)) != len(names):
        raise InvalidRequest("characteristic names must be unique", field="characteristics")
    for item in inputs:
        where = f"characteristic '{item.name}'"
        for value in item.values:
            if item.value_type is ValueType.INTEGER and not value.lstrip("-").isdigit():
                raise InvalidRequest(f"{where}: {value!r} is not an integer", field=item.name)
        if item.default_value is not None and item.default_value not in item.values:
            raise InvalidRequest(
                f"{where}: the default value is not one of its values", field=item.name
            )
        if None not in (item.value_from, item.value_to) and item.value_from > item.value_to:  # type: ignore[operator]  # both checked not None
            raise InvalidRequest(f"{where}: valueFrom is above valueTo", field=item.name)


async def _add_characteristics(
    session: AsyncSession, specification_id: str, inputs: list[CharacteristicInput]
) -> None:
    characteristics = [
        SpecCharacteristic(
            specification_id=specification_id,
            position=position,
            **item.model_dump(exclude={"values", "default_value"}),
        )
        for position, item in enumerate(inputs)
    ]
    session.add_all(characteristics)
    # Values refer to their characteristic: it must be written first.
    await session.flush()
    session.add_all(
        CharacteristicValue(
            characteristic_id=characteristic.id,
            position=index,
            value=value,
            is_default=value == item.default_value,
        )
        for characteristic, item in zip(characteristics, inputs, strict=True)
        for index, value in enumerate(item.values)
    )


def list_price(offering: Offering) -> tuple[int, int]:
    """Monthly and one-time charges from: lowest speed, on-net, metro, 12 months."""
    if offering.kind is None:
        raise InvalidRequest("an offering in design has no price yet", field="offering")
    here, there = (
        Location(
            id=f"loc_list{n}",
            name="on-net",
            street_number="",
            street_name="",
            city="",
            state="",
            postcode="",
            latitude=0.0,
            longitude=0.0001 * n,
            on_net=True,
        )
        for n in (0, 1)
    )
    ends = [(here, Serviceability.ON_NET)]
    if offering.needs_two_ends:
        ends.append((there, Serviceability.ON_NET))
    spec = ProductSpec(
        offering_id=offering.id,
        a_location_id=here.id,
        z_location_id=there.id if offering.needs_two_ends else None,
        bandwidth_mbps=min(offering.bandwidths_mbps),
        term_months=max(12, offering.min_term_months),
        class_of_service=ClassOfService(
            (offering.classes_of_service or [ClassOfService.STANDARD])[0]
        ),
    )
    found = price(offering, spec, ends)
    return found.monthly_cents, found.one_time_cents


async def seed_catalog(session: AsyncSession) -> int:
    """Create the standard specifications, category, catalog, offerings and list prices that
    are missing; offerings from before specifications and prices get theirs."""
    added = 0
    for entry in STANDARD_OFFERINGS:
        kind: ProductKind = entry["kind"]
        if await session.get(Specification, kind.value) is None:
            session.add(
                Specification(
                    id=kind.value, name=SPECIFICATION_NAMES[kind], brand="Lumen", kind=kind
                )
            )
            await session.flush()
            await _add_characteristics(session, kind.value, _standard_characteristics(entry))
            added += 1
    if await session.get(Category, STANDARD_CATEGORY) is None:
        session.add(Category(id=STANDARD_CATEGORY, name="Connectivity"))
        added += 1
    await session.flush()
    if await session.get(Catalog, STANDARD_CATALOG) is None:
        session.add(Catalog(id=STANDARD_CATALOG, name="Lumen connectivity"))
        await session.flush()
        session.add(CatalogCategory(catalog_id=STANDARD_CATALOG, category_id=STANDARD_CATEGORY))
        added += 1
    fresh = []
    for entry in STANDARD_OFFERINGS:
        if await session.get(Offering, entry["id"]) is None:
            session.add(Offering.model_validate(entry))
            fresh.append(entry["id"])
            added += 1
    await session.flush()
    # New standard offerings, and those from before specifications (none named), get theirs
    # and their list prices; an offering that operations staff keep in design is left alone.
    unpriced = select(Offering).where(
        col(Offering.kind).is_not(None),
        col(Offering.specification_id).is_(None) | col(Offering.id).in_(fresh),
    )
    for offering in (await session.exec(unpriced)).all():
        offering.specification_id = offering.specification_id or str(offering.kind)
        monthly, one_time = list_price(offering)
        for suffix, kind_of_price, cents in (
            ("monthly", PriceKind.RECURRING, monthly),
            ("installation", PriceKind.ONE_TIME, one_time),
        ):
            price_id = f"{offering.id}-{suffix}"
            if await session.get(OfferingPrice, price_id) is None:
                session.add(
                    OfferingPrice(
                        id=price_id,
                        name=f"{offering.name}, {suffix} from",
                        kind=kind_of_price,
                        amount_cents=cents,
                        period_months=1 if kind_of_price is PriceKind.RECURRING else None,
                    )
                )
                await session.flush()
            session.add(OfferingPriceLink(offering_id=offering.id, price_id=price_id))
        added += 1
    await commit(session)
    return added


# Bookkeeping that changes with every write: not news to a listener by itself.
_UNANNOUNCED = {"status", "status_reason", "kind", "version", "created_at", "updated_at"}


def _announce(
    session: AsyncSession,
    principal: Principal,
    entity: EntityKind,
    entry: Any,
    before: dict[str, Any] | None,
    also_changed: tuple[str, ...] = (),
) -> None:
    """Record what became of a catalog entry, for every party's listeners: created (no
    `before`), retired, moved to another state, and/or changed in its attributes (those that
    differ from `before`, and `also_changed`, e.g. its prices). An offering that was never on
    sale is news to operations staff only."""
    status: LifecycleStatus = entry.status
    previous: LifecycleStatus | None = before["status"] if before is not None else None
    changed = [
        name
        for name, value in entry.model_dump().items()
        if before is not None and name not in _UNANNOUNCED and before.get(name) != value
    ] + list(also_changed)
    if before is None:
        kinds = [EventKind.CREATED]
    elif status is LifecycleStatus.RETIRED:
        kinds = [EventKind.DELETED] if previous is not LifecycleStatus.RETIRED else []
    else:
        kinds = [EventKind.STATE_CHANGED] if status is not previous else []
        kinds += [EventKind.ATTRIBUTE_CHANGED] if changed else []
    audience = EventAudience.EVERYONE
    if entity is EntityKind.OFFERING and LifecycleStatus.ACTIVE not in (previous, status):
        audience = EventAudience.OPS
    for kind in kinds:
        record(
            session,
            party_id=principal.party_id,
            entity=entity,
            entity_id=entry.id,
            kind=kind,
            state=status,
            previous_state=previous,
            data={
                "name": entry.name,
                "changed": changed if kind is EventKind.ATTRIBUTE_CHANGED else [],
            },
            audience=audience,
        )


async def _live(session: AsyncSession, model: type[_Entry], entry_id: str, what: str) -> _Entry:
    """A catalog entry that has not been retired, or NotFound."""
    found = await session.get(model, entry_id)
    if found is None or found.status is LifecycleStatus.RETIRED:  # type: ignore[attr-defined]
        raise NotFound(f"no {what} '{entry_id}'", field="id")
    return found


async def _referenced(
    session: AsyncSession, model: type[_Entry], entry_id: str, what: str, field_name: str
) -> _Entry:
    """A catalog entry that another one refers to; one that does not exist is bad input."""
    try:
        return await _live(session, model, entry_id, what)
    except NotFound as exc:
        raise InvalidRequest(exc.message, field=field_name) from exc


def _live_query(model: type[_Entry]) -> SelectOfScalar[_Entry]:
    status: Any = model.status  # type: ignore[attr-defined]
    key: Any = model.id  # type: ignore[attr-defined]
    return select(model).where(status != LifecycleStatus.RETIRED).order_by(key)


def _check_validity(entry: Any) -> None:
    if None not in (entry.valid_from, entry.valid_to) and entry.valid_from > entry.valid_to:
        raise InvalidRequest("the validity ends before it starts", field="valid_for")


def _annotated(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """What an entry keeps after merging `changes` into `current` (a None value removes a key)."""
    merged = {**current, **changes}
    return {name: value for name, value in merged.items() if value is not None}


def _apply(entry: Any, updates: dict[str, Any]) -> None:
    for name, value in updates.items():
        if name == "annotations":
            value = _annotated(entry.annotations, value)
        setattr(entry, name, value)
    _check_validity(entry)
    entry.updated_at = clock.now()


def _browsable(principal: Principal) -> ColumnElement[bool]:
    shown = [LifecycleStatus.ACTIVE] + ([LifecycleStatus.IN_DESIGN] if principal.is_ops else [])
    return col(Offering.status).in_(shown)


def offerings_query(*, principal: Principal) -> SelectOfScalar[Offering]:
    """The offerings a caller may browse: on sale, and those in design for operations staff."""
    return select(Offering).order_by(col(Offering.id)).where(_browsable(principal))


async def browse_offering(
    session: AsyncSession, *, principal: Principal, offering_id: str
) -> Offering:
    """One offering a caller may browse (see `offerings_query`)."""
    offering = await session.get(Offering, offering_id)
    visible = {LifecycleStatus.ACTIVE} | (
        {LifecycleStatus.IN_DESIGN} if principal.is_ops else set()
    )
    if offering is None or offering.status not in visible:
        raise NotFound(f"no product offering '{offering_id}'", field="id")
    return offering


async def offering_details(
    session: AsyncSession, offerings: list[Offering]
) -> list[OfferingDetail]:
    """Offerings with their specifications, categories and prices, in three statements."""
    spec_ids = {o.specification_id for o in offerings if o.specification_id}
    specs = {
        s.id: s
        for s in (
            await session.exec(select(Specification).where(col(Specification.id).in_(spec_ids)))
        ).all()
    }
    names = {o.category for o in offerings}
    categories = {
        c.id: c
        for c in (await session.exec(select(Category).where(col(Category.id).in_(names)))).all()
    }
    links = (
        await session.exec(
            select(OfferingPriceLink, OfferingPrice)
            .join(OfferingPrice, col(OfferingPrice.id) == OfferingPriceLink.price_id)
            .where(col(OfferingPriceLink.offering_id).in_([o.id for o in offerings]))
            .where(OfferingPrice.status != LifecycleStatus.RETIRED)
            .order_by(col(OfferingPrice.id))
        )
    ).all()
    return [
        OfferingDetail(
            offering=o,
            specification=specs.get(o.specification_id or ""),
            category=categories.get(o.category),
            prices=[p for link, p in links if link.offering_id == o.id],
        )
        for o in offerings
    ]


def _settle_status(
    offering: Offering,
    specification: Specification | None,
    prices: list[OfferingPrice],
    wanted: LifecycleStatus,
) -> None:
    """An offering is on sale only when the core can deliver it (its specification names a kind)
    and it has a price; asked to be active before that, it stays in design and says why."""
    offering.kind = specification.kind if specification else None
    missing = []
    if offering.kind is None:
        missing.append("a product specification that the platform delivers")
    if not any(p.status is LifecycleStatus.ACTIVE for p in prices):
        missing.append("an active price")
    if wanted is LifecycleStatus.ACTIVE and missing:
        offering.status = LifecycleStatus.IN_DESIGN
        offering.status_reason = "not orderable until it has " + " and ".join(missing)
    else:
        offering.status, offering.status_reason = wanted, ""


async def _allowed_values(session: AsyncSession, specification_id: str) -> dict[str, list[str]]:
    rows = (
        await session.exec(
            select(SpecCharacteristic.name, CharacteristicValue.value)
            .join(
                CharacteristicValue,
                col(CharacteristicValue.characteristic_id) == SpecCharacteristic.id,
            )
            .where(SpecCharacteristic.specification_id == specification_id)
        )
    ).all()
    allowed: dict[str, list[str]] = {}
    for name, value in rows:
        allowed.setdefault(name, []).append(value)
    return allowed


async def _check_against_specification(
    session: AsyncSession, offering: Offering, specification: Specification | None
) -> None:
    """An offering sells only speeds and classes of service that its specification allows."""
    if specification is None or specification.kind is None:
        return
    allowed = await _allowed_values(session, specification.id)
    speeds = allowed.get(BANDWIDTH)
    if speeds and any(str(b) not in speeds for b in offering.bandwidths_mbps):
        raise InvalidRequest(
            f"bandwidths of {specification.name} must be chosen from {', '.join(speeds)}",
            field="bandwidths_mbps",
        )
    classes = allowed.get(CLASS_OF_SERVICE)
    if classes and any(c not in classes for c in offering.classes_of_service):
        raise InvalidRequest(
            f"classes of service of {specification.name} must be among {', '.join(classes)}",
            field="classes_of_service",
        )


async def _prices(session: AsyncSession, price_ids: list[str]) -> list[OfferingPrice]:
    return [
        await _referenced(session, OfferingPrice, i, "product offering price", "prices")
        for i in dict.fromkeys(price_ids)
    ]


async def _linked_prices(session: AsyncSession, offering_id: str) -> list[OfferingPrice]:
    return list(
        (
            await session.exec(
                select(OfferingPrice)
                .join(OfferingPriceLink, col(OfferingPriceLink.price_id) == OfferingPrice.id)
                .where(OfferingPriceLink.offering_id == offering_id)
            )
        ).all()
    )


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


async def _offering_specification(
    session: AsyncSession, offering: Offering
) -> Specification | None:
    if offering.specification_id is None and offering.kind is not None:
        offering.specification_id = offering.kind.value
    if offering.specification_id is None:
        return None
    return await _referenced(
        session, Specification, offering.specification_id, "product specification", "specification"
    )


async def create_offering(
    session: AsyncSession,
    *,
    principal: Principal,
    offering_id: str,
    data: OfferingBase,
    price_ids: list[str] | None = None,
    status: LifecycleStatus = LifecycleStatus.ACTIVE,
) -> Offering:
    """Add an offering to the catalog (operations staff only); it is on sale once complete."""
    principal.require_ops()
    if await session.get(Offering, offering_id) is not None:
        raise Conflict(f"product offering '{offering_id}' exists", field="id")
    offering = Offering.model_validate({**data.model_dump(), "id": offering_id})
    offering.classes_of_service = offering.classes_of_service or [ClassOfService.STANDARD]
    _validate_offering_fields(offering)
    _check_validity(offering)
    specification = await _offering_specification(session, offering)
    await _check_against_specification(session, offering, specification)
    await _referenced(session, Category, offering.category, "category", "category")
    prices = await _prices(session, price_ids or [])
    _settle_status(offering, specification, prices, status)
    session.add(offering)
    await session.flush()
    session.add_all(OfferingPriceLink(offering_id=offering_id, price_id=p.id) for p in prices)
    _announce(session, principal, EntityKind.OFFERING, offering, None)
    await commit(session)
    return offering


async def update_offering(
    session: AsyncSession,
    *,
    principal: Principal,
    offering_id: str,
    changes: OfferingUpdate,
    price_ids: list[str] | None = None,
) -> Offering:
    """Change an offering (operations staff only); bumps its version. `price_ids`, when given,
    replace its prices."""
    principal.require_ops()
    offering = await get_offering(session, offering_id, active_only=False)
    before = offering.model_dump()
    updates = {k: v for k, v in changes.model_dump(exclude_unset=True).items() if v is not None}
    # An offering that waits for what it lacks goes on sale once it has it.
    wanted = updates.pop(
        "status", LifecycleStatus.ACTIVE if offering.status_reason else offering.status
    )
    # Check a detached copy first: a refused change must not linger in the session's row.
    copy = Offering.model_validate({**offering.model_dump(), **updates})
    _validate_offering_fields(copy)
    _check_validity(copy)
    specification = await _offering_specification(session, copy)
    await _check_against_specification(session, copy, specification)
    await _referenced(session, Category, copy.category, "category", "category")
    prices = (
        await _prices(session, price_ids)
        if price_ids is not None
        else await _linked_prices(session, offering_id)
    )
    updates["specification_id"] = copy.specification_id
    if "annotations" in updates:
        updates["annotations"] = _annotated(offering.annotations, updates["annotations"])
    for name, value in updates.items():
        setattr(offering, name, value)
    _settle_status(offering, specification, prices, wanted)
    if price_ids is not None:
        for link in (
            await session.exec(
                select(OfferingPriceLink).where(OfferingPriceLink.offering_id == offering_id)
            )
        ).all():
            await session.delete(link)
        await session.flush()
        session.add_all(OfferingPriceLink(offering_id=offering_id, price_id=p.id) for p in prices)
    offering.version += 1
    offering.updated_at = clock.now()
    session.add(offering)
    prices_changed = ("prices",) if price_ids is not None else ()
    _announce(session, principal, EntityKind.OFFERING, offering, before, prices_changed)
    await commit(session)
    return offering


async def retire_offering(session: AsyncSession, *, principal: Principal, offering_id: str) -> None:
    """Withdraw an offering from sale; existing inventory keeps referring to it."""
    await update_offering(
        session,
        principal=principal,
        offering_id=offering_id,
        changes=OfferingUpdate(status=LifecycleStatus.RETIRED),
    )


def specifications_query() -> SelectOfScalar[Specification]:
    """The product specifications, public to every caller."""
    return _live_query(Specification)


async def get_specification(session: AsyncSession, specification_id: str) -> Specification:
    """A product specification by id."""
    return await _live(session, Specification, specification_id, "product specification")


async def specification_details(
    session: AsyncSession, specifications: list[Specification]
) -> list[SpecificationDetail]:
    """Specifications with their characteristics and allowed values, in two statements."""
    characteristics = (
        await session.exec(
            select(SpecCharacteristic)
            .where(col(SpecCharacteristic.specification_id).in_([s.id for s in specifications]))
            .order_by(col(SpecCharacteristic.position))
        )
    ).all()
    values = (
        await session.exec(
            select(CharacteristicValue)
            .where(col(CharacteristicValue.characteristic_id).in_([c.id for c in characteristics]))
            .order_by(col(CharacteristicValue.position))
        )
    ).all()
    return [
        SpecificationDetail(
            specification=s,
            characteristics=[
                CharacteristicDetail(c, [v for v in values if v.characteristic_id == c.id])
                for c in characteristics
                if c.specification_id == s.id
            ],
        )
        for s in specifications
    ]


async def create_specification(
    session: AsyncSession, *, principal: Principal, data: SpecificationInput
) -> Specification:
    """Describe a new product specification (operations staff only). Offerings of it stay in
    design: the core delivers only the kinds of the standard specifications."""
    principal.require_ops()
    _check_characteristics_input(data.characteristics)
    specification = Specification(id=new_id("spec"), **data.model_dump(exclude={"characteristics"}))
    _check_validity(specification)
    session.add(specification)
    await session.flush()
    await _add_characteristics(session, specification.id, data.characteristics)
    _announce(session, principal, EntityKind.SPECIFICATION, specification, None)
    await commit(session)
    return specification


async def _offerings_using(session: AsyncSession, column: Any, entry_id: str) -> list[str]:
    found = await session.exec(
        select(Offering.id).where(column == entry_id, Offering.status != LifecycleStatus.RETIRED)
    )
    return list(found.all())


async def update_specification(
    session: AsyncSession,
    *,
    principal: Principal,
    specification_id: str,
    changes: SpecificationUpdate,
) -> Specification:
    """Change a specification (operations staff only)."""
    principal.require_ops()
    specification = await get_specification(session, specification_id)
    before = specification.model_dump()
    updates = changes.model_dump(exclude_unset=True, exclude={"characteristics"})
    if changes.status is LifecycleStatus.RETIRED:
        used = await _offerings_using(session, Offering.specification_id, specification_id)
        if used:
            raise Conflict(f"offerings {', '.join(used)} use this specification", field="id")
    if changes.characteristics is not None:
        if specification.kind is not None:
            raise InvalidRequest(
                "the characteristics of a specification the platform delivers are fixed",
                field="characteristics",
            )
        _check_characteristics_input(changes.characteristics)
        old = (
            await session.exec(
                select(SpecCharacteristic).where(
                    SpecCharacteristic.specification_id == specification_id
                )
            )
        ).all()
        for value in (
            await session.exec(
                select(CharacteristicValue).where(
                    col(CharacteristicValue.characteristic_id).in_([c.id for c in old])
                )
            )
        ).all():
            await session.delete(value)
        await session.flush()
        for characteristic in old:
            await session.delete(characteristic)
        await session.flush()
        await _add_characteristics(session, specification_id, changes.characteristics)
    _apply(specification, {k: v for k, v in updates.items() if v is not None})
    session.add(specification)
    also = ("characteristics",) if changes.characteristics is not None else ()
    _announce(session, principal, EntityKind.SPECIFICATION, specification, before, also)
    await commit(session)
    return specification


async def retire_specification(
    session: AsyncSession, *, principal: Principal, specification_id: str
) -> None:
    """Withdraw a specification that no offering uses (operations staff only)."""
    await update_specification(
        session,
        principal=principal,
        specification_id=specification_id,
        changes=SpecificationUpdate(status=LifecycleStatus.RETIRED),
    )


def categories_query() -> SelectOfScalar[Category]:
    """The categories, public to every caller."""
    return _live_query(Category)


async def get_category(session: AsyncSession, category_id: str) -> Category:
    """A category by id."""
    return await _live(session, Category, category_id, "category")


async def category_details(
    session: AsyncSession, *, principal: Principal, categories: list[Category]
) -> list[CategoryDetail]:
    """Categories with the offerings the caller may browse and their subcategories."""
    ids = [c.id for c in categories]
    offerings = (
        await session.exec(
            offerings_query(principal=principal).where(col(Offering.category).in_(ids))
        )
    ).all()
    children = (
        await session.exec(categories_query().where(col(Category.parent_id).in_(ids)))
    ).all()
    return [
        CategoryDetail(
            category=c,
            offerings=[o for o in offerings if o.category == c.id],
            subcategories=[s for s in children if s.parent_id == c.id],
        )
        for c in categories
    ]


async def _check_parent(session: AsyncSession, category_id: str, parent_id: str | None) -> None:
    seen = {category_id}
    while parent_id is not None:
        if parent_id in seen:
            raise InvalidRequest("a category cannot be below itself", field="parent_id")
        seen.add(parent_id)
        parent = await _referenced(session, Category, parent_id, "category", "parent_id")
        parent_id = parent.parent_id


async def create_category(
    session: AsyncSession, *, principal: Principal, data: CategoryInput
) -> Category:
    """Add a category (operations staff only)."""
    principal.require_ops()
    category = Category(id=new_id("cat"), **data.model_dump())
    _check_validity(category)
    await _check_parent(session, category.id, category.parent_id)
    session.add(category)
    _announce(session, principal, EntityKind.CATEGORY, category, None)
    await commit(session)
    return category


async def update_category(
    session: AsyncSession, *, principal: Principal, category_id: str, changes: CategoryUpdate
) -> Category:
    """Change a category (operations staff only)."""
    principal.require_ops()
    category = await get_category(session, category_id)
    before = category.model_dump()
    updates = changes.model_dump(exclude_unset=True)
    if "parent_id" in updates:
        await _check_parent(session, category_id, updates["parent_id"])
    if changes.status is LifecycleStatus.RETIRED:
        used = await _offerings_using(session, Offering.category, category_id)
        if used:
            raise Conflict(f"offerings {', '.join(used)} are in this category", field="id")
    _apply(
        category,
        {k: v for k, v in updates.items() if v is not None or k == "parent_id"},
    )
    session.add(category)
    _announce(session, principal, EntityKind.CATEGORY, category, before)
    await commit(session)
    return category


async def retire_category(session: AsyncSession, *, principal: Principal, category_id: str) -> None:
    """Withdraw a category that holds no offering (operations staff only)."""
    await update_category(
        session,
        principal=principal,
        category_id=category_id,
        changes=CategoryUpdate(status=LifecycleStatus.RETIRED),
    )


def catalogs_query() -> SelectOfScalar[Catalog]:
    """The catalogs, public to every caller."""
    return _live_query(Catalog)


async def get_catalog(session: AsyncSession, catalog_id: str) -> Catalog:
    """A catalog by id."""
    return await _live(session, Catalog, catalog_id, "catalog")


async def catalog_details(session: AsyncSession, catalogs: list[Catalog]) -> list[CatalogDetail]:
    """Catalogs with their categories, in one statement."""
    rows = (
        await session.exec(
            select(CatalogCategory, Category)
            .join(Category, col(Category.id) == CatalogCategory.category_id)
            .where(col(CatalogCategory.catalog_id).in_([c.id for c in catalogs]))
            .where(Category.status != LifecycleStatus.RETIRED)
            .order_by(col(Category.id))
        )
    ).all()
    return [
        CatalogDetail(c, [category for link, category in rows if link.catalog_id == c.id])
        for c in catalogs
    ]


async def _link_categories(session: AsyncSession, catalog_id: str, category_ids: list[str]) -> None:
    for link in (
        await session.exec(select(CatalogCategory).where(CatalogCategory.catalog_id == catalog_id))
    ).all():
        await session.delete(link)
    await session.flush()
    for category_id in dict.fromkeys(category_ids):
        await _referenced(session, Category, category_id, "category", "category")
        session.add(CatalogCategory(catalog_id=catalog_id, category_id=category_id))


async def create_catalog(
    session: AsyncSession, *, principal: Principal, data: CatalogInput
) -> Catalog:
    """Publish a catalog of categories (operations staff only)."""
    principal.require_ops()
    catalog = Catalog(id=new_id("ctl"), **data.model_dump(exclude={"category_ids"}))
    _check_validity(catalog)
    session.add(catalog)
    await session.flush()
    await _link_categories(session, catalog.id, data.category_ids)
    _announce(session, principal, EntityKind.CATALOG, catalog, None)
    await commit(session)
    return catalog


async def update_catalog(
    session: AsyncSession, *, principal: Principal, catalog_id: str, changes: CatalogUpdate
) -> Catalog:
    """Change a catalog (operations staff only)."""
    principal.require_ops()
    catalog = await get_catalog(session, catalog_id)
    before = catalog.model_dump()
    updates = changes.model_dump(exclude_unset=True, exclude={"category_ids"})
    if changes.category_ids is not None:
        await _link_categories(session, catalog_id, changes.category_ids)
    _apply(catalog, {k: v for k, v in updates.items() if v is not None})
    session.add(catalog)
    also = ("categories",) if changes.category_ids is not None else ()
    _announce(session, principal, EntityKind.CATALOG, catalog, before, also)
    await commit(session)
    return catalog


async def retire_catalog(session: AsyncSession, *, principal: Principal, catalog_id: str) -> None:
    """Withdraw a catalog (operations staff only); its categories stay."""
    await update_catalog(
        session,
        principal=principal,
        catalog_id=catalog_id,
        changes=CatalogUpdate(status=LifecycleStatus.RETIRED),
    )


def prices_query() -> SelectOfScalar[OfferingPrice]:
    """The list prices, public to every caller."""
    return _live_query(OfferingPrice)


async def get_price(session: AsyncSession, price_id: str) -> OfferingPrice:
    """A list price by id."""
    return await _live(session, OfferingPrice, price_id, "product offering price")


def _check_price(price_row: OfferingPrice) -> None:
    if price_row.currency != CURRENCY:
        raise InvalidRequest(f"prices are in {CURRENCY}", field="currency")
    if price_row.kind is PriceKind.RECURRING and price_row.period_months is None:
        price_row.period_months = 1
    if price_row.kind is not PriceKind.RECURRING:
        price_row.period_months = None


async def create_price(
    session: AsyncSession, *, principal: Principal, data: PriceInput
) -> OfferingPrice:
    """Publish a list price (operations staff only); an offering refers to it to be sold."""
    principal.require_ops()
    created = OfferingPrice(id=new_id("pop"), **data.model_dump())
    _check_price(created)
    _check_validity(created)
    session.add(created)
    _announce(session, principal, EntityKind.PRICE, created, None)
    await commit(session)
    return created


async def update_price(
    session: AsyncSession, *, principal: Principal, price_id: str, changes: PriceUpdate
) -> OfferingPrice:
    """Change a list price (operations staff only); an offering on sale keeps an active price."""
    principal.require_ops()
    found = await get_price(session, price_id)
    before = found.model_dump()
    updates = {k: v for k, v in changes.model_dump(exclude_unset=True).items() if v is not None}
    copy = OfferingPrice.model_validate({**found.model_dump(), **updates})
    _check_price(copy)
    if copy.status is not LifecycleStatus.ACTIVE:
        await _keep_a_price(session, price_id)
    _apply(found, {**updates, "period_months": copy.period_months})
    session.add(found)
    _announce(session, principal, EntityKind.PRICE, found, before)
    await commit(session)
    return found


async def _keep_a_price(session: AsyncSession, price_id: str) -> None:
    """Refuse to take away the last active price of an offering on sale."""
    on_sale = (
        await session.exec(
            select(Offering)
            .join(OfferingPriceLink, col(OfferingPriceLink.offering_id) == Offering.id)
            .where(OfferingPriceLink.price_id == price_id)
            .where(Offering.status == LifecycleStatus.ACTIVE)
        )
    ).all()
    for offering in on_sale:
        others = [
            p
            for p in await _linked_prices(session, offering.id)
            if p.id != price_id and p.status is LifecycleStatus.ACTIVE
        ]
        if not others:
            raise Conflict(
                f"price '{price_id}' is the only active price of offering '{offering.id}'",
                field="id",
            )


async def retire_price(session: AsyncSession, *, principal: Principal, price_id: str) -> None:
    """Withdraw a list price that no offering on sale depends on (operations staff only)."""
    await update_price(
        session,
        principal=principal,
        price_id=price_id,
        changes=PriceUpdate(status=LifecycleStatus.RETIRED),
    )


class SpecificationField(StrEnum):
    """The fields of a specification that a list can filter on."""

    ID = "id"
    NAME = "name"
    DESCRIPTION = "description"
    BRAND = "brand"
    VERSION = "version"
    STATUS = "status"
    UPDATED_AT = "updated_at"
    VALID_FROM = "valid_from"
    VALID_TO = "valid_to"
    # The attributes kept as given (a condition names a path in them).
    ANNOTATIONS = "annotations"
    # Specifications that take a characteristic of this name.
    CHARACTERISTIC = "characteristic"
    # Specifications with a characteristic (or an allowed value of one) of which this matches.
    HAS_CHARACTERISTIC = "has_characteristic"
    CHARACTERISTIC_DESCRIPTION = "characteristic.description"
    CHARACTERISTIC_VALUE_TYPE = "characteristic.value_type"
    CHARACTERISTIC_UNIT = "characteristic.unit"
    CHARACTERISTIC_VALUE_FROM = "characteristic.value_from"
    CHARACTERISTIC_VALUE_TO = "characteristic.value_to"
    HAS_RANGE = "characteristic.has_range"
    VALUE = "value.value"
    VALUE_IS_DEFAULT = "value.is_default"


class OfferingField(StrEnum):
    """The fields of an offering that a list can filter on."""

    ID = "id"
    NAME = "name"
    DESCRIPTION = "description"
    STATUS = "status"
    STATUS_REASON = "status_reason"
    VERSION = "version"
    ON_SALE = "on_sale"
    CATEGORY = "category"
    SPECIFICATION_ID = "specification_id"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    # When it is valid from: as published, or else since it was created.
    VALID_FROM = "valid_from"
    VALID_TO = "valid_to"
    # Its shortest or its longest term.
    TERM_MONTHS = "term_months"
    # A speed or a class of service it sells, and whether it sells any (several) of them.
    BANDWIDTH_MBPS = "bandwidth_mbps"
    CLASS_OF_SERVICE = "class_of_service"
    SELLS_VALUES = "sells_values"
    SELLS_CHOICES = "sells_choices"
    # The attributes kept as given (a condition names a path in them).
    ANNOTATIONS = "annotations"
    # Offerings sold at a price of this id (of this name).
    PRICE_ID = "price_id"
    PRICE_NAME = "price_name"
    HAS_PRICE = "has_price"
    # Offerings in a category (of a specification) of the catalog of this name.
    CATEGORY_NAME = "category_name"
    HAS_CATEGORY = "has_category"
    SPECIFICATION_NAME = "specification_name"
    HAS_SPECIFICATION = "has_specification"


class PriceField(StrEnum):
    """The fields of a list price that a list can filter on."""

    ID = "id"
    NAME = "name"
    DESCRIPTION = "description"
    KIND = "kind"
    AMOUNT_CENTS = "amount_cents"
    CURRENCY = "currency"
    PERIOD_MONTHS = "period_months"
    VERSION = "version"
    STATUS = "status"
    UPDATED_AT = "updated_at"
    VALID_FROM = "valid_from"
    VALID_TO = "valid_to"
    HAS_PERIOD = "has_period"
    HAS_UNIT_OF_MEASURE = "has_unit_of_measure"
    UNIT_OF_MEASURE = "unit_of_measure"
    # The attributes kept as given (a condition names a path in them).
    ANNOTATIONS = "annotations"


class CategoryField(StrEnum):
    """The fields of a category that a list can filter on."""

    ID = "id"
    NAME = "name"
    DESCRIPTION = "description"
    PARENT_ID = "parent_id"
    IS_ROOT = "is_root"
    VERSION = "version"
    STATUS = "status"
    UPDATED_AT = "updated_at"
    VALID_FROM = "valid_from"
    VALID_TO = "valid_to"
    # The attributes kept as given (a condition names a path in them).
    ANNOTATIONS = "annotations"
    # Categories holding an offering of this id (name), or below them.
    OFFERING_ID = "offering_id"
    OFFERING_NAME = "offering_name"
    HAS_OFFERING = "has_offering"
    SUBCATEGORY_ID = "subcategory_id"
    SUBCATEGORY_NAME = "subcategory_name"
    HAS_SUBCATEGORY = "has_subcategory"


class CatalogField(StrEnum):
    """The fields of a catalog that a list can filter on."""

    ID = "id"
    NAME = "name"
    DESCRIPTION = "description"
    CATALOG_TYPE = "catalog_type"
    VERSION = "version"
    STATUS = "status"
    UPDATED_AT = "updated_at"
    VALID_FROM = "valid_from"
    VALID_TO = "valid_to"
    # The attributes kept as given (a condition names a path in them).
    ANNOTATIONS = "annotations"
    # Catalogs that publish a category of this id (name), and whether they publish any.
    CATEGORY_ID = "category_id"
    CATEGORY_NAME = "category_name"
    HAS_CATEGORY = "has_category"


def _columns(model: Any, fields: type[_Field], *computed: _Field) -> dict[_Field, Any]:
    return {f: col(getattr(model, f.value)) for f in fields if f not in computed}


def _of_characteristics(column: Any) -> Any:
    return via(Specification.id, SpecCharacteristic.specification_id, column)


def _of_values(column: Any) -> Any:
    on = col(CharacteristicValue.characteristic_id) == SpecCharacteristic.id
    return via(
        Specification.id,
        SpecCharacteristic.specification_id,
        column,
        joined=((CharacteristicValue, on),),
    )


_SPECIFICATION_COLUMNS = _columns(
    Specification,
    SpecificationField,
    SpecificationField.CHARACTERISTIC,
    SpecificationField.ANNOTATIONS,
    SpecificationField.HAS_CHARACTERISTIC,
    SpecificationField.CHARACTERISTIC_DESCRIPTION,
    SpecificationField.CHARACTERISTIC_VALUE_TYPE,
    SpecificationField.CHARACTERISTIC_UNIT,
    SpecificationField.CHARACTERISTIC_VALUE_FROM,
    SpecificationField.CHARACTERISTIC_VALUE_TO,
    SpecificationField.HAS_RANGE,
    SpecificationField.VALUE,
    SpecificationField.VALUE_IS_DEFAULT,
) | {
    SpecificationField.HAS_RANGE: _of_characteristics(
        or_(
            col(SpecCharacteristic.value_from).is_not(None),
            col(SpecCharacteristic.value_to).is_not(None),
        ),
    ),
    SpecificationField.ANNOTATIONS: document_field(Keeper.SPECIFICATION, Specification.id),
    SpecificationField.HAS_CHARACTERISTIC: col(Specification.id).in_(
        select(SpecCharacteristic.specification_id)
    ),
    SpecificationField.CHARACTERISTIC_DESCRIPTION: _of_characteristics(
        SpecCharacteristic.description
    ),
    SpecificationField.CHARACTERISTIC_VALUE_TYPE: _of_characteristics(
        SpecCharacteristic.value_type
    ),
    SpecificationField.CHARACTERISTIC_UNIT: _of_characteristics(SpecCharacteristic.unit),
    SpecificationField.CHARACTERISTIC_VALUE_FROM: _of_characteristics(
        SpecCharacteristic.value_from
    ),
    SpecificationField.CHARACTERISTIC_VALUE_TO: _of_characteristics(SpecCharacteristic.value_to),
    SpecificationField.VALUE: _of_values(CharacteristicValue.value),
    SpecificationField.VALUE_IS_DEFAULT: _of_values(CharacteristicValue.is_default),
}
_LIVE_PRICE = col(OfferingPrice.status) != LifecycleStatus.RETIRED
_OFFERING_PRICES = ((OfferingPrice, col(OfferingPrice.id) == OfferingPriceLink.price_id),)
_OFFERING_COLUMNS = _columns(
    Offering,
    OfferingField,
    OfferingField.ON_SALE,
    OfferingField.PRICE_ID,
    OfferingField.ANNOTATIONS,
    *(f for f in OfferingField if f.value not in OfferingBase.model_fields | Offering.model_fields),
) | {
    OfferingField.ON_SALE: col(Offering.status) == LifecycleStatus.ACTIVE,
    OfferingField.ANNOTATIONS: document_field(Keeper.OFFERING, Offering.id),
    OfferingField.VALID_FROM: func.coalesce(col(Offering.valid_from), col(Offering.created_at)),
    OfferingField.TERM_MONTHS: either_column(Offering.min_term_months, Offering.max_term_months),
    OfferingField.BANDWIDTH_MBPS: in_list(Offering.bandwidths_mbps),
    OfferingField.CLASS_OF_SERVICE: in_list(Offering.classes_of_service),
    OfferingField.SELLS_VALUES: or_(
        list_length(Offering.bandwidths_mbps) > 0, list_length(Offering.classes_of_service) > 0
    ),
    OfferingField.SELLS_CHOICES: or_(
        list_length(Offering.bandwidths_mbps) > 1, list_length(Offering.classes_of_service) > 1
    ),
    OfferingField.PRICE_ID: via(
        Offering.id,
        OfferingPriceLink.offering_id,
        OfferingPrice.id,
        joined=_OFFERING_PRICES,
        only=_LIVE_PRICE,
    ),
    OfferingField.PRICE_NAME: via(
        Offering.id,
        OfferingPriceLink.offering_id,
        OfferingPrice.name,
        joined=_OFFERING_PRICES,
        only=_LIVE_PRICE,
    ),
    OfferingField.HAS_PRICE: col(Offering.id).in_(
        select(OfferingPriceLink.offering_id)
        .join(OfferingPrice, col(OfferingPrice.id) == OfferingPriceLink.price_id)
        .where(_LIVE_PRICE)
    ),
    OfferingField.CATEGORY_NAME: via(Offering.category, Category.id, Category.name),
    OfferingField.HAS_CATEGORY: col(Offering.category).in_(select(Category.id)),
    OfferingField.SPECIFICATION_NAME: via(
        Offering.specification_id, Specification.id, Specification.name
    ),
    OfferingField.HAS_SPECIFICATION: col(Offering.specification_id).in_(select(Specification.id)),
}
_PRICE_COLUMNS = _columns(
    OfferingPrice,
    PriceField,
    PriceField.ANNOTATIONS,
    PriceField.HAS_PERIOD,
    PriceField.HAS_UNIT_OF_MEASURE,
) | {
    PriceField.ANNOTATIONS: document_field(Keeper.PRICE, OfferingPrice.id),
    PriceField.HAS_PERIOD: col(OfferingPrice.period_months).is_not(None),
    PriceField.HAS_UNIT_OF_MEASURE: col(OfferingPrice.unit_of_measure).is_not(None),
}
_Subcategory = aliased(Category)


def _category_columns(principal: Principal) -> dict[CategoryField, Any]:
    """How a category's fields filter, for a caller: the offerings it holds are those the
    caller may browse (see `offerings_query`), its subcategories those not retired."""
    browsed = _browsable(principal)
    live = col(_Subcategory.status) != LifecycleStatus.RETIRED
    return _columns(
        Category,
        CategoryField,
        CategoryField.IS_ROOT,
        CategoryField.ANNOTATIONS,
        *(f for f in CategoryField if f.value not in Category.model_fields),
    ) | {
        CategoryField.IS_ROOT: col(Category.parent_id).is_(None),
        CategoryField.ANNOTATIONS: document_field(Keeper.CATEGORY, Category.id),
        CategoryField.OFFERING_ID: via(Category.id, Offering.category, Offering.id, only=browsed),
        CategoryField.OFFERING_NAME: via(
            Category.id, Offering.category, Offering.name, only=browsed
        ),
        CategoryField.HAS_OFFERING: col(Category.id).in_(select(Offering.category).where(browsed)),
        CategoryField.SUBCATEGORY_ID: via(
            Category.id, _Subcategory.parent_id, _Subcategory.id, only=live
        ),
        CategoryField.SUBCATEGORY_NAME: via(
            Category.id, _Subcategory.parent_id, _Subcategory.name, only=live
        ),
        CategoryField.HAS_SUBCATEGORY: col(Category.id).in_(
            select(_Subcategory.parent_id).where(live)
        ),
    }


_LIVE_CATEGORY = col(Category.status) != LifecycleStatus.RETIRED
_CATALOG_CATEGORIES = ((Category, col(Category.id) == CatalogCategory.category_id),)
_CATALOG_COLUMNS = _columns(
    Catalog,
    CatalogField,
    CatalogField.CATEGORY_ID,
    CatalogField.ANNOTATIONS,
    CatalogField.CATEGORY_NAME,
    CatalogField.HAS_CATEGORY,
) | {
    CatalogField.ANNOTATIONS: document_field(Keeper.CATALOG, Catalog.id),
    CatalogField.CATEGORY_ID: via(
        Catalog.id,
        CatalogCategory.catalog_id,
        Category.id,
        joined=_CATALOG_CATEGORIES,
        only=_LIVE_CATEGORY,
    ),
    CatalogField.CATEGORY_NAME: via(
        Catalog.id,
        CatalogCategory.catalog_id,
        Category.name,
        joined=_CATALOG_CATEGORIES,
        only=_LIVE_CATEGORY,
    ),
    CatalogField.HAS_CATEGORY: col(Catalog.id).in_(
        select(CatalogCategory.catalog_id)
        .join(Category, col(Category.id) == CatalogCategory.category_id)
        .where(_LIVE_CATEGORY)
    ),
}
for _model, _keeper in (
    (Specification, Keeper.SPECIFICATION),
    (Offering, Keeper.OFFERING),
    (OfferingPrice, Keeper.PRICE),
    (Category, Keeper.CATEGORY),
    (Catalog, Keeper.CATALOG),
):
    register_document(_model, _keeper, "annotations")


def _narrowed(
    statement: SelectOfScalar[_Entry],
    columns: Mapping[_Field, Any],
    conditions: list[Condition[_Field]],
    through: Mapping[_Field, Callable[[tuple[Any, ...]], Any]],
) -> SelectOfScalar[_Entry]:
    """A statement narrowed by conditions on its own columns and, for fields that live in a
    related table (`through`), by the rows related to any of the values."""
    own = [c for c in conditions if c.field not in through]
    related = [through[c.field](c.values) for c in conditions if c.field in through]
    return statement.where(*where(columns, own), *related)


async def page_specifications(
    session: AsyncSession,
    *,
    conditions: list[Condition[SpecificationField]],
    offset: int,
    limit: int,
) -> Page[Specification]:
    """One page of the specifications that meet every condition, with the count of all that do."""
    by_characteristic = {
        SpecificationField.CHARACTERISTIC: lambda names: col(Specification.id).in_(
            select(SpecCharacteristic.specification_id).where(
                col(SpecCharacteristic.name).in_(names)
            )
        )
    }
    statement = _narrowed(
        specifications_query(), _SPECIFICATION_COLUMNS, conditions, by_characteristic
    )
    return await fetch_page(session, statement, offset=offset, limit=limit)


async def page_offerings(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: list[Condition[OfferingField]],
    offset: int,
    limit: int,
) -> Page[Offering]:
    """One page of the offerings the caller may browse that meet every condition, with the
    count of all that do."""
    statement = _narrowed(offerings_query(principal=principal), _OFFERING_COLUMNS, conditions, {})
    return await fetch_page(session, statement, offset=offset, limit=limit)


async def page_prices(
    session: AsyncSession, *, conditions: list[Condition[PriceField]], offset: int, limit: int
) -> Page[OfferingPrice]:
    """One page of the list prices that meet every condition, with the count of all that do."""
    statement = _narrowed(prices_query(), _PRICE_COLUMNS, conditions, {})
    return await fetch_page(session, statement, offset=offset, limit=limit)


async def page_categories(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: list[Condition[CategoryField]],
    offset: int,
    limit: int,
) -> Page[Category]:
    """One page of the categories that meet every condition, with the count of all that do."""
    statement = _narrowed(categories_query(), _category_columns(principal), conditions, {})
    return await fetch_page(session, statement, offset=offset, limit=limit)


async def page_catalogs(
    session: AsyncSession, *, conditions: list[Condition[CatalogField]], offset: int, limit: int
) -> Page[Catalog]:
    """One page of the catalogs that meet every condition, with the count of all that do."""
    statement = _narrowed(catalogs_query(), _CATALOG_COLUMNS, conditions, {})
    return await fetch_page(session, statement, offset=offset, limit=limit)


def check_characteristics(offering: Offering, spec: ProductSpec) -> None:
    """Refuse characteristics that the offering does not sell."""
    if spec.bandwidth_mbps not in offering.bandwidths_mbps:
        lower = [b for b in offering.bandwidths_mbps if b < spec.bandwidth_mbps]
        higher = [b for b in offering.bandwidths_mbps if b > spec.bandwidth_mbps]
        nearest = ([max(lower)] if lower else []) + ([min(higher)] if higher else [])
        raise InvalidRequest(
            f"characteristic '{BANDWIDTH}': {offering.name} is sold at "
            f"{_mbps_list(offering.bandwidths_mbps)}; "
            f"{spec.bandwidth_mbps} Mbps is not one of them",
            field="bandwidth_mbps",
            code="UNSUPPORTED_BANDWIDTH",
            details={"alternatives_mbps": nearest},
        )
    if not offering.min_term_months <= spec.term_months <= offering.max_term_months:
        raise InvalidRequest(
            f"characteristic '{TERM}': the term must be {offering.min_term_months} to "
            f"{offering.max_term_months} months",
            field="term_months",
            code="UNSUPPORTED_TERM",
        )
    if spec.class_of_service not in offering.classes_of_service:
        raise InvalidRequest(
            f"characteristic '{CLASS_OF_SERVICE}': {offering.name} offers classes of service "
            f"{', '.join(offering.classes_of_service)}",
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
    offering: Offering,
    spec: ProductSpec,
    ends: list[tuple[Location, Serviceability]],
    bought: Mapping[str, BoughtAccess] | None = None,
) -> Price:
    """The price of a product; the same inputs always give the same price. An end in `bought`
    (by location id) is reached through a partner's access at its price with our margin; the
    rest is our own segment."""
    bought = bought or {}
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
        if location.id in bought:
            continue
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
    # A partner's access is charged as the partner prices it (with our margin): our term and
    # class discounts are not the partner's.
    for location, _level in ends:
        if access := bought.get(location.id):
            components.append(
                PriceComponent(
                    f"off-net access at {location.name} through {access.partner_name}",
                    access.monthly_cents,
                    access.one_time_cents,
                )
            )
            monthly_cents += access.monthly_cents
            one_time_cents += access.one_time_cents
    return Price(
        monthly_cents=monthly_cents, one_time_cents=one_time_cents, components=tuple(components)
    )
