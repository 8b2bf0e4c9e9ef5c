"""The asyncio shell: run_workflow_async and awaitable steps.

Same engine, same records as the sync shell; only the I/O differs. Every
store call goes through ``asyncio.to_thread``, so a slow store never stalls
the event loop, while the decisions that need no I/O (the step number, the
replay from the history loaded when the run began) happen at once, when
``step`` is called: ``asyncio.gather(step(a, x), step(b, y))`` numbers its
steps in call order, whatever order they finish in.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ._context import Run, StepScope, current_run, current_step
from ._engine import Replayed
from ._flow import passes_through
from ._lifecycle import begin, release
from ._run import WorkflowResult, begin_step, finish, new_run, record_outcome, start_step
from ._stores.base import StepStore


async def run_workflow_async(
    name: str,
    fn: Callable[[], Any],
    *,
    workflow_id: str | None = None,
    store: StepStore | None = None,
) -> WorkflowResult:
    """Run ``fn`` as workflow ``name`` in asyncio; steps stored under this id are replayed.

    ``fn`` is an ``async def`` function, or any function returning an
    awaitable (``lambda: waku.pipe_async(...)``). Store I/O runs in worker
    threads. Cancelling the awaiting task stops the workflow where it is:
    steps that had not finished are not recorded and run again on resume.
    """
    return await execute_async(new_run(name, workflow_id, store), fn)


async def execute_async(run: Run, fn: Callable[[], Any]) -> WorkflowResult:
    """``execute`` for asyncio: the body is awaited, the store is used from threads."""
    await asyncio.to_thread(begin, run)
    try:
        token = current_run.set(run)
        try:
            result = fn()
            if inspect.isawaitable(result):
                result = await result
        finally:
            current_run.reset(token)
    except BaseException:
        # Shielded: a second cancellation must not leave the lease held until it expires.
        await asyncio.shield(asyncio.to_thread(release, run))
        raise
    return await asyncio.to_thread(finish, run, result, _continue_with(fn))


def _continue_with(fn: Callable[[], Any]) -> Callable[[Run], WorkflowResult]:
    """How a continuation runs an async body: on a fresh event loop in its own thread."""
    return lambda successor: asyncio.run(execute_async(successor, fn))


def async_step(f: Callable[[Any], Awaitable[Any]], value: Any) -> Awaitable[Any]:
    """``step`` for an ``async def`` ``f``: number and replay decided now, I/O when awaited."""
    return _run_step(begin_step(f, value), f, value)


async def _run_step(
    began: Replayed | StepScope, f: Callable[[Any], Awaitable[Any]], value: Any
) -> Any:
    if isinstance(began, Replayed):
        return began.value
    scope = began
    await asyncio.to_thread(start_step, scope, value)
    token = current_step.set(scope)
    try:
        result = await f(value)
    except Exception as error:
        result = error
    finally:
        current_step.reset(token)
    # Cancelled while awaiting f: nothing is recorded, so the step runs again on resume.
    return await asyncio.to_thread(record_outcome, scope, result)


async def step_until_async(
    f: Callable[[Any], Awaitable[Any]], check: Callable[[Any], Any], value: Any
) -> Any:
    """``step_until`` with an ``async def`` step; ``check`` may be async too."""
    while True:
        value = await async_step(f, value)
        if passes_through(value):
            return value
        done = check(value)
        if inspect.isawaitable(done):
            done = await done
        if done:
            return value
