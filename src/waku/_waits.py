"""Durable sleep: the wake time is recorded as a step, so a restart waits only what is left.

A sleep with at most ``wait_in_place`` seconds left waits where it is (the
thread, or ``asyncio.sleep`` on the loop). A longer one suspends the
workflow: status ``sleeping`` with its wake time stored, for this process's
waker, a ``Worker`` or ``recover()`` to resume it when due. Called as a
statement (``waku.sleep(60)``) a suspending sleep stops the run with the
``Suspended`` signal; given a value (``waku.sleep(60, value)``, the pipeline
form) it returns that value once the sleep is over, or a pending future that
later steps pass on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from . import _clock
from ._context import StepScope, current_step
from ._engine import Decision, Suspend
from ._flow import MISSING, passes_through
from ._policy import WAIT_IN_PLACE, seconds
from ._records import SLEEP_FUNCTION, sleep_record
from ._steps import (
    Passed,
    Suspended,
    offload,
    open_step,
    suspend,
    wait_in_place,
    wait_in_place_async,
)

Until = Callable[[float], float]
"""The wake time of a sleep first taken at a given moment."""


def sleep(seconds_: float, value: Any = MISSING, /, *, wait_in_place: float = WAIT_IN_PLACE) -> Any:
    """Sleep durably for ``seconds_`` inside a workflow; the wake time is a step.

    After a restart only what is left is waited; a finished sleep replays at
    once. At most ``wait_in_place`` seconds (default 2) wait in this thread;
    a longer sleep suspends the workflow (status ``sleeping``) and a waker,
    ``Worker`` or ``recover()`` resumes it when due. Given a ``value`` (the
    pipeline form, ``functools.partial(waku.sleep, 60)`` in ``pipe``) it
    returns ``value`` after the sleep, or a pending future when suspended; a
    failure or pending value passes through without sleeping.
    """
    duration = seconds(seconds_, "a sleep")
    return _sleep(lambda now: now + duration, value, _limit(wait_in_place))


def sleep_until(
    when: datetime, value: Any = MISSING, /, *, wait_in_place: float = WAIT_IN_PLACE
) -> Any:
    """``sleep`` until ``when`` (a ``datetime``; a naive one is local time)."""
    until = _timestamp(when)
    return _sleep(lambda now: until, value, _limit(wait_in_place))


def sleep_async(
    seconds_: float, value: Any = MISSING, /, *, wait_in_place: float = WAIT_IN_PLACE
) -> Awaitable[Any]:
    """``sleep`` for asyncio workflows: ``await waku.sleep_async(60)``.

    Its step number is taken at the call, as for ``waku.step``; a short
    sleep waits with ``asyncio.sleep``, a long one suspends the workflow.
    """
    duration = seconds(seconds_, "a sleep")
    limit = _limit(wait_in_place)
    return _sleep_async(lambda now: now + duration, value, limit, _open(value))


def sleep_until_async(
    when: datetime, value: Any = MISSING, /, *, wait_in_place: float = WAIT_IN_PLACE
) -> Awaitable[Any]:
    """``sleep_until`` for asyncio workflows: ``await waku.sleep_until_async(when)``."""
    until = _timestamp(when)
    limit = _limit(wait_in_place)
    return _sleep_async(lambda now: until, value, limit, _open(value))


def _limit(wait_in_place: object) -> float:
    return seconds(wait_in_place, "wait_in_place")


def _timestamp(when: object) -> float:
    if not isinstance(when, datetime):
        raise TypeError(f"sleep_until takes a datetime, not {when!r}")
    return when.timestamp()


def _taken(value: Any) -> None:
    """Stands where a step's function would be; a sleep calls no function."""


Opened = Passed | tuple[StepScope, Decision] | None
"""A sleep's step, opened: replayed, to carry out, or None for a value passing through."""


def _open(value: Any) -> Opened:
    """Take the sleep's step number now (at the call, so ``gather`` numbers in call order)."""
    if passes_through(value):
        return None  # like a step: a failure or pending value takes no step number
    scope = current_step.get()
    if scope is not None:
        raise TypeError(
            f"{scope.run.where(scope.step)}: a durable sleep is a step of its own and cannot run "
            f"inside step function {scope.function}; sleep in the workflow between steps "
            "(or use time.sleep inside the step)"
        )
    return open_step(_taken, None, SLEEP_FUNCTION)


def _refuse_on_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise TypeError(
        "waku.sleep() would block the event loop; in an async workflow use "
        "`await waku.sleep_async(...)` (or `await waku.sleep_until_async(...)`)"
    )


def _sleep(until_of: Until, value: Any, limit: float) -> Any:
    _refuse_on_loop()
    opened = _open(value)
    if opened is None or isinstance(opened, Passed):
        return _value_after(value)
    scope, decision = opened
    if not isinstance(decision, Suspend):
        decision = _record(scope, until_of(_clock.now()))
    if wait_in_place(decision, limit):
        return _value_after(value)
    return _suspended(scope, decision, value)


async def _sleep_async(until_of: Until, value: Any, limit: float, opened: Opened) -> Any:
    if opened is None or isinstance(opened, Passed):
        return _value_after(value)
    scope, decision = opened
    if not isinstance(decision, Suspend):
        decision = await offload(scope.run, _record, scope, until_of(_clock.now()))
    if await wait_in_place_async(decision, limit):
        return _value_after(value)
    return _suspended(scope, decision, value)


def _value_after(value: Any) -> Any:
    """What a sleep gives once over: None as a statement, else the value it was handed."""
    if value is MISSING:
        return None
    return value


def _suspended(scope: StepScope, decision: Suspend, value: Any) -> Any:
    pending = suspend(scope.run, decision)
    if value is MISSING:
        raise Suspended  # the statement form: the run stops here, pending
    return pending


def _record(scope: StepScope, until: float) -> Suspend:
    """Store the sleep's wake time as its step; the sleep lasts until then."""
    run, n = scope.run, scope.step
    payload = sleep_record(until)
    run.store.store_result(run.name, run.id, n, payload)
    run.history[n] = payload
    return Suspend("sleep", until, n)
