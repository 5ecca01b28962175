"""Parties, their API keys, and the principal that every core call is scoped to."""

import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from cachetools import TTLCache
from sqlalchemy import ColumnElement, bindparam, func, literal, true
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import clock
from app.core.db import StrEnumType, UTCDateTime, commit, config_of, new_id
from app.core.errors import Conflict, InvalidRequest, NotAuthorized, NotFound, Unauthenticated


class Audience(StrEnum):
    """Who a party is to the platform; decides which faces and operations suit it."""

    DEVELOPER = "developer"
    CARRIER = "carrier"
    ENTERPRISE = "enterprise"
    OPS = "ops"


class Channel(StrEnum):
    """The face through which a request reached the core."""

    GRAPHQL = "graphql"
    SONATA = "sonata"
    CANTATA = "cantata"
    TMF = "tmf"
    INTERNAL = "internal"


# The faces each audience may use: partners buy over Sonata, enterprises over Cantata, both run
# their business over the TM Forum APIs, developers use GraphQL; operations staff use them all.
CHANNELS_BY_AUDIENCE: dict[Audience, frozenset[Channel]] = {
    Audience.CARRIER: frozenset({Channel.SONATA, Channel.TMF}),
    Audience.ENTERPRISE: frozenset({Channel.CANTATA, Channel.TMF}),
    Audience.DEVELOPER: frozenset({Channel.GRAPHQL}),
    Audience.OPS: frozenset(Channel),
}


class Scope(StrEnum):
    """What an API key allows."""

    READ = "read"
    WRITE = "write"
    OPS = "ops"


class PartyBase(SQLModel):
    name: str = Field(max_length=200)
    audience: Audience = Field(sa_type=StrEnumType(Audience, 16))
    email: str | None = Field(default=None, max_length=200)
    country: str = Field(default="US", max_length=2)


class Party(PartyBase, table=True):
    """An organization: a customer, a partner carrier, or the operator itself."""

    id: str = Field(default_factory=lambda: new_id("pty"), primary_key=True, max_length=40)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Agency(SQLModel, table=True):
    """A party (typically a carrier) allowed to act for a buyer party."""

    agent_party_id: str = Field(foreign_key="party.id", primary_key=True, max_length=40)
    buyer_party_id: str = Field(foreign_key="party.id", primary_key=True, max_length=40)


class ApiKey(SQLModel, table=True):
    """An API key, stored only as its SHA-256 hash; `key_id` finds it without the secret."""

    key_id: str = Field(primary_key=True, max_length=24)
    party_id: str = Field(foreign_key="party.id", index=True, max_length=40)
    name: str = Field(max_length=100)
    secret_hash: str = Field(max_length=64)
    scopes: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: its party, audience, scopes and the buyers it acts for."""

    party_id: str
    audience: Audience
    scopes: frozenset[Scope] = frozenset({Scope.READ, Scope.WRITE})
    acting_for: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_ops(self) -> bool:
        """Ops principals see every party's objects."""
        return self.audience is Audience.OPS and Scope.OPS in self.scopes

    @property
    def visible_party_ids(self) -> frozenset[str]:
        """The parties whose objects this caller may see and change."""
        return self.acting_for | {self.party_id}

    def can_see(self, party_id: str) -> bool:
        """Whether an object owned by `party_id` exists for this caller."""
        return self.is_ops or party_id in self.visible_party_ids

    def require(self, scope: Scope) -> None:
        """Refuse unless the key carries `scope`."""
        if scope not in self.scopes:
            raise NotAuthorized(f"this API key lacks the '{scope}' scope", code="NOT_AUTHORIZED")

    def require_channel(self, channel: Channel) -> None:
        """Refuse unless the caller's audience may use this face."""
        allowed = CHANNELS_BY_AUDIENCE[self.audience]
        if channel not in allowed:
            raise NotAuthorized(
                f"{self.audience} API keys may not use the {channel} API; "
                f"they may use: {', '.join(sorted(allowed))}",
                code="NOT_AUTHORIZED",
            )

    def require_ops(self) -> None:
        """Refuse unless the caller is an ops principal."""
        if not self.is_ops:
            raise NotAuthorized("only operations staff may do this", code="NOT_AUTHORIZED")

    def buyer_for(self, buyer_party_id: str | None, *, field_name: str = "buyer") -> str:
        """The party that a new object belongs to; a named buyer must be one the caller acts for."""
        if buyer_party_id is None:
            if self.acting_for:
                raise InvalidRequest(
                    "this caller acts for several buyers; name the buyer",
                    field=field_name,
                    code="BUYER_REQUIRED",
                )
            return self.party_id
        if buyer_party_id == self.party_id or buyer_party_id in self.acting_for:
            return buyer_party_id
        if self.is_ops:
            return buyer_party_id
        raise NotFound(f"no buyer '{buyer_party_id}'", field=field_name)


async def resolve_buyer(
    session: AsyncSession,
    principal: Principal,
    buyer_party_id: str | None,
    *,
    field_name: str = "buyer",
) -> str:
    """The party a new object belongs to (see `Principal.buyer_for`); a buyer that operations
    staff name must exist."""
    party_id = principal.buyer_for(buyer_party_id, field_name=field_name)
    if (
        party_id != principal.party_id
        and principal.is_ops
        and (await session.get(Party, party_id) is None)
    ):
        raise NotFound(f"no buyer '{party_id}'", field=field_name)
    return party_id


Owned = TypeVar("Owned", bound=SQLModel)


def visible(model: type[SQLModel], principal: Principal) -> ColumnElement[bool]:
    """The condition on `model`'s rows (which carry `party_id`) that the principal may see."""
    if principal.is_ops:
        return true()
    party_column: Any = model.party_id  # type: ignore[attr-defined]
    # A parameter per party: `in_` with a list of values would be one expanding parameter,
    # whose SQL is rendered anew on every execution.
    return col(party_column).in_([literal(party) for party in sorted(principal.visible_party_ids)])


def scoped(model: type[Owned], principal: Principal) -> SelectOfScalar[Owned]:
    """`SELECT model` limited to the rows the principal may see (rows carry `party_id`)."""
    statement = select(model)
    if principal.is_ops:
        return statement
    return statement.where(visible(model, principal))


async def get_scoped(
    session: AsyncSession,
    model: type[Owned],
    object_id: str,
    principal: Principal,
    *,
    what: str | None = None,
    field_name: str = "id",
) -> Owned:
    """One row by id if the principal may see it; otherwise the same `NotFound` as a missing id."""
    id_column: Any = model.id  # type: ignore[attr-defined]
    found = (await session.exec(scoped(model, principal).where(id_column == object_id))).first()
    if found is None:
        raise NotFound(f"no {what or model.__name__.lower()} '{object_id}'", field=field_name)
    return found


async def get_many_scoped(
    session: AsyncSession, model: type[Owned], ids: Iterable[str], principal: Principal
) -> dict[str, Owned]:
    """Rows by id in one statement; ids the principal may not see are simply absent."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    statement = _rows_of(model, "id", None, everyone=principal.is_ops)
    rows = (await session.exec(statement, params=_bound(wanted, principal))).all()
    return {row.id: row for row in rows}


async def children_scoped(
    session: AsyncSession,
    model: type[Owned],
    parent_field: str,
    parent_ids: Iterable[str],
    principal: Principal,
    *,
    order_by: str = "id",
) -> dict[str, list[Owned]]:
    """Rows grouped by a parent id column, in one statement, for the parents given."""
    wanted = sorted(set(parent_ids))
    grouped: dict[str, list[Owned]] = {parent: [] for parent in wanted}
    if not wanted:
        return grouped
    statement = _rows_of(model, parent_field, order_by, everyone=principal.is_ops)
    for row in (await session.exec(statement, params=_bound(wanted, principal))).all():
        grouped[getattr(row, parent_field)].append(row)
    return grouped


def _bound(keys: list[str], principal: Principal) -> dict[str, list[str]]:
    """The values `_rows_of`'s statements take: the keys, and the parties the caller sees."""
    return {"keys": keys, "parties": sorted(principal.visible_party_ids)}


@functools.cache
def _rows_of(
    model: type[Owned], column: str, order_by: str | None, *, everyone: bool
) -> SelectOfScalar[Owned]:
    """`SELECT model WHERE column IN :keys`, as `scoped` limits it, ordered by `order_by` then
    id: built once per shape, the keys and parties bound when it runs (building a statement
    costs more CPU than SQLite takes to run a small one)."""
    statement = select(model).where(
        col(getattr(model, column)).in_(bindparam("keys", expanding=True))
    )
    if not everyone:
        party_column: Any = model.party_id  # type: ignore[attr-defined]
        statement = statement.where(col(party_column).in_(bindparam("parties", expanding=True)))
    if order_by is not None:
        id_column: Any = model.id  # type: ignore[attr-defined]
        statement = statement.order_by(getattr(model, order_by), id_column)
    return statement


class PrincipalCache:
    """The principals of recently used API keys, each kept for `ttl_seconds`: a key revoked in
    this process stops working at once, one revoked elsewhere within `ttl_seconds`."""

    def __init__(self, *, ttl_seconds: float, max_keys: int = 10_000) -> None:
        # key id -> (the key's stored hash, its principal)
        self._entries: TTLCache[str, tuple[str, Principal]] = TTLCache(max_keys, ttl_seconds)

    def get(self, key_id: str, secret_hash: str) -> Principal | None:
        """The principal of a key seen lately, if its secret matches."""
        entry = self._entries.get(key_id)
        if entry is None or not hmac.compare_digest(entry[0], secret_hash):
            return None
        return entry[1]

    def keep(self, key_id: str, secret_hash: str, principal: Principal) -> None:
        """Remember a key that was just looked up."""
        self._entries[key_id] = (secret_hash, principal)

    def forget(self, key_ids: Iterable[str]) -> None:
        """Drop keys that were revoked or replaced."""
        for key_id in key_ids:
            self._entries.pop(key_id, None)


def _forget_keys(session: AsyncSession, key_ids: Iterable[str]) -> None:
    cache = config_of(session).principals
    if cache is not None:
        cache.forget(key_ids)


def hash_secret(key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _seeded_key(secret_seed: str, party_id: str, name: str) -> tuple[str, str]:
    """The id and secret of a reproducible key (demo data only)."""
    digest = hmac.new(secret_seed.encode(), f"{party_id}:{name}".encode(), "sha256").hexdigest()
    return digest[:12], digest[12:52]


def seeded_key(secret_seed: str, party_id: str, name: str) -> str:
    """The reproducible key that `issue_api_key` makes from `secret_seed` (demo data only)."""
    return _format_key(*_seeded_key(secret_seed, party_id, name))


async def revoke_seeded_keys(
    session: AsyncSession, *, secret_seed: str, keys: Iterable[tuple[str, str]]
) -> int:
    """Revoke the reproducible keys made from `secret_seed` for (party id, key name) pairs;
    returns how many were still valid."""
    key_ids = [_seeded_key(secret_seed, party_id, name)[0] for party_id, name in keys]
    valid = (
        await session.exec(
            select(ApiKey).where(col(ApiKey.key_id).in_(key_ids), col(ApiKey.revoked_at).is_(None))
        )
    ).all()
    for api_key in valid:
        api_key.revoked_at = clock.now()
        session.add(api_key)
    await commit(session)
    _forget_keys(session, key_ids)
    return len(valid)


def _format_key(key_id: str, secret: str) -> str:
    return f"lumen_{key_id}_{secret}"


async def create_party(
    session: AsyncSession,
    *,
    name: str,
    audience: Audience,
    email: str | None = None,
    party_id: str | None = None,
    acting_for: Iterable[str] = (),
) -> Party:
    """Register a party, optionally as agent for existing buyer parties."""
    party = Party(name=name, audience=audience, email=email)
    if party_id:
        party.id = party_id
    session.add(party)
    await session.flush()
    for buyer in acting_for:
        session.add(Agency(agent_party_id=party.id, buyer_party_id=buyer))
    await commit(session)
    return party


async def issue_api_key(
    session: AsyncSession,
    *,
    party_id: str,
    name: str = "default",
    scopes: Iterable[Scope] | None = None,
    secret_seed: str | None = None,
) -> str:
    """Create an API key and return it; only its hash is stored, so this is the one chance to
    read it. A `secret_seed` makes the key reproducible (demo data only)."""
    party = await session.get(Party, party_id)
    if party is None:
        raise NotFound(f"no party '{party_id}'", field="party")
    if scopes is None:
        scopes = [Scope.READ, Scope.WRITE] + ([Scope.OPS] if party.audience is Audience.OPS else [])
    if secret_seed is None:
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    else:
        key_id, secret = _seeded_key(secret_seed, party_id, name)
    key = _format_key(key_id, secret)
    existing = await session.get(ApiKey, key_id)
    if existing is not None:
        await session.delete(existing)
        await session.flush()
    session.add(
        ApiKey(
            key_id=key_id,
            party_id=party_id,
            name=name,
            secret_hash=hash_secret(key),
            scopes=",".join(sorted(str(scope) for scope in scopes)),
        )
    )
    await commit(session)
    _forget_keys(session, [key_id])
    return key


async def authenticate(session: AsyncSession, key: str | None) -> Principal:
    """The principal behind an API key, or `Unauthenticated`."""
    if not key or not key.startswith("lumen_"):
        raise Unauthenticated("send a valid API key as 'Authorization: Bearer <key>'")
    parts = key.split("_", 2)
    if len(parts) != 3:
        raise Unauthenticated("the API key is unknown or revoked")
    secret_hash = hash_secret(key)
    cache = config_of(session).principals
    if cache is not None and (known := cache.get(parts[1], secret_hash)) is not None:
        return known
    # The key, its party and the buyers it acts for in one statement: every request runs it.
    rows = (
        await session.exec(
            select(ApiKey, Party, Agency.buyer_party_id)
            .join(Party, col(Party.id) == ApiKey.party_id)
            .outerjoin(Agency, col(Agency.agent_party_id) == Party.id)
            .where(ApiKey.key_id == parts[1])
        )
    ).all()
    api_key = rows[0][0] if rows else None
    if (
        api_key is None
        or api_key.revoked_at is not None
        or not hmac.compare_digest(api_key.secret_hash, secret_hash)
    ):
        raise Unauthenticated("the API key is unknown or revoked")
    party = rows[0][1]
    buyers = [buyer for _, _, buyer in rows if buyer is not None]
    principal = Principal(
        party_id=party.id,
        audience=party.audience,
        scopes=frozenset(Scope(s) for s in api_key.scopes.split(",") if s),
        acting_for=frozenset(buyers),
    )
    if cache is not None:
        cache.keep(parts[1], secret_hash, principal)
    return principal


async def revoke_api_key(session: AsyncSession, *, principal: Principal, key_id: str) -> None:
    """Revoke one of the caller's own keys (ops may revoke any)."""
    api_key = await session.get(ApiKey, key_id)
    if api_key is None or not principal.can_see(api_key.party_id):
        raise NotFound(f"no API key '{key_id}'", field="key_id")
    api_key.revoked_at = clock.now()
    session.add(api_key)
    await commit(session)
    _forget_keys(session, [key_id])


async def get_party(session: AsyncSession, *, principal: Principal, party_id: str) -> Party:
    """A party the caller is, acts for, or (ops) any party."""
    party = await session.get(Party, party_id)
    if party is None or not principal.can_see(party.id):
        raise NotFound(f"no party '{party_id}'", field="party")
    return party


async def list_parties(session: AsyncSession, *, principal: Principal) -> list[Party]:
    """The parties the caller may see."""
    statement = select(Party).order_by(col(Party.name))
    if not principal.is_ops:
        statement = statement.where(col(Party.id).in_(sorted(principal.visible_party_ids)))
    return list((await session.exec(statement)).all())


async def party_names(
    session: AsyncSession, *, principal: Principal, party_ids: Iterable[str]
) -> dict[str, str]:
    """The names of parties the caller may see, by id, in one statement."""
    wanted = sorted(p for p in set(party_ids) if principal.can_see(p))
    if not wanted:
        return {}
    statement = select(Party.id, Party.name).where(col(Party.id).in_(wanted))
    return dict((await session.exec(statement)).all())


async def update_party(
    session: AsyncSession,
    *,
    principal: Principal,
    party_id: str,
    name: str | None = None,
    email: str | None = None,
) -> Party:
    """Rename a party or change its e-mail address (operations staff)."""
    principal.require_ops()
    party = await get_party(session, principal=principal, party_id=party_id)
    if name is not None:
        if not name.strip():
            raise InvalidRequest("a party's name cannot be empty", field="name")
        party.name = name
    if email is not None:
        party.email = email or None
    session.add(party)
    await commit(session)
    return party


async def delete_party(session: AsyncSession, *, principal: Principal, party_id: str) -> None:
    """Remove a party that nothing refers to, not even an API key (operations staff)."""
    principal.require_ops()
    party = await get_party(session, principal=principal, party_id=party_id)
    for table in SQLModel.metadata.tables.values():
        for key in table.foreign_keys:
            if key.column.table.name != Party.__tablename__:
                continue
            uses = select(func.count()).select_from(table).where(key.parent == party.id)
            if (await session.exec(uses)).one():
                raise Conflict(
                    f"party '{party.id}' is referred to by {table.name} rows", code="PARTY_IN_USE"
                )
    await session.delete(party)
    await commit(session)
