"""The PostgreSQL store's connections: a pool, a cheap check before each use, clear errors.

Connections come from a ``psycopg_pool`` pool in autocommit mode, so one
statement is one round trip and one commit. Several statements (only the
background writer of deferred records sends them) go in a pipeline: one
implicit transaction, though psycopg's pipeline costs more than one plain
round trip, which is why the hot paths fold their writes into one statement
instead. Before a
connection is used, its socket is checked without a round trip: a server
that ended the session (``pg_terminate_backend``, a restart) has said so on
the socket, and such a connection is replaced by a fresh one.
"""

from __future__ import annotations

import logging
import select
import weakref
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from .._errors import StoreError
from .postgres_deferred import Statement
from .postgres_schema import connect_error, describe, server

log = logging.getLogger("waku")

Connection = psycopg.Connection[Any]


def connect_options(dsn: str) -> dict[str, Any]:
    """Autocommit, plus a connect timeout and application name unless the DSN sets them."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error as error:
        raise StoreError(f"Bad PostgreSQL DSN for {server(dsn)}: {describe(error)}") from None
    options: dict[str, Any] = {"autocommit": True}
    if "connect_timeout" not in params:
        options["connect_timeout"] = 10
    if "application_name" not in params:
        options["application_name"] = "waku"
    return options


def first_connection(dsn: str, options: dict[str, Any]) -> Connection:
    """One connection outside the pool (to set the schema up); a StoreError naming the server."""
    try:
        return psycopg.connect(dsn, **options)
    except psycopg.Error as error:
        raise connect_error(error, dsn) from None


class Connections:
    """The pool of one store: ``run`` sends statements on a live connection, one round trip."""

    def __init__(
        self,
        dsn: str,
        options: dict[str, Any],
        *,
        label: str,
        min_size: int,
        max_size: int,
        timeout: float,
    ) -> None:
        self.server = server(dsn)
        self._label = label
        self._timeout = timeout
        self._pool: ConnectionPool[Any] = ConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            kwargs=options,
            timeout=timeout,
            name=label,
            open=False,
        )
        self._pool.open()
        self.closed = False

    @property
    def max_size(self) -> int:
        """The most connections the pool opens at once."""
        return self._pool.max_size

    def close(self) -> None:
        """Close every connection; later calls raise StoreError."""
        self.closed = True
        self._pool.close()

    def run(self, statements: list[Statement], where: str, *, write: bool) -> list[Any]:
        """Run statements in one transaction and one round trip; the last one's rows.

        A read whose connection turns out to be lost is retried once on a
        new connection; a write is not, since it may have been committed.
        ``where`` names what is read or written, for errors.
        """
        for attempt in (1, 2):
            conn = self._checkout()
            try:
                return execute(conn, statements)
            except psycopg.Error as error:
                lost = isinstance(error, psycopg.OperationalError) and conn.closed
                if lost:
                    log.warning(
                        "Lost the connection to PostgreSQL at %s while %s %s: %s",
                        self.server,
                        "writing" if write else "reading",
                        where,
                        describe(error),
                    )
                if lost and not write and attempt == 1:
                    continue
                raise self._failure(error, where, write=write, lost=lost) from None
            finally:
                self._pool.putconn(conn)
        raise AssertionError("unreachable")

    def _checkout(self) -> Connection:
        """A pool connection whose session the server has not ended."""
        if self.closed:
            raise StoreError(f"{self._label} is closed")
        for _ in range(self._pool.max_size + 1):
            try:
                conn: Connection = self._pool.getconn()
            except PoolTimeout:
                raise StoreError(
                    f"No connection to PostgreSQL at {self.server} within {self._timeout:g} s: "
                    f"all {self._pool.max_size} connections of the pool are busy or the server "
                    "cannot be reached; raise max_size or pool_timeout, or check the server"
                ) from None
            except PoolClosed:
                raise StoreError(f"{self._label} is closed") from None
            if not ended(conn):
                return conn
            log.warning(
                "A connection to PostgreSQL at %s was closed by the server; replacing it",
                self.server,
            )
            conn.close()
            self._pool.putconn(conn)  # a closed connection is dropped; the pool makes a new one
        last: Connection = self._pool.getconn()
        return last

    def _failure(self, error: psycopg.Error, where: str, *, write: bool, lost: bool) -> StoreError:
        if lost and write:
            return StoreError(
                f"The connection to PostgreSQL at {self.server} was lost while writing {where} "
                f"({describe(error)}); it may or may not have been stored. Run the workflow "
                "again: a step whose result was stored is replayed, any other runs again"
            )
        action = "write" if write else "read"
        return StoreError(
            f"PostgreSQL at {self.server} could not {action} {where}: {describe(error)}"
        )


# One cursor per pooled connection, kept for its next use: a cursor costs more to
# make than a short statement costs to send.
_cursors: weakref.WeakKeyDictionary[Connection, Any] = weakref.WeakKeyDictionary()


def execute(conn: Connection, statements: list[Statement]) -> list[Any]:
    """One statement as is, several in a pipeline: one round trip, one implicit transaction."""
    cursor: Any
    if len(statements) == 1:
        cursor = _cursors.get(conn)
        if cursor is None or cursor.closed:
            cursor = _cursors[conn] = conn.cursor()
        cursor.execute(*statements[0], binary=True)
    else:
        with conn.pipeline():
            for query, args in statements:
                cursor = conn.execute(query, args, binary=True)
    return cursor.fetchall() if cursor.description else []


def ended(conn: Connection) -> bool:
    """True when the server ended the session: checked without a round trip.

    An idle connection's socket has nothing to read unless the server sent
    something on its own, such as the error that ends a terminated session;
    only then is the connection pinged.
    """
    if conn.closed:
        return True
    try:
        fd = conn.fileno()
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            readable = bool(poller.poll(0))
        else:  # pragma: no cover - Windows
            readable = bool(select.select([fd], [], [], 0)[0])
        if readable:
            conn.execute("SELECT 1")
    except (psycopg.Error, OSError, ValueError):
        return True
    return False
