"""A live run keeps its lease past the lease's TTL: the renewer holds others out."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import waku

from .stores.kinds import LEASES, store_fixture

leased_store = store_fixture(LEASES)


def test_a_step_slower_than_the_lease_ttl_still_keeps_a_second_run_out(leased_store: Any) -> None:
    leased_store.lease_ttl = 0.3  # read when a run begins; renewed every 0.1 s
    inside, done = threading.Event(), threading.Event()

    def slow(x: int) -> int:
        inside.set()
        done.wait(10)
        return x

    first = threading.Thread(
        target=waku.run_workflow,
        args=("renewed", lambda: waku.step(slow, 1)),
        kwargs={"workflow_id": "r"},
    )
    first.start()
    try:
        assert inside.wait(10)
        for _ in range(4):  # over a second: more than three TTLs pass while the step runs
            with pytest.raises(waku.WorkflowLockedError):
                waku.run_workflow("renewed", lambda: waku.step(slow, 2), workflow_id="r")
            threading.Event().wait(0.3)
    finally:
        done.set()
        first.join()
    assert waku.run_workflow("renewed", lambda: waku.step(slow, 3), workflow_id="r").result == 1
