"""Which workflows a claim takes: the rules every ``QueueStore`` shares.

A store reads candidates and offers them to a ``Picker`` in the order it
should consider them: orphans (``running`` with no live lease), then
suspended workflows whose wake time has come (earliest first), then queued
workflows (oldest first). The picker keeps a candidate when it is on one of
the claimed queues or on none, when no live lease keeps it (a lease of a dead
process of this host does not), and while its queue's concurrency limit has
room. The store then writes the leases, in the same transaction as the read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from .base import owner_is_dead


class Candidate(NamedTuple):
    """A workflow a claim may take, with its queue and current lease."""

    workflow_name: str
    workflow_id: str
    queue: str | None
    lease_owner: str | None
    lease_expires: float | None


def queue_set(queues: Sequence[str]) -> frozenset[str]:
    """The queues a claim serves; a lone string is refused (it would be read as letters)."""
    if isinstance(queues, str):
        raise TypeError(
            f"queues must be a sequence of queue names, not the string {queues!r}; "
            f"write ({queues!r},)"
        )
    return frozenset(queues)


class Picker:
    """Collects the workflows one claim takes, within its limit and the queues' limits."""

    def __init__(self, queues: frozenset[str], limit: int, now: float) -> None:
        self.queues = queues
        self.limit = limit
        self.now = now  # on the clock the store's lease expiry times use
        self.picked: list[tuple[str, str]] = []
        self._room: dict[str, int] = {}
        self._dead: dict[str, bool] = {}

    @property
    def full(self) -> bool:
        """True once the claim has taken ``limit`` workflows."""
        return len(self.picked) >= self.limit

    def dead(self, owner: str) -> bool:
        """Whether ``owner`` is a process of this host that has exited (asked once per process)."""
        process = owner.rpartition(":")[0]  # host:pid: the runs of one process live or die together
        dead = self._dead.get(process)
        if dead is None:
            dead = self._dead[process] = owner_is_dead(owner)
        return dead

    def lease_live(self, owner: str | None, expires: float | None) -> bool:
        """Whether a lease keeps others out: unexpired, and not held by a dead process here."""
        if owner is None or expires is None or expires <= self.now:
            return False
        return not self.dead(owner)

    def cap(self, queue: str, limit: int, live: int) -> None:
        """Allow ``queue`` at most ``limit`` live leases, ``live`` of which are held now.

        ``live`` counts every owner's unexpired leases on the queue, except
        those of dead processes of this host, which leave room for their successors.
        """
        self._room[queue] = max(0, limit - live)

    def wanted(self, queue: str) -> int:
        """How many more workflows of ``queue`` this claim may take."""
        left = self.limit - len(self.picked)
        return min(left, self._room.get(queue, left))

    def offer(self, candidate: Candidate) -> bool:
        """Take ``candidate`` if the rules allow; returns False once the claim is full."""
        if self.full:
            return False
        queue = candidate.queue
        if queue is not None and queue not in self.queues:
            return True
        if self.lease_live(candidate.lease_owner, candidate.lease_expires):
            return True
        if queue is not None and queue in self._room:
            if not self._room[queue]:
                return True
            self._room[queue] -= 1
        self.picked.append((candidate.workflow_name, candidate.workflow_id))
        return not self.full
