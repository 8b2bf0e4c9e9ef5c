"""MemoryStore: dictionaries behind one lock, for tests and single-process use."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from .. import _clock
from .._codec import Codec, JsonCodec
from .._errors import InvalidTokenError, StoreError, TokenAlreadyUsedError
from .base import (
    STATUSES,
    StepRow,
    WorkflowRow,
    check_deletion,
    function_of,
    step_status,
    token_hash,
)
from .claims import Candidate, Picker, queue_set

Key = tuple[str, str]


@dataclass(frozen=True)
class _Token:
    workflow: Key
    step: int
    spent: bool = False


@dataclass(slots=True)
class _Step:
    """A step's record, holding what SQLite's step row holds (see ``sqlite_rows``)."""

    running: bool = False  # started after its last result (or before any)
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    input: bytes | None = None
    output: bytes | None = None

    def row(self, step: int) -> StepRow:
        status = "running" if self.running or self.output is None else step_status(self.output)
        return StepRow(
            step,
            self.function(),
            status,
            self.attempts,
            self.started_at,
            self.finished_at,
            self.input,
            self.output,
        )

    def function(self) -> str | None:
        # Named by the record written last, else the other one, as SQLite's upserts keep it.
        latest = (self.input, self.output) if self.running else (self.output, self.input)
        for payload in latest:
            name = function_of(payload) if payload else None
            if name is not None:
                return name
        return None


@dataclass(slots=True)
class _Workflow:
    status: str
    created_at: float
    updated_at: float
    result: bytes | None = None
    wake_at: float | None = None
    queue: str | None = None


class MemoryStore:
    """A store that lives as long as the process: fast, not durable."""

    durable = False
    blocking = False  # every call is a dictionary operation under one lock
    lease_ttl = 30.0

    def __init__(self, *, codec: Codec | None = None) -> None:
        self.codec: Codec = codec or JsonCodec()
        self._lock = threading.Lock()
        self._steps: dict[Key, dict[int, _Step]] = {}
        self._tokens: dict[str, _Token] = {}
        self._tokens_of: dict[Key, list[str]] = {}  # token hashes by workflow, for deletion
        self._workflows: dict[Key, _Workflow] = {}
        self._leases: dict[Key, tuple[str, float]] = {}  # owner, time.monotonic() expiry

    @classmethod
    def from_url(cls, rest: str) -> MemoryStore:
        """Open ``memory://``; ``rest`` (what follows ``memory://``) must be empty."""
        if rest:
            what = "options" if rest.startswith("?") else "path"
            raise StoreError(
                f"Bad memory store URL 'memory://{rest}': memory:// takes no {what}; "
                "write just memory://"
            )
        return cls()

    def __repr__(self) -> str:
        return "MemoryStore()"

    def store_start(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        """Record the step's input and count an attempt; never touches its stored result."""
        now = time.time()
        with self._lock:
            row = self._step(workflow_name, workflow_id, step)
            row.running, row.input, row.attempts = True, payload, row.attempts + 1
            row.started_at, row.finished_at = now, None

    def store_result(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        """Store the step's result, replacing any earlier one."""
        now = time.time()
        with self._lock:
            row = self._step(workflow_name, workflow_id, step)
            row.running, row.output, row.finished_at = False, payload, now

    def store_result_token(self, workflow_name: str, workflow_id: str, step: int) -> str:
        """Mint a 256-bit token for the step; only its hash is kept."""
        token = secrets.token_urlsafe(32)
        digest, key = token_hash(token), (workflow_name, workflow_id)
        with self._lock:
            self._tokens[digest] = _Token(key, step)
            self._tokens_of.setdefault(key, []).append(digest)
        return token

    def store_token_result(self, token: str, payload: bytes) -> tuple[str, str, int]:
        """Spend the token once and store ``payload`` as its step's result."""
        digest = token_hash(token)
        with self._lock:
            entry = self._tokens.get(digest)
            if entry is None:
                raise InvalidTokenError(
                    "Unknown callback token: it was never issued by this store."
                )
            if entry.spent:
                raise TokenAlreadyUsedError("This callback token was already used.")
            self._tokens[digest] = replace(entry, spent=True)
            row = self._step(*entry.workflow, entry.step)
            row.running, row.output, row.finished_at = False, payload, time.time()
            return (*entry.workflow, entry.step)

    def get_steps(self, workflow_name: str, workflow_id: str) -> Mapping[int, bytes]:
        """All stored results of the workflow, by step (a copy)."""
        with self._lock:
            steps = self._steps.get((workflow_name, workflow_id), {})
            return {n: row.output for n, row in steps.items() if row.output is not None}

    def get_result(self, workflow_name: str, workflow_id: str, step: int) -> bytes | None:
        """The step's stored result, or None."""
        with self._lock:
            row = self._steps.get((workflow_name, workflow_id), {}).get(step)
            return None if row is None else row.output

    def set_workflow_status(
        self,
        workflow_name: str,
        workflow_id: str,
        status: str,
        result: bytes | None = None,
        wake_at: float | None = None,
    ) -> None:
        """Create or update the workflow's status record."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, not {status!r}")
        now = time.time()
        with self._lock:
            record = self._workflows.get((workflow_name, workflow_id))
            if record is None:
                self._workflows[(workflow_name, workflow_id)] = _Workflow(
                    status, now, now, result, wake_at
                )
            else:
                record.status, record.updated_at = status, now
                record.result, record.wake_at = result, wake_at

    def get_workflow_status(self, workflow_name: str, workflow_id: str) -> str | None:
        """The workflow's status, or None when unknown."""
        with self._lock:
            record = self._workflows.get((workflow_name, workflow_id))
            return None if record is None else record.status

    def acquire_lease(self, workflow_name: str, workflow_id: str, owner: str, ttl: float) -> bool:
        """Take or renew the lease unless another owner holds a live one."""
        now = time.monotonic()
        with self._lock:
            holder = self._leases.get((workflow_name, workflow_id))
            if holder and holder[0] != owner and holder[1] > now:
                return False
            self._leases[(workflow_name, workflow_id)] = (owner, now + ttl)
            return True

    def release_lease(self, workflow_name: str, workflow_id: str, owner: str) -> None:
        """Drop the lease if ``owner`` holds it."""
        with self._lock:
            holder = self._leases.get((workflow_name, workflow_id))
            if holder and holder[0] == owner:
                del self._leases[(workflow_name, workflow_id)]

    # -- InspectStore -------------------------------------------------------------

    def get_workflow_row(self, workflow_name: str, workflow_id: str) -> WorkflowRow | None:
        """The workflow's record, or None for one this store never saw."""
        with self._lock:
            return self._row((workflow_name, workflow_id))

    def list_workflow_rows(
        self,
        *,
        status: str | None = None,
        name: str | None = None,
        limit: int = 100,
        before: tuple[float, str, str] | None = None,
    ) -> list[WorkflowRow]:
        """Newest first by ``(created_at, name, id)``; ``before`` is the last key of a page.

        Sorts every workflow on each call: fine for tests, not for millions.
        """
        with self._lock:
            keys = sorted(
                (
                    (record.created_at, *key)
                    for key, record in self._workflows.items()
                    if (status is None or record.status == status)
                    and (name is None or key[0] == name)
                    and (before is None or (record.created_at, *key) < before)
                ),
                reverse=True,
            )
            return [self._listed((key[1], key[2])) for key in keys[:limit]]

    def get_step_rows(self, workflow_name: str, workflow_id: str) -> list[StepRow]:
        """Every step record of the workflow (input, markers included), by step number."""
        with self._lock:
            steps = self._steps.get((workflow_name, workflow_id), {})
            return [steps[n].row(n) for n in sorted(steps)]

    def delete_workflows(
        self, *, older_than: float, statuses: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        """Delete up to ``limit`` finished workflows last updated before ``older_than``.

        With their steps and tokens, oldest update first; a workflow whose lease
        is live is kept. An unfinished status in ``statuses`` raises ValueError.
        """
        check_deletion(statuses, limit)
        now = time.monotonic()
        with self._lock:
            due = sorted(
                (record.updated_at, key)
                for key, record in self._workflows.items()
                if record.status in statuses
                and record.updated_at < older_than
                and self._leases.get(key, ("", now))[1] <= now
            )[:limit]
            for _, key in due:
                del self._workflows[key]
                self._steps.pop(key, None)
                self._leases.pop(key, None)
                for digest in self._tokens_of.pop(key, ()):
                    del self._tokens[digest]
            return [key for _, key in due]

    # -- helpers (called with the lock held) --------------------------------------

    def _step(self, workflow_name: str, workflow_id: str, step: int) -> _Step:
        steps = self._steps.get((workflow_name, workflow_id))
        if steps is None:
            steps = self._steps[(workflow_name, workflow_id)] = {}
        row = steps.get(step)
        if row is None:
            row = steps[step] = _Step()
        return row

    def _row(self, key: Key) -> WorkflowRow | None:
        return self._listed(key) if key in self._workflows else None

    def _listed(self, key: Key) -> WorkflowRow:
        record = self._workflows[key]
        owner, expires = self._leases.get(key, (None, None))
        if expires is not None:  # monotonic here; rows give wall-clock seconds
            expires += time.time() - time.monotonic()
        return WorkflowRow(
            workflow_name=key[0],
            workflow_id=key[1],
            status=record.status,
            created_at=record.created_at,
            updated_at=record.updated_at,
            queue=record.queue,
            result=record.result,
            wake_at=record.wake_at,
            lease_owner=owner,
            lease_expires=expires,
        )

    # -- QueueStore ---------------------------------------------------------------

    def enqueue_workflow(
        self, workflow_name: str, workflow_id: str, queue: str, payload: bytes
    ) -> bool:
        """Create the workflow, ``queued`` on ``queue``, with ``payload`` as step 0.

        Returns False, changing nothing, when the store has any record of the workflow.
        """
        key, now = (workflow_name, workflow_id), time.time()
        with self._lock:
            if key in self._workflows or key in self._steps or key in self._leases:
                return False
            self._workflows[key] = _Workflow("queued", now, now, queue=queue)
            row = self._step(workflow_name, workflow_id, 0)
            row.output, row.finished_at = payload, now
            return True

    def claim_workflows(
        self,
        queues: Sequence[str],
        owner: str,
        ttl: float,
        limit: int,
        concurrency: Mapping[str, int] | None = None,
    ) -> list[tuple[str, str]]:
        """Lease up to ``limit`` ready workflows to ``owner`` and mark them ``running``.

        Orphans first, then due wake-ups, then queued workflows oldest first (see ``claims``).
        """
        served = queue_set(queues)
        now = time.monotonic()  # leases expire on the monotonic clock, wake times on the wall
        with self._lock:
            picker = Picker(served, max(limit, 0), now)
            for queue, cap in (concurrency or {}).items():
                if queue in served:
                    held = (
                        picker.lease_live(*lease)
                        for key, lease in self._leases.items()
                        if self._queue_of(key) == queue
                    )
                    picker.cap(queue, cap, sum(held))
            for key in self._ready(served):
                holder = self._leases.get(key)
                candidate = Candidate(*key, self._queue_of(key), *(holder or (None, None)))
                if not picker.offer(candidate):
                    break
            wall = time.time()
            for key in picker.picked:
                self._leases[key] = (owner, now + ttl)
                record = self._workflows[key]
                record.status, record.updated_at, record.wake_at = "running", wall, None
            return picker.picked

    def _queue_of(self, key: Key) -> str | None:
        record = self._workflows.get(key)
        return None if record is None else record.queue

    def _ready(self, served: frozenset[str]) -> Iterator[Key]:
        """Orphan candidates, due wake-ups by wake time, queued on ``served`` oldest first."""
        workflows = self._workflows
        yield from (key for key, record in workflows.items() if record.status == "running")
        wall = _clock.now()  # wake times are workflow time: a test clock moves them
        due = sorted(
            (record.wake_at, key)
            for key, record in workflows.items()
            if record.status in ("waiting", "sleeping")
            and record.wake_at is not None
            and record.wake_at <= wall
        )
        yield from (key for _, key in due)
        queued = sorted(
            (record.created_at, key)
            for key, record in workflows.items()
            if record.status == "queued" and record.queue in served
        )
        yield from (key for _, key in queued)
