"""Retries with durable backoff, on every store; time is a test clock, never slept."""

from __future__ import annotations

import functools
import pickle
from concurrent.futures import Future
from typing import Any

import pytest

import waku
from waku.testing import ManualClock

from . import flows
from .conftest import record_body


def test_a_failing_step_is_retried_with_backoff_until_it_succeeds(
    store: waku.StepStore, clock: ManualClock
) -> None:
    flows.failures_left[0] = 2
    start = clock.now()
    done = flows.retrying.run(20, workflow_id="f-1")
    assert done.result == 41
    assert flows.calls == ["flaky 20"] * 3
    # Two backoffs of 0.5 s then 1 s (less up to 10 % jitter), short enough to wait in
    # place: the test clock moved by them instead of the test sleeping.
    assert 1.35 <= clock.now() - start <= 1.5


def test_every_attempt_is_recorded_with_its_number_error_and_time(
    store: waku.StepStore, clock: ManualClock
) -> None:
    flows.failures_left[0] = 9
    policy = waku.RetryPolicy(max_attempts=3, initial=1, jitter=0)
    result = waku.run_workflow(
        "recorded",
        lambda: waku.step(flows.flaky.fn, 1, retry=policy),
        workflow_id="f-2",
    )
    assert isinstance(result.result, ConnectionError)
    kind, body = record_body(store, "recorded", "f-2", 1)
    assert kind == "E" and body["attempt"] == 3 and "retry_at" not in body  # gave up
    assert body["type"] == "builtins:ConnectionError" and body["message"] == "down (6 more)"
    assert body["at"] == clock.now()
    assert [(e["attempt"], e["message"]) for e in body["earlier"]] == [
        (1, "down (8 more)"),
        (2, "down (7 more)"),
    ]
    assert body["earlier"][1]["at"] - body["earlier"][0]["at"] == 1  # initial backoff
    assert body["at"] - body["earlier"][1]["at"] == 2  # doubled


def test_after_the_last_attempt_the_failure_is_raised_in_the_decorator_style(
    store: waku.StepStore, clock: ManualClock
) -> None:
    flows.failures_left[0] = 9
    failed = flows.retrying.run(1, workflow_id="f-3")
    assert isinstance(failed.result, ConnectionError)  # raised out of the body: its failure
    assert flows.calls == ["flaky 1"] * 4  # retries=3: four attempts


def test_after_the_last_attempt_the_failure_is_a_value_in_the_pipeline_style(
    store: waku.StepStore, clock: ManualClock
) -> None:
    flows.failures_left[0] = 9
    handled = waku.run_workflow(
        "piped-retry",
        lambda: waku.pipe(
            5,
            waku.step(flows.flaky.fn, retries=1, backoff=0.5),
            waku.step(lambda n: n + 1),  # passed by: the value is a failure
            waku.else_(lambda error: f"handled {type(error).__name__}"),
        ),
    )
    assert handled.result == "handled ConnectionError" and handled.latest_step == 1
    assert flows.calls == ["flaky 5"] * 2


def test_a_curried_step_with_a_policy_retries_in_pipe(
    store: waku.StepStore, clock: ManualClock
) -> None:
    flows.failures_left[0] = 1
    fetch = waku.step(flows.flaky.fn, retry=waku.RetryPolicy(initial=0.1))
    assert isinstance(fetch, waku.StepFunction) and fetch.retry is not None
    assert waku.run_workflow("curried", lambda: waku.pipe(3, fetch)).result == 6


def test_only_failures_of_retry_on_are_retried(store: waku.StepStore, clock: ManualClock) -> None:
    def picky(n: int) -> int:
        flows.calls.append("picky")
        raise KeyError(n)

    result = waku.run_workflow(
        "picky", lambda: waku.step(picky, 1, retries=5, retry_on=(ConnectionError, TimeoutError))
    )
    assert isinstance(result.result, KeyError) and flows.calls == ["picky"]


def test_a_long_backoff_suspends_and_the_clock_wakes_the_next_attempt(
    store: waku.StepStore, clock: ManualClock
) -> None:
    flows.failures_left[0] = 2
    first = flows.patient.run(7, workflow_id="f-4")
    assert isinstance(first.result, Future)
    body = record_body(store, flows.patient.name, "f-4", 1)[1]
    assert body["attempt"] == 1 and body["retry_at"] == clock.now() + 600
    clock.advance(minutes=10)  # attempt 2 fails too: the next wait is 30 minutes
    assert flows.calls == ["attempt 1", "attempt 2"]
    assert record_body(store, flows.patient.name, "f-4", 1)[1]["retry_at"] == clock.now() + 1800
    clock.advance(minutes=29)
    assert len(flows.calls) == 2
    clock.advance(minutes=1)
    assert first.wait(timeout=5).result == 7 and len(flows.calls) == 3


def test_a_resume_during_a_backoff_keeps_its_end_and_the_attempt_count(
    store: waku.StepStore, clock: ManualClock
) -> None:
    flows.failures_left[0] = 9
    flows.patient.run(7, workflow_id="f-5")
    retry_at = record_body(store, flows.patient.name, "f-5", 1)[1]["retry_at"]
    with waku.testing.clock(clock.now() + 300):  # a new process, during the backoff
        again = flows.patient.run(7, workflow_id="f-5")
        assert isinstance(again.result, Future) and flows.calls == ["attempt 1"]
        assert record_body(store, flows.patient.name, "f-5", 1)[1]["retry_at"] == retry_at
    with waku.testing.clock(retry_at) as later:  # another, once it is over
        flows.patient.run(7, workflow_id="f-5")
        assert flows.calls == ["attempt 1", "attempt 2"]
        later.advance(minutes=30)  # attempt 3, then 90 minutes to attempt 4, the last
        later.advance(minutes=90)
    body = record_body(store, flows.patient.name, "f-5", 1)[1]
    assert body["attempt"] == 4 and "retry_at" not in body  # gave up after max_attempts
    assert len(flows.calls) == 4


def test_a_resume_after_giving_up_starts_a_new_round(
    store: waku.StepStore, clock: ManualClock
) -> None:
    flows.failures_left[0] = 4
    assert isinstance(flows.retrying.run(2, workflow_id="f-6").result, ConnectionError)
    assert flows.retrying.run(2, workflow_id="f-6").result == 5
    assert len(flows.calls) == 5


def test_retry_settings_are_checked() -> None:
    with pytest.raises(TypeError, match="either retry="):
        waku.step(flows.note.fn, retries=2, retry=waku.RetryPolicy())
    with pytest.raises(TypeError, match="need retries=N"):
        waku.step(flows.note.fn, backoff=3)
    with pytest.raises(ValueError, match="retries must be"):
        waku.step(flows.note.fn, retries=-1)
    with pytest.raises(ValueError, match="max_attempts"):
        waku.RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="multiplier"):
        waku.RetryPolicy(multiplier=0.5)
    with pytest.raises(ValueError, match="jitter"):
        waku.RetryPolicy(jitter=2)
    with pytest.raises(TypeError, match="retry_on"):
        waku.RetryPolicy(retry_on=(KeyboardInterrupt,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        waku.step(flows.note.fn, timeout=0)
    assert waku.RetryPolicy(retry_on=KeyError).retry_on == (KeyError,)


def test_backoff_grows_to_its_cap_and_jitter_only_shortens_it() -> None:
    policy = waku.RetryPolicy(max_attempts=10, initial=1, multiplier=3, max_delay=20, jitter=0.5)
    assert [policy.delay(k, draw=0) for k in (1, 2, 3, 4)] == [1, 3, 9, 20]
    assert policy.delay(2, draw=0.999) == pytest.approx(1.5015)
    assert all(10 <= policy.delay(5) <= 20 for _ in range(100))
    assert policy.retries(ValueError(), 9) and not policy.retries(ValueError(), 10)


def test_a_step_timeout_error_is_a_picklable_waku_error() -> None:
    error = waku.StepTimeoutError("step 3 ran past its timeout")
    assert isinstance(error, waku.WakuError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is waku.StepTimeoutError and str(copy) == str(error)


def retried_pipeline(attempts: int) -> Any:
    return waku.pipe(
        1,
        waku.step(flows.flaky.fn, retries=attempts - 1, backoff=1),
        functools.partial(waku.sleep, 60),
        waku.step(lambda n: n + 1),
    )


def test_a_backoff_and_a_sleep_mix_in_one_workflow(
    store: waku.StepStore, clock: ManualClock
) -> None:
    flows.failures_left[0] = 1
    first = waku.run_workflow("mixed-timers", lambda: retried_pipeline(2), workflow_id="m-1")
    assert isinstance(first.result, Future)  # retried in place, then a long sleep
    clock.advance(minutes=1)
    assert first.wait(timeout=5).result == 3
