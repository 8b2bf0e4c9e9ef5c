"""Group commit: writes from many threads share one transaction and one sync.

A thread that writes while nobody else is writing runs its write itself, at
once (no hand-off to another thread, so a lone workflow pays only its own
commit). Threads that arrive while a commit is in progress queue up; when it
ends, the first of them becomes the next *leader* and commits everything that
queued meanwhile in one transaction. Under load, then, one fsync serves many
steps, and each thread still returns only once its own write is committed.

*Deferred* writes (step starts, the ``running`` status) never cause a commit
of their own: they ride in the next transaction, whatever thread makes it,
and a background flusher writes them within ``FLUSH_INTERVAL`` seconds when
no other commit comes. Losing one to a crash loses a diagnostic, never a
result.

``Gate`` counts the store calls in progress, so that closing a store waits
for them before it closes the connections they use.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._errors import StoreError
from .sqlite_schema import store_error

Work = Callable[[sqlite3.Connection], Any]
FLUSH_INTERVAL = 0.25


class _Request:
    __slots__ = ("durable", "error", "event", "lead", "result", "waited", "work")

    def __init__(self, work: Work, durable: bool, waited: bool) -> None:
        self.work = work
        self.durable = durable
        self.waited = waited  # False for deferred writes: nobody waits for them
        self.event: threading.Event | None = None  # only for a waiter that is not the leader
        self.lead = False  # set when a finished leader hands leadership to this waiter
        self.result: Any = None
        self.error: BaseException | None = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommitter:
    """Runs write functions on one connection, batching concurrent ones into one commit."""

    def __init__(self, conn: sqlite3.Connection, path: Path, durable_sync: str) -> None:
        self._conn = conn
        self._path = path
        self._durable_sync = durable_sync  # "FULL" or "NORMAL": for batches holding a result
        self._sync = ""  # the connection's current PRAGMA synchronous
        self._mutex = threading.Lock()
        self._pending: list[_Request] = []
        self._leading = False
        self._closed = False
        self._flusher: threading.Thread | None = None
        self._stop = threading.Event()

    def run(self, work: Work, *, durable: bool = True) -> Any:
        """Run ``work(conn)`` in a transaction; return its result once committed.

        ``durable=False`` commits without waiting for a sync (leases, final
        statuses): it survives a process crash, not a power loss, unless a
        durable commit follows. An exception from ``work`` undoes only its
        own changes and is raised here.
        """
        request = _Request(work, durable, True)
        with self._mutex:
            self._check_open()
            self._pending.append(request)
            lead = not self._leading
            if lead:
                self._leading = True
            else:
                request.event = event = threading.Event()
        if not lead:
            event.wait()
            lead = request.lead
        if lead:
            self._lead()
        return request.outcome()

    def defer(self, work: Work) -> None:
        """Queue ``work`` for the next transaction, without waiting or committing."""
        with self._mutex:
            self._check_open()
            self._pending.append(_Request(work, False, False))
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._flush_loop, name="waku-sqlite-flush", daemon=True
                )
                self._flusher.start()

    def flush(self) -> None:
        """Commit every deferred write now."""
        self.run(lambda conn: None, durable=False)

    @property
    def idle(self) -> bool:
        """True when no write waits or is being committed: a read now sees every write made."""
        with self._mutex:
            return not self._pending and not self._leading

    def close(self) -> None:
        """Stop the flusher, commit deferred writes, then refuse further writes.

        The caller makes sure no other thread writes meanwhile (``Gate``) and
        closes the connection afterwards: closing a connection another
        thread is using crashes the interpreter.
        """
        if self._closed:
            return
        self._stop.set()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join()
        try:
            with contextlib.suppress(StoreError):  # deferred writes are diagnostics
                self.flush()
        finally:
            with self._mutex:
                self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise closed_error(self._path)

    def _lead(self) -> None:
        try:
            with self._mutex:
                batch, self._pending = self._pending, []
            self._commit(batch)
        finally:
            with self._mutex:
                heir = next((r for r in self._pending if r.event is not None), None)
                if heir is None or heir.event is None:
                    self._leading = False
                else:
                    heir.lead = True
                    heir.event.set()

    def _commit(self, batch: list[_Request]) -> None:
        conn = self._conn
        try:
            sync = self._durable_sync if any(r.durable for r in batch) else "NORMAL"
            if sync != self._sync:
                conn.execute(f"PRAGMA synchronous={sync}")
                self._sync = sync
            conn.execute("BEGIN IMMEDIATE")
            # Savepoints isolate waited-for writes from each other. A deferred
            # write fails only when the database does, which fails them all.
            isolate = sum(r.waited for r in batch) > 1
            for request in batch:
                if isolate and request.waited:
                    self._run_isolated(conn, request)
                else:
                    request.result = request.work(conn)
            conn.execute("COMMIT")
        except BaseException as error:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            shared = store_error(error, self._path, "write") if _is_sqlite(error) else error
            for request in batch:
                if request.error is None:
                    request.error = shared
        finally:
            for request in batch:
                if request.event is not None:
                    request.event.set()

    def _run_isolated(self, conn: sqlite3.Connection, request: _Request) -> None:
        # A savepoint per request: one failing write must not undo its neighbours'.
        conn.execute("SAVEPOINT request")
        try:
            request.result = request.work(conn)
        except Exception as error:
            conn.execute("ROLLBACK TO request")
            request.error = store_error(error, self._path, "write") if _is_sqlite(error) else error
        conn.execute("RELEASE request")

    def _flush_loop(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL):
            with self._mutex:
                idle = not self._pending or self._leading
            if not idle:
                with contextlib.suppress(StoreError):
                    self.flush()


class Gate:
    """Counts the store calls in progress, so that closing can wait for them.

    Every public call of a store passes through the gate. ``close`` shuts it
    (later calls get a StoreError saying the store is closed) and waits until
    the calls already inside have finished; only then may the connections be
    closed.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()  # a plain lock: the gate is on every call's path
        self._inside = 0
        self._shut = False
        self._drained = threading.Event()

    def __enter__(self) -> None:
        with self._lock:
            if self._shut:
                raise closed_error(self._path)
            self._inside += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._inside -= 1
            if self._shut and not self._inside:
                self._drained.set()

    @property
    def shut(self) -> bool:
        """True once ``close`` began: a call waiting on something may give up."""
        return self._shut

    def close(self) -> None:
        """Refuse new calls, then wait for the calls in progress to return."""
        with self._lock:
            self._shut = True
            if not self._inside:
                self._drained.set()
        self._drained.wait()


def closed_error(path: Path) -> StoreError:
    """The error for a call on a closed store."""
    return StoreError(
        f"The SQLite store at {path} is closed; open a new SQLiteStore to use the file again"
    )


def _is_sqlite(error: BaseException) -> bool:
    return isinstance(error, sqlite3.Error)


def wait_until(deadline: float, poll: Callable[[], bool]) -> bool:
    """Call ``poll`` with growing pauses until it is true or ``deadline`` passes."""
    pause = 0.005
    while True:
        if poll():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.1)
