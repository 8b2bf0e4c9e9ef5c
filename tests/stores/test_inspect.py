"""``InspectStore`` over every store in the table that has it.

The suite writes through the other protocols (statuses, leases, the six
methods) and reads back through ``InspectStore``: rows, listing pages, and
what deleting a workflow takes with it.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import pytest

from waku import (
    InspectStore,
    InvalidTokenError,
    LeaseStore,
    StepStore,
    WorkflowRow,
    WorkflowStatusStore,
)

from .kinds import INSPECT, LEASES, STATUSES, store_fixture

store = store_fixture(INSPECT, STATUSES, LEASES)

FINISHED = ("succeeded", "failed", "cancelled")
UNFINISHED = ("queued", "running", "waiting", "sleeping")
LATER = 4_000_000_000.0  # a cutoff after every update made by these tests


class Store(InspectStore, WorkflowStatusStore, LeaseStore, StepStore, Protocol):
    """What the suite needs: every capability it writes and reads through."""


def keys(rows: list[WorkflowRow]) -> list[tuple[str, str]]:
    return [(row.workflow_name, row.workflow_id) for row in rows]


def key(row: WorkflowRow) -> tuple[float, str, str]:
    return (row.created_at, row.workflow_name, row.workflow_id)


def make(store: Store, count: int, name: str = "wf", status: str = "succeeded") -> list[str]:
    ids = [f"{name}-{n:03d}" for n in range(count)]
    for wid in ids:
        store.set_workflow_status(name, wid, status)
    return ids


# -- rows -------------------------------------------------------------------------


def test_a_workflow_row_keeps_its_creation_time_and_follows_its_status(store: Store) -> None:
    assert store.get_workflow_row("wf", "1") is None
    before = time.time()
    store.set_workflow_status("wf", "1", "running")
    first = store.get_workflow_row("wf", "1")
    assert first is not None
    assert (first.workflow_name, first.workflow_id, first.status) == ("wf", "1", "running")
    assert before <= first.created_at <= first.updated_at <= time.time()
    assert (first.result, first.wake_at, first.queue) == (None, None, None)
    store.set_workflow_status("wf", "1", "sleeping", wake_at=1_900_000_000.5)
    store.set_workflow_status("wf", "1", "succeeded", b"42")
    last = store.get_workflow_row("wf", "1")
    assert last is not None
    assert (last.status, last.result, last.wake_at) == ("succeeded", b"42", None)
    assert last.created_at == first.created_at
    assert last.updated_at >= first.updated_at
    assert store.get_workflow_row("wf", "2") is None
    assert store.get_workflow_row("other", "1") is None


def test_a_workflow_row_shows_its_lease(store: Store) -> None:
    store.set_workflow_status("wf", "1", "running")
    assert store.acquire_lease("wf", "1", "other-host:1:a", 60)
    row = store.get_workflow_row("wf", "1")
    assert row is not None and row.lease_owner == "other-host:1:a"
    assert row.lease_expires is not None
    assert abs(row.lease_expires - (time.time() + 60)) < 5  # wall-clock seconds
    store.release_lease("wf", "1", "other-host:1:a")
    row = store.get_workflow_row("wf", "1")
    assert row is not None and (row.lease_owner, row.lease_expires) == (None, None)


def test_step_rows_take_their_status_from_the_record_kind(store: Store) -> None:
    assert store.get_step_rows("wf", "1") == []
    store.store_result("wf", "1", 0, b"I json -\n{}")
    store.store_start("wf", "1", 1, b"S json m:f\n1")
    store.store_result("wf", "1", 1, b"R json m:f\n2")
    store.store_start("wf", "1", 2, b"S json m:g\n2")
    store.store_result("wf", "1", 2, b'E json m:g\n{"type": "E"}')
    store.store_start("wf", "1", 2, b"S json m:g\n2")  # the retry is running
    store.store_start("wf", "1", 3, b"S json m:h\n3")
    store.store_result("wf", "1", -3, b"W json m:h\n{}")
    token = store.store_result_token("wf", "1", 3)
    store.store_start("wf", "1", 4, b"S json m:k\n4")
    store.store_result("wf", "1", -4, b"W json m:k\n{}")
    store.store_token_result(token, b"C json m:h\n5")
    rows = {row.step: row for row in store.get_step_rows("wf", "1")}
    assert list(rows) == [-4, -3, 0, 1, 2, 3, 4]
    status = {n: row.status for n, row in rows.items()}
    assert status == {
        -4: "waiting",
        -3: "waiting",
        0: "input",
        1: "succeeded",
        2: "running",
        3: "delivered",
        4: "running",
    }
    function = {n: row.function for n, row in rows.items()}
    assert function == {-4: "m:k", -3: "m:h", 0: None, 1: "m:f", 2: "m:g", 3: "m:h", 4: "m:k"}
    attempts = {n: row.attempts for n, row in rows.items()}
    assert attempts == {-4: 0, -3: 0, 0: 0, 1: 1, 2: 2, 3: 1, 4: 1}
    assert (rows[1].input, rows[1].output) == (b"S json m:f\n1", b"R json m:f\n2")
    assert (rows[0].input, rows[0].output) == (None, b"I json -\n{}")
    # A running retry keeps the last attempt's error until it ends.
    assert (rows[2].input, rows[2].output) == (b"S json m:g\n2", b'E json m:g\n{"type": "E"}')
    assert rows[3].output == b"C json m:h\n5"
    assert rows[4].output is None


def test_step_rows_record_when_each_attempt_started_and_finished(store: Store) -> None:
    began = time.time()
    store.store_start("wf", "1", 1, b"S json m:f\n1")
    store.store_result("wf", "1", 1, b"R json m:f\n2")
    (done,) = store.get_step_rows("wf", "1")
    assert done.started_at is not None and done.finished_at is not None
    assert began <= done.started_at <= done.finished_at <= time.time()
    store.store_start("wf", "1", 1, b"S json m:f\n1")
    (again,) = store.get_step_rows("wf", "1")
    assert again.started_at is not None and again.started_at >= done.started_at
    assert again.finished_at is None  # running again: not finished


# -- listing ----------------------------------------------------------------------


def test_listing_is_newest_first_and_filtered_by_status_and_name(store: Store) -> None:
    store.set_workflow_status("a", "1", "succeeded")
    store.set_workflow_status("b", "1", "failed")
    store.set_workflow_status("a", "2", "failed")
    store.set_workflow_status("b", "2", "running")
    everything = store.list_workflow_rows()
    assert keys(everything) == [("b", "2"), ("a", "2"), ("b", "1"), ("a", "1")]
    assert [key(row) for row in everything] == sorted(map(key, everything), reverse=True)
    assert keys(store.list_workflow_rows(status="failed")) == [("a", "2"), ("b", "1")]
    assert keys(store.list_workflow_rows(name="a")) == [("a", "2"), ("a", "1")]
    assert keys(store.list_workflow_rows(name="a", status="failed")) == [("a", "2")]
    assert store.list_workflow_rows(status="queued") == []
    assert store.list_workflow_rows(name="c") == []
    assert keys(store.list_workflow_rows(limit=1)) == [("b", "2")]
    assert everything[0] == store.get_workflow_row("b", "2")


@pytest.mark.parametrize(
    "filters", [{}, {"status": "succeeded"}, {"name": "even"}, {"name": "even", "status": "failed"}]
)
def test_pages_follow_each_other_without_repeats_or_gaps(
    store: Store, filters: dict[str, Any]
) -> None:
    for n in range(60):
        store.set_workflow_status(("even", "odd")[n % 2], f"{n:02d}", FINISHED[n % 3 // 2])
    expected = keys(store.list_workflow_rows(limit=1000, **filters))
    assert expected
    pages: list[list[tuple[str, str]]] = []
    before = None
    while True:
        page = store.list_workflow_rows(limit=7, before=before, **filters)
        if not page:
            break
        pages.append(keys(page))
        before = key(page[-1])
    assert [k for page in pages for k in page] == expected
    assert all(len(page) == 7 for page in pages[:-1])


def test_a_page_starts_strictly_after_its_key(store: Store) -> None:
    make(store, 5)
    rows = store.list_workflow_rows()
    last = rows[2]
    assert keys(store.list_workflow_rows(before=key(last))) == keys(rows[3:])
    assert store.list_workflow_rows(before=(0.0, "", "")) == []


# -- deleting ---------------------------------------------------------------------


@pytest.mark.parametrize("status", (*UNFINISHED, "bogus"))
def test_deleting_anything_but_finished_workflows_is_refused(store: Store, status: str) -> None:
    store.set_workflow_status("wf", "1", status if status != "bogus" else "running")
    store.set_workflow_status("wf", "2", "succeeded")
    with pytest.raises(ValueError, match="only finished workflows"):
        store.delete_workflows(older_than=LATER, statuses=["succeeded", status], limit=10)
    assert store.get_workflow_row("wf", "1") is not None
    assert store.get_workflow_row("wf", "2") is not None


@pytest.mark.parametrize("limit", [0, -1])
def test_a_batch_of_no_workflows_is_refused(store: Store, limit: int) -> None:
    store.set_workflow_status("wf", "1", "succeeded")
    with pytest.raises(ValueError, match="limit"):
        store.delete_workflows(older_than=LATER, statuses=FINISHED, limit=limit)
    assert store.get_workflow_row("wf", "1") is not None


def test_only_finished_workflows_of_the_statuses_asked_for_are_deleted(store: Store) -> None:
    for status in FINISHED + UNFINISHED:
        store.set_workflow_status("wf", status, status)
    removed = store.delete_workflows(older_than=LATER, statuses=FINISHED, limit=100)
    assert sorted(removed) == sorted(("wf", s) for s in FINISHED)
    assert sorted(keys(store.list_workflow_rows())) == sorted(("wf", s) for s in UNFINISHED)
    store.set_workflow_status("wf", "f", "failed")
    store.set_workflow_status("wf", "s", "succeeded")
    assert store.delete_workflows(older_than=LATER, statuses=["failed"], limit=100) == [("wf", "f")]
    assert store.get_workflow_row("wf", "s") is not None


def test_only_workflows_last_updated_before_the_cutoff_are_deleted(store: Store) -> None:
    store.set_workflow_status("wf", "old", "succeeded")
    store.set_workflow_status("wf", "updated", "running")
    time.sleep(0.01)
    cutoff = time.time()
    time.sleep(0.01)
    store.set_workflow_status("wf", "updated", "succeeded")
    store.set_workflow_status("wf", "new", "succeeded")
    assert store.delete_workflows(older_than=cutoff, statuses=FINISHED, limit=10) == [("wf", "old")]
    assert sorted(keys(store.list_workflow_rows())) == [("wf", "new"), ("wf", "updated")]


def test_deletion_goes_in_batches_oldest_update_first(store: Store) -> None:
    ids = make(store, 5)
    first = store.delete_workflows(older_than=LATER, statuses=FINISHED, limit=2)
    second = store.delete_workflows(older_than=LATER, statuses=FINISHED, limit=2)
    third = store.delete_workflows(older_than=LATER, statuses=FINISHED, limit=2)
    assert (len(first), len(second), len(third)) == (2, 2, 1)
    assert [wid for _, wid in first + second + third] == ids
    assert store.delete_workflows(older_than=LATER, statuses=FINISHED, limit=2) == []


def test_a_deleted_workflow_takes_its_steps_and_tokens_along(store: Store) -> None:
    for wid in ("gone", "kept"):
        store.store_result("wf", wid, 0, b"I json -\n1")
        store.store_start("wf", wid, 1, b"S json m:f\n1")
        store.store_result("wf", wid, -1, b"W json m:f\n{}")
    spent = store.store_result_token("wf", "gone", 1)
    store.store_token_result(spent, b"C json m:f\n2")
    unspent = store.store_result_token("wf", "gone", 1)
    kept = store.store_result_token("wf", "kept", 1)
    store.set_workflow_status("wf", "gone", "succeeded")
    store.set_workflow_status("wf", "kept", "waiting")
    assert store.delete_workflows(older_than=LATER, statuses=FINISHED, limit=10) == [("wf", "gone")]
    assert store.get_workflow_row("wf", "gone") is None
    assert store.get_step_rows("wf", "gone") == []
    assert dict(store.get_steps("wf", "gone")) == {}
    with pytest.raises(InvalidTokenError):
        store.store_token_result(unspent, b"C json m:f\n3")
    assert dict(store.get_steps("wf", "gone")) == {}  # the refused token wrote nothing
    assert len(store.get_step_rows("wf", "kept")) == 3
    assert store.store_token_result(kept, b"C json m:f\n4") == ("wf", "kept", 1)


def test_a_workflow_whose_lease_is_live_is_kept(store: Store) -> None:
    make(store, 2)
    assert store.acquire_lease("wf", "wf-000", "other-host:1:a", 60)
    assert store.delete_workflows(older_than=LATER, statuses=FINISHED, limit=10) == [
        ("wf", "wf-001")
    ]
    store.release_lease("wf", "wf-000", "other-host:1:a")
    assert store.delete_workflows(older_than=LATER, statuses=FINISHED, limit=10) == [
        ("wf", "wf-000")
    ]


def test_an_expired_lease_does_not_keep_a_workflow(store: Store) -> None:
    make(store, 1)
    assert store.acquire_lease("wf", "wf-000", "other-host:1:a", 0.0)  # expires at once
    assert store.delete_workflows(older_than=LATER, statuses=FINISHED, limit=10) == [
        ("wf", "wf-000")
    ]
    assert store.acquire_lease("wf", "wf-000", "other-host:2:b", 60)  # the lease went too
