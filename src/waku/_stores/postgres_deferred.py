"""Writes the PostgreSQL store puts off: step starts and workflow statuses.

A step's start is a diagnostic, and a status can always be rebuilt by
running the workflow again, so neither is worth a commit of its own. They
wait here until the next write of the same workflow takes them along (a
step's result takes its own start into the same SQL statement; a status
rides in the statement of the workflow's next step or lease release), or until a
background thread writes them, at most a quarter of a second later.

Order is kept per workflow: while the thread writes a workflow's items, a
writer of the same workflow waits for it, so an older status never lands
after a newer one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("waku")

Key = tuple[str, str]
StepKey = tuple[str, str, int]
Args = tuple[Any, ...]
Statement = tuple[str, tuple[Any, ...] | dict[str, Any]]

DELAY = 0.125
"""Seconds an item waits before the thread may write it; it is written within 2 x DELAY."""


class Deferred:
    """Pending starts (by step) and statuses (by workflow), and the thread that writes them.

    ``write(statements)`` is the store's: it runs the statements in one
    transaction and raises on failure, when the items stay pending.
    """

    def __init__(
        self, write: Callable[[list[Statement]], None], start_sql: str, status_sql: str
    ) -> None:
        self._write = write
        self._start_sql = start_sql
        self._status_sql = status_sql
        self._cond = threading.Condition(threading.Lock())
        self._starts: dict[StepKey, tuple[float, Args]] = {}
        self._statuses: dict[Key, tuple[float, Args]] = {}
        self._flushing: set[Key] = set()  # workflows whose items are being written
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add_start(self, key: StepKey, args: Args) -> None:
        """Put off a step's start, replacing an earlier start of the same step."""
        with self._cond:
            self._starts[key] = (time.monotonic(), args)
        self._kick()

    def add_status(self, key: Key, args: Args) -> None:
        """Put off a workflow's status, replacing an earlier one of the same workflow."""
        with self._cond:
            self._statuses[key] = (time.monotonic(), args)
        self._kick()

    def take(self, key: Key, step: int | None = None) -> tuple[Args | None, Args | None]:
        """Remove and return the start of ``step`` and the workflow's status (their arguments).

        Waits while the thread writes this workflow's items. Call it before
        taking a connection, so that a waiting writer never holds one.
        """
        with self._cond:
            while key in self._flushing:
                self._cond.wait()
            start = None if step is None else self._starts.pop((*key, step), None)
            status = self._statuses.pop(key, None)
        return (None if start is None else start[1]), (None if status is None else status[1])

    def put_back(self, key: Key, status: Args | None) -> None:
        """Keep a status whose write failed for the next write, unless a newer one came."""
        if status is not None:
            with self._cond:
                self._statuses.setdefault(key, (time.monotonic(), status))
            self._kick()

    def flush(self, key: Key | None = None, *, older_than: float = 0.0) -> None:
        """Write the pending items at least ``older_than`` seconds old, of one workflow or all.

        On failure the items stay pending (unless replaced meanwhile) and the error is raised.
        """
        limit = time.monotonic() - older_than
        with self._cond:
            while self._flushing if key is None else key in self._flushing:
                self._cond.wait()
            starts = {
                k: v
                for k, v in self._starts.items()
                if v[0] <= limit and (key is None or k[:2] == key)
            }
            statuses = {
                k: v for k, v in self._statuses.items() if v[0] <= limit and key in (None, k)
            }
            for step_key in starts:
                del self._starts[step_key]
            for workflow in statuses:
                del self._statuses[workflow]
            keys = {k[:2] for k in starts} | set(statuses)
            self._flushing |= keys
        if not keys:
            return
        statements: list[Statement] = [(self._start_sql, args) for _, args in starts.values()]
        statements += [(self._status_sql, args) for _, args in statuses.values()]
        try:
            self._write(statements)
        except BaseException:
            with self._cond:
                for step_key, item in starts.items():
                    self._starts.setdefault(step_key, item)
                for workflow, item in statuses.items():
                    self._statuses.setdefault(workflow, item)
            raise
        finally:
            with self._cond:
                self._flushing -= keys
                self._cond.notify_all()

    def pending(self) -> bool:
        """True while anything waits to be written."""
        with self._cond:
            return bool(self._starts or self._statuses)

    def close(self) -> None:
        """Stop the thread; the caller then flushes what is left."""
        self._stop.set()
        self._wake.set()
        with self._cond:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _kick(self) -> None:
        if self._thread is None:
            with self._cond:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(
                        target=self._loop, name="waku-postgres-deferred", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.wait()
            # After failures, wait longer (up to 5 s) before trying the server again.
            if self._stop.wait(min(5.0, DELAY * 2**failures)):
                return
            self._wake.clear()
            try:
                self.flush(older_than=DELAY)
                failures = 0
            except Exception:
                if not failures:
                    log.warning(
                        "Writing deferred step starts and workflow statuses to PostgreSQL "
                        "failed; they are kept and retried",
                        exc_info=True,
                    )
                failures += 1
            if self.pending():
                self._wake.set()
