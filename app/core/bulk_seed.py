"""Many orders at once, for sizing and benchmarks: a few orders are placed and delivered
through the core as a buyer's would be, and every other order is a copy of one of them, with
ids of its own, written with bulk inserts.

The first party of each audience (carrier, enterprise, developer) places the templates; each
other party gets its own party row, sites and billing account, copied from its audience's
template party. A copy carries every row that placing and delivering its template wrote
(order, items, products, work orders, rated charges, events, kept values), so it reads on
every face like an order placed through the API."""

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, Table, insert, select, text
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.sqltypes import AutoString

from app.core import clock, demo
from app.core.db import Database
from app.core.events import Event
from app.core.kept import KeptValue
from app.core.parties import (
    Audience,
    Channel,
    Party,
    Principal,
    create_party,
    issue_api_key,
)

# The audiences of the seeded parties, in turn; each has its own channel.
AUDIENCES = (
    (Audience.CARRIER, Channel.SONATA),
    (Audience.ENTERPRISE, Channel.TMF),
    (Audience.DEVELOPER, Channel.GRAPHQL),
)
# Rows a party has once, whatever its number of orders.
PER_PARTY_TABLES = frozenset({"site", "billingaccount"})
# Written apart from the orders: the party's keys, bills of a billing cycle.
SKIPPED_TABLES = frozenset({"apikey", "bill", "billingcycle"})
# SQLite's page cache while seeding, in KiB.
SQLITE_CACHE_KIB = 256 * 1024
# Orders per insert batch: one INSERT per table per batch.
BATCH_ORDERS = 2000
# Between one order of a party and the next older one.
SPACING = timedelta(minutes=53)
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
# The name of the key each template party gets (`parties.seeded_key` makes it again).
KEY_NAME = "seed"


def template_name(audience: Audience) -> str:
    """The name of the party of an audience that places the template orders."""
    return f"Seeded {audience} 0"


def default_parties(orders: int) -> int:
    """A thousand orders per party, at least one party."""
    return max(1, orders // 1000)


@dataclass(frozen=True)
class Seeded:
    """What a bulk seed made: the parties of each audience (in the order they were made) and
    the API key of the first of each."""

    keys: dict[Audience, str]
    party_ids: dict[Audience, list[str]]
    orders: int
    parties: int


@dataclass
class _Row:
    """A captured row as a recipe for copies: what stays, what is an id, a time, a document."""

    table: Table
    constant: dict[str, Any]
    ids: list[tuple[str, str]]
    times: list[tuple[str, datetime]]
    documents: list[tuple[str, Any]]

    def copy(self, ids: dict[str, str], delta: timedelta) -> dict[str, Any]:
        """The row's values for a copy: its ids renewed by `ids`, its moments moved by `delta`."""
        values = dict(self.constant)
        for key, old in self.ids:
            values[key] = ids[old]
        for key, moment in self.times:
            values[key] = moment + delta
        for key, document in self.documents:
            values[key] = _remap(document, ids)
        return values


@dataclass
class _Template:
    """The rows one template order wrote, and the ids among them that each copy renews."""

    rows: list[_Row] = field(default_factory=list)
    own_ids: list[str] = field(default_factory=list)


def _remap(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, dict):
        return {key: _remap(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_remap(item, ids) for item in value]
    return value


def _mentions(value: Any, known: set[str]) -> bool:
    if isinstance(value, str):
        return value in known
    if isinstance(value, dict):
        return any(_mentions(item, known) for item in value.values())
    if isinstance(value, list):
        return any(_mentions(item, known) for item in value)
    return False


def _recipe(table: Table, values: dict[str, Any], known: set[str]) -> _Row:
    row = _Row(table, {}, [], [], [])
    for key, value in values.items():
        if isinstance(value, str) and value in known:
            row.ids.append((key, value))
        elif isinstance(value, datetime):
            row.times.append((key, value))
        elif isinstance(value, dict | list) and _mentions(value, known):
            row.documents.append((key, value))
        else:
            row.constant[key] = value
    return row


def _owned_tables() -> list[Table]:
    """The tables whose rows belong to a party, in the order they are inserted."""
    return [
        table
        for table in SQLModel.metadata.sorted_tables
        if "party_id" in table.c and table.name not in SKIPPED_TABLES
    ]


def _renewed(table: Table) -> list[str]:
    """The columns of a table that hold a row's own id: a string key, or a unique string."""
    return [
        column.name
        for column in table.c
        if (column.primary_key or column.unique) and isinstance(column.type, String | AutoString)
    ]


async def _rows_of(session: AsyncSession, party_id: str) -> dict[Table, list[dict[str, Any]]]:
    found: dict[Table, list[dict[str, Any]]] = {}
    for table in _owned_tables():
        # In key order: an event's place in its story is its sequence number.
        result = await (await session.connection()).execute(
            select(table).where(table.c.party_id == party_id).order_by(*table.primary_key.columns)
        )
        found[table] = [dict(row) for row in result.mappings().all()]
    return found


def _key(table: Table, values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(values[column.name] for column in table.primary_key.columns)


async def _kept_values(session: AsyncSession, row_ids: Iterable[str]) -> list[dict[str, Any]]:
    table: Table = KeptValue.__table__  # type: ignore[attr-defined]  # SQLModel tables have one
    wanted = sorted(set(row_ids))
    if not wanted:
        return []
    result = await (await session.connection()).execute(
        select(table).where(table.c.row_id.in_(wanted))
    )
    return [dict(row) | {"id": None} for row in result.mappings().all()]


@dataclass
class _PartyTemplate:
    """A template party: its row, its own rows (sites, billing account) and the template
    orders it placed, as recipes."""

    party: dict[str, Any]
    rows: list[_Row]
    own_ids: list[str]
    orders: list[_Template]


Captured = list[tuple[Table, dict[str, Any]]]


async def _place_templates(
    session: AsyncSession, *, principal: Principal, channel: Channel, shapes: int
) -> list[Captured]:
    """Place and deliver `shapes` orders of the demo history; the rows each one wrote."""
    started = clock.now().replace(microsecond=0) - timedelta(days=95)
    captured: list[Captured] = []
    try:
        for shape in range(shapes):
            before = {
                table: {_key(table, values) for values in rows}
                for table, rows in (await _rows_of(session, principal.party_id)).items()
            }
            await demo.place_delivered(
                session,
                principal=principal,
                channel=channel,
                shape=shape,
                moment=started + timedelta(hours=shape),
                external_id=f"SEED-{demo.HISTORY[shape][2].upper()}",
            )
            after = await _rows_of(session, principal.party_id)
            captured.append(
                [
                    (table, values)
                    for table, rows in after.items()
                    for values in rows
                    if _key(table, values) not in before[table]
                ]
            )
    finally:
        clock.set_clock(None)
    return captured


async def _template_party(
    session: AsyncSession, *, party_id: str, audience: Audience, channel: Channel, shapes: int
) -> _PartyTemplate:
    """Create a party that places `shapes` orders through the core, and keep what they wrote
    as recipes for copies."""
    await create_party(
        session,
        name=template_name(audience),
        audience=audience,
        party_id=party_id,
        email=f"api@{party_id}.example",
    )
    principal = Principal(party_id=party_id, audience=audience)
    captured = await _place_templates(session, principal=principal, channel=channel, shapes=shapes)
    party_rows = [(t, v) for rows in captured for t, v in rows if t.name in PER_PARTY_TABLES]
    party_own = [values[c] for table, values in party_rows for c in _renewed(table)]
    party_known = {*party_own, party_id}
    kept: Table = KeptValue.__table__  # type: ignore[attr-defined]  # SQLModel tables have one
    orders: list[_Template] = []
    for rows in captured:
        mine = [(t, v) for t, v in rows if t.name not in PER_PARTY_TABLES]
        own = [values[c] for table, values in mine for c in _renewed(table)]
        mine += [(kept, values) for values in await _kept_values(session, own)]
        known = party_known | set(own)
        recipes = []
        for table, values in mine:
            if table.name == Event.__tablename__:
                # The copied history was delivered long ago: nothing is left to fan out.
                values = {k: v for k, v in values.items() if k != "seq"} | {"fanned_out": True}
            elif table is kept:
                values = {k: v for k, v in values.items() if k != "id"}
            recipes.append(_recipe(table, values, known))
        orders.append(_Template(recipes, own))
    party_table: Table = Party.__table__  # type: ignore[attr-defined]  # SQLModel tables have one
    party = (
        (
            await (await session.connection()).execute(
                select(party_table).where(party_table.c.id == party_id)
            )
        )
        .mappings()
        .one()
    )
    return _PartyTemplate(
        party=dict(party),
        rows=[_recipe(table, values, party_known) for table, values in party_rows],
        own_ids=party_own,
        orders=orders,
    )


class _Ids:
    """Fresh ids shaped like the core's (`ord_` and 16 characters), unique to this run."""

    def __init__(self) -> None:
        self.run = "".join(secrets.choice(_ALPHABET) for _ in range(4))
        self.counter = 0

    def renew(self, old_ids: Iterable[str]) -> dict[str, str]:
        """A new id for each old one, with the old one's prefix."""
        fresh: dict[str, str] = {}
        for old in old_ids:
            self.counter += 1
            number, digits = self.counter, []
            while number:
                number, digit = divmod(number, 36)
                digits.append(_ALPHABET[digit])
            tail = "".join(reversed(digits)).rjust(12, "0")
            fresh[old] = f"{old.partition('_')[0]}_{self.run}{tail}"
        return fresh


class _Batch:
    """Rows waiting to be inserted, by table; inserted in the order the tables depend on."""

    def __init__(self) -> None:
        self.rows: dict[Table, list[dict[str, Any]]] = {}
        self.orders = 0

    def add(self, table: Table, values: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(values)

    async def write(self, session: AsyncSession) -> int:
        """Insert every waiting row (one statement per table) and commit; the orders written."""
        connection = await session.connection()
        if connection.dialect.name == "sqlite":
            # The indexes of a big file are updated at random places: with SQLite's default
            # page cache (2 MB) most of the time goes to reading their pages again.
            await connection.execute(text(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}"))
        for table in SQLModel.metadata.sorted_tables:
            rows = self.rows.get(table)
            if rows:
                await connection.execute(insert(table), rows)
        await session.commit()
        written, self.orders = self.orders, 0
        self.rows.clear()
        return written


def _shares(orders: int, parties: int) -> list[int]:
    """How many orders each party gets: as even as can be."""
    each, extra = divmod(orders, parties)
    return [each + (1 if index < extra else 0) for index in range(parties)]


async def seed_orders(
    database: Database,
    *,
    orders: int,
    parties: int,
    secret: str,
    progress: Callable[[int], None] | None = None,
) -> Seeded:
    """Seed `orders` delivered orders across `parties` new parties (carriers, enterprises and
    developers in turn), in bulk; `progress` hears how many orders were written after each
    batch. The first party of each audience gets a reproducible API key from `secret`."""
    if orders < 1 or parties < 1 or parties > orders:
        raise ValueError("seed at least one order, and at least one order per party")
    ids = _Ids()
    shares = _shares(orders, parties)
    keys: dict[Audience, str] = {}
    party_ids: dict[Audience, list[str]] = {}
    templates: dict[Audience, _PartyTemplate] = {}
    async with database.session() as session:
        for index, (audience, channel) in enumerate(AUDIENCES[:parties]):
            party_id = f"pty_{ids.run}{index:012d}"
            shapes = min(len(demo.HISTORY), shares[index])
            templates[audience] = await _template_party(
                session, party_id=party_id, audience=audience, channel=channel, shapes=shapes
            )
            keys[audience] = await issue_api_key(
                session, party_id=party_id, name=KEY_NAME, secret_seed=secret
            )
        if progress is not None:
            progress(sum(min(len(demo.HISTORY), shares[i]) for i in range(len(templates))))
        batch = _Batch()
        party_table: Table = Party.__table__  # type: ignore[attr-defined]  # SQLModel tables have one
        for index, share in enumerate(shares):
            audience = AUDIENCES[index % len(AUDIENCES)][0]
            template = templates[audience]
            if index < len(AUDIENCES):
                # The template party placed its first orders itself.
                placed = len(template.orders)
                party_map = {template.party["id"]: template.party["id"]}
                party_map |= {own: own for own in template.own_ids}
                party_ids[audience] = [template.party["id"]]
            else:
                placed = 0
                party_id = f"pty_{ids.run}{index:012d}"
                party_map = {template.party["id"]: party_id} | ids.renew(template.own_ids)
                party_ids[audience].append(party_id)
                # Parties joined in turn, a minute apart.
                joined = template.party["created_at"] - timedelta(minutes=index)
                batch.add(
                    party_table,
                    template.party
                    | {
                        "id": party_id,
                        "name": f"Seeded {audience} {index}",
                        "email": f"api@{party_id}.example",
                        "created_at": joined,
                    },
                )
                for recipe in template.rows:
                    batch.add(recipe.table, recipe.copy(party_map, -timedelta(minutes=index)))
            # Oldest first, so that the events' sequence follows their moments.
            for number in reversed(range(placed, share)):
                shape = template.orders[number % len(template.orders)]
                order_map = party_map | ids.renew(shape.own_ids)
                # Older the further down the party's list, a second apart between parties.
                delta = -(SPACING * number) - timedelta(seconds=index)
                for recipe in shape.rows:
                    batch.add(recipe.table, recipe.copy(order_map, delta))
                batch.orders += 1
                if batch.orders >= BATCH_ORDERS:
                    written = await batch.write(session)
                    if progress is not None:
                        progress(written)
        written = await batch.write(session)
        if progress is not None:
            progress(written)
        # The planner's statistics, so that it knows a party's history from an entity's (SQLite
        # has none until asked; PostgreSQL would gather them later by itself).
        connection = await session.connection()
        if connection.dialect.name == "sqlite":
            # A sample of each index is enough for the planner, and quick on a big file.
            await connection.execute(text("PRAGMA analysis_limit=1000"))
        await connection.execute(text("ANALYZE"))
        await session.commit()
    return Seeded(keys=keys, party_ids=party_ids, orders=orders, parties=parties)
