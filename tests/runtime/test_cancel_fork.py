"""Cancel stops a workflow for good; fork re-runs one from a step under a new id."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import waku
from waku import StepStore

from ..stores.kinds import STATUSES, store_fixture
from . import flows

status_store = store_fixture(STATUSES)


@pytest.fixture(autouse=True)
def _fresh() -> None:
    flows.calls.clear()
    flows.gate.clear()


def test_a_running_workflow_stops_before_its_next_step(status_store: StepStore) -> None:
    handle = flows.gated.start(1, workflow_id="c1")
    for _ in range(1000):
        if flows.calls:
            break
        threading.Event().wait(0.01)
    waku.cancel(flows.gated.name, "c1")
    flows.gate.set()
    with pytest.raises(waku.WorkflowCancelled):
        assert handle.local is not None
        handle.local.result(10)
    assert flows.calls == ["gate 1"]  # the step under way finished; no later step ran
    with pytest.raises(waku.WorkflowCancelledError, match="cancelled"):
        flows.gated.run(1, workflow_id="c1")
    with pytest.raises(waku.WorkflowCancelledError):
        handle.result(timeout=1)


def test_a_cancelled_workflow_never_starts(store: StepStore) -> None:
    waku.cancel(flows.checkout.name, "never")
    with pytest.raises(waku.WorkflowCancelledError):
        flows.checkout.run(1, workflow_id="never")
    assert flows.calls == []


def test_cancel_leaves_a_finished_workflow_alone(status_store: StepStore) -> None:
    flows.checkout.run(2, workflow_id="done")
    waku.cancel(flows.checkout.name, "done")
    assert flows.checkout.run(2, workflow_id="done").result == "charged 20 EUR"


def test_cancelled_status_is_recorded(status_store: Any) -> None:
    waku.cancel(flows.checkout.name, "st")
    assert status_store.get_workflow_status(flows.checkout.name, "st") == "cancelled"


def test_fork_reuses_results_before_the_step_and_runs_the_rest_again(store: StepStore) -> None:
    failed = flows.checkout.run(5, workflow_id="orig", fail=True)
    assert isinstance(failed.result, ConnectionError)
    flows.calls.clear()
    forked = waku.fork(flows.checkout.name, "orig", from_step=2, new_id="fork")
    # The fork keeps the stored arguments (fail=True): its step 2 runs again and fails again.
    assert isinstance(forked.result(timeout=10), ConnectionError)
    assert flows.calls == ["charge 5"]
    assert forked.workflow_id == "fork"
    refetched = waku.fork(flows.checkout.name, "orig", from_step=1)
    assert isinstance(refetched.result(timeout=10), ConnectionError)
    assert flows.calls == ["charge 5", "fetch 5", "charge 5"]


def test_fork_refuses_a_bad_step_an_unknown_workflow_and_a_taken_id(store: StepStore) -> None:
    flows.checkout.run(1, workflow_id="src")
    with pytest.raises(ValueError, match="from_step"):
        waku.fork(flows.checkout.name, "src", from_step=0)
    with pytest.raises(waku.StoreError, match="not in the store"):
        waku.fork(flows.checkout.name, "missing", from_step=1)
    with pytest.raises(ValueError, match="exists already"):
        waku.fork(flows.checkout.name, "src", from_step=1, new_id="src")
