"""The one wall clock Waku reads: the system's, or a test's (``waku.testing.clock``).

Wake times, sleep and backoff deadlines, callback deadlines and the time of
each failed attempt are read here and nowhere else, so a test can move time
forward and every part of the engine sees the same moment. Leases and
timeouts of a caller's own wait (``result(timeout=...)``) stay on real time:
they guard running processes, not workflow time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


class Clock:
    """The system clock; a test clock overrides ``now`` and how a wait passes."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def wait_until(self, until: float) -> None:
        """Wait in place (in the calling thread) until this clock reads ``until``."""
        left = until - self.now()
        if left > 0:
            time.sleep(left)

    async def wait_until_async(self, until: float) -> None:
        """Wait in place on the event loop until this clock reads ``until``."""
        left = until - self.now()
        if left > 0:
            await asyncio.sleep(left)

    def remaining(self, until: float) -> float | None:
        """Real seconds a thread waiting for ``until`` may block before it looks again.

        0 when ``until`` has come; None when only a move of this clock can
        bring it (a test clock stands still until it is advanced).
        """
        return max(0.0, until - self.now())


SYSTEM = Clock()

_current: Clock = SYSTEM
_listeners: list[Callable[[bool], None]] = []
_lock = threading.Lock()


def now() -> float:
    """The current time, seconds since the epoch, on the clock in use."""
    return _current.now()


def current() -> Clock:
    """The clock in use."""
    return _current


def use(clock: Clock) -> Clock:
    """Make ``clock`` the clock in use; returns the one it replaces."""
    global _current
    with _lock:
        previous, _current = _current, clock
    changed(replaced=True)
    return previous


def on_change(listener: Callable[[bool], None]) -> None:
    """Call ``listener(replaced)`` whenever the clock moves or is replaced."""
    _listeners.append(listener)


def changed(*, replaced: bool = False) -> None:
    """Tell the listeners that time moved (or that another clock is in use)."""
    for listener in list(_listeners):
        listener(replaced)
