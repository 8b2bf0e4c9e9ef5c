"""Around a run: its lease, its recorded status and wake time, and who waits for its end."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ._context import Run
from ._engine import is_cancelled, wake_time
from ._errors import (
    SerializationError,
    WorkflowCancelled,
    WorkflowCancelledError,
    WorkflowLockedError,
)
from ._flow import is_failure, is_pending
from ._records import CANCEL_STEP
from ._result import WorkflowResult
from ._stores.base import DEFAULT_LEASE_TTL, new_owner

log = logging.getLogger("waku")


class _Renewer:
    """One daemon thread that renews the leases of live runs at a third of their TTL."""

    def __init__(self) -> None:
        self._runs: dict[Run, float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._interval = DEFAULT_LEASE_TTL / 3

    def add(self, run: Run, ttl: float) -> None:
        with self._lock:
            self._runs[run] = ttl
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="waku-leases", daemon=True)
                self._thread.start()
            sooner = ttl / 3 < self._interval
        # Only a shorter TTL changes when the loop must wake; waking for every new run
        # would renew every live lease each time one starts (quadratic under load).
        if sooner:
            self._wake.set()

    def remove(self, run: Run) -> None:
        with self._lock:
            self._runs.pop(run, None)

    def _loop(self) -> None:
        while True:
            woke = self._wake.wait(self._interval)
            self._wake.clear()
            with self._lock:
                runs = dict(self._runs)
                self._interval = min(runs.values(), default=DEFAULT_LEASE_TTL) / 3
            if woke:
                continue  # woken to shorten the interval; no lease is older than it yet
            for run, ttl in runs.items():
                if run in self._runs:
                    self._renew(run, ttl)

    @staticmethod
    def _renew(run: Run, ttl: float) -> None:
        leases = run.traits.leases
        try:
            kept = leases is not None and leases.acquire_lease(run.name, run.id, run.owner, ttl)
        except Exception:
            log.exception("renewing the lease of %s failed; retrying", run.where())
            return
        if not kept:
            log.error("%s lost its lease to another process; its steps may run twice", run.where())
        try:
            if run.store.get_result(run.name, run.id, CANCEL_STEP) is not None:
                # Cancelled from elsewhere: stop at the next step.
                run.halt = WorkflowCancelled(f"{run.where()} was cancelled")
        except Exception:
            log.exception("reading whether %s was cancelled failed", run.where())


_renewer = _Renewer()


def take_lease(run: Run) -> None:
    """Hold the workflow's lease while the run lives, if the store has leases.

    A run that continues another (after background steps) inherits its owner,
    so the lease passes from one to the next without a gap another process
    could use.
    """
    leases = run.traits.leases
    if leases is None:
        return
    ttl = run.traits.lease_ttl
    run.owner = run.owner or new_owner()
    if not leases.acquire_lease(run.name, run.id, run.owner, ttl):
        raise WorkflowLockedError(
            f"{run.where()} is being run by another process; wait for it to finish, "
            f"or for its lease to expire (at most {ttl:g} s after that process dies)"
        )
    _renewer.add(run, ttl)


def release(run: Run) -> None:
    """Give the lease back: the run is over and nothing carries it on."""
    _renewer.remove(run)
    _track(run, alive=False)
    leases = run.traits.leases
    if leases is not None and run.owner:
        leases.release_lease(run.name, run.id, run.owner)


def hand_over(previous: Run, successor: Run) -> None:
    """``successor`` continues ``previous``: same owner, so its lease carries over."""
    successor.owner = previous.owner
    _renewer.remove(previous)
    _track(previous, alive=False)


_live: dict[tuple[int, str, str], set[Run]] = {}
_live_lock = threading.Lock()


def live_runs(store: object, name: str, workflow_id: str) -> list[Run]:
    """The runs of this workflow alive in this process (a cancel reaches them at once)."""
    with _live_lock:
        return list(_live.get((id(store), name, workflow_id), ()))


def _track(run: Run, alive: bool) -> None:
    key = (id(run.store), run.name, run.id)
    with _live_lock:
        runs = _live.setdefault(key, set())
        if alive:
            runs.add(run)
        else:
            runs.discard(run)
        if not runs:
            del _live[key]


def begin(run: Run) -> None:
    """Take the lease, read the history in one query, record that the run is running."""
    take_lease(run)
    _track(run, alive=True)
    try:
        run.history = dict(run.store.get_steps(run.name, run.id))
        if is_cancelled(run.history):
            raise WorkflowCancelledError(
                f"{run.where()} was cancelled; it is not run again. Fork it "
                "(waku.fork) to run it from a step under a new id"
            )
        statuses = run.traits.statuses
        if statuses is not None:
            statuses.set_workflow_status(run.name, run.id, "running")
    except BaseException:
        release(run)
        raise


def mark_failed(run: Run) -> None:
    """Record that the run stopped on an error it could not turn into a value."""
    statuses = run.traits.statuses
    if statuses is not None:
        statuses.set_workflow_status(run.name, run.id, "failed")


def mark_ended(run: Run, result: Any) -> float | None:
    """Record how a run with nothing left in the background ended; its wake time, if any."""
    suspended = wake_time(run.suspensions) if is_pending(result) else None
    wake_at = suspended[1] if suspended else None
    statuses = run.traits.statuses
    if statuses is None:
        return wake_at
    payload = None
    if suspended is not None:
        status = suspended[0]
    elif is_pending(result):
        status = "waiting"  # a future from elsewhere: nothing here will wake it
    elif is_failure(result):
        status = "failed"
    else:
        status = "succeeded"
        try:
            payload = run.codec.encode(result)
        except (SerializationError, TypeError, ValueError):
            payload = None  # the status still counts; the value stays in the steps
    statuses.set_workflow_status(run.name, run.id, status, payload, wake_at)
    return wake_at


# -- who waits for a workflow's end in this process -------------------------------

OutcomeKey = tuple[int, str, str]
# Weak: a future nobody holds any more (its WorkflowResult dropped) needs no answer.
_outcomes: weakref.WeakValueDictionary[OutcomeKey, Future[WorkflowResult]] = (
    weakref.WeakValueDictionary()
)
_outcomes_lock = threading.Lock()
_suspend_hooks: list[Callable[[Run, float], None]] = []


def _key(run: Run) -> OutcomeKey:
    return (id(run.store), run.name, run.id)


def later_outcome(run: Run) -> Future[WorkflowResult]:
    """A future of the workflow's next result, set when a run of it in this process ends."""
    with _outcomes_lock:
        future = _outcomes.get(_key(run))
        if future is None:
            future = Future()
            _outcomes[_key(run)] = future
        return future


def announce(run: Run, result: WorkflowResult) -> None:
    """A run ended with nothing left pending: whoever waits for the workflow learns it."""
    with _outcomes_lock:
        future = _outcomes.pop(_key(run), None)
    if future is not None and not future.done():
        future.set_result(result)


def on_suspended(hook: Callable[[Run, float], None]) -> None:
    """Call ``hook(run, wake_at)`` whenever a run suspends with a wake time."""
    _suspend_hooks.append(hook)


def suspended(run: Run, wake_at: float) -> None:
    """Tell the hooks that ``run`` waits until ``wake_at``."""
    for hook in _suspend_hooks:
        try:
            hook(run, wake_at)
        except Exception:
            log.exception("scheduling the wake-up of %s failed", run.where())


def conclude(run: Run, result: Any) -> WorkflowResult:
    """A run with nothing left in the background ended: record it, release it, tell waiters."""
    try:
        wake_at = mark_ended(run, result)
    finally:
        release(run)
    if not is_pending(result):
        final = WorkflowResult(run.name, run.id, run.latest_step, result)
        announce(run, final)
        return final
    if wake_at is not None:
        suspended(run, wake_at)
    return WorkflowResult(run.name, run.id, run.latest_step, result, later_outcome(run))


def delivered_meanwhile(run: Run) -> bool:
    """Whether a callback the run waits for was stored while the run still held the lease.

    Such a delivery could not resume the workflow (the lease was taken); the
    run that concluded must carry it on instead.
    """
    for waiting in run.suspensions:
        if waiting.reason == "callback":
            stored = run.store.get_result(run.name, run.id, waiting.step)
            if stored is not None and stored != run.history.get(waiting.step):
                return True
    return False
