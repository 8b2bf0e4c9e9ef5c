"""Claims of work already started: due wake-ups, orphans, finished work, queue limits over time.

Runs over every store with queues, statuses and leases: suspending a
workflow and holding a lease are how the engine leaves work for a claim.
"""

from __future__ import annotations

import os
import time
from typing import Protocol

import pytest

import waku
from waku import LeaseStore, QueueStore, StepStore, WorkflowStatusStore
from waku._stores.base import HOST

from .claimers import dead_owner, race
from .kinds import LEASES, QUEUE, STATUSES, store_fixture

store = store_fixture(QUEUE, STATUSES, LEASES)


class Store(StepStore, QueueStore, WorkflowStatusStore, LeaseStore, Protocol):
    """A store with every capability a worker uses."""


A, B = "other-host:1:a", "other-host:2:b"  # never taken for dead: only the TTL frees them
INPUT = b"I json -\n0"


def running(store: Store, wid: str, owner: str, ttl: float) -> None:
    """A workflow a run holds, as the engine leaves it: leased, then marked running."""
    assert store.acquire_lease("wf", wid, owner, ttl)
    store.set_workflow_status("wf", wid, "running")


def test_suspended_workflows_are_claimed_once_their_wake_time_comes(store: Store) -> None:
    now = time.time()
    store.set_workflow_status("wf", "late", "sleeping", wake_at=now - 10)
    store.set_workflow_status("wf", "earliest", "sleeping", wake_at=now - 20)
    store.set_workflow_status("wf", "deadline", "waiting", wake_at=now - 5)
    store.set_workflow_status("wf", "future", "sleeping", wake_at=now + 3600)
    store.set_workflow_status("wf", "deadline-ahead", "waiting", wake_at=now + 3600)
    store.set_workflow_status("wf", "callback", "waiting")  # only a callback wakes it
    claimed = store.claim_workflows(["default"], A, 60, 10)
    assert claimed == [("wf", "earliest"), ("wf", "late"), ("wf", "deadline")]
    for _, wid in claimed:
        assert store.get_workflow_status("wf", wid) == "running"
        assert not store.acquire_lease("wf", wid, B, 60)
    for wid in ("future", "deadline-ahead", "callback"):
        assert store.get_workflow_status("wf", wid) in ("sleeping", "waiting")
    assert store.claim_workflows(["default"], B, 60, 10) == []


def test_a_due_workflow_of_no_queue_is_claimed_by_any_claimer(store: Store) -> None:
    store.set_workflow_status("wf", "1", "sleeping", wake_at=time.time() - 1)
    assert store.claim_workflows([], A, 60, 10) == [("wf", "1")]


def test_a_due_workflow_of_a_queue_is_claimed_only_for_that_queue(store: Store) -> None:
    assert store.enqueue_workflow("wf", "1", "emails", INPUT)
    assert store.claim_workflows(["emails"], A, 60, 10) == [("wf", "1")]
    store.set_workflow_status("wf", "1", "sleeping", wake_at=time.time() - 1)  # the run slept
    store.release_lease("wf", "1", A)
    assert store.claim_workflows(["default"], B, 60, 10) == []
    assert store.claim_workflows(["emails"], B, 60, 10) == [("wf", "1")]


def test_a_due_workflow_that_a_live_run_holds_is_not_claimed(store: Store) -> None:
    store.set_workflow_status("wf", "1", "sleeping", wake_at=time.time() - 1)
    assert store.acquire_lease("wf", "1", A, 60)  # a run resuming it just now
    assert store.claim_workflows(["default"], B, 60, 10) == []
    store.release_lease("wf", "1", A)
    assert store.claim_workflows(["default"], B, 60, 10) == [("wf", "1")]


def test_a_running_workflow_is_claimed_once_its_lease_expires(store: Store) -> None:
    running(store, "live", A, 60)
    running(store, "expired", A, 0.0)
    assert store.claim_workflows(["default"], B, 60, 10) == [("wf", "expired")]
    assert store.get_workflow_status("wf", "expired") == "running"
    assert not store.acquire_lease("wf", "expired", A, 60)  # B holds it now
    assert store.acquire_lease("wf", "expired", B, 60)


@pytest.mark.parametrize("status", ["running", "sleeping", "queued"])
def test_work_of_a_dead_process_on_this_host_is_claimed_at_once(store: Store, status: str) -> None:
    past = time.time() - 1
    dead = dead_owner()
    for wid, owner in [
        ("dead", dead),
        ("dead-too", f"{dead.rpartition(':')[0]}:another run"),  # any nonce
        ("this-process", f"{HOST}:{os.getpid()}:another-run"),
        ("parent", f"{HOST}:{os.getppid()}:x"),
        ("elsewhere", "other-host:1:gone?"),
    ]:
        if status == "queued":
            assert store.enqueue_workflow("wf", wid, "default", INPUT)
        assert store.acquire_lease("wf", wid, owner, 3600)
        store.set_workflow_status("wf", wid, status, wake_at=past if status == "sleeping" else None)
    assert sorted(store.claim_workflows(["default"], B, 60, 10)) == [
        ("wf", "dead"),
        ("wf", "dead-too"),
    ]


@pytest.mark.parametrize("status", ["succeeded", "failed", "cancelled"])
def test_finished_workflows_are_never_claimed(store: Store, status: str) -> None:
    past = time.time() - 1
    assert store.enqueue_workflow("wf", "queued", "default", INPUT)
    assert store.claim_workflows(["default"], A, 0.0, 10) == [("wf", "queued")]
    store.set_workflow_status("wf", "queued", status, wake_at=past)
    store.release_lease("wf", "queued", A)
    store.set_workflow_status("wf", "plain", status, wake_at=past)
    running(store, "expired", dead_owner(), 0.0)
    store.set_workflow_status("wf", "expired", status)
    assert store.claim_workflows(["default"], B, 60, 10) == []


def test_workflows_the_engine_finished_are_never_claimed(store: Store) -> None:
    waku.run_workflow("done", lambda: waku.step(lambda x: x, 1), workflow_id="ok")
    waku.run_workflow("done", lambda: waku.step(lambda x: 1 / x, 0), workflow_id="bad")
    assert store.get_workflow_status("done", "bad") == "failed"
    assert store.claim_workflows(["default"], B, 0.0, 10) == []


def test_orphans_and_wake_ups_come_before_queued_work(store: Store) -> None:
    assert store.enqueue_workflow("wf", "queued", "default", INPUT)
    store.set_workflow_status("wf", "due", "sleeping", wake_at=time.time() - 1)
    running(store, "orphan", A, 0.0)
    claimed = store.claim_workflows(["default"], B, 60, 2)
    assert claimed == [("wf", "orphan"), ("wf", "due")]
    assert store.claim_workflows(["default"], B, 60, 2) == [("wf", "queued")]


def test_a_finished_workflow_frees_its_place_under_the_queue_limit(store: Store) -> None:
    for n in range(4):
        assert store.enqueue_workflow("wf", f"w{n}", "q", INPUT)
    limits = {"q": 2}
    assert store.claim_workflows(["q"], A, 60, 5, limits) == [("wf", "w0"), ("wf", "w1")]
    assert store.claim_workflows(["q"], B, 60, 5, limits) == []
    store.set_workflow_status("wf", "w0", "succeeded")
    store.release_lease("wf", "w0", A)
    assert store.claim_workflows(["q"], B, 60, 5, limits) == [("wf", "w2")]
    store.set_workflow_status("wf", "w1", "sleeping", wake_at=time.time() + 3600)
    store.release_lease("wf", "w1", A)  # a suspended workflow holds no place either
    assert store.claim_workflows(["q"], B, 60, 5, limits) == [("wf", "w3")]


def test_a_dead_processs_leases_leave_room_under_the_queue_limit(store: Store) -> None:
    for n in range(3):
        assert store.enqueue_workflow("wf", f"w{n}", "q", INPUT)
    assert store.claim_workflows(["q"], dead_owner(), 3600, 2) == [("wf", "w0"), ("wf", "w1")]
    assert store.claim_workflows(["q"], B, 60, 5, {"q": 2}) == [("wf", "w0"), ("wf", "w1")]
    assert store.claim_workflows(["q"], A, 60, 5, {"q": 2}) == []


def test_three_claimers_never_hold_more_than_a_queue_limit_of_two(store: Store) -> None:
    total = 12
    for n in range(total):
        assert store.enqueue_workflow("wf", f"w{n:02}", "q", INPUT)
    owners = [f"other-host:{n}:x" for n in range(3)]
    done: list[tuple[str, str]] = []
    while len(done) < total:
        claims = race(3, lambda n: store.claim_workflows(["q"], owners[n], 60, 3, {"q": 2}))
        assert sum(len(claimed) for claimed in claims) == 2  # two places, both free
        for owner, claimed in zip(owners, claims, strict=True):
            for name, wid in claimed:  # each run ends before the next round
                store.set_workflow_status(name, wid, "succeeded")
                store.release_lease(name, wid, owner)
                done.append((name, wid))
    assert sorted(done) == [("wf", f"w{n:02}") for n in range(total)]
    assert store.claim_workflows(["q"], owners[0], 60, 3, {"q": 2}) == []
