"""The pure core: histories in, decisions out. No store, no threads, no sleeping."""

from __future__ import annotations

from typing import Any

import pytest

import waku
from waku._codec import JsonCodec
from waku._engine import EXECUTE, Deliver, Position, Replay, Suspend, after_tokens, decide
from waku._records import (
    callback_record,
    error_record,
    function_name,
    result_record,
    waiting_marker,
)

CODEC = JsonCodec()
F = "app:charge"


def at(history: dict[int, bytes], step: int = 1, function: str = F, now: float = 100.0) -> Position:
    return Position(history, CODEC, "wf", "id", step, function, now)


def result(value: Any, function: str = F) -> bytes:
    return result_record(CODEC, function, value, "here")


def test_nothing_stored_means_execute() -> None:
    assert decide(at({})) == EXECUTE


def test_a_stored_result_is_replayed_with_its_type() -> None:
    decision = decide(at({1: result((1, "a"))}))
    assert decision == Replay((1, "a")) and isinstance(decision, Replay)
    assert type(decision.value) is tuple


def test_a_failed_attempt_runs_again() -> None:
    assert decide(at({1: error_record(F, ValueError("no"))})) == EXECUTE


def test_another_function_at_a_recorded_position_is_refused() -> None:
    with pytest.raises(waku.NonDeterminismError, match=r"app:charge.*app:refund"):
        decide(at({1: result(5)}, function="app:refund"))


def test_a_waiting_step_suspends_until_its_deadline_then_times_out() -> None:
    history = {-1: waiting_marker(F, ["hash"], None, 150.0)}
    assert decide(at(history, now=100.0)) == Suspend("callback", 150.0, 1)
    late = decide(at(history, now=150.0))
    assert isinstance(late, Replay) and isinstance(late.value, waku.CallbackTimeoutError)


def test_a_waiting_step_without_deadline_suspends_with_no_wake_time() -> None:
    history = {-1: waiting_marker(F, ["hash"], None, None)}
    assert decide(at(history, now=1e12)) == Suspend("callback", None, 1)


def test_a_delivered_callback_is_handed_to_the_driver_with_its_transform() -> None:
    history = {
        -1: waiting_marker(F, ["hash"], "app:parse", None),
        1: callback_record(CODEC, F, {"ok": True}, "here"),
    }
    assert decide(at(history)) == Deliver({"ok": True}, "app:parse", F)


def test_a_waiting_step_checks_the_function_too() -> None:
    history = {-1: waiting_marker(F, ["hash"], None, None)}
    with pytest.raises(waku.NonDeterminismError):
        decide(at(history, function="app:other"))


def test_after_tokens_waits_unless_something_new_was_stored() -> None:
    marker = waiting_marker(F, ["hash"], None, None)
    stale = error_record(F, RuntimeError("earlier attempt"))
    assert after_tokens(at({-1: marker, 1: stale}), stale) == Suspend("callback", None, 1)
    rejected = error_record(F, RuntimeError("said no"), token="hash")
    decision = after_tokens(at({-1: marker, 1: rejected}), stale)
    assert isinstance(decision, Replay) and "said no" in str(decision.value)
    delivered = callback_record(CODEC, F, 7, "here")
    assert after_tokens(at({-1: marker, 1: delivered}), None) == Deliver(7, None, F)


def test_records_no_step_writes_at_a_step_are_refused() -> None:
    with pytest.raises(waku.NonDeterminismError, match="INPUT record"):
        decide(at({1: b"I json -\n1"}))


def test_damaged_records_name_the_step() -> None:
    with pytest.raises(waku.StoreError, match=r"'wf' id 'id' step 1.*damaged"):
        decide(at({1: b"no header"}))


def test_lambdas_are_told_apart_by_their_code_not_their_line() -> None:
    first, second = (lambda x: x + 1), (lambda x: x * 2)
    same_code = lambda x: x + 1  # noqa: E731
    assert function_name(first) != function_name(second)
    assert function_name(first) == function_name(same_code)
    assert function_name(first).split("#")[0].endswith("<lambda>")


def test_named_functions_keep_their_plain_name() -> None:
    assert function_name(test_named_functions_keep_their_plain_name) == (
        "tests.engine.test_decide:test_named_functions_keep_their_plain_name"
    )
