"""SQLiteStore: the embedded, durable default. One file, many threads and processes.

How a step is written: ``store_start`` is *deferred* (kept in memory and
written in the next transaction, at the latest together with the step's
result), and ``store_result`` commits. So a completed step costs one commit
and one sync, and a crash during a step loses at most the diagnostic record
of its start, never a result. Concurrent writers share commits (see
``sqlite_writer``). Workflow statuses are deferred the same way; lease
changes commit without waiting for a sync, since a lease means nothing after
a power loss.

Reading workflows back, listing and pruning them (``InspectStore``) is mixed
in from ``sqlite_inspect``.

Closing: every public call passes a ``Gate``; ``close`` shuts it, waits for
the calls in progress, and only then closes the connections (closing a
connection another thread is using crashes the interpreter).
"""

from __future__ import annotations

import atexit
import os
import secrets
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .._codec import Codec, JsonCodec
from .._errors import InvalidTokenError, StoreError, TokenAlreadyUsedError
from . import sqlite_queue as queue_sql
from . import sqlite_rows as sql
from .base import STATUSES, function_of, owner_is_dead, token_hash
from .claims import Picker, queue_set
from .sqlite_inspect import InspectRows
from .sqlite_options import DURABILITY, MAX_PAYLOAD, Options, parse_url
from .sqlite_schema import check_path, connect, prepare, store_error
from .sqlite_writer import Gate, GroupCommitter, closed_error, wait_until

T = TypeVar("T")


class SQLiteStore(InspectRows):
    """A durable store in one SQLite file (WAL mode), shared by threads and processes.

    ``durability="full"`` (default): a completed step survives a power loss.
    ``"normal"``: it survives a crash of the process, not of the machine.
    ``lease_ttl``: seconds a crashed process on another host keeps a workflow
    locked (on this host a dead owner is taken over at once). ``lease_wait``:
    seconds to wait for another process's lease before ``WorkflowLockedError``.
    ``busy_timeout``: seconds to wait for another process's write lock.
    ``max_payload``: the largest record in bytes. A bad option raises
    ``ValueError`` (``TypeError`` for a wrong type) naming it.

    ``close()`` waits for calls in progress on other threads, then closes;
    later calls raise ``StoreError`` saying the store is closed.
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
        options = Options(durability, lease_ttl, lease_wait, busy_timeout, max_payload)
        self.path = Path(os.fspath(path))
        self.durability = options.durability
        self.codec: Codec = codec or JsonCodec()
        self.lease_ttl = options.lease_ttl
        self.lease_wait = options.lease_wait
        self.max_payload = options.max_payload
        self._busy_timeout = options.busy_timeout
        check_path(self.path)
        conn = connect(self.path, self._busy_timeout)
        try:
            prepare(conn, self.path)
        except BaseException:
            conn.close()
            raise
        self._writer = GroupCommitter(conn, self.path, DURABILITY[self.durability])
        self._write_conn = conn
        self._gate = Gate(self.path)
        self._readers: list[sqlite3.Connection] = []  # idle read connections
        self._watch: sqlite3.Connection | None = None  # for change_counter, made on first use
        self._watch_lock = threading.Lock()
        self._readers_lock = threading.Lock()
        # Deferred starts by step, so that a result can take its start along in one statement.
        self._starts: dict[tuple[str, str, int], tuple[Any, ...]] = {}
        self._starts_lock = threading.Lock()
        self._closed = False
        self._close_lock = threading.Lock()
        # Deferred writes would be lost if the interpreter exits without close().
        self._at_exit = _close_at_exit(weakref.ref(self))
        atexit.register(self._at_exit)

    @classmethod
    def from_url(cls, rest: str) -> SQLiteStore:
        """Open ``sqlite:///relative.db`` or ``sqlite:////absolute.db``, options as a query.

        ``rest`` is what follows ``sqlite://``, e.g. ``/waku.db?durability=normal``.
        Percent-escapes in the path are decoded. A bad URL or option raises
        StoreError naming the URL.
        """
        path, options = parse_url(rest)
        return cls(path, **options)

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
        """Wait for calls in progress, write anything deferred, close every connection.

        Calls made after ``close`` began raise StoreError ("... is closed").
        Calling it twice, or from several threads, is fine.
        """
        with self._close_lock:
            if self._closed:
                return
            atexit.unregister(self._at_exit)
            self._gate.close()
            try:
                self._writer.close()
            finally:
                self._closed = True
                self._write_conn.close()
                for conn in self._readers:
                    conn.close()
                self._readers.clear()
                if self._watch is not None:
                    self._watch.close()

    def change_counter(self) -> int:
        """SQLite's ``data_version`` on a connection of its own: it moves when any other
        connection (another process, or this store's writer) commits. Reads no page."""
        with self._gate, self._watch_lock:
            if self._watch is None:
                self._watch = connect(self.path, self._busy_timeout)
            try:
                version: int = self._watch.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error as error:
                raise store_error(error, self.path, "read") from None
            return version

    def flush(self) -> None:
        """Commit deferred writes (step starts, statuses) now rather than with the next commit."""
        with self._gate:
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
        args = (workflow_name, workflow_id, step, function_of(payload), payload, time.time())

        def write_start(conn: sqlite3.Connection) -> None:
            with self._starts_lock:
                pending = self._starts.get(key)
                if pending is not args:
                    return  # a result took it along, or a newer start replaced it
                del self._starts[key]
            conn.execute(sql.UPSERT_START, args)

        with self._gate:
            with self._starts_lock:
                self._starts[key] = args
            self._writer.defer(write_start)

    def store_result(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        """Store ``payload`` as the step's result, replacing any earlier one; durable on return.

        One transaction holds this result and any deferred writes before it.
        A payload over ``max_payload`` raises StoreError and stores nothing.
        """
        self._check_size(payload, workflow_name, workflow_id, step)
        key = (workflow_name, workflow_id, step)
        args = sql.result_args(workflow_name, workflow_id, step, payload)
        with self._gate:
            with self._starts_lock:
                start = self._starts.pop(key, None)
            if start is None:
                self._writer.run(lambda conn: conn.execute(sql.UPSERT_RESULT, args))
            else:
                both = (*args, start[4], start[5])
                self._writer.run(lambda conn: conn.execute(sql.UPSERT_START_AND_RESULT, both))

    def store_result_token(self, workflow_name: str, workflow_id: str, step: int) -> str:
        """Mint a 256-bit token for the step, commit its hash, and return the token.

        Committed before it returns, so a token handed out survives a crash.
        Every call mints a new token; earlier ones stay valid until spent.
        """
        token = secrets.token_urlsafe(32)
        args = (token_hash(token), workflow_name, workflow_id, step, time.time())
        with self._gate:
            self._writer.run(lambda conn: conn.execute(sql.INSERT_TOKEN, args))
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
            row = conn.execute(sql.SELECT_TOKEN, (digest,)).fetchone()
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
            conn.execute(sql.SPEND_TOKEN, (now, digest))
            conn.execute(sql.UPSERT_RESULT, sql.result_args(name, wid, step, payload, now))
            return (name, wid, int(step))

        with self._gate:
            result: tuple[str, str, int] = self._writer.run(spend)
        return result

    def get_steps(self, workflow_name: str, workflow_id: str) -> Mapping[int, bytes]:
        """Every stored result of the workflow by step, read in one query.

        Includes step 0 (input) and callback markers (negative steps); not
        starts. An unknown workflow gives an empty dict.
        """
        with self._gate:
            rows = self._read(sql.SELECT_STEPS, (workflow_name, workflow_id), all_rows=True)
        return dict(rows)

    def get_result(self, workflow_name: str, workflow_id: str, step: int) -> bytes | None:
        """The step's stored result, or None when the step has none (or is unknown)."""
        with self._gate:
            row = self._read(sql.SELECT_RESULT, (workflow_name, workflow_id, step))
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
        status can always be rebuilt by re-running the workflow. An unknown
        status raises ValueError and changes nothing.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, not {status!r}")
        if result is not None:
            self._check_size(result, workflow_name, workflow_id, None)
        now = time.time()
        args = (workflow_name, workflow_id, status, now, now, result, wake_at)
        with self._gate:
            self._writer.defer(lambda conn: conn.execute(sql.UPSERT_STATUS, args))

    def get_workflow_status(self, workflow_name: str, workflow_id: str) -> str | None:
        """The workflow's status, or None for a workflow this store never saw."""
        with self._gate:
            self._writer.flush()  # statuses are deferred; read what this process last set
            row = self._read(sql.SELECT_STATUS, (workflow_name, workflow_id))
        return None if row is None else str(row[0])

    # -- LeaseStore ---------------------------------------------------------------

    def acquire_lease(self, workflow_name: str, workflow_id: str, owner: str, ttl: float) -> bool:
        """Take or renew the lease for ``owner`` for ``ttl`` seconds; atomic across processes.

        Returns False while another owner holds an unexpired lease, unless
        that owner is a process of this host that no longer exists. Waits up
        to ``lease_wait`` seconds for the lease first (a ``close`` on another
        thread ends the wait with StoreError). Creates the workflow's record
        (status ``running``) if it has none.
        """
        key = (workflow_name, workflow_id)

        def take(conn: sqlite3.Connection) -> bool:
            now = time.time()
            args = (*key, now, now, owner, now + ttl)
            # One statement in the usual case: a free, expired or own lease is taken.
            if conn.execute(
                f"{sql.TAKE_LEASE} WHERE {sql.LEASE_FREE}", (*args, owner, now)
            ).rowcount:
                return True
            (holder,) = conn.execute(sql.LEASE_HOLDER, key).fetchone()
            if not owner_is_dead(holder):
                return False
            conn.execute(sql.TAKE_LEASE, args)
            return True

        def attempt() -> bool:
            if self._gate.shut:
                raise closed_error(self.path)
            taken: bool = self._writer.run(take, durable=False)
            return taken

        with self._gate:
            if attempt():
                return True
            return self.lease_wait > 0 and wait_until(time.monotonic() + self.lease_wait, attempt)

    def release_lease(self, workflow_name: str, workflow_id: str, owner: str) -> None:
        """Drop the lease if ``owner`` holds it, else do nothing; commits deferred writes too."""
        args = (workflow_name, workflow_id, owner)
        with self._gate:
            self._writer.run(lambda conn: conn.execute(sql.RELEASE_LEASE, args), durable=False)

    # -- QueueStore ---------------------------------------------------------------

    def enqueue_workflow(
        self, workflow_name: str, workflow_id: str, queue: str, payload: bytes
    ) -> bool:
        """Create the workflow, ``queued`` on ``queue``, with ``payload`` as its input (step 0).

        One durable transaction: both rows or neither, and on disk when it
        returns. Idempotent: when a workflow of that name and id exists
        already (enqueued, run, or finished), nothing changes and False is
        returned. A payload over ``max_payload`` raises StoreError.
        """
        self._check_size(payload, workflow_name, workflow_id, 0)
        args = (workflow_name, workflow_id, queue, payload)
        now = time.time()
        with self._gate:
            created: bool = self._writer.run(lambda conn: queue_sql.enqueue(conn, *args, now=now))
        return created

    def claim_workflows(
        self,
        queues: Sequence[str],
        owner: str,
        ttl: float,
        limit: int,
        concurrency: Mapping[str, int] | None = None,
    ) -> list[tuple[str, str]]:
        """Lease up to ``limit`` ready workflows to ``owner`` and mark them ``running``.

        One ``BEGIN IMMEDIATE`` transaction reads and leases, so racing
        claimers (threads or processes) never take one workflow twice.
        Orphans come first, then due wake-ups, then queued workflows oldest
        first; suspended and orphaned ones only of ``queues`` or of no queue.
        Commits without waiting for a sync, like every lease.
        """
        served = queue_set(queues)
        if limit < 1:
            return []
        caps = dict(concurrency or {})

        def claim(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            picker = Picker(served, limit, time.time())
            return queue_sql.claim(conn, picker, owner, ttl, caps)

        def ready(conn: sqlite3.Connection) -> bool:
            picker = Picker(served, 1, time.time())
            queue_sql.pick(conn, picker, caps)
            return picker.full

        with self._gate:
            # Idle workers poll: when a read finds nothing to take, no write lock is taken.
            # Only when this process has no write in flight, though (a deferred status,
            # say): the read would not see it.
            if self._writer.idle and not self._reading(ready):
                return []
            claimed: list[tuple[str, str]] = self._writer.run(claim, durable=False)
        return claimed

    def _reading(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on an idle read connection of the pool, in one read transaction."""
        with self._readers_lock:
            conn = self._readers.pop() if self._readers else None
        if conn is None:
            conn = connect(self.path, self._busy_timeout)
        try:
            conn.execute("BEGIN")
            try:
                return work(conn)
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as error:
            raise store_error(error, self.path, "read") from None
        finally:
            with self._readers_lock:
                self._readers.append(conn)

    # -- helpers ------------------------------------------------------------------

    def _read(self, query: str, args: tuple[Any, ...], *, all_rows: bool = False) -> Any:
        """Run a read on an idle connection of the pool (readers never block the writer).

        Called inside the gate, so ``close`` cannot close the connection meanwhile.
        """
        with self._readers_lock:
            conn = self._readers.pop() if self._readers else None
        if conn is None:
            conn = connect(self.path, self._busy_timeout)
        try:
            cursor = conn.execute(query, args)
            return cursor.fetchall() if all_rows else cursor.fetchone()
        except sqlite3.Error as error:
            raise store_error(error, self.path, "read") from None
        finally:
            with self._readers_lock:
                self._readers.append(conn)

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


def _close_at_exit(ref: weakref.ref[SQLiteStore]) -> Callable[[], None]:
    def close() -> None:
        store = ref()
        if store is not None:
            store.close()

    return close
