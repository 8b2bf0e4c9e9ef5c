"""MemoryStore: dictionaries behind one lock, for tests and single-process use."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from .._codec import Codec, JsonCodec
from .._errors import InvalidTokenError, StoreError, TokenAlreadyUsedError
from .base import STATUSES, token_hash
from .claims import Candidate, Picker, queue_set

Key = tuple[str, str]


@dataclass(frozen=True)
class _Token:
    workflow: Key
    step: int
    spent: bool = False


class MemoryStore:
    """A store that lives as long as the process: fast, not durable."""

    durable = False
    blocking = False  # every call is a dictionary operation under one lock
    lease_ttl = 30.0

    def __init__(self, *, codec: Codec | None = None) -> None:
        self.codec: Codec = codec or JsonCodec()
        self._lock = threading.Lock()
        self._results: dict[Key, dict[int, bytes]] = {}
        self._starts: dict[Key, dict[int, bytes]] = {}
        self._tokens: dict[str, _Token] = {}
        self._status: dict[Key, tuple[str, bytes | None, float | None]] = {}
        self._leases: dict[Key, tuple[str, float]] = {}
        self._queues: dict[Key, str] = {}  # in the order they were enqueued

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
        """Record the step's input; replaces an earlier start of the same step."""
        with self._lock:
            self._starts.setdefault((workflow_name, workflow_id), {})[step] = payload

    def store_result(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        """Store the step's result, replacing any earlier one."""
        with self._lock:
            self._results.setdefault((workflow_name, workflow_id), {})[step] = payload

    def store_result_token(self, workflow_name: str, workflow_id: str, step: int) -> str:
        """Mint a 256-bit token for the step; only its hash is kept."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token_hash(token)] = _Token((workflow_name, workflow_id), step)
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
            self._results.setdefault(entry.workflow, {})[entry.step] = payload
            return (*entry.workflow, entry.step)

    def get_steps(self, workflow_name: str, workflow_id: str) -> Mapping[int, bytes]:
        """All stored results of the workflow, by step (a copy)."""
        with self._lock:
            return dict(self._results.get((workflow_name, workflow_id), {}))

    def get_result(self, workflow_name: str, workflow_id: str, step: int) -> bytes | None:
        """The step's stored result, or None."""
        with self._lock:
            return self._results.get((workflow_name, workflow_id), {}).get(step)

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
        with self._lock:
            self._status[(workflow_name, workflow_id)] = (status, result, wake_at)

    def get_workflow_status(self, workflow_name: str, workflow_id: str) -> str | None:
        """The workflow's status, or None when unknown."""
        with self._lock:
            entry = self._status.get((workflow_name, workflow_id))
            return entry[0] if entry else None

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

    def enqueue_workflow(
        self, workflow_name: str, workflow_id: str, queue: str, payload: bytes
    ) -> bool:
        """Create the workflow, ``queued`` on ``queue``, with ``payload`` as step 0.

        Returns False, changing nothing, when the store has any record of the workflow.
        """
        key = (workflow_name, workflow_id)
        with self._lock:
            if key in self._status or key in self._results or key in self._leases:
                return False
            self._queues[key] = queue
            self._status[key] = ("queued", None, None)
            self._results[key] = {0: payload}
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
                        if self._queues.get(key) == queue
                    )
                    picker.cap(queue, cap, sum(held))
            for key in self._ready(served):
                holder = self._leases.get(key)
                candidate = Candidate(*key, self._queues.get(key), *(holder or (None, None)))
                if not picker.offer(candidate):
                    break
            for key in picker.picked:
                self._leases[key] = (owner, now + ttl)
                self._status[key] = ("running", None, None)
            return picker.picked

    def _ready(self, served: frozenset[str]) -> Iterator[Key]:
        """Orphan candidates, due wake-ups by wake time, queued on ``served`` oldest first."""
        yield from (key for key, entry in self._status.items() if entry[0] == "running")
        wall = time.time()
        due = sorted(
            (entry[2], key)
            for key, entry in self._status.items()
            if entry[0] in ("waiting", "sleeping") and entry[2] is not None and entry[2] <= wall
        )
        yield from (key for _, key in due)
        for key, queue in self._queues.items():
            if queue in served and self._status.get(key, ("",))[0] == "queued":
                yield key
