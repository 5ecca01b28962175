"""Relations of the records a party keeps: the parties a person, organisation or account names
(with their role) and the ways to reach it, kept in rows of their own so lists filter on them."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import JSON, ColumnElement, Index, delete, exists, or_
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.db import StrEnumType, UTCDateTime, validated
from app.core.paging import Condition, Within, where

F = TypeVar("F", bound=StrEnum)


class Holder(StrEnum):
    """The kind of record that names a related party or a contact medium."""

    PERSON = "person"
    ORGANIZATION = "organization"
    ACCOUNT = "account"
    BILLING_ACCOUNT = "billing_account"


class PartyRefRecord(SQLModel):
    """A party a record names: its id, the role it plays, and what it is; `extra` holds the
    reference's further attributes, kept as given."""

    ref_id: str = Field(max_length=200)
    role: str | None = Field(default=None, max_length=100)
    referred_type: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=400)
    href: str | None = Field(default=None, max_length=1000)
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class RelatedPartyRef(PartyRefRecord, table=True):
    """A party named by a kept record, in the order the record names them."""

    __table_args__ = (Index("ix_relatedpartyref_holder", "holder", "holder_id"),)
    id: int | None = Field(default=None, primary_key=True)
    holder: Holder = Field(sa_type=StrEnumType(Holder, 20))
    holder_id: str = Field(max_length=40)
    position: int = 0


class ContactMediumRecord(SQLModel):
    """A way to reach a person or organisation (e-mail, phone, postal address, ...); `extra`
    holds its further attributes, kept as given."""

    medium_type: str | None = Field(default=None, max_length=100)
    preferred: bool | None = None
    contact_type: str | None = Field(default=None, max_length=100)
    email_address: str | None = Field(default=None, max_length=400)
    phone_number: str | None = Field(default=None, max_length=100)
    fax_number: str | None = Field(default=None, max_length=100)
    street1: str | None = Field(default=None, max_length=400)
    street2: str | None = Field(default=None, max_length=400)
    city: str | None = Field(default=None, max_length=200)
    state_or_province: str | None = Field(default=None, max_length=200)
    post_code: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, max_length=100)
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class ContactMedium(ContactMediumRecord, table=True):
    """A way to reach a kept person or organisation, in the order given."""

    __table_args__ = (Index("ix_contactmedium_holder", "holder", "holder_id"),)
    id: int | None = Field(default=None, primary_key=True)
    holder: Holder = Field(sa_type=StrEnumType(Holder, 20))
    holder_id: str = Field(max_length=40)
    position: int = 0


class RelationField(StrEnum):
    """The attributes of related parties and contact media that lists filter on; the field
    enums of persons, organisations and accounts take these values for their members."""

    PARTY_ID = "related.ref_id"
    PARTY_ROLE = "related.role"
    PARTY_NAME = "related.name"
    PARTY_TYPE = "related.referred_type"
    PARTY_HREF = "related.href"
    MEDIUM_TYPE = "medium.medium_type"
    MEDIUM_PREFERRED = "medium.preferred"
    CONTACT_TYPE = "medium.contact_type"
    EMAIL = "medium.email_address"
    PHONE = "medium.phone_number"
    CITY = "medium.city"
    POST_CODE = "medium.post_code"
    COUNTRY = "medium.country"


def _column(found: RelationField) -> tuple[type[RelatedPartyRef] | type[ContactMedium], Any]:
    table, _, name = found.value.partition(".")
    model = RelatedPartyRef if table == "related" else ContactMedium
    return model, getattr(model, name)


# The keys under which create and update take a record's related parties and contact media.
RELATED_PARTIES = "related_parties"
CONTACT_MEDIA = "contact_media"


def relation_clauses(
    holder: Holder,
    holder_id: Any,
    conditions: Sequence[Condition[F]],
    inline: Mapping[RelationField, Any] | None = None,
) -> tuple[list[ColumnElement[bool]], list[Condition[F]]]:
    """The SQL of the conditions on related parties and contact media of the records whose id
    is `holder_id` (a row matches if one of its relations does, or its `inline` column: a
    relation the record has without a row, such as an account's owner), and the other
    conditions."""
    clauses: list[ColumnElement[bool]] = []
    rest: list[Condition[F]] = []
    values = {f.value for f in RelationField}
    for condition in conditions:
        if condition.field.value not in values:
            rest.append(condition)
            continue
        found = RelationField(condition.field.value)
        matched = Condition(found, condition.operator, condition.values)
        clause = related(holder, holder_id, found).clause(matched)
        if inline and found in inline:
            clause = or_(clause, *where({found: inline[found]}, [matched]))
        clauses.append(clause)
    return clauses, rest


def related(holder: Holder, holder_id: Any, found: RelationField) -> Within:
    """A field of the records whose id is `holder_id` that is an attribute of their related
    parties or contact media: a record matches if one of them does."""
    model, column = _column(found)

    def clause(condition: Condition[Any]) -> ColumnElement[bool]:
        own = Condition(condition.field, condition.operator, condition.values)
        [match] = where({condition.field: column}, [own])
        matching: ColumnElement[bool] = exists(
            select(col(model.id)).where(model.holder == holder, model.holder_id == holder_id, match)
        )
        return matching

    return Within(clause)


def taken(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A record's own fields, and its related parties and contact media (those given)."""
    own = {k: v for k, v in values.items() if k not in {RELATED_PARTIES, CONTACT_MEDIA}}
    return own, {k: v for k, v in values.items() if k in {RELATED_PARTIES, CONTACT_MEDIA}}


async def keep(
    session: AsyncSession, holder: Holder, holder_id: str, relations: dict[str, Any]
) -> None:
    """Replace the related parties and contact media a record names (those in `relations`;
    None or an empty list removes them all), in the caller's unit of work."""
    for key, model, record in (
        (RELATED_PARTIES, RelatedPartyRef, PartyRefRecord),
        (CONTACT_MEDIA, ContactMedium, ContactMediumRecord),
    ):
        if key not in relations:
            continue
        rows: list[Any] = [
            model(
                **validated(record, given).model_dump(),
                holder=holder,
                holder_id=holder_id,
                position=position,
            )
            for position, given in enumerate(relations[key] or [])
        ]
        await session.exec(
            delete(model).where(col(model.holder) == holder, col(model.holder_id) == holder_id)
        )
        session.add_all(rows)


async def forget(session: AsyncSession, holder: Holder, holder_id: str) -> None:
    """Remove everything a record names, in the caller's unit of work."""
    await keep(session, holder, holder_id, {RELATED_PARTIES: None, CONTACT_MEDIA: None})


@dataclass
class Relations:
    """The related parties and contact media of some records, by record id."""

    parties: dict[str, list[RelatedPartyRef]] = field(default_factory=dict)
    media: dict[str, list[ContactMedium]] = field(default_factory=dict)

    def parties_of(self, holder_id: str) -> list[RelatedPartyRef]:
        """The parties one record names, in order."""
        return self.parties.get(holder_id, [])

    def media_of(self, holder_id: str) -> list[ContactMedium]:
        """The contact media of one record, in order."""
        return self.media.get(holder_id, [])


async def load(
    session: AsyncSession, holder: Holder, holder_ids: Sequence[str], *, media: bool = True
) -> Relations:
    """The relations of a page of records: one statement per kind of relation."""
    found = Relations()
    if not holder_ids:
        return found
    ids = sorted(set(holder_ids))
    refs = await session.exec(
        select(RelatedPartyRef)
        .where(RelatedPartyRef.holder == holder, col(RelatedPartyRef.holder_id).in_(ids))
        .order_by(col(RelatedPartyRef.holder_id), col(RelatedPartyRef.position))
    )
    for ref in refs.all():
        found.parties.setdefault(ref.holder_id, []).append(ref)
    if media:
        rows = await session.exec(
            select(ContactMedium)
            .where(ContactMedium.holder == holder, col(ContactMedium.holder_id).in_(ids))
            .order_by(col(ContactMedium.holder_id), col(ContactMedium.position))
        )
        for medium in rows.all():
            found.media.setdefault(medium.holder_id, []).append(medium)
    return found
