"""PostgresStore under failure, against a real server: lost connections, other processes, load.

Backends are killed with ``pg_terminate_backend`` between calls, during a
read and during a step's commit; workflows crash in one process and resume in
another. Without a server these tests skip; under ``CI=true`` they fail.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import waku
from waku import StoreError

from ..postgres_support import (
    ThrowawayPostgresStore,
    admin,
    drop_schema,
    new_schema,
    require_server,
    rows,
)

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def dsn() -> str:
    return require_server()


@pytest.fixture
def schema(dsn: str) -> Iterator[str]:
    name = new_schema()
    yield name
    drop_schema(name)


def add_one(x: int) -> int:
    return x + 1


# -- lost connections -------------------------------------------------------------


def named_store(dsn: str) -> tuple[ThrowawayPostgresStore, str]:
    """A store whose connections carry an application name of their own."""
    name = f"waku-test-{uuid.uuid4().hex[:8]}"
    return ThrowawayPostgresStore(f"{dsn}?application_name={name}", min_size=2), name


def terminate(application: str, *, where: str = "true") -> int:
    """Terminate the store's backends (those matching ``where``); wait until they are gone."""
    pids = [
        pid
        for (pid,) in rows(
            f"SELECT pid FROM pg_stat_activity WHERE application_name = %s AND {where}",
            application,
        )
    ]
    for pid in pids:
        rows("SELECT pg_terminate_backend(%s)", pid)
    deadline = time.monotonic() + 10
    while rows("SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", pids):
        assert time.monotonic() < deadline, "the backends did not end"
        time.sleep(0.01)
    return len(pids)


def test_backends_killed_between_calls_are_replaced_unnoticed(dsn: str) -> None:
    store, application = named_store(dsn)
    with store:
        store.store_result("wf", "1", 1, b"R json m:f\n1")
        for step in (2, 3):
            assert terminate(application) >= 1
            store.store_result("wf", "1", step, b"R json m:f\n1")  # a write on a fresh connection
        assert terminate(application) >= 1
        assert set(store.get_steps("wf", "1")) == {1, 2, 3}


def test_a_backend_killed_during_a_read_is_retried_on_a_new_connection(dsn: str) -> None:
    store, application = named_store(dsn)
    with store, admin() as locker:
        store.store_result("wf", "1", 1, b"R json m:f\n1")
        locker.execute("BEGIN")
        locker.execute(f'LOCK TABLE "{store.schema}".steps IN ACCESS EXCLUSIVE MODE')
        read: list[Any] = []
        reader = threading.Thread(target=lambda: read.append(store.get_steps("wf", "1")))
        reader.start()
        wait_for_lock_wait(application)
        terminate(application, where="wait_event_type = 'Lock'")
        locker.execute("ROLLBACK")
        reader.join(30)
        assert read == [{1: b"R json m:f\n1"}]


def wait_for_lock_wait(application: str) -> None:
    deadline = time.monotonic() + 10
    query = (
        "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'"
    )
    while not rows(query, application):
        assert time.monotonic() < deadline, "the store's statement never waited for the lock"
        time.sleep(0.01)


def test_a_backend_killed_during_a_steps_commit_is_a_store_error_then_resumes(
    dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    store, application = named_store(dsn)
    runs: list[str] = []

    def first(x: int) -> int:
        runs.append("first")
        return x + 1

    def second(x: int) -> int:
        runs.append("second")
        return x * 10

    def body() -> Any:
        return waku.pipe(1, waku.step(first), waku.step(second))

    with store, admin() as locker:
        locker.execute("BEGIN")  # holds step 2's row, so its write waits in the server
        locker.execute(
            f'INSERT INTO "{store.schema}".steps (workflow_name, workflow_id, step, status) '
            "VALUES ('kill', 'k', 2, 'running')"
        )
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                waku.run_workflow("kill", body, workflow_id="k", store=store)
            except BaseException as error:
                outcome.append(error)

        runner = threading.Thread(target=run)
        runner.start()
        wait_for_lock_wait(application)
        terminate(application, where="wait_event_type = 'Lock'")
        runner.join(30)
        locker.execute("ROLLBACK")
        (error,) = outcome
        assert isinstance(error, StoreError)
        assert "lost while writing step 2 of workflow 'kill' id 'k'" in str(error)
        assert "may or may not have been stored. Run the workflow again" in str(error)
        assert "Lost the connection to PostgreSQL" in caplog.text
        result = waku.run_workflow("kill", body, workflow_id="k", store=store)
        assert (result.result, runs) == (20, ["first", "second", "second"])


# -- across processes -------------------------------------------------------------


def command(url: str, phase: str) -> list[str]:
    return [sys.executable, "-m", "tests.postgres_child", url, phase]


def run_child(url: str, phase: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(url, phase), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_workflow_resumed_by_another_process_replays_its_stored_steps(
    dsn: str, schema: str
) -> None:
    url = f"{dsn}?schema={schema}"
    crashed = run_child(url, "crash")
    assert crashed.returncode == 3, crashed.stderr
    stored = rows(f'SELECT step FROM "{schema}".steps WHERE output IS NOT NULL ORDER BY 1')
    assert stored == [(1,), (2,)]
    resumed = run_child(url, "resume")  # steps 1 and 2 refuse to run again
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == '{"result": "charged 70 for order 7", "latest_step": 3}'


def test_a_held_workflow_is_locked_to_others_until_its_process_dies(dsn: str, schema: str) -> None:
    url = f"{dsn}?schema={schema}"
    with subprocess.Popen(
        command(url, "hold"), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
            locked = run_child(url, "resume")
            assert locked.returncode != 0 and "WorkflowLockedError" in locked.stderr
        finally:
            holder.send_signal(signal.SIGKILL)
            holder.communicate(timeout=30)
    resumed = run_child(url, "resume")  # the dead holder's lease is taken over at once
    assert resumed.returncode == 0, resumed.stderr
    assert '"latest_step": 3' in resumed.stdout


# -- load -------------------------------------------------------------------------


def test_eight_threads_of_five_step_workflows_lose_nothing(dsn: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def body(seed: int) -> Any:
        return waku.pipe(seed, *[waku.step(add_one)] * 5)

    def worker(store: waku.PostgresStore, t: int) -> None:
        barrier.wait()
        try:
            for i in range(40):
                result = waku.run_workflow(
                    "load", partial(body, i), workflow_id=f"{t}-{i}", store=store
                )
                assert result.result == i + 5
        except BaseException as error:
            errors.append(error)

    with ThrowawayPostgresStore(dsn, max_size=8) as shared:
        threads = [threading.Thread(target=worker, args=(shared, t)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        s = f'"{shared.schema}"'
        assert rows(
            f"SELECT count(*), count(*) FILTER (WHERE status = 'succeeded') FROM {s}.steps"
        ) == [(1600, 1600)]
        assert rows(f"SELECT count(*) FROM {s}.workflows WHERE status = 'succeeded'") == [(320,)]
