"""Closing a SQLiteStore while other threads use it: wait for them, then refuse, never crash."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from waku import SQLiteStore, StoreError

ROOT = Path(__file__).resolve().parents[2]


def test_close_racing_writers_and_readers_never_crashes_or_loses_a_write(
    tmp_path: Path,
) -> None:
    # A child process: closing a connection in use kills the interpreter (SIGSEGV).
    child = subprocess.run(
        [sys.executable, "-m", "tests.stores.close_race", str(tmp_path), "150", "20261128"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert (child.returncode, child.stdout.strip()) == (0, "ok"), child.stdout + child.stderr


CALLS: dict[str, Callable[[SQLiteStore, str], object]] = {
    "store_start": lambda s, _: s.store_start("wf", "1", 1, b"S json m:f\n1"),
    "store_result": lambda s, _: s.store_result("wf", "1", 1, b"R json m:f\n1"),
    "store_result_token": lambda s, _: s.store_result_token("wf", "1", 1),
    "store_token_result": lambda s, token: s.store_token_result(token, b"C json -\n1"),
    "get_steps": lambda s, _: s.get_steps("wf", "1"),
    "get_result": lambda s, _: s.get_result("wf", "1", 1),
    "set_workflow_status": lambda s, _: s.set_workflow_status("wf", "1", "running"),
    "get_workflow_status": lambda s, _: s.get_workflow_status("wf", "1"),
    "acquire_lease": lambda s, _: s.acquire_lease("wf", "1", "me", 10),
    "release_lease": lambda s, _: s.release_lease("wf", "1", "me"),
    "flush": lambda s, _: s.flush(),
}


@pytest.mark.parametrize("method", sorted(CALLS))
def test_a_closed_store_refuses_every_call_naming_the_path(tmp_path: Path, method: str) -> None:
    db = tmp_path / "waku.db"
    store = SQLiteStore(db)
    token = store.store_result_token("wf", "1", 1)
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StoreError, match=rf"store at {db} is closed"):
        CALLS[method](store, token)
    with SQLiteStore(db) as again:  # the refused call wrote nothing
        assert again.get_steps("wf", "1") == {}
        assert again.get_workflow_status("wf", "1") is None


def test_close_ends_a_lease_wait_instead_of_waiting_it_out(tmp_path: Path) -> None:
    db = tmp_path / "waku.db"
    outcome: list[BaseException | bool] = []
    with SQLiteStore(db) as holder:
        assert holder.acquire_lease("wf", "1", "other-host:1:a", 600)
        waiter = SQLiteStore(db, lease_wait=60)

        def wait_for_lease() -> None:
            try:
                outcome.append(waiter.acquire_lease("wf", "1", "other-host:2:b", 60))
            except StoreError as error:
                outcome.append(error)

        thread = threading.Thread(target=wait_for_lease)
        thread.start()
        time.sleep(0.2)  # usually inside the wait by now; either way the outcome is the same
        began = time.monotonic()
        waiter.close()
        thread.join(10)
        assert time.monotonic() - began < 5
    assert len(outcome) == 1 and isinstance(outcome[0], StoreError)
    assert "is closed" in str(outcome[0])


def test_close_from_several_threads_at_once_closes_once(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "waku.db")
    store.set_workflow_status("wf", "1", "sleeping", wake_at=5.0)  # deferred until close
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def close() -> None:
        barrier.wait()
        try:
            store.close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=close) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with SQLiteStore(tmp_path / "waku.db") as again:
        assert again.get_workflow_status("wf", "1") == "sleeping"
