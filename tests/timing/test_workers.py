"""Workers and recover() find due sleeps and backoffs by the same clock as the engine."""

from __future__ import annotations

import time
from typing import Any

import waku
from waku.testing import ManualClock

from ..stores.kinds import QUEUE, store_fixture
from . import flows

store = store_fixture(QUEUE)


def suspended_elsewhere(run: Any) -> float:
    """Run until suspended under a clock of its own, as another process would; its time."""
    with waku.testing.clock() as clock:
        run()
        return clock.now()


def test_recover_resumes_a_sleep_once_the_clock_reaches_its_wake_time(store: Any) -> None:
    start = suspended_elsewhere(lambda: flows.remind.run("ana", 3600, workflow_id="w-1"))
    # A clock of its own: this process forgot the wake-up, as a restarted one would.
    with waku.testing.clock(start) as clock:
        assert waku.recover(store) == []  # not due
        clock.advance(minutes=59)
        assert waku.recover(store) == []
        clock.advance(minutes=1)
        assert flows.calls == ["asked ana"]  # nothing in this process woke it
        (recovered,) = waku.recover(store)
    assert (recovered.workflow_id, recovered.status) == ("w-1", "resumed")
    assert recovered.result is not None and recovered.result.result == "reminded ana"


def test_recover_resumes_a_long_backoff_with_the_next_attempt(store: Any) -> None:
    flows.failures_left[0] = 1
    start = suspended_elsewhere(lambda: flows.patient.run(3, workflow_id="w-2"))
    with waku.testing.clock(start) as clock:
        clock.advance(minutes=10)
        (recovered,) = waku.recover(store)
    assert recovered.result is not None and recovered.result.result == 3
    assert flows.calls == ["attempt 1", "attempt 2"]


def test_a_worker_wakes_a_sleeping_workflow_as_soon_as_the_clock_moves(
    store: Any,
) -> None:
    start = suspended_elsewhere(lambda: flows.remind.run("bo", 86400, workflow_id="w-3"))
    handle = waku.WorkflowHandle(flows.remind.name, "w-3", store)
    with waku.testing.clock(start) as clock, waku.Worker(store, poll_interval=60):
        time.sleep(0.05)  # the worker's first claim finds nothing due
        assert handle.status() == "sleeping"
        began = time.monotonic()
        clock.advance(days=1)  # the worker is told at once: no waiting out its poll
        assert handle.result(timeout=10) == "reminded bo"
        assert time.monotonic() - began < 5


def test_a_worker_does_not_take_a_workflow_before_its_wake_time(store: Any) -> None:
    start = suspended_elsewhere(lambda: flows.remind.run("cy", 3600, workflow_id="w-4"))
    with waku.testing.clock(start) as clock, waku.Worker(store, poll_interval=0.01):
        clock.advance(minutes=30)
        time.sleep(0.1)  # a few polls
        assert store.get_workflow_status(flows.remind.name, "w-4") == "sleeping"
    assert flows.calls == ["asked cy"]


def test_a_workflow_woken_in_this_process_leaves_nothing_to_recover(
    clock: ManualClock, store: Any
) -> None:
    """The fixture clock is the one recover() reads too."""
    flows.remind.run("di", 60, workflow_id="w-5")
    clock.advance(minutes=1)  # woken here, in this process
    assert waku.recover(store) == []  # so nothing is left for recovery
    assert flows.calls == ["asked di", "reminded di"]
