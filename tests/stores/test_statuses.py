"""``WorkflowStatusStore`` over every store in the table that has it."""

from __future__ import annotations

import pytest

import waku
from waku import WorkflowStatusStore
from waku._stores.base import STATUSES

from .kinds import STATUSES as CAPABILITY
from .kinds import store_fixture

store = store_fixture(CAPABILITY)


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_every_status_is_recorded_and_read_back(store: WorkflowStatusStore, status: str) -> None:
    assert store.get_workflow_status("wf", "1") is None
    store.set_workflow_status("wf", "1", status)
    assert store.get_workflow_status("wf", "1") == status
    assert store.get_workflow_status("wf", "2") is None
    assert store.get_workflow_status("other", "1") is None


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_a_status_with_a_result_and_a_wake_time_is_recorded(
    store: WorkflowStatusStore, status: str
) -> None:
    store.set_workflow_status("wf", "1", "running")
    store.set_workflow_status("wf", "1", status, b"R json -\n1", 1_900_000_000.5)
    assert store.get_workflow_status("wf", "1") == status
    store.set_workflow_status("wf", "1", status, wake_at=1_900_000_100.0)
    assert store.get_workflow_status("wf", "1") == status
    store.set_workflow_status("wf", "1", "running", result=None, wake_at=None)
    assert store.get_workflow_status("wf", "1") == "running"


@pytest.mark.parametrize("bogus", ["bogus", "", "Running", "succeeded "])
def test_an_unknown_status_is_refused_and_changes_nothing(
    store: WorkflowStatusStore, bogus: str
) -> None:
    store.set_workflow_status("wf", "1", "sleeping", wake_at=1_900_000_000.0)
    with pytest.raises(ValueError, match="status must be one of"):
        store.set_workflow_status("wf", "1", bogus, b"R json -\n1", 5.0)
    with pytest.raises(ValueError, match="status must be one of"):
        store.set_workflow_status("wf", "new", bogus)
    assert store.get_workflow_status("wf", "1") == "sleeping"
    assert store.get_workflow_status("wf", "new") is None


def test_status_records_follow_the_run(store: WorkflowStatusStore) -> None:
    waku.run_workflow("status", lambda: waku.step(lambda x: x, 1), workflow_id="ok")
    waku.run_workflow("status", lambda: waku.step(lambda x: 1 / 0, 1), workflow_id="bad")
    assert store.get_workflow_status("status", "ok") == "succeeded"
    assert store.get_workflow_status("status", "bad") == "failed"
    assert store.get_workflow_status("status", "unknown") is None
