"""step_async: background steps, their continuations, and the races between them."""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest

import waku
from waku import StepStore

from .async_helpers import (
    RecordingStore,
    add_one,
    double,
    fail_in_worker,
    pid_of_worker,
    results,
)
from .stores.kinds import LEASES, store_fixture

# The seed's async cases: a background step, then a plain one.


def test_first_run_is_pending_at_step_one_and_rerun_after_completion_reaches_two(
    store: StepStore,
) -> None:
    def body() -> Any:
        return waku.pipe(1, waku.step_async(add_one), waku.step(double))

    first = waku.run_workflow("seed-async", body, workflow_id="a1")
    assert first.latest_step == 1
    assert isinstance(first.result, Future)
    first.wait(10)
    again = waku.run_workflow("seed-async", body, workflow_id="a1")
    assert (again.latest_step, again.result) == (2, 4)


def test_background_continuation_stores_the_next_step_by_itself(store: StepStore) -> None:
    first = waku.run_workflow(
        "seed-async-2", lambda: waku.pipe(1, waku.step_async(add_one), waku.step(double))
    )
    final = first.wait(10)
    assert (final.latest_step, final.result, final.continuation) == (2, 4, None)
    assert results(store, "seed-async-2", first.workflow_id) == {1: "R", 2: "R"}


def test_replay_gives_the_stored_value(store: StepStore) -> None:
    def body() -> Any:
        return waku.step_async(add_one, 41)

    waku.run_workflow("replay-value", body, workflow_id="v").wait(10)
    again = waku.run_workflow("replay-value", body, workflow_id="v")
    assert (again.result, again.continuation) == (42, None)  # a value, not a future


def test_future_resolves_only_after_the_result_is_stored(store: StepStore) -> None:
    seen: list[bytes | None] = []
    resolved = threading.Event()

    def on_done(_: object) -> None:
        seen.append(store.get_result("stored", "s", 1))
        resolved.set()

    def body() -> Any:
        future = waku.step_async(add_one, 1)
        if isinstance(future, Future):  # the first run; the continuation replays a value
            future.add_done_callback(on_done)
        return future

    waku.run_workflow("stored", body, workflow_id="s").wait(10)
    # The continuation may finish before the future's callbacks run: wait for them.
    assert resolved.wait(10)
    assert seen[0] is not None


def test_continuation_waits_for_the_store_write(store: StepStore) -> None:
    recording = RecordingStore(store)
    recording.hold_result = threading.Event()
    later: list[int] = []

    def body() -> Any:
        return waku.pipe(1, waku.step_async(add_one), waku.step(later.append))

    first = waku.run_workflow("held", body, workflow_id="h", store=recording)
    assert recording.result_entered.wait(10)  # the step finished; its write is held
    assert first.continuation is not None
    assert not first.continuation.done() and later == []
    recording.hold_result.set()
    final = first.wait(10)
    assert later == [2] and final.latest_step == 2


def test_a_step_that_finished_before_its_run_returned_is_still_carried_on(
    store: StepStore,
) -> None:
    def body() -> Any:
        future = waku.step_async(add_one, 1)
        if isinstance(future, Future):
            future.result(10)  # settled before the run even decides to continue
        return waku.step(double, future)

    first = waku.run_workflow("early", body, workflow_id="e")
    # A finished future still passes through: the run stops at the same step either way.
    assert first.latest_step == 1
    assert (first.wait(10).result, first.wait(10).latest_step) == (4, 2)


def test_two_background_steps_continue_once_both_are_stored(store: StepStore) -> None:
    gate = threading.Event()
    calls: list[int] = []

    def slow(x: int) -> int:
        gate.wait(10)
        calls.append(x)
        return x * 10

    def body() -> Any:
        return (waku.step_async(add_one, 1), waku.step_async(slow, 2))

    first = waku.run_workflow("pair", body, workflow_id="p")
    assert first.continuation is not None
    first.result[0].result(10)
    assert not first.continuation.done()  # one step is still running
    gate.set()
    final = first.wait(10)
    assert final.result == (2, 20) and calls == [2]


def test_chained_background_steps_follow_each_continuation(store: StepStore) -> None:
    def body() -> Any:
        return waku.pipe(1, waku.step_async(add_one), waku.step_async(double), waku.step(add_one))

    final = waku.run_workflow("chain", body).wait(10)
    assert (final.result, final.latest_step) == (5, 3)


def test_a_failing_background_step_is_recorded_and_returned_by_wait(store: StepStore) -> None:
    later: list[int] = []

    def body() -> Any:
        return waku.pipe(1, waku.step_async(fail_in_worker), waku.step(later.append))

    first = waku.run_workflow("bg-fail", body, workflow_id="f")
    with pytest.raises(ValueError, match="worker refused 1"):
        first.result.result(10)
    final = first.wait(10)
    assert isinstance(final.result, ValueError) and final.latest_step == 1
    assert later == []
    assert results(store, "bg-fail", "f") == {1: "E"}
    if isinstance(store, waku.WorkflowStatusStore):
        assert store.get_workflow_status("bg-fail", "f") == "failed"


def test_a_background_failure_flows_into_else_like_any_failure(store: StepStore) -> None:
    final = waku.run_workflow(
        "bg-handled",
        lambda: waku.pipe(1, waku.step_async(fail_in_worker), waku.else_(lambda e: f"handled {e}")),
    ).wait(10)
    assert final.result == "handled worker refused 1"


def test_a_failed_background_step_runs_again_on_resume(store: StepStore) -> None:
    attempts: list[int] = []

    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) == 1:
            raise RuntimeError("first attempt")
        return x + 100

    def body() -> Any:
        return waku.step_async(flaky, 1)

    assert isinstance(waku.run_workflow("retry", body, workflow_id="t").wait(10).result, Exception)
    second = waku.run_workflow("retry", body, workflow_id="t").wait(10)
    assert second.result == 101 and attempts == [1, 1]


def test_a_result_the_codec_cannot_store_is_raised_by_wait(store: StepStore) -> None:
    first = waku.run_workflow("unstorable", lambda: waku.step_async(lambda _: object(), 1))
    with pytest.raises(waku.SerializationError, match="unstorable"):
        first.wait(10)
    assert results(store, "unstorable", first.workflow_id) == {}


def test_a_cancelled_executor_task_leaves_the_step_to_run_on_resume(store: StepStore) -> None:
    gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        pool.submit(gate.wait, 10)  # occupies the only worker
        first = waku.run_workflow(
            "cancelled",
            lambda: waku.step_async(add_one, 1, executor=pool),
            workflow_id="c",
        )
        pool.shutdown(wait=False, cancel_futures=True)
        gate.set()
    with pytest.raises(CancelledError):
        first.wait(10)
    assert results(store, "cancelled", "c") == {}
    resumed = waku.run_workflow("cancelled", lambda: waku.step_async(add_one, 1), workflow_id="c")
    assert resumed.wait(10).result == 2


def test_process_pool_executor_runs_picklable_steps(store: StepStore) -> None:
    spawn = multiprocessing.get_context("spawn")  # fork from a threaded process is unsafe
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        first = waku.run_workflow(
            "processes",
            lambda: waku.pipe(
                3,
                waku.step_async(pid_of_worker, executor=pool),
                waku.step(lambda pair: pair[1]),
            ),
        )
        final = first.wait(60)
    assert final.latest_step == 2
    assert final.result != os.getpid()


def test_process_pool_failure_crosses_back_as_the_step_value(store: StepStore) -> None:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        final = waku.run_workflow(
            "processes-fail", lambda: waku.step_async(fail_in_worker, 7, executor=pool)
        ).wait(60)
    assert isinstance(final.result, ValueError) and str(final.result) == "worker refused 7"


def test_a_thread_step_sees_its_workflow(store: StepStore) -> None:
    def keyed(_: Any) -> str:
        return waku.idempotency_key()

    final = waku.run_workflow("keys", lambda: waku.step_async(keyed, 0), workflow_id="k").wait(10)
    assert final.result == "keys/k/1"


greetings: list[Any] = []


def _greet(payload: Any) -> Any:
    greetings.append(payload)

    def send(name: str) -> str:
        tokens.append(waku.create_callback_token())
        return name

    return waku.pipe(payload, waku.step_async(send), waku.step(lambda reply: f"hi {reply}"))


tokens: list[str] = []


def test_a_background_step_can_wait_for_a_callback(store: StepStore) -> None:
    greetings.clear()
    waku.register_workflow("bg-callback", _greet)
    first = waku.run_callback_workflow("bg-callback", "ada", workflow_id="cb")
    assert first.continuation is not None
    waiting = first.continuation.result(10)  # the step handed out its token and returned
    assert isinstance(waiting.result, Future) and not waiting.result.done()
    # Nothing could progress, so the continuation did not run the body again.
    assert greetings == ["ada"]
    done = waku.run_workflow_from_callback(tokens[-1], "lovelace")
    assert (done.result, done.latest_step) == ("hi lovelace", 2)
    assert greetings == ["ada", "ada"]  # start and callback, as in the original library
    assert first.wait(10).result == "hi lovelace"


def test_wait_on_a_workflow_waiting_for_a_callback_gives_the_final_result(
    store: StepStore,
) -> None:
    waku.register_workflow("callback-wait", _greet_inline)
    first = waku.run_callback_workflow("callback-wait", "ada", workflow_id="cw")
    assert isinstance(first.result, Future)
    with pytest.raises(TimeoutError):
        first.wait(0.01)
    threading.Timer(0.05, waku.run_workflow_from_callback, (tokens[-1], "byron")).start()
    assert first.wait(10).result == "hi byron"


def _greet_inline(payload: Any) -> Any:
    def send(name: str) -> str:
        tokens.append(waku.create_callback_token())
        return name

    return waku.pipe(payload, waku.step(send), waku.step(lambda reply: f"hi {reply}"))


leased_store = store_fixture(LEASES)


def test_the_lease_is_held_while_a_background_step_runs(leased_store: StepStore) -> None:
    gate = threading.Event()

    def blocked(x: int) -> int:
        gate.wait(10)
        return x

    first = waku.run_workflow("leased", lambda: waku.step_async(blocked, 1), workflow_id="l")
    with pytest.raises(waku.WorkflowLockedError):
        waku.run_workflow("leased", lambda: waku.step_async(blocked, 1), workflow_id="l")
    gate.set()
    first.wait(10)
    again = waku.run_workflow("leased", lambda: waku.step_async(blocked, 1), workflow_id="l")
    assert again.result == 1  # released once the continuation finished


def test_curried_and_explicit_forms_and_refusals(store: StepStore) -> None:
    final = waku.run_workflow("curried", lambda: waku.step_async(double)(21)).wait(10)
    assert final.result == 42

    async def coro(x: int) -> int:
        return x

    with pytest.raises(TypeError, match="async def"):
        waku.run_workflow("refused", lambda: waku.step_async(coro, 1))
    with pytest.raises(waku.NotInWorkflowError):
        waku.step_async(add_one, 1)
