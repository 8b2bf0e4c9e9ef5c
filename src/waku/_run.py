"""The synchronous shell: run_workflow, step, step_until, idempotency_key."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, overload

from . import _engine as engine
from ._codec import Codec, JsonCodec
from ._config import resolve_store
from ._context import Run, StepScope, current_run, current_step, require_run, require_step
from ._flow import MISSING, is_failure, passes_through
from ._lifecycle import leased, mark_finished, mark_running
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
        """The final result once every background continuation has finished."""
        if self.continuation is None:
            return self
        return self.continuation.result(timeout).wait(timeout)


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
    """Run ``fn`` as workflow ``name``; steps already stored under this id are replayed."""
    return execute(new_run(name, workflow_id, store), fn)


def execute(run: Run, fn: Callable[[], Any]) -> WorkflowResult:
    """Run the workflow body under the run's lease, then record its status."""
    with leased(run):
        run.history = dict(run.store.get_steps(run.name, run.id))
        mark_running(run)
        token = current_run.set(run)
        try:
            result = fn()
        finally:
            current_run.reset(token)
        mark_finished(run, result)
    return WorkflowResult(run.name, run.id, run.latest_step, result)


@overload
def step(f: Callable[[Any], Any], /) -> Callable[[Any], Any]: ...
@overload
def step(f: Callable[[Any], Any], value: Any, /) -> Any: ...
def step(f: Callable[[Any], Any], value: Any = MISSING, /) -> Any:
    """A persistent step: the stored result if there is one, else ``f(value)``, stored.

    A failure or pending value passes through without taking a step number.
    With one argument, returns the one-argument step function.
    """
    if value is MISSING:
        return lambda v: step(f, v)
    if passes_through(value):
        return value
    run = require_run()
    n = run.take_step()
    function = engine.function_name(f)
    replayed = engine.replay(run, n, function)
    if replayed is not None:
        return replayed.value
    run.store.store_start(run.name, run.id, n, engine.start_record(run, function, value))
    scope = StepScope(run, n, function)
    token = current_step.set(scope)
    try:
        result = f(value)
    except Exception as error:
        result = error
    finally:
        current_step.reset(token)
    return record_outcome(scope, result)


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


def step_until(f: Callable[[Any], Any], check: Callable[[Any], Any], value: Any, /) -> Any:
    """``value = step(f, value)`` until ``check(value)`` is truthy; a failure ends the loop."""
    while True:
        value = step(f, value)
        if passes_through(value) or check(value):
            return value


def idempotency_key() -> str:
    """A key stable across retries and resumes of the current step, for external APIs."""
    scope = require_step("idempotency_key()")
    return f"{scope.run.name}/{scope.run.id}/{scope.step}"


def current_workflow_id() -> str:
    """The id of the running workflow."""
    return require_run().id
