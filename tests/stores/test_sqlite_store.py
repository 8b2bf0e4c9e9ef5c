"""SQLiteStore alone: opening, bad files, limits, what rows hold, tokens at rest, leases, load."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import waku
from waku import SQLiteStore, StoreError
from waku._stores.base import HOST
from waku._stores.sqlite_schema import SCHEMA_VERSION


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


def add_one(x: int) -> int:
    return x + 1


def fails(x: int) -> int:
    raise ValueError(f"bad {x}")


# -- opening ----------------------------------------------------------------------


def test_schema_is_versioned_and_reopening_keeps_data(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.store_result("wf", "1", 1, b"R json m:f\n1")
    assert rows(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(db, "PRAGMA journal_mode") == [("wal",)]
    with SQLiteStore(db) as store:
        assert store.get_steps("wf", "1") == {1: b"R json m:f\n1"}


def test_missing_directory_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "waku.db"
    with pytest.raises(StoreError, match=r"nowhere.*does not exist"):
        SQLiteStore(path)
    assert not path.parent.exists()


def test_memory_path_is_refused() -> None:
    with pytest.raises(StoreError, match="MemoryStore"):
        SQLiteStore(":memory:")


def test_non_sqlite_file_is_refused_and_left_unchanged(db: Path) -> None:
    db.write_bytes(b"hello, this is a text file\n" * 200)
    before = db.read_bytes()
    with pytest.raises(StoreError, match=rf"{db}.*not a usable SQLite database.*unchanged"):
        SQLiteStore(db)
    assert db.read_bytes() == before
    assert not Path(f"{db}-wal").exists()


def test_corrupt_pages_are_refused_and_left_unchanged(db: Path) -> None:
    with SQLiteStore(db) as store:
        for step in range(1, 200):
            store.store_result("wf", "1", step, b"R json m:f\n" + b"x" * 500)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(db.read_bytes())
    page = 4096
    data[page * 2 : page * 6] = os.urandom(page * 4)  # damage b-tree pages, keep the header
    db.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=rf"{db}.*(damaged|malformed)"):
        SQLiteStore(db)
    assert db.read_bytes() == bytes(data)


def test_newer_schema_is_refused_and_left_unchanged(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.store_result("wf", "1", 1, b"R json m:f\n1")
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(StoreError, match=rf"{db}.*schema version {SCHEMA_VERSION + 1}.*Upgrade"):
        SQLiteStore(db)
    assert db.read_bytes() == before
    assert rows(db, "SELECT output FROM steps") == [(b"R json m:f\n1",)]


def test_another_applications_database_is_refused(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="another application"):
        SQLiteStore(db)
    assert rows(db, "SELECT name FROM sqlite_master") == [("customers",)]


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A directory holding a Waku store, made read-only (immutable for root, who ignores modes)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    with SQLiteStore(folder / "waku.db") as store:
        store.store_result("wf", "1", 1, b"R json m:f\n1")
    if os.geteuid() != 0:
        os.chmod(folder / "waku.db", 0o444)
        os.chmod(folder, 0o555)
        yield folder
        os.chmod(folder, 0o755)
        return
    chattr = shutil.which("chattr")
    targets = [str(folder / "waku.db"), str(folder)]
    if chattr is None or subprocess.run([chattr, "+i", *targets], check=False).returncode:
        pytest.skip("running as root without chattr: cannot make a path read-only")
    try:
        yield folder
    finally:
        subprocess.run([chattr, "-i", *targets], check=True)


def test_read_only_path_is_refused_and_data_kept(read_only: Path) -> None:
    db = read_only / "waku.db"
    before = db.read_bytes()
    with pytest.raises(StoreError, match=rf"{db}.*read-only"):
        SQLiteStore(db)
    assert db.read_bytes() == before
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)  # reads without -shm/-wal
    try:
        assert conn.execute("SELECT output FROM steps").fetchall() == [(b"R json m:f\n1",)]
    finally:
        conn.close()


def test_oversize_payload_stores_nothing(db: Path) -> None:
    with SQLiteStore(db, max_payload=1000) as store:
        store.store_result("wf", "1", 1, b"R json m:f\n1")
        with pytest.raises(StoreError, match=r"step 2.*1100 bytes.*limit of 1000.*nothing"):
            store.store_result("wf", "1", 2, b"R json m:f\n" + b"x" * 1089)
        with pytest.raises(StoreError, match="limit of 1000"):
            store.store_start("wf", "1", 3, b"S json m:f\n" + b"x" * 1000)
        assert store.get_steps("wf", "1") == {1: b"R json m:f\n1"}


def test_full_disk_is_a_store_error_that_keeps_earlier_steps(store: SQLiteStore) -> None:
    store.store_result("wf", "1", 1, b"R json m:f\n1")
    pages = store._write_conn.execute("PRAGMA page_count").fetchone()[0]
    store._write_conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # a tiny "disk"
    with pytest.raises(StoreError, match=r"waku.db.*full"):
        store.store_result("wf", "1", 2, b"R json m:f\n" + os.urandom(50_000))
    assert store.get_steps("wf", "1") == {1: b"R json m:f\n1"}
    store.store_result("wf", "1", 3, b"R json m:f\n3")  # small writes still fit
    assert set(store.get_steps("wf", "1")) == {1, 3}


# -- what the records hold --------------------------------------------------------


def test_step_rows_record_function_status_attempts_and_times(db: Path) -> None:
    with SQLiteStore(db) as store:
        waku.run_workflow("rec", lambda: waku.step(fails, 1), workflow_id="a", store=store)
        waku.run_workflow(
            "rec", lambda: waku.pipe(1, waku.step(add_one)), workflow_id="b", store=store
        )
        assert store.get_workflow_status("rec", "a") == "failed"
        assert store.get_workflow_status("rec", "b") == "succeeded"
        assert store.get_workflow_status("rec", "c") is None
    (step_a,) = rows(
        db,
        "SELECT function, status, attempts, input IS NOT NULL, started_at <= finished_at, "
        "substr(output, 1, 1) FROM steps WHERE workflow_id = 'a'",
    )
    assert step_a == (f"{__name__}:fails", "failed", 1, 1, 1, b"E")
    (step_b,) = rows(db, "SELECT function, status, attempts FROM steps WHERE workflow_id = 'b'")
    assert step_b == (f"{__name__}:add_one", "succeeded", 1)
    (workflow,) = rows(
        db,
        "SELECT status, created_at <= updated_at, lease_owner, result IS NOT NULL "
        "FROM workflows WHERE workflow_id = 'b'",
    )
    assert workflow == ("succeeded", 1, None, 1)


def test_retry_counts_attempts_and_start_never_touches_the_result(store: SQLiteStore) -> None:
    store.store_start("wf", "1", 1, b"S json m:f\n1")
    store.store_result("wf", "1", 1, b"E json m:f\n{}")
    store.store_start("wf", "1", 1, b"S json m:f\n2")
    store.flush()
    assert store.get_result("wf", "1", 1) == b"E json m:f\n{}"
    store.store_result("wf", "1", 1, b"R json m:f\n9")
    assert rows(store.path, "SELECT attempts, status, input FROM steps") == [
        (2, "succeeded", b"S json m:f\n2")
    ]


def test_a_start_alone_is_written_by_flush(store: SQLiteStore) -> None:
    store.store_start("wf", "1", 4, b"S json m:f\n1")
    store.flush()
    assert rows(store.path, "SELECT step, status FROM steps") == [(4, "running")]
    assert store.get_steps("wf", "1") == {}


def test_wake_time_and_result_are_stored_replaced_and_kept_on_a_refused_status(
    store: SQLiteStore,
) -> None:
    def record() -> list[tuple[Any, ...]]:
        store.flush()
        return rows(store.path, "SELECT status, result, wake_at FROM workflows")

    store.set_workflow_status("wf", "1", "sleeping", wake_at=1_900_000_000.5)
    assert record() == [("sleeping", None, 1_900_000_000.5)]
    store.set_workflow_status("wf", "1", "waiting", None, 1_900_000_100.0)
    assert record() == [("waiting", None, 1_900_000_100.0)]
    with pytest.raises(ValueError, match="status must be one of"):
        store.set_workflow_status("wf", "1", "bogus", b"R json -\n9", 5.0)
    assert record() == [("waiting", None, 1_900_000_100.0)]
    store.set_workflow_status("wf", "1", "succeeded", b"R json -\n1")
    assert record() == [("succeeded", b"R json -\n1", None)]


# -- tokens -----------------------------------------------------------------------


def test_unknown_token_changes_nothing(store: SQLiteStore) -> None:
    with pytest.raises(waku.InvalidTokenError, match="never issued"):
        store.store_token_result("forged", b"C json -\n1")
    assert rows(store.path, "SELECT count(*) FROM steps") == [(0,)]


def test_tokens_are_stored_only_as_hashes(store: SQLiteStore) -> None:
    token = store.store_result_token("wf", "1", 1)
    stored = rows(store.path, "SELECT hash FROM tokens")
    assert stored == [(waku._stores.base.token_hash(token),)]
    assert token not in stored[0][0]


issued: list[str] = []


def wait_for_approval(amount: int) -> int:
    issued.append(waku.create_callback_token())
    return amount


def on_disk(data: bytes, db: Path) -> bool:
    """True when ``data`` is in any file SQLite keeps for ``db``: the file, its WAL, its -shm."""
    files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
    return any(data in path.read_bytes() for path in files if path.exists())


def test_a_callback_token_secret_is_never_written_at_rest(db: Path) -> None:
    issued.clear()
    waku.register_workflow("at-rest", lambda amount: waku.step(wait_for_approval, amount))
    with SQLiteStore(db) as store:
        waku.run_callback_workflow("at-rest", 45, workflow_id="r", store=store)
        (token,) = issued
        secret = token.rsplit(".", 1)[1]
        assert on_disk(waku._stores.base.token_hash(secret).encode(), db)  # the scan sees rows
        assert not on_disk(secret.encode(), db)
    assert not on_disk(secret.encode(), db)
    with SQLiteStore(db) as store:
        done = waku.run_workflow_from_callback(token, "approved", store=store)
        assert done.result == "approved"
        assert not on_disk(secret.encode(), db)
    assert not on_disk(secret.encode(), db)


# -- leases -----------------------------------------------------------------------


def test_dead_owner_on_this_host_is_taken_over_at_once(store: SQLiteStore) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = f"{HOST}:{child.stdout.strip()}:ccc"
    assert store.acquire_lease("wf", "1", dead, 3600)
    assert store.acquire_lease("wf", "1", f"{HOST}:{os.getpid()}:ddd", 60)


def test_lease_wait_waits_for_the_holder(db: Path) -> None:
    with SQLiteStore(db) as holder, SQLiteStore(db, lease_wait=30) as waiter:
        assert holder.acquire_lease("wf", "1", "other-host:1:a", 60)
        released = threading.Timer(0.05, holder.release_lease, ("wf", "1", "other-host:1:a"))
        released.start()
        assert waiter.acquire_lease("wf", "1", "other-host:2:b", 60)
        released.join()


# -- load -------------------------------------------------------------------------


def test_eight_threads_of_250_five_step_workflows_lose_nothing(db: Path) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def body(seed: int) -> Any:
        return waku.pipe(seed, *[waku.step(add_one)] * 5)

    def worker(t: int) -> None:
        barrier.wait()
        try:
            for i in range(250):
                result = waku.run_workflow(
                    "load", partial(body, i), workflow_id=f"{t}-{i}", store=shared
                )
                assert result.result == i + 5
        except BaseException as error:
            errors.append(error)

    with SQLiteStore(db, durability="normal") as shared:
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert rows(db, "SELECT count(*), sum(status = 'succeeded') FROM steps") == [(10_000, 10_000)]
    assert rows(db, "SELECT count(*) FROM workflows WHERE status = 'succeeded'") == [(2000,)]


def test_example_runs_and_replays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waku._config, "_default", None)
    try:
        from examples import sqlite_store

        result = sqlite_store.main(str(tmp_path / "example.db"))
        assert result.result == {"qty": 3, "price": 15, "charged": 15}
    finally:
        store = waku._config._default
        if store is not None:
            store.close()  # type: ignore[attr-defined]


def test_deferred_writes_are_flushed_when_the_process_exits(db: Path) -> None:
    code = (
        "import sys, waku; s = waku.SQLiteStore(sys.argv[1]); "
        "s.set_workflow_status('wf', '1', 'waiting')"
    )
    subprocess.run([sys.executable, "-c", code, str(db)], check=True)
    assert rows(db, "SELECT status FROM workflows") == [("waiting",)]
