"""The pure core's answers for sleeps and retry backoffs: histories in, decisions out."""

from __future__ import annotations

import json

import pytest

import waku
from waku._codec import JsonCodec
from waku._engine import EXECUTE, Position, Replay, Retry, Suspend, decide, wake_time
from waku._records import SLEEP_FUNCTION, error_record, result_record, sleep_record

CODEC = JsonCodec()
F = "app:charge"


def at(history: dict[int, bytes], step: int = 1, function: str = F, now: float = 100.0) -> Position:
    return Position(history, CODEC, "wf", "id", step, function, now)


def test_a_sleep_suspends_until_its_wake_time_then_replays_as_over() -> None:
    history = {1: sleep_record(160.0)}
    assert decide(at(history, function=SLEEP_FUNCTION, now=100.0)) == Suspend("sleep", 160.0, 1)
    assert decide(at(history, function=SLEEP_FUNCTION, now=160.0)) == Replay(None)
    assert decide(at(history, function=SLEEP_FUNCTION, now=1e9)) == Replay(None)


def test_a_sleep_replaced_by_a_step_or_a_step_by_a_sleep_is_refused() -> None:
    with pytest.raises(waku.NonDeterminismError, match=r"waku:sleep.*app:charge"):
        decide(at({1: sleep_record(160.0)}))
    with pytest.raises(waku.NonDeterminismError, match=r"app:charge.*waku:sleep"):
        decide(at({1: result_record(CODEC, F, 5, "here")}, function=SLEEP_FUNCTION))


def failed(attempt: int, retry_at: float | None, **extra: object) -> bytes:
    fields: dict[str, object] = {"attempt": attempt, "at": 90.0, **extra}
    if retry_at is not None:
        fields["retry_at"] = retry_at
    return error_record(F, ConnectionError("down"), **fields)


def test_a_failed_attempt_with_a_backoff_waits_for_it_then_continues_the_count() -> None:
    history = {1: failed(2, 130.0, earlier=[{"attempt": 1, "type": "t", "message": "m"}])}
    assert decide(at(history, now=100.0)) == Suspend("retry", 130.0, 1)
    decision = decide(at(history, now=130.0))
    assert isinstance(decision, Retry) and decision.attempt == 3
    assert [e["attempt"] for e in decision.earlier] == [1, 2]
    assert decision.earlier[-1] == {
        "attempt": 2,
        "type": "builtins:ConnectionError",
        "message": "down",
        "at": 90.0,
    }


def test_an_attempt_that_gave_up_runs_again_as_a_new_round() -> None:
    assert decide(at({1: failed(3, None)})) == EXECUTE


def test_a_backoff_recorded_for_another_function_is_not_honoured() -> None:
    assert decide(at({1: failed(1, 500.0)}, function="app:refund")) == EXECUTE


def test_only_timers_make_a_run_sleeping() -> None:
    sleep = Suspend("sleep", 300.0, 2)
    backoff = Suspend("retry", 200.0, 3)
    callback = Suspend("callback", None, 1)
    assert wake_time([]) is None
    assert wake_time([sleep, backoff]) == ("sleeping", 200.0)
    assert wake_time([callback, sleep]) == ("waiting", 300.0)
    assert wake_time([callback]) == ("waiting", None)


def test_a_sleep_record_holds_its_wake_time_as_json() -> None:
    payload = sleep_record(1234.5)
    head, body = payload.split(b"\n", 1)
    assert head == b"T json waku:sleep"
    assert payload[:1] == waku.RecordKind.SLEEP.value.encode()
    assert json.loads(body) == {"until": 1234.5}
