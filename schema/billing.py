"""Invoices and their lines."""

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core import billing as core
from resolvers.context import Info
from schema.base import Money, optional, resolve_many
from schema.enums import ChargeKind, InvoiceKind, InvoiceState
from schema.inventory import Service


@strawberry.type(description="One charge on an invoice.")
class InvoiceLine:
    id: strawberry.ID
    kind: ChargeKind
    description: str
    amount: Money
    period_start: datetime
    period_end: datetime
    product_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: core.AppliedRate) -> "InvoiceLine":
        """The GraphQL view of an applied rate."""
        return cls(
            id=strawberry.ID(row.id),
            kind=row.kind,
            description=row.description,
            amount=Money.of(row.amount_cents, row.currency),
            period_start=row.period_start,
            period_end=row.period_end,
            product_id=row.product_id,
        )

    @strawberry.field
    async def service(self, info: Info) -> Service | None:
        return optional(
            await info.context.loaders.product_by_id.load(self.product_id), Service.from_row
        )


@strawberry.type(description="A bill for one period of one billing account.")
class Invoice(relay.Node):
    invoice_id: relay.NodeID[str]
    kind: InvoiceKind
    state: InvoiceState
    period_start: datetime
    period_end: datetime
    issued_at: datetime
    due_at: datetime
    recurring: Money
    one_time: Money
    tax: Money
    total: Money

    @classmethod
    def from_row(cls, row: core.Bill) -> "Invoice":
        """The GraphQL view of a bill."""
        return cls(
            invoice_id=row.id,
            kind=row.kind,
            state=row.state,
            period_start=row.period_start,
            period_end=row.period_end,
            issued_at=row.bill_date,
            due_at=row.due_date,
            recurring=Money.of(row.recurring_cents, row.currency),
            one_time=Money.of(row.one_time_cents, row.currency),
            tax=Money.of(row.tax_cents, row.currency),
            total=Money.of(row.total_cents, row.currency),
        )

    @strawberry.field
    async def lines(self, info: Info) -> list[InvoiceLine]:
        rows = await info.context.loaders.rates_by_bill_id.load(self.invoice_id)
        return [InvoiceLine.from_row(r) for r in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Invoice | None"]:
        return await resolve_many(info.context.loaders.bill_by_id.load_many, node_ids, cls.from_row)
