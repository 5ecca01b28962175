"""The native GraphQL schema: queries, mutations and subscriptions, with its safety limits."""

import inspect
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.extensions import MaskErrors, MaxTokensLimiter, ParserCache
from strawberry.relay.types import GlobalIDValueError
from strawberry.types import ExecutionContext

from resolvers import (
    addresses,
    catalog,
    deliveries,
    orders,
    partners,
    purchasing,
    subscriptions,
    tickets,
)
from resolvers.context import Info, RefuseRefusedKeys, spend_query_cost
from schema.base import Connection
from schema.billing import Invoice
from schema.catalog import ProductOffering
from schema.events import Event
from schema.execution import LeanExecutionContext
from schema.geography import AddressValidationPayload, Location, Site
from schema.inventory import Service
from schema.limits import CheckedValidationCache, QueryLimits
from schema.ops import Ops
from schema.ordering import Order
from schema.parties import Party, Viewer
from schema.partners import PartnerPayload
from schema.payloads import (
    ChangeBandwidthPayload,
    DeliveryPayload,
    OrderPayload,
    PricePayload,
    PurchasePayload,
    QuotePayload,
    TicketNotePayload,
    TicketPayload,
)
from schema.quoting import Quote
from schema.tickets import Ticket

MAX_DEPTH = 12
# The standard introspection query (GraphiQL's, graphql-core's) nests 14 levels deep.
MAX_INTROSPECTION_DEPTH = 15
MAX_TOKENS = 2000
MAX_ALIASES = 20
MAX_COST = 10000
MAX_FRAGMENTS = 100
MAX_FRAGMENT_SPREADS = 300
MAX_QUERY_CHARS = 50_000
MAX_STRING_CHARS = 10_000
# Distinct documents whose parse and validation are kept: the few that clients send over and
# over; a stream of unique documents only evicts them.
CACHED_DOCUMENTS = 256


async def _node(
    info: Info,
    id: Annotated[strawberry.ID, strawberry.argument(description="The ID of the object.")],
) -> relay.Node | None:
    """The node a global id names, if the caller may see it."""
    try:
        global_id = relay.GlobalID.from_id(id)
    except GlobalIDValueError as exc:
        # Said as the caller's mistake (typed as an ID, a literal is not checked before now).
        raise GraphQLError(
            f"Value cannot represent a GlobalID: {id!r}", extensions={"code": "BAD_USER_INPUT"}
        ) from exc
    try:
        node_type = global_id.resolve_type(info)
    except GlobalIDValueError:
        # A well-formed id of a type that has no nodes names nothing: the caller's mistake, not
        # a server fault to mask and log.
        return None
    found = node_type.resolve_node(global_id.node_id, info=info, required=False)
    return await found if inspect.isawaitable(found) else found


@strawberry.type
class Query:
    node: relay.Node | None = strawberry.field(
        resolver=_node,
        description="Any object by its global id; null when it does not exist for you.",
    )

    @strawberry.field(description="You: your party and everything it has.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer(party_id=info.context.caller().party_id)

    locations: Connection[Location] = strawberry.field(
        resolver=catalog.locations, description=catalog.locations.__doc__
    )
    product_offerings: Connection[ProductOffering] = strawberry.field(
        resolver=catalog.product_offerings, description=catalog.product_offerings.__doc__
    )
    price: PricePayload = strawberry.field(
        resolver=purchasing.price, description="Price a product before signing up: no key needed."
    )

    @strawberry.field(description="Operations dashboards; operations staff only.")
    def ops(self, info: Info) -> Ops:
        info.context.ops()
        return Ops()


@strawberry.type
class Mutation:
    validate_address: AddressValidationPayload = strawberry.mutation(
        resolver=addresses.validate_address, description=addresses.validate_address.__doc__
    )
    order_connection: PurchasePayload = strawberry.mutation(
        resolver=purchasing.order_connection, description=purchasing.order_connection.__doc__
    )
    order_internet_access: PurchasePayload = strawberry.mutation(
        resolver=purchasing.order_internet_access,
        description=purchasing.order_internet_access.__doc__,
    )
    order_port: PurchasePayload = strawberry.mutation(
        resolver=purchasing.order_port, description=purchasing.order_port.__doc__
    )
    request_quote: QuotePayload = strawberry.mutation(
        resolver=purchasing.request_quote, description=purchasing.request_quote.__doc__
    )
    accept_quote: OrderPayload = strawberry.mutation(
        resolver=purchasing.accept_quote, description=purchasing.accept_quote.__doc__
    )
    cancel_order: OrderPayload = strawberry.mutation(
        resolver=orders.cancel_order, description=orders.cancel_order.__doc__
    )
    change_bandwidth: ChangeBandwidthPayload = strawberry.mutation(
        resolver=orders.change_bandwidth, description=orders.change_bandwidth.__doc__
    )
    open_ticket: TicketPayload = strawberry.mutation(
        resolver=tickets.open_ticket, description=tickets.open_ticket.__doc__
    )
    add_ticket_note: TicketNotePayload = strawberry.mutation(
        resolver=tickets.add_ticket_note, description=tickets.add_ticket_note.__doc__
    )
    close_ticket: TicketPayload = strawberry.mutation(
        resolver=tickets.close_ticket, description=tickets.close_ticket.__doc__
    )
    advance_order: OrderPayload = strawberry.mutation(
        resolver=orders.advance_order, description=orders.advance_order.__doc__
    )
    move_ticket: TicketPayload = strawberry.mutation(
        resolver=tickets.move_ticket, description=tickets.move_ticket.__doc__
    )
    replay_delivery: DeliveryPayload = strawberry.mutation(
        resolver=deliveries.replay_delivery, description=deliveries.replay_delivery.__doc__
    )
    register_partner: PartnerPayload = strawberry.mutation(
        resolver=partners.register_partner, description=partners.register_partner.__doc__
    )
    update_partner: PartnerPayload = strawberry.mutation(
        resolver=partners.update_partner, description=partners.update_partner.__doc__
    )


@strawberry.type
class Subscription:
    @strawberry.subscription(description=subscriptions.order_updates.__doc__)
    def order_updates(
        self, info: Info, order_id: strawberry.ID | None = None
    ) -> AsyncGenerator[Order, None]:
        return subscriptions.order_updates(info, order_id)

    @strawberry.subscription(description=subscriptions.ticket_updates.__doc__)
    def ticket_updates(
        self, info: Info, ticket_id: strawberry.ID | None = None
    ) -> AsyncGenerator[Ticket, None]:
        return subscriptions.ticket_updates(info, ticket_id)

    @strawberry.subscription(description=subscriptions.ops_events.__doc__)
    def ops_events(self, info: Info) -> AsyncGenerator[Event, None]:
        return subscriptions.ops_events(info)


def _unexpected(error: GraphQLError) -> bool:
    """Errors raised on purpose are GraphQL errors; anything else is masked."""
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


class NativeSchema(strawberry.Schema):
    """Logs only unexpected errors: refusals raised on purpose are the caller's business."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        super().process_errors([e for e in errors if _unexpected(e)], execution_context)


schema = NativeSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[Site, Service, Quote, Ticket, Invoice, Party, Location, ProductOffering],
    execution_context_class=LeanExecutionContext,
    # Factories, so that each request gets fresh extension state (its own cost).
    extensions=[
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        RefuseRefusedKeys,
        lambda: QueryLimits(
            max_depth=MAX_DEPTH,
            max_introspection_depth=MAX_INTROSPECTION_DEPTH,
            max_aliases=MAX_ALIASES,
            max_cost=MAX_COST,
            max_fragments=MAX_FRAGMENTS,
            max_spreads=MAX_FRAGMENT_SPREADS,
            max_query_chars=MAX_QUERY_CHARS,
            max_string_chars=MAX_STRING_CHARS,
            budget=spend_query_cost,
        ),
        # After the limits, so that a document too long is refused before it is parsed, and one
        # over the limits before it is validated.
        lambda: ParserCache(maxsize=CACHED_DOCUMENTS),
        lambda: CheckedValidationCache(maxsize=CACHED_DOCUMENTS),
        lambda: MaskErrors(should_mask_error=_unexpected),
    ],
)
