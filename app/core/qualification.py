"""Qualification: can a product be delivered where asked, how confidently, and what instead."""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String, case, cast, exists, func, literal, or_, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, SQLModel, and_, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import clock, events, off_net, partners
from app.core.catalog import (
    BoughtAccess,
    ClassOfService,
    Offering,
    Price,
    ProductKind,
    ProductSpec,
    check_characteristics,
    get_offering,
    list_offerings,
    price,
    terms_offered,
)
from app.core.db import StrEnumType, UTCDateTime, commit, new_id
from app.core.errors import Conflict, CoreError, InvalidRequest
from app.core.events import Channel, EntityKind
from app.core.geography import (
    Location,
    Serviceability,
    distance_km,
    get_locations,
    nearest_served,
    serviceability,
    serviceability_of,
)
from app.core.kept import Keeper, KeptValue, document_field, register_document
from app.core.paging import (
    Condition,
    Entry,
    Page,
    Within,
    any_entry,
    compared,
    days_after,
    either_column,
    fetch_page,
    list_length,
    via,
    where,
)
from app.core.parties import Principal, children_scoped, get_scoped, resolve_buyer, scoped

# Partner carriers sell off-net access up to this speed.
OFF_NET_MAX_MBPS = 10000
QUALIFICATION_VALID_DAYS = 30
MAX_EXTERNAL_ID = 200
_LEAD_TIME_DAYS = {
    Serviceability.ON_NET: 20,
    Serviceability.NEAR_NET: 45,
    Serviceability.OFF_NET: 60,
}
_RANK = {Serviceability.ON_NET: 0, Serviceability.NEAR_NET: 1, Serviceability.OFF_NET: 2}


class Confidence(StrEnum):
    """How sure the seller is that a product can be delivered as asked."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Outcome(StrEnum):
    """What a qualification found as a whole: every item deliverable as asked, else an
    alternative offered for one that is not, else neither."""

    QUALIFIED = "qualified"
    ALTERNATIVE = "alternative"
    UNQUALIFIED = "unqualified"


class QualificationState(StrEnum):
    """Lifecycle of a qualification request."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    DONE_READY = "done_ready"
    DONE_UNABLE_TO_PROVIDE = "done_unable_to_provide"
    TERMINATED_WITH_ERROR = "terminated_with_error"


@dataclass(frozen=True)
class Assessment:
    """Everything the core knows about delivering one product spec."""

    spec: ProductSpec
    offering: Offering
    ends: list[tuple[Location, Serviceability]]
    # None when the product cannot be delivered at all: no price is made up for it.
    price: Price | None
    confidence: Confidence
    lead_time_days: int
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    # The partner access of each off-net end (by location id), as the partner priced it.
    bought: dict[str, BoughtAccess] = field(default_factory=dict)

    @property
    def serviceability(self) -> Serviceability:
        """The weakest serviceability of the ends."""
        return max((level for _, level in self.ends), key=_RANK.__getitem__)

    @property
    def qualified(self) -> bool:
        """Whether the product can be delivered as asked."""
        return self.confidence is not Confidence.RED

    @property
    def quoted_price(self) -> Price:
        """The price of a product that can be delivered; one that cannot is refused."""
        if self.price is None:
            raise self.refusal()
        return self.price

    def refusal(self, field: str | None = None) -> InvalidRequest:
        """Why the product cannot be delivered as asked: a partner's refusal (or its silence:
        `PARTNER_UNAVAILABLE`, ask again later) with the partner's reason, or not serviceable."""
        partner = next((a for a in self.alternatives if "code" in a), None)
        if partner and partner["code"] == partners.PartnerUnavailable.code:
            return InvalidRequest(
                str(partner["reason"]), field=field, code=partners.PartnerUnavailable.code
            )
        return InvalidRequest(
            str(partner["reason"]) if partner else "this product cannot be delivered as asked",
            field=field,
            code="NOT_SERVICEABLE",
            details={"alternatives": self.alternatives},
        )


async def assess(
    session: AsyncSession, spec: ProductSpec, *, locations: dict[str, Location] | None = None
) -> Assessment:
    """Check a spec against the catalog and the network; price it and say how sure we are.
    The ends are read by id unless given (an address validated for no party is not stored)."""
    offering = await get_offering(session, spec.offering_id)
    check_characteristics(offering, spec)
    ids = [spec.a_location_id] + ([spec.z_location_id] if spec.z_location_id else [])
    if locations is None or any(i not in locations for i in ids):
        locations = await get_locations(session, ids)
    for end, location_id in zip(("a_end", "z_end"), ids, strict=False):
        if location_id not in locations:
            raise InvalidRequest(
                f"no known address '{location_id}'", field=end, code="ADDRESS_NOT_FOUND"
            )
    ends = [(locations[i], (await serviceability(session, locations[i])).level) for i in ids]
    unserved = await _unserved(session, ends)
    if unserved:
        return _not_serviceable(offering, spec, ends, unserved)
    bought, problem = await _partner_access(session, spec, ends)
    return _judged(offering, spec, ends, bought, problem)


async def _partner_access(
    session: AsyncSession,
    spec: ProductSpec,
    ends: list[tuple[Location, Serviceability]],
    asked: dict[tuple[str, int, int], BoughtAccess | CoreError] | None = None,
) -> tuple[dict[str, BoughtAccess], CoreError | None]:
    """The partner access (qualified and priced by the partner) of each off-net end that a
    partner reaches, and why it cannot be had if the partner refuses it or cannot be asked.
    `asked` keeps the answers of one request, so that a partner is asked once per place and
    speed."""
    asked = {} if asked is None else asked
    bought: dict[str, BoughtAccess] = {}
    for location, level in ends:
        if level is not Serviceability.OFF_NET:
            continue
        key = (location.id, partners.port_speed(spec.bandwidth_mbps), spec.term_months)
        if key not in asked:
            try:
                found = await partners.off_net_access(
                    session,
                    location,
                    bandwidth_mbps=spec.bandwidth_mbps,
                    term_months=spec.term_months,
                )
            except (partners.PartnerUnavailable, partners.PartnerRefused) as exc:
                asked[key] = exc
            else:
                if found is not None:
                    asked[key] = found
        answer = asked.get(key)
        if isinstance(answer, CoreError):
            return {}, answer
        if answer is not None:
            bought[location.id] = answer
    return bought, None


async def _unserved(
    session: AsyncSession, ends: list[tuple[Location, Serviceability]]
) -> list[dict[str, Any]]:
    """Why each off-net end that no partner covers cannot be served, and the buildings near it
    that can be, nearest first; empty when every end can be served."""
    found: list[dict[str, Any]] = []
    for location, level in ends:
        if level is not Serviceability.OFF_NET:
            continue
        if await off_net.off_net_offer(session, location=location) is not None:
            continue
        found.append(
            {
                "reason": f"{location.line} is off our network and no partner carrier serves it",
                "location_id": location.id,
                "address": location.line,
            }
        )
        for building, measured in await nearest_served(session, location):
            found.append(
                {
                    "reason": f"the nearest {measured.level.replace('_', '-')} building: "
                    f"{building.name}, {building.line}",
                    "location_id": building.id,
                    "address": building.line,
                    "serviceability": measured.level.value,
                    "distance_km": round(distance_km(location, building), 1),
                }
            )
    return found


def _not_serviceable(
    offering: Offering,
    spec: ProductSpec,
    ends: list[tuple[Location, Serviceability]],
    alternatives: list[dict[str, Any]],
) -> Assessment:
    """An assessment of a product that cannot be delivered where asked: red, and no price."""
    return Assessment(
        spec=spec,
        offering=offering,
        ends=ends,
        price=None,
        confidence=Confidence.RED,
        lead_time_days=0,
        alternatives=alternatives,
    )


def _judged(
    offering: Offering,
    spec: ProductSpec,
    ends: list[tuple[Location, Serviceability]],
    bought: dict[str, BoughtAccess] | None = None,
    problem: CoreError | None = None,
) -> Assessment:
    """The price, confidence and lead time of a checked spec whose ends are measured."""
    weakest = max((level for _, level in ends), key=_RANK.__getitem__)
    if problem is not None:
        # A partner reaches the place but refuses the access there, or cannot be asked now:
        # red, with its reason, and no price made up for it.
        return _not_serviceable(
            offering, spec, ends, [{"reason": problem.message, "code": problem.code}]
        )
    product_price = price(offering, spec, ends, bought)
    alternatives: list[dict[str, Any]] = []
    if weakest is Serviceability.ON_NET:
        confidence = Confidence.GREEN
    elif weakest is Serviceability.OFF_NET and spec.bandwidth_mbps > OFF_NET_MAX_MBPS:
        confidence = Confidence.RED
        fallback = replace(
            spec, bandwidth_mbps=max(b for b in offering.bandwidths_mbps if b <= OFF_NET_MAX_MBPS)
        )
        alt_price = price(offering, fallback, ends)
        alternatives.append(
            {
                "reason": f"off-net access is available up to {OFF_NET_MAX_MBPS} Mbps",
                "bandwidth_mbps": fallback.bandwidth_mbps,
                "monthly_cents": alt_price.monthly_cents,
                "one_time_cents": alt_price.one_time_cents,
            }
        )
    else:
        confidence = Confidence.YELLOW
    return Assessment(
        spec=spec,
        offering=offering,
        ends=ends,
        price=product_price,
        confidence=confidence,
        lead_time_days=_LEAD_TIME_DAYS[weakest],
        alternatives=alternatives,
        bought=dict(bought or {}),
    )


async def available(
    session: AsyncSession,
    *,
    kind: ProductKind,
    locations: list[Location],
    classes_of_service: Collection[ClassOfService] | None = None,
) -> list[Assessment]:
    """Every configuration (offering, bandwidth, class of service, of the classes named) of the
    active offerings of a kind that can be delivered at these locations, assessed as a quote
    would assess it, for the shortest standard term each offering sells."""
    levels = await serviceability_of(session, locations)
    ends = [(location, levels[location.id].level) for location in locations]
    asked: dict[tuple[str, int, int], BoughtAccess | CoreError] = {}
    found: list[Assessment] = []
    if await _unserved(session, ends):
        return found
    for offering in await list_offerings(session):
        if offering.kind is not kind:
            continue
        for bandwidth in sorted(offering.bandwidths_mbps):
            for class_of_service in offering.classes_of_service:
                if classes_of_service is not None and class_of_service not in classes_of_service:
                    continue
                spec = ProductSpec(
                    offering_id=offering.id,
                    a_location_id=locations[0].id,
                    z_location_id=locations[1].id if len(locations) > 1 else None,
                    bandwidth_mbps=bandwidth,
                    term_months=terms_offered(offering)[0],
                    class_of_service=ClassOfService(class_of_service),
                )
                try:
                    check_characteristics(offering, spec)
                except InvalidRequest:
                    continue
                bought, problem = await _partner_access(session, spec, ends, asked)
                judged = _judged(offering, spec, ends, bought, problem)
                if judged.qualified:
                    found.append(judged)
    return found


@dataclass(frozen=True)
class ItemDetails:
    """What a buyer sent with one item that the core keeps as given and does not interpret."""

    # The buyer's own reference of the item (e.g. its position in the buyer's request).
    external_id: str | None = None
    # The buyer's own description of the product (e.g. a standard's product configuration).
    configuration: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None


def annotated(column: Any, wanted: dict[str, str] | None) -> ColumnElement[bool] | None:
    """A condition that the buyer's `annotations` (a JSON column) hold each key at its value."""
    if not wanted:
        return None
    return and_(*(col(column)[key].as_string() == value for key, value in wanted.items()))


# The most items one qualification, quote or order takes: each item costs address, coverage and
# price look-ups, so a longer list is refused before any of that work starts.
MAX_ITEMS = 100


def check_item_count(count: int, *, field_name: str = "items") -> None:
    """Refuse a request of more than `MAX_ITEMS` items, before any item is looked at."""
    if count > MAX_ITEMS:
        raise InvalidRequest(
            f"{count} items given; at most {MAX_ITEMS} are accepted in one request",
            field=field_name,
            code="TOO_MANY_ITEMS",
        )


def item_details(details: list[ItemDetails] | None, count: int) -> list[ItemDetails]:
    """One `ItemDetails` per item: empty ones when none were given."""
    if details is None:
        return [ItemDetails()] * count
    if len(details) != count:
        raise InvalidRequest("one set of details is needed per item", field="items")
    return details


class Qualification(SQLModel, table=True):
    """A buyer's request to know whether products can be delivered."""

    id: str = Field(default_factory=lambda: new_id("poq"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    channel: Channel = Field(sa_type=StrEnumType(Channel, 12))
    state: QualificationState = Field(sa_type=StrEnumType(QualificationState, 32))
    external_id: str | None = Field(default=None, max_length=200)
    # The buyer's project the request belongs to; buyers list their requests by it.
    project_id: str | None = Field(default=None, max_length=200, index=True)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    requested_completion_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why the seller put the qualification in its state, e.g. what a terminated one lacked.
    state_reason: str | None = Field(default=None, max_length=1000)
    # What the buyer sent that the core does not interpret (contacts, project ids, flags), kept
    # as given so that the face it came through can return it.
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class QualificationItem(SQLModel, table=True):
    """One product of a qualification and its result."""

    id: str = Field(default_factory=lambda: new_id("poqi"), primary_key=True, max_length=40)
    qualification_id: str = Field(foreign_key="qualification.id", index=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    position: int
    offering_id: str = Field(foreign_key="offering.id", max_length=40)
    a_location_id: str = Field(foreign_key="location.id", max_length=40)
    z_location_id: str | None = Field(default=None, foreign_key="location.id", max_length=40)
    bandwidth_mbps: int
    term_months: int
    class_of_service: str = Field(max_length=20)
    qualified: bool
    confidence: Confidence = Field(sa_type=StrEnumType(Confidence, 8))
    serviceability: Serviceability = Field(sa_type=StrEnumType(Serviceability, 12))
    lead_time_days: int
    monthly_cents: int
    one_time_cents: int
    alternatives: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    external_id: str | None = Field(default=None, max_length=200)
    configuration: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


# What an item offers instead of a product that cannot be delivered as asked: a slower speed.
_SPEED_OFFERED = "bandwidth_mbps"


def item_outcome(item: QualificationItem) -> Outcome:
    """What the core found for one item: deliverable as asked, else a slower speed offered
    instead, else neither."""
    if item.qualified:
        return Outcome.QUALIFIED
    slower = any(_SPEED_OFFERED in a for a in item.alternatives)
    return Outcome.ALTERNATIVE if slower else Outcome.UNQUALIFIED


async def qualify(
    session: AsyncSession,
    *,
    principal: Principal,
    specs: list[ProductSpec],
    channel: Channel,
    buyer_party_id: str | None = None,
    external_id: str | None = None,
    requested_completion_at: datetime | None = None,
    project_id: str | None = None,
    annotations: dict[str, Any] | None = None,
    details: list[ItemDetails] | None = None,
) -> tuple[Qualification, list[QualificationItem]]:
    """Qualify products for the caller; answered at once, recorded with its result. `details`
    (one per spec) and `annotations` are kept as given."""
    if not specs:
        raise InvalidRequest("a qualification needs at least one item", field="items")
    check_item_count(len(specs))
    kept = item_details(details, len(specs))
    party_id = await resolve_buyer(session, principal, buyer_party_id)
    assessments = []
    for index, spec in enumerate(specs):
        try:
            assessments.append(await assess(session, spec))
        except CoreError as exc:
            exc.field = f"items[{index}].{exc.field}" if exc.field else f"items[{index}]"
            raise
    now = clock.now()
    any_ready = any(a.qualified for a in assessments)
    qualification = Qualification(
        party_id=party_id,
        channel=channel,
        external_id=external_id,
        project_id=project_id,
        state=QualificationState.DONE_READY
        if any_ready
        else QualificationState.DONE_UNABLE_TO_PROVIDE,
        completed_at=now,
        valid_until=now + timedelta(days=QUALIFICATION_VALID_DAYS),
        requested_completion_at=requested_completion_at,
        annotations=annotations or {},
    )
    session.add(qualification)
    await session.flush()
    items = [
        QualificationItem(
            qualification_id=qualification.id,
            party_id=party_id,
            position=index + 1,
            offering_id=a.spec.offering_id,
            a_location_id=a.spec.a_location_id,
            z_location_id=a.spec.z_location_id,
            bandwidth_mbps=a.spec.bandwidth_mbps,
            term_months=a.spec.term_months,
            class_of_service=a.spec.class_of_service,
            qualified=a.qualified,
            confidence=a.confidence,
            serviceability=a.serviceability,
            lead_time_days=a.lead_time_days,
            monthly_cents=a.price.monthly_cents if a.price else 0,
            one_time_cents=a.price.one_time_cents if a.price else 0,
            alternatives=a.alternatives,
            external_id=kept[index].external_id,
            configuration=kept[index].configuration or {},
            annotations=kept[index].annotations or {},
        )
        for index, a in enumerate(assessments)
    ]
    session.add_all(items)
    events.record(
        session,
        party_id=party_id,
        entity=EntityKind.QUALIFICATION,
        entity_id=qualification.id,
        kind=events.EventKind.CREATED,
        state=qualification.state,
        channel=channel,
    )
    await commit(session)
    return qualification, items


# The buyer's ids of the items of a terminated qualification, which has no core items.
_ASKED = "asked_items"


def asked_items(qualification: Qualification) -> list[str]:
    """The buyer's ids of the items a qualification without core items was asked for."""
    return [str(i) for i in qualification.annotations.get(_ASKED, [])]


async def terminate(
    session: AsyncSession,
    *,
    principal: Principal,
    channel: Channel,
    reason: str,
    asked: list[str],
    external_id: str | None = None,
    requested_completion_at: datetime | None = None,
    annotations: dict[str, Any] | None = None,
) -> Qualification:
    """Record a qualification the seller cannot answer (its items lack what the core needs):
    acknowledged, then terminated with `reason`, with no items; `asked` (the buyer's item ids)
    is kept, see `asked_items`. Nothing is priced."""
    party_id = await resolve_buyer(session, principal, None)
    qualification = Qualification(
        party_id=party_id,
        channel=channel,
        external_id=external_id,
        state=QualificationState.ACKNOWLEDGED,
        requested_completion_at=requested_completion_at,
        annotations=(annotations or {}) | {_ASKED: asked},
    )
    session.add(qualification)
    await session.flush()
    events.record(
        session,
        party_id=party_id,
        entity=EntityKind.QUALIFICATION,
        entity_id=qualification.id,
        kind=events.EventKind.CREATED,
        state=qualification.state,
        channel=channel,
    )
    qualification.state = QualificationState.TERMINATED_WITH_ERROR
    qualification.state_reason = reason[:1000]
    qualification.completed_at = clock.now()
    events.record(
        session,
        party_id=party_id,
        entity=EntityKind.QUALIFICATION,
        entity_id=qualification.id,
        kind=events.EventKind.STATE_CHANGED,
        state=qualification.state,
        previous_state=QualificationState.ACKNOWLEDGED,
        channel=channel,
        data={"reason": qualification.state_reason},
    )
    await commit(session)
    return qualification


async def get_qualification(
    session: AsyncSession, *, principal: Principal, qualification_id: str
) -> tuple[Qualification, list[QualificationItem]]:
    """A qualification of the caller's, with its items."""
    qualification = await get_scoped(
        session, Qualification, qualification_id, principal, what="qualification"
    )
    items = (
        await session.exec(
            scoped(QualificationItem, principal)
            .where(QualificationItem.qualification_id == qualification.id)
            .order_by(col(QualificationItem.position))
        )
    ).all()
    return qualification, list(items)


async def update_qualification(
    session: AsyncSession,
    *,
    principal: Principal,
    qualification_id: str,
    external_id: str | None = None,
    requested_completion_at: datetime | None = None,
    annotations: dict[str, Any] | None = None,
) -> tuple[Qualification, list[QualificationItem]]:
    """Change what the buyer said about one of its qualifications (its own reference, when it
    wanted the answer, what is kept as given); the answer itself stays as it was given."""
    found = await get_scoped(
        session, Qualification, qualification_id, principal, what="qualification"
    )
    if external_id is not None and len(external_id) > MAX_EXTERNAL_ID:
        raise InvalidRequest(f"at most {MAX_EXTERNAL_ID} characters", field="external_id")
    changed = []
    for name, value in (
        ("external_id", external_id),
        ("requested_completion_at", requested_completion_at),
    ):
        if value is not None and getattr(found, name) != value:
            setattr(found, name, value)
            changed.append(name)
    changed += [k for k, v in (annotations or {}).items() if found.annotations.get(k) != v]
    if annotations:
        # A new dict, so that the JSON column is seen to change.
        found.annotations = {**found.annotations, **annotations}
    if changed:
        session.add(found)
        events.record(
            session,
            party_id=found.party_id,
            entity=EntityKind.QUALIFICATION,
            entity_id=found.id,
            kind=events.EventKind.ATTRIBUTE_CHANGED,
            channel=found.channel,
            data={"changed": changed},
        )
        await commit(session)
    return await get_qualification(session, principal=principal, qualification_id=found.id)


async def delete_qualification(
    session: AsyncSession, *, principal: Principal, qualification_id: str
) -> None:
    """Remove one of the caller's qualifications and its items; one that a quote was priced
    against is kept (Conflict)."""
    found, items = await get_qualification(
        session, principal=principal, qualification_id=qualification_id
    )
    # Every table that points at a qualification (quotes, ...) keeps it, except its own items.
    for table in SQLModel.metadata.tables.values():
        if table.name == QualificationItem.__tablename__:
            continue
        for key in table.foreign_keys:
            if key.column.table.name != Qualification.__tablename__:
                continue
            uses = select(func.count()).select_from(table).where(key.parent == found.id)
            if (await session.exec(uses)).one():
                raise Conflict(
                    f"qualification '{found.id}' is used by {table.name} rows",
                    code="QUALIFICATION_IN_USE",
                )
    for item in items:
        await session.delete(item)
    await session.flush()
    await session.delete(found)
    events.record(
        session,
        party_id=found.party_id,
        entity=EntityKind.QUALIFICATION,
        entity_id=found.id,
        kind=events.EventKind.DELETED,
        channel=found.channel,
    )
    await commit(session)


def qualifications_query(
    *,
    principal: Principal,
    party_id: str | None = None,
    state: QualificationState | None = None,
    external_id: str | None = None,
    project_id: str | None = None,
    annotations: dict[str, str] | None = None,
    requested_after: datetime | None = None,
    requested_before: datetime | None = None,
) -> SelectOfScalar[Qualification]:
    """The caller's qualifications (of one buyer, for a caller acting for several), newest
    first, filtered, as a statement to page through."""
    statement = scoped(Qualification, principal)
    if party_id is not None:
        statement = statement.where(Qualification.party_id == party_id)
    if state is not None:
        statement = statement.where(Qualification.state == state)
    if external_id is not None:
        statement = statement.where(Qualification.external_id == external_id)
    if project_id is not None:
        statement = statement.where(Qualification.project_id == project_id)
    matching = annotated(Qualification.annotations, annotations)
    if matching is not None:
        statement = statement.where(matching)
    requested = col(Qualification.requested_completion_at)
    if requested_after is not None:
        statement = statement.where(requested > requested_after)
    if requested_before is not None:
        statement = statement.where(requested < requested_before)
    return statement.order_by(col(Qualification.created_at).desc(), col(Qualification.id))


class QualificationField(StrEnum):
    """The fields of a qualification that a list may be narrowed by."""

    ID = "id"
    STATE = "state"
    CHANNEL = "channel"
    EXTERNAL_ID = "external_id"
    CREATED_AT = "created_at"
    COMPLETED_AT = "completed_at"
    VALID_UNTIL = "valid_until"
    REQUESTED_COMPLETION_AT = "requested_completion_at"
    PARTY = "party"
    # What the buyer sent that the core keeps as given (a condition names a path in it).
    ANNOTATIONS = "annotations"
    # The same, of any item.
    ITEM_ANNOTATIONS = "item_annotations"
    # Those with an item of this offering.
    ITEM_OFFERING_ID = "item_offering_id"
    # The state its items show: done where the core answered them, else the qualification's own.
    ITEM_STATE = "item_state"
    # The confidence of the whole (none without items): red if every item is red, green if every
    # one is green, else yellow.
    CONFIDENCE = "confidence"
    # Its `Outcome` (none without items).
    OUTCOME = "outcome"
    # Whether the core answered its items; whether it answered none of the items asked for.
    ANSWERED = "answered"
    UNANSWERED = "unanswered"
    # The id of any item: the buyer's (else its position), or of an item asked for that the
    # core did not answer.
    ITEM_ID = "item_id"
    # Those with an item at this place (either end), or that joins two ends.
    ITEM_PLACE_ID = "item_place_id"
    ITEM_TWO_ENDS = "item_two_ends"
    # Those with an item of which this matches.
    ITEM_BANDWIDTH_MBPS = "item_bandwidth_mbps"
    ITEM_TERM_MONTHS = "item_term_months"
    ITEM_CLASS_OF_SERVICE = "item_class_of_service"
    # The `Outcome` of any item (see `item_outcome`).
    ITEM_OUTCOME = "item_outcome"
    # When an item that can be delivered is expected to be ready: its lead time after the answer.
    ITEM_READY_AT = "item_ready_at"
    # Why the seller put it in its state (none if it gave no reason), whether it gave one, and
    # when (the answer, else the request).
    STATE_REASON = "state_reason"
    REASONED = "reasoned"
    REASONED_AT = "reasoned_at"
    # Why a qualification that answered none of the items asked for ended so.
    UNANSWERED_REASON = "unanswered_reason"
    # Those with an item that cannot be delivered as asked; one of which the core gave no
    # reason; the reasons it gave.
    ITEM_UNQUALIFIED = "item_unqualified"
    ITEM_UNEXPLAINED = "item_unexplained"
    ITEM_UNQUALIFIED_REASON = "item_unqualified_reason"
    # Those with an item that cannot be delivered as asked for which a slower speed is offered
    # instead, and of such an item: its id and the position of the speed among its
    # alternatives (`<id>-<position>`), its offering, places, term and class of service, and
    # the speed offered and its monthly and one-time prices.
    SLOWER = "slower"
    SLOWER_ID = "slower_id"
    SLOWER_OFFERING_ID = "slower_offering_id"
    SLOWER_PLACE_ID = "slower_place_id"
    SLOWER_TWO_ENDS = "slower_two_ends"
    SLOWER_TERM_MONTHS = "slower_term_months"
    SLOWER_CLASS_OF_SERVICE = "slower_class_of_service"
    SLOWER_MBPS = "slower_mbps"
    SLOWER_MONTHLY_CENTS = "slower_monthly_cents"
    SLOWER_ONE_TIME_CENTS = "slower_one_time_cents"
    # The `Outcome` of any item as `OUTCOME` judges the whole: anything offered instead (a
    # slower speed, a building nearby) makes an item that cannot be delivered an alternative.
    ITEM_RESULT = "item_result"
    # The confidence of any item.
    ITEM_CONFIDENCE = "item_confidence"


register_document(Qualification, Keeper.QUALIFICATION, "annotations")
register_document(QualificationItem, Keeper.QUALIFICATION_ITEM, "annotations")


def _items(*also: Any) -> Any:
    """Whether the qualification has an item (that meets `also`)."""
    return exists().where(col(QualificationItem.qualification_id) == col(Qualification.id), *also)


def _confidence(value: Confidence) -> Any:
    return literal(value.value)


_ANNOTATIONS = document_field(Keeper.QUALIFICATION, Qualification.id)


def _asked_id(condition: Condition[Any]) -> ColumnElement[bool]:
    """Whether the qualification was asked for an item of this id that the core did not answer."""
    return _ANNOTATIONS.clause(replace(condition, path=(_ASKED,)))


def _of_items(column: Any, *only: Any) -> Within:
    """A field of a qualification's items (of those that meet `only`): it matches if one of
    its items does."""

    def clause(condition: Condition[Any]) -> ColumnElement[bool]:
        own = column.clause(condition) if isinstance(column, Within) else None
        matching: ColumnElement[bool] = _items(
            *only, compared(column, condition) if own is None else own
        )
        return matching

    return Within(clause)


def _of_alternatives(test: Callable[[Entry, Condition[Any]], ColumnElement[bool]]) -> Within:
    """A field of the alternatives of the items that cannot be delivered as asked: it matches
    if one of them meets `test`."""

    def clause(condition: Condition[Any]) -> ColumnElement[bool]:
        alternatives = col(QualificationItem.alternatives)
        matching: ColumnElement[bool] = _items(
            _UNQUALIFIED, any_entry(alternatives, lambda entry: test(entry, condition))
        )
        return matching

    return Within(clause)


def _slower(entry: Entry) -> ColumnElement[bool]:
    """Whether an alternative is a slower speed."""
    return entry.number(_SPEED_OFFERED).is_not(None)


def _slower_price(key: str) -> Within:
    """A price of the slower speeds offered (none given is 0)."""
    return _of_alternatives(
        lambda entry, condition: and_(
            _slower(entry), compared(func.coalesce(entry.number(key), 0), condition)
        )
    )


# An item's id as the faces show it: the buyer's own, else its position.
_ITEM_ID = func.coalesce(
    func.nullif(col(QualificationItem.external_id), ""),
    cast(col(QualificationItem.position), String),
)


def _item_id(condition: Condition[Any]) -> ColumnElement[bool]:
    found: ColumnElement[bool] = or_(_items(compared(_ITEM_ID, condition)), _asked_id(condition))
    return found


_ASKED_SOME = exists().where(
    col(KeptValue.keeper) == Keeper.QUALIFICATION,
    col(KeptValue.row_id) == col(Qualification.id),
    col(KeptValue.path) == _ASKED,
)
_UNANSWERED = and_(~_items(), _ASKED_SOME)
_REASONED = func.coalesce(col(Qualification.state_reason), "") != ""
_SLOWER = any_entry(col(QualificationItem.alternatives), _slower)
_UNQUALIFIED = ~col(QualificationItem.qualified)
_SLOWER_ITEM = and_(_UNQUALIFIED, _SLOWER)
_REASON = "reason"
_QUALIFIED = col(QualificationItem.qualified)
_PLACES = (col(QualificationItem.a_location_id), col(QualificationItem.z_location_id))


QUALIFICATION_COLUMNS: dict[QualificationField, Any] = {
    QualificationField.ID: col(Qualification.id),
    QualificationField.STATE: col(Qualification.state),
    QualificationField.CHANNEL: col(Qualification.channel),
    QualificationField.EXTERNAL_ID: col(Qualification.external_id),
    QualificationField.CREATED_AT: col(Qualification.created_at),
    QualificationField.COMPLETED_AT: col(Qualification.completed_at),
    QualificationField.VALID_UNTIL: col(Qualification.valid_until),
    QualificationField.REQUESTED_COMPLETION_AT: col(Qualification.requested_completion_at),
    QualificationField.PARTY: col(Qualification.party_id),
    QualificationField.ANNOTATIONS: _ANNOTATIONS,
    QualificationField.ITEM_OFFERING_ID: via(
        Qualification.id, QualificationItem.qualification_id, QualificationItem.offering_id
    ),
    QualificationField.ITEM_ANNOTATIONS: via(
        Qualification.id,
        QualificationItem.qualification_id,
        document_field(Keeper.QUALIFICATION_ITEM, QualificationItem.id),
    ),
    # Typed as the columns they stand for, so that enum values bind as those columns store them.
    QualificationField.ITEM_STATE: type_coerce(
        case(
            (_items(), literal(QualificationState.DONE_READY.value)),
            else_=col(Qualification.state),
        ),
        StrEnumType(QualificationState),
    ),
    QualificationField.CONFIDENCE: type_coerce(
        case(
            (~_items(), None),
            (
                ~_items(col(QualificationItem.confidence) != Confidence.RED),
                _confidence(Confidence.RED),
            ),
            (
                ~_items(col(QualificationItem.confidence) != Confidence.GREEN),
                _confidence(Confidence.GREEN),
            ),
            else_=_confidence(Confidence.YELLOW),
        ),
        StrEnumType(Confidence, 8),
    ),
    QualificationField.OUTCOME: type_coerce(
        case(
            (~_items(), None),
            (
                ~_items(~col(QualificationItem.qualified)),
                literal(Outcome.QUALIFIED.value),
            ),
            (
                _items(
                    ~col(QualificationItem.qualified),
                    list_length(col(QualificationItem.alternatives)) > 0,
                ),
                literal(Outcome.ALTERNATIVE.value),
            ),
            else_=literal(Outcome.UNQUALIFIED.value),
        ),
        StrEnumType(Outcome),
    ),
    QualificationField.ANSWERED: _items(),
    QualificationField.UNANSWERED: _UNANSWERED,
    QualificationField.ITEM_ID: Within(_item_id),
    QualificationField.ITEM_PLACE_ID: _of_items(
        either_column(col(QualificationItem.a_location_id), col(QualificationItem.z_location_id))
    ),
    QualificationField.ITEM_TWO_ENDS: _of_items(col(QualificationItem.z_location_id).is_not(None)),
    QualificationField.ITEM_BANDWIDTH_MBPS: _of_items(col(QualificationItem.bandwidth_mbps)),
    QualificationField.ITEM_TERM_MONTHS: _of_items(col(QualificationItem.term_months)),
    QualificationField.ITEM_CLASS_OF_SERVICE: _of_items(col(QualificationItem.class_of_service)),
    QualificationField.ITEM_OUTCOME: _of_items(
        type_coerce(
            case(
                (col(QualificationItem.qualified), literal(Outcome.QUALIFIED.value)),
                (_SLOWER, literal(Outcome.ALTERNATIVE.value)),
                else_=literal(Outcome.UNQUALIFIED.value),
            ),
            StrEnumType(Outcome),
        )
    ),
    QualificationField.ITEM_READY_AT: _of_items(
        case(
            (
                col(QualificationItem.qualified),
                days_after(col(Qualification.completed_at), col(QualificationItem.lead_time_days)),
            ),
        )
    ),
    QualificationField.STATE_REASON: case((_REASONED, col(Qualification.state_reason))),
    QualificationField.REASONED: _REASONED,
    QualificationField.REASONED_AT: case(
        (
            _REASONED,
            func.coalesce(col(Qualification.completed_at), col(Qualification.created_at)),
        )
    ),
    QualificationField.UNANSWERED_REASON: case(
        (_UNANSWERED, func.coalesce(col(Qualification.state_reason), ""))
    ),
    QualificationField.ITEM_UNQUALIFIED: _items(_UNQUALIFIED),
    QualificationField.ITEM_UNEXPLAINED: _items(
        _UNQUALIFIED,
        ~any_entry(
            col(QualificationItem.alternatives), lambda entry: entry.text(_REASON).is_not(None)
        ),
    ),
    QualificationField.ITEM_UNQUALIFIED_REASON: _of_alternatives(
        lambda entry, condition: compared(entry.text(_REASON), condition)
    ),
    QualificationField.SLOWER: _items(_SLOWER_ITEM),
    QualificationField.SLOWER_ID: _of_alternatives(
        lambda entry, condition: and_(
            _slower(entry),
            compared(col(QualificationItem.id) + "-" + cast(entry.position(), String), condition),
        )
    ),
    QualificationField.SLOWER_OFFERING_ID: _of_items(
        col(QualificationItem.offering_id), _SLOWER_ITEM
    ),
    QualificationField.SLOWER_PLACE_ID: _of_items(
        either_column(col(QualificationItem.a_location_id), col(QualificationItem.z_location_id)),
        _SLOWER_ITEM,
    ),
    QualificationField.SLOWER_TWO_ENDS: _of_items(
        col(QualificationItem.z_location_id).is_not(None), _SLOWER_ITEM
    ),
    QualificationField.SLOWER_TERM_MONTHS: _of_items(
        col(QualificationItem.term_months), _SLOWER_ITEM
    ),
    QualificationField.SLOWER_CLASS_OF_SERVICE: _of_items(
        col(QualificationItem.class_of_service), _SLOWER_ITEM
    ),
    QualificationField.SLOWER_MBPS: _of_alternatives(
        lambda entry, condition: compared(entry.number(_SPEED_OFFERED), condition)
    ),
    QualificationField.SLOWER_MONTHLY_CENTS: _slower_price("monthly_cents"),
    QualificationField.SLOWER_ONE_TIME_CENTS: _slower_price("one_time_cents"),
    QualificationField.ITEM_RESULT: _of_items(
        type_coerce(
            case(
                (_QUALIFIED, literal(Outcome.QUALIFIED.value)),
                (
                    list_length(col(QualificationItem.alternatives)) > 0,
                    literal(Outcome.ALTERNATIVE.value),
                ),
                else_=literal(Outcome.UNQUALIFIED.value),
            ),
            StrEnumType(Outcome),
        )
    ),
    QualificationField.ITEM_CONFIDENCE: _of_items(col(QualificationItem.confidence)),
}
# The same, where a list shows only the items that can be delivered (of a qualification that
# answered none, none).
_QUALIFIED_ITEM_COLUMNS = QUALIFICATION_COLUMNS | {
    QualificationField.ANSWERED: _items(_QUALIFIED),
    **{
        field: _of_items(column, _QUALIFIED)
        for field, column in (
            (QualificationField.ITEM_ID, _ITEM_ID),
            (QualificationField.ITEM_OFFERING_ID, col(QualificationItem.offering_id)),
            (QualificationField.ITEM_PLACE_ID, either_column(*_PLACES)),
            (QualificationField.ITEM_TWO_ENDS, col(QualificationItem.z_location_id).is_not(None)),
            (QualificationField.ITEM_BANDWIDTH_MBPS, col(QualificationItem.bandwidth_mbps)),
            (QualificationField.ITEM_TERM_MONTHS, col(QualificationItem.term_months)),
            (QualificationField.ITEM_CLASS_OF_SERVICE, col(QualificationItem.class_of_service)),
            (QualificationField.ITEM_CONFIDENCE, col(QualificationItem.confidence)),
        )
    },
}


async def find_qualifications(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: Sequence[Condition[QualificationField]] = (),
    annotations: dict[str, str] | None = None,
    qualified_items_only: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> Page[tuple[Qualification, list[QualificationItem]]]:
    """One page of the caller's qualifications that meet every condition (and hold the
    `annotations` given), newest first, with their items and the count of all that meet them.
    With `qualified_items_only` the conditions on items look at those that can be delivered."""
    statement = qualifications_query(principal=principal, annotations=annotations)
    columns = _QUALIFIED_ITEM_COLUMNS if qualified_items_only else QUALIFICATION_COLUMNS
    statement = statement.where(*where(columns, conditions))
    page = await fetch_page(session, statement, offset=offset, limit=limit)
    items = await children_scoped(
        session,
        QualificationItem,
        "qualification_id",
        [q.id for q in page.items],
        principal,
        order_by="position",
    )
    return Page([(q, items[q.id]) for q in page.items], page.total, page.offset)


async def list_qualifications(
    session: AsyncSession, *, principal: Principal, offset: int = 0, limit: int = 100
) -> list[Qualification]:
    """The caller's qualifications, newest first."""
    statement = qualifications_query(principal=principal).offset(offset).limit(limit)
    return list((await session.exec(statement)).all())
