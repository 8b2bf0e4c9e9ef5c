"""The synchronous shell: run_workflow, step, step_until, idempotency_key."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, overload

from . import _engine as engine
from ._codec import Codec, JsonCodec
from ._config import resolve_store
from ._context import Run, StepScope, current_run, current_step, require_run, require_step
from ._engine import Replayed
from ._flow import MISSING, is_async, is_failure, passes_through
from ._lifecycle import begin, mark_finished, release
from ._stores.base import StepStore


@dataclass(frozen=True)
class WorkflowResult:
    """What a run reached: ``latest_step`` counts the steps taken, cached or executed."""

    workflow_name: str
    workflow_id: str
    latest_step: int
    result: Any
    continuation: Future[WorkflowResult] | None = field(default=None, repr=False, compare=False)
    """Set when background steps carry the workflow on after this run returned."""

    def wait(self, timeout: float | None = None) -> WorkflowResult:
        """The final result once every background continuation has finished.

        A background step's failure is the final ``result`` (a value, as with
        ``step``); an error of the engine itself (a value it cannot store, a
        non-deterministic resume) is raised here. ``TimeoutError`` when a
        continuation takes longer than ``timeout`` seconds.
        """
        if self.continuation is None:
            return self
        return self.continuation.result(timeout).wait(timeout)

    async def wait_async(self) -> WorkflowResult:
        """``wait`` for asyncio code: the final result, without blocking the event loop."""
        result = self
        while result.continuation is not None:
            result = await asyncio.wrap_future(result.continuation)
        return result


def new_run(name: str, workflow_id: str | None, store: StepStore | None) -> Run:
    """A run of ``name`` under ``workflow_id`` (a fresh UUID when None); history not loaded."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"A workflow name must be a non-empty string, not {name!r}")
    if workflow_id is not None and (not isinstance(workflow_id, str) or not workflow_id):
        raise ValueError(f"A workflow id must be a non-empty string, not {workflow_id!r}")
    resolved = resolve_store(store)
    codec: Codec = getattr(resolved, "codec", None) or JsonCodec()
    return Run(resolved, codec, name, workflow_id or str(uuid.uuid4()), history={})


def run_workflow(
    name: str,
    fn: Callable[[], Any],
    *,
    workflow_id: str | None = None,
    store: StepStore | None = None,
) -> WorkflowResult:
    """Run ``fn`` as workflow ``name``; steps already stored under this id are replayed.

    When background steps (``step_async``) are still running as it returns,
    ``result`` is pending and ``continuation`` carries the workflow on; see
    ``WorkflowResult.wait``.
    """
    if is_async(fn):
        raise TypeError(
            f"{engine.function_name(fn)} is an async def workflow: "
            "run it with `await waku.run_workflow_async(...)`"
        )
    return execute(new_run(name, workflow_id, store), fn)


def execute(run: Run, fn: Callable[[], Any]) -> WorkflowResult:
    """Run the workflow body under the run's lease, then record its status."""
    begin(run)
    try:
        token = current_run.set(run)
        try:
            result = fn()
        finally:
            current_run.reset(token)
        refuse_awaitable(run, result)
    except BaseException:
        release(run)
        raise
    return finish(run, result, lambda successor: execute(successor, fn))


def refuse_awaitable(run: Run, result: Any) -> None:
    """A sync run whose body gave an awaitable would store nothing it promised."""
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited, and it never will be
        raise TypeError(
            f"The body of {run.where()} returned an awaitable; "
            "run async workflows with `await waku.run_workflow_async(...)`"
        )


def finish(run: Run, result: Any, again: Callable[[Run], WorkflowResult]) -> WorkflowResult:
    """Record the run's outcome; when background steps remain, ``again`` carries it on."""
    try:
        mark_finished(run, result)
    except BaseException:
        release(run)
        raise
    continuation = None
    if run.background:
        from ._background import carry_on

        continuation = carry_on(run, again)  # the lease passes to the continuation
    else:
        release(run)
    return WorkflowResult(run.name, run.id, run.latest_step, result, continuation)


_PLAIN_VALUES = frozenset({dict, list, tuple, str, int, float, bool, bytes, type(None)})


def begin_step(f: Callable[[Any], Any], value: Any) -> Replayed | StepScope:
    """Take the step's number now and decide: the value it gives without running
    (passing through, or replayed), or the scope to run ``f`` in."""
    if type(value) in _PLAIN_VALUES:
        pass  # the common case, on every step: neither a failure, a future nor awaitable
    elif passes_through(value):
        return Replayed(value)
    elif inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()  # never awaited: the step cannot use it
        raise TypeError(
            f"A step was given an awaitable ({type(value).__qualname__}) as its value; "
            "await it first, or chain async steps with waku.pipe_async"
        )
    run = require_run()
    n = run.take_step()
    function = engine.function_name(f)
    replayed = engine.replay(run, n, function)
    if replayed is not None:
        return replayed
    return StepScope(run, n, function)


def start_step(scope: StepScope, value: Any) -> None:
    """Record the start of the step's execution with its input."""
    run = scope.run
    run.store.store_start(
        run.name, run.id, scope.step, engine.start_record(run, scope.function, value)
    )


def call_in_scope(scope: StepScope, f: Callable[[Any], Any], value: Any) -> Any:
    """``f(value)`` with ``scope`` as the current step; a raised Exception is the value."""
    token = current_step.set(scope)
    try:
        return f(value)
    except Exception as error:
        return error
    finally:
        current_step.reset(token)


@overload
def step(f: Callable[[Any], Any], /) -> Callable[[Any], Any]: ...
@overload
def step(f: Callable[[Any], Any], value: Any, /) -> Any: ...
def step(f: Callable[[Any], Any], value: Any = MISSING, /) -> Any:
    """A persistent step: the stored result if there is one, else ``f(value)``, stored.

    A failure or pending value passes through without taking a step number.
    With an ``async def`` ``f`` it returns an awaitable (its number is taken
    at the call, so ``asyncio.gather`` replays deterministically).
    With one argument, returns the one-argument step function.
    """
    if value is MISSING:
        return lambda v: step(f, v)
    if is_async(f):
        from ._aio import async_step

        return async_step(f, value)
    began = begin_step(f, value)
    if isinstance(began, Replayed):
        return began.value
    start_step(began, value)
    return record_outcome(began, call_in_scope(began, f, value))


def record_outcome(scope: StepScope, result: Any) -> Any:
    """Store what a step's function gave, and return the step's value."""
    run, n = scope.run, scope.step
    if scope.tokens:
        from ._callbacks import outcome_of_waiting_step

        return outcome_of_waiting_step(scope)
    if is_failure(result):
        run.store.store_result(run.name, run.id, n, engine.error_record(scope.function, result))
        return result
    run.store.store_result(
        run.name, run.id, n, engine.result_record(run, n, scope.function, result)
    )
    return result


@overload
def step_async(
    f: Callable[[Any], Any], /, *, executor: Executor | None = None
) -> Callable[[Any], Any]: ...
@overload
def step_async(
    f: Callable[[Any], Any], value: Any, /, *, executor: Executor | None = None
) -> Any: ...
def step_async(
    f: Callable[[Any], Any], value: Any = MISSING, /, *, executor: Executor | None = None
) -> Any:
    """A persistent step run in the background: returns a ``concurrent.futures.Future`` at once.

    ``f`` runs on a shared thread pool, or on ``executor`` (a process pool, a
    distributed engine's executor, ...). Its result is stored before the
    future resolves; the workflow is then re-run from the stored results in
    the background. On replay the stored value is returned, not a future.
    With one argument, returns the one-argument step function.
    """
    if value is MISSING:
        return lambda v: step_async(f, v, executor=executor)
    if is_async(f):
        raise TypeError(
            f"step_async runs blocking functions on an executor; {engine.function_name(f)} "
            "is async def: use `await waku.step(f, value)` in an async workflow"
        )
    began = begin_step(f, value)
    if isinstance(began, Replayed):
        return began.value
    start_step(began, value)
    from ._background import launch

    return launch(began, f, value, executor)


def step_until(f: Callable[[Any], Any], check: Callable[[Any], Any], value: Any, /) -> Any:
    """``value = step(f, value)`` until ``check(value)`` is truthy; a failure ends the loop.

    With an ``async def`` ``f`` (``check`` may be async too) it returns an awaitable.
    """
    if is_async(f):
        from ._aio import step_until_async

        return step_until_async(f, check, value)
    while True:
        value = step(f, value)
        if passes_through(value) or check(value):
            return value


def idempotency_key() -> str:
    """A key stable across retries and resumes of the current step, for external APIs."""
    scope = require_step("idempotency_key()")
    return f"{scope.run.name}/{scope.run.id}/{scope.step}"
