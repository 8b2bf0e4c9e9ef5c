"""``LeaseStore`` over every store in the table that has it."""

from __future__ import annotations

import sys
import threading

import pytest

import waku
from waku import LeaseStore

from .kinds import LEASES, store_fixture

store = store_fixture(LEASES)

# Owners on another host: never taken for dead, so only the TTL frees their leases.
A, B = "other-host:1:a", "other-host:2:b"


def test_a_lease_is_taken_renewed_and_refused_to_another_owner(store: LeaseStore) -> None:
    assert store.acquire_lease("wf", "1", A, 60)
    assert not store.acquire_lease("wf", "1", B, 60)
    assert store.acquire_lease("wf", "1", A, 60)  # renewal
    assert store.acquire_lease("wf", "2", B, 60)  # another id is another lease
    assert store.acquire_lease("other", "1", B, 60)  # and so is another name


def test_release_frees_the_lease_only_for_its_holder(store: LeaseStore) -> None:
    assert store.acquire_lease("wf", "1", A, 60)
    store.release_lease("wf", "1", B)  # not the holder: no effect
    assert not store.acquire_lease("wf", "1", B, 60)
    store.release_lease("wf", "1", A)
    store.release_lease("wf", "1", A)  # twice is fine
    assert store.acquire_lease("wf", "1", B, 60)
    store.release_lease("wf", "unknown", A)  # a lease never taken: nothing happens


def test_an_expired_lease_is_taken_by_another_owner(store: LeaseStore) -> None:
    assert store.acquire_lease("wf", "1", A, 0.0)  # expires at once
    assert store.acquire_lease("wf", "1", B, 60)
    assert not store.acquire_lease("wf", "1", A, 60)


def test_racing_owners_of_one_lease_exactly_one_wins(store: LeaseStore) -> None:
    threads, rounds = 8, 50
    barrier = threading.Barrier(threads)
    winners: list[list[int]] = [[] for _ in range(rounds)]
    errors: list[BaseException] = []

    def take(thread: int) -> None:
        try:
            for round_ in range(rounds):
                barrier.wait()
                if store.acquire_lease("race", str(round_), f"other-host:{thread}:x", 60):
                    winners[round_].append(thread)
        except BaseException as error:
            errors.append(error)
            barrier.abort()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        running = [threading.Thread(target=take, args=(n,)) for n in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert [len(won) for won in winners] == [1] * rounds


def test_a_leased_workflow_cannot_run_twice_at_once(store: LeaseStore) -> None:
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
