"""waku.testing: a clock the test moves; every time Waku reads comes from it."""

from __future__ import annotations

import time
from concurrent.futures import Future
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import waku
from waku.testing import ManualClock

from . import flows

approvals: list[str] = []


def ask(amount: int) -> None:
    approvals.append(waku.create_callback_token(ttl=3600))


def expense(amount: int) -> Any:
    return waku.pipe(
        amount,
        waku.step(ask),
        waku.then(lambda answer: f"approved by {answer}"),
        waku.else_(lambda error: f"no answer: {type(error).__name__}"),
    )


waku.register_workflow("timed-expense", expense)


def test_a_callback_deadline_passes_when_the_clock_passes_it(
    store: waku.StepStore, clock: ManualClock
) -> None:
    approvals.clear()
    first = waku.run_callback_workflow("timed-expense", 45, workflow_id="e-1")
    assert isinstance(first.result, Future)
    clock.advance(minutes=59)
    assert isinstance(waku.run_callback_workflow("timed-expense", workflow_id="e-1").result, Future)
    clock.advance(minutes=1)  # the deadline: woken, and the step's value is the timeout
    assert first.wait(timeout=5).result == "no answer: CallbackTimeoutError"
    with pytest.raises(waku.InvalidTokenError, match="expired"):
        waku.run_workflow_from_callback(approvals[0], "ana")


def test_a_callback_before_the_deadline_still_wins(
    store: waku.StepStore, clock: ManualClock
) -> None:
    approvals.clear()
    waku.run_callback_workflow("timed-expense", 45, workflow_id="e-2")
    clock.advance(minutes=30)
    assert waku.run_workflow_from_callback(approvals[0], "ana").result == "approved by ana"
    clock.advance(hours=2)  # the old wake-up finds the workflow finished: nothing changes
    assert waku.run_callback_workflow("timed-expense", workflow_id="e-2").result == (
        "approved by ana"
    )


def test_the_clock_starts_now_in_whole_seconds_or_where_told_and_moves_only_forward() -> None:
    before = time.time()
    with waku.testing.clock() as clock:
        assert before - 1 < clock.now() <= before and clock.now() == int(clock.now())
        assert clock.advance(timedelta(hours=1), minutes=1) == clock.now()
        with pytest.raises(ValueError, match="only moves forward"):
            clock.advance(-1)
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    with waku.testing.clock(start) as clock:
        assert clock.datetime() == start
        clock.advance(days=1, hours=2, minutes=3, seconds=4)
        assert clock.datetime() == start + timedelta(days=1, hours=2, minutes=3, seconds=4)
        clock.advance_to(start)  # already past: stays
        assert clock.datetime() > start
        assert repr(clock) == "<ManualClock at 2030-01-02T02:03:04+00:00>"


def test_leaving_the_clock_restores_real_time(store: waku.StepStore) -> None:
    with waku.testing.clock(0) as clock:
        clock.advance(days=1)
        with waku.testing.clock(10**10):
            pass
        assert clock.now() == 86400  # the inner clock was left: this one is back
    began = time.monotonic()
    assert flows.remind.run("ann", 0.05, workflow_id="real").result == "reminded ann"
    assert time.monotonic() - began >= 0.05  # real time again: this sleep was waited


def test_wake_ups_of_one_clock_are_forgotten_on_another(store: waku.StepStore) -> None:
    with waku.testing.clock() as clock:
        first = flows.remind.run("bea", 60, workflow_id="forgotten")
    with waku.testing.clock(clock.now() + 3600) as later:
        later.advance(1)  # past the wake time, but this process forgot it with the old clock
        assert flows.calls == ["asked bea"]
        assert flows.remind.run("bea", 60, workflow_id="forgotten").result == "reminded bea"
    assert first.wait(timeout=5).result == "reminded bea"
