"""Operations staff: replay a webhook delivery that was parked after its last attempt."""

from typing import Annotated

import strawberry

from app.core import events
from app.core.errors import CoreError, NotFound
from resolvers.context import Info
from resolvers.errors import user_errors
from schema.events import Delivery
from schema.payloads import DeliveryPayload


async def replay_delivery(
    info: Info,
    id: Annotated[
        strawberry.ID, strawberry.argument(description="A delivery's id from `failedDeliveries`.")
    ],
) -> DeliveryPayload:
    """Operations staff: queue a parked delivery again, with a fresh set of attempts."""
    principal = info.context.ops()
    session = info.context.session
    event_id, _, receiver = str(id).partition("/")
    try:
        if not receiver:
            raise NotFound(f"no delivery '{id}'", field="id")
        delivery = await events.replay_delivery(
            session, principal=principal, event_id=event_id, receiver=receiver
        )
    except CoreError as exc:
        await session.rollback()
        return DeliveryPayload(user_errors=user_errors(exc))
    info.context.dispatcher.wake()
    return DeliveryPayload(delivery=Delivery.from_row(delivery))
