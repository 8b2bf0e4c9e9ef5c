"""SQLiteStore: the embedded, durable default. One file, many threads and processes.

How a step is written: ``store_start`` is *deferred* (kept in memory and
written in the next transaction, at the latest together with the step's
result), and ``store_result`` commits. So a completed step costs one commit
and one sync, and a crash during a step loses at most the diagnostic record
of its start, never a result. Concurrent writers share commits (see
``sqlite_writer``). Workflow statuses are deferred the same way; lease
changes commit without waiting for a sync, since a lease means nothing after
a power loss.
"""

from __future__ import annotations

import atexit
import os
import secrets
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from .._codec import Codec, JsonCodec
from .._errors import InvalidTokenError, StoreError, TokenAlreadyUsedError
from .base import STATUSES, owner_is_dead, token_hash
from .sqlite_schema import check_path, connect, prepare, store_error
from .sqlite_writer import GroupCommitter, wait_until

T = TypeVar("T")

MAX_PAYLOAD = 16 * 1024 * 1024
"""Default largest payload (bytes) one record may hold; larger ones are refused."""

DURABILITY = {"full": "FULL", "normal": "NORMAL"}

# A step row's status, from the first byte of the record stored in it.
_STEP_STATUS = {
    ord("I"): "input",
    ord("R"): "succeeded",
    ord("E"): "failed",
    ord("W"): "waiting",
    ord("C"): "delivered",
}

_UPSERT_START = """
INSERT INTO steps (workflow_name, workflow_id, step, function, status, input, attempts, started_at)
VALUES (?, ?, ?, ?, 'running', ?, 1, ?)
ON CONFLICT DO UPDATE SET function = excluded.function, status = 'running',
    input = excluded.input, attempts = attempts + 1, started_at = excluded.started_at,
    finished_at = NULL
"""
_UPSERT_RESULT = """
INSERT INTO steps (workflow_name, workflow_id, step, function, status, output, finished_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO UPDATE SET function = coalesce(excluded.function, function),
    status = excluded.status, output = excluded.output, finished_at = excluded.finished_at
"""
# A step's start and result in one statement, when both are written in one transaction.
_UPSERT_START_AND_RESULT = """
INSERT INTO steps (workflow_name, workflow_id, step, function, status, output, finished_at,
    input, started_at, attempts)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
ON CONFLICT DO UPDATE SET function = coalesce(excluded.function, function),
    status = excluded.status, output = excluded.output, finished_at = excluded.finished_at,
    input = excluded.input, started_at = excluded.started_at, attempts = attempts + 1
"""
_UPSERT_STATUS = """
INSERT INTO workflows (workflow_name, workflow_id, status, created_at, updated_at, result, wake_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
    result = excluded.result, wake_at = excluded.wake_at
"""
_TAKE_LEASE = """
INSERT INTO workflows (workflow_name, workflow_id, status, created_at, updated_at,
    lease_owner, lease_expires)
VALUES (?, ?, 'running', ?, ?, ?, ?)
ON CONFLICT DO UPDATE SET lease_owner = excluded.lease_owner,
    lease_expires = excluded.lease_expires
"""
_LEASE_FREE = "lease_owner IS NULL OR lease_owner = ? OR lease_expires <= ?"
_SELECT_STEPS = """
SELECT step, output FROM steps
WHERE workflow_name = ? AND workflow_id = ? AND output IS NOT NULL
"""


class SQLiteStore:
    """A durable store in one SQLite file (WAL mode), shared by threads and processes.

    ``durability="full"`` (default): a completed step survives a power loss.
    ``"normal"``: it survives a crash of the process, not of the machine.
    ``lease_ttl``: seconds a crashed process on another host keeps a workflow
    locked (on this host a dead owner is taken over at once). ``lease_wait``:
    seconds to wait for another process's lease before ``WorkflowLockedError``.
    ``busy_timeout``: seconds to wait for another process's write lock.
    ``max_payload``: the largest record in bytes.
    """

    durable = True
    blocking = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: str = "full",
        codec: Codec | None = None,
        lease_ttl: float = 30.0,
        lease_wait: float = 0.0,
        busy_timeout: float = 60.0,
        max_payload: int = MAX_PAYLOAD,
    ) -> None:
        if durability not in DURABILITY:
            raise ValueError(f"durability must be 'full' or 'normal', not {durability!r}")
        self.path = Path(os.fspath(path))
        self.durability = durability
        self.codec: Codec = codec or JsonCodec()
        self.lease_ttl = float(lease_ttl)
        self.lease_wait = float(lease_wait)
        self.max_payload = int(max_payload)
        self._busy_timeout = float(busy_timeout)
        check_path(self.path)
        conn = connect(self.path, self._busy_timeout)
        try:
            prepare(conn, self.path)
        except BaseException:
            conn.close()
            raise
        self._writer = GroupCommitter(conn, self.path, DURABILITY[durability])
        self._write_conn = conn
        self._readers: list[sqlite3.Connection] = []  # idle read connections
        self._readers_lock = threading.Lock()
        # Deferred starts by step, so that a result can take its start along in one statement.
        self._starts: dict[tuple[str, str, int], tuple[Any, ...]] = {}
        self._starts_lock = threading.Lock()
        self._closed = False
        # Deferred writes would be lost if the interpreter exits without close().
        self._at_exit = _flush_at_exit(weakref.ref(self))
        atexit.register(self._at_exit)

    @classmethod
    def from_url(cls, rest: str) -> SQLiteStore:
        """Open ``sqlite:///relative.db`` or ``sqlite:////absolute.db``, options as a query.

        ``rest`` is what follows ``sqlite://``, e.g. ``/waku.db?durability=normal``.
        """
        location, _, query = rest.partition("?")
        if not location.startswith("/") or location == "/":
            raise StoreError(
                f"Bad SQLite store URL 'sqlite://{rest}': write sqlite:///waku.db for a path "
                "relative to the working directory, or sqlite:////var/lib/waku.db for an "
                "absolute one"
            )
        options: dict[str, Any] = {}
        converters: dict[str, Callable[[str], Any]] = {
            "durability": str,
            "lease_ttl": float,
            "lease_wait": float,
            "busy_timeout": float,
            "max_payload": int,
        }
        for key, value in parse_qsl(query, strict_parsing=bool(query)):
            if key not in converters:
                raise StoreError(f"Unknown option {key!r} in SQLite store URL 'sqlite://{rest}'")
            options[key] = converters[key](value)
        return cls(location[1:], **options)

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r}, durability={self.durability!r})"

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Write anything deferred, then close every connection. Calling it twice is fine."""
        if self._closed:
            return
        atexit.unregister(self._at_exit)
        self._writer.close()
        self._closed = True
        self._write_conn.close()
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()

    def flush(self) -> None:
        """Commit deferred writes (step starts, statuses) now rather than with the next commit."""
        self._writer.flush()

    # -- the six StepStore methods ------------------------------------------------

    def store_start(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        """Record the step's input and count an attempt; never touches its stored result.

        Deferred: written in the next transaction (at the latest with this
        step's result), so it costs no commit of its own; a crash before then
        loses only this diagnostic. A start for a new step creates its row.
        """
        self._check_size(payload, workflow_name, workflow_id, step)
        key = (workflow_name, workflow_id, step)
        args = (workflow_name, workflow_id, step, _function(payload), payload, time.time())
        with self._starts_lock:
            self._starts[key] = args

        def write_start(conn: sqlite3.Connection) -> None:
            with self._starts_lock:
                pending = self._starts.get(key)
                if pending is not args:
                    return  # a result took it along, or a newer start replaced it
                del self._starts[key]
            conn.execute(_UPSERT_START, args)

        self._writer.defer(write_start)

    def store_result(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        """Store ``payload`` as the step's result, replacing any earlier one; durable on return.

        One transaction holds this result and any deferred writes before it.
        A payload over ``max_payload`` raises StoreError and stores nothing.
        """
        self._check_size(payload, workflow_name, workflow_id, step)
        key = (workflow_name, workflow_id, step)
        args = _result_args(workflow_name, workflow_id, step, payload)
        with self._starts_lock:
            start = self._starts.pop(key, None)
        if start is None:
            self._writer.run(lambda conn: conn.execute(_UPSERT_RESULT, args))
        else:
            both = (*args, start[4], start[5])
            self._writer.run(lambda conn: conn.execute(_UPSERT_START_AND_RESULT, both))

    def store_result_token(self, workflow_name: str, workflow_id: str, step: int) -> str:
        """Mint a 256-bit token for the step, commit its hash, and return the token.

        Committed before it returns, so a token handed out survives a crash.
        Every call mints a new token; earlier ones stay valid until spent.
        """
        token = secrets.token_urlsafe(32)
        args = (token_hash(token), workflow_name, workflow_id, step, time.time())
        self._writer.run(
            lambda conn: conn.execute(
                "INSERT INTO tokens (hash, workflow_name, workflow_id, step, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                args,
            )
        )
        return token

    def store_token_result(self, token: str, payload: bytes) -> tuple[str, str, int]:
        """Spend ``token`` and store ``payload`` as its step's result, in one transaction.

        Returns ``(workflow_name, workflow_id, step)``. Exactly one of racing
        spenders (threads or processes) wins; the others get
        ``TokenAlreadyUsedError``. An unknown token raises ``InvalidTokenError``.
        A failing call changes nothing.
        """
        if len(payload) > self.max_payload:
            raise self._too_large(len(payload), "a callback payload")
        digest, now = token_hash(token), time.time()

        def spend(conn: sqlite3.Connection) -> tuple[str, str, int]:
            row = conn.execute(
                "SELECT workflow_name, workflow_id, step, spent_at FROM tokens WHERE hash = ?",
                (digest,),
            ).fetchone()
            if row is None:
                raise InvalidTokenError(
                    f"Unknown callback token: it was never issued by the SQLite store at "
                    f"{self.path}. Check that the caller uses the token it was given."
                )
            name, wid, step, spent = row
            if spent is not None:
                raise TokenAlreadyUsedError(
                    f"This callback token of workflow {name!r} id {wid!r} step {step} was "
                    "already used; this delivery changed nothing and can be acknowledged."
                )
            conn.execute("UPDATE tokens SET spent_at = ? WHERE hash = ?", (now, digest))
            conn.execute(_UPSERT_RESULT, _result_args(name, wid, step, payload, now))
            return (name, wid, int(step))

        result: tuple[str, str, int] = self._writer.run(spend)
        return result

    def get_steps(self, workflow_name: str, workflow_id: str) -> Mapping[int, bytes]:
        """Every stored result of the workflow by step, read in one query.

        Includes step 0 (input) and callback markers (negative steps); not
        starts. An unknown workflow gives an empty dict.
        """
        rows = self._read(
            lambda conn: conn.execute(_SELECT_STEPS, (workflow_name, workflow_id)).fetchall()
        )
        return dict(rows)

    def get_result(self, workflow_name: str, workflow_id: str, step: int) -> bytes | None:
        """The step's stored result, or None when the step has none (or is unknown)."""
        row = self._read(
            lambda conn: conn.execute(
                "SELECT output FROM steps WHERE workflow_name = ? AND workflow_id = ? AND step = ?",
                (workflow_name, workflow_id, step),
            ).fetchone()
        )
        return None if row is None else row[0]

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

        Deferred like a step start: it rides in the next commit (the run's
        next step, or the lease release that ends every run), because a
        status can always be rebuilt by re-running the workflow.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, not {status!r}")
        if result is not None:
            self._check_size(result, workflow_name, workflow_id, None)
        now = time.time()
        args = (workflow_name, workflow_id, status, now, now, result, wake_at)
        self._writer.defer(lambda conn: conn.execute(_UPSERT_STATUS, args))

    def get_workflow_status(self, workflow_name: str, workflow_id: str) -> str | None:
        """The workflow's status, or None for a workflow this store never saw."""
        self.flush()  # statuses are deferred; read what this process last set
        row = self._read(
            lambda conn: conn.execute(
                "SELECT status FROM workflows WHERE workflow_name = ? AND workflow_id = ?",
                (workflow_name, workflow_id),
            ).fetchone()
        )
        return None if row is None else str(row[0])

    # -- LeaseStore ---------------------------------------------------------------

    def acquire_lease(self, workflow_name: str, workflow_id: str, owner: str, ttl: float) -> bool:
        """Take or renew the lease for ``owner`` for ``ttl`` seconds; atomic across processes.

        Returns False while another owner holds an unexpired lease, unless
        that owner is a process of this host that no longer exists. Waits up
        to ``lease_wait`` seconds for the lease first. Creates the workflow's
        record (status ``running``) if it has none.
        """
        key = (workflow_name, workflow_id)

        def take(conn: sqlite3.Connection) -> bool:
            now = time.time()
            args = (*key, now, now, owner, now + ttl)
            # One statement in the usual case: a free, expired or own lease is taken.
            if conn.execute(_TAKE_LEASE + " WHERE " + _LEASE_FREE, (*args, owner, now)).rowcount:
                return True
            (holder,) = conn.execute(
                "SELECT lease_owner FROM workflows WHERE workflow_name = ? AND workflow_id = ?",
                key,
            ).fetchone()
            if not owner_is_dead(holder):
                return False
            conn.execute(_TAKE_LEASE, args)
            return True

        def attempt() -> bool:
            taken: bool = self._writer.run(take, durable=False)
            return taken

        if attempt():
            return True
        return self.lease_wait > 0 and wait_until(time.monotonic() + self.lease_wait, attempt)

    def release_lease(self, workflow_name: str, workflow_id: str, owner: str) -> None:
        """Drop the lease if ``owner`` holds it, else do nothing; commits deferred writes too."""
        self._writer.run(
            lambda conn: conn.execute(
                "UPDATE workflows SET lease_owner = NULL, lease_expires = NULL "
                "WHERE workflow_name = ? AND workflow_id = ? AND lease_owner = ?",
                (workflow_name, workflow_id, owner),
            ),
            durable=False,
        )

    # -- helpers ------------------------------------------------------------------

    def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read on an idle connection of the pool (readers never block the writer)."""
        if self._closed:
            raise StoreError(f"The SQLite store at {self.path} is closed")
        with self._readers_lock:
            conn = self._readers.pop() if self._readers else None
        if conn is None:
            conn = connect(self.path, self._busy_timeout)
        try:
            return query(conn)
        except sqlite3.Error as error:
            raise store_error(error, self.path, "read") from None
        finally:
            with self._readers_lock:
                keep = not self._closed
                if keep:
                    self._readers.append(conn)
            if not keep:
                conn.close()

    def _check_size(self, payload: bytes, name: str, wid: str, step: int | None) -> None:
        if len(payload) > self.max_payload:
            where = f"workflow {name!r} id {wid!r}" + ("" if step is None else f" step {step}")
            raise self._too_large(len(payload), where)

    def _too_large(self, size: int, what: str) -> StoreError:
        return StoreError(
            f"{what}: a record of {size} bytes is over the SQLite store's limit of "
            f"{self.max_payload} bytes (max_payload) at {self.path}; nothing was stored. "
            "Keep large data in a file or object store and return a reference to it"
        )


def _flush_at_exit(ref: weakref.ref[SQLiteStore]) -> Callable[[], None]:
    def flush() -> None:
        store = ref()
        if store is not None:
            store.close()

    return flush


def _function(payload: bytes) -> str | None:
    """The step function named in a record's header line, or None (e.g. for callbacks)."""
    end = payload.find(b"\n", 0, 2048)
    parts = payload[: max(end, 0)].split(b" ", 2)
    if len(parts) < 3 or parts[2] == b"-":
        return None
    return parts[2].decode("utf-8", "replace")


def _result_args(
    name: str, wid: str, step: int, payload: bytes, now: float | None = None
) -> tuple[Any, ...]:
    status = _STEP_STATUS.get(payload[0], "unknown") if payload else "unknown"
    return (name, wid, step, _function(payload), status, payload, now or time.time())
