"""SQLiteStore's queue alone: the rows an enqueue writes, index-served claims, racing processes."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from waku import SQLiteStore, StoreError
from waku._stores import sqlite_queue
from waku._stores.base import new_owner
from waku._stores.claims import Picker

from ..sqlite_steps import ROOT
from .claimers import dead_owner

INPUT = b"I json tests:flow\n[1, 2]"


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
def store(db: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(db) as s:
        yield s


def test_an_enqueue_commits_the_workflow_and_its_input_row(db: Path, store: SQLiteStore) -> None:
    before = time.time()
    assert store.enqueue_workflow("wf", "1", "emails", INPUT)
    # Committed on return: another connection sees both rows.
    [(status, queue, created, updated, lease, wake)] = rows(
        db,
        "SELECT status, queue, created_at, updated_at, lease_owner, wake_at FROM workflows",
    )
    assert (status, queue, lease, wake) == ("queued", "emails", None, None)
    assert before <= created == updated <= time.time()
    store.store_result("twin", "1", 0, INPUT)  # the row store_result makes of the same record
    columns = "step, function, status, output, input, attempts"
    [mine] = rows(db, f"SELECT {columns} FROM steps WHERE workflow_name = 'wf'")
    [theirs] = rows(db, f"SELECT {columns} FROM steps WHERE workflow_name = 'twin'")
    assert mine == theirs == (0, "tests:flow", "input", INPUT, None, 0)


def test_an_enqueue_of_an_existing_workflow_writes_nothing(db: Path, store: SQLiteStore) -> None:
    assert store.acquire_lease("wf", "1", "other-host:1:a", 60)  # a run made its row
    store.release_lease("wf", "1", "other-host:1:a")
    assert not store.enqueue_workflow("wf", "1", "emails", INPUT)
    assert rows(db, "SELECT status, queue FROM workflows") == [("running", None)]
    assert rows(db, "SELECT count(*) FROM steps") == [(0,)]


def test_an_input_over_max_payload_is_refused_and_nothing_is_written(db: Path) -> None:
    with SQLiteStore(db, max_payload=100) as store:
        with pytest.raises(StoreError, match="workflow 'wf' id '1' step 0: a record of 101 bytes"):
            store.enqueue_workflow("wf", "1", "q", b"I" + b"x" * 100)
        assert store.claim_workflows(["q"], "other-host:1:a", 60, 10) == []
    assert rows(db, "SELECT count(*) FROM workflows") == [(0,)]


def test_a_claim_with_nothing_to_take_takes_no_write_lock(db: Path) -> None:
    with SQLiteStore(db, busy_timeout=0.2) as store:
        store.enqueue_workflow("wf", "1", "q", INPUT)
        store.set_workflow_status("wf", "later", "sleeping", wake_at=time.time() + 3600)
        store.flush()
        writer = sqlite3.connect(db, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")  # another process is writing
            assert store.claim_workflows(["other"], "other-host:1:a", 60, 10) == []
            with pytest.raises(StoreError, match="could not write"):
                store.claim_workflows(["q"], "other-host:1:a", 60, 10)
            writer.execute("ROLLBACK")
        finally:
            writer.close()
        assert store.claim_workflows(["q"], "other-host:1:a", 60, 10) == [("wf", "1")]


# Each query a claim runs, and its plan: a search of an index that holds no finished
# workflow (a sort only of the rows found, to group leases by process).
BY_STATUS = "SEARCH workflows USING INDEX workflows_by_status (status=?)"
GROUPED = "USE TEMP B-TREE FOR GROUP BY"
LEASED = "SEARCH workflows USING COVERING INDEX workflows_leased (queue=? AND lease_expires>?)"
PLANS = {
    "EXPIRED": [BY_STATUS],
    "RUNNING_PROCESSES": [BY_STATUS, GROUPED],
    "OF_PROCESS": [BY_STATUS],
    "DUE": ["SEARCH workflows USING INDEX workflows_by_wake (wake_at<?)"],
    "QUEUED": ["SEARCH workflows USING INDEX workflows_queued (queue=?)"],
    "LIVE_LEASES": [LEASED],
    "LIVE_LEASES_OF": [LEASED],
    "CLAIM": ["SEARCH workflows USING PRIMARY KEY (workflow_name=? AND workflow_id=?)"],
}
PARAMS = {"now": 1.0, "due": 1.0, "n": 2, "host": "h:", "queue": "q", "limit": 5, "process": "h:1:"}
PARAMS.update(owner="o", expires=2.0, name="wf", id="1")


def test_every_query_of_a_claim_has_its_plan_checked() -> None:
    queries = {
        name
        for name, value in vars(sqlite_queue).items()
        if name.isupper() and isinstance(value, str) and "workflows" in value
    }
    assert queries - {"ENQUEUE"} == set(PLANS)


@pytest.mark.parametrize("query", sorted(PLANS))
def test_each_claim_query_searches_an_index(db: Path, store: SQLiteStore, query: str) -> None:
    conn = sqlite3.connect(db)
    try:
        plan = conn.execute(f"EXPLAIN QUERY PLAN {getattr(sqlite_queue, query)}", PARAMS)
        assert [step[3] for step in plan] == PLANS[query]
    finally:
        conn.close()


def claim_cost(db: Path) -> tuple[list[tuple[str, str]], int]:
    """What a claim takes on ``db``, and how many SQLite VM steps it costs (rolled back)."""
    conn = sqlite3.connect(db, isolation_level=None)
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.set_progress_handler(count, 1)
        picker = Picker(frozenset({"q", "r"}), 10, time.time())
        claimed = sqlite_queue.claim(conn, picker, "other-host:9:x", 60, {"q": 5, "r": 5})
        conn.set_progress_handler(None, 1)
        conn.execute("ROLLBACK")
        return claimed, steps
    finally:
        conn.close()


def test_a_claim_costs_the_same_however_many_finished_workflows_there_are(
    tmp_path: Path,
) -> None:
    costs = []
    dead = dead_owner()
    for finished in (0, 3000):
        db = tmp_path / f"{finished}.db"
        with SQLiteStore(db, durability="normal") as store:
            past = time.time() - 60
            for n in range(finished):
                queue = "q" if n % 2 else "r"
                store.enqueue_workflow("old", str(n), queue, INPUT)
                store.set_workflow_status("old", str(n), "succeeded", wake_at=past)
            for n in range(3):
                store.enqueue_workflow("new", str(n), "q", INPUT)
            store.set_workflow_status("due", "1", "sleeping", wake_at=past)
            store.acquire_lease("orphan", "1", "other-host:1:a", 0.0)
            store.acquire_lease("orphan", "2", dead, 3600)
            store.acquire_lease("live", "1", new_owner(), 3600)  # a run of this process
            store.flush()
        costs.append(claim_cost(db))
    assert costs[0][0] == [
        ("orphan", "1"),
        ("orphan", "2"),
        ("due", "1"),
        ("new", "0"),
        ("new", "1"),
        ("new", "2"),
    ]
    assert costs[1] == costs[0]  # the same claim, in the same number of VM steps


def spawn(db: Path, most: int) -> subprocess.Popen[str]:
    code = "from tests.stores.queue_child import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, str(db), str(most)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def tell(child: subprocess.Popen[str], line: str) -> None:
    assert child.stdin is not None
    child.stdin.write(f"{line}\n")
    child.stdin.flush()


def read_claims(child: subprocess.Popen[str]) -> list[tuple[str, str]]:
    assert child.stdout is not None
    claimed = []
    while (line := child.stdout.readline()) != "done\n":
        assert line, "a claiming process ended before it was done"
        name, wid = json.loads(line)
        claimed.append((name, wid))
    return claimed


def test_processes_racing_over_200_workflows_claim_each_exactly_once(db: Path) -> None:
    workflows = {("race", f"w{n:03}") for n in range(200)}
    with SQLiteStore(db) as store:
        for name, wid in sorted(workflows):
            store.enqueue_workflow(name, wid, "q", INPUT)
    children = [spawn(db, len(workflows)) for _ in range(4)]
    try:
        owners = []
        for child in children:
            assert child.stdout is not None
            owners.append(child.stdout.readline().strip())
            assert child.stdout.readline() == "ready\n"
        for child in children:  # release them as close together as four writes allow
            tell(child, "go")
        claims = [read_claims(child) for child in children]
        holders = dict(rows(db, "SELECT workflow_id, lease_owner FROM workflows"))
    finally:
        for child in children:
            with contextlib.suppress(BrokenPipeError):  # one that died already
                tell(child, "exit")
            child.communicate(timeout=60)  # also closes its pipes
    assert [child.returncode for child in children] == [0] * 4
    taken = [key for claimed in claims for key in claimed]
    assert len(taken) == len(workflows)
    assert set(taken) == workflows
    assert sum(bool(claimed) for claimed in claims) >= 2, "the processes did not race"
    for owner, claimed in zip(owners, claims, strict=True):
        assert all(holders[wid] == owner for _, wid in claimed)
