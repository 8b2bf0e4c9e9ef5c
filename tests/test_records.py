"""Workflow records through the public API: ``get_workflow`` and ``list_workflows``."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

import waku
from waku import StepInfo, WorkflowInfo

from .readme_store import DictStore
from .stores.kinds import INSPECT, store_fixture

store = store_fixture(INSPECT)
links: list[str] = []


def add_one(x: int) -> int:
    return x + 1


def triple(x: int) -> int:
    return x * 3


def refuse(x: int) -> int:
    raise ValueError(f"refused {x}")


def flaky(x: int) -> int:
    if not links.count("flaky"):
        links.append("flaky")
        raise ConnectionError("down")
    return x


def ask(payload: dict[str, int]) -> None:
    links.append(waku.create_callback_token(ttl=3600))


def ask_briefly(payload: dict[str, int]) -> None:
    links.append(waku.create_callback_token(ttl=0.05))


def approval(payload: dict[str, int]) -> Any:
    return waku.pipe(payload, waku.step(ask), waku.step(lambda answer: answer["ok"]))


def brief_approval(payload: dict[str, int]) -> Any:
    return waku.pipe(payload, waku.step(ask_briefly), waku.else_(lambda e: "timed out"))


@pytest.fixture(autouse=True)
def _registered() -> None:
    links.clear()
    waku.register_workflow("approval", approval)
    waku.register_workflow("brief-approval", brief_approval)


def pipeline() -> Any:
    return waku.pipe(1, waku.step(add_one), waku.step(triple))


def by_step(info: WorkflowInfo) -> dict[int, StepInfo]:
    return {s.step: s for s in info.steps}


def utc(value: dt.datetime | None) -> bool:
    return value is not None and value.utcoffset() == dt.timedelta(0)


# -- get_workflow -----------------------------------------------------------------


def test_a_finished_workflow_reads_back_with_its_steps(store: Any) -> None:
    began = dt.datetime.now(dt.timezone.utc)
    waku.run_workflow("pipeline", pipeline, workflow_id="p-1")
    info = waku.get_workflow("pipeline", "p-1")
    assert info is not None
    assert (info.workflow_name, info.workflow_id) == ("pipeline", "p-1")
    assert info.status == waku.Status.SUCCEEDED
    assert info.status == "succeeded"
    assert (info.input, info.result, info.error, info.queue, info.wake_at) == (
        None,
        6,
        None,
        None,
        None,
    )
    assert utc(info.created_at) and utc(info.updated_at)
    assert began - dt.timedelta(seconds=1) <= info.created_at <= info.updated_at
    assert info.updated_at <= dt.datetime.now(dt.timezone.utc)
    first, second = info.steps
    assert (first.step, first.function, first.status) == (1, f"{__name__}:add_one", "succeeded")
    assert (first.attempts, first.input, first.output, first.error) == (1, 1, 2, None)
    assert (second.step, second.function, second.input, second.output) == (
        2,
        f"{__name__}:triple",
        2,
        6,
    )
    for s in info.steps:
        assert utc(s.started_at) and utc(s.finished_at)
        assert s.started_at is not None and s.finished_at is not None
        assert info.created_at <= s.started_at <= s.finished_at <= info.updated_at


def test_an_unknown_workflow_is_none(store: Any) -> None:
    waku.run_workflow("pipeline", pipeline, workflow_id="p-1")
    assert waku.get_workflow("pipeline", "p-2") is None
    assert waku.get_workflow("other", "p-1") is None


def test_a_failed_workflow_shows_the_failure_of_its_last_failed_step(store: Any) -> None:
    waku.run_workflow("failing", lambda: waku.pipe(1, waku.step(add_one), waku.step(refuse)))
    (info,) = waku.list_workflows(name="failing", steps=True)
    assert info.status == "failed" and info.result is None
    assert isinstance(info.error, waku.ErrorInfo)
    assert (info.error.type_name, info.error.message) == ("builtins:ValueError", "refused 2")
    assert "ValueError: refused 2" in info.error.traceback_text
    failed = by_step(info)[2]
    assert (failed.status, failed.input, failed.output, failed.attempts) == ("failed", 2, None, 1)
    assert failed.error is not None and failed.error.message == "refused 2"


def test_a_handled_failure_leaves_a_succeeded_workflow_without_error(store: Any) -> None:
    body = lambda: waku.pipe(1, waku.step(refuse), waku.else_(lambda e: "handled"))  # noqa: E731
    waku.run_workflow("handled", body, workflow_id="h")
    info = waku.get_workflow("handled", "h")
    assert info is not None
    assert (info.status, info.result, info.error) == ("succeeded", "handled", None)
    assert by_step(info)[1].status == "failed"  # the step's own record keeps its failure


def test_a_retried_step_counts_its_attempts(store: Any) -> None:
    body = lambda: waku.step(flaky, 5)  # noqa: E731
    assert isinstance(waku.run_workflow("retry", body, workflow_id="r").result, ConnectionError)
    running = waku.get_workflow("retry", "r")
    assert running is not None and running.status == "failed"
    assert waku.run_workflow("retry", body, workflow_id="r").result == 5
    info = waku.get_workflow("retry", "r")
    assert info is not None and (info.status, info.error) == ("succeeded", None)
    (only,) = info.steps
    assert (only.status, only.attempts, only.output, only.error) == ("succeeded", 2, 5, None)


def test_a_callback_wait_folds_its_marker_into_its_step(store: Any) -> None:
    waku.run_callback_workflow("approval", {"amount": 45}, workflow_id="a-1")
    info = waku.get_workflow("approval", "a-1")
    assert info is not None
    assert (info.status, info.input) == ("waiting", {"amount": 45})
    assert utc(info.wake_at)  # the token's deadline
    assert [s.step for s in info.steps] == [0, 1]  # no negative step: the marker folded in
    start, waiting = info.steps
    assert (start.status, start.input, start.output, start.function) == (
        "input",
        {"amount": 45},
        None,
        None,
    )
    assert (waiting.status, waiting.function, waiting.input) == (
        "waiting",
        f"{__name__}:ask",
        {"amount": 45},
    )
    assert waiting.finished_at is None and waiting.output is None
    waku.run_workflow_from_callback(links[0], {"ok": True})
    done = waku.get_workflow("approval", "a-1")
    assert done is not None and (done.status, done.result, done.wake_at) == (
        "succeeded",
        True,
        None,
    )
    assert [(s.step, s.status) for s in done.steps] == [
        (0, "input"),
        (1, "succeeded"),
        (2, "succeeded"),
    ]
    assert by_step(done)[1].output == {"ok": True}


def test_a_cancelled_workflow_shows_its_steps_and_no_cancel_record(store: Any) -> None:
    waku.run_callback_workflow("approval", {"amount": 9}, workflow_id="c-1")
    waku.cancel("approval", "c-1")
    info = waku.get_workflow("approval", "c-1")
    assert info is not None and info.status == "cancelled"
    assert [(s.step, s.status) for s in info.steps] == [(0, "input"), (1, "waiting")]


def test_a_callback_past_its_deadline_shows_as_a_timeout(store: Any) -> None:
    waku.run_callback_workflow("brief-approval", {"amount": 1}, workflow_id="b-1")
    time.sleep(0.1)
    info = waku.get_workflow("brief-approval", "b-1")
    assert info is not None
    step = by_step(info)[1]
    assert step.status == "failed" and step.error is not None
    assert step.error.type_name == "waku._errors:CallbackTimeoutError"


def test_a_background_step_in_flight_is_running_not_waiting(store: Any) -> None:
    inside, release = threading.Event(), threading.Event()

    def slow(x: int) -> int:
        inside.set()
        release.wait(10)
        return x

    first = waku.run_workflow("bg", lambda: waku.step_async(slow, 7), workflow_id="bg-1")
    try:
        assert inside.wait(10)
        info = waku.get_workflow("bg", "bg-1")
        assert info is not None and info.status == "running"
        (step,) = info.steps
        assert (step.status, step.input, step.output) == ("running", 7, None)
    finally:
        release.set()
    assert first.wait(10).result == 7


# -- list_workflows ---------------------------------------------------------------


def test_listings_are_newest_first_without_steps_unless_asked(store: Any) -> None:
    waku.run_workflow("pipeline", pipeline, workflow_id="first")
    waku.run_callback_workflow("approval", {"amount": 2}, workflow_id="second")
    waku.run_workflow("pipeline", pipeline, workflow_id="third")
    listed = waku.list_workflows()
    assert [i.workflow_id for i in listed] == ["third", "second", "first"]
    assert all(i.steps == [] and i.input is None for i in listed)
    assert [i.result for i in listed] == [6, None, 6]
    detailed = waku.list_workflows(steps=True)
    assert detailed[1].input == {"amount": 2}
    assert detailed == [waku.get_workflow(i.workflow_name, i.workflow_id) for i in listed]
    assert [i.workflow_id for i in waku.list_workflows(name="pipeline")] == ["third", "first"]
    assert [i.workflow_id for i in waku.list_workflows(status="waiting")] == ["second"]
    assert [i.workflow_id for i in waku.list_workflows(status=waku.Status.WAITING)] == ["second"]
    assert [i.workflow_id for i in waku.list_workflows(limit=1)] == ["third"]


@pytest.mark.parametrize("filters", [{}, {"status": "failed"}, {"name": "even"}])
def test_paging_through_250_workflows_repeats_and_skips_none(
    store: Any, filters: dict[str, Any]
) -> None:
    def body(n: int) -> Any:
        return waku.step(refuse if n % 4 == 0 else add_one, n)

    for n in range(250):
        waku.run_workflow(("even", "odd")[n % 2], partial(body, n), workflow_id=f"w{n:03d}")
    seen: list[str] = []
    page = waku.list_workflows(limit=40, **filters)
    while page:
        seen += [i.workflow_id for i in page]
        page = waku.list_workflows(limit=40, before=page[-1], **filters)
    wanted = [f"w{n:03d}" for n in reversed(range(250))]
    if "status" in filters:
        wanted = [w for w in wanted if int(w[1:]) % 4 == 0]
    if "name" in filters:
        wanted = [w for w in wanted if int(w[1:]) % 2 == 0]
    assert seen == wanted


def test_paging_while_workflows_are_created_skips_none_of_the_older(store: Any) -> None:
    for n in range(30):
        waku.run_workflow("pipeline", pipeline, workflow_id=f"old-{n:02d}")
    seen: list[str] = []
    page = waku.list_workflows(limit=7)
    while page:
        seen += [i.workflow_id for i in page]
        waku.run_workflow("pipeline", pipeline, workflow_id=f"new-{len(seen)}")  # above page 1
        page = waku.list_workflows(limit=7, before=page[-1])
    assert seen == [f"old-{n:02d}" for n in reversed(range(30))]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"status": "done"}, ValueError, "status must be one of"),
        ({"limit": 0}, ValueError, "limit must be"),
        ({"limit": True}, ValueError, "limit must be"),
        ({"name": 3}, TypeError, "name must be"),
        ({"before": "w001"}, TypeError, "before must be a WorkflowInfo"),
    ],
)
def test_bad_listing_arguments_are_refused(
    store: Any, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        waku.list_workflows(**arguments)


# -- values that cannot be decoded ------------------------------------------------


def test_values_that_cannot_be_decoded_are_shown_not_raised(store: Any) -> None:
    store.set_workflow_status("damaged", "d", "succeeded", b"\xff not the codec's bytes")
    store.store_result("damaged", "d", 0, b"I json -\n{broken")
    store.store_start("damaged", "d", 1, b"no header line at all")
    store.store_result("damaged", "d", 1, b'R json m:f\n{"$t": "nope"}')
    store.store_result("damaged", "d", 2, b"E json m:g\nnot json")
    info = waku.get_workflow("damaged", "d")
    assert info is not None
    shown = [info.result, info.input, info.steps[1].input, info.steps[1].output]
    assert all(isinstance(v, str) and v.startswith("<cannot decode: ") for v in shown), shown
    assert "step 1" in info.steps[1].output
    assert info.steps[2].error is not None and info.steps[2].status == "failed"
    assert info.steps[2].error.message.startswith("<cannot decode: ")
    (listed,) = waku.list_workflows(steps=True)
    assert listed == info


def test_values_of_another_codec_are_shown_not_raised(store: Any) -> None:
    store.codec = waku.PickleCodec()
    waku.run_workflow("pickled", lambda: waku.step(add_one, 1), workflow_id="p")
    store.codec = waku.JsonCodec()
    info = waku.get_workflow("pickled", "p")
    assert info is not None and info.status == "succeeded"
    assert info.result.startswith("<cannot decode: ")
    assert "'pickle' codec" in info.steps[0].output
    assert waku.list_workflows()[0].result == info.result


# -- a store without the capability -----------------------------------------------


def test_a_store_that_cannot_inspect_says_so() -> None:
    plain = DictStore()
    waku.run_workflow("pipeline", pipeline, workflow_id="p", store=plain)
    calls: list[Callable[[], object]] = [
        lambda: waku.get_workflow("pipeline", "p", store=plain),
        lambda: waku.list_workflows(store=plain),
        lambda: waku.prune(older_than=dt.timedelta(0), store=plain),
    ]
    for call in calls:
        with pytest.raises(waku.StoreError, match="InspectStore") as caught:
            call()
        assert repr(plain) in str(caught.value)
