"""Every store keeps the StepStore contract; the shared suite never branches on store type."""

from __future__ import annotations

import threading

import pytest

import waku
from waku import StepStore


def test_results_are_stored_replaced_and_read_in_one_call(store: StepStore) -> None:
    assert store.get_steps("wf", "a") == {}
    assert store.get_result("wf", "a", 1) is None
    store.store_start("wf", "a", 1, b"S json m:f\ninput")
    assert store.get_result("wf", "a", 1) is None  # a start is not a result
    store.store_result("wf", "a", 1, b"E json m:f\n{}")
    store.store_result("wf", "a", 1, b"R json m:f\n1")
    store.store_result("wf", "a", 2, b"R json m:g\n2")
    store.store_result("wf", "b", 1, b"R json m:f\nother")
    assert dict(store.get_steps("wf", "a")) == {1: b"R json m:f\n1", 2: b"R json m:g\n2"}
    assert store.get_result("wf", "a", 2) == b"R json m:g\n2"


def test_step_zero_and_negative_steps_are_ordinary_keys(store: StepStore) -> None:
    store.store_result("wf", "z", 0, b"I json -\n1")
    store.store_result("wf", "z", -3, b"W json -\n{}")
    assert dict(store.get_steps("wf", "z")) == {0: b"I json -\n1", -3: b"W json -\n{}"}


def test_tokens_are_unguessable_distinct_and_spent_once(store: StepStore) -> None:
    first = store.store_result_token("wf", "t", 2)
    second = store.store_result_token("wf", "t", 2)
    assert first != second and len(first) >= 22  # >= 128 bits in URL-safe base64
    assert store.store_token_result(first, b"C json -\n1") == ("wf", "t", 2)
    assert store.get_result("wf", "t", 2) == b"C json -\n1"
    with pytest.raises(waku.TokenAlreadyUsedError):
        store.store_token_result(first, b"C json -\n2")
    with pytest.raises(waku.InvalidTokenError):
        store.store_token_result("never-issued", b"C json -\n3")
    assert store.get_result("wf", "t", 2) == b"C json -\n1"


def test_racing_spenders_of_one_token_exactly_one_wins(store: StepStore) -> None:
    token = store.store_result_token("wf", "race", 1)
    barrier = threading.Barrier(8)
    wins: list[bytes] = []
    losses: list[Exception] = []

    def spend(i: int) -> None:
        payload = f"C json -\n{i}".encode()
        barrier.wait()
        try:
            store.store_token_result(token, payload)
            wins.append(payload)
        except waku.TokenAlreadyUsedError as error:
            losses.append(error)

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(losses) == 7
    assert store.get_result("wf", "race", 1) == wins[0]


def test_a_workflow_runs_resumes_and_replays_on_every_store(store: StepStore) -> None:
    calls: list[str] = []

    def add_one(x: int) -> int:
        calls.append("a")
        return x + 1

    def times_ten(x: int) -> int:
        calls.append("b")
        return x * 10

    def work() -> waku.WorkflowResult:
        body = lambda: waku.pipe(1, waku.step(add_one), waku.step(times_ten))  # noqa: E731
        return waku.run_workflow("conf", body, workflow_id="c1", store=store)

    assert work().result == 20
    assert work().result == 20
    assert calls == ["a", "b"]


def test_a_leased_workflow_cannot_run_twice_at_once(store: StepStore) -> None:
    if not isinstance(store, waku.LeaseStore):
        pytest.skip("the store has no leases")
    inside, release = threading.Event(), threading.Event()

    def hold(x: int) -> int:
        inside.set()
        release.wait(10)
        return x

    first = threading.Thread(
        target=waku.run_workflow,
        args=("leased", lambda: waku.step(hold, 1)),
        kwargs={"workflow_id": "L"},
    )
    first.start()
    assert inside.wait(10)
    try:
        with pytest.raises(waku.WorkflowLockedError, match="'leased' id 'L'"):
            waku.run_workflow("leased", lambda: waku.step(hold, 1), workflow_id="L")
    finally:
        release.set()
        first.join()
    assert waku.run_workflow("leased", lambda: waku.step(hold, 2), workflow_id="L").result == 1


def test_status_records_follow_the_run(store: StepStore) -> None:
    if not isinstance(store, waku.WorkflowStatusStore):
        pytest.skip("the store keeps no workflow status")
    waku.run_workflow("status", lambda: waku.step(lambda x: x, 1), workflow_id="ok")
    waku.run_workflow("status", lambda: waku.step(lambda x: 1 / 0, 1), workflow_id="bad")
    assert store.get_workflow_status("status", "ok") == "succeeded"
    assert store.get_workflow_status("status", "bad") == "failed"
    assert store.get_workflow_status("status", "unknown") is None
