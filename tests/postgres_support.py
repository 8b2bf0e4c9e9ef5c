"""The PostgreSQL server the tests use, and stores that clean up after themselves.

Tests read ``WAKU_TEST_POSTGRES_DSN`` (default: the local server with trust
auth). Without a reachable server they skip, saying how to run them, except
under ``CI=true``, where they fail: the PostgreSQL suite must never vanish
from CI without anyone noticing.
"""

from __future__ import annotations

import atexit
import functools
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

import waku

DSN = os.environ.get("WAKU_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
HOW_TO_RUN = (
    "start PostgreSQL on 127.0.0.1:5432 with trust auth and a database 'test' (or point "
    "WAKU_TEST_POSTGRES_DSN at a server), and pip install 'waku[postgres]'"
)


@functools.cache
def _unavailable() -> str | None:
    """Why the test server cannot be used, or None when it can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    from waku._stores.postgres_schema import describe, server

    try:
        psycopg.connect(DSN, connect_timeout=5).close()
    except psycopg.Error as error:
        return f"PostgreSQL at {server(DSN)} is unreachable ({describe(error)})"
    return None


def require_server() -> str:
    """The DSN of a reachable server; otherwise skip the test (fail it under CI=true)."""
    reason = _unavailable()
    if reason is not None:
        message = f"{reason}: to run the PostgreSQL tests, {HOW_TO_RUN}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires the PostgreSQL tests: {message}", pytrace=False)
        pytest.skip(message)
    return DSN


def new_schema() -> str:
    """A schema name no other test uses."""
    return f"waku_test_{uuid.uuid4().hex[:12]}"


def admin() -> Any:
    """A plain autocommit connection to the test server (a psycopg Connection)."""
    import psycopg

    return psycopg.connect(require_server(), autocommit=True)


def rows(query: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run one query (or a script, without arguments) on the test server; its rows."""
    with admin() as conn:
        cursor = conn.execute(query, args or None)
        return list(cursor.fetchall()) if cursor.description else []


def drop_schema(schema: str) -> None:
    """Drop a test's schema and everything in it."""
    from psycopg import sql

    with admin() as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


class ThrowawayPostgresStore(waku.PostgresStore):
    """A PostgresStore in a fresh schema of its own, dropped when the store is closed."""

    def __init__(self, dsn: str | None = None, **options: Any) -> None:
        options.setdefault("schema", new_schema())
        super().__init__(dsn or require_server(), **options)

    def close(self) -> None:
        """Close the store, then drop its schema."""
        try:
            super().close()
        finally:
            drop_schema(self.schema)


def throwaway_store(**options: Any) -> ThrowawayPostgresStore:
    """A store for one test, or a skip (a failure under CI=true) without a server."""
    require_server()
    return ThrowawayPostgresStore(**options)


def throwaway_url(_folder: Path) -> str:
    """A store URL with a fresh schema, for child processes; dropped when the tests end."""
    dsn = require_server()
    schema = new_schema()
    atexit.register(drop_schema, schema)  # the children's store is opened by URL, not here
    waku.PostgresStore(dsn, schema=schema).close()  # made now, so that children start quickly
    return f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
