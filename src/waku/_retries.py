"""Steps with a retry policy or a timeout: each attempt recorded, durable backoff between them.

Every failed attempt is stored as the step's ERROR record with its number,
its time and, while the policy allows another, when the next one is due
(``retry_at``). That one write is the whole durable state: a crash during a
backoff resumes the wait where it stood and continues the count (the engine
answers ``Suspend("retry", ...)`` until the wait is over, then
``Retry(attempt)``). A backoff with at most ``wait_in_place`` seconds left
waits here; a longer one suspends the workflow like a long sleep.

A timeout runs a sync function on a thread of its own and stops waiting for
it (the thread cannot be stopped and runs on, its outcome discarded); an
async function is cancelled. Either way the attempt's value is a
``StepTimeoutError``, retried when the policy says so.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeGuard

from . import _clock
from ._context import StepScope, current_step
from ._engine import Decision, Deliver, Execute, Retry, Suspend, decide
from ._errors import StepTimeoutError
from ._flow import is_failure
from ._policy import WAIT_IN_PLACE, RetryPolicy
from ._records import error_record
from ._steps import (
    Passed,
    call_in_scope,
    deliver,
    offload,
    open_step,
    record,
    settle,
    start,
    suspend,
    wait_in_place,
    wait_in_place_async,
)


class _Again:
    """The attempt failed and the policy allows another: decide the step again."""

    __slots__ = ()


AGAIN = _Again()


def step_with_policy(
    f: Callable[[Any], Any],
    value: Any,
    function: str,
    policy: RetryPolicy | None,
    timeout: float | None,
) -> Any:
    """A persistent step tried as ``policy`` says, each attempt cut at ``timeout`` seconds."""
    opened = open_step(f, value, function)
    if isinstance(opened, Passed):
        return opened.value
    scope, decision = opened
    limit = policy.wait_in_place if policy is not None else WAIT_IN_PLACE
    while True:
        if _is_backoff(decision):
            if not wait_in_place(decision, limit):
                return suspend(scope.run, decision)
            decision = _decide_again(scope)
            continue
        if not isinstance(decision, (Execute, Retry)):
            return settle(scope, decision)
        start(scope, value)
        attempt = StepScope(scope.run, scope.step, scope.function)  # a late thread's own
        outcome = conclude_attempt(attempt, _call(attempt, f, value, timeout), decision, policy)
        if outcome is not AGAIN:
            return outcome
        decision = _decide_again(scope)


def step_with_policy_async(
    f: Callable[[Any], Awaitable[Any]],
    value: Any,
    function: str,
    policy: RetryPolicy | None,
    timeout: float | None,
) -> Awaitable[Any]:
    """``step_with_policy`` for an ``async def`` ``f``: numbered now, carried out when awaited."""
    return _attempts_async(open_step(f, value, function), f, value, policy, timeout)


async def _attempts_async(
    opened: Passed | tuple[StepScope, Decision],
    f: Callable[[Any], Awaitable[Any]],
    value: Any,
    policy: RetryPolicy | None,
    timeout: float | None,
) -> Any:
    if isinstance(opened, Passed):
        return opened.value
    scope, decision = opened
    run = scope.run
    limit = policy.wait_in_place if policy is not None else WAIT_IN_PLACE
    while True:
        if _is_backoff(decision):
            if not await wait_in_place_async(decision, limit):
                return suspend(run, decision)
            decision = _decide_again(scope)
            continue
        if isinstance(decision, Deliver):
            return await asyncio.to_thread(deliver, run, scope.step, decision)  # user code
        if not isinstance(decision, (Execute, Retry)):
            return settle(scope, decision)
        await offload(run, start, scope, value)
        result = await _call_async(scope, f, value, timeout)
        if scope.tokens:  # may deliver a callback that came meanwhile: user code
            return await asyncio.to_thread(record, scope, result)
        outcome = await offload(run, conclude_attempt, scope, result, decision, policy)
        if outcome is not AGAIN:
            return outcome
        decision = _decide_again(scope)


def _is_backoff(decision: Decision) -> TypeGuard[Suspend]:
    return isinstance(decision, Suspend) and decision.reason == "retry"


def _decide_again(scope: StepScope) -> Decision:
    return decide(scope.run.position(scope.step, scope.function))


def conclude_attempt(
    scope: StepScope, result: Any, decision: Decision, policy: RetryPolicy | None
) -> Any:
    """Record an attempt's outcome: the step's value, or ``AGAIN`` when a retry is due later."""
    if scope.tokens or not is_failure(result):
        return record(scope, result)
    run, n = scope.run, scope.step
    attempt, earlier = (
        (decision.attempt, decision.earlier) if isinstance(decision, Retry) else (1, ())
    )
    now = _clock.now()
    retry = policy is not None and policy.retries(result, attempt)
    extra: dict[str, Any] = {"attempt": attempt, "at": now}
    if retry:
        assert policy is not None
        extra["retry_at"] = now + policy.delay(attempt)
    if earlier:
        extra["earlier"] = list(earlier)
    payload = error_record(scope.function, result, **extra)
    run.store.store_result(run.name, run.id, n, payload)
    run.history[n] = payload
    return AGAIN if retry else result


def _call(scope: StepScope, f: Callable[[Any], Any], value: Any, timeout: float | None) -> Any:
    """``f(value)`` as the step's attempt; past ``timeout`` seconds, a ``StepTimeoutError``."""
    if timeout is None:
        return call_in_scope(scope, f, value)
    outcome: Future[Any] = Future()
    context = contextvars.copy_context()

    def attempt() -> None:
        try:
            outcome.set_result(context.run(call_in_scope, scope, f, value))
        except BaseException as error:  # a signal: raised in the workflow's thread
            outcome.set_exception(error)

    name = f"waku-step-{scope.step}"
    threading.Thread(target=attempt, name=name, daemon=True).start()
    try:
        return outcome.result(timeout)
    except FutureTimeout:
        return _timed_out(
            scope,
            timeout,
            "a sync function runs on in its thread, and what it does from now on is not recorded",
        )


async def _call_async(
    scope: StepScope, f: Callable[[Any], Awaitable[Any]], value: Any, timeout: float | None
) -> Any:
    token = current_step.set(scope)
    try:
        return await asyncio.wait_for(_captured(f, value), timeout)
    except asyncio.TimeoutError:  # only the wait's own: f's exceptions are values
        assert timeout is not None
        return _timed_out(scope, timeout, "it was cancelled")
    finally:
        current_step.reset(token)


async def _captured(f: Callable[[Any], Awaitable[Any]], value: Any) -> Any:
    try:
        return await f(value)
    except Exception as error:
        return error


def _timed_out(scope: StepScope, timeout: float, what_became: str) -> StepTimeoutError:
    return StepTimeoutError(
        f"{scope.run.where(scope.step)} ({scope.function}) ran past its timeout of "
        f"{timeout:g} s and counts as a failed attempt; {what_became}"
    )
