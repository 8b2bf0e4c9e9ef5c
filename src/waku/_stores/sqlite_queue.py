"""The SQLite store's queue: enqueueing a workflow and claiming work, each one transaction.

``enqueue`` and ``claim`` run inside a transaction the store's writer opened
with ``BEGIN IMMEDIATE``, so a claim's reads and its lease writes are atomic
against every other process on the file. ``pick`` alone reads what a claim
would take; the store runs it first in a read transaction, and takes the
write lock only when it finds something. Every query is served by a partial
or status index that holds no finished workflow, so a claim costs the same
however many finished workflows the table keeps (``tests/stores/
test_sqlite_queue.py`` checks each plan).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping

from .. import _clock
from . import sqlite_rows as sql
from .base import HOST
from .claims import Candidate, Picker

ENQUEUE = """
INSERT INTO workflows (workflow_name, workflow_id, status, created_at, updated_at, queue)
VALUES (?, ?, 'queued', ?, ?, ?)
ON CONFLICT DO NOTHING
"""

# INDEXED BY pins each plan to an index that holds no finished workflow: should a
# schema change make one unusable, the query fails loudly instead of scanning.

# Rows whose lease may be free: none, expired, or held on this host, where the
# picker asks whether the owner process still exists.
_MAYBE_FREE = (
    "(lease_expires IS NULL OR lease_expires <= :now OR substr(lease_owner, 1, :n) = :host)"
)
_CANDIDATE = "workflow_name, workflow_id, queue, lease_owner, lease_expires"

# Every run has an owner of its own, ``host:pid:nonce`` with a hex nonce (``new_owner``).
# Trimming the nonce leaves ``host:pid:``: one key for all runs of a process, so
# that each process is asked once whether it lives, not each of its runs.
_HEX = "0123456789abcdef"
_PROCESS = f"rtrim(lease_owner, '{_HEX}')"

EXPIRED = f"""
SELECT {_CANDIDATE} FROM workflows INDEXED BY workflows_by_status
WHERE status = 'running' AND (lease_expires IS NULL OR lease_expires <= :now)
ORDER BY created_at
"""
RUNNING_PROCESSES = f"""
SELECT min(lease_owner) FROM workflows INDEXED BY workflows_by_status
WHERE status = 'running' AND lease_expires > :now AND substr(lease_owner, 1, :n) = :host
GROUP BY {_PROCESS}
"""
OF_PROCESS = f"""
SELECT {_CANDIDATE} FROM workflows INDEXED BY workflows_by_status
WHERE status = 'running' AND lease_expires > :now AND {_PROCESS} = :process
ORDER BY created_at
"""
DUE = f"""
SELECT {_CANDIDATE} FROM workflows INDEXED BY workflows_by_wake
WHERE status IN ('waiting', 'sleeping') AND wake_at <= :due AND {_MAYBE_FREE}
ORDER BY wake_at
"""
QUEUED = f"""
SELECT {_CANDIDATE}, created_at FROM workflows INDEXED BY workflows_queued
WHERE status = 'queued' AND queue = :queue AND {_MAYBE_FREE}
ORDER BY created_at, workflow_name, workflow_id
LIMIT :limit
"""
LIVE_LEASES = """
SELECT count(*) FROM workflows INDEXED BY workflows_leased
WHERE queue = :queue AND lease_expires > :now
"""
LIVE_LEASES_OF = f"""
SELECT count(*) FROM workflows INDEXED BY workflows_leased
WHERE queue = :queue AND lease_expires > :now AND {_PROCESS} = :process
"""
CLAIM = """
UPDATE workflows SET status = 'running', lease_owner = :owner, lease_expires = :expires,
    updated_at = :now, wake_at = NULL
WHERE workflow_name = :name AND workflow_id = :id
"""


def enqueue(
    conn: sqlite3.Connection, name: str, wid: str, queue: str, payload: bytes, *, now: float
) -> bool:
    """Create the queued workflow and its input (step 0); False, changing nothing, if it exists."""
    if not conn.execute(ENQUEUE, (name, wid, now, now, queue)).rowcount:
        return False
    conn.execute(sql.UPSERT_RESULT, sql.result_args(name, wid, 0, payload, now))
    return True


def pick(conn: sqlite3.Connection, picker: Picker, concurrency: Mapping[str, int]) -> None:
    """Offer the picker every candidate in claim order (see ``claims``); reads only."""
    params: dict[str, object] = {"now": picker.now, "n": len(HOST) + 1, "host": f"{HOST}:"}
    params["due"] = _clock.now()  # wake times are workflow time (a test clock moves them)
    # Dead processes of this host, whose runs are orphans although their leases have not expired.
    running = [owner for (owner,) in conn.execute(RUNNING_PROCESSES, params)]
    dead = [owner.rstrip(_HEX) for owner in running if picker.dead(owner)]
    for queue, limit in concurrency.items():
        if queue in picker.queues:
            (live,) = conn.execute(LIVE_LEASES, {**params, "queue": queue}).fetchone()
            for process in dead:
                of_dead = {**params, "queue": queue, "process": process}
                live -= conn.execute(LIVE_LEASES_OF, of_dead).fetchone()[0]
            picker.cap(queue, limit, live)
    _offer(conn, picker, EXPIRED, params)
    for process in dead:
        _offer(conn, picker, OF_PROCESS, {**params, "process": process})
    _offer(conn, picker, DUE, params)
    queued: list[tuple[float, str, str, Candidate]] = []
    for queue in sorted(picker.queues):
        wanted = picker.wanted(queue)
        if wanted > 0:
            rows = conn.execute(QUEUED, {**params, "queue": queue, "limit": wanted})
            queued += [(row[5], row[0], row[1], Candidate(*row[:5])) for row in rows]
    queued.sort(key=lambda entry: entry[:3])  # oldest first across the queues
    for *_, candidate in queued:
        if not picker.offer(candidate):
            break


def claim(
    conn: sqlite3.Connection,
    picker: Picker,
    owner: str,
    ttl: float,
    concurrency: Mapping[str, int],
) -> list[tuple[str, str]]:
    """Pick free workflows and lease them to ``owner`` as ``running``; in a write transaction."""
    pick(conn, picker, concurrency)
    now = picker.now
    for name, wid in picker.picked:
        conn.execute(
            CLAIM, {"owner": owner, "expires": now + ttl, "now": now, "name": name, "id": wid}
        )
    return picker.picked


def _offer(
    conn: sqlite3.Connection, picker: Picker, query: str, params: Mapping[str, object]
) -> None:
    # Rows are read one at a time and the read stops when the claim is full.
    if picker.full:
        return
    with contextlib.closing(conn.execute(query, params)) as rows:
        for row in rows:
            if not picker.offer(Candidate(*row)):
                return
