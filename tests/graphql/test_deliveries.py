"""Operations' list of parked webhook deliveries pages in SQL."""

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, events, tickets
from app.core.db import Database
from app.core.events import Channel, Delivery, DeliveryStatus
from tests.factories import Caller
from tests.graphql.conftest import Post, data
from tests.statements import counting

FAILED = """query($first: Int) { ops { failedDeliveries(first: $first) { totalCount nodes {
    id eventId receiver subscriptionId status attempts lastError lastAttemptAt } } } }"""


async def test_a_page_of_parked_deliveries_costs_the_same_statements_whatever_its_size(
    gql: Post, database: Database, session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    for n in range(12):
        ticket = await tickets.open_ticket(
            session,
            principal=developer.principal,
            channel=Channel.TMF,
            summary=f"{n}",
            description=".",
        )
        [event] = await events.list_events(session, principal=ops.principal, entity_id=ticket.id)
        session.add(
            Delivery(
                event_id=event.id,
                receiver=f"subscription:sub_{n}",
                status=DeliveryStatus.FAILED,
                attempts=8,
                last_error="DeliveryFailed: hooks.example.com answered 500",
                last_attempt_at=clock.now(),
            )
        )
    await session.commit()
    costs = []
    for first in (2, 12):
        with counting(database) as statements:
            page = data(await gql(FAILED, {"first": first}, caller=ops))["ops"]["failedDeliveries"]
        assert page["totalCount"] == 12
        assert len(page["nodes"]) == first
        assert {n["status"] for n in page["nodes"]} == {"FAILED"}
        costs.append(len(statements))
    assert costs[0] == costs[1]
