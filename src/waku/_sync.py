"""The plain shell: run_workflow, step, step_until, idempotency_key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload
from urllib.parse import quote

from ._context import new_run, require_step
from ._drive import Body, execute
from ._flow import MISSING, is_async, passes_through
from ._policy import RetryPolicy, policy_of, seconds
from ._records import function_name
from ._result import WorkflowResult
from ._retries import step_with_policy, step_with_policy_async
from ._step_api import StepFunction, step_name
from ._steps import step as carry_out
from ._steps import step_awaitable, step_until_async
from ._stores.base import StepStore

P = ParamSpec("P")
R = TypeVar("R")


def run_workflow(
    name: str,
    fn: Callable[[], Any],
    *,
    workflow_id: str | None = None,
    store: StepStore | None = None,
) -> WorkflowResult:
    """Run ``fn`` as workflow ``name``; steps already stored under this id are replayed.

    When the workflow cannot finish now (background steps still running, a
    step waiting for a callback), ``result`` is pending and
    ``WorkflowResult.wait`` gives the final result once it comes.
    """
    if is_async(fn):
        raise TypeError(
            f"{function_name(fn)} is an async def workflow: "
            "run it with `await waku.run_workflow_async(...)`"
        )
    return execute(new_run(name, workflow_id, store), Body(fn))


@overload
def step(
    f: Callable[P, R],
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    backoff: float | None = None,
    retry_on: type[Exception] | tuple[type[Exception], ...] | None = None,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
) -> StepFunction[P, R]: ...
@overload
def step(
    f: None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    backoff: float | None = None,
    retry_on: type[Exception] | tuple[type[Exception], ...] | None = None,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
) -> Callable[[Callable[P, R]], StepFunction[P, R]]: ...
@overload
def step(
    f: Callable[[Any], Any],
    value: Any,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    backoff: float | None = None,
    retry_on: type[Exception] | tuple[type[Exception], ...] | None = None,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
) -> Any: ...
def step(
    f: Any = None,
    value: Any = MISSING,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    backoff: float | None = None,
    retry_on: type[Exception] | tuple[type[Exception], ...] | None = None,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
) -> Any:
    """A persistent step: the stored result if there is one, else ``f(value)``, stored.

    A failure or pending value passes through without taking a step number,
    and ``f``'s failure is returned as the value. With an ``async def`` ``f``
    it returns an awaitable (its number is taken at the call, so
    ``asyncio.gather`` replays deterministically).

    With one argument (or as a decorator, ``@waku.step`` or
    ``@waku.step(name=...)``) it makes ``f`` a step function: inside a
    workflow a persistent step taking any arguments, whose failure is raised
    when called directly and is a value when threaded through ``pipe``;
    outside a workflow a plain call.

    ``retries=N`` tries a failing step up to N more times, waiting
    ``backoff`` seconds (default 1) before the first retry and twice as long
    before each next one, for failures that are one of ``retry_on`` (default
    ``Exception``); ``retry=waku.RetryPolicy(...)`` sets every detail
    instead. ``timeout`` (seconds) ends an attempt that runs longer with a
    ``StepTimeoutError`` failure. Waits between attempts are durable.
    """
    policy = policy_of(retry, retries, backoff, retry_on)
    name = step_name(name)
    limit = None if timeout is None else seconds(timeout, "timeout", allow_zero=False)
    if f is None:
        return lambda fn: StepFunction(fn, name=name, retry=policy, timeout=limit)
    if value is MISSING:
        return StepFunction(f, name=name, retry=policy, timeout=limit)
    if policy is not None or limit is not None:
        function = name or function_name(f)
        if is_async(f):
            return step_with_policy_async(f, value, function, policy, limit)
        return step_with_policy(f, value, function, policy, limit)
    if is_async(f):
        return step_awaitable(f, value, name)
    return carry_out(f, value, name)


def step_until(f: Callable[[Any], Any], check: Callable[[Any], Any], value: Any, /) -> Any:
    """``value = step(f, value)`` until ``check(value)`` is truthy; a failure ends the loop.

    With an ``async def`` ``f`` (``check`` may be async too) it returns an awaitable.
    """
    if is_async(f):
        return step_until_async(f, check, value)
    while True:
        value = carry_out(f, value)
        if passes_through(value) or check(value):
            return value


def idempotency_key() -> str:
    """A key stable across retries and resumes of the current step, for external APIs.

    ``name/id/step``, with ``%`` and ``/`` in the name and id percent-escaped,
    so no two steps of any workflows share a key.
    """
    scope = require_step("idempotency_key()")
    run = scope.run
    return f"{quote(run.name, safe='')}/{quote(run.id, safe='')}/{scope.step}"
