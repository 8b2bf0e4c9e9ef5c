"""What SQLiteStore's commits really do, watched on its write connection.

A trace callback on the connection the store writes with sees every
statement; at each COMMIT it reads ``PRAGMA synchronous`` from that same
connection, so the tests check the setting in effect when a result commits,
not the option the store echoes back.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

import waku
from waku import SQLiteStore

SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


class Commits:
    """Every COMMIT on a store's write connection: the synchronous setting, what it wrote."""

    def __init__(self, store: SQLiteStore) -> None:
        self._conn: sqlite3.Connection = store._write_conn
        self._statements: list[str] = []
        self.seen: list[tuple[str, str]] = []  # (PRAGMA synchronous, the transaction's SQL)
        self._conn.set_trace_callback(self._trace)

    def _trace(self, statement: str) -> None:
        if statement.strip() != "COMMIT":
            self._statements.append(statement)
            return
        (level,) = self._conn.execute("PRAGMA synchronous").fetchone()
        self.seen.append((SYNCHRONOUS[level], "\n".join(self._statements)))
        self._statements = []

    def writing(self, table: str) -> list[str]:
        """The synchronous setting of each commit that inserted into ``table``."""
        return [level for level, sql in self.seen if f"INSERT INTO {table}" in sql]


def add_one(x: int) -> int:
    return x + 1


@pytest.mark.parametrize(("durability", "expected"), [("full", "FULL"), ("normal", "NORMAL")])
def test_results_and_tokens_commit_with_the_durability_asked_for(
    tmp_path: Path, durability: str, expected: str
) -> None:
    with SQLiteStore(tmp_path / "waku.db", durability=durability) as store:
        commits = Commits(store)
        body = lambda: waku.pipe(1, waku.step(add_one), waku.step(add_one))  # noqa: E731
        assert waku.run_workflow("sync", body, workflow_id="1", store=store).result == 3
        token = store.store_result_token("sync", "2", 1)
        store.store_token_result(token, b"C json -\n1")
        assert len(commits.writing("steps")) >= 3  # two steps and a callback result
        assert set(commits.writing("steps")) == {expected}
        assert commits.writing("tokens") == [expected]
        # Leases commit without waiting for a sync: a lease means nothing after a power loss.
        leases = [level for level, sql in commits.seen if "lease_owner" in sql]
        assert leases and set(leases) == {"NORMAL"}


def test_concurrent_writers_share_commits(tmp_path: Path) -> None:
    threads, rounds = 8, 40
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def write(store: SQLiteStore, thread: int) -> None:
        try:
            for step in range(1, rounds + 1):
                barrier.wait()
                store.store_result("wf", str(thread), step, b"R json m:f\n1")
        except BaseException as error:
            errors.append(error)
            barrier.abort()

    with SQLiteStore(tmp_path / "waku.db") as store:
        commits = Commits(store)
        running = [threading.Thread(target=write, args=(store, n)) for n in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()
        assert errors == []
        assert [len(store.get_steps("wf", str(n))) for n in range(threads)] == [rounds] * threads
    writes, shared = threads * rounds, len(commits.writing("steps"))
    # Without group commit every write is a commit of its own.
    assert shared < writes * 0.75, f"{shared} commits for {writes} writes"
