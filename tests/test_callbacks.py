"""Callback tokens: steps that the outside world completes."""

from __future__ import annotations

import re
import threading
from concurrent.futures import Future
from typing import Any

import pytest

import waku
from waku import StepStore

from .stores.kinds import STATUSES, store_fixture

seen: list[Any] = []


def describe(payload: dict[str, int]) -> str:
    return f"{payload['input']} was input, output: {payload['output']}"


def ask_outside(value: int) -> int:
    tokens.append(waku.create_callback_token(describe))
    return -1  # ignored: the step's result comes from the callback


tokens: list[str] = []


def callback_workflow(payload: int) -> Any:
    seen.append(payload)
    return waku.pipe(payload, waku.step(lambda x: x + 1), waku.step(ask_outside))


@pytest.fixture(autouse=True)
def _registered() -> None:
    seen.clear()
    tokens.clear()
    waku.register_workflow("callback-wf", callback_workflow)


def test_callback_resumes_with_the_stored_initial_payload(store: StepStore) -> None:
    first = waku.run_callback_workflow("callback-wf", 45, workflow_id="cb-1")
    assert isinstance(first.result, Future) and not first.result.done()
    assert first.latest_step == 2
    done = waku.run_workflow_from_callback(tokens[0], {"input": 45, "output": 46})
    assert done.result == "45 was input, output: 46"
    assert (done.workflow_id, done.latest_step) == ("cb-1", 2)
    assert seen == [45, 45]


def test_rerun_while_waiting_neither_reruns_the_step_nor_mints_a_token(store: StepStore) -> None:
    waku.run_callback_workflow("callback-wf", 1, workflow_id="cb-2")
    again = waku.run_callback_workflow("callback-wf", 1, workflow_id="cb-2")
    assert isinstance(again.result, Future) and not again.result.done()
    assert len(tokens) == 1


def test_spent_token_is_refused_and_changes_nothing(store: StepStore) -> None:
    waku.run_callback_workflow("callback-wf", 45, workflow_id="cb-3")
    waku.run_workflow_from_callback(tokens[0], {"input": 45, "output": 46})
    before = dict(store.get_steps("callback-wf", "cb-3"))
    with pytest.raises(waku.TokenAlreadyUsedError):
        waku.run_workflow_from_callback(tokens[0], {"input": 0, "output": 0})
    assert dict(store.get_steps("callback-wf", "cb-3")) == before


@pytest.mark.parametrize(
    "bogus",
    ["", "nonsense", "a.b", "W1siY2FsbGJhY2std2YiLCJjYi00IiwyXQ.forged-secret"],
)
def test_bogus_tokens_are_invalid_and_change_nothing(store: StepStore, bogus: str) -> None:
    waku.run_callback_workflow("callback-wf", 45, workflow_id="cb-4")
    before = dict(store.get_steps("callback-wf", "cb-4"))
    with pytest.raises(waku.InvalidTokenError):
        waku.run_workflow_from_callback(bogus, {"input": 1, "output": 2})
    assert dict(store.get_steps("callback-wf", "cb-4")) == before


def test_token_redirected_to_another_step_is_refused(store: StepStore) -> None:
    waku.run_callback_workflow("callback-wf", 45, workflow_id="cb-5")
    _, secret = tokens[0].split(".", 1)
    import base64
    import json

    where = base64.urlsafe_b64encode(json.dumps(["callback-wf", "cb-5", 1]).encode()).decode()
    with pytest.raises(waku.InvalidTokenError, match="cb-5"):
        waku.run_workflow_from_callback(where.rstrip("=") + "." + secret, {})


def test_two_racing_completions_exactly_one_wins(store: StepStore) -> None:
    waku.run_callback_workflow("callback-wf", 45, workflow_id="cb-6")
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def deliver(output: int) -> None:
        barrier.wait()
        try:
            outcomes.append(
                waku.run_workflow_from_callback(tokens[0], {"input": 45, "output": output})
            )
        except waku.TokenAlreadyUsedError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [o for o in outcomes if isinstance(o, waku.TokenAlreadyUsedError)]
    assert len(errors) == 1
    final = waku.run_callback_workflow("callback-wf", 45, workflow_id="cb-6")
    assert final.result in ("45 was input, output: 1", "45 was input, output: 2")


def test_fail_callback_gives_a_failure_then_a_fresh_token_on_resume(store: StepStore) -> None:
    waku.run_callback_workflow("callback-wf", 45, workflow_id="cb-7")
    rejected = waku.fail_callback(tokens[0], "manager said no")
    assert waku.is_failure(rejected.result) and "manager said no" in str(rejected.result)
    again = waku.run_callback_workflow("callback-wf", 45, workflow_id="cb-7")
    assert len(tokens) == 2 and not again.result.done()
    done = waku.run_workflow_from_callback(tokens[1], {"input": 45, "output": 99})
    assert done.result == "45 was input, output: 99"


def test_completion_arriving_while_the_step_runs_is_applied(store: StepStore) -> None:
    def early(value: int) -> int:
        token = waku.create_callback_token()
        waku.run_workflow_from_callback(token, value * 2)  # the webhook beats the step's end
        return -1

    waku.register_workflow(
        "early", lambda p: waku.pipe(p, waku.step(early), waku.step(lambda x: x + 1))
    )
    result = waku.run_callback_workflow("early", 20, workflow_id="cb-8")
    assert (result.result, result.latest_step) == (41, 2)


def test_unknown_workflow_name_is_refused(store: StepStore) -> None:
    with pytest.raises(waku.UnknownWorkflowError, match="no-such-workflow"):
        waku.run_callback_workflow("no-such-workflow", 1)


def test_token_outside_a_step_is_an_error() -> None:
    with pytest.raises(waku.NotInWorkflowError, match="create_callback_token"):
        waku.create_callback_token()


def test_deadline_takes_the_other_path(store: StepStore) -> None:
    fired = threading.Event()

    def wait_briefly(value: int) -> int:
        tokens.append(waku.create_callback_token(ttl=0.05))
        return value

    def on_timeout(error: Exception) -> str:
        fired.set()
        return f"timed out: {type(error).__name__}"

    waku.register_workflow(
        "deadline", lambda p: waku.pipe(p, waku.step(wait_briefly), waku.else_(on_timeout))
    )
    first = waku.run_callback_workflow("deadline", 1, workflow_id="cb-9")
    assert not first.result.done()
    assert fired.wait(5), "the deadline did not carry the workflow on"
    final = waku.run_callback_workflow("deadline", 1, workflow_id="cb-9")
    assert final.result == "timed out: CallbackTimeoutError"
    with pytest.raises(waku.InvalidTokenError, match="expired"):
        waku.run_workflow_from_callback(tokens[0], 5)


def test_lambda_transform_with_a_durable_store_is_refused_at_token_creation() -> None:
    from .readme_store import DictStore

    durable = DictStore()  # no ``durable = False``: treated as durable

    def lambda_transform(value: int) -> int:
        waku.create_callback_token(lambda payload: payload)
        return value

    waku.register_workflow("lambda-transform", lambda p: waku.step(lambda_transform, p))
    result = waku.run_callback_workflow("lambda-transform", 1, workflow_id="lt", store=durable)
    assert isinstance(result.result, waku.SerializationError)  # the step's failure value
    assert re.search(r"step 1: the callback transform .*module level", str(result.result))
    assert -1 not in durable.get_steps("lambda-transform", "lt")  # no marker was left behind


def test_callback_payload_the_codec_cannot_store_is_refused_before_spending(
    store: StepStore,
) -> None:
    waku.run_callback_workflow("callback-wf", 45, workflow_id="cb-10")
    with pytest.raises(waku.SerializationError, match="object"):
        waku.run_workflow_from_callback(tokens[0], object())
    done = waku.run_workflow_from_callback(tokens[0], {"input": 45, "output": 46})
    assert done.result == "45 was input, output: 46"


status_store = store_fixture(STATUSES)


def test_status_is_waiting_until_the_callback_comes(status_store: Any) -> None:
    waku.run_callback_workflow("callback-wf", 45, workflow_id="cb-11")
    assert status_store.get_workflow_status("callback-wf", "cb-11") == "waiting"
    waku.run_workflow_from_callback(tokens[0], {"input": 45, "output": 46})
    assert status_store.get_workflow_status("callback-wf", "cb-11") == "succeeded"
