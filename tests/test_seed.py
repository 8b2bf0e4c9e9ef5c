"""The original library's test cases, ported."""

from __future__ import annotations

from typing import Any

import waku
from waku import StepStore


def test_simple_pipeline(store: StepStore) -> None:
    result = waku.run_workflow(
        "simple",
        lambda: waku.pipe(1, waku.then(lambda x: x + 1), waku.step(lambda x: x + 1)),
    )
    assert result.result == 3
    result = waku.run_workflow(
        "simple",
        lambda: waku.pipe(
            1,
            waku.then(lambda x: x + 1),
            waku.step(lambda x: x + 1),
            waku.step(lambda x: x + 1),
        ),
    )
    assert (result.result, result.latest_step) == (4, 2)


def test_step_until_loops_one_step_per_iteration(store: StepStore) -> None:
    result = waku.run_workflow(
        "until", lambda: waku.step_until(lambda x: x + 1, lambda x: x >= 5, 0)
    )
    assert (result.result, result.latest_step) == (5, 5)


def _flaky(kind: str) -> tuple[Any, list[int]]:
    calls = [0, 0]

    def first(x: int) -> int:
        calls[0] += 1
        return x + 1

    def second(x: int) -> Any:
        calls[1] += 1
        if calls[1] == 1:
            error = RuntimeError("first time fails")
            if kind == "raise":
                raise error
            return error
        return x * 10

    def body() -> Any:
        return waku.pipe(1, waku.step(first), waku.step(second))

    return body, calls


def test_returned_exception_is_retried_on_rerun_without_repeating_done_steps(
    store: StepStore,
) -> None:
    body, calls = _flaky("return")
    first = waku.run_workflow("flaky", body, workflow_id="wf-1")
    assert isinstance(first.result, RuntimeError)
    assert first.latest_step == 2
    second = waku.run_workflow("flaky", body, workflow_id="wf-1")
    assert (second.result, second.latest_step) == (20, 2)
    assert calls == [1, 2]


def test_raised_exception_is_retried_on_rerun_without_repeating_done_steps(
    store: StepStore,
) -> None:
    body, calls = _flaky("raise")
    first = waku.run_workflow("flaky", body, workflow_id="wf-2")
    assert str(first.result) == "first time fails"
    second = waku.run_workflow("flaky", body, workflow_id="wf-2")
    assert second.result == 20
    assert calls == [1, 2]


def test_pipeline_starting_from_failure_runs_no_step(store: StepStore) -> None:
    ran: list[int] = []
    result = waku.run_workflow(
        "from-failure",
        lambda: waku.pipe(
            ValueError("Something went wrong"),
            waku.step(ran.append),
            waku.else_(lambda e: "Handled error"),
        ),
    )
    assert (result.result, result.latest_step, ran) == ("Handled error", 0, [])


def test_readme_data_processing_example(store: StepStore) -> None:
    result = waku.run_workflow(
        "data-processing",
        lambda: waku.pipe(
            {"data": [1, 2, 3, 4, 5]},
            waku.step(lambda d: {**d, "data": [x + 1 for x in d["data"]]}),
            waku.step(lambda d: {**d, "data": [x for x in d["data"] if x % 2 == 0]}),
            waku.step(lambda d: {**d, "sum": sum(d["data"])}),
            waku.else_(lambda e: {"error": "Processing failed"}),
        ),
    )
    assert result.latest_step == 3
    assert result.result == {"data": [2, 4, 6], "sum": 12}
