"""Contacts: the people and organisations a party deals with, kept by that party, listed with
the parties it is or acts for and with the contact people of its sites."""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    String,
    case,
    func,
    literal,
    null,
    type_coerce,
    union_all,
)
from sqlalchemy import (
    select as sql_select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, events, relations
from app.core.db import StrEnumType, UTCDateTime, commit, new_id, validated
from app.core.errors import InvalidRequest, NotFound
from app.core.events import EntityKind, EventKind
from app.core.geography import SITE_CONTACT_SUFFIX, Site
from app.core.kept import Keeper, document_field, register_document
from app.core.paging import Condition, Page, where
from app.core.parties import Party, Principal, get_many_scoped, get_scoped
from app.core.relations import Holder, RelationField


class PersonState(StrEnum):
    """Whether a person's identity was checked."""

    INITIALIZED = "initialized"
    VALIDATED = "validated"
    DECEASED = "deceased"


class OrganizationState(StrEnum):
    """Whether an organisation's identity was checked, or it has closed."""

    INITIALIZED = "initialized"
    VALIDATED = "validated"
    CLOSED = "closed"


class PersonBase(SQLModel):
    """What a party records about a person; `extra` holds further attributes kept as given."""

    given_name: str = Field(max_length=200)
    family_name: str = Field(max_length=200)
    middle_name: str | None = Field(default=None, max_length=200)
    family_name_prefix: str | None = Field(default=None, max_length=100)
    preferred_given_name: str | None = Field(default=None, max_length=200)
    full_name: str | None = Field(default=None, max_length=400)
    formatted_name: str | None = Field(default=None, max_length=400)
    legal_name: str | None = Field(default=None, max_length=400)
    title: str | None = Field(default=None, max_length=100)
    aristocratic_title: str | None = Field(default=None, max_length=100)
    generation: str | None = Field(default=None, max_length=100)
    gender: str | None = Field(default=None, max_length=100)
    marital_status: str | None = Field(default=None, max_length=100)
    nationality: str | None = Field(default=None, max_length=100)
    country_of_birth: str | None = Field(default=None, max_length=100)
    place_of_birth: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=200)
    birth_date: datetime | None = Field(default=None, sa_type=UTCDateTime)
    death_date: datetime | None = Field(default=None, sa_type=UTCDateTime)
    state: PersonState = Field(
        default=PersonState.INITIALIZED, sa_type=StrEnumType(PersonState, 16)
    )
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Person(PersonBase, table=True):
    """A person a party deals with (a contact, an employee), kept by that party."""

    id: str = Field(default_factory=lambda: new_id("ind"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class OrganizationBase(SQLModel):
    """What a party records about an organisation; `extra` holds further attributes as given."""

    trading_name: str = Field(max_length=200)
    name: str | None = Field(default=None, max_length=200)
    name_type: str | None = Field(default=None, max_length=100)
    organization_type: str | None = Field(default=None, max_length=100)
    is_legal_entity: bool | None = None
    is_head_office: bool | None = None
    exists_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    exists_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    state: OrganizationState = Field(
        default=OrganizationState.INITIALIZED, sa_type=StrEnumType(OrganizationState, 16)
    )
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Organization(OrganizationBase, table=True):
    """An organisation a party deals with (a supplier, a subsidiary), kept by that party."""

    id: str = Field(default_factory=lambda: new_id("org"), primary_key=True, max_length=40)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class PersonField(StrEnum):
    """The fields people can be listed by."""

    ID = "id"
    GIVEN_NAME = "given_name"
    FAMILY_NAME = "family_name"
    MIDDLE_NAME = "middle_name"
    FAMILY_NAME_PREFIX = "family_name_prefix"
    PREFERRED_GIVEN_NAME = "preferred_given_name"
    FULL_NAME = "full_name"
    FORMATTED_NAME = "formatted_name"
    LEGAL_NAME = "legal_name"
    TITLE = "title"
    ARISTOCRATIC_TITLE = "aristocratic_title"
    GENERATION = "generation"
    GENDER = "gender"
    MARITAL_STATUS = "marital_status"
    NATIONALITY = "nationality"
    COUNTRY_OF_BIRTH = "country_of_birth"
    PLACE_OF_BIRTH = "place_of_birth"
    LOCATION = "location"
    BIRTH_DATE = "birth_date"
    DEATH_DATE = "death_date"
    STATE = "state"
    # The party the person is kept by (or whose site the person is the contact of).
    PARTY = "party_id"
    # The further attributes kept as given (a condition names a path in them).
    EXTRA = "extra"
    # Whether the person is the contact person of a site, that site's id and the party that
    # owns it, the person's employer (none if not).
    IS_SITE = "is_site"
    CONTACT_OF = "contact_of"
    EMPLOYER = "employer"
    RELATED_PARTY_ID = RelationField.PARTY_ID.value
    RELATED_PARTY_ROLE = RelationField.PARTY_ROLE.value
    RELATED_PARTY_NAME = RelationField.PARTY_NAME.value
    RELATED_PARTY_TYPE = RelationField.PARTY_TYPE.value
    RELATED_PARTY_HREF = RelationField.PARTY_HREF.value
    MEDIUM_TYPE = RelationField.MEDIUM_TYPE.value
    MEDIUM_PREFERRED = RelationField.MEDIUM_PREFERRED.value
    CONTACT_TYPE = RelationField.CONTACT_TYPE.value
    EMAIL = RelationField.EMAIL.value
    PHONE = RelationField.PHONE.value
    CITY = RelationField.CITY.value
    POST_CODE = RelationField.POST_CODE.value
    COUNTRY = RelationField.COUNTRY.value


class OrganizationField(StrEnum):
    """The fields organisations can be listed by."""

    ID = "id"
    NAME = "name"
    TRADING_NAME = "trading_name"
    NAME_TYPE = "name_type"
    ORGANIZATION_TYPE = "organization_type"
    IS_LEGAL_ENTITY = "is_legal_entity"
    IS_HEAD_OFFICE = "is_head_office"
    EXISTS_FROM = "exists_from"
    EXISTS_UNTIL = "exists_until"
    STATE = "state"
    # The further attributes kept as given (a condition names a path in them).
    EXTRA = "extra"
    # Whether the organisation is a party of the platform, and that party's country (none if
    # not).
    IS_PARTY = "is_party"
    PARTY_COUNTRY = "party_country"
    RELATED_PARTY_ID = RelationField.PARTY_ID.value
    RELATED_PARTY_ROLE = RelationField.PARTY_ROLE.value
    RELATED_PARTY_NAME = RelationField.PARTY_NAME.value
    RELATED_PARTY_TYPE = RelationField.PARTY_TYPE.value
    RELATED_PARTY_HREF = RelationField.PARTY_HREF.value
    MEDIUM_TYPE = RelationField.MEDIUM_TYPE.value
    MEDIUM_PREFERRED = RelationField.MEDIUM_PREFERRED.value
    CONTACT_TYPE = RelationField.CONTACT_TYPE.value
    EMAIL = RelationField.EMAIL.value
    PHONE = RelationField.PHONE.value
    CITY = RelationField.CITY.value
    POST_CODE = RelationField.POST_CODE.value
    COUNTRY = RelationField.COUNTRY.value


# The fields of people and organisations that are columns of their own rows.
PERSON_COLUMNS = [
    f
    for f in PersonField
    if f.value not in set(RelationField)
    and f
    not in {PersonField.EXTRA, PersonField.IS_SITE, PersonField.CONTACT_OF, PersonField.EMPLOYER}
]
ORGANIZATION_COLUMNS = [
    f
    for f in OrganizationField
    if f.value not in set(RelationField)
    and f
    not in {OrganizationField.EXTRA, OrganizationField.IS_PARTY, OrganizationField.PARTY_COUNTRY}
]
register_document(Person, Keeper.PERSON, "extra")
register_document(Organization, Keeper.ORGANIZATION, "extra")
# What the contact person of a site is related to and reached by, as columns of `_people`:
# its site's party as employer, and the site's contact phone.
_SITE_RELATIONS = {
    RelationField.PARTY_ID: "site_party",
    RelationField.PARTY_ROLE: "site_role",
    RelationField.PARTY_TYPE: "site_referred",
    RelationField.MEDIUM_TYPE: "site_medium",
    RelationField.MEDIUM_PREFERRED: "site_preferred",
    RelationField.CONTACT_TYPE: "site_contact_type",
    RelationField.PHONE: "site_phone",
}
# How a party of the platform is reached, as columns of `_organizations`: its e-mail.
_PARTY_RELATIONS = {
    RelationField.MEDIUM_TYPE: "party_medium",
    RelationField.MEDIUM_PREFERRED: "party_preferred",
    RelationField.CONTACT_TYPE: "party_contact_type",
    RelationField.EMAIL: "party_email",
}


class _FirstSpace(FunctionElement[int]):
    """The 1-based position of the first space in a text, 0 if none (SQLite and PostgreSQL)."""

    type = Integer()
    inherit_cache = True


@compiles(_FirstSpace)
def _first_space_sqlite(element: _FirstSpace, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)}, ' ')"


@compiles(_FirstSpace, "postgresql")
def _first_space_postgresql(element: _FirstSpace, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)}, ' ')"


def _people(principal: Principal) -> Any:
    """Every person the caller may see, as one selectable: its own people and the contact
    people of its sites, whose contact name splits at its first space into given and family
    name, as in `split_contact_name`."""
    people_columns: dict[str, Any] = {field: getattr(Person, field) for field in PERSON_COLUMNS}
    kept: Any = sql_select(
        *(col(c).label(f) for f, c in people_columns.items()),
        *(null().label(name) for name in _SITE_RELATIONS.values()),
        literal(False, Boolean).label(PersonField.IS_SITE),
        null().label(PersonField.CONTACT_OF),
        col(Person.created_at).label("created_at"),
    )
    name: Any = col(Site.contact_name)
    space = _FirstSpace(name)
    site_columns: dict[str, Any] = {field: null() for field in PERSON_COLUMNS}
    site_columns |= {
        PersonField.ID: col(Site.id) + SITE_CONTACT_SUFFIX,
        PersonField.GIVEN_NAME: case((space == 0, name), else_=func.substr(name, 1, space - 1)),
        PersonField.FAMILY_NAME: case((space == 0, ""), else_=func.substr(name, space + 1)),
        PersonField.FULL_NAME: name,
        PersonField.FORMATTED_NAME: name,
        PersonField.STATE: literal(PersonState.VALIDATED.value, String),
        PersonField.PARTY: col(Site.party_id),
    }
    phone: Any = col(Site.contact_phone)
    has_phone = phone.is_not(None) & (phone != "")
    site_relations: dict[RelationField, Any] = {
        RelationField.PARTY_ID: col(Site.party_id),
        RelationField.PARTY_ROLE: literal("employer", String),
        RelationField.PARTY_TYPE: literal("Organization", String),
        RelationField.MEDIUM_TYPE: case((has_phone, "phone"), else_=null()),
        RelationField.MEDIUM_PREFERRED: case((has_phone, literal(True, Boolean)), else_=null()),
        RelationField.CONTACT_TYPE: case((has_phone, "phone"), else_=null()),
        RelationField.PHONE: case((has_phone, phone), else_=null()),
    }
    contacts: Any = sql_select(
        *(c.label(f) for f, c in site_columns.items()),
        *(site_relations[f].label(name) for f, name in _SITE_RELATIONS.items()),
        literal(True, Boolean).label(PersonField.IS_SITE),
        col(Site.id).label(PersonField.CONTACT_OF),
        col(Site.created_at).label("created_at"),
    ).where(col(Site.contact_name).is_not(None), col(Site.contact_name) != "")
    if not principal.is_ops:
        visible = sorted(principal.visible_party_ids)
        kept = kept.where(col(Person.party_id).in_(visible))
        contacts = contacts.where(col(Site.party_id).in_(visible))
    return union_all(kept, contacts).subquery("people")


def split_contact_name(name: str) -> tuple[str, str]:
    """The given and family name of a site's contact: split at the first space."""
    given, _, family = name.partition(" ")
    return given, family


async def list_people(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: Sequence[Condition[PersonField]] = (),
    offset: int = 0,
    limit: int = 100,
) -> Page[Person | Site]:
    """The caller's people and the contact people of its sites, oldest first, one page of
    them and how many meet the conditions."""
    people = _people(principal)
    columns: dict[PersonField, Any] = {
        field: people.c[field.value]
        for field in (*PERSON_COLUMNS, PersonField.IS_SITE, PersonField.CONTACT_OF)
    }
    columns[PersonField.EXTRA] = document_field(Keeper.PERSON, people.c.id)
    columns[PersonField.EMPLOYER] = people.c[_SITE_RELATIONS[RelationField.PARTY_ID]]
    columns[PersonField.RELATED_PARTY_HREF] = relations.related(
        Holder.PERSON, people.c.id, RelationField.PARTY_HREF
    )
    related, own = relations.relation_clauses(
        Holder.PERSON,
        people.c.id,
        conditions,
        inline={f: people.c[name] for f, name in _SITE_RELATIONS.items()},
    )
    matching = select(people.c.id, people.c.is_site).where(*where(columns, own), *related)
    total = int((await session.exec(select(func.count()).select_from(matching.subquery()))).one())
    if limit <= 0 or offset >= total:
        return Page([], total, offset)
    rows = (
        await session.exec(
            matching.order_by(people.c.created_at, people.c.id).offset(offset).limit(limit)
        )
    ).all()
    site_ids = [
        str(row_id).removesuffix(SITE_CONTACT_SUFFIX) for row_id, is_site in rows if is_site
    ]
    person_ids = [str(row_id) for row_id, is_site in rows if not is_site]
    sites = await get_many_scoped(session, Site, site_ids, principal)
    kept = await get_many_scoped(session, Person, person_ids, principal)
    items: list[Person | Site] = [
        sites[str(row_id).removesuffix(SITE_CONTACT_SUFFIX)] if is_site else kept[str(row_id)]
        for row_id, is_site in rows
    ]
    return Page(items, total, offset)


async def get_person_or_contact(
    session: AsyncSession, *, principal: Principal, person_id: str
) -> Person | Site:
    """One of the caller's people, or the contact person of one of its sites."""
    site_id, suffix, rest = person_id.partition(SITE_CONTACT_SUFFIX)
    if suffix and not rest:
        site = (await get_many_scoped(session, Site, [site_id], principal)).get(site_id)
        if site is None or not site.contact_name:
            raise NotFound(f"no individual '{person_id}'", field="id")
        return site
    return await get_person(session, principal=principal, person_id=person_id)


async def get_person(session: AsyncSession, *, principal: Principal, person_id: str) -> Person:
    """One of the caller's people."""
    if person_id.endswith(SITE_CONTACT_SUFFIX):
        raise InvalidRequest(
            "the contact person of a site changes with the site", field="id", code="SITE_CONTACT"
        )
    return await get_scoped(session, Person, person_id, principal, what="individual")


async def create_person(
    session: AsyncSession, *, principal: Principal, person: dict[str, Any]
) -> Person:
    """Record a person the caller deals with (and the parties it names and its contact
    media, under `relations.RELATED_PARTIES` and `relations.CONTACT_MEDIA`)."""
    own, named = relations.taken(person)
    row = Person(**validated(PersonBase, own).model_dump(), party_id=principal.party_id)
    session.add(row)
    await relations.keep(session, Holder.PERSON, row.id, named)
    _record(session, row.party_id, Holder.PERSON, row.id, EventKind.CREATED)
    await commit(session)
    return row


def _record(
    session: AsyncSession, party_id: str, holder: Holder, row_id: str, kind: EventKind
) -> None:
    """An event about a kept record, in the caller's unit of work."""
    events.record(
        session, party_id=party_id, entity=EntityKind(holder), entity_id=row_id, kind=kind
    )


def _record_change(
    session: AsyncSession,
    row: Person | Organization,
    holder: Holder,
    before: dict[str, Any],
    relations_changed: bool,
) -> None:
    """The events of a change of a kept person or organisation."""
    events.record_change(
        session,
        party_id=row.party_id,
        entity=EntityKind(holder),
        entity_id=row.id,
        before=before,
        after=row.model_dump(include=set(before)),
        also_changed=relations_changed,
    )


async def update_person(
    session: AsyncSession, *, principal: Principal, person_id: str, changes: dict[str, Any]
) -> Person:
    """Change what the caller records about one of its people (fields named in `changes`)."""
    row = await get_person(session, principal=principal, person_id=person_id)
    own, named = relations.taken(changes)
    before = row.model_dump(include=set(PersonBase.model_fields))
    merged = validated(PersonBase, before | own)
    for field_name in own:
        setattr(row, field_name, getattr(merged, field_name))
    row.updated_at = clock.now()
    session.add(row)
    await relations.keep(session, Holder.PERSON, row.id, named)
    _record_change(session, row, Holder.PERSON, before, bool(named))
    await commit(session)
    return row


async def delete_person(session: AsyncSession, *, principal: Principal, person_id: str) -> None:
    """Forget one of the caller's people."""
    row = await get_person(session, principal=principal, person_id=person_id)
    await relations.forget(session, Holder.PERSON, row.id)
    _record(session, row.party_id, Holder.PERSON, row.id, EventKind.DELETED)
    await session.delete(row)
    await commit(session)


def _organizations(principal: Principal) -> Any:
    """Every organisation the caller may see, as one selectable: the parties it is or acts
    for (every party, for operations staff) and the organisations it keeps."""
    kept_columns: dict[str, Any] = {f: getattr(Organization, f.value) for f in ORGANIZATION_COLUMNS}
    kept: Any = sql_select(
        *(col(c).label(f) for f, c in kept_columns.items()),
        *(null().label(name) for name in _PARTY_RELATIONS.values()),
        literal(False, Boolean).label(OrganizationField.IS_PARTY),
        null().label(OrganizationField.PARTY_COUNTRY),
        col(Organization.created_at).label("created_at"),
    )
    party_columns: dict[str, Any] = {
        OrganizationField.ID: col(Party.id),
        OrganizationField.NAME: col(Party.name),
        OrganizationField.TRADING_NAME: col(Party.name),
        OrganizationField.NAME_TYPE: null(),
        # As text: the party's audience is stored as an enum that knows no other values.
        OrganizationField.ORGANIZATION_TYPE: type_coerce(col(Party.audience), String),
        OrganizationField.IS_LEGAL_ENTITY: literal(True, Boolean),
        OrganizationField.IS_HEAD_OFFICE: literal(True, Boolean),
        OrganizationField.EXISTS_FROM: col(Party.created_at),
        OrganizationField.EXISTS_UNTIL: null(),
        OrganizationField.STATE: literal(OrganizationState.VALIDATED.value, String),
    }
    email: Any = col(Party.email)
    has_email = email.is_not(None) & (email != "")
    party_relations: dict[RelationField, Any] = {
        RelationField.MEDIUM_TYPE: case((has_email, "email"), else_=null()),
        RelationField.MEDIUM_PREFERRED: case((has_email, literal(True, Boolean)), else_=null()),
        RelationField.CONTACT_TYPE: case((has_email, "email"), else_=null()),
        RelationField.EMAIL: case((has_email, email), else_=null()),
    }
    parties: Any = sql_select(
        *(c.label(f) for f, c in party_columns.items()),
        *(party_relations[f].label(name) for f, name in _PARTY_RELATIONS.items()),
        literal(True, Boolean).label(OrganizationField.IS_PARTY),
        col(Party.country).label(OrganizationField.PARTY_COUNTRY),
        col(Party.created_at).label("created_at"),
    )
    if not principal.is_ops:
        visible = sorted(principal.visible_party_ids)
        kept = kept.where(col(Organization.party_id).in_(visible))
        parties = parties.where(col(Party.id).in_(visible))
    return union_all(parties, kept).subquery("organizations")


async def list_organizations(
    session: AsyncSession,
    *,
    principal: Principal,
    conditions: Sequence[Condition[OrganizationField]] = (),
    offset: int = 0,
    limit: int = 100,
) -> Page[Organization | Party]:
    """The parties the caller is or acts for and the organisations it keeps (parties first,
    then oldest first): one page of them and how many meet the conditions."""
    found = _organizations(principal)
    columns: dict[OrganizationField, Any] = {
        field: found.c[field.value]
        for field in (
            *ORGANIZATION_COLUMNS,
            OrganizationField.IS_PARTY,
            OrganizationField.PARTY_COUNTRY,
        )
    }
    columns[OrganizationField.EXTRA] = document_field(Keeper.ORGANIZATION, found.c.id)
    columns[OrganizationField.RELATED_PARTY_HREF] = relations.related(
        Holder.ORGANIZATION, found.c.id, RelationField.PARTY_HREF
    )
    related, own = relations.relation_clauses(
        Holder.ORGANIZATION,
        found.c.id,
        conditions,
        inline={f: found.c[name] for f, name in _PARTY_RELATIONS.items()},
    )
    matching = select(found.c.id, found.c.is_party).where(*where(columns, own), *related)
    total = int((await session.exec(select(func.count()).select_from(matching.subquery()))).one())
    if limit <= 0 or offset >= total:
        return Page([], total, offset)
    ordered = matching.order_by(found.c.is_party.desc(), found.c.created_at, found.c.id)
    rows = (await session.exec(ordered.offset(offset).limit(limit))).all()
    party_ids = [str(row_id) for row_id, is_party in rows if is_party]
    kept_ids = [str(row_id) for row_id, is_party in rows if not is_party]
    parties = {
        p.id: p
        for p in (await session.exec(select(Party).where(col(Party.id).in_(party_ids)))).all()
    }
    kept = await get_many_scoped(session, Organization, kept_ids, principal)
    items: list[Organization | Party] = [
        parties[str(row_id)] if is_party else kept[str(row_id)] for row_id, is_party in rows
    ]
    return Page(items, total, offset)


async def get_organization(
    session: AsyncSession, *, principal: Principal, organization_id: str
) -> Organization:
    """One of the organisations the caller keeps."""
    return await get_scoped(session, Organization, organization_id, principal, what="organization")


def _checked_organization(values: dict[str, Any]) -> OrganizationBase:
    checked = validated(OrganizationBase, values)
    if not checked.trading_name.strip():
        raise InvalidRequest("an organization's trading name cannot be empty", field="trading_name")
    return checked


async def create_organization(
    session: AsyncSession, *, principal: Principal, organization: dict[str, Any]
) -> Organization:
    """Record an organisation the caller deals with (and the parties it names and its contact
    media, as for a person)."""
    own, named = relations.taken(organization)
    row = Organization(**_checked_organization(own).model_dump(), party_id=principal.party_id)
    session.add(row)
    await relations.keep(session, Holder.ORGANIZATION, row.id, named)
    _record(session, row.party_id, Holder.ORGANIZATION, row.id, EventKind.CREATED)
    await commit(session)
    return row


async def update_organization(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: str,
    changes: dict[str, Any],
) -> Organization:
    """Change what the caller records about one of its organisations."""
    row = await get_organization(session, principal=principal, organization_id=organization_id)
    own, named = relations.taken(changes)
    before = row.model_dump(include=set(OrganizationBase.model_fields))
    merged = _checked_organization(before | own)
    for field_name in own:
        setattr(row, field_name, getattr(merged, field_name))
    row.updated_at = clock.now()
    session.add(row)
    await relations.keep(session, Holder.ORGANIZATION, row.id, named)
    _record_change(session, row, Holder.ORGANIZATION, before, bool(named))
    await commit(session)
    return row


async def delete_organization(
    session: AsyncSession, *, principal: Principal, organization_id: str
) -> None:
    """Forget one of the caller's organisations."""
    row = await get_organization(session, principal=principal, organization_id=organization_id)
    await relations.forget(session, Holder.ORGANIZATION, row.id)
    _record(session, row.party_id, Holder.ORGANIZATION, row.id, EventKind.DELETED)
    await session.delete(row)
    await commit(session)
