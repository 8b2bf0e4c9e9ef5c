"""The SQL a SQLite store runs on its rows, and how a record fills a step row's columns."""

from __future__ import annotations

import time
from typing import Any

from .base import function_of, step_status

UPSERT_START = """
INSERT INTO steps (workflow_name, workflow_id, step, function, status, input, attempts, started_at)
VALUES (?, ?, ?, ?, 'running', ?, 1, ?)
ON CONFLICT DO UPDATE SET function = excluded.function, status = 'running',
    input = excluded.input, attempts = attempts + 1, started_at = excluded.started_at,
    finished_at = NULL
"""
UPSERT_RESULT = """
INSERT INTO steps (workflow_name, workflow_id, step, function, status, output, finished_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO UPDATE SET function = coalesce(excluded.function, function),
    status = excluded.status, output = excluded.output, finished_at = excluded.finished_at
"""
# A step's start and result in one statement, when both are written in one transaction.
UPSERT_START_AND_RESULT = """
INSERT INTO steps (workflow_name, workflow_id, step, function, status, output, finished_at,
    input, started_at, attempts)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
ON CONFLICT DO UPDATE SET function = coalesce(excluded.function, function),
    status = excluded.status, output = excluded.output, finished_at = excluded.finished_at,
    input = excluded.input, started_at = excluded.started_at, attempts = attempts + 1
"""
UPSERT_STATUS = """
INSERT INTO workflows (workflow_name, workflow_id, status, created_at, updated_at, result, wake_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
    result = excluded.result, wake_at = excluded.wake_at
"""
TAKE_LEASE = """
INSERT INTO workflows (workflow_name, workflow_id, status, created_at, updated_at,
    lease_owner, lease_expires)
VALUES (?, ?, 'running', ?, ?, ?, ?)
ON CONFLICT DO UPDATE SET lease_owner = excluded.lease_owner,
    lease_expires = excluded.lease_expires
"""
LEASE_FREE = "lease_owner IS NULL OR lease_owner = ? OR lease_expires <= ?"
LEASE_HOLDER = "SELECT lease_owner FROM workflows WHERE workflow_name = ? AND workflow_id = ?"
RELEASE_LEASE = """
UPDATE workflows SET lease_owner = NULL, lease_expires = NULL
WHERE workflow_name = ? AND workflow_id = ? AND lease_owner = ?
"""
SELECT_STEPS = """
SELECT step, output FROM steps
WHERE workflow_name = ? AND workflow_id = ? AND output IS NOT NULL
"""
SELECT_RESULT = "SELECT output FROM steps WHERE workflow_name = ? AND workflow_id = ? AND step = ?"
SELECT_STATUS = "SELECT status FROM workflows WHERE workflow_name = ? AND workflow_id = ?"
INSERT_TOKEN = (
    "INSERT INTO tokens (hash, workflow_name, workflow_id, step, created_at) VALUES (?, ?, ?, ?, ?)"
)
SELECT_TOKEN = "SELECT workflow_name, workflow_id, step, spent_at FROM tokens WHERE hash = ?"
SPEND_TOKEN = "UPDATE tokens SET spent_at = ? WHERE hash = ?"


def result_args(
    name: str, wid: str, step: int, payload: bytes, now: float | None = None
) -> tuple[Any, ...]:
    """The parameters of ``UPSERT_RESULT`` for a record."""
    status = step_status(payload)
    return (name, wid, step, function_of(payload), status, payload, now or time.time())
