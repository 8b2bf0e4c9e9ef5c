"""Workflows that sleep, retry and time out, shared by the tests of this folder."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from typing import Any

import waku

calls: list[str] = []
"""What the steps did, in order; cleared before each test."""
failures_left: list[int] = [0]
"""How many more calls of ``flaky`` fail."""
slow_attempt_over = threading.Event()
"""Set when the timed-out attempt of ``sometimes_slow`` has finished in its thread."""


@waku.step
def note(what: str) -> str:
    calls.append(what)
    return what


@waku.workflow
def remind(name: str, seconds: float) -> str:
    note(f"asked {name}")
    waku.sleep(seconds)
    return note(f"reminded {name}")


@waku.workflow
def remind_at(name: str, when: Any) -> str:
    waku.sleep_until(when)
    return note(f"reminded {name}")


@waku.workflow
async def remind_async(name: str, seconds: float) -> str:
    note(f"asked {name}")
    await waku.sleep_async(seconds)
    return note(f"reminded {name}")


def pipeline(seconds: float) -> Any:
    """The pipeline style: the sleep passes the value on, or a pending future."""
    return waku.pipe(
        "ana",
        waku.step(lambda name: note.fn(f"asked {name}")),
        functools.partial(waku.sleep, seconds),
        waku.step(lambda asked: note.fn(asked.replace("asked", "reminded"))),
    )


@waku.step(retries=3, backoff=0.5)
def flaky(n: int) -> int:
    calls.append(f"flaky {n}")
    if failures_left[0] > 0:
        failures_left[0] -= 1
        raise ConnectionError(f"down ({failures_left[0]} more)")
    return n * 2


@waku.workflow
def retrying(n: int) -> int:
    return flaky(n) + 1


@waku.step(
    retry=waku.RetryPolicy(max_attempts=4, initial=600, multiplier=3, max_delay=7200, jitter=0)
)
def slow_to_recover(n: int) -> int:
    calls.append(f"attempt {len(calls) + 1}")
    if failures_left[0] > 0:
        failures_left[0] -= 1
        raise ConnectionError("still down")
    return n


@waku.workflow
def patient(n: int) -> int:
    return slow_to_recover(n)


@waku.step(timeout=0.05, retries=1, backoff=0)
def sometimes_slow(n: int) -> int:
    calls.append(f"start {n}")
    if calls.count(f"start {n}") == 1:
        time.sleep(0.3)  # the first attempt runs past its timeout, on its own thread
        calls.append(f"late end {n}")
        slow_attempt_over.set()
        return n
    calls.append(f"end {n}")
    return n


@waku.step(timeout=0.05)
async def slow_async(n: int) -> int:
    calls.append("started")
    try:
        await asyncio.sleep(5)
    except asyncio.CancelledError:
        calls.append("cancelled")
        raise
    return n


@waku.workflow
async def times_out_async(n: int) -> Any:
    try:
        return await slow_async(n)
    except waku.StepTimeoutError as error:
        return f"gave up: {type(error).__name__}"
