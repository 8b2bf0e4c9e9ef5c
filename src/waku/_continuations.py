"""Background steps and the continuations that carry their workflows on.

A background step's function runs on an executor. When it finishes, its
outcome is stored (as for any step), then the step counts as *settled*, then
its future resolves. Once every background step a run started has settled,
the workflow is run again from the stored results on a continuation thread:
that ordering is the whole guarantee that a continuation never starts before
the results it replays are stored. When every one of them only handed out a
callback token, nothing can progress, and the workflow is not run again until
the callback comes.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ._context import Run, StepScope
from ._errors import WorkflowLockedError
from ._flow import is_failure, is_pending
from ._lifecycle import conclude, delivered_meanwhile, hand_over, mark_failed, release
from ._result import WorkflowResult
from ._steps import call_in_scope, pending, record, start

log = logging.getLogger("waku")

Again = Callable[[Run], WorkflowResult]

_pools: dict[str, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def shared_pool(kind: str) -> ThreadPoolExecutor:
    """The process-wide pool for ``steps`` or ``continuations``, made on first use.

    Two pools, so continuations waiting on steps can never starve them.
    """
    with _pools_lock:
        pool = _pools.get(kind)
        if pool is None:
            workers = min(32, (os.cpu_count() or 1) + 4)
            pool = _pools[kind] = ThreadPoolExecutor(workers, thread_name_prefix=f"waku-{kind}")
        return pool


@dataclass(frozen=True, slots=True)
class Settled:
    """A background step whose outcome is stored: its value, a failure, or pending."""

    step: int
    value: Any


class _NotStarted(Exception):
    """The step could not be started (its start record, its executor): nothing ran."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def launch(
    scope: StepScope, f: Callable[[Any], Any], value: Any, executor: Executor | None
) -> Future[Any]:
    """Record the start and run ``f(value)`` on ``executor``, off the calling thread.

    The returned future resolves once the outcome is stored. The caller does
    no I/O at all, so a background step costs an event loop nothing.
    """
    out: Future[Any] = Future()
    settled: Future[Settled] = Future()
    # Counted before it can finish, so a step faster than its run is still carried on.
    scope.run.background.append(settled)
    pool = executor or shared_pool("steps")

    def on_done(task: Future[Any]) -> None:
        _settle(scope, task, out, settled)

    if isinstance(pool, ThreadPoolExecutor):
        # In a thread of this process the step can see its workflow: callback tokens,
        # idempotency keys and nested steps work as in a plain step.
        context = contextvars.copy_context()
        task = pool.submit(context.run, _in_thread, scope, f, value, on_done)
        # A task cancelled before it ran (its executor shut down) settles here instead.
        task.add_done_callback(lambda done: on_done(done) if done.cancelled() else None)
    else:
        # Submitted from a worker thread, so that even a task already done when its
        # callback is added is settled there, never on the caller's thread.
        shared_pool("steps").submit(_elsewhere, scope, f, value, pool, on_done)
    return out


def _in_thread(
    scope: StepScope, f: Callable[[Any], Any], value: Any, on_done: Callable[[Future[Any]], None]
) -> None:
    task: Future[Any] = Future()
    try:
        start(scope, value)
    except BaseException as error:
        task.set_exception(_NotStarted(error))
    else:
        task.set_result(call_in_scope(scope, f, value))
    on_done(task)


def _elsewhere(
    scope: StepScope,
    f: Callable[[Any], Any],
    value: Any,
    pool: Executor,
    on_done: Callable[[Future[Any]], None],
) -> None:
    try:
        start(scope, value)
        task = pool.submit(f, value)  # another process: only f and value travel
    except BaseException as error:  # the start failed, or the executor was shut down
        task = Future()
        task.set_exception(_NotStarted(error))
    task.add_done_callback(on_done)


def _settle(
    scope: StepScope, task: Future[Any], out: Future[Any], settled: Future[Settled]
) -> None:
    """Store the step's outcome, then mark it settled, then resolve its future."""
    try:
        error = task.exception()
        if isinstance(error, _NotStarted):
            raise error.cause  # nothing ran: the step runs again on resume
        if error is not None and not isinstance(error, Exception):
            raise error  # an interrupt is no step outcome: the step stays incomplete
        value = record(scope, task.result() if error is None else error)
    except BaseException as problem:  # not stored: the step runs again on resume
        log.error("waku: background %s was not recorded: %r", scope.run.where(scope.step), problem)
        out.set_exception(problem)
        settled.set_exception(problem)
        return
    # Settled before the future resolves: whoever sees the future done may rely on
    # the workflow being carried on.
    settled.set_result(Settled(scope.step, value))
    if is_failure(value):
        out.set_exception(value)
    elif not isinstance(value, Future):  # a step awaiting its callback stays pending
        out.set_result(value)


def carry_on(run: Run, again: Again) -> Future[WorkflowResult]:
    """Once every background step of ``run`` has settled, ``again`` runs the workflow on."""
    continuation: Future[WorkflowResult] = Future()
    steps: list[Future[Settled]] = list(run.background)
    remaining = [len(steps)]
    lock = threading.Lock()

    def one_settled(_: Future[Settled]) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:  # submitted, never run inline: the caller may still be returning
            shared_pool("continuations").submit(_continue, run, steps, again, continuation)

    for settled in steps:
        settled.add_done_callback(one_settled)
    return continuation


def _continue(
    run: Run, steps: list[Future[Settled]], again: Again, continuation: Future[WorkflowResult]
) -> None:
    successor = None
    try:
        outcomes = [settled.result() for settled in steps]  # raises what kept one unstored
        if all(is_pending(outcome.value) for outcome in outcomes):
            continuation.set_result(_rest(run, again))
            return
        # A failed attempt is never replayed from the store; the next run sees it once,
        # as the step's value, exactly as a plain step's failure flows on.
        successor = run.successor()
        successor.overrides = {o.step: o.value for o in outcomes if is_failure(o.value)}
        hand_over(run, successor)
        continuation.set_result(again(successor))
    except BaseException as error:
        if successor is None:  # nothing took the lease over: the run ends here
            _give_up(run)
        log.error("waku: continuing %s failed: %r", run.where(), error)
        continuation.set_exception(error)


def _rest(run: Run, again: Again) -> WorkflowResult:
    """Every background step waits for a callback: the workflow waits too, not re-run."""
    ended = conclude(run, pending())
    if not delivered_meanwhile(run):
        return ended
    try:
        return again(run.successor())  # with a lease of its own: the old one is released
    except WorkflowLockedError:
        return ended  # the delivery's own resume got there first


def _give_up(run: Run) -> None:
    try:
        mark_failed(run)
    finally:
        release(run)
