"""SQLAlchemy's aiosqlite dialect with one trip to aiosqlite's thread per statement.

The stock adapter makes four trips for a statement (create a cursor, execute, fetch, close) and
one for every commit or rollback, even when SQLite has no transaction open. Each trip queues a
call for aiosqlite's thread and then wakes the event loop to hand back the answer; those
wake-ups cost more CPU than a small query itself. Here a statement is one call in that thread
(cursor, execute, fetch, close) and a commit or rollback with no transaction open (a read, or
the pool's reset when a connection returns) makes no trip at all. Everything still runs in
aiosqlite's thread, so a writer waiting on SQLite's lock never blocks the event loop, and the
`sqlite3` connection does exactly what it did before: same statements, same transactions.

Whether a transaction is open is learnt from the calls this adapter sends to the thread, so the
`aiosqlite` connection must be used through SQLAlchemy only (the platform never takes the raw
driver connection). Uses two private attributes of `aiosqlite.Connection` (`_execute`, `_conn`),
as SQLAlchemy's own dialect does (`_tx`, `_conn`); pyproject.toml pins aiosqlite's versions and
tests/core/test_sqlite_driver.py checks them."""

import sqlite3
from collections import deque
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    AsyncAdapt_aiosqlite_ss_cursor,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# The drivername that `make_engine` gives `sqlite+aiosqlite` URLs; users' URLs stay as they are.
DRIVERNAME = "sqlite+aiosqlite_onehop"

# (rows or None, description, rowcount, lastrowid) of one statement.
_Outcome = tuple[list[Any] | None, Any, int, int | None]


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """aiosqlite's adapted connection that knows, without asking the thread, whether SQLite
    has a transaction open."""

    # `_submitted` counts the calls queued for the thread (written on the event loop only);
    # `_settled` is (the count of the last call the thread finished, whether a transaction was
    # open after it), written by the thread as one tuple. When the two counts agree nothing is
    # in flight and `_settled` tells the truth; any other call to the thread bumps the count
    # and so forces the next commit or rollback to make its trip.
    __slots__ = ("_settled", "_submitted")

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._submitted = 0
        self._settled: tuple[int, bool] = (-1, True)

    async def _trip(self, function: Any, *args: Any) -> Any:
        """`function(sqlite3_connection, *args)`, run in aiosqlite's thread in one trip."""
        self._submitted += 1
        driver: Any = self._connection  # an aiosqlite.Connection
        return await driver._execute(self._settle, self._submitted, driver, function, args)

    def _settle(
        self, seq: int, driver: aiosqlite.Connection, function: Any, args: tuple[Any, ...]
    ) -> Any:
        # Runs in aiosqlite's thread.
        connection: sqlite3.Connection = driver._conn
        try:
            return function(connection, *args)
        finally:
            self._settled = (seq, connection.in_transaction)

    def _nothing_to_end(self) -> bool:
        seq, in_transaction = self._settled
        return seq == self._submitted and not in_transaction

    def rollback(self) -> None:
        # sqlite3 itself does nothing when no transaction is open; this spares the trip.
        if self._nothing_to_end() or not self._connection._connection:
            return
        try:
            await_(self._trip(sqlite3.Connection.rollback))
        except Exception as error:
            self._handle_exception(error)

    def commit(self) -> None:
        if self._nothing_to_end() or not self._connection._connection:
            return
        try:
            await_(self._trip(sqlite3.Connection.commit))
        except Exception as error:
            self._handle_exception(error)

    # The stock ways to the thread that do not report back: count them, so the next commit
    # or rollback goes to the thread.
    @property
    def isolation_level(self) -> str | None:
        return super().isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._submitted += 1
        AsyncAdapt_aiosqlite_connection.isolation_level.fset(self, value)  # type: ignore[attr-defined]

    def create_function(self, *args: Any, **kw: Any) -> None:
        self._submitted += 1
        super().create_function(*args, **kw)


def _run(connection: sqlite3.Connection, operation: Any, parameters: Any, many: bool) -> _Outcome:
    """A statement from cursor to close, in aiosqlite's thread."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return rows, description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement is one call in aiosqlite's thread; the rows, description,
    rowcount and lastrowid come back with it and the `sqlite3` cursor is already closed."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    _adapt_connection: OneHopConnection

    def __init__(self, adapt_connection: Any) -> None:
        # No cursor is made here: the statement makes its own in the thread.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return None  # the thread closed the cursor already

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._one_trip(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        self._one_trip(operation, seq_of_parameters, many=True)

    def _one_trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        try:
            rows, self._description, self._rowcount, self._lastrowid = await_(
                self._locked(operation, parameters, many)
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows = deque(rows) if rows is not None else deque()

    async def _locked(self, operation: Any, parameters: Any, many: bool) -> _Outcome:
        async with self._adapt_connection._execute_mutex:
            outcome: _Outcome = await self._adapt_connection._trip(
                _run, operation, parameters, many
            )
            return outcome

    def nextset(self) -> None:
        raise NotImplementedError("sqlite3 has no further result sets")

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None  # sqlite3 ignores them too


class OneHopServerSideCursor(AsyncAdapt_aiosqlite_ss_cursor):
    """The stock server-side cursor (one trip per fetch), counted so that a transaction its
    statement opens is never taken for closed."""

    __slots__ = ()

    _adapt_connection: OneHopConnection

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._adapt_connection._submitted += 1
        return super().execute(operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._adapt_connection._submitted += 1
        return super().executemany(operation, seq_of_parameters)


OneHopConnection._cursor_cls = OneHopCursor
OneHopConnection._ss_cursor_cls = OneHopServerSideCursor


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI shim whose connections are `OneHopConnection`s."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        stock = super().connect(*arg, **kw)
        return OneHopConnection(self, stock._connection)


class OneHopSQLiteDialect(SQLiteDialect_aiosqlite):
    """`sqlite+aiosqlite` with one trip to aiosqlite's thread per statement."""

    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneHopDBAPI:
        return OneHopDBAPI(aiosqlite, sqlite3)


registry.register(DRIVERNAME.replace("+", "."), __name__, OneHopSQLiteDialect.__name__)
