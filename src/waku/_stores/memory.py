"""MemoryStore: dictionaries behind one lock, for tests and single-process use."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .._codec import Codec, JsonCodec
from .._errors import InvalidTokenError, StoreError, TokenAlreadyUsedError
from .base import STATUSES, token_hash

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
