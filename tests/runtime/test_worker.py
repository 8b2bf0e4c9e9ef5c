"""Queues, the Worker and recovery: in one process, and across processes and kills."""

from __future__ import annotations

import collections
import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import waku

from ..stores.kinds import QUEUE, store_fixture
from . import flows, worker_child

queue_store = store_fixture(QUEUE)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh() -> None:
    flows.calls.clear()
    flows.gate.clear()


def test_enqueued_workflows_are_run_by_a_worker(queue_store: Any) -> None:
    handles = [flows.checkout.enqueue(i, workflow_id=f"q{i}") for i in range(20)]
    assert handles[0].status() == "queued"
    with waku.Worker(queue_store, concurrency=4, poll_interval=0.05):
        results = [handle.result(timeout=30) for handle in handles]
    assert results == [f"charged {i * 10} EUR" for i in range(20)]
    assert sorted(flows.calls) == sorted(
        [f"fetch {i}" for i in range(20)] + [f"charge {i}" for i in range(20)]
    )


def test_enqueue_is_idempotent_on_the_id(queue_store: Any) -> None:
    first = flows.checkout.enqueue(1, workflow_id="once")
    again = waku.enqueue(flows.checkout, 2, workflow_id="once")
    with waku.Worker(queue_store, poll_interval=0.05):
        assert first.result(timeout=30) == again.result(timeout=30) == "charged 10 EUR"
    assert flows.calls == ["fetch 1", "charge 1"]


def test_a_queue_limit_holds_across_workers(queue_store: Any) -> None:
    running, most = [0], [0]
    lock = threading.Lock()

    @waku.step
    def busy(i: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return i

    @waku.workflow(name="limited", queue="narrow")
    def limited(i: int) -> int:
        return busy(i)

    handles = [limited.enqueue(i, workflow_id=f"l{i}") for i in range(12)]
    workers = [
        waku.Worker(
            queue_store, queues=["narrow"], concurrency=4, limits={"narrow": 2}, poll_interval=0.02
        )
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    try:
        assert [h.result(timeout=30) for h in handles] == list(range(12))
    finally:
        for worker in workers:
            worker.stop()
    assert most[0] == 2


def test_stopping_a_worker_lets_the_step_finish_and_another_worker_carry_on(
    queue_store: Any,
) -> None:
    handle = flows.gated.enqueue(1, workflow_id="handover")
    first = waku.Worker(queue_store, poll_interval=0.02).start()
    for _ in range(1000):
        if flows.calls:
            break
        time.sleep(0.01)
    stopper = threading.Thread(target=first.stop)
    stopper.start()
    time.sleep(0.1)
    flows.gate.set()  # the step under way finishes; the next one is not started
    stopper.join(10)
    assert flows.calls == ["gate 1"]
    with waku.Worker(queue_store, poll_interval=0.02):
        assert handle.result(timeout=30) == 3
    assert flows.calls == ["gate 1", "plus 1", "plus 2"]  # the gate step was not run again


def test_recover_reports_names_it_does_not_know(queue_store: Any) -> None:
    queue_store.enqueue_workflow("nobody-knows", "u1", "elsewhere", b"I json -\n1")
    owner = "otherhost:1:dead"
    assert queue_store.claim_workflows(["elsewhere"], owner, 0.01, 1) == [("nobody-knows", "u1")]
    time.sleep(0.05)  # its lease lapses: an orphan now
    assert waku.recover(queue_store) == []  # enqueued: it belongs to its queue's workers
    report = waku.recover(queue_store, queues=["elsewhere"])
    assert [(r.workflow_name, r.workflow_id, r.status) for r in report] == [
        ("nobody-knows", "u1", "unknown")
    ]
    assert queue_store.get_workflow_status("nobody-knows", "u1") == "running"  # never dropped


def test_a_store_without_queues_says_so() -> None:
    from ..readme_store import DictStore

    with pytest.raises(waku.StoreError, match="QueueStore"):
        waku.Worker(DictStore())


# -- across processes ------------------------------------------------------------


def child(mode: str, url: str, log: Path, *extra: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.worker_child", mode, url, str(log), *extra],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE if mode == "recover" else subprocess.DEVNULL,
        text=True,
    )


def executions(log: Path) -> collections.Counter[str]:
    return (
        collections.Counter(log.read_text().splitlines()) if log.exists() else collections.Counter()
    )


def last_begun(lines: list[str]) -> set[str]:
    """Each workflow's last step that began (``name/id/step``), from the log's order."""
    last: dict[str, str] = {}
    for line in lines:
        last[line.rsplit("/", 1)[0]] = line
    return set(last.values())


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path.resolve() / 'work.db'}"


def test_four_worker_processes_complete_each_workflow_once(tmp_path: Path) -> None:
    url, log = sqlite_url(tmp_path), tmp_path / "effects.log"
    assert child("enqueue", url, log, "250").wait(60) == 0
    workers = [child("work", url, log) for _ in range(4)]
    store = waku.SQLiteStore(tmp_path / "work.db")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if all(
                store.get_workflow_status("three-steps", f"w{i}") == "succeeded" for i in range(250)
            ):
                break
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(60) for worker in workers]
        store.close()
    assert codes == [0, 0, 0, 0]
    counts = executions(log)
    assert len(counts) == 750 and set(counts.values()) == {1}


def test_a_killed_process_s_workflows_are_recovered_without_rerunning_done_steps(
    tmp_path: Path,
) -> None:
    url, log = sqlite_url(tmp_path), tmp_path / "effects.log"
    started = child("start", url, log, "20")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        sum(executions(log).values()) < 25 or "with-background/bg/1" not in executions(log)
    ):
        time.sleep(0.01)
    started.kill()  # SIGKILL: mid-work, the background step in flight
    started.wait(10)
    before = executions(log)
    log_before = log.read_text().splitlines()
    recovered = child("recover", url, log)
    out, _ = recovered.communicate(timeout=120)
    assert recovered.returncode == 0
    report = {tuple(item[:2]): item[2] for item in json.loads(out)}
    unfinished = {
        ("three-steps", f"w{i}") for i in range(20) if f"three-steps/w{i}/3" not in before
    }
    resumed = {key for key, status in report.items() if status == "resumed"}
    assert resumed >= unfinished, report
    store = waku.SQLiteStore(tmp_path / "work.db")
    try:
        for i in range(20):
            assert store.get_workflow_status("three-steps", f"w{i}") == "succeeded"
        assert store.get_workflow_status("with-background", "bg") == "succeeded"
    finally:
        store.close()
    after = executions(log)
    again = {line for line in after if after[line] > 1}
    # Only a step in flight at the kill may run again: each workflow's last step begun.
    in_flight = last_begun(log_before)
    assert again <= in_flight
    assert all(after[line] == 2 for line in again)


def test_sigkill_of_one_worker_leaves_its_work_to_the_others(tmp_path: Path) -> None:
    url, log = sqlite_url(tmp_path), tmp_path / "effects.log"
    assert child("enqueue", url, log, "60").wait(60) == 0
    doomed = child("work", url, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sum(executions(log).values()) < 20:
        time.sleep(0.005)
    doomed.kill()  # SIGKILL mid-run: its leases are left behind
    doomed.wait(10)
    log_before = log.read_text().splitlines()
    survivors = [child("work", url, log) for _ in range(2)]
    store = waku.SQLiteStore(tmp_path / "work.db")
    try:
        deadline = time.monotonic() + 120
        names = [("three-steps", f"w{i}") for i in range(60)]
        while time.monotonic() < deadline:
            if all(store.get_workflow_status(*key) == "succeeded" for key in names):
                break
            time.sleep(0.1)
        assert all(store.get_workflow_status(*key) == "succeeded" for key in names)
    finally:
        for worker in survivors:
            worker.send_signal(signal.SIGTERM)
        assert [worker.wait(60) for worker in survivors] == [0, 0]
        store.close()
    after = executions(log)
    assert len(after) == 180  # every step of every workflow ran
    again = {line for line in after if after[line] > 1}
    assert again <= last_begun(log_before)  # only steps in flight at the kill ran twice


def test_a_cancel_reaches_a_workflow_running_in_another_process(tmp_path: Path) -> None:
    assert worker_child.LOG  # the module is imported: "slow-steps" is registered here too
    url, log = sqlite_url(tmp_path), tmp_path / "effects.log"
    store = waku.SQLiteStore(tmp_path / "work.db", lease_ttl=0.6)  # renewed every 0.2 s
    try:
        waku.enqueue("slow-steps", 20, workflow_id="slow", store=store)
        worker = child("work", url, log, WAKU_TEST_LEASE_TTL="0.6")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not executions(log):
            time.sleep(0.01)
        waku.cancel("slow-steps", "slow", store=store)
        while time.monotonic() < deadline and executions(log):
            seen = len(executions(log))
            time.sleep(1.0)
            if len(executions(log)) == seen:
                break  # no step started for a second: the run has stopped
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0
        assert store.get_workflow_status("slow-steps", "slow") == "cancelled"
        assert len(executions(log)) < 20  # it stopped long before its last step
        with pytest.raises(waku.WorkflowCancelledError):
            waku.run_callback_workflow("slow-steps", workflow_id="slow", store=store)
    finally:
        store.close()


def test_prune_takes_only_finished_workflows_while_a_worker_runs(queue_store: Any) -> None:
    handles = [flows.checkout.enqueue(i, workflow_id=f"p{i}") for i in range(30)]
    removed: list[tuple[str, str]] = []
    with waku.Worker(queue_store, concurrency=4, poll_interval=0.02):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(removed) < 30:
            for name, wid in waku.prune(older_than=datetime.timedelta(0), store=queue_store):
                removed.append((name, wid))
                assert flows.calls.count(f"charge {wid[1:]}") == 1  # it had finished
            time.sleep(0.01)
    assert sorted(removed) == sorted((flows.checkout.name, h.workflow_id) for h in handles)
    assert waku.list_workflows(store=queue_store) == []
