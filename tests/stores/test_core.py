"""The six StepStore methods, over every store in the table.

Races are forced: threads meet at a ``threading.Barrier`` before each spend,
and the interpreter is made to switch threads as often as it can.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest

import waku
from waku import InvalidTokenError, StepStore, TokenAlreadyUsedError

from .kinds import store_fixture

store = store_fixture()


def test_results_are_stored_replaced_and_read_in_one_call(store: StepStore) -> None:
    assert dict(store.get_steps("wf", "a")) == {}
    assert store.get_result("wf", "a", 1) is None
    store.store_start("wf", "a", 1, b"S json m:f\ninput")
    assert store.get_result("wf", "a", 1) is None  # a start is not a result
    assert dict(store.get_steps("wf", "a")) == {}
    store.store_result("wf", "a", 1, b"E json m:f\n{}")
    store.store_result("wf", "a", 1, b"R json m:f\n1")
    store.store_result("wf", "a", 2, b"R json m:g\n2")
    store.store_result("wf", "b", 1, b"R json m:f\nother")
    store.store_result("other", "a", 1, b"R json m:f\nother")
    assert dict(store.get_steps("wf", "a")) == {1: b"R json m:f\n1", 2: b"R json m:g\n2"}
    assert store.get_result("wf", "a", 2) == b"R json m:g\n2"
    assert store.get_result("wf", "a", 3) is None


def test_a_start_after_a_result_leaves_the_result_alone(store: StepStore) -> None:
    store.store_result("wf", "a", 1, b"E json m:f\n{}")
    store.store_start("wf", "a", 1, b"S json m:f\nretry")
    assert store.get_result("wf", "a", 1) == b"E json m:f\n{}"
    assert dict(store.get_steps("wf", "a")) == {1: b"E json m:f\n{}"}


def test_step_zero_and_negative_steps_are_ordinary_keys(store: StepStore) -> None:
    store.store_result("wf", "z", 0, b"I json -\n1")
    store.store_result("wf", "z", -3, b"W json -\n{}")
    assert dict(store.get_steps("wf", "z")) == {0: b"I json -\n1", -3: b"W json -\n{}"}
    assert store.get_result("wf", "z", 3) is None


def test_tokens_are_unguessable_distinct_and_spent_once(store: StepStore) -> None:
    first = store.store_result_token("wf", "t", 2)
    second = store.store_result_token("wf", "t", 2)
    assert first != second and len(first) >= 22  # >= 128 bits in URL-safe base64
    assert store.store_token_result(first, b"C json -\n1") == ("wf", "t", 2)
    assert store.get_result("wf", "t", 2) == b"C json -\n1"
    with pytest.raises(TokenAlreadyUsedError):
        store.store_token_result(first, b"C json -\n2")
    assert store.get_result("wf", "t", 2) == b"C json -\n1"
    assert store.store_token_result(second, b"C json -\n3") == ("wf", "t", 2)  # still valid
    assert store.get_result("wf", "t", 2) == b"C json -\n3"


@pytest.mark.parametrize("bogus", ["never-issued", "", "x" * 43])
def test_an_unknown_token_is_refused_and_changes_nothing(store: StepStore, bogus: str) -> None:
    store.store_result_token("wf", "t", 1)
    with pytest.raises(InvalidTokenError) as refused:
        store.store_token_result(bogus, b"C json -\n1")
    assert not isinstance(refused.value, TokenAlreadyUsedError)
    assert dict(store.get_steps("wf", "t")) == {}


def test_many_tokens_raced_by_many_threads_are_each_spent_once(store: StepStore) -> None:
    threads, rounds = 8, 300
    tokens = [store.store_result_token("wf", "race", step) for step in range(1, rounds + 1)]
    barrier = threading.Barrier(threads)
    winners: list[list[int]] = [[] for _ in range(rounds)]
    errors: list[BaseException] = []

    def spend(thread: int) -> None:
        try:
            for index, token in enumerate(tokens):
                barrier.wait()
                try:
                    store.store_token_result(token, f"C json -\n{thread}".encode())
                except TokenAlreadyUsedError:
                    continue
                winners[index].append(thread)  # list.append is atomic
        except BaseException as error:
            errors.append(error)
            barrier.abort()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        running = [threading.Thread(target=spend, args=(n,)) for n in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    doubles = [index for index, won in enumerate(winners) if len(won) != 1]
    assert doubles == [], f"{len(doubles)} of {rounds} tokens were spent more or less than once"
    steps = store.get_steps("wf", "race")
    assert [steps[i + 1] for i in range(rounds)] == [
        f"C json -\n{won[0]}".encode() for won in winners
    ]


def test_a_workflow_runs_resumes_and_replays(store: StepStore) -> None:
    calls: list[str] = []

    def add_one(x: int) -> int:
        calls.append("a")
        return x + 1

    def times_ten(x: int) -> int:
        calls.append("b")
        return x * 10

    def work() -> Any:
        body = lambda: waku.pipe(1, waku.step(add_one), waku.step(times_ten))  # noqa: E731
        return waku.run_workflow("conf", body, workflow_id="c1", store=store).result

    assert work() == 20
    assert work() == 20
    assert calls == ["a", "b"]
