"""Buying in one call, pricing without a key, quotes and their acceptance."""

from app.core import journeys, ordering, quoting
from app.core.catalog import ClassOfService, ProductKind, ProductSpec
from app.core.errors import CoreError
from app.core.events import Channel
from app.core.qualification import check_item_count
from app.deps import idempotency_limits
from resolvers.context import Info
from resolvers.errors import node_id, user_errors
from resolvers.idempotency import place_once
from schema.base import Price
from schema.geography import Location
from schema.ordering import Order
from schema.payloads import (
    AcceptQuoteInput,
    OrderConnectionInput,
    OrderInternetAccessInput,
    OrderPayload,
    OrderPortInput,
    PricePayload,
    ProductInput,
    PurchasePayload,
    QuotePayload,
    RequestQuoteInput,
)
from schema.quoting import Quote

# Core field names that a purchase input spells differently.
_SINGLE_SITE = {"a_end": "site", "bandwidth_mbps": "bandwidthMbps"}


async def _purchase(
    info: Info, request: journeys.BuyRequest, rename: dict[str, str] | None = None
) -> PurchasePayload:
    principal = info.context.caller()
    session = info.context.session
    try:
        result = await journeys.buy(
            session,
            principal=principal,
            request=request,
            channel=Channel.GRAPHQL,
            idempotency_limits=idempotency_limits(info.context.settings),
        )
    except CoreError as exc:
        await session.rollback()
        return PurchasePayload(dry_run=request.dry_run, user_errors=user_errors(exc, rename=rename))
    assessment = result.assessment
    ends = [Location.from_row(loc) for loc in result.ends]
    price = (
        Price.of(result.order.order.monthly_cents, result.order.order.one_time_cents)
        if result.order
        else Price.of(assessment.quoted_price.monthly_cents, assessment.quoted_price.one_time_cents)
    )
    return PurchasePayload(
        order=Order.from_row(result.order.order) if result.order else None,
        quote=Quote.from_row(result.quote.quote) if result.quote else None,
        price=price,
        confidence=assessment.confidence,
        serviceability=assessment.serviceability,
        lead_time_days=assessment.lead_time_days,
        a_end=ends[0],
        z_end=ends[1] if len(ends) > 1 else None,
        dry_run=request.dry_run,
        replayed=result.replayed,
    )


async def order_connection(info: Info, input: OrderConnectionInput) -> PurchasePayload:
    """Validate both addresses, qualify, price, quote and order an Ethernet line."""
    return await _purchase(
        info,
        journeys.BuyRequest(
            offering_id=journeys.OFFERING_FOR_KIND[ProductKind.ETHERNET_LINE],
            a_end=input.a_end.to_core(),
            z_end=input.z_end.to_core(),
            bandwidth_mbps=input.bandwidth_mbps,
            term_months=input.term_months,
            class_of_service=ClassOfService(input.class_of_service),
            idempotency_key=input.idempotency_key,
            dry_run=input.dry_run,
            external_id=input.external_id,
        ),
    )


async def order_internet_access(info: Info, input: OrderInternetAccessInput) -> PurchasePayload:
    """Validate the address, qualify, price, quote and order dedicated Internet access."""
    return await _purchase(
        info,
        journeys.BuyRequest(
            offering_id=journeys.OFFERING_FOR_KIND[ProductKind.INTERNET_ACCESS],
            a_end=input.site.to_core(),
            z_end=None,
            bandwidth_mbps=input.bandwidth_mbps,
            term_months=input.term_months,
            class_of_service=ClassOfService(input.class_of_service),
            idempotency_key=input.idempotency_key,
            dry_run=input.dry_run,
            external_id=input.external_id,
        ),
        rename=_SINGLE_SITE,
    )


async def order_port(info: Info, input: OrderPortInput) -> PurchasePayload:
    """Validate the address, qualify, price, quote and order an Ethernet port."""
    return await _purchase(
        info,
        journeys.BuyRequest(
            offering_id=journeys.OFFERING_FOR_KIND[ProductKind.ETHERNET_PORT],
            a_end=input.site.to_core(),
            z_end=None,
            bandwidth_mbps=input.speed_mbps,
            term_months=input.term_months,
            idempotency_key=input.idempotency_key,
            dry_run=input.dry_run,
            external_id=input.external_id,
        ),
        rename={**_SINGLE_SITE, "bandwidth_mbps": "speedMbps"},
    )


def _buy_request(item: ProductInput) -> journeys.BuyRequest:
    return journeys.BuyRequest(
        offering_id=journeys.OFFERING_FOR_KIND[ProductKind(item.product)],
        a_end=item.a_end.to_core(),
        z_end=item.z_end.to_core() if item.z_end else None,
        bandwidth_mbps=item.bandwidth_mbps,
        term_months=item.term_months,
        class_of_service=ClassOfService(item.class_of_service),
    )


async def price(info: Info, input: ProductInput) -> PricePayload:
    """The price of a product at given addresses; no API key needed."""
    principal = info.context.principal
    try:
        result = await journeys.price_by_address(
            info.context.session,
            _buy_request(input),
            party_id=principal.party_id if principal else None,
        )
        assessment = result.assessment
        # A product that cannot be delivered gets no price: the refusal says what can be.
        quoted = assessment.quoted_price
    except CoreError as exc:
        return PricePayload(user_errors=user_errors(exc))
    return PricePayload(
        price=Price.of(quoted.monthly_cents, quoted.one_time_cents),
        confidence=assessment.confidence,
        serviceability=assessment.serviceability,
        lead_time_days=assessment.lead_time_days,
    )


async def request_quote(info: Info, input: RequestQuoteInput) -> QuotePayload:
    """Price several products in one quote (firm unless asked otherwise)."""
    principal = info.context.caller()
    session = info.context.session
    try:
        check_item_count(len(input.items))
        specs: list[ProductSpec] = []
        for index, item in enumerate(input.items):
            try:
                priced = await journeys.price_by_address(
                    session, _buy_request(item), party_id=principal.party_id
                )
            except CoreError as exc:
                for e in exc.all():
                    e.field = f"items[{index}].{e.field}" if e.field else f"items[{index}]"
                raise
            specs.append(priced.assessment.spec)
        quote = await quoting.request_quote(
            session,
            principal=principal,
            specs=specs,
            channel=Channel.GRAPHQL,
            kind=quoting.QuoteKind.FIRM if input.firm else quoting.QuoteKind.BUDGETARY,
            external_id=input.external_id,
        )
    except CoreError as exc:
        await session.rollback()
        return QuotePayload(user_errors=user_errors(exc))
    return QuotePayload(quote=Quote.from_row(quote.quote))


async def accept_quote(info: Info, input: AcceptQuoteInput) -> OrderPayload:
    """Order everything a firm quote offers, at its prices."""
    principal = info.context.caller()
    session = info.context.session
    try:
        quote_id = node_id(input.quote_id, "Quote", field="quote_id")
        placed, _ = await place_once(
            info,
            key=input.idempotency_key,
            mutation="acceptQuote",
            request={"quote_id": quote_id, "external_id": input.external_id},
            place=lambda: ordering.place(
                session,
                principal=principal,
                items=[],
                channel=Channel.GRAPHQL,
                quote_id=quote_id,
                external_id=input.external_id,
            ),
        )
    except CoreError as exc:
        await session.rollback()
        return OrderPayload(user_errors=user_errors(exc, rename={"quote_id": "quoteId"}))
    return OrderPayload(order=Order.from_row(placed.order))
