"""Parties and the viewer: the caller's party and everything it has."""

from collections.abc import Iterable

import strawberry
from strawberry import relay

from app.core import billing, events, geography, inventory, ordering, quoting, tickets, workforce
from app.core.parties import Party as PartyRow
from resolvers.context import Info
from resolvers.loaders import load_required
from resolvers.pagination import connection_field, paginate
from schema.base import Connection, resolve_many
from schema.billing import Invoice
from schema.enums import Audience, Channel, OrderState, ServiceState, TicketState
from schema.events import Event
from schema.geography import Site
from schema.inventory import Service
from schema.ordering import Order, order_connection
from schema.quoting import Quote
from schema.tickets import Ticket
from schema.workforce import WorkOrder


@strawberry.type(description="An organization: a customer, a partner carrier, or us.")
class Party(relay.Node):
    party_id: relay.NodeID[str]
    name: str
    audience: Audience

    @classmethod
    def from_row(cls, row: PartyRow) -> "Party":
        """The GraphQL view of a party."""
        return cls(party_id=row.id, name=row.name, audience=row.audience)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Party | None"]:
        return await resolve_many(
            info.context.loaders.party_by_id.load_many, node_ids, cls.from_row
        )


@strawberry.type(description="You: your party and everything it has, as Relay connections.")
class Viewer:
    party_id: strawberry.Private[str]

    @strawberry.field
    async def party(self, info: Info) -> Party:
        return Party.from_row(await load_required(info.context.loaders.party_by_id, self.party_id))

    sites: Connection[Site] = connection_field(
        Site,
        Site.from_row,
        lambda info: geography.sites_query(principal=info.context.caller()),
        description="Your places of service, oldest first.",
    )
    quotes: Connection[Quote] = connection_field(
        Quote,
        Quote.from_row,
        lambda info: quoting.quotes_query(principal=info.context.caller()),
        description="Your quotes, newest first.",
    )
    invoices: Connection[Invoice] = connection_field(
        Invoice,
        Invoice.from_row,
        lambda info: billing.bills_query(principal=info.context.caller()),
        description="Your invoices, newest first.",
    )
    work_orders: Connection[WorkOrder] = connection_field(
        WorkOrder,
        WorkOrder.from_row,
        lambda info: workforce.work_orders_query(principal=info.context.caller()),
        description="Visits of our field crews to your places, newest first.",
    )
    events: Connection[Event] = connection_field(
        Event,
        Event.from_row,
        lambda info: events.events_query(principal=info.context.caller()),
        description="Changes to your objects, newest first.",
    )

    @strawberry.field(description="Your orders, newest first, whichever API placed them.")
    async def orders(
        self,
        info: Info,
        state: list[OrderState] | None = None,
        channel: Channel | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Order]:
        statement = ordering.orders_query(
            principal=info.context.caller(), states=set(state or []), channel=channel
        )
        return await order_connection(info, statement, first, after, last, before)

    @strawberry.field(description="Your delivered products, newest first.")
    async def services(
        self,
        info: Info,
        state: list[ServiceState] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Service]:
        statement = inventory.products_query(
            principal=info.context.caller(), states=set(state or [])
        )
        return await paginate(info, statement, Service.from_row, first, after, last, before)

    @strawberry.field(description="Your trouble tickets, newest first.")
    async def tickets(
        self,
        info: Info,
        state: list[TicketState] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Ticket]:
        statement = tickets.tickets_query(principal=info.context.caller(), states=set(state or []))
        return await paginate(info, statement, Ticket.from_row, first, after, last, before)
