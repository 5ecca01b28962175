"""Quotes: budgetary and firm prices with a validity period, and their lifecycle."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String, and_, case, cast, exists, func, literal, or_, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import clock, events
from app.core.catalog import ClassOfService, ProductSpec
from app.core.db import StrEnumType, UTCDateTime, commit, new_id, version_column
from app.core.errors import CoreError, IllegalTransition, InvalidRequest
from app.core.events import Channel, EntityKind, EventKind
from app.core.kept import Keeper, document_field, register_document
from app.core.paging import (
    Condition,
    Page,
    Within,
    compared,
    either_column,
    fetch_page,
    via,
    where,
)
from app.core.parties import Principal, children_scoped, get_scoped, resolve_buyer, scoped
from app.core.qualification import (
    Confidence,
    ItemDetails,
    Qualification,
    annotated,
    assess,
    check_item_count,
    item_details,
)

QUOTE_VALID_DAYS = 30


class QuoteKind(StrEnum):
    """A budgetary quote is indicative; a firm quote can be ordered against."""

    BUDGETARY = "budgetary"
    FIRM = "firm"


class QuoteState(StrEnum):
    """Lifecycle of a quote."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    IN_PROGRESS_DRAFT = "in_progress_draft"
    ANSWERED = "answered"
    APPROVED_ORDERABLE = "approved_orderable"
    APPROVED_ORDERABLE_ALTERNATE = "approved_orderable_alternate"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    UNABLE_TO_PROVIDE = "unable_to_provide"


class QuoteItemState(StrEnum):
    """Lifecycle of one item of a quote."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    APPROVED_ORDERABLE = "approved_orderable"
    APPROVED_ORDERABLE_ALTERNATE = "approved_orderable_alternate"
    ABANDONED = "abandoned"
    REJECTED = "rejected"
    UNABLE_TO_PROVIDE = "unable_to_provide"


OPEN_STATES = {QuoteState.ACKNOWLEDGED, QuoteState.IN_PROGRESS, QuoteState.IN_PROGRESS_DRAFT}
ANSWERED_STATES = {
    QuoteState.ANSWERED,
    QuoteState.APPROVED_ORDERABLE,
    QuoteState.APPROVED_ORDERABLE_ALTERNATE,
}
ORDERABLE_STATES = {QuoteState.APPROVED_ORDERABLE, QuoteState.APPROVED_ORDERABLE_ALTERNATE}


_QUOTE_VERSION = version_column()


class Quote(SQLModel, table=True):
    """A seller's priced answer to a buyer's request."""

    id: str = Field(default_factory=lambda: new_id("quo"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    channel: Channel = Field(sa_type=StrEnumType(Channel, 12))
    kind: QuoteKind = Field(sa_type=StrEnumType(QuoteKind, 12))
    state: QuoteState = Field(sa_type=StrEnumType(QuoteState, 32), index=True)
    external_id: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    # The buyer's project the request belongs to; buyers list their requests by it.
    project_id: str | None = Field(default=None, max_length=200, index=True)
    qualification_id: str | None = Field(
        default=None, foreign_key="qualification.id", max_length=40
    )
    monthly_cents: int = 0
    one_time_cents: int = 0
    currency: str = Field(default="USD", max_length=3)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    requested_completion_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why the seller put the quote in its state, e.g. what a rejected quote lacked.
    state_reason: str | None = Field(default=None, max_length=1000)
    # What the buyer sent that the core does not interpret (contacts, notes, project ids), kept
    # as given so that the face it came through can return it.
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    version: int = Field(default=1, sa_column=_QUOTE_VERSION)

    __mapper_args__ = {"version_id_col": _QUOTE_VERSION}


class QuoteItem(SQLModel, table=True):
    """One priced product of a quote."""

    id: str = Field(default_factory=lambda: new_id("quoi"), primary_key=True, max_length=40)
    quote_id: str = Field(foreign_key="quote.id", index=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    position: int
    state: QuoteItemState = Field(sa_type=StrEnumType(QuoteItemState, 32))
    offering_id: str = Field(foreign_key="offering.id", max_length=40)
    a_location_id: str = Field(foreign_key="location.id", max_length=40)
    z_location_id: str | None = Field(default=None, foreign_key="location.id", max_length=40)
    bandwidth_mbps: int
    term_months: int
    class_of_service: str = Field(max_length=20)
    confidence: Confidence = Field(sa_type=StrEnumType(Confidence, 8))
    lead_time_days: int
    monthly_cents: int
    one_time_cents: int
    external_id: str | None = Field(default=None, max_length=200)
    # The buyer's own description of the product, kept as given for the order that follows.
    configuration: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)

    def spec(self) -> ProductSpec:
        """The product this item prices."""
        return ProductSpec(
            offering_id=self.offering_id,
            a_location_id=self.a_location_id,
            z_location_id=self.z_location_id,
            bandwidth_mbps=self.bandwidth_mbps,
            term_months=self.term_months,
            class_of_service=ClassOfService(self.class_of_service),
        )


@dataclass
class QuoteWithItems:
    """A quote and its items, in item order."""

    quote: Quote
    items: list[QuoteItem]


def _set_state(
    quote: Quote, state: QuoteState, session: AsyncSession, *, reason: str | None = None
) -> None:
    previous = quote.state
    quote.state = state
    quote.updated_at = clock.now()
    session.add(quote)
    events.record(
        session,
        party_id=quote.party_id,
        entity=EntityKind.QUOTE,
        entity_id=quote.id,
        kind=EventKind.STATE_CHANGED,
        state=state,
        previous_state=previous,
        channel=quote.channel,
        data={"reason": reason} if reason else None,
    )


def _set_item_state(
    session: AsyncSession, quote: Quote, item: QuoteItem, state: QuoteItemState
) -> None:
    previous = item.state
    item.state = state
    session.add(item)
    events.record(
        session,
        party_id=item.party_id,
        entity=EntityKind.QUOTE_ITEM,
        entity_id=item.id,
        kind=EventKind.STATE_CHANGED,
        state=state,
        previous_state=previous,
        channel=quote.channel,
        data={"quote_id": quote.id, "position": item.position, "external_id": item.external_id},
    )


async def request_quote(
    session: AsyncSession,
    *,
    principal: Principal,
    specs: list[ProductSpec],
    kind: QuoteKind,
    channel: Channel,
    buyer_party_id: str | None = None,
    external_id: str | None = None,
    description: str | None = None,
    answer_now: bool = True,
    qualification_id: str | None = None,
    requested_completion_at: datetime | None = None,
    project_id: str | None = None,
    annotations: dict[str, Any] | None = None,
    details: list[ItemDetails] | None = None,
) -> QuoteWithItems:
    """Price products for the caller. With `answer_now` the quote is answered in this call;
    otherwise it stays acknowledged until `answer_pending` runs. `details` (one per spec) and
    `annotations` are kept as given."""
    if not specs:
        raise InvalidRequest("a quote needs at least one item", field="items")
    check_item_count(len(specs))
    kept = item_details(details, len(specs))
    party_id = await resolve_buyer(session, principal, buyer_party_id)
    if qualification_id is not None:
        # Another party's qualification is not found, like a missing one (not a foreign-key error).
        await get_scoped(
            session,
            Qualification,
            qualification_id,
            principal,
            what="qualification",
            field_name="qualification",
        )
    assessments = []
    for index, spec in enumerate(specs):
        try:
            assessments.append(await assess(session, spec))
        except CoreError as exc:
            exc.field = f"items[{index}].{exc.field}" if exc.field else f"items[{index}]"
            raise
    quote = Quote(
        party_id=party_id,
        channel=channel,
        kind=kind,
        external_id=external_id,
        description=description,
        project_id=project_id,
        state=QuoteState.ACKNOWLEDGED,
        qualification_id=qualification_id,
        requested_completion_at=requested_completion_at,
        annotations=annotations or {},
    )
    session.add(quote)
    await session.flush()
    items = [
        QuoteItem(
            quote_id=quote.id,
            party_id=party_id,
            position=i + 1,
            state=QuoteItemState.ACKNOWLEDGED,
            offering_id=a.spec.offering_id,
            a_location_id=a.spec.a_location_id,
            z_location_id=a.spec.z_location_id,
            bandwidth_mbps=a.spec.bandwidth_mbps,
            term_months=a.spec.term_months,
            class_of_service=a.spec.class_of_service,
            confidence=a.confidence,
            lead_time_days=a.lead_time_days,
            monthly_cents=a.price.monthly_cents if a.price else 0,
            one_time_cents=a.price.one_time_cents if a.price else 0,
            external_id=kept[i].external_id,
            configuration=kept[i].configuration or {},
            annotations=kept[i].annotations or {},
        )
        for i, a in enumerate(assessments)
    ]
    session.add_all(items)
    events.record(
        session,
        party_id=party_id,
        entity=EntityKind.QUOTE,
        entity_id=quote.id,
        kind=EventKind.CREATED,
        state=quote.state,
        channel=channel,
    )
    if answer_now:
        _answer(session, quote, items)
    await commit(session)
    return QuoteWithItems(quote, items)


# The buyer's ids of the items of a rejected quote, which has no core items.
_ASKED = "asked_items"


def asked_items(quote: Quote) -> list[str]:
    """The buyer's ids of the items a quote without core items was asked for."""
    return [str(i) for i in quote.annotations.get(_ASKED, [])]


async def reject(
    session: AsyncSession,
    *,
    principal: Principal,
    kind: QuoteKind,
    channel: Channel,
    reason: str,
    asked: list[str],
    external_id: str | None = None,
    description: str | None = None,
    requested_completion_at: datetime | None = None,
    annotations: dict[str, Any] | None = None,
) -> QuoteWithItems:
    """Record a quote the seller cannot price (its items lack what the core needs):
    acknowledged, then rejected with `reason`, with no items and no price; `asked` (the buyer's
    item ids) is kept, see `asked_items`."""
    party_id = await resolve_buyer(session, principal, None)
    quote = Quote(
        party_id=party_id,
        channel=channel,
        kind=kind,
        external_id=external_id,
        description=description,
        state=QuoteState.ACKNOWLEDGED,
        requested_completion_at=requested_completion_at,
        annotations=(annotations or {}) | {_ASKED: asked},
    )
    session.add(quote)
    await session.flush()
    events.record(
        session,
        party_id=party_id,
        entity=EntityKind.QUOTE,
        entity_id=quote.id,
        kind=EventKind.CREATED,
        state=quote.state,
        channel=channel,
    )
    quote.state_reason = reason[:1000]
    _set_state(quote, QuoteState.REJECTED, session, reason=quote.state_reason)
    await commit(session)
    return QuoteWithItems(quote, [])


def _answer(session: AsyncSession, quote: Quote, items: list[QuoteItem]) -> None:
    now = clock.now()
    for item in items:
        if item.confidence is Confidence.RED:
            _set_item_state(session, quote, item, QuoteItemState.UNABLE_TO_PROVIDE)
        elif quote.kind is QuoteKind.FIRM:
            _set_item_state(session, quote, item, QuoteItemState.APPROVED_ORDERABLE)
        else:
            _set_item_state(session, quote, item, QuoteItemState.ANSWERED)
    priced = [i for i in items if i.state is not QuoteItemState.UNABLE_TO_PROVIDE]
    quote.monthly_cents = sum(i.monthly_cents for i in priced)
    quote.one_time_cents = sum(i.one_time_cents for i in priced)
    quote.answered_at = now
    quote.valid_until = now + timedelta(days=QUOTE_VALID_DAYS)
    if not priced:
        _set_state(quote, QuoteState.UNABLE_TO_PROVIDE, session)
    elif quote.kind is QuoteKind.FIRM:
        _set_state(quote, QuoteState.APPROVED_ORDERABLE, session)
    else:
        _set_state(quote, QuoteState.ANSWERED, session)


async def answer_pending(session: AsyncSession, *, older_than: timedelta = timedelta(0)) -> int:
    """Answer quotes left acknowledged for at least `older_than` (the seller's back office)."""
    cutoff = clock.now() - older_than
    pending = (
        await session.exec(
            select(Quote)
            .where(col(Quote.state).in_(sorted(OPEN_STATES)), col(Quote.created_at) <= cutoff)
            .order_by(col(Quote.created_at))
            # Quotes another process is answering are left to it.
            .with_for_update(skip_locked=True)
        )
    ).all()
    for quote in pending:
        items = await _items(session, quote)
        _answer(session, quote, items)
    await commit(session)
    return len(pending)


async def _items(session: AsyncSession, quote: Quote) -> list[QuoteItem]:
    found = await session.exec(
        select(QuoteItem).where(QuoteItem.quote_id == quote.id).order_by(col(QuoteItem.position))
    )
    return list(found.all())


async def get_quote(
    session: AsyncSession, *, principal: Principal, quote_id: str
) -> QuoteWithItems:
    """One of the caller's quotes with its items; an expired validity shows as `expired`."""
    quote = await get_scoped(session, Quote, quote_id, principal, what="quote")
    await _expire_if_due(session, quote)
    return QuoteWithItems(quote, await _items(session, quote))


async def _expire_if_due(session: AsyncSession, quote: Quote) -> None:
    if (
        quote.state in ANSWERED_STATES
        and quote.valid_until is not None
        and quote.valid_until <= clock.now()
    ):
        _set_state(quote, QuoteState.EXPIRED, session)
        await commit(session)


def quotes_query(
    *,
    principal: Principal,
    state: QuoteState | None = None,
    states: Collection[QuoteState] | None = None,
    kind: QuoteKind | None = None,
    external_id: str | None = None,
    project_id: str | None = None,
    annotations: dict[str, str] | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    requested_after: datetime | None = None,
    requested_before: datetime | None = None,
    answered_after: datetime | None = None,
    answered_before: datetime | None = None,
) -> SelectOfScalar[Quote]:
    """The caller's quotes, newest first, filtered, as a statement to page through."""
    statement = scoped(Quote, principal)
    if state is not None:
        statement = statement.where(Quote.state == state)
    if states is not None:
        statement = statement.where(col(Quote.state).in_(sorted(states)))
    if kind is not None:
        statement = statement.where(Quote.kind == kind)
    if external_id is not None:
        statement = statement.where(Quote.external_id == external_id)
    if project_id is not None:
        statement = statement.where(Quote.project_id == project_id)
    matching = annotated(Quote.annotations, annotations)
    if matching is not None:
        statement = statement.where(matching)
    for column, after, before in (
        (col(Quote.created_at), created_after, created_before),
        (col(Quote.requested_completion_at), requested_after, requested_before),
        (col(Quote.answered_at), answered_after, answered_before),
    ):
        if after is not None:
            statement = statement.where(column > after)
        if before is not None:
            statement = statement.where(column < before)
    return statement.order_by(col(Quote.created_at).desc(), col(Quote.id))


class QuoteField(StrEnum):
    """The fields of a quote that a list may be narrowed by."""

    ID = "id"
    STATE = "state"
    KIND = "kind"
    CHANNEL = "channel"
    EXTERNAL_ID = "external_id"
    DESCRIPTION = "description"
    QUALIFICATION = "qualification"
    VERSION = "version"
    CREATED_AT = "created_at"
    ANSWERED_AT = "answered_at"
    VALID_UNTIL = "valid_until"
    REQUESTED_COMPLETION_AT = "requested_completion_at"
    PARTY = "party"
    # What the buyer sent that the core keeps as given (a condition names a path in it).
    ANNOTATIONS = "annotations"
    # The same, of any item.
    ITEM_ANNOTATIONS = "item_annotations"
    # Those with an item of this offering.
    ITEM_OFFERING_ID = "item_offering_id"
    # Those with an item of which this matches.
    ITEM_BANDWIDTH_MBPS = "item_bandwidth_mbps"
    ITEM_TERM_MONTHS = "item_term_months"
    ITEM_CLASS_OF_SERVICE = "item_class_of_service"
    # The state of any item: of a quote that took none, the items asked for were rejected.
    ITEM_STATE = "item_state"
    # Whether it was answered (priced), and its total prices and currency once it was.
    ANSWERED = "answered"
    ANSWERED_MONTHLY_CENTS = "answered_monthly_cents"
    ANSWERED_ONE_TIME_CENTS = "answered_one_time_cents"
    ANSWERED_CURRENCY = "answered_currency"
    # The buyer's id of any item (the position of one it gave none; of a quote that took none,
    # the ids of the items asked for).
    ITEM_ID = "item_id"
    # Those with an item at this location (either end), or that joins two ends.
    ITEM_PLACE_ID = "item_place_id"
    ITEM_TWO_ENDS = "item_two_ends"
    # Whether it took items (a quote rejected at once took none).
    TOOK_ITEMS = "took_items"
    # Whether the seller said why the quote is in its state, what it said, and when.
    REASON_GIVEN = "reason_given"
    STATE_REASON = "state_reason"
    REASON_AT = "reason_at"
    # Whether an item of it is priced (answered and deliverable), and the prices and currency
    # of such items.
    ITEM_PRICED = "item_priced"
    ITEM_MONTHLY_CENTS = "item_monthly_cents"
    ITEM_ONE_TIME_CENTS = "item_one_time_cents"
    ITEM_CURRENCY = "item_currency"


register_document(Quote, Keeper.QUOTE, "annotations")
register_document(QuoteItem, Keeper.QUOTE_ITEM, "annotations")
_ANSWERED = col(Quote.answered_at).is_not(None)
_ITEM_STATE = via(Quote.id, QuoteItem.quote_id, QuoteItem.state)


_TOOK_ITEMS = exists().where(col(QuoteItem.quote_id) == col(Quote.id))
_KEPT = document_field(Keeper.QUOTE, Quote.id)


def _item_state(condition: Condition[Any]) -> ColumnElement[bool]:
    """Whether an item of the quote is in the condition's state (rejected, if it took none)."""
    rejected = type_coerce(literal(QuoteItemState.REJECTED.value), StrEnumType(QuoteItemState))
    found: ColumnElement[bool] = or_(
        _ITEM_STATE.clause(condition), and_(~_TOOK_ITEMS, compared(rejected, condition))
    )
    return found


_ITEM_ID = via(
    Quote.id,
    QuoteItem.quote_id,
    # As the faces show it: the buyer's own, else its position.
    func.coalesce(
        func.nullif(col(QuoteItem.external_id), ""), cast(col(QuoteItem.position), String)
    ),
)


def _item_id(condition: Condition[Any]) -> ColumnElement[bool]:
    """Whether an item of the quote has the condition's id (of one that took none, whether an
    item of that id was asked for)."""
    asked = Condition(condition.field, condition.operator, condition.values, (_ASKED,))
    found: ColumnElement[bool] = or_(
        _ITEM_ID.clause(condition), and_(~_TOOK_ITEMS, _KEPT.clause(asked))
    )
    return found


# An item is priced once the quote is answered, unless it cannot be delivered.
_PRICED = col(QuoteItem.state) != QuoteItemState.UNABLE_TO_PROVIDE
_ITEM_PRICED = and_(_ANSWERED, exists().where(col(QuoteItem.quote_id) == col(Quote.id), _PRICED))


def _priced(column: Any) -> Within:
    """A column of the priced items of an answered quote."""
    priced = via(Quote.id, QuoteItem.quote_id, column, only=_PRICED)
    return Within(lambda condition: and_(_ANSWERED, priced.clause(condition)))


_REASON_GIVEN = and_(col(Quote.state_reason).is_not(None), col(Quote.state_reason) != "")


QUOTE_COLUMNS: dict[QuoteField, Any] = {
    QuoteField.ID: col(Quote.id),
    QuoteField.STATE: col(Quote.state),
    QuoteField.KIND: col(Quote.kind),
    QuoteField.CHANNEL: col(Quote.channel),
    QuoteField.EXTERNAL_ID: col(Quote.external_id),
    QuoteField.DESCRIPTION: col(Quote.description),
    QuoteField.QUALIFICATION: col(Quote.qualification_id),
    QuoteField.VERSION: col(Quote.version),
    QuoteField.CREATED_AT: col(Quote.created_at),
    QuoteField.ANSWERED_AT: col(Quote.answered_at),
    QuoteField.VALID_UNTIL: col(Quote.valid_until),
    QuoteField.REQUESTED_COMPLETION_AT: col(Quote.requested_completion_at),
    QuoteField.PARTY: col(Quote.party_id),
    QuoteField.ANNOTATIONS: _KEPT,
    QuoteField.ITEM_OFFERING_ID: via(Quote.id, QuoteItem.quote_id, QuoteItem.offering_id),
    QuoteField.ITEM_BANDWIDTH_MBPS: via(Quote.id, QuoteItem.quote_id, QuoteItem.bandwidth_mbps),
    QuoteField.ITEM_TERM_MONTHS: via(Quote.id, QuoteItem.quote_id, QuoteItem.term_months),
    QuoteField.ITEM_CLASS_OF_SERVICE: via(Quote.id, QuoteItem.quote_id, QuoteItem.class_of_service),
    QuoteField.ITEM_ANNOTATIONS: via(
        Quote.id, QuoteItem.quote_id, document_field(Keeper.QUOTE_ITEM, QuoteItem.id)
    ),
    QuoteField.ITEM_STATE: Within(_item_state),
    QuoteField.ANSWERED: _ANSWERED,
    QuoteField.ANSWERED_MONTHLY_CENTS: case((_ANSWERED, col(Quote.monthly_cents))),
    QuoteField.ANSWERED_ONE_TIME_CENTS: case((_ANSWERED, col(Quote.one_time_cents))),
    QuoteField.ANSWERED_CURRENCY: case((_ANSWERED, col(Quote.currency))),
    QuoteField.ITEM_ID: Within(_item_id),
    QuoteField.ITEM_PLACE_ID: via(
        Quote.id,
        QuoteItem.quote_id,
        either_column(col(QuoteItem.a_location_id), col(QuoteItem.z_location_id)),
    ),
    QuoteField.ITEM_TWO_ENDS: via(
        Quote.id, QuoteItem.quote_id, col(QuoteItem.z_location_id).is_not(None)
    ),
    QuoteField.TOOK_ITEMS: _TOOK_ITEMS,
    QuoteField.REASON_GIVEN: _REASON_GIVEN,
    QuoteField.STATE_REASON: col(Quote.state_reason),
    QuoteField.REASON_AT: case((_REASON_GIVEN, col(Quote.updated_at))),
    QuoteField.ITEM_PRICED: _ITEM_PRICED,
    QuoteField.ITEM_MONTHLY_CENTS: _priced(col(QuoteItem.monthly_cents)),
    QuoteField.ITEM_ONE_TIME_CENTS: _priced(col(QuoteItem.one_time_cents)),
    QuoteField.ITEM_CURRENCY: case((_ITEM_PRICED, col(Quote.currency))),
}


async def find_quotes(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: Sequence[Condition[QuoteField]] = (),
    offset: int = 0,
    limit: int = 100,
) -> Page[QuoteWithItems]:
    """One page of the caller's quotes that meet every condition, newest first, with their
    items and the count of all that meet them."""
    statement = quotes_query(principal=principal).where(*where(QUOTE_COLUMNS, conditions))
    page = await fetch_page(session, statement, offset=offset, limit=limit)
    items = await children_scoped(
        session, QuoteItem, "quote_id", [q.id for q in page.items], principal, order_by="position"
    )
    return Page([QuoteWithItems(q, items[q.id]) for q in page.items], page.total, page.offset)


async def list_quotes(
    session: AsyncSession,
    *,
    principal: Principal,
    state: QuoteState | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[Quote]:
    """The caller's quotes, newest first."""
    statement = quotes_query(principal=principal, state=state)
    return list((await session.exec(statement.offset(offset).limit(limit))).all())


# States after which a quote is a closed record that nothing changes any more.
FINAL_STATES = {
    QuoteState.ACCEPTED,
    QuoteState.DECLINED,
    QuoteState.CANCELLED,
    QuoteState.EXPIRED,
    QuoteState.REJECTED,
    QuoteState.UNABLE_TO_PROVIDE,
}
MAX_DESCRIPTION = 1000
MAX_EXTERNAL_ID = 200


async def update_quote(
    session: AsyncSession,
    *,
    principal: Principal,
    quote_id: str,
    description: str | None = None,
    external_id: str | None = None,
    requested_completion_at: datetime | None = None,
    annotations: dict[str, Any] | None = None,
) -> QuoteWithItems:
    """Change what the buyer said about a quote that is still open or answered (or that the
    seller rejected at once, see `reject`): its description, its own reference, when it wants
    the answer, and what is kept as given."""
    quote = await get_scoped(session, Quote, quote_id, principal, what="quote")
    await _expire_if_due(session, quote)
    if quote.state in FINAL_STATES and not _rejected_at_once(quote):
        raise IllegalTransition(
            f"a quote in state '{quote.state}' can no longer change", field="state"
        )
    for name, text, limit in (
        ("description", description, MAX_DESCRIPTION),
        ("external_id", external_id, MAX_EXTERNAL_ID),
    ):
        if text is not None and len(text) > limit:
            raise InvalidRequest(f"at most {limit} characters", field=name)
    changed = []
    for name, value in (
        ("description", description),
        ("external_id", external_id),
        ("requested_completion_at", requested_completion_at),
    ):
        if value is not None and getattr(quote, name) != value:
            setattr(quote, name, value)
            changed.append(name)
    changed += [k for k, v in (annotations or {}).items() if quote.annotations.get(k) != v]
    if annotations:
        # A new dict, so that the JSON column is seen to change.
        quote.annotations = {**quote.annotations, **annotations}
    if changed:
        quote.updated_at = clock.now()
        session.add(quote)
        events.record(
            session,
            party_id=quote.party_id,
            entity=EntityKind.QUOTE,
            entity_id=quote.id,
            kind=EventKind.ATTRIBUTE_CHANGED,
            # No state: the quote's state history (MEF `stateChange`) lists state changes only.
            channel=quote.channel,
            data={"changed": changed},
        )
        await commit(session)
    return await get_quote(session, principal=principal, quote_id=quote.id)


def _rejected_at_once(quote: Quote) -> bool:
    return quote.state is QuoteState.REJECTED and quote.state_reason is not None


async def delete_rejected(session: AsyncSession, *, principal: Principal, quote_id: str) -> bool:
    """Remove a quote of the caller's that the seller rejected at once (it has no items, no
    price, and nothing refers to it); False, and nothing changes, for any other quote."""
    quote = await get_scoped(session, Quote, quote_id, principal, what="quote")
    if not _rejected_at_once(quote) or await _items(session, quote):
        return False
    await session.delete(quote)
    events.record(
        session,
        party_id=quote.party_id,
        entity=EntityKind.QUOTE,
        entity_id=quote.id,
        kind=EventKind.DELETED,
        channel=quote.channel,
    )
    await commit(session)
    return True


async def cancel_quote(
    session: AsyncSession, *, principal: Principal, quote_id: str, reason: str | None = None
) -> Quote:
    """The buyer withdraws a quote request that has not been answered yet."""
    quote = await get_scoped(session, Quote, quote_id, principal, what="quote")
    if quote.state not in OPEN_STATES:
        raise IllegalTransition(
            f"a quote in state '{quote.state}' can no longer be cancelled", field="state"
        )
    items = await _items(session, quote)
    for item in items:
        _set_item_state(session, quote, item, QuoteItemState.ABANDONED)
    _set_state(quote, QuoteState.CANCELLED, session, reason=reason)
    await commit(session)
    return quote


async def decline_quote(
    session: AsyncSession, *, principal: Principal, quote_id: str, reason: str | None = None
) -> Quote:
    """The buyer turns down an answered quote."""
    quote = await get_scoped(session, Quote, quote_id, principal, what="quote")
    await _expire_if_due(session, quote)
    if quote.state not in ANSWERED_STATES:
        raise IllegalTransition(
            f"a quote in state '{quote.state}' cannot be declined", field="state"
        )
    _set_state(quote, QuoteState.DECLINED, session, reason=reason)
    await commit(session)
    return quote


async def take_for_order(
    session: AsyncSession, *, principal: Principal, quote_id: str, field_name: str = "quote"
) -> QuoteWithItems:
    """Mark a firm, orderable quote accepted within the caller's unit of work (not committed)."""
    quote = await get_scoped(
        session, Quote, quote_id, principal, what="quote", field_name=field_name
    )
    # Expired already (seen by an earlier read) or due to expire now: the same refusal.
    if quote.state is QuoteState.EXPIRED or (
        quote.state in ANSWERED_STATES
        and quote.valid_until is not None
        and quote.valid_until <= clock.now()
    ):
        raise IllegalTransition(
            "the quote has expired; request a new one", field=field_name, code="QUOTE_EXPIRED"
        )
    if quote.state not in ORDERABLE_STATES:
        raise IllegalTransition(
            f"only a firm quote that is orderable can be ordered; this one is '{quote.state}'",
            field=field_name,
        )
    items = await _items(session, quote)
    _set_state(quote, QuoteState.ACCEPTED, session)
    return QuoteWithItems(
        quote,
        [
            i
            for i in items
            if i.state
            in {QuoteItemState.APPROVED_ORDERABLE, QuoteItemState.APPROVED_ORDERABLE_ALTERNATE}
        ],
    )
