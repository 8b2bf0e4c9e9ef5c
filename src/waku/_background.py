"""Background steps and the continuations that carry their workflows on.

A background step's function runs on an executor. When it finishes, its
outcome is stored (``record_outcome``, as for any step), then the step counts
as *settled*, then its future resolves. Once every background step a run
started has settled, the workflow function is run again from the stored
results on a continuation thread: that ordering is the whole guarantee that a
continuation never starts before the results it replays are stored.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from ._context import Run, StepScope
from ._flow import is_failure
from ._lifecycle import hand_over, mark_failed, release

logger = logging.getLogger("waku")

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


def launch(
    scope: StepScope, f: Callable[[Any], Any], value: Any, executor: Executor | None
) -> Future[Any]:
    """Run ``f(value)`` on ``executor``; the future resolves once the outcome is stored."""
    from ._run import call_in_scope

    out: Future[Any] = Future()
    settled: Future[tuple[int, Any]] = Future()
    # Counted before it can finish, so a step faster than its run is still carried on.
    scope.run.background.append(settled)
    pool = executor or shared_pool("steps")
    if isinstance(pool, ThreadPoolExecutor):
        # In a thread of this process the step can see its workflow: callback tokens,
        # idempotency keys and nested steps work as in a plain step.
        context = contextvars.copy_context()
        task = pool.submit(context.run, call_in_scope, scope, f, value)
    else:
        task = pool.submit(f, value)  # another process: only f and value travel
    task.add_done_callback(lambda done: _settle(scope, done, out, settled))
    return out


def _settle(
    scope: StepScope, task: Future[Any], out: Future[Any], settled: Future[tuple[int, Any]]
) -> None:
    """Store the step's outcome, then mark it settled, then resolve its future."""
    from ._run import record_outcome

    try:
        error = task.exception()
        if error is not None and not isinstance(error, Exception):
            raise error  # an interrupt is no step outcome: the step stays incomplete
        value = record_outcome(scope, task.result() if error is None else error)
    except BaseException as problem:  # not stored: the step runs again on resume
        logger.error(
            "waku: background %s was not recorded: %r", scope.run.where(scope.step), problem
        )
        out.set_exception(problem)
        settled.set_exception(problem)
        return
    # Settled before the future resolves: whoever sees the future done may rely on
    # the workflow being carried on.
    settled.set_result((scope.step, value if is_failure(value) else None))
    if is_failure(value):
        out.set_exception(value)
    elif not isinstance(value, Future):  # a step awaiting its callback stays pending
        out.set_result(value)


def carry_on(run: Run, again: Callable[[Run], Any]) -> Future[Any]:
    """Once every background step of ``run`` has settled, ``again`` runs the workflow on."""
    continuation: Future[Any] = Future()
    steps = list(run.background)
    remaining = [len(steps)]
    lock = threading.Lock()

    def one_settled(_: Future[Any]) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:  # submitted, never run inline: the caller may still be returning
            shared_pool("continuations").submit(_continue, run, steps, again, continuation)

    for settled in steps:
        settled.add_done_callback(one_settled)
    return continuation


def _continue(
    run: Run,
    steps: list[Future[tuple[int, Any]]],
    again: Callable[[Run], Any],
    continuation: Future[Any],
) -> None:
    successor = None
    try:
        failures: dict[int, Any] = {}
        for settled in steps:
            step, failure = settled.result()  # raises what kept a step from being stored
            if failure is not None:
                failures[step] = failure
        # A failed attempt is never replayed from the store; the next run sees it once,
        # as the step's value, exactly as a plain step's failure flows on.
        successor = Run(run.store, run.codec, run.name, run.id, history={}, overrides=failures)
        hand_over(run, successor)
        continuation.set_result(again(successor))
    except BaseException as error:
        if successor is None:  # nothing took the lease over: the run ends here
            _give_up(run)
        logger.error("waku: continuing %s failed: %r", run.where(), error)
        continuation.set_exception(error)


def _give_up(run: Run) -> None:
    try:
        mark_failed(run)
    finally:
        release(run)
