"""Decisions over a run's history: replay a value, execute, deliver, or suspend.

Pure: nothing here reads or writes a store or calls user code. Given what a
workflow has stored (its history, by step) and a step being called, ``decide``
answers what the driver must do. Each record kind has one handler in one
table, so a new kind of record is one function, not a branch in each shell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from . import _clock
from ._codec import Codec
from ._errors import CallbackTimeoutError, NonDeterminismError
from ._records import (
    CANCEL_STEP,
    EXTERNAL,
    Record,
    RecordKind,
    body_json,
    decode,
    parse,
    stored_failure,
)


def where(name: str, workflow_id: str, step: int | None = None) -> str:
    """``workflow 'name' id 'x' step n``, for error messages."""
    text = f"workflow {name!r} id {workflow_id!r}"
    return text if step is None else f"{text} step {step}"


# -- decisions ------------------------------------------------------------------


# Decisions are named tuples: immutable, and cheap to make on every step.


class Replay(NamedTuple):
    """Use this value as the step's outcome without running it (a failure is a value)."""

    value: Any


class Execute:
    """Run the step's function and record what it gives."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "EXECUTE"


class Deliver(NamedTuple):
    """A callback's payload arrived: apply ``transform`` (a reference) and record the result."""

    value: Any
    transform: str | None
    function: str


class Suspend(NamedTuple):
    """The step cannot finish now: the workflow waits for ``reason`` until ``until``.

    A ``sleep`` or a ``retry`` backoff ends at ``until``; the driver waits
    that out in place when it is short, else suspends the workflow.
    """

    reason: str  # "callback", "sleep" or "retry"
    until: float | None
    step: int


class Retry(NamedTuple):
    """Run the step's function again as attempt ``attempt``: its backoff is over."""

    attempt: int
    earlier: tuple[dict[str, Any], ...]
    """Type, message and time of each failed attempt so far, oldest first."""


Decision = Replay | Execute | Deliver | Suspend | Retry
EXECUTE = Execute()


@dataclass(slots=True)
class Position:
    """A step being decided: where it is and what the workflow calls there.

    ``now`` is the clock in use (``_clock``) unless given (tests inject it);
    it is read only when a decision depends on it.
    """

    history: Mapping[int, bytes]
    codec: Codec
    name: str
    workflow_id: str
    step: int
    function: str
    now: float | None = None

    def clock(self) -> float:
        return _clock.now() if self.now is None else self.now

    def where(self) -> str:
        return where(self.name, self.workflow_id, self.step)

    def read(self, step: int) -> Record:
        return parse(self.history[step], self.where)


def decide_step(
    history: Mapping[int, bytes],
    codec: Codec,
    name: str,
    workflow_id: str,
    *,
    step: int,
    function: str,
) -> Decision:
    """``decide`` for a step of a live run, with fast paths for the two common cases.

    A step with nothing stored costs two lookups. A result this very function
    stored with this codec is decoded at once; anything else, including a
    value that fails to decode, takes the full path through the handlers,
    which gives the same answer or the error naming the step.
    """
    payload = history.get(step)
    if payload is None:
        if -step not in history:
            return EXECUTE
    else:
        head = f"R {codec.name} {function}\n".encode()
        if payload.startswith(head):
            try:
                return Replay(codec.decode(payload[len(head) :]))
            except Exception:  # the full path below says what is wrong
                pass
    return decide(Position(history, codec, name, workflow_id, step, function))


def decide(at: Position) -> Decision:
    """What happens when the workflow calls ``at.function`` at ``at.step``."""
    payload = at.history.get(at.step)
    if payload is not None:
        record = at.read(at.step)
        return _ON_RECORD[record.kind](at, record)
    if -at.step in at.history:
        marker = at.read(-at.step)
        return _ON_MARKER[marker.kind](at, marker)
    return EXECUTE


def after_tokens(at: Position, before: bytes | None) -> Decision:
    """The step handed out callback tokens and returned; ``at.history`` holds a fresh read.

    The callback may have come while the step ran: then it is delivered now.
    A stored result equal to ``before`` (what the run began with) belongs to
    an earlier attempt, and the step waits.
    """
    payload = at.history.get(at.step)
    if payload is None or payload == before:
        return _await_callback(at, at.read(-at.step))
    record = at.read(at.step)
    if record.kind is RecordKind.ERROR:
        return Replay(stored_failure(record))  # the outside world rejected it
    return decide(at)


def check_function(at: Position, recorded: str) -> None:
    """Refuse to hand one function's stored result to another."""
    if recorded not in (at.function, EXTERNAL):
        raise NonDeterminismError(
            f"{at.where()} was recorded for step function {recorded} but the workflow "
            f"now calls {at.function} at that position. Restore the original order of steps, "
            "or run the changed workflow under a new id."
        )


# -- handlers, one per record kind ----------------------------------------------


def _replay_result(at: Position, record: Record) -> Decision:
    check_function(at, record.function)
    return Replay(decode(at.codec, record, at.where))


def _run_again(at: Position, record: Record) -> Decision:
    """Failed attempts are never cached; one with a backoff is retried once it is over."""
    data = body_json(record)
    retry_at = data.get("retry_at")
    if retry_at is None or record.function != at.function:
        return EXECUTE  # gave up (a resume starts a new round of attempts), or code changed
    if at.clock() < retry_at:
        return Suspend("retry", retry_at, at.step)
    attempt = int(data.get("attempt", 1))
    this = {"attempt": attempt, "type": data["type"], "message": data["message"]}
    this["at"] = data.get("at")
    return Retry(attempt + 1, (*data.get("earlier", ()), this))


def _sleep(at: Position, record: Record) -> Decision:
    """A sleep taken here: over once its wake time has come."""
    check_function(at, record.function)
    until = body_json(record)["until"]
    if at.clock() >= until:
        return Replay(None)
    return Suspend("sleep", until, at.step)


def _deliver(at: Position, record: Record) -> Decision:
    marker = at.read(-at.step)
    check_function(at, marker.function)
    transform = body_json(marker).get("transform")
    return Deliver(decode(at.codec, record, at.where), transform, marker.function)


def _await_callback(at: Position, marker: Record) -> Decision:
    check_function(at, marker.function)
    expires = body_json(marker).get("expires")
    if expires is not None and at.clock() >= expires:
        return Replay(CallbackTimeoutError(f"{at.where()} got no callback before its deadline"))
    return Suspend("callback", expires, at.step)


def _not_a_step(at: Position, record: Record) -> Decision:
    raise NonDeterminismError(
        f"{at.where()} holds a {record.kind.name} record, which no step writes there; "
        "the store was changed by hand or by another program"
    )


Handler = Callable[[Position, Record], Decision]
_ON_RECORD: dict[RecordKind, Handler] = {
    **dict.fromkeys(RecordKind, _not_a_step),
    RecordKind.RESULT: _replay_result,
    RecordKind.ERROR: _run_again,
    RecordKind.CALLBACK: _deliver,
    RecordKind.SLEEP: _sleep,
}


def is_cancelled(history: Mapping[int, bytes]) -> bool:
    """Whether the workflow was cancelled (its cancel record is in the history)."""
    return CANCEL_STEP in history


_ON_MARKER: dict[RecordKind, Handler] = {
    **dict.fromkeys(RecordKind, _not_a_step),
    RecordKind.WAITING: _await_callback,
}


TIMERS = frozenset({"sleep", "retry"})
"""Suspensions that end at a time, not when the outside world calls."""


def wake_time(suspensions: list[Suspend]) -> tuple[str, float | None] | None:
    """The status and wake time of a run that stopped at ``suspensions``, or None.

    ``sleeping`` when only time can wake it (sleeps, backoffs); ``waiting``
    when a callback can; either way it wakes at the earliest stored time.
    """
    if not suspensions:
        return None
    times = [s.until for s in suspensions if s.until is not None]
    status = "sleeping" if all(s.reason in TIMERS for s in suspensions) else "waiting"
    return status, (min(times) if times else None)
