"""Events: what happened, to what, when; and their deliveries to receivers."""

from datetime import datetime

import strawberry

from app.core import events as core
from app.deprecations import graphql_reason
from schema.enums import DeliveryStatus, EntityKind, EventKind


@strawberry.type(description="A change to one of your objects.")
class Event:
    id: strawberry.ID = strawberry.field(description="Stable id; receivers de-duplicate on it.")
    entity: str = strawberry.field(
        description="order, order_item, quote, product, ticket, ...",
        deprecation_reason=graphql_reason("Event.entity"),
    )
    entity_kind: EntityKind = strawberry.field(description="What kind of object changed.")
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
            entity_kind=row.entity,
            entity_id=row.entity_id,
            kind=row.kind,
            state=row.state,
            previous_state=row.previous_state,
            channel=row.channel,
            occurred_at=row.occurred_at,
        )


def delivery_id(event_id: str, receiver: str) -> str:
    """The id of one event's delivery to one receiver."""
    return f"{event_id}/{receiver}"


@strawberry.type(description="One event on its way to one receiver (a listener or a handler).")
class Delivery:
    id: strawberry.ID = strawberry.field(description="Pass it to `replayDelivery`.")
    event_id: strawberry.ID
    receiver: str = strawberry.field(description="`subscription:<id>` or a handler's name.")
    subscription_id: strawberry.ID | None = strawberry.field(
        description="The listener registration it goes to, if any."
    )
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: core.Delivery) -> "Delivery":
        """The GraphQL view of a delivery."""
        return cls(
            id=strawberry.ID(delivery_id(row.event_id, row.receiver)),
            event_id=strawberry.ID(row.event_id),
            receiver=row.receiver,
            subscription_id=strawberry.ID(row.subscription_id) if row.subscription_id else None,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            last_attempt_at=row.last_attempt_at,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
        )
