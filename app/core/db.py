"""Engines, sessions and column types shared by every table of the core."""

import json
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from pydantic import ValidationError
from sqlalchemy import BindParameter, Column, DateTime, Integer, String, bindparam, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.core import sqlite_driver
from app.core.errors import Conflict, InvalidRequest
from app.core.text import check_text, column_type_chars

if TYPE_CHECKING:
    from app.core.catalog import OfferingCache
    from app.core.parties import PrincipalCache
    from app.core.partners import PartnerGateway

_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(prefix: str) -> str:
    """A random, URL-safe identifier such as `ord_5k2q9x7m1c8vz3hd`."""
    return prefix + "_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always returns timezone-aware datetimes, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use app.core.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # As `process_result_value`, in one call a value rather than two: a page reads hundreds.
        parse = self.impl_instance.result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if type(value) is str:
                # SQLite's text, read with its zone in one step: several times faster than
                # parsing it and then replacing the zone, and a page reads a thousand.
                try:
                    read = datetime.fromisoformat(value + "+00:00")
                except ValueError:
                    pass  # not ISO 8601: the dialect's own parsing says what it is
                else:
                    if read.tzinfo is UTC:  # not a bare date
                        return read
            if parse is not None:
                value = parse(value)
            if value is None:
                return None
            aware: datetime = value
            if aware.tzinfo is not UTC:
                aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            return aware

        return process


class StrEnumType(TypeDecorator[StrEnum]):
    """Stores a `StrEnum` as its value and reads it back as the enum member."""

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[StrEnum], length: int = 40) -> None:
        super().__init__(length)
        self.enum_class = enum_class
        self.length = length

    def process_bind_param(self, value: StrEnum | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum_class(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if self.impl_instance.result_processor(dialect, coltype) is not None:
            return super().result_processor(dialect, coltype)
        # The driver hands back the stored string as it is: a member found by its value in a
        # dictionary, where calling the enum class costs several times more for every row read.
        members = {member.value: member for member in self.enum_class}
        convert = self.enum_class

        def process(value: str | None) -> StrEnum | None:
            if value is None:
                return None
            found = members.get(value)
            return found if found is not None else convert(value)

        return process


def version_column() -> "Column[int]":
    """A row version for optimistic locking: pass it as both the field's `sa_column` and the
    mapper's `version_id_col`, so that of two concurrent updates of a row only one commits."""
    return Column("version", Integer, nullable=False, default=1)


def async_url(url: str) -> str:
    """The async-driver form of a database URL (aiosqlite, psycopg)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def sync_url(url: str) -> str:
    """The sync-driver form of a database URL, for migrations."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


@event.listens_for(Session, "before_flush")
def _refuse_unstorable_text(session: Session, _context: Any, _instances: Any) -> None:
    """No text reaches a table longer than its column or holding a NUL character, which
    PostgreSQL refuses with an error (SQLite would store it): the caller hears which field."""
    for instance in (*session.new, *session.dirty):
        state = sa_inspect(instance)
        # Only values already in memory: reading an expired one would query the database.
        loaded = state.dict
        for attribute in state.mapper.column_attrs:
            value = loaded.get(attribute.key)
            if isinstance(value, str):
                length = column_type_chars(attribute.columns[0].type)
                check_text(value, field=attribute.key, max_chars=length)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def read_json(text: str | bytes) -> Any:
    """A JSON column's value: orjson's reading, several times faster than the standard
    library's, which still reads what orjson refuses (NaN, integers beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def string_slots(count: int) -> int:
    """How many parameters of `string_parameters` hold `count` values: the next power of two,
    so that a few statements of a shape serve every count."""
    return 1 << (count - 1).bit_length() if count > 1 else 1


def string_parameters(name: str, slots: int) -> list[BindParameter[str]]:
    """`:name_0` to `:name_<slots - 1>`, for `column.in_(...)` in a statement built once per
    `string_slots` and run with `strings_bound(name, values)`. An expanding parameter would
    serve every count with one statement, but SQLAlchemy then renders its SQL anew on every
    execution, which costs more CPU than a read by id takes to run."""
    return [bindparam(f"{name}_{i}", type_=String()) for i in range(slots)]


def strings_bound(name: str, values: Sequence[str]) -> dict[str, str]:
    """The values of `string_parameters(name, string_slots(len(values)))`, the last repeated
    in the spare slots (`x IN (a, b, b, b)` is `x IN (a, b)`)."""
    slots = string_slots(len(values))
    return {f"{name}_{i}": values[min(i, len(values) - 1)] for i in range(slots)}


def make_engine(url: str, *, pool_size: int | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine with SQLite in WAL mode, a busy timeout and foreign keys on, keeping
    `pool_size` connections open (SQLAlchemy's default where None)."""
    parsed = make_url(async_url(url))
    if pool_size is not None and parsed.database not in (None, "", ":memory:"):
        # An in-memory database has a single connection, and no pool to size.
        kwargs["pool_size"] = pool_size
    if parsed.drivername == "sqlite+aiosqlite":
        # The same driver with one trip to its thread per statement (see sqlite_driver).
        parsed = parsed.set(drivername=sqlite_driver.DRIVERNAME)
    # Parameters carry customer data: an error (and its log line) shows the statement alone.
    engine = create_async_engine(
        parsed, **({"json_deserializer": read_json} | kwargs), hide_parameters=True
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


@dataclass(frozen=True)
class CoreConfig:
    """What the application configures in the core: `Database.connect` takes it and every
    session carries it (see `config_of`), so no core function reads the settings itself."""

    # Within this distance of an on-net building a place is near-net: a short build reaches it.
    near_net_km: float = 2.0
    # The adapter to partner carriers' APIs; None: off-net places are priced as our own build.
    partners: "PartnerGateway | None" = None
    # How long a partner's answer about an access (its POQ and firm quote) is used before the
    # partner is asked again; a partner's own quote validity, when shorter, wins.
    partner_quote_ttl: timedelta = timedelta(minutes=15)
    # Principals by API key for a few seconds; None: every request looks its key up.
    principals: "PrincipalCache | None" = None
    # The catalog's offerings between changes; None: every read that needs them reads them.
    offerings: "OfferingCache | None" = None


_CONFIG = "lumen.core_config"


def config_of(session: AsyncSession | Session) -> CoreConfig:
    """The core configuration that came with a session's database."""
    found = session.info.get(_CONFIG)
    return found if isinstance(found, CoreConfig) else CoreConfig()


@dataclass
class Database:
    """One engine and its session factory, owned by the running application."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        config: CoreConfig | None = None,
        pool_size: int | None = None,
        **engine_kwargs: Any,
    ) -> "Database":
        """Open (lazily) a database by URL, keeping `pool_size` connections open; its sessions
        carry `config`."""
        engine = make_engine(url, pool_size=pool_size, **engine_kwargs)
        sessions = async_sessionmaker(
            engine,
            class_=AsyncSession,
            expire_on_commit=False,
            info={_CONFIG: config or CoreConfig()},
        )
        return cls(engine, sessions)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for `async with database.session() as session:`; leaving the block rolls
        back whatever was left uncommitted."""
        session = self.sessions()
        try:
            yield session
        finally:
            # Closing rolls back: the connection's transaction ends as it goes back to the
            # pool. Awaited here, not through the session's own `async with`, which runs the
            # close in a task of its own (a tenth of a millisecond, on every request). A
            # cancellation that lands inside the close makes the pool discard the connection.
            await session.close()

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        from sqlalchemy import text

        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


Record = TypeVar("Record", bound=SQLModel)


async def add_unless_stored(
    session: AsyncSession, row: Record, stored: SelectOfScalar[Record]
) -> Record:
    """`row`, flushed; or the row that `stored` finds when a concurrent transaction stored one
    under the same unique key first (get-or-create without a race)."""
    try:
        # The savepoint keeps the caller's transaction usable when the insert loses the race.
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = (await session.exec(stored)).first()
        if found is None:
            raise
        return found
    return row


async def commit(session: AsyncSession) -> None:
    """Commit the unit of work; a lost race on a versioned row becomes a `Conflict`."""
    try:
        await session.commit()
    except StaleDataError as exc:
        await session.rollback()
        raise Conflict(
            "the object was changed by another request; read it again and retry"
        ) from exc


def validated(record: type[Record], values: dict[str, Any]) -> Record:
    """`values` as a record (a model without a table), or `InvalidRequest` naming the field."""
    try:
        return record.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidRequest(f"{field}: {first['msg']}", field=field) from exc
