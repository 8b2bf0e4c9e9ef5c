"""A PostgreSQL store's ``InspectStore``: reading workflows back, listing, deleting finished ones.

Every query is served by an index of schema version 2, so its cost does not
grow with the tables: a listing page walks ``workflows_by_created`` (or
``workflows_by_status_created`` / ``workflows_by_name_created`` when
filtered) from the page key on, in code-point order of names and ids; pruning
walks ``workflows_finished`` (finished workflows by last update) and deletes
each workflow's steps and tokens by their key, one batch in one statement.
Each call first writes this process's deferred starts and statuses, so it
reads what was last set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .base import StepRow, WorkflowRow, check_deletion
from .postgres_deferred import Deferred, Statement

if TYPE_CHECKING:  # this module loads without psycopg, so that PostgresStore can say it is missing
    from .postgres_sql import Statements

_NEWEST_FIRST = (
    ' ORDER BY created_at DESC, workflow_name COLLATE "C" DESC, workflow_id COLLATE "C" DESC'
    " LIMIT %s"
)
_CONDITIONS = {
    "status": "status = %s",
    "name": "workflow_name = %s",
    "before": '(created_at, workflow_name COLLATE "C", workflow_id COLLATE "C") '
    "< (to_timestamp(%s::float8), %s, %s)",
}


def list_query(
    prefix: str,
    status: str | None,
    name: str | None,
    limit: int,
    before: tuple[float, str, str] | None,
) -> Statement:
    """One listing page, newest first, strictly after ``before``: only constant SQL and
    placeholders are joined here; every value travels as a parameter."""
    where: list[str] = []
    args: list[Any] = []
    for key, value in (("status", status), ("name", name)):
        if value is not None:
            where.append(_CONDITIONS[key])
            args.append(value)
    if before is not None:
        where.append(_CONDITIONS["before"])
        args.extend(before)
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    return prefix + condition + _NEWEST_FIRST, (*args, limit)


class _Store(Protocol):
    """What ``InspectRows`` uses of the PostgresStore it is mixed into."""

    _sql: Statements
    _deferred: Deferred

    def _check(
        self, name: str, wid: str, payload: bytes | None = None, step: int | None = None
    ) -> None: ...

    def _query(self, statement: Statement, where: str, *, write: bool = False) -> list[Any]: ...


class InspectRows:
    """``InspectStore`` for ``PostgresStore``, mixed into it."""

    def get_workflow_row(self: _Store, workflow_name: str, workflow_id: str) -> WorkflowRow | None:
        """The workflow's record, or None for one this store never saw."""
        self._check(workflow_name, workflow_id)
        self._deferred.flush((workflow_name, workflow_id))
        where = f"workflow {workflow_name!r} id {workflow_id!r}"
        rows = self._query((self._sql.workflow_row, (workflow_name, workflow_id)), where)
        return WorkflowRow(*rows[0]) if rows else None

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
        however many workflows the tables hold.
        """
        if name is not None:
            self._check(name, "-")
        self._deferred.flush()
        statement = list_query(self._sql.list_workflows, status, name, limit, before)
        return [WorkflowRow(*row) for row in self._query(statement, "a list of workflows")]

    def get_step_rows(self: _Store, workflow_name: str, workflow_id: str) -> list[StepRow]:
        """Every step row of the workflow (input, markers included), by step number."""
        self._check(workflow_name, workflow_id)
        self._deferred.flush((workflow_name, workflow_id))  # show steps in progress
        where = f"the steps of workflow {workflow_name!r} id {workflow_id!r}"
        rows = self._query((self._sql.step_rows, (workflow_name, workflow_id)), where)
        return [StepRow(*row) for row in rows]

    def delete_workflows(
        self: _Store, *, older_than: float, statuses: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        """Delete up to ``limit`` finished workflows last updated before ``older_than``.

        Their steps, tokens and rows go in one statement, which touches at
        most ``limit`` workflows so that locks are short. A workflow whose
        lease is live is kept, and so is one another transaction is writing
        (until the next batch). Returns the ``(name, id)`` pairs removed,
        oldest update first. Any status but succeeded, failed or cancelled in
        ``statuses`` raises ValueError and deletes nothing.
        """
        check_deletion(statuses, limit)
        if not statuses:
            return []
        self._deferred.flush()
        args = {"statuses": list(statuses), "older_than": float(older_than), "limit": limit}
        rows = self._query((self._sql.delete_due, args), "finished workflows", write=True)
        rows.sort(key=lambda row: (row[2], row[0], row[1]))
        return [(str(name), str(wid)) for name, wid, _ in rows]
