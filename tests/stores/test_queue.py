"""``QueueStore``: enqueueing and claiming queued work, over every store that has it."""

from __future__ import annotations

from typing import Protocol

import pytest

import waku
from waku import QueueStore, StepStore

from .claimers import race_until_empty
from .kinds import QUEUE, store_fixture

store = store_fixture(QUEUE)


class Store(StepStore, QueueStore, Protocol):
    """A store with queues: the capability under test, and the six methods to read inputs."""


# Owners on another host: never taken for dead, so only the TTL frees their leases.
A, B, C = "other-host:1:a", "other-host:2:b", "other-host:3:c"


def record(text: str) -> bytes:
    """A workflow input record as the engine writes it: ``I``, a header line, the value."""
    return f"I json -\n{text}".encode()


def test_enqueue_creates_the_workflow_and_its_input(store: Store) -> None:
    assert store.enqueue_workflow("wf", "1", "default", record("[1, 2]"))
    assert store.get_steps("wf", "1") == {0: record("[1, 2]")}
    assert store.get_result("wf", "1", 0) == record("[1, 2]")
    assert store.get_steps("wf", "2") == {}
    assert store.claim_workflows(["default"], A, 60, 10) == [("wf", "1")]


def test_enqueueing_one_id_twice_creates_one_workflow(store: Store) -> None:
    assert store.enqueue_workflow("wf", "1", "default", record("1"))
    assert not store.enqueue_workflow("wf", "1", "default", record("2"))
    assert not store.enqueue_workflow("wf", "1", "other", record("3"))
    assert store.get_steps("wf", "1") == {0: record("1")}  # the first input stays
    assert store.claim_workflows(["other"], A, 60, 10) == []  # and so does its queue
    assert store.claim_workflows(["default"], A, 60, 10) == [("wf", "1")]
    assert store.claim_workflows(["default", "other"], B, 60, 10) == []  # one workflow


def test_enqueueing_another_name_or_id_is_another_workflow(store: Store) -> None:
    assert store.enqueue_workflow("wf", "1", "default", record("1"))
    assert store.enqueue_workflow("wf", "2", "default", record("2"))
    assert store.enqueue_workflow("other", "1", "default", record("3"))
    assert store.get_steps("other", "1") == {0: record("3")}
    claimed = store.claim_workflows(["default"], A, 60, 10)
    assert claimed == [("wf", "1"), ("wf", "2"), ("other", "1")]


def test_a_workflow_that_already_ran_is_not_enqueued(store: Store) -> None:
    done = waku.run_workflow("ran", lambda: waku.step(lambda x: x + 1, 1), workflow_id="1")
    assert done.result == 2
    steps = dict(store.get_steps("ran", "1"))
    assert not store.enqueue_workflow("ran", "1", "default", record("5"))
    assert store.get_steps("ran", "1") == steps
    assert store.claim_workflows(["default"], A, 60, 10) == []


def test_claims_take_queued_workflows_oldest_first_across_their_queues(
    store: Store,
) -> None:
    for n in range(6):
        assert store.enqueue_workflow("wf", f"w{n}", "q" if n % 2 else "r", record(str(n)))
    assert store.claim_workflows(["q", "r"], A, 60, 3) == [("wf", "w0"), ("wf", "w1"), ("wf", "w2")]
    assert store.claim_workflows(["q"], B, 60, 10) == [("wf", "w3"), ("wf", "w5")]
    assert store.claim_workflows(["q", "r"], C, 60, 10) == [("wf", "w4")]
    assert store.claim_workflows(["q", "r"], C, 60, 10) == []


def test_a_claim_takes_only_the_queues_it_names(store: Store) -> None:
    store.enqueue_workflow("wf", "1", "emails", record("1"))
    assert store.claim_workflows(["default"], A, 60, 10) == []
    assert store.claim_workflows([], A, 60, 10) == []
    assert store.claim_workflows(("default", "emails"), A, 60, 10) == [("wf", "1")]


def test_a_claim_takes_at_most_its_limit(store: Store) -> None:
    for n in range(3):
        store.enqueue_workflow("wf", str(n), "q", record(str(n)))
    assert store.claim_workflows(["q"], A, 60, 0) == []
    assert store.claim_workflows(["q"], A, 60, -1) == []
    assert store.claim_workflows(["q"], A, 60, 1) == [("wf", "0")]
    assert store.claim_workflows(["q"], A, 60, 5) == [("wf", "1"), ("wf", "2")]


def test_a_queue_name_given_as_a_string_is_refused(store: Store) -> None:
    store.enqueue_workflow("wf", "1", "q", record("1"))
    with pytest.raises(TypeError, match=r"write \('q',\)"):
        store.claim_workflows("q", A, 60, 10)
    assert store.claim_workflows(["q"], A, 60, 10) == [("wf", "1")]


def test_a_claimed_workflow_is_not_claimed_again_while_its_lease_lives(
    store: Store,
) -> None:
    store.enqueue_workflow("wf", "1", "q", record("1"))
    assert store.claim_workflows(["q"], A, 60, 10) == [("wf", "1")]
    assert store.claim_workflows(["q"], B, 60, 10) == []
    assert store.claim_workflows(["q"], A, 60, 10) == []  # its holder has it already


def test_a_claimed_workflow_whose_lease_expired_is_claimed_again(store: Store) -> None:
    store.enqueue_workflow("wf", "1", "q", record("1"))
    assert store.claim_workflows(["q"], A, 0.0, 10) == [("wf", "1")]  # expires at once
    assert store.claim_workflows(["q"], B, 60, 10) == [("wf", "1")]  # an orphan now
    assert store.claim_workflows(["q"], A, 60, 10) == []


def test_racing_claimers_take_each_workflow_exactly_once(store: Store) -> None:
    workflows = {("race", f"w{n}") for n in range(200)}
    for name, wid in sorted(workflows):
        store.enqueue_workflow(name, wid, "q", record("0"))

    def claim(n: int) -> list[tuple[str, str]]:
        return store.claim_workflows(["q"], f"other-host:{n}:x", 60, 2)

    taken = race_until_empty(8, claim, len(workflows))
    assert len(taken) == len(workflows)
    assert set(taken) == workflows
    assert store.claim_workflows(["q"], A, 60, 10) == []


def test_a_queue_limit_of_two_holds_across_three_racing_claimers(store: Store) -> None:
    for n in range(10):
        store.enqueue_workflow("wf", f"w{n}", "q", record(str(n)))
    limits = {"q": 2, "unused": 0}
    taken = race_until_empty(
        3, lambda n: store.claim_workflows(["q"], f"other-host:{n}:x", 60, 5, limits), 10
    )
    assert sorted(taken) == [("wf", "w0"), ("wf", "w1")]  # the oldest two, once each


def test_a_queue_limit_binds_only_its_queue(store: Store) -> None:
    for n in range(3):
        store.enqueue_workflow("wf", f"q{n}", "q", record(str(n)))
        store.enqueue_workflow("wf", f"r{n}", "r", record(str(n)))
    limits = {"q": 1}
    claimed = store.claim_workflows(["q", "r"], A, 60, 10, limits)
    assert sorted(claimed) == [("wf", "q0"), ("wf", "r0"), ("wf", "r1"), ("wf", "r2")]
    assert store.claim_workflows(["q", "r"], B, 60, 10, limits) == []
    assert store.claim_workflows(["q"], B, 60, 10, {"q": 0}) == []
    assert store.claim_workflows(["q"], B, 60, 10) == [("wf", "q1"), ("wf", "q2")]  # no limit


def test_a_queue_limit_counts_the_leases_of_every_owner(store: Store) -> None:
    for n in range(4):
        store.enqueue_workflow("wf", f"w{n}", "q", record(str(n)))
    assert store.claim_workflows(["q"], A, 60, 1) == [("wf", "w0")]
    assert store.claim_workflows(["q"], B, 60, 5, {"q": 2}) == [("wf", "w1")]
    assert store.claim_workflows(["q"], C, 60, 5, {"q": 2}) == []
    assert store.claim_workflows(["q"], C, 60, 5, {"q": 3}) == [("wf", "w2")]


ODD = [
    "it's",
    'say "hi"',
    "'; DROP TABLE workflows; --",
    '"); DROP TABLE steps; --',
    "ñandú 队列 🚀",
    "back\\slash % _ *",
    "",
]


@pytest.mark.parametrize("text", ODD)
def test_names_ids_and_queues_are_kept_verbatim(store: Store, text: str) -> None:
    name, wid, queue = f"n{text}", f"{text}i", text
    assert store.enqueue_workflow(name, wid, queue, record(repr(text)))
    assert store.enqueue_workflow("plain", "1", "plain", record("1"))
    assert not store.enqueue_workflow(name, wid, queue, record("other"))
    assert store.claim_workflows([f"{queue}x", "x"], A, 60, 10) == []
    assert store.claim_workflows([queue], A, 60, 10) == [(name, wid)]
    assert store.get_steps(name, wid) == {0: record(repr(text))}
    assert store.claim_workflows(["plain"], A, 60, 10) == [("plain", "1")]  # tables intact
