"""Journeys: whole buying flows in one call (validate, qualify, price, quote, order)."""

from dataclasses import asdict, dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import idempotency, ordering, quoting
from app.core.catalog import ClassOfService, ProductKind, ProductSpec
from app.core.errors import CoreError
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
    session: AsyncSession,
    a_end: AddressInput,
    z_end: AddressInput | None,
    *,
    party_id: str | None = None,
) -> list[Location]:
    """Both ends' locations (a new address becomes a place the party holds; for no party it is
    not stored); every address that fails is reported, not just the first."""
    errors: list[CoreError] = []
    ends: list[Location] = []
    for field, address in (("a_end", a_end), ("z_end", z_end)):
        if address is None:
            continue
        try:
            ends.append(
                await resolve_address(session, address, field_name=field, party_id=party_id)
            )
        except CoreError as exc:
            errors.append(exc)
    if errors:
        first, *rest = errors
        first.related = rest
        raise first
    return ends


async def price_by_address(
    session: AsyncSession, request: BuyRequest, *, party_id: str | None = None
) -> BuyResult:
    """Validate, qualify and price (a new address becomes a place of the party, if any)."""
    ends = await resolve_ends(session, request.a_end, request.z_end, party_id=party_id)
    spec = ProductSpec(
        offering_id=request.offering_id,
        a_location_id=ends[0].id,
        z_location_id=ends[1].id if len(ends) > 1 else None,
        bandwidth_mbps=request.bandwidth_mbps,
        term_months=request.term_months,
        class_of_service=request.class_of_service,
    )
    assessment = await assess(session, spec, locations={loc.id: loc for loc in ends})
    return BuyResult(assessment=assessment, ends=ends)


async def buy(
    session: AsyncSession,
    *,
    principal: Principal,
    request: BuyRequest,
    channel: Channel,
    buyer_party_id: str | None = None,
    idempotency_limits: idempotency.Limits | None = None,
) -> BuyResult:
    """Validate both addresses, qualify, price, take a firm quote and order against it.

    A dry run stops after pricing and stores nothing. With an idempotency key, only the request
    that claims the key quotes and orders; a retry gets that order back (`replayed`), and a
    request that differs is refused."""
    party_id = await resolve_buyer(session, principal, buyer_party_id)
    result = await price_by_address(session, request, party_id=party_id)
    assessment = result.assessment
    if not assessment.qualified:
        # A place that cannot be served is the fault of its end; otherwise of the speed asked.
        unserved = {a.get("location_id") for a in assessment.alternatives[:1]}
        named = zip(("a_end", "z_end"), assessment.ends, strict=False)
        ends = [field for field, (location, _) in named if location.id in unserved]
        raise assessment.refusal(
            field=ends[0] if assessment.price is None and ends else "bandwidth_mbps"
        )
    if request.dry_run:
        return result
    if not request.idempotency_key:
        result.quote, result.order = await _quote_and_order(
            session, principal, assessment.spec, channel, buyer_party_id, request.external_id
        )
        return result
    what = {
        "journey": "buy",
        "request": {k: v for k, v in asdict(request).items() if k != "idempotency_key"},
        "buyer": buyer_party_id,
    }
    async with idempotency.claim(
        session,
        party_id=principal.party_id,
        key=request.idempotency_key,
        fingerprint=idempotency.fingerprint(what),
        limits=idempotency_limits,
    ) as claimed:
        if claimed.replay is not None:
            result.quote = await quoting.get_quote(
                session, principal=principal, quote_id=claimed.replay["quote_id"]
            )
            result.order = await ordering.get_order(
                session, principal=principal, order_id=claimed.replay["order_id"]
            )
            result.replayed = True
            return result
        result.quote, result.order = await _quote_and_order(
            session, principal, assessment.spec, channel, buyer_party_id, request.external_id
        )
        claimed.keep({"quote_id": result.quote.quote.id, "order_id": result.order.order.id})
    return result


async def _quote_and_order(
    session: AsyncSession,
    principal: Principal,
    spec: ProductSpec,
    channel: Channel,
    buyer_party_id: str | None,
    external_id: str | None,
) -> tuple[quoting.QuoteWithItems, ordering.OrderWithItems]:
    quote = await quoting.request_quote(
        session,
        principal=principal,
        specs=[spec],
        kind=quoting.QuoteKind.FIRM,
        channel=channel,
        buyer_party_id=buyer_party_id,
        external_id=external_id,
    )
    order = await ordering.place(
        session,
        principal=principal,
        items=[ordering.ItemRequest(spec=spec)],
        channel=channel,
        buyer_party_id=buyer_party_id,
        quote_id=quote.quote.id,
        external_id=external_id,
    )
    return quote, order
