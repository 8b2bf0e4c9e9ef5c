"""Time your tests control: workflows that sleep for a week finish in milliseconds.

::

    with waku.testing.clock() as clock:
        result = remind.run("ana", workflow_id="r-1")   # sleeps 7 days: suspended
        clock.advance(days=7)                           # due: woken, run on, settled
        assert remind.run("ana", workflow_id="r-1").result == "reminded ana"

Inside ``clock()`` every time Waku reads — sleeps, retry backoffs, callback
deadlines, wake times, the time of failed attempts — comes from the test
clock, which stands still until the test moves it. ``advance`` wakes the
workflows of this process that became due and waits until they have run to
their next stop; a ``Worker`` sharing the store polls at once, and
``recover()`` finds due workflows by the same clock. A wait short enough to
be made in place (a sleep or backoff of at most ``wait_in_place`` seconds)
moves the clock forward by itself instead of waiting. Step timeouts and
leases stay on real time: they guard real threads and processes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from . import _clock, _waker

__all__ = ["ManualClock", "clock"]


class ManualClock(_clock.Clock):
    """A clock that moves only when told to (``advance``), or by waits made in place."""

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<ManualClock at {self.datetime().isoformat()}>"

    def now(self) -> float:
        """Seconds since the epoch, as this clock reads."""
        return self._now

    def datetime(self) -> dt.datetime:
        """The time this clock reads, as an aware UTC ``datetime``."""
        return dt.datetime.fromtimestamp(self._now, dt.timezone.utc)

    def advance(
        self,
        seconds: float | dt.timedelta = 0.0,
        *,
        minutes: float = 0.0,
        hours: float = 0.0,
        days: float = 0.0,
        settle: float = 30.0,
    ) -> float:
        """Move forward, wake the workflows of this process that became due, and wait
        (up to ``settle`` real seconds) until they have run to their next stop.

        Returns the new time. Moving backwards is refused with ValueError.
        """
        if isinstance(seconds, dt.timedelta):
            seconds = seconds.total_seconds()
        step = float(seconds) + minutes * 60 + hours * 3600 + days * 86400
        if step < 0:
            raise ValueError(f"a test clock only moves forward; not by {step:g} s")
        return self.advance_to(self._now + step, settle=settle)

    def advance_to(self, when: dt.datetime | float, *, settle: float = 30.0) -> float:
        """``advance`` to ``when`` (a ``datetime`` or seconds since the epoch); a time
        already past leaves the clock where it is but still wakes what is due."""
        until = when.timestamp() if isinstance(when, dt.datetime) else float(when)
        self._move_to(until)
        _waker.settle(settle)
        return self._now

    def wait_until(self, until: float) -> None:
        """A wait in place passes at once: the clock moves to its end."""
        self._move_to(until)

    async def wait_until_async(self, until: float) -> None:
        """A wait in place on the event loop passes at once; the loop still gets a turn."""
        self._move_to(until)
        await asyncio.sleep(0)

    def remaining(self, until: float) -> float | None:
        """Nothing comes by itself: a wait lasts until the clock is moved."""
        return 0.0 if until <= self._now else None

    def _move_to(self, until: float) -> None:
        with self._lock:
            if until <= self._now:
                moved = False
            else:
                self._now, moved = until, True
        if moved:
            _clock.changed()


@contextmanager
def clock(start: dt.datetime | float | None = None) -> Iterator[ManualClock]:
    """Use a ``ManualClock`` for everything Waku times, for the length of the ``with``.

    It starts at ``start`` (a ``datetime`` or seconds since the epoch),
    by default the real time now in whole seconds (so ``clock.datetime() +
    timedelta(days=7)`` is exactly ``advance(days=7)`` away), and stands
    still until advanced. On
    entering and leaving, this process forgets the wake-ups it had scheduled
    (their times belong to the other clock); the workflows stay suspended in
    the store for a ``Worker`` or ``recover()``.
    """
    if start is None:
        begin = float(math.floor(_clock.SYSTEM.now()))  # whole seconds: exact date arithmetic
    else:
        begin = start.timestamp() if isinstance(start, dt.datetime) else float(start)
    manual = ManualClock(begin)
    previous = _clock.use(manual)
    try:
        yield manual
    finally:
        _clock.use(previous)
