"""The runtime around registered workflows: handles, queues, recovery, cancel and fork.

Everything here works by name and id through the registry and the store's
capabilities, so it works the same whichever process started a workflow.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from . import _clock
from ._config import resolve_store
from ._context import Run, new_run
from ._drive import Body, execute_any
from ._engine import where
from ._errors import (
    StoreError,
    WorkflowCancelled,
    WorkflowCancelledError,
    WorkflowLockedError,
)
from ._lifecycle import live_runs
from ._records import (
    CANCEL_STEP,
    RecordKind,
    Status,
    input_record,
    pack_json,
    parse,
)
from ._registry import is_registered, lookup, resume
from ._result import WorkflowResult
from ._stores.base import (
    InspectStore,
    QueueStore,
    StepStore,
    WorkflowStatusStore,
    new_owner,
    traits,
)

log = logging.getLogger("waku")

FINISHED = frozenset({Status.SUCCEEDED.value, Status.FAILED.value, Status.CANCELLED.value})

# Set whenever work is enqueued in this process, so its idle workers start at once.
new_work = threading.Condition()


def _clock_moved(replaced: bool) -> None:
    """A test clock moved: idle workers look for workflows that became due at once."""
    with new_work:
        new_work.notify_all()


_clock.on_change(_clock_moved)


def capability(store: StepStore, protocol: type[Any], what: str) -> Any:
    """``store`` as a ``protocol`` store, or a StoreError saying what needs it."""
    if not isinstance(store, protocol):
        raise StoreError(
            f"{what} needs a store with the {protocol.__name__} capability; {store!r} has not "
            "got it (SQLiteStore and MemoryStore have)"
        )
    return store


@dataclass(frozen=True)
class WorkflowHandle:
    """A workflow by name and id: its status, and its result once it has one."""

    workflow_name: str
    workflow_id: str
    store: StepStore = field(repr=False, compare=False)
    local: Future[WorkflowResult] | None = field(default=None, repr=False, compare=False)
    """The run this process started, when it did: its result comes without polling."""

    def status(self) -> str | None:
        """The workflow's status as stored (``waku.Status`` values), or None if unknown."""
        statuses = capability(self.store, WorkflowStatusStore, "WorkflowHandle.status()")
        status: str | None = statuses.get_workflow_status(self.workflow_name, self.workflow_id)
        return status

    def result(self, timeout: float | None = None) -> Any:
        """The workflow's final result, whatever suspended it and whichever process ends it.

        Waits (polling the store with backoff) until the workflow has
        finished. A failed workflow's result is its failure value, as with
        ``run_workflow``. Raises ``TimeoutError`` after ``timeout`` seconds and
        ``WorkflowCancelledError`` for a cancelled workflow.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.local is not None:
            try:
                finished = self.local.result(_left(deadline))
                return finished.wait(0 if finished.continuation is not None else None).result
            except (TimeoutError, WorkflowCancelled):
                pass  # finished elsewhere, later, or cancelled: the store says
        delay = 0.01
        while (status := self.status()) not in FINISHED:
            left = _left(deadline)
            if left is not None and left <= 0:
                raise TimeoutError(f"{self} has not finished (status {status!r})")
            time.sleep(delay if left is None else min(delay, left))
            delay = min(delay * 2, 0.5)
        if status == Status.CANCELLED.value:
            raise WorkflowCancelledError(
                f"{where(self.workflow_name, self.workflow_id)} was cancelled"
            )
        return self._final_value(status)

    def _final_value(self, status: str | None) -> Any:
        if status == Status.SUCCEEDED.value and isinstance(self.store, InspectStore):
            row = self.store.get_workflow_row(self.workflow_name, self.workflow_id)
            if row is not None and row.result is not None:
                codec = traits(self.store).codec
                return codec.decode(row.result)
        # Replaying a finished workflow runs no step: every outcome is stored.
        return resume(new_run(self.workflow_name, self.workflow_id, self.store)).result

    def cancel(self) -> None:
        """Cancel the workflow (``waku.cancel``)."""
        cancel(self.workflow_name, self.workflow_id, store=self.store)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def enqueue_input(
    name: str,
    payload: Any,
    *,
    queue: str = "default",
    workflow_id: str | None = None,
    store: StepStore | None = None,
) -> WorkflowHandle:
    """Put registered workflow ``name`` with start payload ``payload`` on ``queue``."""
    lookup(name)  # an unknown name is refused before anything is stored
    if not isinstance(queue, str) or not queue:
        raise ValueError(f"A queue name must be a non-empty string, not {queue!r}")
    run = new_run(name, workflow_id, store)
    queues = capability(run.store, QueueStore, "enqueue()")
    queues.enqueue_workflow(run.name, run.id, queue, input_record(run.codec, payload, run.where(0)))
    with new_work:
        new_work.notify_all()
    return WorkflowHandle(run.name, run.id, run.store)


def cancel(workflow_name: str, workflow_id: str, *, store: StepStore | None = None) -> None:
    """Cancel a workflow: queued, it never starts; running, it stops before its next step.

    A run in this process stops at once; one in another process at its next
    step after its lease's next renewal (a third of ``lease_ttl``). Running
    or resuming it afterwards raises ``WorkflowCancelledError``. Finished
    workflows are left as they are.
    """
    resolved = resolve_store(store)
    statuses = traits(resolved).statuses
    if (
        statuses is not None
        and statuses.get_workflow_status(workflow_name, workflow_id) in FINISHED
    ):
        return
    if resolved.get_result(workflow_name, workflow_id, CANCEL_STEP) is None:
        record = pack_json(RecordKind.CANCELLED, "-", {"at": _clock.now()})
        resolved.store_result(workflow_name, workflow_id, CANCEL_STEP, record)
    if statuses is not None:
        statuses.set_workflow_status(workflow_name, workflow_id, Status.CANCELLED.value)
    for run in live_runs(resolved, workflow_name, workflow_id):
        run.halt = WorkflowCancelled(f"{run.where()} was cancelled")


def fork(
    workflow_name: str,
    workflow_id: str,
    *,
    from_step: int,
    new_id: str | None = None,
    store: StepStore | None = None,
) -> WorkflowHandle:
    """Start a new workflow that reuses the results of steps before ``from_step``.

    It runs from ``from_step`` on with today's code: the fix-and-rerun tool.
    The original is left as it is.
    """
    if not isinstance(from_step, int) or from_step < 1:
        raise ValueError(f"from_step must be a step number (1 or more), not {from_step!r}")
    lookup(workflow_name)
    source = new_run(workflow_name, workflow_id, store)
    history = source.store.get_steps(workflow_name, workflow_id)
    if not history:
        raise StoreError(f"{source.where()} is not in the store; nothing to fork")
    fork_run = new_run(workflow_name, new_id, source.store)
    if fork_run.store.get_steps(fork_run.name, fork_run.id):
        raise ValueError(f"{fork_run.where()} exists already; fork to a new id")
    for step in sorted(n for n in history if 0 <= n < from_step):
        kind = parse(history[step], source.where(step)).kind
        if kind in (RecordKind.INPUT, RecordKind.RESULT, RecordKind.SLEEP):
            fork_run.store.store_result(fork_run.name, fork_run.id, step, history[step])
    return start(fork_run)


def start(run: Run, payload: Any = None) -> WorkflowHandle:
    """Run a registered workflow on a thread of its own; its handle at once.

    ``payload`` is its start payload, stored unless a stored one wins.
    """
    body = Body(lookup(run.name), True, payload)
    outcome: Future[WorkflowResult] = Future()

    def go() -> None:
        try:
            outcome.set_result(execute_any(run, body))
        except BaseException as error:
            outcome.set_exception(error)

    threading.Thread(target=go, name=f"waku-{run.name}", daemon=True).start()
    return WorkflowHandle(run.name, run.id, run.store, outcome)


# -- recovery ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recovered:
    """What ``recover`` did with one workflow it found unfinished."""

    workflow_name: str
    workflow_id: str
    status: str
    """``resumed`` (see ``result``), ``unknown`` (no function registered), or ``locked``."""
    result: WorkflowResult | None = None


def recover(
    store: StepStore | None = None, *, queues: Sequence[str] = (), limit: int = 1000
) -> list[Recovered]:
    """Resume every workflow left unfinished by a process that died, and due ones.

    Finds, through the store's claim (``QueueStore``), workflows whose owner
    died (lease expired, or a dead process of this host) and suspended ones
    whose wake time has come, and resumes each whose name is registered in
    this process. Workflows that were enqueued belong to their queue: they
    are recovered by that queue's workers, or here when ``queues`` names it
    (queued work of those queues is then started too). Unknown names are
    reported (status ``unknown``) and logged, never dropped or failed: their
    lease lapses for a process that knows them.
    """
    resolved = resolve_store(store)
    claims = capability(resolved, QueueStore, "recover()")
    owner, ttl = new_owner(), traits(resolved).lease_ttl
    report = []
    for name, wid in claims.claim_workflows(tuple(queues), owner, ttl, limit):
        report.append(run_claimed(resolved, name, wid, owner))
    return report


def run_claimed(store: StepStore, name: str, workflow_id: str, owner: str) -> Recovered:
    """Resume a workflow whose lease ``owner`` just claimed."""
    if not is_registered(name):
        log.warning(
            "%s is unfinished but no workflow is registered under that name in this process; "
            "it is left for a process that has it",
            where(name, workflow_id),
        )
        return Recovered(name, workflow_id, "unknown")
    run = new_run(name, workflow_id, store)
    run.owner = owner  # the claim's lease: the run renews it rather than fight it
    try:
        return Recovered(name, workflow_id, "resumed", resume(run))
    except WorkflowLockedError:
        return Recovered(name, workflow_id, "locked")


def limits(concurrency: Mapping[str, int] | None) -> dict[str, int]:
    """Per-queue concurrency limits, checked."""
    checked = dict(concurrency or {})
    for queue, limit in checked.items():
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"the concurrency limit of queue {queue!r} must be 1 or more")
    return checked
