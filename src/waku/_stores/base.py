"""The store protocols: six methods every store has, and optional capabilities.

A store keeps bytes. It never sees Python values, the running workflow or the
codec: the engine hands it payloads whose first byte says what they are
(``waku.RecordKind``) and reads them back. Step 0 holds a workflow's start
payload; a negative step ``-n`` holds the marker of step ``n`` waiting for a
callback. Both are ordinary keys to a store.

Optional capabilities are separate small protocols, detected with
``isinstance`` once per run; a store without them still runs, resumes and
completes callbacks.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .._codec import Codec, JsonCodec


@runtime_checkable
class StepStore(Protocol):
    """The six methods of the original library; enough for run, resume and callbacks."""

    def store_start(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        """Record that ``step`` began with input ``payload``.

        Called before each execution of a step, again on every retry. Must not
        touch the step's stored result. Need not be durable on its own: a
        lost start only loses a diagnostic.
        """
        ...

    def store_result(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        """Store ``payload`` as the step's result, replacing any earlier one.

        Durable when it returns: a completed step must survive the process.
        """
        ...

    def store_result_token(self, workflow_name: str, workflow_id: str, step: int) -> str:
        """Mint a fresh unguessable token (>= 128 random bits) for this step.

        Keep only its hash (``token_hash``). Every call mints a new token;
        earlier ones for the step stay valid until spent.
        """
        ...

    def store_token_result(self, token: str, payload: bytes) -> tuple[str, str, int]:
        """Spend ``token`` once: store ``payload`` as its step's result.

        Returns ``(workflow_name, workflow_id, step)``. Atomic: of two racing
        calls exactly one succeeds; the other raises ``TokenAlreadyUsedError``.
        An unknown token raises ``InvalidTokenError``. A failing call changes
        nothing.
        """
        ...

    def get_steps(self, workflow_name: str, workflow_id: str) -> Mapping[int, bytes]:
        """Return every stored result of the workflow, by step, in one read.

        Unknown workflows give an empty mapping. Start records are not included.
        """
        ...

    def get_result(self, workflow_name: str, workflow_id: str, step: int) -> bytes | None:
        """Return the step's stored result, or None when there is none."""
        ...


@runtime_checkable
class WorkflowStatusStore(Protocol):
    """Optional: one record per workflow with its status and wake time.

    Statuses (``waku.Status``): ``queued``, ``running`` (also while
    background steps of a live run are in flight), ``waiting`` (a step awaits
    a callback), ``sleeping`` (a wake time is stored), ``succeeded``,
    ``failed``, ``cancelled``.
    """

    def set_workflow_status(
        self,
        workflow_name: str,
        workflow_id: str,
        status: str,
        result: bytes | None = None,
        wake_at: float | None = None,
    ) -> None:
        """Create or update the workflow's record.

        ``result`` is the final payload of a succeeded workflow. ``wake_at``
        (seconds since the epoch, or None) is when a suspended workflow
        should be resumed: a callback's deadline, the end of a sleep. Each
        call replaces the previous wake time. An unknown status raises
        ValueError and changes nothing.
        """
        ...

    def get_workflow_status(self, workflow_name: str, workflow_id: str) -> str | None:
        """Return the workflow's status, or None for an unknown workflow."""
        ...


@runtime_checkable
class LeaseStore(Protocol):
    """Optional: leases so that two processes never run one workflow at once."""

    def acquire_lease(self, workflow_name: str, workflow_id: str, owner: str, ttl: float) -> bool:
        """Take or renew the lease for ``owner`` for ``ttl`` seconds.

        Returns False when another owner holds an unexpired lease. Atomic.
        """
        ...

    def release_lease(self, workflow_name: str, workflow_id: str, owner: str) -> None:
        """Drop the lease if ``owner`` holds it; otherwise do nothing."""
        ...


@dataclass(frozen=True, slots=True)
class WorkflowRow:
    """A workflow's record as a store keeps it (payloads still encoded)."""

    workflow_name: str
    workflow_id: str
    status: str
    created_at: float
    updated_at: float
    queue: str | None = None
    result: bytes | None = None
    wake_at: float | None = None
    lease_owner: str | None = None
    lease_expires: float | None = None


@dataclass(frozen=True, slots=True)
class StepRow:
    """One step's record as a store keeps it; step 0 is the input, ``-n`` a marker."""

    step: int
    function: str | None
    status: str
    attempts: int
    started_at: float | None
    finished_at: float | None
    input: bytes | None
    output: bytes | None


@runtime_checkable
class InspectStore(Protocol):
    """Optional: read workflows and their steps back, list them, and delete finished ones."""

    def get_workflow_row(self, workflow_name: str, workflow_id: str) -> WorkflowRow | None:
        """The workflow's record, or None for one this store never saw."""
        ...

    def list_workflow_rows(
        self,
        *,
        status: str | None = None,
        name: str | None = None,
        limit: int = 100,
        before: tuple[float, str, str] | None = None,
    ) -> list[WorkflowRow]:
        """Newest first by ``(created_at, workflow_name, workflow_id)``; ``before`` pages on.

        ``before`` is that key of the last row of the previous page: rows
        strictly older are returned. Served by an index, so a page costs the
        same whatever the table holds.
        """
        ...

    def get_step_rows(self, workflow_name: str, workflow_id: str) -> list[StepRow]:
        """Every step record of the workflow (inputs, markers included), by step number."""
        ...

    def delete_workflows(
        self, *, older_than: float, statuses: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        """Delete up to ``limit`` workflows whose status is in ``statuses`` (finished ones
        only: succeeded, failed, cancelled) and whose last update is before
        ``older_than``, with their steps and tokens, in one short transaction.
        Returns the ``(name, id)`` pairs removed, oldest update first; fewer than
        ``limit`` means no more.

        Any other status in ``statuses``, or a ``limit`` below 1, raises
        ValueError and deletes nothing (``check_deletion``). A workflow whose
        lease is live (a run of it is going on) is kept.
        """
        ...


@runtime_checkable
class ChangeSignal(Protocol):
    """Optional: a cheap way for an idle worker to notice that another process wrote."""

    def change_counter(self) -> int:
        """A number that differs from the last call's after any commit to the store.

        Cheap (no disk read, no lock): idle workers call it every few
        milliseconds, and claim work only when it moved. May also move
        without a relevant change; never stays still after one.
        """
        ...


@runtime_checkable
class QueueStore(Protocol):
    """Optional: queued workflows, and claiming work for a worker atomically."""

    def enqueue_workflow(
        self, workflow_name: str, workflow_id: str, queue: str, payload: bytes
    ) -> bool:
        """Create the workflow with status ``queued`` on ``queue`` and its input record
        (``payload`` stored as step 0), in one transaction. Idempotent: when the
        workflow exists already nothing changes and False is returned.
        """
        ...

    def claim_workflows(
        self,
        queues: Sequence[str],
        owner: str,
        ttl: float,
        limit: int,
        concurrency: Mapping[str, int] | None = None,
    ) -> list[tuple[str, str]]:
        """Take the lease (for ``owner``, ``ttl`` seconds) on up to ``limit`` workflows
        ready to run, atomically, and return their ``(name, id)``:

        - ``queued`` workflows on ``queues``, oldest first;
        - suspended ones (``waiting``, ``sleeping``) whose ``wake_at`` has come;
        - ``running`` ones whose lease expired or whose owner is a dead
          process of this host (``owner_is_dead``): orphans of a crash.

        Orphans come first, then due suspended ones (earliest ``wake_at``
        first), then queued ones. Suspended and orphaned workflows are taken
        only when they are on one of ``queues`` or on none (run, not
        enqueued), so a claimer never takes work of a queue it does not
        serve. The claimed workflows become ``running``; finished ones are
        never taken. ``queues`` given as a bare string raises TypeError.

        ``concurrency`` caps, per queue, how many of that queue's workflows
        may hold a live lease at once, counted over every owner. A workflow
        is never handed to two owners while a lease on it is live.
        """
        ...


@runtime_checkable
class StoreOptions(Protocol):
    """Optional attributes the engine reads from a store; each has a default.

    A store without them gets the JSON codec, counts as durable and
    blocking, and holds leases for ``DEFAULT_LEASE_TTL`` seconds.
    """

    codec: Codec
    """How step values become bytes; recorded with each value."""
    durable: bool
    """True when records outlive the process (then transforms must be importable)."""
    blocking: bool
    """True when a call may block; async drivers then call it from a worker thread."""
    lease_ttl: float
    """Seconds a dead process's lease keeps its workflow locked."""


DEFAULT_LEASE_TTL = 30.0
STATUSES = frozenset(
    {"queued", "running", "waiting", "sleeping", "succeeded", "failed", "cancelled"}
)
"""Every workflow status a store may be asked to record."""
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
"""The statuses of workflows that are over: the only ones ``delete_workflows`` removes."""

# A step record's status, from the first byte of the payload stored as its result.
STEP_STATUS = {
    ord("I"): "input",
    ord("R"): "succeeded",
    ord("E"): "failed",
    ord("W"): "waiting",
    ord("C"): "delivered",
    ord("T"): "sleeping",
    ord("X"): "cancelled",
}


def step_status(payload: bytes) -> str:
    """The status of a step whose stored result is ``payload`` (``unknown`` for a foreign one)."""
    return STEP_STATUS.get(payload[0], "unknown") if payload else "unknown"


def function_of(payload: bytes) -> str | None:
    """The step function named in a record's header line, or None (e.g. for callbacks)."""
    end = payload.find(b"\n", 0, 2048)
    parts = payload[: max(end, 0)].split(b" ", 2)
    if len(parts) < 3 or parts[2] == b"-":
        return None
    return parts[2].decode("utf-8", "replace")


def check_deletion(statuses: Sequence[str], limit: int) -> None:
    """Refuse a deletion of unfinished workflows, or of no positive batch (ValueError)."""
    unfinished = sorted(set(statuses) - FINISHED)
    if unfinished:
        raise ValueError(
            f"only finished workflows ({', '.join(sorted(FINISHED))}) can be deleted, "
            f"not {', '.join(unfinished)}"
        )
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number of workflows, at least 1; not {limit!r}")


@dataclass(frozen=True, slots=True)
class Traits:
    """What the engine needs to know of a store, worked out once per run."""

    codec: Codec
    durable: bool
    blocking: bool
    lease_ttl: float
    statuses: WorkflowStatusStore | None
    leases: LeaseStore | None


def traits(store: StepStore) -> Traits:
    """The store's options and capabilities, with the documented defaults."""
    return Traits(
        codec=getattr(store, "codec", None) or JsonCodec(),
        durable=bool(getattr(store, "durable", True)),
        blocking=bool(getattr(store, "blocking", True)),
        lease_ttl=float(getattr(store, "lease_ttl", DEFAULT_LEASE_TTL)),
        statuses=store if isinstance(store, WorkflowStatusStore) else None,
        leases=store if isinstance(store, LeaseStore) else None,
    )


def token_hash(token: str) -> str:
    """SHA-256 of a callback token: what stores keep instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


HOST = socket.gethostname()


def new_owner() -> str:
    """A lease owner, ``host:pid:nonce``: who holds a lease, and how to tell it has died."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def owner_is_dead(owner: str) -> bool:
    """True when ``owner`` (from ``new_owner``) is a process of this host that has exited.

    Only ever True when certain: another host's process, an unreadable owner,
    or a process we may not signal all count as alive.
    """
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != HOST or not parts[1].isdigit() or os.name != "posix":
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False  # another run in this very process: alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False
