"""Step timeouts: a failed attempt named StepTimeoutError, retried when the policy says so.

Timeouts run on real time (they guard a real thread), so these use a few
tenths of a second at most.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import waku

from . import flows
from .conftest import record_body


def test_a_sync_step_past_its_timeout_fails_and_its_thread_runs_on(
    store: waku.StepStore,
) -> None:
    finished = threading.Event()

    def slow(n: int) -> int:
        time.sleep(0.3)
        finished.set()
        return n

    began = time.monotonic()
    result = waku.run_workflow("slow", lambda: waku.step(slow, 1, timeout=0.05), workflow_id="s-1")
    assert time.monotonic() - began < 0.25  # the run did not wait for the function
    assert isinstance(result.result, waku.StepTimeoutError)
    assert "step 1" in str(result.result) and "0.05 s" in str(result.result)
    kind, body = record_body(store, "slow", "s-1", 1)
    assert kind == "E" and body["type"] == "waku._errors:StepTimeoutError"
    assert body["attempt"] == 1
    assert finished.wait(2)  # Python cannot stop the thread: the function ran to its end...
    time.sleep(0.05)
    assert record_body(store, "slow", "s-1", 1)[0] == "E"  # ...and its late result is dropped


def test_a_timed_out_attempt_is_retried(store: waku.StepStore) -> None:
    done = waku.run_workflow("retried", lambda: waku.pipe(4, waku.step(flows.sometimes_slow)))
    assert done.result == 4
    # The second attempt ran while the first one still slept in its own thread.
    assert flows.calls == ["start 4", "start 4", "end 4"]
    assert flows.slow_attempt_over.wait(2)
    assert flows.calls[-1] == "late end 4"


def test_a_quick_step_with_a_timeout_runs_in_the_workflow_context(
    store: waku.StepStore,
) -> None:
    def keyed(n: int) -> str:
        return waku.idempotency_key()

    done = waku.run_workflow("keyed", lambda: waku.step(keyed, 1, timeout=5), workflow_id="k")
    assert done.result == "keyed/k/1"


def test_an_async_step_past_its_timeout_is_cancelled(store: waku.StepStore) -> None:
    result = flows.times_out_async.run(1, workflow_id="s-2")
    assert result.result == "gave up: StepTimeoutError"  # raised in the decorator style
    assert flows.calls == ["started", "cancelled"]
    body = record_body(store, flows.times_out_async.name, "s-2", 1)[1]
    assert body["type"] == "waku._errors:StepTimeoutError" and "cancelled" in body["message"]


def test_a_timeout_not_in_retry_on_is_not_retried(store: waku.StepStore) -> None:
    async def hangs(n: int) -> int:
        flows.calls.append("try")
        await asyncio.sleep(5)
        return n

    async def body() -> Any:
        return await waku.step(hangs, 1, timeout=0.02, retries=3, retry_on=ConnectionError)

    result = asyncio.run(waku.run_workflow_async("strict", body))
    assert isinstance(result.result, waku.StepTimeoutError) and flows.calls == ["try"]


def test_an_async_step_own_timeout_error_is_its_failure_not_a_step_timeout(
    store: waku.StepStore,
) -> None:
    async def gives_up(n: int) -> int:
        raise TimeoutError("the service did not answer")

    async def body() -> Any:
        return await waku.step(gives_up, 1, timeout=5)

    result = asyncio.run(waku.run_workflow_async("own-timeout", body))
    assert type(result.result) is TimeoutError
