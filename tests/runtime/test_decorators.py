"""@waku.workflow and step functions, in both styles and mixed."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import waku
from waku import StepStore

from . import flows


@pytest.fixture(autouse=True)
def _fresh() -> None:
    flows.calls.clear()
    flows.gate.clear()


def test_a_decorated_workflow_runs_durably_and_resumes_by_id(store: StepStore) -> None:
    first = flows.checkout.run(7, workflow_id="o7", fail=True)
    assert isinstance(first.result, ConnectionError)  # the workflow's failure is its result
    again = flows.checkout.run(7, workflow_id="o7")  # stored arguments win: fail=True again
    assert isinstance(again.result, ConnectionError)
    assert flows.calls == ["fetch 7", "charge 7", "charge 7"]  # fetch ran once


def test_arguments_are_stored_so_a_resume_needs_only_the_id(store: StepStore) -> None:
    done = flows.checkout.run(3, "JPY", workflow_id="o3")
    assert done.result == "charged 30 JPY" and done.latest_step == 2
    replay = waku.run_callback_workflow(flows.checkout.name, workflow_id="o3")
    assert replay.result == "charged 30 JPY"
    assert flows.calls == ["fetch 3", "charge 3"]


def test_calling_a_workflow_outside_runs_it_and_raises_its_failure(store: StepStore) -> None:
    assert flows.checkout(2) == "charged 20 EUR"
    with pytest.raises(ConnectionError, match="card service down"):
        flows.checkout(2, fail=True)


def test_a_workflow_called_inside_another_runs_inline(store: StepStore) -> None:
    outer = waku.run_workflow("outer", lambda: flows.checkout(4), workflow_id="x")
    assert outer.result == "charged 40 EUR" and outer.latest_step == 2


def test_names_default_to_module_and_qualname_and_are_unique() -> None:
    assert flows.checkout.name == "tests.runtime.flows:checkout"
    assert flows.mixed.name == "mixed-styles"
    with pytest.raises(ValueError, match=r"taken by tests\.runtime\.flows:checkout"):

        @waku.workflow(name="tests.runtime.flows:checkout")
        def impostor() -> None: ...


def test_step_functions_are_plain_calls_outside_a_workflow() -> None:
    assert flows.fetch(1) == {"id": 1, "amount": 10, "currency": "EUR"}
    with pytest.raises(ConnectionError):
        flows.charge({"id": 1, "amount": 1, "currency": "EUR"}, True)


def test_pipeline_and_decorator_styles_mix_in_one_workflow(store: StepStore) -> None:
    result = flows.mixed.run(5, workflow_id="m")
    assert result.result == "handled boom 10" and result.latest_step == 2


def test_step_functions_in_a_pipe_give_failures_as_values(store: StepStore) -> None:
    charge = waku.step(flows.boom)

    def body() -> Any:
        return waku.pipe(1, waku.step(lambda v: v + 1), charge, waku.else_(str))

    assert waku.run_workflow("piped", body, workflow_id="p").result == "boom 2"
    with pytest.raises(ValueError, match="boom 9"):
        waku.run_workflow("direct", lambda: charge(9), workflow_id="d")


def test_a_step_records_under_its_given_name(store: StepStore) -> None:
    flows.checkout.run(1, workflow_id="named")
    assert b"charge-card" in store.get_steps(flows.checkout.name, "named")[2]


def test_async_workflows_and_steps(store: StepStore) -> None:
    async def main() -> waku.WorkflowResult:
        return await flows.async_checkout.run_async(5, workflow_id="a5")

    assert asyncio.run(main()).result == "async 5"
    assert flows.async_checkout.run(5, workflow_id="a5").result == "async 5"  # replayed
    assert flows.calls == ["async fetch 5"]


def test_start_returns_a_handle_at_once(store: StepStore) -> None:
    handle = flows.gated.start(1, workflow_id="g1")
    assert handle.workflow_id == "g1"
    flows.gate.set()
    assert handle.result(timeout=10) == 3


def test_run_arguments_are_type_checked() -> None:
    def not_called() -> None:
        flows.checkout.run("seven")  # type: ignore[call-overload]

    assert callable(not_called)


def test_a_step_in_another_thread_sees_its_workflow(store: StepStore) -> None:
    seen: list[str] = []

    @waku.step
    def key(_: int) -> None:
        seen.append(waku.idempotency_key())

    thread_done = threading.Event()

    def body() -> None:
        key(1)
        thread_done.set()

    waku.run_workflow("keyed", body, workflow_id="k")
    assert thread_done.is_set() and seen == ["keyed/k/1"]
