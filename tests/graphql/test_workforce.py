"""Work orders and their appointments in the native API."""

from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, workforce
from app.core.fulfilment import step
from app.core.workforce import Contact, Slot
from tests.factories import Caller, make_order
from tests.graphql.conftest import Post, data

WORK = """
query { viewer { workOrders(first: 5) { totalCount nodes {
  id reason state appointmentRequired plannedAt appointments { state startsAt contactName }
} } } }
"""


async def test_a_booked_installation_visit_shows_with_its_appointment(
    gql: Post, session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    monday = datetime(2026, 3, 2, 9, tzinfo=UTC)
    clock.set_clock(lambda: monday)
    placed = await make_order(session, developer)
    assert await step(session, placed.order, complete_after=timedelta(hours=1))
    await session.commit()
    work = (await session.exec(workforce.work_orders_query(principal=developer.principal))).one()
    visit = monday.replace(hour=8) + timedelta(days=2)
    await workforce.book(
        session,
        principal=developer.principal,
        work_order_id=work.id,
        slot=Slot(visit, visit + timedelta(hours=4)),
        contact=Contact("Ada", "ada@example.com", "+1 555"),
    )
    found = data(await gql(WORK, caller=developer))["viewer"]["workOrders"]
    assert found["totalCount"] == 1
    node = found["nodes"][0]
    assert (node["reason"], node["state"], node["appointmentRequired"]) == (
        "INSTALLATION",
        "PLANNED",
        True,
    )
    assert node["appointments"] == [
        {"state": "CONFIRMED", "startsAt": "2026-03-04T08:00:00+00:00", "contactName": "Ada"}
    ]
    others = data(await gql(WORK, caller=other_developer))["viewer"]["workOrders"]
    assert others["totalCount"] == 0
