"""Carrying out the engine's decision for one step: the store I/O and the user's call.

Each operation comes twice: plainly, and for asyncio, where a store that may
block (``blocking``) is called from a worker thread and a callback's
transform, being user code that may block, always is. A store that never
blocks (``MemoryStore``) is called inline, saving the thread hop.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from . import _clock
from ._context import Run, StepScope, current_step, local_transforms, require_run
from ._engine import (
    Decision,
    Deliver,
    Execute,
    Replay,
    Retry,
    Suspend,
    after_tokens,
    decide_step,
)
from ._flow import is_failure, passes_through
from ._records import error_record, find_function, function_name, result_record, start_record

T = TypeVar("T")

_PLAIN_VALUES = frozenset({dict, list, tuple, str, int, float, bool, bytes, type(None)})


class Passed:
    """A step's value known without running anything: passed through, or replayed."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Suspended(BaseException):
    """Raised out of a decorated step that cannot finish now: the run stops there, pending.

    A signal, not an error (like ``WorkflowCancelled``): no ``then`` or
    ``except Exception`` in the workflow turns it into a value.
    """


def open_step(
    f: Callable[..., Any], value: Any, function: str | None = None
) -> Passed | tuple[StepScope, Decision]:
    """Take the step's number now and ask the engine what to do with it."""
    if type(value) in _PLAIN_VALUES:
        pass  # the common case, on every step: neither a failure, a future nor awaitable
    elif passes_through(value):
        return Passed(value)
    elif inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()  # never awaited: the step cannot use it
        raise TypeError(
            f"A step was given an awaitable ({type(value).__qualname__}) as its value; "
            "await it first, or chain async steps with waku.pipe_async"
        )
    run = require_run()
    if run.halt is not None:
        raise run.halt
    n = run.take_step()
    if n in run.overrides:
        return Passed(run.overrides.pop(n))
    function = function or function_name(f)
    decision = decide_step(
        run.history, run.traits.codec, run.name, run.id, step=n, function=function
    )
    if type(decision) is Replay:
        return Passed(decision.value)  # the common case on resume: no scope needed
    return StepScope(run, n, function), decision


def pending() -> Future[Any]:
    """A future that stays pending: the step completes in a later run."""
    return Future()


def suspend(run: Run, decision: Suspend) -> Future[Any]:
    """Note why the run cannot finish the step now; the step's value is pending."""
    run.suspensions.append(decision)
    return pending()


def wait_in_place(decision: Suspend, limit: float) -> bool:
    """Wait out a sleep or backoff here when at most ``limit`` seconds are left.

    Returns False, without waiting, when more are left: the caller suspends.
    """
    assert decision.until is not None
    if decision.until - _clock.now() > limit:
        return False
    _clock.current().wait_until(decision.until)
    return True


async def wait_in_place_async(decision: Suspend, limit: float) -> bool:
    """``wait_in_place`` on the event loop."""
    assert decision.until is not None
    if decision.until - _clock.now() > limit:
        return False
    await _clock.current().wait_until_async(decision.until)
    return True


def start(scope: StepScope, value: Any) -> None:
    """Record the start of the step's execution with its input."""
    run = scope.run
    record = start_record(run.codec, scope.function, value)
    run.store.store_start(run.name, run.id, scope.step, record)


def call_in_scope(scope: StepScope, f: Callable[[Any], Any], value: Any) -> Any:
    """``f(value)`` with ``scope`` as the current step; a raised Exception is the value."""
    token = current_step.set(scope)
    try:
        return f(value)
    except Exception as error:
        return error
    finally:
        current_step.reset(token)


def record(scope: StepScope, result: Any) -> Any:
    """Store what a step's function gave, and return the step's value."""
    run, n = scope.run, scope.step
    if scope.tokens:
        return _settle_waiting(scope)
    if is_failure(result):
        run.store.store_result(run.name, run.id, n, error_record(scope.function, result))
        return result
    payload = result_record(run.codec, scope.function, result, lambda: run.where(n))
    run.store.store_result(run.name, run.id, n, payload)
    return result


def _settle_waiting(scope: StepScope) -> Any:
    """A step that handed out tokens: its callback's result if it came already, else pending."""
    run, n = scope.run, scope.step
    before = run.history.get(n)
    fresh = run.store.get_result(run.name, run.id, n)
    if fresh is not None:
        run.history[n] = fresh
    return settle(scope, after_tokens(run.position(n, scope.function), before))


def settle(scope: StepScope, decision: Decision) -> Any:
    """The step's value when it is not executed: replayed, delivered, or pending."""
    if isinstance(decision, Replay):
        return decision.value
    if isinstance(decision, Suspend):
        return suspend(scope.run, decision)
    if isinstance(decision, Deliver):
        return deliver(scope.run, scope.step, decision)
    raise AssertionError(f"{decision!r} is not settled without running the step")


def deliver(run: Run, step: int, decision: Deliver) -> Any:
    """Turn a callback's payload into the step's result: transform once, store."""
    value = decision.value
    if decision.transform is not None:
        transform = local_transforms.get(decision.transform) or find_function(decision.transform)
        try:
            value = transform(value)
        except Exception as error:  # a failing transform fails the step
            run.store.store_result(run.name, run.id, step, error_record(decision.function, error))
            return error
    payload = result_record(run.codec, decision.function, value, lambda: run.where(step))
    run.store.store_result(run.name, run.id, step, payload)
    run.history[step] = payload
    return value


def step(f: Callable[[Any], Any], value: Any, function: str | None = None) -> Any:
    """A persistent step, carried out in the calling thread."""
    opened = open_step(f, value, function)
    if isinstance(opened, Passed):
        return opened.value
    scope, decision = opened
    if isinstance(decision, (Execute, Retry)):
        start(scope, value)
        return record(scope, call_in_scope(scope, f, value))
    return settle(scope, decision)


# -- asyncio ----------------------------------------------------------------------


async def offload(run: Run, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``: inline for a store that never blocks, else in a worker thread."""
    if run.traits.blocking:
        return await asyncio.to_thread(fn, *args)
    result = fn(*args)
    # Yield once, as a thread hop would: a thousand workflows started together then
    # share the loop in small slices instead of each running to its end in one turn.
    await asyncio.sleep(0)
    return result


def step_awaitable(
    f: Callable[[Any], Awaitable[Any]], value: Any, function: str | None = None
) -> Awaitable[Any]:
    """``step`` for an ``async def`` ``f``: number and replay decided now, I/O when awaited."""
    return _carry_out(open_step(f, value, function), f, value)


async def _carry_out(
    opened: Passed | tuple[StepScope, Decision], f: Callable[[Any], Awaitable[Any]], value: Any
) -> Any:
    if isinstance(opened, Passed):
        return opened.value
    scope, decision = opened
    run = scope.run
    if isinstance(decision, Deliver):
        return await asyncio.to_thread(deliver, run, scope.step, decision)  # user code
    if not isinstance(decision, (Execute, Retry)):
        return settle(scope, decision)
    await offload(run, start, scope, value)
    token = current_step.set(scope)
    try:
        result = await f(value)
    except Exception as error:
        result = error
    finally:
        current_step.reset(token)
    # Cancelled while awaiting f: nothing is recorded, so the step runs again on resume.
    if scope.tokens:  # may deliver a callback that came meanwhile: its transform is user code
        return await asyncio.to_thread(record, scope, result)
    return await offload(run, record, scope, result)


async def step_until_async(
    f: Callable[[Any], Awaitable[Any]], check: Callable[[Any], Any], value: Any
) -> Any:
    """``step_until`` with an ``async def`` step; ``check`` may be async too."""
    while True:
        value = await step_awaitable(f, value)
        if passes_through(value):
            return value
        done = check(value)
        if inspect.isawaitable(done):
            done = await done
        if done:
            return value
