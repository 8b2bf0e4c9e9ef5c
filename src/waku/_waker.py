"""Wakes suspended workflows of this process when their stored wake time comes.

A convenience, not what correctness rests on: every wake time is in the
store, so a run or resume after a restart takes the same path (a deadline
that passed while no process was alive gives ``CallbackTimeoutError``).
One daemon thread keeps a heap of due times for registered workflows.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
import time

from ._context import Run
from ._errors import WorkflowLockedError
from ._lifecycle import on_suspended
from ._registry import is_registered, resume

log = logging.getLogger("waku")


class _Waker:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Run]] = []
        self._due: set[tuple[int, str, str, float]] = set()
        self._order = itertools.count()
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(self, run: Run, wake_at: float) -> None:
        key = (id(run.store), run.name, run.id, wake_at)
        if not is_registered(run.name) or key in self._due:
            return  # an anonymous workflow cannot be resumed by name
        with self._lock:
            self._due.add(key)
            heapq.heappush(self._heap, (wake_at, next(self._order), run.successor()))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="waku-waker", daemon=True)
                self._thread.start()
            self._lock.notify()

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._heap or self._heap[0][0] > time.time():
                    self._lock.wait(self._heap[0][0] - time.time() if self._heap else None)
                wake_at, _, run = heapq.heappop(self._heap)
                self._due.discard((id(run.store), run.name, run.id, wake_at))
            try:
                with contextlib.suppress(WorkflowLockedError):  # another run carries it on
                    resume(run)
            except Exception:
                log.exception("waking %s failed", run.where())


_waker = _Waker()
on_suspended(_waker.schedule)
