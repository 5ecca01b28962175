"""Partner carriers we buy off-net access from: the registry, the port a partner's API adapter
implements, off-net pricing, and the partner work that fulfils off-net order items."""

import asyncio
import contextlib
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Protocol

from sqlalchemy import UniqueConstraint, and_, func, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock
from app.core.catalog import BoughtAccess
from app.core.db import Database, StrEnumType, UTCDateTime, commit, config_of, new_id
from app.core.errors import Conflict, CoreError, InvalidRequest, NotFound
from app.core.geography import Location
from app.core.parties import Principal

log = logging.getLogger(__name__)

# Partners sell access ports at these speeds; a product is carried on the smallest that fits.
PORT_SPEEDS_MBPS = (1000, 10000, 100000)
MAX_MARGIN_PERCENT = Decimal("500")


class PartnerAuth(StrEnum):
    """How we authenticate to a partner's API."""

    API_KEY = "api_key"
    OAUTH_CLIENT_CREDENTIALS = "oauth_client_credentials"


class CoverageKind(StrEnum):
    """How a partner's reach is described: a metro ("Houston, TX"), a ZIP code or one address."""

    METRO = "metro"
    POSTCODE = "postcode"
    ADDRESS = "address"


class PartnerWorkState(StrEnum):
    """Where our purchase of one off-net access from a partner stands."""

    TO_PLACE = "to_place"
    PLACED = "placed"
    COMPLETED = "completed"
    REJECTED = "rejected"
    TO_CANCEL = "to_cancel"
    CANCELLED = "cancelled"


OPEN_WORK = (PartnerWorkState.TO_PLACE, PartnerWorkState.PLACED, PartnerWorkState.TO_CANCEL)


class Partner(SQLModel, table=True):
    """A carrier whose Sonata API sells us access where our network does not reach."""

    id: str = Field(default_factory=lambda: new_id("ptn"), primary_key=True, max_length=40)
    name: str = Field(max_length=200, unique=True)
    base_url: str = Field(max_length=500)
    auth: PartnerAuth = Field(sa_type=StrEnumType(PartnerAuth, 30))
    # Secrets: never returned by an API and never logged (see `PartnerAccess`).
    api_key: str | None = Field(default=None, max_length=500)
    oauth_token_url: str | None = Field(default=None, max_length=500)
    oauth_client_id: str | None = Field(default=None, max_length=200)
    oauth_client_secret: str | None = Field(default=None, max_length=500)
    # The buyerId the partner knows us by (None: the one our credentials stand for).
    buyer_id: str | None = Field(default=None, max_length=200)
    # Hundredths of a percent that we add to the partner's price.
    margin_basis_points: int = 1500
    enabled: bool = True
    # Our subscription to the partner's order notifications, once registered, and the secret
    # the partner signs them with (a secret too: never returned, never logged).
    listener_id: str | None = Field(default=None, max_length=200)
    listener_secret: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)

    @property
    def margin_percent(self) -> Decimal:
        """Our margin on the partner's price, in percent."""
        return Decimal(self.margin_basis_points) / 100


class PartnerCoverage(SQLModel, table=True):
    """One metro, ZIP code or address that a partner reaches."""

    __table_args__ = (UniqueConstraint("partner_id", "kind", "value"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(foreign_key="partner.id", index=True, max_length=40)
    kind: CoverageKind = Field(sa_type=StrEnumType(CoverageKind, 12))
    # Metros as "city, st" and addresses as address-book ids, lower-cased; ZIP codes as written.
    value: str = Field(max_length=200, index=True)


class PartnerWork(SQLModel, table=True):
    """Our purchase of one order item's off-net access from a partner, written before any call
    to the partner, so that nothing is lost or bought twice across retries and restarts."""

    id: str = Field(default_factory=lambda: new_id("pwk"), primary_key=True, max_length=40)
    partner_id: str = Field(foreign_key="partner.id", index=True, max_length=40)
    order_id: str = Field(foreign_key="productorder.id", index=True, max_length=40)
    order_item_id: str = Field(foreign_key="orderitem.id", index=True, max_length=40)
    location_id: str = Field(foreign_key="location.id", max_length=40)
    bandwidth_mbps: int
    term_months: int
    state: PartnerWorkState = Field(sa_type=StrEnumType(PartnerWorkState, 20), index=True)
    # The partner's quote that priced the access when our order was placed: its order refers
    # to it, so that the partner sells at the quoted price.
    quote_id: str | None = Field(default=None, max_length=200)
    # The partner's id of the order we placed with it (our `id` is its `externalId`).
    partner_order_id: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=1000)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class PartnerQuote(SQLModel, table=True):
    """A partner's answer about an access (qualified and firmly priced, or refused with its
    reason), kept until it expires so that pricing the same access again does not ask again."""

    __table_args__ = (UniqueConstraint("partner_id", "place", "bandwidth_mbps", "term_months"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(foreign_key="partner.id", index=True, max_length=40)
    # The postal line of the place, lower-cased: any address, also one stored for no party.
    place: str = Field(max_length=300)
    bandwidth_mbps: int
    term_months: int
    serviceable: bool
    reason: str | None = Field(default=None, max_length=1000)
    monthly_cents: int = 0
    one_time_cents: int = 0
    # The partner's id of its quote.
    quote_id: str | None = Field(default=None, max_length=200)
    valid_until: datetime = Field(sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


@dataclass(frozen=True)
class PartnerAccess:
    """What an adapter needs to call one partner; the secrets never show in a repr or a log."""

    partner_id: str
    name: str
    base_url: str
    auth: PartnerAuth
    buyer_id: str | None
    api_key: str | None = field(default=None, repr=False)
    oauth_token_url: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, partner: Partner) -> "PartnerAccess":
        """The access to a registered partner."""
        return cls(
            partner_id=partner.id,
            name=partner.name,
            base_url=partner.base_url,
            auth=partner.auth,
            buyer_id=partner.buyer_id,
            api_key=partner.api_key,
            oauth_token_url=partner.oauth_token_url,
            oauth_client_id=partner.oauth_client_id,
            oauth_client_secret=partner.oauth_client_secret,
        )


@dataclass(frozen=True)
class AccessRequest:
    """Access to buy from a partner: a port at an address, for a term."""

    location: Location
    bandwidth_mbps: int
    term_months: int


@dataclass(frozen=True)
class PartnerPrice:
    """A partner's price of an access, as it quoted it."""

    monthly_cents: int
    one_time_cents: int
    quote_id: str | None = None
    # Until when the partner holds the price, if it says.
    valid_until: datetime | None = None


@dataclass(frozen=True)
class PartnerQualification:
    """A partner's answer to a qualification of an access: can it deliver, and why not."""

    qualified: bool
    reason: str | None = None


@dataclass(frozen=True)
class ListenerRegistration:
    """Our subscription at a partner's hub and the secret its notifications are signed with."""

    listener_id: str
    secret: str | None = field(default=None, repr=False)


class PartnerOrderStatus(StrEnum):
    """A partner's order as we read it."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class PartnerOrderView:
    """A partner's order: its id, status and the partner's reason for it."""

    partner_order_id: str
    status: PartnerOrderStatus
    reason: str | None = None


class PartnerUnavailable(CoreError):
    """The partner did not answer usably (down, slow, erring, or its breaker is open)."""

    code = "PARTNER_UNAVAILABLE"


class PartnerRefused(CoreError):
    """The partner understood the request and refused it."""

    code = "PARTNER_REFUSED"


@dataclass(frozen=True)
class PartnerHealth:
    """How a partner's API has been answering us."""

    calls: int = 0
    failures: int = 0
    mean_latency_ms: float | None = None
    breaker: str = "closed"

    @property
    def success_rate(self) -> float | None:
        """Share of calls that succeeded, or None before the first call."""
        return None if not self.calls else (self.calls - self.failures) / self.calls


class PartnerGateway(Protocol):
    """What the core needs from a partner carrier; an adapter implements it over the partner's
    API. Calls raise `PartnerUnavailable` or `PartnerRefused`."""

    async def price(self, partner: PartnerAccess, request: AccessRequest) -> PartnerPrice | None:
        """Availability and price of an access; None where the partner cannot deliver it."""
        ...

    async def qualify(self, partner: PartnerAccess, request: AccessRequest) -> PartnerQualification:
        """Whether the partner can deliver an access, and its reason when it cannot."""
        ...

    async def quote(self, partner: PartnerAccess, request: AccessRequest) -> PartnerPrice:
        """A firm quote of an access."""
        ...

    async def place_order(
        self,
        partner: PartnerAccess,
        request: AccessRequest,
        *,
        external_id: str,
        quote_id: str | None = None,
    ) -> PartnerOrderView:
        """Order an access, carrying our `external_id` and the partner's quote that priced it."""
        ...

    async def find_order(
        self, partner: PartnerAccess, *, external_id: str
    ) -> PartnerOrderView | None:
        """The partner's order that carries our `external_id`, if it has one."""
        ...

    async def read_order(self, partner: PartnerAccess, partner_order_id: str) -> PartnerOrderView:
        """A partner's order as it stands."""
        ...

    async def cancel_order(self, partner: PartnerAccess, partner_order_id: str) -> None:
        """Ask the partner to cancel an order."""
        ...

    async def register_listener(
        self, partner: PartnerAccess, callback_url: str
    ) -> ListenerRegistration:
        """Subscribe our listener to the partner's order notifications."""
        ...

    def health(self, partner_id: str) -> PartnerHealth:
        """How the partner's API has been answering."""
        ...


@dataclass(frozen=True)
class PartnerInput:
    """A partner as operations staff register or change it; None leaves a field as it is."""

    name: str | None = None
    base_url: str | None = None
    auth: PartnerAuth | None = None
    api_key: str | None = None
    oauth_token_url: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    buyer_id: str | None = None
    margin_percent: Decimal | None = None
    enabled: bool | None = None
    metros: Sequence[str] | None = None
    postcodes: Sequence[str] | None = None
    address_ids: Sequence[str] | None = None


def metro_key(city: str, state: str) -> str:
    """The coverage value of a metro."""
    return f"{' '.join(city.split())}, {state.strip()}".lower()


def _check_url(value: str, field_name: str) -> str:
    value = value.strip()
    if not value.startswith(("http://", "https://")) or len(value) > 500:
        raise InvalidRequest(f"{field_name} must be an http(s) URL", field=field_name)
    return value.rstrip("/")


def _apply(partner: Partner, given: PartnerInput) -> None:
    if given.name is not None:
        if not given.name.strip():
            raise InvalidRequest("a partner needs a name", field="name")
        partner.name = given.name.strip()
    if given.base_url is not None:
        partner.base_url = _check_url(given.base_url, "base_url")
    if given.auth is not None:
        partner.auth = given.auth
    for name in ("api_key", "oauth_client_id", "oauth_client_secret", "buyer_id"):
        value = getattr(given, name)
        if value is not None:
            setattr(partner, name, value.strip() or None)
    if given.oauth_token_url is not None:
        partner.oauth_token_url = (
            _check_url(given.oauth_token_url, "oauth_token_url") if given.oauth_token_url else None
        )
    if given.margin_percent is not None:
        if not given.margin_percent.is_finite() or not (
            Decimal(0) <= given.margin_percent <= MAX_MARGIN_PERCENT
        ):
            raise InvalidRequest(
                f"the margin must be 0 to {MAX_MARGIN_PERCENT} percent", field="margin_percent"
            )
        partner.margin_basis_points = int(
            (given.margin_percent * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        )
    if given.enabled is not None:
        partner.enabled = given.enabled
    if partner.auth is PartnerAuth.API_KEY and not partner.api_key:
        raise InvalidRequest("a partner reached by API key needs its key", field="api_key")
    if partner.auth is PartnerAuth.OAUTH_CLIENT_CREDENTIALS and not (
        partner.oauth_token_url and partner.oauth_client_id and partner.oauth_client_secret
    ):
        raise InvalidRequest(
            "a partner reached by OAuth needs its token URL, client id and client secret",
            field="oauth_client_id",
        )


def _coverage(given: PartnerInput) -> list[tuple[CoverageKind, str]] | None:
    if given.metros is None and given.postcodes is None and given.address_ids is None:
        return None
    found: set[tuple[CoverageKind, str]] = set()
    for metro in given.metros or []:
        city, _, state = metro.rpartition(",")
        if not city.strip() or not state.strip():
            raise InvalidRequest(f"metro '{metro}' is not 'City, ST'", field="metros")
        found.add((CoverageKind.METRO, metro_key(city, state)))
    found |= {(CoverageKind.POSTCODE, p.strip()) for p in given.postcodes or [] if p.strip()}
    found |= {(CoverageKind.ADDRESS, a.strip()) for a in given.address_ids or [] if a.strip()}
    return sorted(found)


async def _set_coverage(
    session: AsyncSession, partner_id: str, coverage: list[tuple[CoverageKind, str]]
) -> None:
    for old in (
        await session.exec(select(PartnerCoverage).where(PartnerCoverage.partner_id == partner_id))
    ).all():
        await session.delete(old)
    await session.flush()
    for kind, value in coverage:
        if kind is CoverageKind.ADDRESS and await session.get(Location, value) is None:
            raise InvalidRequest(f"no known address '{value}'", field="address_ids")
        session.add(PartnerCoverage(partner_id=partner_id, kind=kind, value=value))


async def _name_taken(session: AsyncSession, name: str, partner_id: str | None) -> bool:
    statement = select(Partner.id).where(func.lower(Partner.name) == name.strip().lower())
    if partner_id:
        statement = statement.where(Partner.id != partner_id)
    return (await session.exec(statement)).first() is not None


async def register_partner(
    session: AsyncSession,
    *,
    principal: Principal,
    given: PartnerInput,
    partner_id: str | None = None,
) -> Partner:
    """Register a partner carrier (operations staff)."""
    principal.require_ops()
    if not given.name or not given.base_url or given.auth is None:
        raise InvalidRequest("a partner needs a name, a base URL and an auth kind", field="name")
    if await _name_taken(session, given.name, None):
        raise Conflict(f"a partner named '{given.name}' exists", field="name")
    partner = Partner(name=given.name, base_url=given.base_url, auth=given.auth)
    if partner_id:
        partner.id = partner_id
    _apply(partner, given)
    session.add(partner)
    await session.flush()
    await _set_coverage(session, partner.id, _coverage(given) or [])
    await commit(session)
    return partner


async def update_partner(
    session: AsyncSession, *, principal: Principal, partner_id: str, given: PartnerInput
) -> Partner:
    """Change a partner's registration (operations staff); coverage given replaces the old."""
    principal.require_ops()
    partner = await get_partner(session, principal=principal, partner_id=partner_id)
    if given.name and await _name_taken(session, given.name, partner.id):
        raise Conflict(f"a partner named '{given.name}' exists", field="name")
    _apply(partner, given)
    session.add(partner)
    coverage = _coverage(given)
    if coverage is not None:
        await _set_coverage(session, partner.id, coverage)
    await commit(session)
    return partner


async def get_partner(session: AsyncSession, *, principal: Principal, partner_id: str) -> Partner:
    """A registered partner (operations staff)."""
    principal.require_ops()
    partner = await session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"no partner '{partner_id}'", field="id")
    return partner


async def list_partners(session: AsyncSession, *, principal: Principal) -> list[Partner]:
    """Every registered partner, by name (operations staff)."""
    principal.require_ops()
    return list((await session.exec(select(Partner).order_by(col(Partner.name)))).all())


async def coverage_of(
    session: AsyncSession, partner_ids: list[str]
) -> dict[str, list[PartnerCoverage]]:
    """The coverage of partners, in one statement."""
    found: dict[str, list[PartnerCoverage]] = {pid: [] for pid in partner_ids}
    rows = await session.exec(
        select(PartnerCoverage)
        .where(col(PartnerCoverage.partner_id).in_(partner_ids))
        .order_by(col(PartnerCoverage.kind), col(PartnerCoverage.value))
    )
    for row in rows.all():
        found[row.partner_id].append(row)
    return found


async def waiting_counts(session: AsyncSession, partner_ids: list[str]) -> dict[str, int]:
    """How many order items wait on each partner, in one statement."""
    rows = await session.exec(
        select(PartnerWork.partner_id, func.count())
        .where(col(PartnerWork.partner_id).in_(partner_ids), col(PartnerWork.state).in_(OPEN_WORK))
        .group_by(col(PartnerWork.partner_id))
    )
    counted = dict(rows.all())
    return {pid: int(counted.get(pid, 0)) for pid in partner_ids}


async def covering_partner(session: AsyncSession, location: Location) -> Partner | None:
    """The enabled partner (first by name) that reaches a location, if any."""
    statement = (
        select(Partner)
        .join(PartnerCoverage, col(PartnerCoverage.partner_id) == col(Partner.id))
        .where(
            col(Partner.enabled).is_(True),
            or_(
                and_(
                    col(PartnerCoverage.kind) == CoverageKind.METRO,
                    col(PartnerCoverage.value) == metro_key(location.city, location.state),
                ),
                and_(
                    col(PartnerCoverage.kind) == CoverageKind.POSTCODE,
                    col(PartnerCoverage.value) == location.postcode.strip(),
                ),
                and_(
                    col(PartnerCoverage.kind) == CoverageKind.ADDRESS,
                    col(PartnerCoverage.value) == location.id,
                ),
            ),
        )
        .order_by(col(Partner.name))
        .limit(1)
    )
    return (await session.exec(statement)).first()


def port_speed(bandwidth_mbps: int) -> int:
    """The smallest partner port that carries a bandwidth."""
    return next((s for s in PORT_SPEEDS_MBPS if s >= bandwidth_mbps), PORT_SPEEDS_MBPS[-1])


def with_margin(cents: int, partner: Partner) -> int:
    """A partner's price with our margin on top."""
    raised = Decimal(cents) * (1 + Decimal(partner.margin_basis_points) / 10000)
    return int(raised.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def place_key(location: Location) -> str:
    """How a place is known in the partner quotes kept: its postal line, lower-cased."""
    return " ".join(location.line.split()).lower()[:300]


# The answers of partners already had in one session (one request): (partner id, place, speed,
# term) -> the answer. The database keeps them across requests; a session does not see rows
# that another one committed after its snapshot began (SQLite), so it keeps its own as well.
_ANSWERED = "lumen.partner_answers"


async def _kept_answer(
    session: AsyncSession, partner: Partner, place: str, request: AccessRequest
) -> PartnerQuote | None:
    """The partner's answer about this access kept in the database, if still valid."""
    return (
        await session.exec(
            select(PartnerQuote).where(
                PartnerQuote.partner_id == partner.id,
                PartnerQuote.place == place,
                PartnerQuote.bandwidth_mbps == request.bandwidth_mbps,
                PartnerQuote.term_months == request.term_months,
                col(PartnerQuote.valid_until) > clock.now(),
            )
        )
    ).first()


async def _ask(
    gateway: PartnerGateway, partner: Partner, place: str, request: AccessRequest, ttl: timedelta
) -> PartnerQuote:
    """Qualify the access through the partner's POQ and, where it qualifies, have it firmly
    quoted; raises `PartnerUnavailable` when the partner cannot be asked."""
    access = PartnerAccess.of(partner)
    now = clock.now()
    answer = PartnerQuote(
        partner_id=partner.id,
        place=place,
        bandwidth_mbps=request.bandwidth_mbps,
        term_months=request.term_months,
        serviceable=False,
        valid_until=now + ttl,
    )
    try:
        verdict = await gateway.qualify(access, request)
        if not verdict.qualified:
            answer.reason = (verdict.reason or "not serviceable at this address")[:1000]
            return answer
        quoted = await gateway.quote(access, request)
    except PartnerRefused as exc:
        answer.reason = exc.message[:1000]
        return answer
    answer.serviceable = True
    answer.monthly_cents = quoted.monthly_cents
    answer.one_time_cents = quoted.one_time_cents
    answer.quote_id = quoted.quote_id
    if quoted.valid_until is not None:
        # The partner's own validity, within our limit.
        answer.valid_until = max(now, min(answer.valid_until, quoted.valid_until))
    return answer


async def _keep(session: AsyncSession, answer: PartnerQuote) -> None:
    """Keep a partner's answer in a transaction of its own: a price query stores nothing else
    and its own transaction may be rolled back (a dry run)."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    async with engine.connect() as connection:
        waited = None
        if connection.dialect.name == "sqlite":
            # SQLite has one writer, and it may be the caller's own transaction (an order of
            # several items): give up at once rather than wait for it; the answer is asked
            # again next time.
            waited = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
            await connection.exec_driver_sql("PRAGMA busy_timeout=100")
            await connection.commit()
        try:
            async with AsyncSession(connection, expire_on_commit=False) as own:
                try:
                    old = await _kept_answer_any(own, answer)
                    if old is not None:
                        await own.delete(old)
                        await own.flush()
                    own.add(PartnerQuote.model_validate(answer.model_dump()))
                    await own.commit()
                except Exception as exc:  # the answer is still used, and asked again next time
                    await own.rollback()
                    log.info("a partner's answer was not kept: %s", type(exc).__name__)
        finally:
            if waited is not None:
                await connection.exec_driver_sql(f"PRAGMA busy_timeout={int(waited)}")
                await connection.commit()


async def _kept_answer_any(session: AsyncSession, answer: PartnerQuote) -> PartnerQuote | None:
    return (
        await session.exec(
            select(PartnerQuote).where(
                PartnerQuote.partner_id == answer.partner_id,
                PartnerQuote.place == answer.place,
                PartnerQuote.bandwidth_mbps == answer.bandwidth_mbps,
                PartnerQuote.term_months == answer.term_months,
            )
        )
    ).first()


async def off_net_access(
    session: AsyncSession, location: Location, *, bandwidth_mbps: int, term_months: int
) -> BoughtAccess | None:
    """The partner access that brings an off-net location onto our network, qualified by the
    partner's POQ and priced by its firm quote; None when no partner is wired in or none
    reaches it. The partner's answer is kept (`CoreConfig.partner_quote_ttl`, or the partner's
    own validity when shorter), so that it is asked once, not at every price or order. A
    partner that reaches the place but cannot be asked raises `PartnerUnavailable`; one that
    cannot deliver there raises `PartnerRefused` with its reason."""
    config = config_of(session)
    gateway = config.partners
    if gateway is None:
        return None
    partner = await covering_partner(session, location)
    if partner is None:
        return None
    request = AccessRequest(location, port_speed(bandwidth_mbps), term_months)
    place = place_key(location)
    answered: dict[tuple[str, str, int, int], PartnerQuote] = session.info.setdefault(_ANSWERED, {})
    key = (partner.id, place, request.bandwidth_mbps, request.term_months)
    answer = answered.get(key)
    if answer is None or answer.valid_until <= clock.now():
        answer = await _kept_answer(session, partner, place, request)
        if answer is None:
            try:
                answer = await _ask(gateway, partner, place, request, config.partner_quote_ttl)
            except PartnerUnavailable as exc:
                raise PartnerUnavailable(
                    f"{partner.name}, our partner at {location.line}, cannot be asked now "
                    f"({exc.message}); ask again later",
                ) from exc
            await _keep(session, answer)
        answered[key] = answer
    if not answer.serviceable:
        raise PartnerRefused(
            f"{partner.name}, our partner at {location.line}, cannot deliver access there: "
            f"{answer.reason}",
            code="PARTNER_CANNOT_DELIVER",
        )
    return BoughtAccess(
        partner.name,
        with_margin(answer.monthly_cents, partner),
        with_margin(answer.one_time_cents, partner),
        partner_id=partner.id,
        quote_id=answer.quote_id,
    )


async def spend_quotes(session: AsyncSession, quote_ids: Collection[str]) -> None:
    """Take the partner quotes an order now refers to off the kept answers (in the caller's
    transaction): a partner sells a quote once. The kept price still serves prices; a later
    order of the same access carries no quote and is bought at the partner's price of the day."""
    if not quote_ids:
        return
    answered: dict[tuple[str, str, int, int], PartnerQuote] = session.info.get(_ANSWERED, {})
    for answer in answered.values():
        if answer.quote_id in quote_ids:
            answer.quote_id = None
    await session.exec(
        update(PartnerQuote)
        .where(col(PartnerQuote.quote_id).in_(quote_ids))
        .values(quote_id=None)
        .execution_options(synchronize_session=False)
    )


def plan_work(
    session: AsyncSession,
    *,
    partner_id: str,
    order_id: str,
    order_item_id: str,
    location_id: str,
    bandwidth_mbps: int,
    term_months: int,
    quote_id: str | None = None,
    due: bool = True,
) -> PartnerWork:
    """Record that an order item's access is to be bought from a partner (in the caller's
    transaction); work that is not `due` waits until fulfilment starts (`start_work`)."""
    work = PartnerWork(
        partner_id=partner_id,
        order_id=order_id,
        order_item_id=order_item_id,
        location_id=location_id,
        bandwidth_mbps=port_speed(bandwidth_mbps),
        term_months=term_months,
        state=PartnerWorkState.TO_PLACE,
        quote_id=quote_id,
        next_attempt_at=clock.now() if due else None,
    )
    session.add(work)
    return work


async def work_of_order(session: AsyncSession, order_id: str) -> list[PartnerWork]:
    """The partner work of an order."""
    return list(
        (
            await session.exec(
                select(PartnerWork)
                .where(PartnerWork.order_id == order_id)
                .order_by(col(PartnerWork.id))
            )
        ).all()
    )


def start_work(session: AsyncSession, work: PartnerWork) -> None:
    """Let the worker buy an access planned when the order was placed."""
    work.next_attempt_at = work.updated_at = clock.now()
    session.add(work)


def cancel_work(session: AsyncSession, work: list[PartnerWork]) -> None:
    """Stop buying what a cancelled order needed: unplaced work is dropped, placed work is
    cancelled with the partner by the worker."""
    now = clock.now()
    for item in work:
        if item.state is PartnerWorkState.TO_PLACE and not item.attempts:
            item.state = PartnerWorkState.CANCELLED
        elif item.state in (PartnerWorkState.TO_PLACE, PartnerWorkState.PLACED):
            # A placing attempt may have reached the partner: the worker finds and cancels it.
            item.state = PartnerWorkState.TO_CANCEL
            item.next_attempt_at = now
        else:
            continue
        item.updated_at = now
        session.add(item)


async def listener_secret(session: AsyncSession, partner_id: str) -> str | None:
    """The secret a partner signs its notifications to us with; None when we have none (an
    unknown partner, or one whose hub gave no secret)."""
    return (
        await session.exec(select(Partner.listener_secret).where(Partner.id == partner_id))
    ).first()


async def notice(session: AsyncSession, *, partner_id: str, partner_order_id: str) -> bool:
    """A partner says one of its orders changed: read it at once (the notice itself is not
    trusted; the partner's order is). False when the order is none of ours."""
    work = (
        await session.exec(
            select(PartnerWork).where(
                PartnerWork.partner_id == partner_id,
                PartnerWork.partner_order_id == partner_order_id,
            )
        )
    ).first()
    if work is None:
        return False
    if work.state in OPEN_WORK:
        work.next_attempt_at = clock.now()
        session.add(work)
        await commit(session)
    return True


# Longer than any attempt at a piece of work takes (timeouts and retries included).
ATTEMPT_LEASE = timedelta(minutes=5)
# Work is tried again after these waits while a partner is unavailable (the last one repeats).
HOLD_BACKOFF = (
    timedelta(seconds=2),
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=2),
)


class OrderOutcome(Protocol):
    """What the partner worker tells the order machinery (fulfilment implements it)."""

    async def access_ready(self, session: AsyncSession, order_id: str) -> None:
        """Every partner access of an order is delivered."""
        ...

    async def access_failed(self, session: AsyncSession, order_id: str, reason: str) -> None:
        """A partner rejected or failed an access of the order."""
        ...


class PartnerWorker:
    """Places, follows and cancels partner orders from the `PartnerWork` rows: each row in its
    own transaction, the row's attempt recorded before the partner is called."""

    def __init__(
        self,
        database: Database,
        gateway: PartnerGateway,
        outcome: OrderOutcome,
        *,
        poll_after: timedelta,
        listener_url: str | None = None,
    ) -> None:
        self.database = database
        self.gateway = gateway
        self.outcome = outcome
        self.poll_after = poll_after
        self.listener_url = listener_url
        self.wake = asyncio.Event()

    async def tick(self) -> int:
        """Take every due piece of work one step; returns how many were taken."""
        async with self.database.session() as session:
            due = (
                await session.exec(
                    select(PartnerWork.id)
                    .where(
                        col(PartnerWork.state).in_(OPEN_WORK),
                        col(PartnerWork.next_attempt_at) <= clock.now(),
                    )
                    .order_by(col(PartnerWork.next_attempt_at))
                )
            ).all()
        taken = 0
        for work_id in due:
            async with self.database.session() as session:
                try:
                    if await self._step(session, work_id):
                        taken += 1
                except Conflict:
                    log.info("partner work %s changed meanwhile; retrying later", work_id)
        return taken

    async def _step(self, session: AsyncSession, work_id: str) -> bool:
        work = (
            await session.exec(
                select(PartnerWork)
                .where(PartnerWork.id == work_id, col(PartnerWork.state).in_(OPEN_WORK))
                .with_for_update(skip_locked=True)
            )
        ).first()
        if work is None:
            return False
        partner = await session.get(Partner, work.partner_id)
        location = await session.get(Location, work.location_id)
        assert partner is not None
        assert location is not None
        if work.state is PartnerWorkState.TO_PLACE and not partner.enabled:
            # The access was priced by this partner and no other: buying it elsewhere would be
            # at a price the buyer never saw, and waiting for operations has no end in sight.
            work.state = PartnerWorkState.REJECTED
            work.next_attempt_at = None
            work.reason = (
                f"{partner.name}, the partner that priced the access at {location.line}, "
                "no longer sells through us; order again for a new price"
            )[:1000]
            work.updated_at = clock.now()
            session.add(work)
            await self.outcome.access_failed(session, work.order_id, work.reason)
            await commit(session)
            return True
        access = PartnerAccess.of(partner)
        # The attempt is on record before the call: a retry after a crash looks for the order
        # the partner may already have instead of placing a second one.
        work.attempts += 1
        work.updated_at = clock.now()
        # While this attempt runs, other workers (other processes) leave the work alone.
        work.next_attempt_at = work.updated_at + ATTEMPT_LEASE
        session.add(work)
        await commit(session)
        try:
            if work.state is PartnerWorkState.TO_PLACE:
                await self._place(session, work, access, location)
            elif work.state is PartnerWorkState.PLACED:
                assert work.partner_order_id is not None
                await self._follow(
                    session, work, await self.gateway.read_order(access, work.partner_order_id)
                )
            else:
                await self._cancel(work, access)
        except PartnerUnavailable as exc:
            # The partner is down: the work is held and tried again later, never dropped.
            wait = HOLD_BACKOFF[min(work.attempts, len(HOLD_BACKOFF)) - 1]
            work.next_attempt_at = clock.now() + wait
            work.reason = f"held: {partner.name} is unavailable ({exc.message})"[:1000]
        except PartnerRefused as exc:
            if work.state is PartnerWorkState.TO_CANCEL:
                work.state = PartnerWorkState.CANCELLED
                work.reason = f"{partner.name} did not cancel: {exc.message}"[:1000]
            else:
                work.state = PartnerWorkState.REJECTED
                work.reason = f"{partner.name} refused the order: {exc.message}"[:1000]
                await self.outcome.access_failed(session, work.order_id, work.reason)
        work.updated_at = clock.now()
        session.add(work)
        await commit(session)
        return True

    async def _place(
        self, session: AsyncSession, work: PartnerWork, access: PartnerAccess, location: Location
    ) -> None:
        partner = await session.get(Partner, work.partner_id)
        if partner is not None and partner.listener_id is None and self.listener_url:
            # Notifications bring news sooner than polling; without them, polling still works.
            try:
                registered = await self.gateway.register_listener(
                    access, f"{self.listener_url}/{partner.id}"
                )
                # Kept with the partner's credentials: the listener verifies its notices by it.
                partner.listener_id = registered.listener_id
                partner.listener_secret = registered.secret
                session.add(partner)
            except (PartnerUnavailable, PartnerRefused) as exc:
                log.warning(
                    "could not register for %s's notifications: %s", partner.name, exc.message
                )
        found = None
        if work.attempts > 1:
            found = await self.gateway.find_order(access, external_id=work.id)
        if found is None:
            found = await self.gateway.place_order(
                access,
                AccessRequest(location, work.bandwidth_mbps, work.term_months),
                external_id=work.id,
                quote_id=work.quote_id,
            )
        work.partner_order_id = found.partner_order_id
        work.state = PartnerWorkState.PLACED
        work.reason = f"waiting for {access.name} to deliver its order {found.partner_order_id}"
        await self._follow(session, work, found)

    async def _follow(
        self, session: AsyncSession, work: PartnerWork, seen: PartnerOrderView
    ) -> None:
        name = await session.get(Partner, work.partner_id)
        partner_name = name.name if name else work.partner_id
        if seen.status is PartnerOrderStatus.COMPLETED:
            work.state = PartnerWorkState.COMPLETED
            work.next_attempt_at = None
            work.reason = None
            session.add(work)
            await session.flush()
            if not any(
                w.state is not PartnerWorkState.COMPLETED
                for w in await work_of_order(session, work.order_id)
            ):
                await self.outcome.access_ready(session, work.order_id)
        elif seen.status in (PartnerOrderStatus.REJECTED, PartnerOrderStatus.CANCELLED):
            work.state = PartnerWorkState.REJECTED
            work.next_attempt_at = None
            work.reason = f"{partner_name} {seen.status} its order {seen.partner_order_id}" + (
                f": {seen.reason}" if seen.reason else ""
            )
            await self.outcome.access_failed(session, work.order_id, work.reason)
        else:
            # Notifications bring news sooner; reading the order again is the fallback.
            work.next_attempt_at = clock.now() + self.poll_after

    async def _cancel(self, work: PartnerWork, access: PartnerAccess) -> None:
        partner_order_id = work.partner_order_id
        if partner_order_id is None:
            found = await self.gateway.find_order(access, external_id=work.id)
            partner_order_id = found.partner_order_id if found else None
        if partner_order_id is not None:
            await self.gateway.cancel_order(access, partner_order_id)
        work.state = PartnerWorkState.CANCELLED
        work.next_attempt_at = None
        work.reason = None

    async def run_forever(self, poll_seconds: float) -> None:
        """Tick until cancelled; a notification wakes the worker early."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("partner work tick failed; retrying at the next poll")
            self.wake.clear()
            # Not wait_for, which on Python 3.11 can swallow the cancellation that stops us.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll_seconds):
                    await self.wake.wait()
