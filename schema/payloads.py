"""Mutation inputs and payloads; every payload carries `userErrors`."""

import strawberry

from schema.base import Price, UserError
from schema.enums import (
    ClassOfService,
    Confidence,
    ProductKind,
    Serviceability,
    TicketImpact,
    TicketPriority,
    TicketSeverity,
    TicketState,
    TicketType,
)
from schema.events import Delivery
from schema.geography import AddressInput, Location
from schema.inventory import Service
from schema.ordering import Order
from schema.quoting import Quote
from schema.tickets import Ticket, TicketNote

IDEMPOTENCY = "A retry with the same key returns the same order instead of a second one."
DRY_RUN = "Validate, qualify and price only; nothing is bought or stored."


@strawberry.input(description="A point-to-point Ethernet connection between two addresses.")
class OrderConnectionInput:
    a_end: AddressInput
    z_end: AddressInput
    bandwidth_mbps: int
    term_months: int
    class_of_service: ClassOfService = ClassOfService.STANDARD
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)
    dry_run: bool = strawberry.field(default=False, description=DRY_RUN)
    external_id: str | None = strawberry.field(default=None, description="Your reference.")


@strawberry.input(description="Dedicated Internet access at one address.")
class OrderInternetAccessInput:
    site: AddressInput
    bandwidth_mbps: int
    term_months: int
    class_of_service: ClassOfService = ClassOfService.STANDARD
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)
    dry_run: bool = strawberry.field(default=False, description=DRY_RUN)
    external_id: str | None = None


@strawberry.input(description="An Ethernet port (UNI) at one address.")
class OrderPortInput:
    site: AddressInput
    speed_mbps: int = strawberry.field(description="1000, 10000 or 100000.")
    term_months: int
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)
    dry_run: bool = strawberry.field(default=False, description=DRY_RUN)
    external_id: str | None = None


@strawberry.type(description="The outcome of a purchase (or of a dry run).")
class PurchasePayload:
    order: Order | None = None
    quote: Quote | None = strawberry.field(default=None, description="The firm quote ordered.")
    price: Price | None = None
    confidence: Confidence | None = None
    serviceability: Serviceability | None = None
    lead_time_days: int | None = None
    a_end: Location | None = None
    z_end: Location | None = None
    dry_run: bool = False
    replayed: bool = strawberry.field(
        default=False,
        description="True when an earlier order with this idempotency key was returned.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(description="What a price or quote is for.")
class ProductInput:
    product: ProductKind
    a_end: AddressInput = strawberry.field(description="The site (or A end of a connection).")
    z_end: AddressInput | None = strawberry.field(
        default=None, description="Z end of a connection."
    )
    bandwidth_mbps: int
    term_months: int
    class_of_service: ClassOfService = ClassOfService.STANDARD


@strawberry.type(description="A price, answered without an API key.")
class PricePayload:
    price: Price | None = None
    confidence: Confidence | None = None
    serviceability: Serviceability | None = None
    lead_time_days: int | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RequestQuoteInput:
    items: list[ProductInput]
    firm: bool = strawberry.field(default=True, description="A firm quote can be ordered.")
    external_id: str | None = None


@strawberry.type
class QuotePayload:
    quote: Quote | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class AcceptQuoteInput:
    quote_id: strawberry.ID
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)
    external_id: str | None = None


@strawberry.type
class OrderPayload:
    order: Order | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CancelOrderInput:
    order_id: strawberry.ID
    reason: str | None = None


@strawberry.input
class ChangeBandwidthInput:
    service_id: strawberry.ID
    bandwidth_mbps: int
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)


@strawberry.type
class ChangeBandwidthPayload:
    order: Order | None = None
    service: Service | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class OpenTicketInput:
    service_id: strawberry.ID | None = None
    summary: str
    description: str
    severity: TicketSeverity = TicketSeverity.MODERATE
    priority: TicketPriority = TicketPriority.MEDIUM
    ticket_type: TicketType = TicketType.ASSISTANCE
    impact: TicketImpact | None = None


@strawberry.type
class TicketPayload:
    ticket: Ticket | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class AddTicketNoteInput:
    ticket_id: strawberry.ID
    text: str


@strawberry.type
class TicketNotePayload:
    ticket: Ticket | None = None
    note: TicketNote | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CloseTicketInput:
    ticket_id: strawberry.ID


@strawberry.input(description="Operations staff: move an order to its next step now.")
class AdvanceOrderInput:
    order_id: strawberry.ID


@strawberry.input(description="Operations staff: move a ticket to another state.")
class MoveTicketInput:
    ticket_id: strawberry.ID
    state: TicketState
    resolution: str | None = None


@strawberry.type
class DeliveryPayload:
    delivery: Delivery | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
