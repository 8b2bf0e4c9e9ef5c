"""The PostgreSQL store's statements, rendered once per store for its schema.

Every statement is one round trip. Recorded times (``created_at``,
``started_at`` …) are the caller's clock at the time of the call, passed as
Unix seconds, so a deferred write keeps the time it was made; lease expiry
alone uses the database's clock (``now()``), which every host shares.
Statements that only move leases commit without waiting for the WAL to reach
the disk (``synchronous_commit`` off for their transaction): a lease means
nothing after the server crashes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import psycopg
from psycopg import sql

_STEP_KEY = "(workflow_name, workflow_id, step)"
_NO_SYNC = "WITH no_sync AS (SELECT set_config('synchronous_commit', 'off', true))"

START = f"""
INSERT INTO {{schema}}.steps AS s (workflow_name, workflow_id, step, function, status, input,
    attempts, started_at)
VALUES (%s, %s, %s, %s, 'running', %s, 1, to_timestamp(%s::float8))
ON CONFLICT {_STEP_KEY} DO UPDATE SET function = excluded.function, status = 'running',
    input = excluded.input, attempts = s.attempts + 1, started_at = excluded.started_at,
    finished_at = NULL
"""
RESULT = f"""
INSERT INTO {{schema}}.steps AS s (workflow_name, workflow_id, step, function, status, output,
    finished_at)
VALUES (%s, %s, %s, %s, %s, %s, to_timestamp(%s::float8))
ON CONFLICT {_STEP_KEY} DO UPDATE SET function = coalesce(excluded.function, s.function),
    status = excluded.status, output = excluded.output, finished_at = excluded.finished_at
"""
# A step's start and result in one statement: a completed step is one round trip, one commit.
START_AND_RESULT = f"""
INSERT INTO {{schema}}.steps AS s (workflow_name, workflow_id, step, function, status, output,
    finished_at, input, started_at, attempts)
VALUES (%s, %s, %s, %s, %s, %s, to_timestamp(%s::float8), %s, to_timestamp(%s::float8), 1)
ON CONFLICT {_STEP_KEY} DO UPDATE SET function = coalesce(excluded.function, s.function),
    status = excluded.status, output = excluded.output, finished_at = excluded.finished_at,
    input = excluded.input, started_at = excluded.started_at, attempts = s.attempts + 1
"""
STATUS = """
INSERT INTO {schema}.workflows AS w (workflow_name, workflow_id, status, created_at, updated_at,
    result, wake_at)
VALUES (%s, %s, %s, to_timestamp(%s::float8), to_timestamp(%s::float8), %s,
    to_timestamp(%s::float8))
ON CONFLICT (workflow_name, workflow_id) DO UPDATE SET status = excluded.status,
    updated_at = excluded.updated_at, result = excluded.result, wake_at = excluded.wake_at
"""
# A workflow's deferred status rides along with a step's result: one statement, one commit.
STATUS_AND_RESULT = f"WITH status AS ({STATUS})\n{RESULT}"
STATUS_AND_START_AND_RESULT = f"WITH status AS ({STATUS})\n{START_AND_RESULT}"
# Takes a free, expired or own lease (or, with the last parameter, a dead holder's) and
# returns (taken, holder before); the holder is read from the snapshot before the insert.
TAKE_LEASE = f"""
{_NO_SYNC}, taken AS (
    INSERT INTO {{schema}}.workflows AS w (workflow_name, workflow_id, status, created_at,
        updated_at, lease_owner, lease_expires)
    SELECT %(name)s, %(id)s, 'running', to_timestamp(%(now)s::float8),
        to_timestamp(%(now)s::float8), %(owner)s, now() + make_interval(secs => %(ttl)s::float8)
    FROM no_sync
    ON CONFLICT (workflow_name, workflow_id) DO UPDATE SET lease_owner = excluded.lease_owner,
        lease_expires = excluded.lease_expires
    WHERE w.lease_owner IS NULL OR w.lease_owner = excluded.lease_owner
        OR w.lease_expires <= now() OR w.lease_owner = %(dead)s
    RETURNING 1
)
SELECT EXISTS (SELECT FROM taken), (SELECT lease_owner FROM {{schema}}.workflows
    WHERE workflow_name = %(name)s AND workflow_id = %(id)s)
"""
RELEASE_LEASE = f"""
{_NO_SYNC}
UPDATE {{schema}}.workflows SET lease_owner = NULL, lease_expires = NULL FROM no_sync
WHERE workflow_name = %s AND workflow_id = %s AND lease_owner = %s
"""
# The run's last status and its lease release: one statement on the one row (a CTE and its
# statement must not both change a row). The last two parameters are the releasing owner.
STATUS_AND_RELEASE = f"""
{_NO_SYNC}
INSERT INTO {{schema}}.workflows AS w (workflow_name, workflow_id, status, created_at, updated_at,
    result, wake_at)
SELECT %s, %s, %s, to_timestamp(%s::float8), to_timestamp(%s::float8), %s::bytea,
    to_timestamp(%s::float8)
FROM no_sync
ON CONFLICT (workflow_name, workflow_id) DO UPDATE SET status = excluded.status,
    updated_at = excluded.updated_at, result = excluded.result, wake_at = excluded.wake_at,
    lease_owner = CASE WHEN w.lease_owner = %s THEN NULL ELSE w.lease_owner END,
    lease_expires = CASE WHEN w.lease_owner = %s THEN NULL ELSE w.lease_expires END
"""
MINT_TOKEN = """
INSERT INTO {schema}.tokens (hash, workflow_name, workflow_id, step, created_at)
VALUES (%s, %s, %s, %s, to_timestamp(%s::float8))
"""
# Spends a token and stores its step's result in one statement: of racing spenders the
# first to lock the row wins; the others find spent_at set and return no row.
SPEND_TOKEN = f"""
WITH spent AS (
    UPDATE {{schema}}.tokens SET spent_at = to_timestamp(%(now)s::float8)
    WHERE hash = %(hash)s AND spent_at IS NULL
    RETURNING workflow_name, workflow_id, step
)
INSERT INTO {{schema}}.steps AS s (workflow_name, workflow_id, step, function, status, output,
    finished_at)
SELECT workflow_name, workflow_id, step, %(function)s, %(status)s, %(payload)s,
    to_timestamp(%(now)s::float8)
FROM spent
ON CONFLICT {_STEP_KEY} DO UPDATE SET function = coalesce(excluded.function, s.function),
    status = excluded.status, output = excluded.output, finished_at = excluded.finished_at
RETURNING workflow_name, workflow_id, step
"""
TOKEN = "SELECT workflow_name, workflow_id, step FROM {schema}.tokens WHERE hash = %s"
STEPS = """
SELECT step, output FROM {schema}.steps
WHERE workflow_name = %s AND workflow_id = %s AND output IS NOT NULL
"""
RESULT_OF = """
SELECT output FROM {schema}.steps WHERE workflow_name = %s AND workflow_id = %s AND step = %s
"""
STATUS_OF = "SELECT status FROM {schema}.workflows WHERE workflow_name = %s AND workflow_id = %s"

# -- reading back (InspectStore): times as Unix seconds, as WorkflowRow and StepRow hold them

_EPOCH = "extract(epoch FROM {})::float8"
_WORKFLOW_COLUMNS = (
    "workflow_name, workflow_id, status, "
    + ", ".join(_EPOCH.format(c) for c in ("created_at", "updated_at"))
    + ", NULL::text, result, "
    + _EPOCH.format("wake_at")
    + ", lease_owner, "
    + _EPOCH.format("lease_expires")
)
WORKFLOW_ROW = (
    f"SELECT {_WORKFLOW_COLUMNS} FROM {{schema}}.workflows "
    "WHERE workflow_name = %s AND workflow_id = %s"
)
# A listing page: this, then the conditions and ORDER BY of ``postgres_inspect``.
LIST_WORKFLOWS = f"SELECT {_WORKFLOW_COLUMNS} FROM {{schema}}.workflows"
STEP_ROWS = (
    "SELECT step, function, status, attempts, "
    + ", ".join(_EPOCH.format(c) for c in ("started_at", "finished_at"))
    + ", input, output FROM {schema}.steps WHERE workflow_name = %s AND workflow_id = %s "
    "ORDER BY step"
)
# Deletes a batch of finished, unleased workflows with their steps and tokens, in one
# statement; SKIP LOCKED leaves a workflow another transaction is writing for the next batch.
DELETE_DUE = """
WITH due AS (
    SELECT workflow_name, workflow_id FROM {schema}.workflows
    WHERE status IN ('succeeded', 'failed', 'cancelled') AND status = ANY(%(statuses)s)
        AND updated_at < to_timestamp(%(older_than)s::float8)
        AND (lease_owner IS NULL OR lease_expires <= now())
    ORDER BY updated_at LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), steps_gone AS (
    DELETE FROM {schema}.steps s USING due
    WHERE s.workflow_name = due.workflow_name AND s.workflow_id = due.workflow_id
), tokens_gone AS (
    DELETE FROM {schema}.tokens t USING due
    WHERE t.workflow_name = due.workflow_name AND t.workflow_id = due.workflow_id
)
DELETE FROM {schema}.workflows w USING due
WHERE w.workflow_name = due.workflow_name AND w.workflow_id = due.workflow_id
RETURNING w.workflow_name, w.workflow_id, w.updated_at
"""


@dataclass(frozen=True)
class Statements:
    """Every statement above with the store's schema filled in (safely quoted)."""

    start: str
    result: str
    start_and_result: str
    status: str
    status_and_result: str
    status_and_start_and_result: str
    status_and_release: str
    take_lease: str
    release_lease: str
    mint_token: str
    spend_token: str
    token: str
    steps: str
    result_of: str
    status_of: str
    workflow_row: str
    list_workflows: str
    step_rows: str
    delete_due: str

    @classmethod
    def render(cls, schema: str, conn: psycopg.Connection[Any]) -> Statements:
        """Quote ``schema`` as an identifier and fill it into each statement."""
        name = sql.Identifier(schema)
        texts = {f.name: globals()[f.name.upper()] for f in fields(cls)}
        return cls(
            **{
                key: sql.SQL(text).format(schema=name).as_string(conn)
                for key, text in texts.items()
            }
        )
