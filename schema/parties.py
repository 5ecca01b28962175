"""Parties and the viewer: the caller's party and everything it has."""

from collections.abc import Iterable

import strawberry
from strawberry import relay

from app.core import billing, events, geography, inventory, ordering, quoting, tickets
from app.core.parties import Party as PartyRow
from resolvers.context import Info
from resolvers.loaders import load_required
from resolvers.pagination import paginate
from schema.base import Connection, resolve_many
from schema.billing import Invoice
from schema.enums import Audience, Channel, OrderState, ServiceState, TicketState
from schema.events import Event
from schema.geography import Site
from schema.inventory import Service
from schema.ordering import Order
from schema.quoting import Quote
from schema.tickets import Ticket


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

    @strawberry.field
    async def sites(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Site]:
        return await paginate(
            info.context.session,
            geography.sites_query(principal=info.context.caller()),
            Site.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field
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
            principal=info.context.caller(),
            states=set(state or []),
            channel=channel,
        )
        return await paginate(
            info.context.session,
            statement,
            Order.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Your delivered products.")
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
        return await paginate(
            info.context.session,
            statement,
            Service.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field
    async def quotes(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Quote]:
        return await paginate(
            info.context.session,
            quoting.quotes_query(principal=info.context.caller()),
            Quote.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field
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
        return await paginate(
            info.context.session,
            statement,
            Ticket.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field
    async def invoices(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Invoice]:
        return await paginate(
            info.context.session,
            billing.bills_query(principal=info.context.caller()),
            Invoice.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Changes to your objects, newest first.")
    async def events(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Event]:
        return await paginate(
            info.context.session,
            events.events_query(principal=info.context.caller()),
            Event.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )
