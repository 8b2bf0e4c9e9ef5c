"""A SQLite store's ``InspectStore``: reading workflows back, listing, deleting finished ones.

Every query here is served by an index of schema version 2, so its cost does
not grow with the table: a listing page walks ``workflows_by_created`` (or
``workflows_by_status`` / ``workflows_by_name`` when filtered) from the page
key on, and pruning walks ``workflows_finished`` (finished workflows by last
update) and deletes each workflow's steps and tokens by their key.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any, Protocol

from .base import StepRow, WorkflowRow, check_deletion
from .sqlite_writer import Gate, GroupCommitter

_WORKFLOW_COLUMNS = """workflow_name, workflow_id, status, created_at, updated_at, queue,
    result, wake_at, lease_owner, lease_expires"""
SELECT_WORKFLOW = f"""
SELECT {_WORKFLOW_COLUMNS} FROM workflows WHERE workflow_name = ? AND workflow_id = ?
"""
SELECT_STEP_ROWS = """
SELECT step, function, status, attempts, started_at, finished_at, input, output FROM steps
WHERE workflow_name = ? AND workflow_id = ? ORDER BY step
"""
_NEWEST_FIRST = "ORDER BY created_at DESC, workflow_name DESC, workflow_id DESC LIMIT ?"
# ``INDEXED BY``: without statistics the planner prefers workflows_by_status and sorts
# every finished workflow to find the oldest; the partial index has them in order.
_DUE = """
SELECT workflow_name, workflow_id FROM workflows INDEXED BY workflows_finished
WHERE status IN ('succeeded', 'failed', 'cancelled') AND status IN ({marks})
    AND updated_at < ? AND (lease_owner IS NULL OR lease_expires <= ?)
ORDER BY updated_at LIMIT ?
"""
_DELETE = [
    "DELETE FROM steps WHERE workflow_name = ? AND workflow_id = ?",
    "DELETE FROM tokens WHERE workflow_name = ? AND workflow_id = ?",
    "DELETE FROM workflows WHERE workflow_name = ? AND workflow_id = ?",
]


def list_query(
    status: str | None, name: str | None, limit: int, before: tuple[float, str, str] | None
) -> tuple[str, tuple[Any, ...]]:
    """The query and parameters of one listing page, newest first, strictly after ``before``."""
    where: list[str] = []
    args: list[Any] = []
    if status is not None:
        where.append("status = ?")
        args.append(status)
    if name is not None:
        where.append("workflow_name = ?")
        args.append(name)
    if before is not None:
        where.append("(created_at, workflow_name, workflow_id) < (?, ?, ?)")
        args.extend(before)
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    query = f"SELECT {_WORKFLOW_COLUMNS} FROM workflows {condition} {_NEWEST_FIRST}"
    return query, (*args, limit)


def delete_due(
    conn: sqlite3.Connection, older_than: float, statuses: Sequence[str], limit: int
) -> list[tuple[str, str]]:
    """Delete up to ``limit`` finished, unleased workflows last updated before ``older_than``.

    Runs inside the caller's write transaction: the workflows' steps, tokens
    and own rows go together or not at all.
    """
    query = _DUE.format(marks=", ".join("?" * len(statuses)))
    due = conn.execute(query, (*statuses, older_than, time.time(), limit)).fetchall()
    for statement in _DELETE:
        conn.executemany(statement, due)
    return [(str(name), str(wid)) for name, wid in due]


class _Store(Protocol):
    """What ``InspectRows`` uses of the SQLiteStore it is mixed into."""

    _gate: Gate
    _writer: GroupCommitter

    def _read(self, query: str, args: tuple[Any, ...], *, all_rows: bool = False) -> Any: ...


class InspectRows:
    """``InspectStore`` for ``SQLiteStore``, mixed into it.

    Reads go to the store's reader pool, deletions through its group
    committer, and every call passes its close gate.
    """

    def get_workflow_row(self: _Store, workflow_name: str, workflow_id: str) -> WorkflowRow | None:
        """The workflow's record, or None for one this store never saw.

        Commits this process's deferred writes first, so it reads what was last set.
        """
        with self._gate:
            self._writer.flush()
            row = self._read(SELECT_WORKFLOW, (workflow_name, workflow_id))
        return None if row is None else WorkflowRow(*row)

    def list_workflow_rows(
        self: _Store,
        *,
        status: str | None = None,
        name: str | None = None,
        limit: int = 100,
        before: tuple[float, str, str] | None = None,
    ) -> list[WorkflowRow]:
        """Newest first by ``(created_at, workflow_name, workflow_id)``; ``before`` pages on.

        ``before`` is that key of the last row of the previous page; only rows
        strictly older come back. One indexed query: a page costs the same
        however many workflows the file holds.
        """
        query, args = list_query(status, name, limit, before)
        with self._gate:
            self._writer.flush()
            rows = self._read(query, args, all_rows=True)
        return [WorkflowRow(*row) for row in rows]

    def get_step_rows(self: _Store, workflow_name: str, workflow_id: str) -> list[StepRow]:
        """Every step row of the workflow (input, markers included), by step number."""
        with self._gate:
            self._writer.flush()  # deferred starts: show steps in progress
            rows = self._read(SELECT_STEP_ROWS, (workflow_name, workflow_id), all_rows=True)
        return [StepRow(*row) for row in rows]

    def delete_workflows(
        self: _Store, *, older_than: float, statuses: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        """Delete up to ``limit`` finished workflows last updated before ``older_than``.

        Their steps, tokens and rows go in one transaction, which touches at
        most ``limit`` workflows so that other writers wait only briefly. A
        workflow whose lease is live is kept. Returns the ``(name, id)`` pairs
        removed, oldest first. Any status but succeeded, failed or cancelled in
        ``statuses`` raises ValueError and deletes nothing.
        """
        check_deletion(statuses, limit)
        if not statuses:
            return []
        wanted = tuple(statuses)
        with self._gate:
            removed: list[tuple[str, str]] = self._writer.run(
                lambda conn: delete_due(conn, older_than, wanted, limit), durable=False
            )
        return removed
