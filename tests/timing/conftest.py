"""Fixtures for the tests of sleeps, retries and timeouts: a test clock, a status log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import waku
from waku.testing import ManualClock

from . import flows


@pytest.fixture(autouse=True)
def _fresh() -> None:
    flows.calls.clear()
    flows.failures_left[0] = 0
    flows.slow_attempt_over.clear()


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    """Waku's clock for the length of the test: it moves only when the test says."""
    with waku.testing.clock() as manual:
        yield manual


Statuses = list[tuple[str, str, float | None]]


@pytest.fixture
def statuses(store: Any, monkeypatch: pytest.MonkeyPatch) -> Statuses:
    """Every ``(workflow_id, status, wake_at)`` the engine records, in order."""
    seen: Statuses = []
    record = store.set_workflow_status

    def spy(
        name: str, wid: str, status: str, result: bytes | None = None, wake_at: float | None = None
    ) -> None:
        seen.append((wid, status, wake_at))
        record(name, wid, status, result, wake_at)

    monkeypatch.setattr(store, "set_workflow_status", spy)
    return seen


def record_body(store: waku.StepStore, name: str, wid: str, step: int) -> tuple[str, Any]:
    """The kind letter and JSON body of the record stored at ``step``."""
    payload = store.get_result(name, wid, step)
    assert payload is not None, f"nothing stored at step {step}"
    head, body = payload.split(b"\n", 1)
    return head[:1].decode(), json.loads(body)
