"""SQLiteStore's workflow records: indexed queries, what pruning leaves on disk, free pages."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import waku
from waku import SQLiteStore
from waku._stores import sqlite_inspect
from waku._stores.sqlite_schema import APPLICATION_ID, MIGRATIONS, connect, prepare

links: list[str] = []


def rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "waku.db"


@pytest.fixture
def store(db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SQLiteStore]:
    with SQLiteStore(db) as opened:
        monkeypatch.setattr(waku._config, "_default", opened)
        yield opened


def plan(db: Path, query: str, args: tuple[Any, ...]) -> str:
    return " / ".join(str(row[3]) for row in rows(db, f"EXPLAIN QUERY PLAN {query}", *args))


@pytest.mark.parametrize("status", [None, "failed"])
@pytest.mark.parametrize("name", [None, "wf"])
@pytest.mark.parametrize("before", [None, (1e9, "wf", "x")])
def test_every_listing_page_is_served_by_an_index_in_order(
    store: SQLiteStore, db: Path, status: str | None, name: str | None, before: Any
) -> None:
    for n in range(50):
        store.set_workflow_status(
            ("wf", "other")[n % 2], str(n), ("failed", "succeeded")[n % 3 // 2]
        )
    store.flush()
    query, args = sqlite_inspect.list_query(status, name, 10, before)
    shown = plan(db, query, args)
    assert "USING INDEX" in shown and "TEMP B-TREE" not in shown, shown


def test_pruning_walks_finished_workflows_by_age_and_deletes_by_key(
    store: SQLiteStore, db: Path
) -> None:
    store.set_workflow_status("wf", "1", "succeeded")
    store.flush()
    due = sqlite_inspect._DUE.format(marks="?")
    assert "USING INDEX workflows_finished (updated_at<?)" in plan(db, due, ("failed", 1.0, 1.0, 5))
    for statement in sqlite_inspect._DELETE:
        shown = plan(db, statement, ("wf", "1"))
        assert "(workflow_name=? AND workflow_id=?)" in shown, shown


def ask_twice(payload: int) -> None:
    links.append(waku.create_callback_token())
    links.append(waku.create_callback_token())  # never spent: its row stays until pruned


def approval(payload: int) -> Any:
    return waku.pipe(payload, waku.step(ask_twice), waku.step(lambda answer: answer))


def test_pruned_workflows_leave_no_step_or_token_rows(store: SQLiteStore, db: Path) -> None:
    links.clear()
    waku.register_workflow("approval", approval)
    for wid in ("gone-1", "gone-2", "kept"):
        waku.run_callback_workflow("approval", 1, workflow_id=wid)
    waku.run_workflow_from_callback(links[0], "yes")  # gone-1 succeeds, one token spent
    waku.fail_callback(links[2], "no")  # gone-2 fails
    assert rows(db, "SELECT count(*) FROM tokens WHERE workflow_id LIKE 'gone-%'") == [(4,)]
    removed = waku.prune(older_than=dt.timedelta(0))
    assert sorted(removed) == [("approval", "gone-1"), ("approval", "gone-2")]
    for table in ("workflows", "steps", "tokens"):
        left = rows(db, f"SELECT DISTINCT workflow_id FROM {table}")
        assert left == [("kept",)], table
    assert rows(db, "SELECT count(*) FROM tokens") == [(2,)]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


def big_step(x: int) -> str:
    return "x" * 2000


def test_pages_freed_by_pruning_are_reused_by_new_workflows(store: SQLiteStore, db: Path) -> None:
    def fill(prefix: str) -> None:
        for n in range(200):
            waku.run_workflow("big", lambda: waku.step(big_step, 1), workflow_id=f"{prefix}{n}")

    fill("a")
    pages = rows(db, "PRAGMA page_count")[0][0]
    assert len(waku.prune(older_than=dt.timedelta(0))) == 200
    assert rows(db, "PRAGMA page_count")[0][0] == pages  # the file does not shrink ...
    assert rows(db, "PRAGMA freelist_count")[0][0] > pages // 2  # ... its pages are free
    fill("b")
    assert rows(db, "PRAGMA page_count")[0][0] <= pages * 1.1  # and used again


def test_a_schema_1_file_migrates_and_lists_its_workflows(db: Path) -> None:
    conn = connect(db, 5)
    MIGRATIONS[0](conn)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO workflows (workflow_name, workflow_id, status, created_at, updated_at) "
        "VALUES ('old', '1', 'succeeded', 1000.0, 1000.0)"
    )
    conn.close()
    with SQLiteStore(db) as store:
        (info,) = waku.list_workflows(store=store)
        assert (info.workflow_id, info.status, info.queue, info.wake_at) == (
            "1",
            "succeeded",
            None,
            None,
        )
        assert info.created_at == dt.datetime(1970, 1, 1, 0, 16, 40, tzinfo=dt.timezone.utc)
        assert waku.prune(older_than=dt.timedelta(0), store=store) == [("old", "1")]
    indexes = {name for (name,) in rows(db, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"workflows_finished", "tokens_by_workflow", "workflows_by_created"} <= indexes


def test_prepare_is_idempotent_for_a_current_file(db: Path) -> None:
    SQLiteStore(db).close()
    conn = connect(db, 5)
    try:
        prepare(conn, db)  # nothing to migrate: the indexes are there once
    finally:
        conn.close()
    names = rows(db, "SELECT name FROM sqlite_master WHERE name = 'workflows_finished'")
    assert names == [("workflows_finished",)]
