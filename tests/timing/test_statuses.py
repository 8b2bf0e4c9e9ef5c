"""What stores with statuses record for sleeping workflows: ``sleeping`` and the wake time."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

import waku
from waku.testing import ManualClock

from ..stores.kinds import STATUSES, store_fixture
from . import flows
from .conftest import Statuses

store = store_fixture(STATUSES)


def last(statuses: Statuses) -> tuple[str, str, float | None]:
    return statuses[-1]


def test_a_long_sleep_is_recorded_as_sleeping_until_its_wake_time(
    store: Any, statuses: Statuses, clock: ManualClock
) -> None:
    flows.remind.run("ana", 3600, workflow_id="z-1")
    assert last(statuses) == ("z-1", "sleeping", clock.now() + 3600)
    assert store.get_workflow_status(flows.remind.name, "z-1") == "sleeping"
    clock.advance(hours=1)
    assert last(statuses) == ("z-1", "succeeded", None)


def test_a_long_backoff_is_recorded_as_sleeping_until_the_next_attempt(
    store: Any, statuses: Statuses, clock: ManualClock
) -> None:
    flows.failures_left[0] = 1
    flows.patient.run(1, workflow_id="z-2")
    assert last(statuses) == ("z-2", "sleeping", clock.now() + 600)
    clock.advance(minutes=10)
    assert last(statuses)[1] == "succeeded"


def test_a_short_sleep_never_leaves_the_workflow_sleeping(
    store: Any, statuses: Statuses, clock: ManualClock
) -> None:
    flows.remind.run("bo", 1, workflow_id="z-3")
    assert [s for _, s, _ in statuses] == ["running", "succeeded"]


def test_a_workflow_with_a_callback_pending_is_waiting_even_while_it_also_sleeps(
    store: Any, statuses: Statuses, clock: ManualClock
) -> None:
    async def ask(_: Any) -> None:
        await waku.create_callback_token_async(ttl=7200)

    async def body() -> Any:
        asked, slept = await asyncio.gather(waku.step(ask, None), waku.sleep_async(3600, "x"))
        return waku.pipe(asked, lambda _: slept)  # pending: the callback's future passes

    result = asyncio.run(waku.run_workflow_async("both", body, workflow_id="z-4"))
    assert isinstance(result.result, Future)
    assert last(statuses) == ("z-4", "waiting", clock.now() + 3600)  # the earliest wake time


def test_a_started_sleeping_workflow_reports_its_status_through_its_handle(
    store: Any, clock: ManualClock
) -> None:
    handle = flows.remind.start("cy", 600, workflow_id="z-5")
    assert handle.local is not None
    handle.local.result(timeout=5)  # the run on its thread stopped at the sleep
    assert handle.status() == "sleeping"
    clock.advance(minutes=10)
    assert handle.result(timeout=5) == "reminded cy" and handle.status() == "succeeded"
