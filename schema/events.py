"""Events: what happened, to what, when."""

from datetime import datetime

import strawberry

from app.core import events as core
from schema.enums import EventKind


@strawberry.type(description="A change to one of your objects.")
class Event:
    id: strawberry.ID = strawberry.field(description="Stable id; receivers de-duplicate on it.")
    entity: str = strawberry.field(description="order, order_item, quote, product, ticket, ...")
    entity_id: str
    kind: EventKind
    state: str | None
    previous_state: str | None
    channel: str | None
    occurred_at: datetime

    @classmethod
    def from_row(cls, row: core.Event) -> "Event":
        """The GraphQL view of an event."""
        return cls(
            id=strawberry.ID(row.id),
            entity=row.entity,
            entity_id=row.entity_id,
            kind=row.kind,
            state=row.state,
            previous_state=row.previous_state,
            channel=row.channel,
            occurred_at=row.occurred_at,
        )
