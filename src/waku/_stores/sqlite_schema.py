"""Opening a SQLite store file safely: checks, pragmas, schema and forward migrations.

Nothing here writes to a file before it is known to be a Waku store (or an
empty database): a foreign, corrupt or newer file is refused with a
``StoreError`` naming the path, and left exactly as it was.

Schema (``PRAGMA user_version`` = ``SCHEMA_VERSION``, ``application_id`` = ``WAKU``):

- ``workflows``: one row per (name, id): status (``waku.Status``), created
  and updated times, final result payload, the lease (owner
  ``host:pid:nonce`` and expiry, wall-clock seconds), the wake time of a
  suspended workflow and the queue it was enqueued on.
- ``steps``: one row per (name, id, step): the step function, a status read
  from the record's kind, the last input (from ``store_start``), the last
  result or error payload, the attempt count, start and finish times. Step 0
  is the workflow's input; step ``-n`` is step ``n``'s callback marker.
- ``tokens``: SHA-256 of each callback token -> (name, id, step), created
  and spent times.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from .._errors import StoreError

APPLICATION_ID = 0x57414B55  # "WAKU": marks a file as ours before we change it

_V1 = """
CREATE TABLE workflows (
    workflow_name TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    result BLOB,
    lease_owner TEXT,
    lease_expires REAL,
    PRIMARY KEY (workflow_name, workflow_id)
) WITHOUT ROWID;
CREATE INDEX workflows_by_status ON workflows (status, updated_at);
CREATE TABLE steps (
    workflow_name TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    function TEXT,
    status TEXT NOT NULL,
    input BLOB,
    output BLOB,
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at REAL,
    finished_at REAL,
    PRIMARY KEY (workflow_name, workflow_id, step)
) WITHOUT ROWID;
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    workflow_name TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    created_at REAL NOT NULL,
    spent_at REAL
) WITHOUT ROWID;
"""

# A suspended workflow's wake time (a callback deadline, the end of a sleep), the
# queue it was enqueued on, and indexes that serve claims, newest-first listings,
# and pruning (finished workflows by age, a workflow's tokens).
_V2 = """
ALTER TABLE workflows ADD COLUMN wake_at REAL;
ALTER TABLE workflows ADD COLUMN queue TEXT;
CREATE INDEX workflows_by_wake ON workflows (wake_at)
    WHERE wake_at IS NOT NULL AND status IN ('waiting', 'sleeping');
CREATE INDEX workflows_queued ON workflows (queue, created_at) WHERE status = 'queued';
CREATE INDEX workflows_by_created ON workflows (created_at, workflow_name, workflow_id);
CREATE INDEX workflows_by_name ON workflows (workflow_name, created_at);
DROP INDEX workflows_by_status;
CREATE INDEX workflows_by_status ON workflows (status, created_at);
CREATE INDEX workflows_finished ON workflows (updated_at)
    WHERE status IN ('succeeded', 'failed', 'cancelled');
CREATE INDEX tokens_by_workflow ON tokens (workflow_name, workflow_id);
CREATE INDEX workflows_leased ON workflows (queue, lease_expires, lease_owner)
    WHERE lease_expires IS NOT NULL;
"""

# MIGRATIONS[v] takes a database at version v to v + 1. Append, never edit:
# files in the field were made by the earlier entries.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    lambda conn: _script(conn, _V1),
    lambda conn: _script(conn, _V2),
]
SCHEMA_VERSION = len(MIGRATIONS)


def _script(conn: sqlite3.Connection, sql: str) -> None:
    # executescript would COMMIT the migration's transaction; run statement by statement.
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN ourselves), usable from any thread."""
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as error:
        raise StoreError(f"Cannot open the SQLite store at {path}: {error}") from None
    return conn


def check_path(path: Path) -> None:
    """Refuse paths SQLite would fail on with a vague message."""
    if str(path) in ("", ":memory:") or str(path).startswith("file:"):
        raise StoreError(
            f"{str(path)!r} is not a file path; SQLiteStore needs a file "
            "(use MemoryStore for a store that lives in memory)"
        )
    if "\0" in str(path):
        raise StoreError(f"{str(path)!r} is not a file path: it holds a NUL character")
    parent = path.parent
    if not parent.is_dir():
        raise StoreError(
            f"Cannot open the SQLite store at {path}: the directory {parent} does not exist; "
            "create it first"
        )
    if path.is_dir():
        raise StoreError(f"Cannot open the SQLite store at {path}: it is a directory")
    # WAL mode needs to create ``-wal`` and ``-shm`` files beside the database.
    if not os.access(parent, os.W_OK | os.X_OK) or (
        path.exists() and not os.access(path, os.R_OK | os.W_OK)
    ):
        raise StoreError(
            f"Cannot open the SQLite store at {path}: the file or its directory is read-only; "
            "Waku needs to write the database and its -wal and -shm files there"
        )


def prepare(conn: sqlite3.Connection, path: Path) -> None:
    """Check the file is ours (or empty), switch to WAL and migrate to ``SCHEMA_VERSION``."""
    try:
        # Read-only probes first: a foreign or corrupt file fails here, untouched.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise StoreError(
            f"{path} is not a usable SQLite database ({error}); it was left unchanged. "
            "Point Waku at a new file, or restore this one from a backup"
        ) from None
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables > 0):
        raise StoreError(
            f"{path} is a SQLite database of another application, not a Waku store; "
            "it was left unchanged. Give Waku a file of its own"
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} has Waku schema version {version}, newer than this Waku knows "
            f"({SCHEMA_VERSION}); it was left unchanged. Upgrade waku to open it"
        )
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"Cannot switch the SQLite store at {path} to WAL mode ({mode})")
        if version < SCHEMA_VERSION:
            migrate(conn)
        integrity = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise StoreError(_describe(error, path, "open")) from None
    if integrity != "ok":
        raise StoreError(
            f"{path} is damaged ({integrity}); it was left unchanged. "
            f"Restore it from a backup, or run `sqlite3 {path} .recover`"
        )


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the missing migrations in one transaction; safe if another process races us."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for migration in MIGRATIONS[version:]:
            migration(conn)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def _describe(error: BaseException, path: Path, action: str) -> str:
    """One sentence for a SQLite failure: what happened to which file, and what to do."""
    text = str(error)
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered:
        hint = "the file or its directory is read-only; make it writable"
    elif "full" in lowered:
        hint = "the disk (or the database's size limit) is full; free space and retry"
    elif "malformed" in lowered or "not a database" in lowered:
        hint = "the file is damaged; restore it from a backup"
    elif "locked" in lowered or "busy" in lowered:
        hint = "another process held the database for longer than busy_timeout; raise it"
    else:
        hint = "check the file and its directory"
    return f"SQLite store at {path} could not {action} ({text}): {hint}"


def store_error(error: BaseException, path: Path, action: str) -> StoreError:
    """The StoreError to raise for a SQLite failure while doing ``action``."""
    return StoreError(_describe(error, path, action))
