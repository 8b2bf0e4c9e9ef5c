"""Around a run: take the workflow's lease, keep it alive, record the status."""

from __future__ import annotations

import logging
import threading
from typing import Any

from ._context import Run
from ._errors import SerializationError, WorkflowLockedError
from ._flow import is_failure, is_pending
from ._stores.base import LeaseStore, WorkflowStatusStore, new_owner

log = logging.getLogger("waku")
DEFAULT_LEASE_TTL = 30.0


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
        store = run.store
        try:
            kept = isinstance(store, LeaseStore) and store.acquire_lease(
                run.name, run.id, run.owner, ttl
            )
        except Exception:
            log.exception("renewing the lease of %s failed; retrying", run.where())
            return
        if not kept:
            log.error("%s lost its lease to another process; its steps may run twice", run.where())


_renewer = _Renewer()


def take_lease(run: Run) -> None:
    """Hold the workflow's lease while the run lives, if the store has leases.

    A run that continues another (after background steps) inherits its owner,
    so the lease passes from one to the next without a gap another process
    could use.
    """
    store = run.store
    if not isinstance(store, LeaseStore):
        return
    ttl = float(getattr(store, "lease_ttl", DEFAULT_LEASE_TTL))
    run.owner = run.owner or new_owner()
    if not store.acquire_lease(run.name, run.id, run.owner, ttl):
        raise WorkflowLockedError(
            f"{run.where()} is being run by another process; wait for it to finish, "
            f"or for its lease to expire (at most {ttl:g} s after that process dies)"
        )
    _renewer.add(run, ttl)


def release(run: Run) -> None:
    """Give the lease back: the run is over and nothing carries it on."""
    _renewer.remove(run)
    store = run.store
    if isinstance(store, LeaseStore) and run.owner:
        store.release_lease(run.name, run.id, run.owner)


def hand_over(previous: Run, successor: Run) -> None:
    """``successor`` continues ``previous``: same owner, so its lease carries over."""
    successor.owner = previous.owner
    _renewer.remove(previous)


def begin(run: Run) -> None:
    """Take the lease, read the history in one query, record that the run is running."""
    take_lease(run)
    try:
        run.history = dict(run.store.get_steps(run.name, run.id))
        mark_running(run)
    except BaseException:
        release(run)
        raise


def mark_running(run: Run) -> None:
    """Record that the workflow is running, where the store keeps statuses."""
    if isinstance(run.store, WorkflowStatusStore):
        run.store.set_workflow_status(run.name, run.id, "running")


def final_status(result: Any, run: Run) -> str:
    """``waiting``, ``failed`` or ``succeeded``, from the run's final value."""
    if is_pending(result) or run.background:  # background steps carry the run on
        return "waiting"
    return "failed" if is_failure(result) else "succeeded"


def mark_failed(run: Run) -> None:
    """Record that the run stopped on an error it could not turn into a value."""
    if isinstance(run.store, WorkflowStatusStore):
        run.store.set_workflow_status(run.name, run.id, "failed")


def mark_finished(run: Run, result: Any) -> None:
    """Record the run's outcome and, when the codec can store it, its result."""
    store = run.store
    if not isinstance(store, WorkflowStatusStore):
        return
    status = final_status(result, run)
    payload = None
    if status == "succeeded":
        try:
            payload = run.codec.encode(result)
        except (SerializationError, TypeError, ValueError):
            payload = None  # the status still counts; the value stays in the steps
    store.set_workflow_status(run.name, run.id, status, payload)
