"""Journeys: whole buying flows in one call (validate, qualify, price, quote, order)."""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import ordering, quoting
from app.core.catalog import ClassOfService, ProductKind, ProductSpec
from app.core.errors import CoreError, InvalidRequest
from app.core.events import Channel
from app.core.geography import AddressInput, Location, resolve_address
from app.core.parties import Principal, resolve_buyer
from app.core.qualification import Assessment, assess

# The standard offering sold for each kind of product.
OFFERING_FOR_KIND = {
    ProductKind.ETHERNET_LINE: "ethernet-line",
    ProductKind.ETHERNET_PORT: "ethernet-port",
    ProductKind.INTERNET_ACCESS: "internet-access",
}


@dataclass(frozen=True)
class BuyRequest:
    """A product asked for by addresses rather than by known ids."""

    offering_id: str
    a_end: AddressInput
    z_end: AddressInput | None
    bandwidth_mbps: int
    term_months: int
    class_of_service: ClassOfService = ClassOfService.STANDARD
    idempotency_key: str | None = None
    external_id: str | None = None
    dry_run: bool = False


@dataclass
class BuyResult:
    """What a buy did: always the assessment; the quote and order unless it was a dry run."""

    assessment: Assessment
    ends: list[Location]
    quote: quoting.QuoteWithItems | None = None
    order: ordering.OrderWithItems | None = None
    replayed: bool = False


async def resolve_ends(
    session: AsyncSession, a_end: AddressInput, z_end: AddressInput | None
) -> list[Location]:
    """Both ends' locations; every address that fails is reported, not just the first."""
    errors: list[CoreError] = []
    ends: list[Location] = []
    for field, address in (("a_end", a_end), ("z_end", z_end)):
        if address is None:
            continue
        try:
            ends.append(await resolve_address(session, address, field_name=field))
        except CoreError as exc:
            errors.append(exc)
    if errors:
        first, *rest = errors
        first.related = rest
        raise first
    return ends


async def price_by_address(session: AsyncSession, request: BuyRequest) -> BuyResult:
    """Validate, qualify and price without storing anything."""
    ends = await resolve_ends(session, request.a_end, request.z_end)
    spec = ProductSpec(
        offering_id=request.offering_id,
        a_location_id=ends[0].id,
        z_location_id=ends[1].id if len(ends) > 1 else None,
        bandwidth_mbps=request.bandwidth_mbps,
        term_months=request.term_months,
        class_of_service=request.class_of_service,
    )
    return BuyResult(assessment=await assess(session, spec), ends=ends)


async def buy(
    session: AsyncSession,
    *,
    principal: Principal,
    request: BuyRequest,
    channel: Channel,
    buyer_party_id: str | None = None,
) -> BuyResult:
    """Validate both addresses, qualify, price, take a firm quote and order against it.

    A dry run stops after pricing and stores nothing. A repeated idempotency key returns the
    order first placed with it (`replayed`), or a conflict if the request differs."""
    await resolve_buyer(session, principal, buyer_party_id)
    result = await price_by_address(session, request)
    assessment = result.assessment
    if not assessment.qualified:
        raise InvalidRequest(
            "this product cannot be delivered as asked",
            field="bandwidth_mbps",
            code="NOT_SERVICEABLE",
            details={"alternatives": assessment.alternatives},
        )
    if request.dry_run:
        return result
    item = ordering.ItemRequest(spec=assessment.spec)
    if request.idempotency_key:
        earlier = await ordering.find_by_idempotency_key(
            session,
            principal=principal,
            key=request.idempotency_key,
            buyer_party_id=buyer_party_id,
        )
        if earlier is not None:
            # `place` compares the request with the one first made with this key.
            result.order = await ordering.place(
                session,
                principal=principal,
                items=[item],
                channel=channel,
                buyer_party_id=buyer_party_id,
                external_id=request.external_id,
                idempotency_key=request.idempotency_key,
            )
            result.replayed = True
            return result
    result.quote = await quoting.request_quote(
        session,
        principal=principal,
        specs=[assessment.spec],
        kind=quoting.QuoteKind.FIRM,
        channel=channel,
        buyer_party_id=buyer_party_id,
        external_id=request.external_id,
    )
    result.order = await ordering.place(
        session,
        principal=principal,
        items=[item],
        channel=channel,
        buyer_party_id=buyer_party_id,
        quote_id=result.quote.quote.id,
        external_id=request.external_id,
        idempotency_key=request.idempotency_key,
    )
    return result
