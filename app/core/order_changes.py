"""A buyer's requests to change an order once placed: to cancel it, and to move the date an
item is wanted by. Each is created with the order change it causes (see `ordering`)."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel, col
from sqlmodel.sql.expression import SelectOfScalar

from app.core import clock
from app.core.db import StrEnumType, UTCDateTime, new_id
from app.core.paging import Between, within
from app.core.parties import Channel, Principal, scoped


class ChangeState(StrEnum):
    """Where a buyer's change request stands with the seller."""

    ACKNOWLEDGED = "acknowledged"
    # The seller works out what the change costs before it is done.
    ASSESSING_CHARGE = "assessing_charge"
    DONE = "done"
    DECLINED = "declined"
    REJECTED = "rejected"


OPEN_CHANGE_STATES = frozenset({ChangeState.ACKNOWLEDGED, ChangeState.ASSESSING_CHARGE})


class CancellationReasonKind(StrEnum):
    """Why a buyer cancels: something technical or a business decision."""

    TECHNICAL = "technical"
    COMMERCIAL = "commercial"


class Cancellation(SQLModel, table=True):
    """A buyer's request to cancel an order; the seller assesses it and answers by its state."""

    __tablename__ = "ordercancellation"
    id: str = Field(default_factory=lambda: new_id("ocx"), primary_key=True, max_length=40)
    order_id: str = Field(foreign_key="productorder.id", index=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    channel: Channel = Field(sa_type=StrEnumType(Channel, 12))
    state: ChangeState = Field(sa_type=StrEnumType(ChangeState, 20), index=True)
    reason: str | None = Field(default=None, max_length=1000)
    reason_kind: CancellationReasonKind | None = Field(
        default=None, sa_type=StrEnumType(CancellationReasonKind, 12)
    )
    # Whom the seller talks to about it, as the buyer gave them; shown, never searched.
    contacts: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class DateChange(SQLModel, table=True):
    """A buyer's request to move the date an order item is wanted by."""

    __tablename__ = "orderdatechange"
    id: str = Field(default_factory=lambda: new_id("odc"), primary_key=True, max_length=40)
    order_id: str = Field(foreign_key="productorder.id", index=True, max_length=40)
    order_item_id: str = Field(foreign_key="orderitem.id", max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    channel: Channel = Field(sa_type=StrEnumType(Channel, 12))
    state: ChangeState = Field(sa_type=StrEnumType(ChangeState, 20), index=True)
    requested_completion_at: datetime = Field(sa_type=UTCDateTime, index=True)
    expedite: bool = False
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


def cancellations_query(
    *,
    principal: Principal,
    party_id: str | None = None,
    order_id: str | None = None,
    states: frozenset[ChangeState] | None = None,
    reason_kind: CancellationReasonKind | None = None,
) -> SelectOfScalar[Cancellation]:
    """The caller's cancellation requests, newest first, filtered, as a statement to page."""
    statement = scoped(Cancellation, principal)
    if party_id is not None:
        statement = statement.where(Cancellation.party_id == party_id)
    if order_id is not None:
        statement = statement.where(Cancellation.order_id == order_id)
    if states is not None:
        statement = statement.where(col(Cancellation.state).in_(sorted(states)))
    if reason_kind is not None:
        statement = statement.where(Cancellation.reason_kind == reason_kind)
    return statement.order_by(col(Cancellation.created_at).desc(), col(Cancellation.id))


def date_changes_query(
    *,
    principal: Principal,
    party_id: str | None = None,
    order_id: str | None = None,
    states: frozenset[ChangeState] | None = None,
    expedite: bool | None = None,
    requested: Between | None = None,
    created: Between | None = None,
) -> SelectOfScalar[DateChange]:
    """The caller's requested-date changes, newest first, filtered, as a statement to page."""
    statement = scoped(DateChange, principal)
    if party_id is not None:
        statement = statement.where(DateChange.party_id == party_id)
    if order_id is not None:
        statement = statement.where(DateChange.order_id == order_id)
    if states is not None:
        statement = statement.where(col(DateChange.state).in_(sorted(states)))
    if expedite is not None:
        statement = statement.where(DateChange.expedite == expedite)
    statement = within(statement, DateChange.requested_completion_at, requested)
    statement = within(statement, DateChange.created_at, created)
    return statement.order_by(col(DateChange.created_at).desc(), col(DateChange.id))
