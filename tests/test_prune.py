"""``waku.prune``: finished workflows go, with all they own; nothing else ever does."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest

import waku

from .stores.kinds import INSPECT, store_fixture

store = store_fixture(INSPECT)
links: list[str] = []
NOW = dt.timedelta(0)


def add_one(x: int) -> int:
    return x + 1


def refuse(x: int) -> int:
    raise ValueError(f"refused {x}")


def ask(payload: int) -> None:
    links.append(waku.create_callback_token())


def approval(payload: int) -> Any:
    return waku.pipe(payload, waku.step(ask), waku.step(lambda answer: f"approved {answer}"))


@pytest.fixture(autouse=True)
def _registered() -> None:
    links.clear()
    waku.register_workflow("approval", approval)


def finish(name: str, wid: str, fails: bool = False) -> None:
    waku.run_workflow(name, lambda: waku.step(refuse if fails else add_one, 1), workflow_id=wid)


def ids(infos: list[waku.WorkflowInfo]) -> list[str]:
    return sorted(info.workflow_id for info in infos)


class CountingStore:
    """Passes every call to ``inner``, noting the size of each deleted batch."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.batches: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def delete_workflows(self, **arguments: Any) -> list[tuple[str, str]]:
        removed: list[tuple[str, str]] = self.inner.delete_workflows(**arguments)
        self.batches.append(len(removed))
        return removed


def test_prune_removes_only_finished_workflows_while_others_run_and_wait(store: Any) -> None:
    finish("done", "ok")
    finish("done", "bad", fails=True)
    store.set_workflow_status("done", "cancelled", "cancelled")
    store.set_workflow_status("later", "queued", "queued")
    store.set_workflow_status("later", "sleeping", "sleeping", wake_at=time.time() + 3600)
    waku.run_callback_workflow("approval", 7, workflow_id="waiting")
    inside, release = threading.Event(), threading.Event()

    def held(x: int) -> int:
        inside.set()
        release.wait(10)
        return x * 10

    results: list[Any] = []
    runner = threading.Thread(
        target=lambda: results.append(
            waku.run_workflow(
                "busy", lambda: waku.pipe(1, waku.step(add_one), waku.step(held)), workflow_id="b"
            ).result
        )
    )
    runner.start()
    try:
        assert inside.wait(10)
        removed = waku.prune(older_than=NOW)
    finally:
        release.set()
        runner.join(10)
    assert sorted(removed) == [("done", "bad"), ("done", "cancelled"), ("done", "ok")]
    assert waku.get_workflow("done", "ok") is None
    assert ids(waku.list_workflows()) == ["b", "queued", "sleeping", "waiting"]
    assert results == [20]  # the running workflow finished with its first step intact
    busy = waku.get_workflow("busy", "b")
    assert busy is not None and [s.status for s in busy.steps] == ["succeeded", "succeeded"]
    assert waku.run_workflow_from_callback(links[0], "yes").result == "approved yes"


def test_prune_keeps_workflows_finished_after_the_cutoff(store: Any) -> None:
    finish("wf", "old")
    time.sleep(0.01)
    cutoff = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.01)
    finish("wf", "new")
    assert waku.prune(older_than=dt.timedelta(hours=1)) == []
    assert waku.prune(older_than=cutoff) == [("wf", "old")]
    assert ids(waku.list_workflows()) == ["new"]
    later = dt.datetime.now(dt.timezone(dt.timedelta(hours=-5))) + dt.timedelta(seconds=1)
    assert waku.prune(older_than=later) == [("wf", "new")]  # any aware timezone


def test_prune_takes_only_the_statuses_asked_for(store: Any) -> None:
    finish("wf", "ok")
    finish("wf", "bad", fails=True)
    store.set_workflow_status("wf", "cancelled", "cancelled")
    assert waku.prune(older_than=NOW, status="failed") == [("wf", "bad")]
    assert waku.prune(older_than=NOW, status=waku.Status.CANCELLED) == [("wf", "cancelled")]
    assert waku.prune(older_than=NOW, status=["succeeded", "failed"]) == [("wf", "ok")]
    assert waku.list_workflows() == []


def test_prune_returns_what_it_removed_oldest_first_in_batches(store: Any) -> None:
    for n in range(10):
        finish("wf", f"w{n}")
    counting = CountingStore(store)
    removed = waku.prune(older_than=NOW, batch=3, store=counting)
    assert removed == [("wf", f"w{n}") for n in range(10)]
    assert counting.batches == [3, 3, 3, 1]
    assert waku.prune(older_than=NOW, store=counting) == []


def test_a_pruned_workflow_is_forgotten(store: Any) -> None:
    calls: list[int] = []

    def counted(x: int) -> int:
        calls.append(x)
        return x

    waku.run_workflow("wf", lambda: waku.step(counted, 1), workflow_id="again")
    waku.prune(older_than=NOW)
    assert dict(store.get_steps("wf", "again")) == {}
    waku.run_workflow("wf", lambda: waku.step(counted, 1), workflow_id="again")
    assert calls == [1, 1]  # its id runs afresh


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"older_than": dt.datetime(2020, 1, 1)}, ValueError, "aware datetime"),
        ({"older_than": dt.timedelta(seconds=-1)}, ValueError, "must not be negative"),
        ({"older_than": 3600}, TypeError, "timedelta or an aware datetime"),
        ({"older_than": NOW, "status": "running"}, ValueError, "finished workflows only"),
        ({"older_than": NOW, "status": ["failed", "waiting"]}, ValueError, "not 'waiting'"),
        ({"older_than": NOW, "status": []}, ValueError, "finished workflows only"),
        ({"older_than": NOW, "status": "bogus"}, ValueError, "finished workflows only"),
        ({"older_than": NOW, "batch": 0}, ValueError, "batch must be"),
    ],
)
def test_bad_prune_arguments_are_refused_and_delete_nothing(
    store: Any, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    finish("wf", "ok")
    with pytest.raises(error, match=message):
        waku.prune(**arguments)
    assert ids(waku.list_workflows()) == ["ok"]


def test_prune_while_another_thread_runs_workflows(store: Any) -> None:
    done: list[str] = []
    errors: list[BaseException] = []

    def body() -> Any:
        return waku.pipe(1, waku.step(add_one), waku.step(add_one), waku.step(add_one))

    def writer() -> None:
        try:
            for n in range(150):
                result = waku.run_workflow("load", body, workflow_id=f"w{n:03d}")
                assert result.result == 4, result
                done.append(result.workflow_id)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    pruned: list[tuple[str, str]] = []
    while thread.is_alive():
        pruned += waku.prune(older_than=NOW, batch=7)
    thread.join()
    pruned += waku.prune(older_than=NOW, batch=7)
    assert errors == []
    assert len(done) == 150
    assert sorted(pruned) == sorted(set(pruned)) == [("load", w) for w in sorted(done)]
    assert waku.list_workflows() == []
