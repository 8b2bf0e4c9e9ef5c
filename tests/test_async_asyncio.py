"""asyncio workflows: awaitable steps, deterministic numbering, cancellation, load."""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any

import pytest

import waku
from waku import StepStore

from .async_helpers import RecordingStore, add_one, results


def run(coro_fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(coro_fn())


async def inc(x: int) -> int:
    await asyncio.sleep(0)
    return x + 1


async def triple(x: int) -> int:
    return x * 3


def test_async_steps_run_then_replay(store: StepStore) -> None:
    calls: list[int] = []

    async def counted(x: int) -> int:
        calls.append(x)
        return x * 10

    async def body() -> Any:
        x = await waku.step(inc, 1)
        return await waku.step(counted, x)

    async def main() -> tuple[waku.WorkflowResult, waku.WorkflowResult]:
        first = await waku.run_workflow_async("aio", body, workflow_id="a")
        return first, await waku.run_workflow_async("aio", body, workflow_id="a")

    first, second = run(main)
    assert (first.result, first.latest_step) == (20, 2)
    assert (second.result, second.latest_step, calls) == (20, 2, [2])


def test_gather_numbers_steps_in_call_order_not_finish_order(store: StepStore) -> None:
    async def body(slow_first: bool) -> Any:
        b_done = asyncio.Event()

        async def a(x: int) -> str:
            if slow_first:
                await b_done.wait()  # a finishes after b on the first run
            return f"a{x}"

        async def b(x: int) -> str:
            b_done.set()
            return f"b{x}"

        return list(await asyncio.gather(waku.step(a, 1), waku.step(b, 2)))

    async def main() -> tuple[Any, Any]:
        first = await waku.run_workflow_async("g", lambda: body(True), workflow_id="g")
        second = await waku.run_workflow_async("g", lambda: body(False), workflow_id="g")
        return first, second

    first, second = run(main)
    assert first.result == second.result == ["a1", "b2"]
    steps = store.get_steps("g", "g")
    assert b"a1" in steps[1] and b"b2" in steps[2]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup needs Python 3.11")
def test_task_group_steps_replay(store: StepStore) -> None:
    calls: list[int] = []

    async def counted(x: int) -> int:
        calls.append(x)
        return x + 100

    async def body() -> Any:
        async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined,unused-ignore]
            tasks = [group.create_task(waku.step(counted, i)) for i in range(3)]
        return [t.result() for t in tasks]

    async def main() -> tuple[Any, Any]:
        first = await waku.run_workflow_async("tg", body, workflow_id="t")
        return first, await waku.run_workflow_async("tg", body, workflow_id="t")

    first, second = run(main)
    assert first.result == second.result == [100, 101, 102]
    assert sorted(calls) == [0, 1, 2] and second.latest_step == 3


def test_pipe_async_then_and_else_with_coroutines(store: StepStore) -> None:
    async def boom(_: Any) -> Any:
        raise RuntimeError("boom")

    async def handle(error: Exception) -> str:
        return f"handled {error}"

    async def main() -> Any:
        return await waku.run_workflow_async(
            "flow",
            lambda: waku.pipe_async(
                1,
                waku.step(inc),
                waku.then(triple),
                waku.step(add_one),  # a plain step mixes in
                waku.step(boom),
                waku.step(inc),  # passes the failure through, still awaitable
                waku.else_(handle),
                waku.then(lambda s: s.upper()),
            ),
        )

    result = run(main)
    assert (result.result, result.latest_step) == ("HANDLED BOOM", 3)


def test_async_call_returns_failures_as_values() -> None:
    async def boom() -> None:
        raise KeyError("k")

    assert isinstance(asyncio.run(waku.call(boom)), KeyError)  # type: ignore[arg-type]


def test_step_until_with_an_async_step_and_check(store: StepStore) -> None:
    async def big_enough(x: int) -> bool:
        return x >= 4

    async def main() -> Any:
        return await waku.run_workflow_async(
            "until", lambda: waku.step_until(inc, big_enough, 0), workflow_id="u"
        )

    result = run(main)
    assert (result.result, result.latest_step) == (4, 4)


def test_cancelling_the_awaiting_task_leaves_the_step_incomplete(store: StepStore) -> None:
    started = asyncio.Event()
    attempts: list[int] = []

    async def hangs_first_time(x: int) -> int:
        attempts.append(x)
        if len(attempts) == 1:
            started.set()
            await asyncio.Event().wait()
        return x + 1

    async def body() -> Any:
        return await waku.step(hangs_first_time, await waku.step(inc, 0))

    async def main() -> Any:
        task = asyncio.create_task(waku.run_workflow_async("cancel", body, workflow_id="c"))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert results(store, "cancel", "c") == {1: "R"}  # step 2 not completed
        # the lease was released: resuming at once is allowed
        return await waku.run_workflow_async("cancel", body, workflow_id="c")

    resumed = run(main)
    assert (resumed.result, attempts) == (2, [1, 1])


def test_store_calls_never_run_on_the_event_loop_thread(store: StepStore) -> None:
    recording = RecordingStore(store)

    async def main() -> int:
        await asyncio.gather(
            *(
                waku.run_workflow_async(
                    "off-loop",
                    lambda: waku.pipe_async(0, waku.step(inc), waku.step(inc)),
                    store=recording,
                )
                for _ in range(20)
            )
        )
        return threading.get_ident()

    loop_thread = run(main)
    assert recording.threads and loop_thread not in recording.threads


def test_a_thousand_concurrent_workflows_lose_nothing(store: StepStore) -> None:
    async def body(i: int) -> Any:
        return await waku.pipe_async(i, waku.step(inc), waku.step(triple), waku.step(inc))

    async def main() -> list[waku.WorkflowResult]:
        return list(
            await asyncio.gather(
                *(
                    waku.run_workflow_async("many", functools.partial(body, i), workflow_id=f"w{i}")
                    for i in range(1000)
                )
            )
        )

    finished = run(main)
    assert [r.result for r in finished] == [(i + 1) * 3 + 1 for i in range(1000)]
    for i in range(1000):
        assert results(store, "many", f"w{i}") == {1: "R", 2: "R", 3: "R"}


def test_background_step_inside_an_async_workflow_continues(store: StepStore) -> None:
    async def main() -> Any:
        first = await waku.run_workflow_async(
            "mixed", lambda: waku.pipe_async(1, waku.step_async(add_one), waku.step(triple))
        )
        assert isinstance(first.result, Future) and first.latest_step == 1
        return await first.wait_async()

    final = run(main)
    assert (final.result, final.latest_step) == (6, 2)


def test_an_async_step_can_wait_for_a_callback(store: StepStore) -> None:
    async def ask(x: int) -> int:
        await waku.create_callback_token_async()
        return x

    async def main() -> Any:
        return await waku.run_workflow_async("aio-cb", lambda: waku.step(ask, 1))

    result = run(main)
    assert isinstance(result.result, Future) and not result.result.done()


callback_tokens: list[str] = []


async def ask_async(amount: int) -> None:
    callback_tokens.append(await waku.create_callback_token_async())


async def async_expense(amount: int) -> Any:
    approved = await waku.step(ask_async, amount)
    if isinstance(approved, Future):
        return approved
    return await waku.step(double_async, approved)


async def double_async(x: int) -> int:
    return x * 2


def test_a_registered_async_workflow_is_resumed_by_its_callback(store: StepStore) -> None:
    waku.register_workflow("aio-expense", async_expense)
    started = waku.run_callback_workflow("aio-expense", 10, workflow_id="ae")
    assert isinstance(started.result, Future) and started.latest_step == 1
    done = waku.run_workflow_from_callback(callback_tokens[-1], 21)
    assert (done.result, done.latest_step) == (42, 2)

    async def from_a_handler() -> waku.WorkflowResult:  # a sync call inside a running loop
        waku.run_callback_workflow("aio-expense", 5, workflow_id="ae-2")
        return waku.run_workflow_from_callback(callback_tokens[-1], 4)

    assert run(from_a_handler).result == 8


def test_misuse_is_refused_clearly(store: StepStore) -> None:
    async def body() -> int:
        return 1

    with pytest.raises(TypeError, match="run_workflow_async"):
        waku.run_workflow("sync-of-async", body)

    async def chained() -> Any:
        # a coroutine handed to the next step without awaiting it
        return waku.step(add_one, waku.step(inc, 1))

    with pytest.raises(TypeError, match="pipe_async"):
        run(lambda: waku.run_workflow_async("unawaited", chained))
