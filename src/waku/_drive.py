"""The run lifecycle, once for plain calls and once for asyncio.

Every kind of run — ``run_workflow``, a registered workflow started or
resumed, a background continuation — goes through ``execute`` or
``execute_async``: take the lease and read the history, give a registered
workflow its stored input, run the body, then record how it ended (or hand
it to a continuation). In the async driver no store call and no user
transform runs on the event loop, except on a store that never blocks.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ._context import Run, current_run
from ._continuations import carry_on
from ._errors import WorkflowLockedError
from ._flow import is_async, is_pending
from ._lifecycle import begin, conclude, delivered_meanwhile, mark_failed, release
from ._records import decode, input_record, parse
from ._result import WorkflowResult
from ._steps import Suspended, offload, pending

log = logging.getLogger("waku")


@dataclass(frozen=True)
class Body:
    """The workflow function, and for a registered workflow its start payload."""

    fn: Callable[..., Any]
    takes_input: bool = False
    payload: Any = None


def execute(run: Run, body: Body) -> WorkflowResult:
    """Run a sync body under the run's lease, then record how it ended."""
    run.again = lambda successor: execute(successor, body)
    begin(run)
    try:
        args = (initial_input(run, body.payload),) if body.takes_input else ()
        token = current_run.set(run)
        try:
            result = body.fn(*args)
        except Suspended:
            result = pending()  # a decorated step cannot finish now
        finally:
            current_run.reset(token)
        refuse_awaitable(run, result)
    except BaseException as error:
        abandon(run, error)
        raise
    if run.background:  # the lease passes to the continuation
        return _carried_on(run, result, lambda successor: execute(successor, body))
    ended = conclude(run, result)
    if is_pending(result) and delivered_meanwhile(run):
        return _again(run, ended, lambda successor: execute(successor, body))
    return ended


async def execute_async(run: Run, body: Body) -> WorkflowResult:
    """``execute`` for asyncio: the body is awaited, the store is used off the loop."""
    run.again = _on_new_loop(body)
    await offload(run, begin, run)
    try:
        args = (await offload(run, initial_input, run, body.payload),) if body.takes_input else ()
        token = current_run.set(run)
        try:
            result = body.fn(*args)
            if inspect.isawaitable(result):
                result = await result
        except Suspended:
            result = pending()  # a decorated step cannot finish now
        finally:
            current_run.reset(token)
    except BaseException as error:
        # Shielded: a second cancellation must not leave the lease held until it expires.
        await asyncio.shield(offload(run, abandon, run, error))
        raise
    if run.background:
        return _carried_on(run, result, _on_new_loop(body))
    ended = await offload(run, conclude, run, result)
    if is_pending(result) and await offload(run, delivered_meanwhile, run):
        try:
            return await execute_async(run.successor(), body)
        except WorkflowLockedError:
            return ended
    return ended


def execute_any(run: Run, body: Body) -> WorkflowResult:
    """Run a body, sync or ``async def``, to where it stops, from synchronous code."""
    if not is_async(body.fn):
        return execute(run, body)

    def on_new_loop() -> WorkflowResult:
        return asyncio.run(execute_async(run, body))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return on_new_loop()
    # Called from inside an event loop (a sync API in async code): this call blocks
    # anyway, and asyncio.run cannot nest, so the workflow gets a loop of its own.
    with ThreadPoolExecutor(1, thread_name_prefix="waku-resume") as pool:
        return pool.submit(contextvars.copy_context().run, on_new_loop).result()


def _on_new_loop(body: Body) -> Callable[[Run], WorkflowResult]:
    """How a continuation runs an async body: on a fresh event loop in its own thread."""
    return lambda successor: asyncio.run(execute_async(successor, body))


def _carried_on(run: Run, result: Any, again: Callable[[Run], WorkflowResult]) -> WorkflowResult:
    continuation = carry_on(run, again)
    return WorkflowResult(run.name, run.id, run.latest_step, result, continuation)


def _again(
    run: Run, ended: WorkflowResult, again: Callable[[Run], WorkflowResult]
) -> WorkflowResult:
    """A callback came while the run held the lease: carry the workflow on now."""
    try:
        return again(run.successor())
    except WorkflowLockedError:
        return ended  # the delivery's own resume got there first


def initial_input(run: Run, payload: Any) -> Any:
    """The stored start payload (step 0), storing ``payload`` on the first run."""
    where = run.where(0)
    stored = run.history.get(0)
    if stored is not None:
        return decode(run.codec, parse(stored, where), where)
    record = input_record(run.codec, payload, where)
    run.store.store_result(run.name, run.id, 0, record)
    run.history[0] = record
    return payload


def abandon(run: Run, error: BaseException) -> None:
    """The body raised: an error is the workflow's failure; any other signal only stops it."""
    try:
        if isinstance(error, Exception):
            mark_failed(run)
    except Exception:
        log.exception("recording that %s failed did not work", run.where())
    finally:
        release(run)


def refuse_awaitable(run: Run, result: Any) -> None:
    """A sync run whose body gave an awaitable would store nothing it promised."""
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited, and it never will be
        raise TypeError(
            f"The body of {run.where()} returned an awaitable; "
            "run async workflows with `await waku.run_workflow_async(...)`"
        )
