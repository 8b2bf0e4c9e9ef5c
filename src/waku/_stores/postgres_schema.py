"""The PostgreSQL store's tables, their migrations, and errors that name the server.

All tables live in one schema of their own (``waku`` unless configured), so a
database shared with an application keeps them apart. Created and migrated on
first use, in one transaction under an advisory lock, so that many processes
starting at once neither race nor see a half-made schema.

- ``migrations(version, applied_at)``: one row per applied migration; the
  schema's version is the largest. Append-only, like ``MIGRATIONS``.
- ``workflows``: one row per (name, id): status (``waku.Status``), created
  and updated times, final result payload, the lease (owner
  ``host:pid:nonce`` and its expiry on the database's clock) and the wake
  time of a suspended workflow.
- ``steps``: one row per (name, id, step): the step function, a status read
  from the record's kind, the last input (from ``store_start``), the last
  result or error payload, the attempt count, start and finish times. Step 0
  is the workflow's input; step ``-n`` is step ``n``'s callback marker.
- ``tokens``: SHA-256 of each callback token -> (name, id, step), created
  and spent times.

Version 2 adds the indexes that serve listing and pruning (``postgres_inspect``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql

from .._errors import StoreError

_V1 = """
CREATE TABLE {schema}.workflows (
    workflow_name text NOT NULL,
    workflow_id text NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    result bytea,
    lease_owner text,
    lease_expires timestamptz,
    wake_at timestamptz,
    PRIMARY KEY (workflow_name, workflow_id)
);
CREATE INDEX workflows_by_status ON {schema}.workflows (status, updated_at);
CREATE INDEX workflows_by_wake ON {schema}.workflows (wake_at) WHERE wake_at IS NOT NULL;
CREATE TABLE {schema}.steps (
    workflow_name text NOT NULL,
    workflow_id text NOT NULL,
    step integer NOT NULL,
    function text,
    status text NOT NULL,
    input bytea,
    output bytea,
    attempts integer NOT NULL DEFAULT 0,
    started_at timestamptz,
    finished_at timestamptz,
    PRIMARY KEY (workflow_name, workflow_id, step)
);
CREATE TABLE {schema}.tokens (
    hash text PRIMARY KEY,
    workflow_name text NOT NULL,
    workflow_id text NOT NULL,
    step integer NOT NULL,
    created_at timestamptz NOT NULL,
    spent_at timestamptz
)
"""

# Indexes for reading workflows back (``InspectStore``): listing pages newest first, whole
# or by status or name, in code-point order of names and ids (COLLATE "C", as in SQLite
# and Python) whatever the database's collation; pruning finished workflows oldest update
# first; and deleting a workflow's tokens with it.
_V2 = """
CREATE INDEX workflows_by_created ON {schema}.workflows
    (created_at, workflow_name COLLATE "C", workflow_id COLLATE "C");
CREATE INDEX workflows_by_status_created ON {schema}.workflows
    (status, created_at, workflow_name COLLATE "C", workflow_id COLLATE "C");
CREATE INDEX workflows_by_name_created ON {schema}.workflows
    (workflow_name, created_at, workflow_id COLLATE "C");
CREATE INDEX workflows_finished ON {schema}.workflows (updated_at)
    WHERE status IN ('succeeded', 'failed', 'cancelled');
CREATE INDEX tokens_by_workflow ON {schema}.tokens (workflow_name, workflow_id)
"""

# MIGRATIONS[v] takes a schema at version v to v + 1. Append, never edit:
# databases in the field were made by the earlier entries.
MIGRATIONS: list[str] = [_V1, _V2]
SCHEMA_VERSION = len(MIGRATIONS)


def server(dsn: str) -> str:
    """``host:port`` of a DSN, for error messages: never the password or the full DSN."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        params = {}
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
    port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
    return f"{host}:{port}"


def connect_error(error: psycopg.Error, dsn: str) -> StoreError:
    """One sentence for a failed connection: where, why, and what to do."""
    params = _params(dsn)
    names = [f"{key} {params[key]!r}" for key in ("dbname", "user") if params.get(key)]
    who = f" ({', '.join(names)})" if names else ""
    reason = describe(error)
    lowered = reason.lower()
    if "resolve" in lowered:
        hint = "check the host name in the DSN"
    elif "refused" in lowered or "timeout" in lowered or "could not" in lowered:
        hint = "is the server running and accepting TCP/IP connections there? Check the DSN"
    elif "does not exist" in lowered:
        hint = "create it, or fix the DSN"
    elif "password" in lowered or "authentication" in lowered:
        hint = "check the user and password (or the server's pg_hba.conf)"
    else:
        hint = "check the DSN and the server's log"
    return StoreError(f"Cannot connect to PostgreSQL at {server(dsn)}{who}: {reason}; {hint}")


def _params(dsn: str) -> Mapping[str, object]:
    try:
        return psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return {}


def describe(error: BaseException) -> str:
    """The first line of the server's or libpq's words, without a "connection ... failed:"."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    first = lines[0] if lines else type(error).__name__
    return first.rsplit(" failed: ", 1)[-1]


def schema_lock_key(schema: str) -> int:
    """The advisory lock that serialises migrations of one schema (a signed 64-bit int)."""
    digest = hashlib.sha256(f"waku.schema:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def check_schema_name(schema: str) -> None:
    """Refuse names PostgreSQL would truncate or reject, before anything is created."""
    encoded = schema.encode("utf-8", "surrogatepass")
    if not schema or "\x00" in schema or len(encoded) > 63:
        raise ValueError(
            f"schema must be a PostgreSQL name of 1 to 63 bytes without NUL, not {schema!r}"
        )


def prepare(conn: psycopg.Connection[Any], schema: str) -> None:
    """Create or migrate the schema to ``SCHEMA_VERSION``; a no-op read when it is current.

    ``conn`` is in autocommit mode. The migrations and their version rows commit
    in one transaction under ``pg_advisory_xact_lock``: of two processes starting
    at once, the second waits, then finds the work done.
    """
    name = sql.Identifier(schema)
    if _version(conn, schema, name) == SCHEMA_VERSION:
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (schema_lock_key(schema),))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.migrations "
                "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(name)
        )
        version = _version(conn, schema, name) or 0
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in migration.split(";"):
                if statement.strip():
                    conn.execute(sql.SQL(statement).format(schema=name))
            conn.execute(
                sql.SQL("INSERT INTO {}.migrations (version) VALUES (%s)").format(name), (number,)
            )


def _version(conn: psycopg.Connection[Any], schema: str, name: sql.Identifier) -> int | None:
    """The schema's version, None when it has none yet; a newer one is refused."""
    table = sql.SQL("{}.migrations").format(name).as_string(conn)
    (exists,) = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone() or (False,)
    if not exists:
        return None
    row = conn.execute(sql.SQL("SELECT max(version) FROM {}.migrations").format(name)).fetchone()
    version = int(row[0]) if row and row[0] is not None else 0
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"The PostgreSQL schema {schema!r} has Waku schema version {version}, newer than "
            f"this Waku knows ({SCHEMA_VERSION}); it was left unchanged. Upgrade waku to use it"
        )
    return version
