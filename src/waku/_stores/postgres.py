"""PostgresStore: one PostgreSQL database shared by many processes on many machines.

How a step is written: ``store_start`` is *deferred* (kept in memory, see
``postgres_deferred``) and written by the step's ``store_result`` in the same
SQL statement, so a completed step costs one round trip and one commit, and
a crash during a step loses at most the diagnostic record of its start.
Workflow statuses are deferred the same way and ride in the workflow's next
write. Lease statements commit without waiting for the WAL to reach the
disk, since a lease means nothing after the server crashes. How connections
are pooled, checked and replaced: ``postgres_connections``.
"""

from __future__ import annotations

import atexit
import logging
import math
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._codec import Codec, JsonCodec
from .._errors import InvalidTokenError, StoreError, TokenAlreadyUsedError
from .base import STATUSES, owner_is_dead, token_hash
from .postgres_inspect import InspectRows
from .sqlite_options import check_lease_ttl, check_lease_wait, check_max_payload

try:
    import psycopg

    from .postgres_connections import Connections, connect_options, first_connection
    from .postgres_deferred import Args, Deferred, Statement
    from .postgres_schema import check_schema_name, describe, prepare, server
    from .postgres_sql import Statements
except ModuleNotFoundError as missing:  # the postgres extra is not installed
    if not (missing.name or "").startswith("psycopg"):
        raise
    _MISSING: ModuleNotFoundError | None = missing
else:
    _MISSING = None

log = logging.getLogger("waku")

_Self = TypeVar("_Self", bound="PostgresStore")

MAX_PAYLOAD = 16 * 1024 * 1024
"""Default largest payload (bytes) one record may hold; larger ones are refused."""

MAX_KEY_BYTES = 1024
"""Largest workflow name or id in UTF-8 bytes: both must fit in one B-tree index entry."""

# A step row's status, from the first byte of the record stored in it.
_STEP_STATUS = {
    ord("I"): "input",
    ord("R"): "succeeded",
    ord("E"): "failed",
    ord("W"): "waiting",
    ord("C"): "delivered",
}

_URL_OPTIONS: dict[str, Callable[[str], Any]] = {
    "schema": str,
    "lease_ttl": float,
    "lease_wait": float,
    "min_size": int,
    "max_size": int,
    "pool_timeout": float,
    "max_payload": int,
}


class PostgresStore(InspectRows):
    """A durable store in a PostgreSQL database, shared by processes on many machines.

    ``dsn``: a libpq connection string or ``postgresql://`` URL. ``schema``:
    the PostgreSQL schema holding Waku's tables, created on first use.
    ``lease_ttl``: seconds a crashed process on another host keeps a workflow
    locked (on this host a dead owner is taken over at once). ``lease_wait``:
    seconds to wait for another process's lease before ``WorkflowLockedError``.
    ``min_size``, ``max_size``: the connection pool's bounds; ``pool_timeout``:
    seconds to wait for a free connection. ``max_payload``: the largest record
    in bytes. A bad option raises ``ValueError`` (``TypeError`` for a wrong
    type) before any connection is tried; an unreachable server or a schema
    it cannot use raises ``StoreError``.

    Has every capability but queues: statuses, leases and reading back
    (``InspectStore``). Needs ``pip install 'waku[postgres]'``.
    """

    durable = True
    blocking = True

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "waku",
        codec: Codec | None = None,
        lease_ttl: float = 30.0,
        lease_wait: float = 0.0,
        min_size: int = 1,
        max_size: int = 10,
        pool_timeout: float = 30.0,
        max_payload: int = MAX_PAYLOAD,
    ) -> None:
        if _MISSING is not None:
            raise ImportError(
                "PostgresStore needs psycopg 3 and psycopg-pool: pip install 'waku[postgres]'"
            ) from _MISSING
        check_schema_name(schema)
        _check_pool(min_size, max_size, pool_timeout)
        self.schema = schema
        self.server = server(dsn)
        self.codec: Codec = codec or JsonCodec()
        self.lease_ttl = check_lease_ttl(lease_ttl)
        self.lease_wait = check_lease_wait(lease_wait)
        self.max_payload = check_max_payload(max_payload)
        options = connect_options(dsn)
        conn = first_connection(dsn, options)
        try:
            prepare(conn, schema)
            self._sql = Statements.render(schema, conn)
        except psycopg.Error as error:
            raise StoreError(
                f"Cannot set up the Waku schema {schema!r} in PostgreSQL at {self.server}: "
                f"{describe(error)}; {_schema_hint(error)}"
            ) from None
        finally:
            conn.close()
        self._db = Connections(
            dsn,
            options,
            label=repr(self),
            min_size=min_size,
            max_size=max_size,
            timeout=float(pool_timeout),
        )
        self._deferred = Deferred(self._write_deferred, self._sql.start, self._sql.status)
        self._close_lock = threading.Lock()
        # Deferred writes would be lost if the interpreter exits without close().
        self._at_exit = _close_at_exit(weakref.ref(self))
        atexit.register(self._at_exit)

    @classmethod
    def from_url(cls, rest: str) -> PostgresStore:
        """Open ``postgresql://user@host:port/db?schema=waku&max_size=20``.

        ``rest`` is what follows the scheme. Waku's options (``schema``,
        ``lease_ttl``, ``lease_wait``, ``min_size``, ``max_size``, ``pool_timeout``,
        ``max_payload``) are taken out of the query; the rest goes to libpq. A
        bad option raises StoreError naming the URL (with any password hidden).
        """
        base, _, query = f"postgresql://{rest}".partition("?")
        options: dict[str, Any] = {}
        passed: list[tuple[str, str]] = []
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key not in _URL_OPTIONS:
                passed.append((key, value))
                continue
            try:
                options[key] = _URL_OPTIONS[key](value)
            except ValueError:
                raise StoreError(
                    f"Bad value {value!r} for {key!r} in the PostgreSQL store URL {_hidden(base)!r}"
                ) from None
        dsn = base + ("?" + urlencode(passed) if passed else "")
        try:
            return cls(dsn, **options)
        except (ValueError, TypeError) as error:
            raise StoreError(f"Bad PostgreSQL store URL {_hidden(base)!r}: {error}") from None

    def __repr__(self) -> str:
        return f"PostgresStore({self.server!r}, schema={self.schema!r})"

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Write anything deferred, then close the pool. Calling it twice, or from
        several threads, is fine; later calls raise StoreError ("... is closed")."""
        with self._close_lock:
            if self._db.closed:
                return
            atexit.unregister(self._at_exit)
            self._deferred.close()
            try:
                self._deferred.flush()
            except StoreError:
                log.warning("%r could not write its deferred records before closing", self)
            finally:
                self._db.close()

    def flush(self) -> None:
        """Write deferred step starts and statuses now rather than with the next write."""
        self._deferred.flush()

    # -- the six StepStore methods ------------------------------------------------

    def store_start(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        """Record the step's input and count an attempt; never touches its stored result.

        Deferred: written with this step's result (in the same statement), or
        by the background writer within a quarter of a second, so it costs no
        round trip of its own; a crash before then loses only this diagnostic.
        """
        self._check(workflow_name, workflow_id, payload, step)
        args = (workflow_name, workflow_id, step, _function(payload), payload, time.time())
        self._deferred.add_start((workflow_name, workflow_id, step), args)

    def store_result(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        """Store ``payload`` as the step's result, replacing any earlier one; durable on return.

        One statement writes the result, the step's deferred start and the
        workflow's deferred status: one round trip, one commit. A payload
        over ``max_payload`` raises StoreError and stores nothing.
        """
        self._check(workflow_name, workflow_id, payload, step)
        key = (workflow_name, workflow_id)
        start, status = self._deferred.take(key, step)
        args: Args = (*key, step, _function(payload), _status(payload), payload, time.time())
        if start is not None:
            args = (*args, start[4], start[5])
        if status is None:
            query = self._sql.result if start is None else self._sql.start_and_result
        else:
            both = start is not None
            query = self._sql.status_and_start_and_result if both else self._sql.status_and_result
            args = (*status, *args)
        where = f"step {step} of workflow {workflow_name!r} id {workflow_id!r}"
        self._write_with(key, status, (query, args), where)

    def store_result_token(self, workflow_name: str, workflow_id: str, step: int) -> str:
        """Mint a 256-bit token for the step, commit its hash, and return the token.

        Committed before it returns, so a token handed out survives a crash.
        Every call mints a new token; earlier ones stay valid until spent.
        """
        self._check(workflow_name, workflow_id)
        token = secrets.token_urlsafe(32)
        args = (token_hash(token), workflow_name, workflow_id, step, time.time())
        where = f"a callback token of workflow {workflow_name!r} id {workflow_id!r} step {step}"
        self._db.run([(self._sql.mint_token, args)], where, write=True)
        return token

    def store_token_result(self, token: str, payload: bytes) -> tuple[str, str, int]:
        """Spend ``token`` and store ``payload`` as its step's result, in one statement.

        Returns ``(workflow_name, workflow_id, step)``. Exactly one of racing
        spenders (threads or machines) wins; the others get
        ``TokenAlreadyUsedError``. An unknown token raises ``InvalidTokenError``.
        A failing call changes nothing.
        """
        if len(payload) > self.max_payload:
            raise self._too_large(len(payload), "a callback payload")
        # A start put off before this token's step was written must not land after it.
        self._deferred.flush()
        try:
            digest = token_hash(token)
        except UnicodeEncodeError:
            raise InvalidTokenError("Malformed callback token: it is not valid text") from None
        args = {
            "hash": digest,
            "now": time.time(),
            "function": _function(payload),
            "status": _status(payload),
            "payload": payload,
        }
        rows = self._db.run([(self._sql.spend_token, args)], "a callback's result", write=True)
        if rows:
            name, wid, step = rows[0]
            return (name, wid, int(step))
        issued = self._db.run([(self._sql.token, (digest,))], "a callback token", write=False)
        if not issued:
            raise InvalidTokenError(
                f"Unknown callback token: it was never issued by the PostgreSQL store "
                f"(schema {self.schema!r} at {self.server}). Check that the caller uses the "
                "token it was given."
            )
        name, wid, step = issued[0]
        raise TokenAlreadyUsedError(
            f"This callback token of workflow {name!r} id {wid!r} step {step} was already "
            "used; this delivery changed nothing and can be acknowledged."
        )

    def get_steps(self, workflow_name: str, workflow_id: str) -> Mapping[int, bytes]:
        """Every stored result of the workflow by step, read in one query.

        Includes step 0 (input) and callback markers (negative steps); not
        starts. An unknown workflow gives an empty dict.
        """
        self._check(workflow_name, workflow_id)
        where = f"the steps of workflow {workflow_name!r} id {workflow_id!r}"
        rows = self._db.run([(self._sql.steps, (workflow_name, workflow_id))], where, write=False)
        return dict(rows)

    def get_result(self, workflow_name: str, workflow_id: str, step: int) -> bytes | None:
        """The step's stored result, or None when the step has none (or is unknown)."""
        self._check(workflow_name, workflow_id)
        where = f"step {step} of workflow {workflow_name!r} id {workflow_id!r}"
        args = (workflow_name, workflow_id, step)
        rows = self._db.run([(self._sql.result_of, args)], where, write=False)
        return rows[0][0] if rows else None

    # -- WorkflowStatusStore ------------------------------------------------------

    def set_workflow_status(
        self,
        workflow_name: str,
        workflow_id: str,
        status: str,
        result: bytes | None = None,
        wake_at: float | None = None,
    ) -> None:
        """Create or update the workflow's record (status, updated time, result, wake time).

        Deferred like a step start: it rides in the workflow's next write (its
        next step, or the lease release that ends every run), because a status
        can always be rebuilt by running the workflow again.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, not {status!r}")
        self._check(workflow_name, workflow_id, result)
        now = time.time()
        args = (workflow_name, workflow_id, status, now, now, result, wake_at)
        self._deferred.add_status((workflow_name, workflow_id), args)

    def get_workflow_status(self, workflow_name: str, workflow_id: str) -> str | None:
        """The workflow's status, or None for a workflow this store never saw."""
        self._check(workflow_name, workflow_id)
        self._deferred.flush((workflow_name, workflow_id))  # read what this process last set
        where = f"the status of workflow {workflow_name!r} id {workflow_id!r}"
        args = (workflow_name, workflow_id)
        rows = self._db.run([(self._sql.status_of, args)], where, write=False)
        return str(rows[0][0]) if rows else None

    # -- LeaseStore ---------------------------------------------------------------

    def acquire_lease(self, workflow_name: str, workflow_id: str, owner: str, ttl: float) -> bool:
        """Take or renew the lease for ``owner`` for ``ttl`` seconds; atomic across machines.

        Expiry is on the database's clock. Returns False while another owner
        holds an unexpired lease, unless that owner is a process of this host
        that no longer exists. Waits up to ``lease_wait`` seconds for the
        lease first. Creates the workflow's record (status ``running``) if it
        has none.
        """
        self._check(workflow_name, workflow_id)
        deadline = time.monotonic() + self.lease_wait
        pause = 0.005
        while not self._take_lease(workflow_name, workflow_id, owner, ttl):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.1)
        return True

    def _take_lease(self, workflow_name: str, workflow_id: str, owner: str, ttl: float) -> bool:
        args = {
            "name": workflow_name,
            "id": workflow_id,
            "now": time.time(),
            "owner": owner,
            "ttl": float(ttl),
            "dead": None,
        }
        where = f"the lease of workflow {workflow_name!r} id {workflow_id!r}"
        ((taken, holder),) = self._db.run([(self._sql.take_lease, args)], where, write=True)
        if taken:
            return True
        if holder is None or not owner_is_dead(holder):
            return False
        # Compare-and-set on the dead holder: of two processes taking over, one wins.
        args["dead"] = holder
        ((taken, _),) = self._db.run([(self._sql.take_lease, args)], where, write=True)
        return bool(taken)

    def release_lease(self, workflow_name: str, workflow_id: str, owner: str) -> None:
        """Drop the lease if ``owner`` holds it, else do nothing; writes the deferred status too."""
        self._check(workflow_name, workflow_id)
        key = (workflow_name, workflow_id)
        _, status = self._deferred.take(key)
        where = f"the lease of workflow {workflow_name!r} id {workflow_id!r}"
        if status is None:
            statement: Statement = (self._sql.release_lease, (*key, owner))
        else:
            statement = (self._sql.status_and_release, (*status, owner, owner))
        self._write_with(key, status, statement, where)

    # -- connections --------------------------------------------------------------

    def _query(self, statement: Statement, where: str, *, write: bool = False) -> list[Any]:
        return self._db.run([statement], where, write=write)

    def _write_with(
        self, key: tuple[str, str], status: Args | None, statement: Statement, where: str
    ) -> None:
        """Run a write that carries the workflow's deferred status; keep the status if it fails."""
        try:
            self._db.run([statement], where, write=True)
        except BaseException:
            self._deferred.put_back(key, status)
            raise

    def _write_deferred(self, statements: list[Statement]) -> None:
        self._db.run(statements, "deferred step starts and statuses", write=True)

    # -- checks -------------------------------------------------------------------

    def _check(
        self, name: str, wid: str, payload: bytes | None = None, step: int | None = None
    ) -> None:
        for what, text in (("name", name), ("id", wid)):
            if "\x00" in text:
                raise StoreError(
                    f"Workflow {what} {text!r} contains a NUL character, which PostgreSQL text "
                    f"cannot hold; nothing was stored. Use a workflow {what} without NUL"
                )
            try:
                size = len(text.encode())
            except UnicodeEncodeError:
                raise StoreError(
                    f"Workflow {what} {text!r} is not valid Unicode (it holds a lone surrogate); "
                    "nothing was stored"
                ) from None
            if size > MAX_KEY_BYTES:
                raise StoreError(
                    f"Workflow {what} {text[:40]!r}... is {size} bytes long; the PostgreSQL "
                    f"store keeps names and ids of up to {MAX_KEY_BYTES} bytes. Nothing was "
                    "stored; use a shorter one (a hash of it, say)"
                )
        if payload is not None and len(payload) > self.max_payload:
            where = f"workflow {name!r} id {wid!r}" + ("" if step is None else f" step {step}")
            raise self._too_large(len(payload), where)

    def _too_large(self, size: int, what: str) -> StoreError:
        return StoreError(
            f"{what}: a record of {size} bytes is over the PostgreSQL store's limit of "
            f"{self.max_payload} bytes (max_payload); nothing was stored. "
            "Keep large data in a file or object store and return a reference to it"
        )


def _check_pool(min_size: object, max_size: object, timeout: object) -> None:
    """The pool's options: whole numbers 1 <= min_size <= max_size, a timeout above 0."""
    for name, size in (("min_size", min_size), ("max_size", max_size)):
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"{name} must be a whole number of connections, not {size!r}")
    assert isinstance(min_size, int) and isinstance(max_size, int)
    if not 1 <= min_size <= max_size:
        raise ValueError(f"need 1 <= min_size <= max_size, not {min_size} and {max_size}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"pool_timeout must be a number of seconds, not {timeout!r}")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"pool_timeout must be a number of seconds above 0, not {timeout!r}")


def _hidden(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _schema_hint(error: psycopg.Error) -> str:
    if isinstance(error, psycopg.errors.DuplicateTable):
        return "the schema holds tables Waku did not make; give Waku a schema of its own"
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        return "grant the user CREATE on the database, or create the schema for it first"
    return "check the server's log"


def _close_at_exit(ref: weakref.ref[PostgresStore]) -> Callable[[], None]:
    def close() -> None:
        store = ref()
        if store is not None:
            store.close()

    return close


def _function(payload: bytes) -> str | None:
    """The step function named in a record's header line, or None (e.g. for callbacks)."""
    end = payload.find(b"\n", 0, 2048)
    parts = payload[: max(end, 0)].split(b" ", 2)
    if len(parts) < 3 or parts[2] == b"-":
        return None
    # PostgreSQL text cannot hold NUL; the payload itself keeps every byte.
    return parts[2].decode("utf-8", "replace").replace("\x00", "\ufffd")


def _status(payload: bytes) -> str:
    return _STEP_STATUS.get(payload[0], "unknown") if payload else "unknown"
