"""Wakes suspended workflows of this process when their stored wake time comes.

A convenience, not what correctness rests on: every wake time is in the
store, so a run or resume after a restart takes the same path (a deadline
that passed while no process was alive gives ``CallbackTimeoutError``; a
sleep that ended meanwhile is over), and a ``Worker`` or ``recover()``
resumes due workflows from the store. One daemon thread keeps a heap of due
times and runs each workflow on from its stored steps when its time comes,
on the clock in use (``_clock``): a test clock that moves wakes what became
due, and ``settle`` lets the test wait until those runs have stopped again.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
import time

from . import _clock
from ._context import Run
from ._errors import WorkflowCancelledError, WorkflowLockedError
from ._lifecycle import on_suspended
from ._registry import is_registered, resume

log = logging.getLogger("waku")

Key = tuple[int, str, str, float]


class _Waker:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Run]] = []
        self._due: set[Key] = set()
        self._order = itertools.count()
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._busy = 0

    def schedule(self, run: Run, wake_at: float) -> None:
        if run.again is None and not is_registered(run.name):
            return  # nothing in this process knows how to run it on
        key = (id(run.store), run.name, run.id, wake_at)
        with self._lock:
            if key in self._due:
                return
            self._due.add(key)
            heapq.heappush(self._heap, (wake_at, next(self._order), run.successor()))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="waku-waker", daemon=True)
                self._thread.start()
            self._lock.notify_all()

    def clock_changed(self, replaced: bool) -> None:
        """Time moved: look again. Wake times of a replaced clock mean nothing on the new one."""
        with self._lock:
            if replaced:
                self._heap.clear()
                self._due.clear()
            self._lock.notify_all()

    def _is_due(self) -> bool:
        return bool(self._heap) and _clock.current().remaining(self._heap[0][0]) == 0

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._is_due():
                    wait = _clock.current().remaining(self._heap[0][0]) if self._heap else None
                    self._lock.wait(wait)
                wake_at, _, run = heapq.heappop(self._heap)
                self._due.discard((id(run.store), run.name, run.id, wake_at))
                self._busy += 1
            try:
                # Another run carries it on, or it was cancelled while it slept.
                with contextlib.suppress(WorkflowLockedError, WorkflowCancelledError):
                    if run.again is not None:
                        run.again(run)
                    else:
                        resume(run)
            except Exception:
                log.exception("waking %s failed", run.where())
            finally:
                with self._lock:
                    self._busy -= 1
                    self._lock.notify_all()

    def settle(self, timeout: float) -> None:
        """Wait until no wake-up is due and none is running; TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._busy or self._is_due():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"workflows woken in this process were still running after {timeout:g} s"
                    )
                self._lock.wait(left)


_waker = _Waker()
on_suspended(_waker.schedule)
_clock.on_change(_waker.clock_changed)


def settle(timeout: float) -> None:
    """Wait until the workflows of this process that are due have run to their next stop."""
    _waker.settle(timeout)
