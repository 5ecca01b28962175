"""Qualification: whether products can be delivered, how confidently, and what instead."""

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock
from app.core.catalog import ClassOfService, ProductSpec
from app.core.errors import InvalidRequest, NotFound
from app.core.events import Channel, Event, EventKind
from app.core.geography import Serviceability
from app.core.qualification import (
    OFF_NET_MAX_MBPS,
    Confidence,
    ItemDetails,
    Qualification,
    QualificationItem,
    QualificationState,
    asked_items,
    assess,
    get_qualification,
    list_qualifications,
    qualifications_query,
    qualify,
    terminate,
)
from tests.factories import (
    CHICAGO,
    DALLAS,
    LA_NEAR_NET,
    LAS_VEGAS,
    NEW_YORK,
    Caller,
    line_spec,
    location_id,
    make_caller,
)

NOW = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)


def frozen(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at `moment`."""
    return lambda: moment


@pytest.fixture(autouse=True)
def _fixed_time() -> None:
    clock.set_clock(frozen(NOW))


async def qualify_one(
    session: AsyncSession, caller: Caller, spec: ProductSpec
) -> tuple[Qualification, QualificationItem]:
    """Qualify a single product for a caller."""
    qualification, items = await qualify(
        session, principal=caller.principal, specs=[spec], channel=Channel.GRAPHQL
    )
    assert len(items) == 1
    return qualification, items[0]


async def stored(session: AsyncSession, model: type[Qualification] | type[Event]) -> int:
    """How many rows of a table exist."""
    return len((await session.exec(select(model))).all())


async def test_on_net_at_both_ends_is_green(session: AsyncSession, developer: Caller) -> None:
    spec = await line_spec(session, CHICAGO, NEW_YORK, mbps=10000, months=36)
    qualification, item = await qualify_one(session, developer, spec)
    assert qualification.state is QualificationState.DONE_READY
    assert qualification.party_id == developer.party_id
    assert qualification.completed_at == NOW
    assert qualification.valid_until == NOW + timedelta(days=30)
    assert (item.confidence, item.serviceability, item.qualified) == (
        Confidence.GREEN,
        Serviceability.ON_NET,
        True,
    )
    assert item.lead_time_days == 20
    assert item.alternatives == []
    assert (item.position, item.bandwidth_mbps, item.term_months) == (1, 10000, 36)
    # The price is the catalog's price for the same product.
    expected = (await assess(session, spec)).quoted_price
    assert (item.monthly_cents, item.one_time_cents) == (
        expected.monthly_cents,
        expected.one_time_cents,
    )


async def test_off_net_without_a_partner_is_not_serviceable_and_not_priced(
    session: AsyncSession, developer: Caller
) -> None:
    spec = await line_spec(session, CHICAGO, LAS_VEGAS, mbps=1000)
    assessment = await assess(session, spec)
    assert (assessment.confidence, assessment.price) == (Confidence.RED, None)
    with pytest.raises(InvalidRequest) as caught:
        assert assessment.quoted_price
    assert caught.value.code == "NOT_SERVICEABLE"
    qualification, item = await qualify_one(session, developer, spec)
    assert qualification.state is QualificationState.DONE_UNABLE_TO_PROVIDE
    assert (item.qualified, item.serviceability) == (False, Serviceability.OFF_NET)
    assert (item.monthly_cents, item.one_time_cents) == (0, 0)
    why, *nearest = item.alternatives
    assert "no partner carrier serves it" in why["reason"]
    assert why["address"] == LAS_VEGAS
    # The nearest buildings we serve, nearest first: Los Angeles or Phoenix, not Chicago.
    assert nearest
    assert {a["serviceability"] for a in nearest} <= {"on_net", "near_net"}
    distances = [a["distance_km"] for a in nearest]
    assert distances == sorted(distances)
    assert 200 < distances[0] < 600


@pytest.mark.usefixtures("partner_covers_off_net")
async def test_near_net_or_off_net_up_to_ten_gbps_is_yellow(
    session: AsyncSession, developer: Caller
) -> None:
    cases = [
        (LA_NEAR_NET, 1000, Serviceability.NEAR_NET, 45),
        # Near-net is built by us: no partner limit on speed.
        (LA_NEAR_NET, 100000, Serviceability.NEAR_NET, 45),
        (LAS_VEGAS, 1000, Serviceability.OFF_NET, 60),
        (LAS_VEGAS, OFF_NET_MAX_MBPS, Serviceability.OFF_NET, 60),
    ]
    for z_end, mbps, serviceability, lead_time in cases:
        spec = await line_spec(session, CHICAGO, z_end, mbps=mbps)
        qualification, item = await qualify_one(session, developer, spec)
        assert qualification.state is QualificationState.DONE_READY
        assert (item.confidence, item.qualified, item.serviceability) == (
            Confidence.YELLOW,
            True,
            serviceability,
        ), (z_end, mbps)
        assert item.lead_time_days == lead_time
        assert item.alternatives == []


@pytest.mark.usefixtures("partner_covers_off_net")
async def test_off_net_above_ten_gbps_is_red_with_a_ten_gbps_alternative(
    session: AsyncSession, developer: Caller
) -> None:
    spec = await line_spec(session, CHICAGO, LAS_VEGAS, mbps=20000)
    qualification, item = await qualify_one(session, developer, spec)
    assert qualification.state is QualificationState.DONE_UNABLE_TO_PROVIDE
    assert item.confidence is Confidence.RED
    assert not item.qualified
    assert item.serviceability is Serviceability.OFF_NET
    [alternative] = item.alternatives
    assert alternative["bandwidth_mbps"] == 10000
    assert "10000 Mbps" in alternative["reason"]
    # The alternative is priced like a request for it would be.
    fallback = (await assess(session, replace(spec, bandwidth_mbps=10000))).quoted_price
    assert (alternative["monthly_cents"], alternative["one_time_cents"]) == (
        fallback.monthly_cents,
        fallback.one_time_cents,
    )


@pytest.mark.usefixtures("partner_covers_off_net")
async def test_an_off_net_port_above_ten_gbps_is_red(
    session: AsyncSession, developer: Caller
) -> None:
    port = ProductSpec(
        offering_id="ethernet-port",
        a_location_id=await location_id(session, LAS_VEGAS),
        z_location_id=None,
        bandwidth_mbps=100000,
        term_months=12,
    )
    _, item = await qualify_one(session, developer, port)
    assert item.confidence is Confidence.RED
    assert [a["bandwidth_mbps"] for a in item.alternatives] == [10000]
    _, on_net = await qualify_one(
        session, developer, replace(port, a_location_id=await location_id(session, DALLAS))
    )
    assert on_net.confidence is Confidence.GREEN


async def test_one_deliverable_item_makes_the_qualification_ready(
    session: AsyncSession, developer: Caller
) -> None:
    red = await line_spec(session, CHICAGO, LAS_VEGAS, mbps=50000)
    green = await line_spec(session, CHICAGO, NEW_YORK, cos=ClassOfService.REAL_TIME)
    qualification, items = await qualify(
        session, principal=developer.principal, specs=[red, green], channel=Channel.TMF
    )
    assert qualification.state is QualificationState.DONE_READY
    assert [(i.position, i.confidence) for i in items] == [
        (1, Confidence.RED),
        (2, Confidence.GREEN),
    ]
    assert items[1].class_of_service == ClassOfService.REAL_TIME


async def test_an_invalid_item_is_refused_by_its_index_and_nothing_is_stored(
    session: AsyncSession, developer: Caller
) -> None:
    good = await line_spec(session)
    cases = [
        (replace(good, bandwidth_mbps=300), "items[1].bandwidth_mbps", "UNSUPPORTED_BANDWIDTH"),
        (replace(good, term_months=61), "items[1].term_months", "UNSUPPORTED_TERM"),
        (replace(good, z_location_id=None), "items[1].z_end", "INVALID_REQUEST"),
        (replace(good, a_location_id="loc_nowhere"), "items[1].a_end", "ADDRESS_NOT_FOUND"),
        (replace(good, z_location_id="loc_nowhere"), "items[1].z_end", "ADDRESS_NOT_FOUND"),
    ]
    for bad, field, code in cases:
        with pytest.raises(InvalidRequest) as caught:
            await qualify(
                session,
                principal=developer.principal,
                specs=[good, bad],
                channel=Channel.GRAPHQL,
            )
        assert (caught.value.field, caught.value.code) == (field, code), bad
    with pytest.raises(InvalidRequest) as bad_first:
        await qualify(
            session,
            principal=developer.principal,
            specs=[replace(good, bandwidth_mbps=3), good],
            channel=Channel.GRAPHQL,
        )
    assert bad_first.value.field == "items[0].bandwidth_mbps"
    assert bad_first.value.details == {"alternatives_mbps": [10]}
    assert await stored(session, Qualification) == 0
    assert await stored(session, Event) == 0
    assert await list_qualifications(session, principal=developer.principal) == []


async def test_a_qualification_needs_an_item(session: AsyncSession, developer: Caller) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await qualify(session, principal=developer.principal, specs=[], channel=Channel.GRAPHQL)
    assert caught.value.field == "items"


async def test_a_qualification_is_recorded_as_an_event(
    session: AsyncSession, developer: Caller
) -> None:
    qualification, _ = await qualify(
        session,
        principal=developer.principal,
        specs=[await line_spec(session)],
        channel=Channel.SONATA,
        external_id="PO-42",
    )
    assert (qualification.channel, qualification.external_id) == (Channel.SONATA, "PO-42")
    events = (await session.exec(select(Event).where(Event.entity_id == qualification.id))).all()
    assert [(e.entity, e.kind, e.state, e.channel, e.party_id, e.occurred_at) for e in events] == [
        (
            "qualification",
            EventKind.CREATED,
            QualificationState.DONE_READY,
            Channel.SONATA,
            developer.party_id,
            NOW,
        )
    ]


async def test_get_returns_the_qualification_with_its_items_in_order(
    session: AsyncSession, developer: Caller
) -> None:
    specs = [
        await line_spec(session, CHICAGO, NEW_YORK),
        await line_spec(session, CHICAGO, LA_NEAR_NET),
        await line_spec(session, CHICAGO, LAS_VEGAS, mbps=20000),
    ]
    created, _ = await qualify(
        session, principal=developer.principal, specs=specs, channel=Channel.GRAPHQL
    )
    fetched, items = await get_qualification(
        session, principal=developer.principal, qualification_id=created.id
    )
    assert fetched.id == created.id
    assert [(i.position, i.confidence) for i in items] == [
        (1, Confidence.GREEN),
        (2, Confidence.YELLOW),
        (3, Confidence.RED),
    ]


async def test_another_party_s_qualification_is_not_found(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    created, _ = await qualify_one(session, developer, await line_spec(session))
    with pytest.raises(NotFound) as foreign:
        await get_qualification(
            session, principal=other_developer.principal, qualification_id=created.id
        )
    with pytest.raises(NotFound) as missing:
        await get_qualification(
            session, principal=other_developer.principal, qualification_id="poq_missing"
        )
    assert foreign.value.field == missing.value.field
    assert foreign.value.message == missing.value.message.replace("poq_missing", created.id)
    assert await list_qualifications(session, principal=other_developer.principal) == []
    # Operations staff see everyone's.
    seen, items = await get_qualification(
        session, principal=ops.principal, qualification_id=created.id
    )
    assert (seen.id, len(items)) == (created.id, 1)


async def test_list_shows_the_caller_s_qualifications_newest_first(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    created = []
    for hours in range(3):
        clock.set_clock(frozen(NOW + timedelta(hours=hours)))
        qualification, _ = await qualify_one(session, developer, await line_spec(session))
        created.append(qualification.id)
    await qualify_one(session, other_developer, await line_spec(session))
    listed = await list_qualifications(session, principal=developer.principal)
    assert [q.id for q in listed] == created[::-1]
    page = await list_qualifications(session, principal=developer.principal, offset=1, limit=1)
    assert [q.id for q in page] == [created[1]]


async def test_an_agent_qualifies_for_the_buyers_it_acts_for_only(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    carrier = await make_caller(
        session, "carrier", name="Meridian Wholesale", acting_for=[developer.party_id]
    )
    spec = await line_spec(session)
    qualification, items = await qualify(
        session,
        principal=carrier.principal,
        specs=[spec],
        channel=Channel.SONATA,
        buyer_party_id=developer.party_id,
    )
    assert qualification.party_id == items[0].party_id == developer.party_id
    seen, _ = await get_qualification(
        session, principal=developer.principal, qualification_id=qualification.id
    )
    assert seen.id == qualification.id
    with pytest.raises(NotFound) as caught:
        await qualify(
            session,
            principal=carrier.principal,
            specs=[spec],
            channel=Channel.SONATA,
            buyer_party_id=other_developer.party_id,
        )
    assert caught.value.field == "buyer"
    assert await list_qualifications(session, principal=other_developer.principal) == []
    assert await stored(session, Qualification) == 1


async def test_what_the_buyer_sent_is_kept_as_given_and_can_be_filtered_on(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    spec = await line_spec(session)
    configuration = {"@type": "urn:example:line", "speed": {"value": 1}}
    qualification, _ = await qualify(
        session,
        principal=developer.principal,
        specs=[spec, spec],
        channel=Channel.SONATA,
        external_id="PO-1",
        requested_completion_at=NOW + timedelta(days=3),
        annotations={"projectId": "rollout", "contacts": [{"name": "Ada"}]},
        details=[
            ItemDetails(external_id="01", configuration=configuration, annotations={"a": 1}),
            ItemDetails(),
        ],
    )
    assert qualification.annotations == {"projectId": "rollout", "contacts": [{"name": "Ada"}]}
    assert qualification.requested_completion_at == NOW + timedelta(days=3)
    _, kept = await get_qualification(
        session, principal=developer.principal, qualification_id=qualification.id
    )
    assert [(i.external_id, i.configuration, i.annotations) for i in kept] == [
        ("01", configuration, {"a": 1}),
        (None, {}, {}),
    ]
    await qualify_one(session, developer, spec)
    await qualify_one(session, other_developer, spec)

    async def found(**filters: object) -> list[str]:
        statement = qualifications_query(principal=developer.principal, **filters)  # type: ignore[arg-type]
        return [q.id for q in (await session.exec(statement)).all()]

    assert len(await found()) == 2
    assert await found(annotations={"projectId": "rollout"}) == [qualification.id]
    assert await found(annotations={"projectId": "other"}) == []
    assert await found(external_id="PO-1") == [qualification.id]
    assert await found(state=QualificationState.DONE_UNABLE_TO_PROVIDE) == []
    assert await found(requested_after=NOW + timedelta(days=2)) == [qualification.id]
    assert await found(requested_before=NOW + timedelta(days=2)) == []
    with pytest.raises(InvalidRequest) as caught:
        await qualify(
            session,
            principal=developer.principal,
            specs=[spec],
            channel=Channel.SONATA,
            details=[ItemDetails(), ItemDetails()],
        )
    assert caught.value.field == "items"


async def test_a_qualification_the_seller_cannot_answer_is_terminated_with_the_reason(
    session: AsyncSession, carrier: Caller
) -> None:
    terminated = await terminate(
        session,
        principal=carrier.principal,
        channel=Channel.TMF,
        reason="item 1 lacks a place",
        asked=["1"],
    )
    found, items = await get_qualification(
        session, principal=carrier.principal, qualification_id=terminated.id
    )
    assert (found.state, found.state_reason, items) == (
        QualificationState.TERMINATED_WITH_ERROR,
        "item 1 lacks a place",
        [],
    )
    assert asked_items(found) == ["1"]
    states = [
        (e.kind, e.state, e.previous_state)
        for e in (await session.exec(select(Event).where(Event.entity_id == found.id))).all()
    ]
    assert states == [
        (EventKind.CREATED, QualificationState.ACKNOWLEDGED, None),
        (
            EventKind.STATE_CHANGED,
            QualificationState.TERMINATED_WITH_ERROR,
            QualificationState.ACKNOWLEDGED,
        ),
    ]
