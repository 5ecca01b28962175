"""Quotes: budgetary and firm prices, their validity, and their lifecycle."""

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock
from app.core.catalog import ProductSpec
from app.core.errors import IllegalTransition, InvalidRequest, NotFound
from app.core.events import Channel, Event, EventKind
from app.core.qualification import Confidence, ItemDetails, assess, qualify
from app.core.quoting import (
    QUOTE_VALID_DAYS,
    Quote,
    QuoteItemState,
    QuoteKind,
    QuoteState,
    QuoteWithItems,
    answer_pending,
    asked_items,
    cancel_quote,
    decline_quote,
    delete_rejected,
    get_quote,
    list_quotes,
    quotes_query,
    reject,
    request_quote,
    take_for_order,
    update_quote,
)
from tests.factories import CHICAGO, LA_NEAR_NET, LAS_VEGAS, NEW_YORK, Caller, line_spec

NOW = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
EXPIRY = NOW + timedelta(days=QUOTE_VALID_DAYS)


def frozen(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at `moment`."""
    return lambda: moment


@pytest.fixture(autouse=True)
def _fixed_time() -> None:
    clock.set_clock(frozen(NOW))


async def quote_for(
    session: AsyncSession,
    caller: Caller,
    kind: QuoteKind = QuoteKind.FIRM,
    *,
    specs: list[ProductSpec] | None = None,
    answer_now: bool = True,
) -> QuoteWithItems:
    """A quote for one on-net Ethernet line (by default), Chicago to New York."""
    return await request_quote(
        session,
        principal=caller.principal,
        specs=specs or [await line_spec(session)],
        kind=kind,
        channel=Channel.GRAPHQL,
        answer_now=answer_now,
    )


async def history(
    session: AsyncSession, quote: Quote
) -> list[tuple[EventKind, str | None, str | None]]:
    """The quote's events as (kind, state, previous state), oldest first."""
    events = (
        await session.exec(
            select(Event).where(Event.entity_id == quote.id).order_by(col(Event.seq))
        )
    ).all()
    assert {(e.entity, e.party_id) for e in events} == {("quote", quote.party_id)}
    return [(e.kind, e.state, e.previous_state) for e in events]


CREATED = (EventKind.CREATED, QuoteState.ACKNOWLEDGED, None)


def changed(previous: QuoteState, state: QuoteState) -> tuple[EventKind, str, str]:
    """A state-change event."""
    return EventKind.STATE_CHANGED, state, previous


async def test_a_budgetary_quote_is_answered_at_once(
    session: AsyncSession, developer: Caller
) -> None:
    specs = [await line_spec(session), await line_spec(session, CHICAGO, LA_NEAR_NET, mbps=500)]
    quoted = await quote_for(session, developer, QuoteKind.BUDGETARY, specs=specs)
    quote = quoted.quote
    assert quote.state is QuoteState.ANSWERED
    assert [i.state for i in quoted.items] == [QuoteItemState.ANSWERED] * 2
    assert [i.confidence for i in quoted.items] == [Confidence.GREEN, Confidence.YELLOW]
    assert (quote.answered_at, quote.valid_until) == (NOW, NOW + timedelta(days=30))
    assert quote.currency == "USD"
    prices = [(await assess(session, spec)).quoted_price for spec in specs]
    assert [(i.monthly_cents, i.one_time_cents) for i in quoted.items] == [
        (p.monthly_cents, p.one_time_cents) for p in prices
    ]
    assert quote.monthly_cents == sum(p.monthly_cents for p in prices)
    assert quote.one_time_cents == sum(p.one_time_cents for p in prices)
    assert await history(session, quote) == [
        CREATED,
        changed(QuoteState.ACKNOWLEDGED, QuoteState.ANSWERED),
    ]


async def test_a_firm_quote_is_approved_and_orderable(
    session: AsyncSession, developer: Caller
) -> None:
    quoted = await quote_for(session, developer, QuoteKind.FIRM)
    assert quoted.quote.state is QuoteState.APPROVED_ORDERABLE
    assert [i.state for i in quoted.items] == [QuoteItemState.APPROVED_ORDERABLE]
    assert quoted.quote.valid_until == EXPIRY
    assert await history(session, quoted.quote) == [
        CREATED,
        changed(QuoteState.ACKNOWLEDGED, QuoteState.APPROVED_ORDERABLE),
    ]


async def test_a_quote_of_only_undeliverable_items_is_unable_to_provide(
    session: AsyncSession, developer: Caller
) -> None:
    red = await line_spec(session, CHICAGO, LAS_VEGAS, mbps=20000)
    quoted = await quote_for(session, developer, QuoteKind.FIRM, specs=[red])
    assert quoted.quote.state is QuoteState.UNABLE_TO_PROVIDE
    assert [i.state for i in quoted.items] == [QuoteItemState.UNABLE_TO_PROVIDE]
    assert (quoted.quote.monthly_cents, quoted.quote.one_time_cents) == (0, 0)
    with pytest.raises(IllegalTransition):
        await take_for_order(session, principal=developer.principal, quote_id=quoted.quote.id)


async def test_undeliverable_items_are_left_out_of_the_total_and_the_order(
    session: AsyncSession, developer: Caller
) -> None:
    green = await line_spec(session)
    red = await line_spec(session, CHICAGO, LAS_VEGAS, mbps=20000)
    quoted = await quote_for(session, developer, QuoteKind.FIRM, specs=[red, green])
    assert quoted.quote.state is QuoteState.APPROVED_ORDERABLE
    assert [i.state for i in quoted.items] == [
        QuoteItemState.UNABLE_TO_PROVIDE,
        QuoteItemState.APPROVED_ORDERABLE,
    ]
    assert quoted.quote.monthly_cents == quoted.items[1].monthly_cents
    taken = await take_for_order(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert [i.position for i in taken.items] == [2]


async def test_a_quote_left_for_the_back_office_is_answered_later(
    session: AsyncSession, developer: Caller
) -> None:
    quoted = await quote_for(session, developer, QuoteKind.BUDGETARY, answer_now=False)
    quote = quoted.quote
    assert quote.state is QuoteState.ACKNOWLEDGED
    assert [i.state for i in quoted.items] == [QuoteItemState.ACKNOWLEDGED]
    assert (quote.answered_at, quote.valid_until, quote.monthly_cents) == (None, None, 0)
    # The back office waits an hour before it answers.
    assert await answer_pending(session, older_than=timedelta(hours=1)) == 0
    answered_at = NOW + timedelta(hours=2)
    clock.set_clock(frozen(answered_at))
    assert await answer_pending(session, older_than=timedelta(hours=1)) == 1
    fetched = await get_quote(session, principal=developer.principal, quote_id=quote.id)
    assert fetched.quote.state is QuoteState.ANSWERED
    assert [i.state for i in fetched.items] == [QuoteItemState.ANSWERED]
    assert fetched.quote.monthly_cents == fetched.items[0].monthly_cents > 0
    # Valid for thirty days from the answer, not from the request.
    assert fetched.quote.valid_until == answered_at + timedelta(days=QUOTE_VALID_DAYS)
    assert await answer_pending(session) == 0
    assert await history(session, quote) == [
        CREATED,
        changed(QuoteState.ACKNOWLEDGED, QuoteState.ANSWERED),
    ]


async def test_an_unanswered_quote_can_be_cancelled(
    session: AsyncSession, developer: Caller
) -> None:
    quoted = await quote_for(session, developer, answer_now=False)
    cancelled = await cancel_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert cancelled.state is QuoteState.CANCELLED
    fetched = await get_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert fetched.quote.state is QuoteState.CANCELLED
    assert [i.state for i in fetched.items] == [QuoteItemState.ABANDONED]
    # The back office leaves it alone.
    assert await answer_pending(session) == 0
    with pytest.raises(IllegalTransition):
        await cancel_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    with pytest.raises(IllegalTransition):
        await decline_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert await history(session, quoted.quote) == [
        CREATED,
        changed(QuoteState.ACKNOWLEDGED, QuoteState.CANCELLED),
    ]


async def test_an_answered_quote_cannot_be_cancelled(
    session: AsyncSession, developer: Caller
) -> None:
    for kind in QuoteKind:
        quoted = await quote_for(session, developer, kind)
        with pytest.raises(IllegalTransition) as caught:
            await cancel_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
        assert (caught.value.code, caught.value.field) == ("ILLEGAL_TRANSITION", "state")
        fetched = await get_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
        assert fetched.quote.state is quoted.quote.state
        assert len(await history(session, quoted.quote)) == 2


async def test_an_answered_quote_can_be_declined_once(
    session: AsyncSession, developer: Caller
) -> None:
    for kind in QuoteKind:
        quoted = await quote_for(session, developer, kind)
        answered = quoted.quote.state
        declined = await decline_quote(
            session, principal=developer.principal, quote_id=quoted.quote.id
        )
        assert declined.state is QuoteState.DECLINED
        with pytest.raises(IllegalTransition):
            await decline_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
        with pytest.raises(IllegalTransition):
            await take_for_order(session, principal=developer.principal, quote_id=quoted.quote.id)
        assert await history(session, quoted.quote) == [
            CREATED,
            changed(QuoteState.ACKNOWLEDGED, answered),
            changed(answered, QuoteState.DECLINED),
        ]


async def test_an_unanswered_quote_cannot_be_declined(
    session: AsyncSession, developer: Caller
) -> None:
    quoted = await quote_for(session, developer, answer_now=False)
    with pytest.raises(IllegalTransition) as caught:
        await decline_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert caught.value.field == "state"
    fetched = await get_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert fetched.quote.state is QuoteState.ACKNOWLEDGED


async def test_a_quote_expires_after_its_validity(session: AsyncSession, developer: Caller) -> None:
    quoted = await quote_for(session, developer, QuoteKind.FIRM)
    clock.set_clock(frozen(EXPIRY - timedelta(seconds=1)))
    fetched = await get_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert fetched.quote.state is QuoteState.APPROVED_ORDERABLE
    clock.set_clock(frozen(EXPIRY))
    fetched = await get_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert fetched.quote.state is QuoteState.EXPIRED
    assert fetched.quote.updated_at == EXPIRY
    assert [q.state for q in await list_quotes(session, principal=developer.principal)] == [
        QuoteState.EXPIRED
    ]
    with pytest.raises(IllegalTransition) as caught:
        await take_for_order(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert (caught.value.code, caught.value.field) == ("QUOTE_EXPIRED", "quote")
    with pytest.raises(IllegalTransition):
        await decline_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert await history(session, quoted.quote) == [
        CREATED,
        changed(QuoteState.ACKNOWLEDGED, QuoteState.APPROVED_ORDERABLE),
        changed(QuoteState.APPROVED_ORDERABLE, QuoteState.EXPIRED),
    ]


async def test_an_expired_quote_cannot_be_ordered_even_unread(
    session: AsyncSession, developer: Caller
) -> None:
    quoted = await quote_for(session, developer, QuoteKind.FIRM)
    clock.set_clock(frozen(EXPIRY + timedelta(days=1)))
    with pytest.raises(IllegalTransition) as caught:
        await take_for_order(
            session, principal=developer.principal, quote_id=quoted.quote.id, field_name="quoteId"
        )
    assert (caught.value.code, caught.value.field) == ("QUOTE_EXPIRED", "quoteId")


async def test_declining_an_expired_quote_is_refused_and_it_shows_expired(
    session: AsyncSession, developer: Caller
) -> None:
    quoted = await quote_for(session, developer, QuoteKind.BUDGETARY)
    clock.set_clock(frozen(EXPIRY + timedelta(days=1)))
    with pytest.raises(IllegalTransition):
        await decline_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    fetched = await get_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert fetched.quote.state is QuoteState.EXPIRED


async def test_a_firm_quote_is_taken_for_an_order_once(
    session: AsyncSession, developer: Caller
) -> None:
    quoted = await quote_for(session, developer, QuoteKind.FIRM)
    taken = await take_for_order(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert taken.quote.state is QuoteState.ACCEPTED
    assert [i.id for i in taken.items] == [i.id for i in quoted.items]
    # The order that takes the quote commits it.
    await session.commit()
    fetched = await get_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert fetched.quote.state is QuoteState.ACCEPTED
    with pytest.raises(IllegalTransition):
        await take_for_order(session, principal=developer.principal, quote_id=quoted.quote.id)
    with pytest.raises(IllegalTransition):
        await decline_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    # Accepted quotes do not expire.
    clock.set_clock(frozen(EXPIRY + timedelta(days=1)))
    fetched = await get_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    assert fetched.quote.state is QuoteState.ACCEPTED
    assert await history(session, quoted.quote) == [
        CREATED,
        changed(QuoteState.ACKNOWLEDGED, QuoteState.APPROVED_ORDERABLE),
        changed(QuoteState.APPROVED_ORDERABLE, QuoteState.ACCEPTED),
    ]


async def test_only_a_firm_answered_quote_can_be_ordered(
    session: AsyncSession, developer: Caller
) -> None:
    budgetary = await quote_for(session, developer, QuoteKind.BUDGETARY)
    unanswered = await quote_for(session, developer, QuoteKind.FIRM, answer_now=False)
    for quoted in (budgetary, unanswered):
        with pytest.raises(IllegalTransition) as caught:
            await take_for_order(session, principal=developer.principal, quote_id=quoted.quote.id)
        assert (caught.value.code, caught.value.field) == ("ILLEGAL_TRANSITION", "quote")
    await session.commit()
    states = {q.id: q.state for q in await list_quotes(session, principal=developer.principal)}
    assert states == {
        budgetary.quote.id: QuoteState.ANSWERED,
        unanswered.quote.id: QuoteState.ACKNOWLEDGED,
    }


async def test_another_party_s_quote_is_not_found(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    answered = await quote_for(session, developer, QuoteKind.FIRM)
    pending = await quote_for(session, developer, answer_now=False)
    stranger = other_developer.principal
    for quote_id in (answered.quote.id, pending.quote.id, "quo_missing"):
        for action in (get_quote, cancel_quote, decline_quote, take_for_order):
            with pytest.raises(NotFound) as caught:
                await action(session, principal=stranger, quote_id=quote_id)
            assert f"no quote '{quote_id}'" in caught.value.message
    assert await list_quotes(session, principal=stranger) == []
    # Nothing changed for the owner.
    states = {q.id: q.state for q in await list_quotes(session, principal=developer.principal)}
    assert states == {
        answered.quote.id: QuoteState.APPROVED_ORDERABLE,
        pending.quote.id: QuoteState.ACKNOWLEDGED,
    }
    seen = await get_quote(session, principal=ops.principal, quote_id=answered.quote.id)
    assert seen.quote.party_id == developer.party_id


async def test_list_quotes_newest_first_and_by_state(
    session: AsyncSession, developer: Caller
) -> None:
    first = await quote_for(session, developer, QuoteKind.BUDGETARY)
    clock.set_clock(frozen(NOW + timedelta(minutes=5)))
    second = await quote_for(session, developer, QuoteKind.FIRM)
    clock.set_clock(frozen(NOW + timedelta(minutes=10)))
    third = await quote_for(session, developer, answer_now=False)
    listed = await list_quotes(session, principal=developer.principal)
    assert [q.id for q in listed] == [third.quote.id, second.quote.id, first.quote.id]
    answered = await list_quotes(session, principal=developer.principal, state=QuoteState.ANSWERED)
    assert [q.id for q in answered] == [first.quote.id]
    page = await list_quotes(session, principal=developer.principal, offset=1, limit=1)
    assert [q.id for q in page] == [second.quote.id]


async def test_an_invalid_item_is_refused_by_its_index_and_nothing_is_stored(
    session: AsyncSession, developer: Caller
) -> None:
    good = await line_spec(session)
    with pytest.raises(InvalidRequest) as caught:
        await quote_for(session, developer, specs=[good, replace(good, bandwidth_mbps=300)])
    assert (caught.value.field, caught.value.code) == (
        "items[1].bandwidth_mbps",
        "UNSUPPORTED_BANDWIDTH",
    )
    assert caught.value.details == {"alternatives_mbps": [200, 500]}
    with pytest.raises(InvalidRequest) as empty:
        await request_quote(
            session,
            principal=developer.principal,
            specs=[],
            kind=QuoteKind.FIRM,
            channel=Channel.GRAPHQL,
        )
    assert empty.value.field == "items"
    assert await list_quotes(session, principal=developer.principal) == []
    assert (await session.exec(select(Event))).all() == []


async def test_a_quote_may_follow_the_caller_s_qualification(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    spec = await line_spec(session, CHICAGO, NEW_YORK)
    qualification, _ = await qualify(
        session, principal=developer.principal, specs=[spec], channel=Channel.GRAPHQL
    )
    quoted = await request_quote(
        session,
        principal=developer.principal,
        specs=[spec],
        kind=QuoteKind.FIRM,
        channel=Channel.TMF,
        qualification_id=qualification.id,
        external_id="RFQ-7",
        description="Chicago to New York",
    )
    assert quoted.quote.qualification_id == qualification.id
    assert (quoted.quote.channel, quoted.quote.external_id) == (Channel.TMF, "RFQ-7")
    for foreign in (qualification.id, "poq_missing"):
        with pytest.raises(NotFound) as caught:
            await request_quote(
                session,
                principal=other_developer.principal,
                specs=[spec],
                kind=QuoteKind.FIRM,
                channel=Channel.GRAPHQL,
                qualification_id=foreign,
            )
        assert caught.value.field == "qualification"
    assert await list_quotes(session, principal=other_developer.principal) == []


async def item_events(
    session: AsyncSession, quote: Quote
) -> list[tuple[str | None, dict[str, object]]]:
    """The state changes of a quote's items, oldest first, with their data."""
    events = (
        await session.exec(
            select(Event).where(Event.entity == "quote_item").order_by(col(Event.seq))
        )
    ).all()
    return [(e.state, e.data) for e in events if e.data.get("quote_id") == quote.id]


async def test_items_keep_what_the_buyer_sent_and_record_their_state_changes(
    session: AsyncSession, developer: Caller
) -> None:
    quoted = await request_quote(
        session,
        principal=developer.principal,
        specs=[await line_spec(session)],
        kind=QuoteKind.FIRM,
        channel=Channel.SONATA,
        answer_now=False,
        requested_completion_at=NOW + timedelta(days=1),
        annotations={"projectId": "p"},
        details=[ItemDetails(external_id="01", configuration={"@type": "x"}, annotations={"n": 1})],
    )
    (item,) = quoted.items
    assert (item.external_id, item.configuration, item.annotations) == (
        "01",
        {"@type": "x"},
        {"n": 1},
    )
    assert quoted.quote.annotations == {"projectId": "p"}
    assert quoted.quote.requested_completion_at == NOW + timedelta(days=1)
    assert await item_events(session, quoted.quote) == []
    await cancel_quote(
        session, principal=developer.principal, quote_id=quoted.quote.id, reason="changed plans"
    )
    data = {"quote_id": quoted.quote.id, "position": 1, "external_id": "01"}
    assert await item_events(session, quoted.quote) == [(QuoteItemState.ABANDONED, data)]
    reasons = (
        await session.exec(
            select(Event).where(Event.entity_id == quoted.quote.id, Event.state == "cancelled")
        )
    ).all()
    assert [e.data for e in reasons] == [{"reason": "changed plans"}]

    answered = await quote_for(session, developer, QuoteKind.BUDGETARY)
    assert [s for s, _ in await item_events(session, answered.quote)] == [QuoteItemState.ANSWERED]
    await decline_quote(
        session, principal=developer.principal, quote_id=answered.quote.id, reason="too dear"
    )
    declined = (
        await session.exec(
            select(Event).where(Event.entity_id == answered.quote.id, Event.state == "declined")
        )
    ).one()
    assert declined.data == {"reason": "too dear"}


async def test_quotes_are_filtered_by_what_the_buyer_sent_and_when(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    spec = await line_spec(session)
    tagged = await request_quote(
        session,
        principal=developer.principal,
        specs=[spec],
        kind=QuoteKind.BUDGETARY,
        channel=Channel.SONATA,
        external_id="RFQ-1",
        answer_now=False,
        requested_completion_at=NOW + timedelta(days=5),
        annotations={"projectId": "rollout"},
    )
    clock.set_clock(frozen(NOW + timedelta(hours=1)))
    plain = await quote_for(session, developer, QuoteKind.FIRM)
    await quote_for(session, other_developer, QuoteKind.BUDGETARY)

    async def found(**filters: object) -> list[str]:
        statement = quotes_query(principal=developer.principal, **filters)  # type: ignore[arg-type]
        return [q.id for q in (await session.exec(statement)).all()]

    both = [plain.quote.id, tagged.quote.id]
    assert await found() == both
    assert await found(kind=QuoteKind.FIRM) == [plain.quote.id]
    assert await found(external_id="RFQ-1") == [tagged.quote.id]
    assert await found(annotations={"projectId": "rollout"}) == [tagged.quote.id]
    assert await found(states=[QuoteState.ACKNOWLEDGED]) == [tagged.quote.id]
    assert await found(states=[]) == []
    assert await found(created_after=NOW) == [plain.quote.id]
    assert await found(created_before=NOW + timedelta(minutes=1)) == [tagged.quote.id]
    assert await found(requested_after=NOW + timedelta(days=4)) == [tagged.quote.id]
    assert await found(requested_before=NOW + timedelta(days=4)) == []
    assert await found(answered_after=NOW) == [plain.quote.id]
    assert await found(answered_before=NOW + timedelta(hours=1)) == []


async def test_the_buyer_restates_an_open_or_answered_quote_but_not_a_closed_one(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    quoted = await quote_for(session, developer)
    wanted = NOW + timedelta(days=9)
    updated = await update_quote(
        session,
        principal=developer.principal,
        quote_id=quoted.quote.id,
        description="two sites",
        external_id="PO-1",
        requested_completion_at=wanted,
        annotations={"note": [{"text": "call first"}]},
    )
    assert (updated.quote.description, updated.quote.external_id) == ("two sites", "PO-1")
    assert updated.quote.requested_completion_at == wanted
    assert updated.quote.annotations == {"note": [{"text": "call first"}]}
    assert (await history(session, quoted.quote))[-1] == (EventKind.ATTRIBUTE_CHANGED, None, None)
    with pytest.raises(InvalidRequest):
        await update_quote(
            session, principal=developer.principal, quote_id=quoted.quote.id, external_id="x" * 201
        )
    with pytest.raises(NotFound):
        await update_quote(
            session, principal=other_developer.principal, quote_id=quoted.quote.id, description="x"
        )
    await decline_quote(session, principal=developer.principal, quote_id=quoted.quote.id)
    with pytest.raises(IllegalTransition):
        await update_quote(
            session, principal=developer.principal, quote_id=quoted.quote.id, description="y"
        )


async def test_a_quote_the_seller_cannot_price_is_rejected_at_once_and_can_be_removed(
    session: AsyncSession, carrier: Caller
) -> None:
    made = await reject(
        session,
        principal=carrier.principal,
        kind=QuoteKind.FIRM,
        channel=Channel.TMF,
        reason="item 1 lacks an offering",
        asked=["1"],
    )
    quote = made.quote
    quote_id = quote.id
    assert (quote.state, quote.state_reason, made.items) == (
        QuoteState.REJECTED,
        "item 1 lacks an offering",
        [],
    )
    assert (quote.monthly_cents, quote.one_time_cents, quote.answered_at) == (0, 0, None)
    assert asked_items(quote) == ["1"]
    states = [
        (e.kind, e.state)
        for e in (await session.exec(select(Event).where(Event.entity_id == quote.id))).all()
    ]
    assert states == [
        (EventKind.CREATED, QuoteState.ACKNOWLEDGED),
        (EventKind.STATE_CHANGED, QuoteState.REJECTED),
    ]
    # Its buyer's words still change; it cannot be ordered; it can be removed.
    changed = await update_quote(
        session, principal=carrier.principal, quote_id=quote.id, description="retry"
    )
    assert changed.quote.description == "retry"
    with pytest.raises(IllegalTransition):
        await take_for_order(session, principal=carrier.principal, quote_id=quote_id)
    await session.rollback()
    answered = await quote_for(session, carrier)
    assert not await delete_rejected(
        session, principal=carrier.principal, quote_id=answered.quote.id
    )
    assert await delete_rejected(session, principal=carrier.principal, quote_id=quote_id)
    with pytest.raises(NotFound):
        await get_quote(session, principal=carrier.principal, quote_id=quote_id)
