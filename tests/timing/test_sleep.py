"""Durable sleep on every store: the wake time is a step, short sleeps wait, long ones suspend."""

from __future__ import annotations

import asyncio
import functools
import time
from concurrent.futures import Future
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import waku
from waku.testing import ManualClock

from . import flows
from .conftest import record_body


def test_a_long_sleep_suspends_and_wakes_when_the_clock_reaches_it(
    store: waku.StepStore, clock: ManualClock
) -> None:
    began = time.monotonic()
    first = flows.remind.run("ana", 3600, workflow_id="r-1")
    assert isinstance(first.result, Future) and not first.result.done()
    assert flows.calls == ["asked ana"]
    kind, body = record_body(store, flows.remind.name, "r-1", 2)
    assert kind == "T" and body == {"until": clock.now() + 3600}

    clock.advance(minutes=59)
    assert flows.calls == ["asked ana"]  # not due yet: nothing ran
    clock.advance(minutes=1)  # due: this process's waker runs it on before advance returns
    assert flows.calls == ["asked ana", "reminded ana"]
    assert first.wait(timeout=5).result == "reminded ana"
    assert time.monotonic() - began < 2  # an hour of workflow time, no hour of real time


def test_a_resume_before_the_wake_time_keeps_the_recorded_wake_time(
    store: waku.StepStore, clock: ManualClock
) -> None:
    flows.remind.run("ana", 3600, workflow_id="r-2")
    until = record_body(store, flows.remind.name, "r-2", 2)[1]["until"]
    with waku.testing.clock(clock.now() + 1800):  # a new process, half an hour later
        again = flows.remind.run("ana", 3600, workflow_id="r-2")
        assert isinstance(again.result, Future)
        assert record_body(store, flows.remind.name, "r-2", 2)[1]["until"] == until
    with waku.testing.clock(until):  # and another when the sleep is over
        done = flows.remind.run("ana", 3600, workflow_id="r-2")
    assert done.result == "reminded ana"
    assert flows.calls == ["asked ana", "reminded ana"]


def test_a_short_sleep_waits_in_place_for_real(store: waku.StepStore) -> None:
    began = time.monotonic()
    assert flows.remind.run("bo", 0.05, workflow_id="r-3").result == "reminded bo"
    assert time.monotonic() - began >= 0.05


def test_a_short_sleep_under_a_test_clock_moves_the_clock_instead_of_waiting(
    store: waku.StepStore, clock: ManualClock
) -> None:
    start = clock.now()
    began = time.monotonic()
    assert flows.remind.run("bo", 1.5, workflow_id="r-4").result == "reminded bo"
    assert clock.now() == start + 1.5
    assert time.monotonic() - began < 1


def test_replaying_a_finished_sleep_waits_nothing(store: waku.StepStore) -> None:
    flows.remind.run("cy", 0.2, workflow_id="r-5")
    began = time.monotonic()
    assert flows.remind.run("cy", 0.2, workflow_id="r-5").result == "reminded cy"
    assert time.monotonic() - began < 0.15
    assert flows.calls == ["asked cy", "reminded cy"]


def test_wait_in_place_sets_the_threshold(store: waku.StepStore, clock: ManualClock) -> None:
    def body() -> Any:
        waku.sleep(30, wait_in_place=60)
        return waku.step(lambda _: "woke", None)

    assert waku.run_workflow("long-in-place", body).result == "woke"

    def short() -> Any:
        waku.sleep(1, wait_in_place=0)
        return "woke"

    assert isinstance(waku.run_workflow("suspends", short).result, Future)


def test_sleep_until_sleeps_to_a_datetime(store: waku.StepStore, clock: ManualClock) -> None:
    when = clock.datetime() + timedelta(days=7)
    first = flows.remind_at.run("di", when, workflow_id="r-6")
    assert isinstance(first.result, Future)
    assert record_body(store, flows.remind_at.name, "r-6", 1)[1] == {"until": when.timestamp()}
    clock.advance(days=7)
    assert first.wait(timeout=5).result == "reminded di"


def test_a_time_already_past_does_not_wait(store: waku.StepStore) -> None:
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    assert flows.remind_at.run("ed", past, workflow_id="r-7").result == "reminded ed"


def test_the_pipeline_form_passes_its_value_on_or_a_pending_future(
    store: waku.StepStore, clock: ManualClock
) -> None:
    short = waku.run_workflow("piped", lambda: flows.pipeline(1))
    assert short.result == "reminded ana" and short.latest_step == 3
    long = waku.run_workflow("piped", lambda: flows.pipeline(86400), workflow_id="p-2")
    assert isinstance(long.result, Future) and long.latest_step == 2  # later steps pass it on
    clock.advance(days=1)  # an anonymous workflow is woken by this process too
    assert long.wait(timeout=5).result == "reminded ana"


def test_a_failure_passes_a_sleep_by_without_taking_a_step(store: waku.StepStore) -> None:
    boom = ValueError("no")
    result = waku.run_workflow(
        "failed-before", lambda: waku.pipe(boom, functools.partial(waku.sleep, 3600))
    )
    assert result.result is boom and result.latest_step == 0


def test_a_sleep_replaced_by_a_step_is_refused_on_resume(
    store: waku.StepStore, clock: ManualClock
) -> None:
    waku.run_workflow("changed", lambda: waku.sleep(3600, "x"), workflow_id="c-1")
    with pytest.raises(waku.NonDeterminismError, match="waku:sleep"):
        waku.run_workflow("changed", lambda: waku.step(str.upper, "x"), workflow_id="c-1")


def test_an_async_sleep_waits_in_place_or_suspends(
    store: waku.StepStore, clock: ManualClock
) -> None:
    short = flows.remind_async.run("fa", 0.5, workflow_id="a-1")
    assert short.result == "reminded fa"
    long = flows.remind_async.run("gu", 7200, workflow_id="a-2")
    assert isinstance(long.result, Future)
    clock.advance(hours=2)
    assert long.wait(timeout=5).result == "reminded gu"
    assert flows.calls == ["asked fa", "reminded fa", "asked gu", "reminded gu"]


async def noted_async(what: str) -> str:
    return flows.note.fn(what)


def test_async_sleeps_take_their_numbers_when_called(
    store: waku.StepStore, clock: ManualClock
) -> None:
    async def body() -> Any:
        slept, noted = await asyncio.gather(
            waku.sleep_async(1.5, "slept"), waku.step(noted_async, "noted")
        )
        later = await waku.pipe_async(
            noted, functools.partial(waku.sleep_until_async, clock.datetime())
        )
        return [slept, later]

    first = asyncio.run(waku.run_workflow_async("gathered", body, workflow_id="g-1"))
    assert first.result == ["slept", "noted"] and first.latest_step == 3
    assert record_body(store, "gathered", "g-1", 1)[0] == "T"  # numbered in call order
    again = asyncio.run(waku.run_workflow_async("gathered", body, workflow_id="g-1"))
    assert again.result == ["slept", "noted"] and flows.calls == ["noted"]


def test_sleep_is_refused_outside_a_workflow_and_for_bad_durations() -> None:
    with pytest.raises(waku.NotInWorkflowError):
        waku.sleep(1)
    with pytest.raises(ValueError, match="a sleep must be a finite number of seconds"):
        waku.sleep(-1)
    with pytest.raises(ValueError, match="finite"):
        waku.sleep(float("inf"))
    with pytest.raises(TypeError, match="number of seconds"):
        waku.sleep("10")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="datetime"):
        waku.sleep_until(10.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="wait_in_place"):
        waku.sleep(1, wait_in_place=-1)


def test_a_cancelled_sleeping_workflow_is_not_woken(
    store: waku.StepStore, clock: ManualClock
) -> None:
    flows.remind.run("hu", 60, workflow_id="r-8")
    waku.cancel(flows.remind.name, "r-8")
    clock.advance(minutes=5)
    assert flows.calls == ["asked hu"]


def test_a_sleep_inside_a_step_function_is_refused(store: waku.StepStore) -> None:
    def naps(n: int) -> int:
        waku.sleep(1)
        return n

    result = waku.run_workflow("nested", lambda: waku.step(naps, 1))
    assert isinstance(result.result, TypeError)
    assert "inside step function" in str(result.result)


def test_the_blocking_sleep_is_refused_on_an_event_loop(store: waku.StepStore) -> None:
    async def body() -> Any:
        return waku.sleep(0.01, "x")

    with pytest.raises(TypeError, match="sleep_async"):
        asyncio.run(waku.run_workflow_async("blocking", body))
