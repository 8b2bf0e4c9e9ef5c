"""Decisions over a run's history: replay or execute, and the records to write.

Nothing here calls user code; the sync and asyncio shells do, around these
functions. Store reads happen only where a decision needs fresh data.
"""

from __future__ import annotations

import functools
import traceback
from concurrent.futures import Future
from dataclasses import dataclass
from types import FunctionType
from typing import Any

from . import _codec
from ._context import Run
from ._envelope import Record, RecordKind, body_json, pack, pack_json, unpack
from ._errors import NonDeterminismError, SerializationError, StoreError

CALLBACK_FUNCTION = "-"  # function field of records written by the outside world


def function_name(f: Any) -> str:
    """``module:qualname`` identifying a step function across runs."""
    if type(f) is FunctionType:  # the common case, on every step
        return f"{f.__module__}:{f.__qualname__}".replace(" ", "_")
    while isinstance(f, functools.partial):
        f = f.func
    target = getattr(f, "__func__", f)  # bound methods
    if not hasattr(target, "__qualname__"):
        target = type(target)  # callable objects
    name = f"{getattr(target, '__module__', '?')}:{target.__qualname__}"
    return name.replace(" ", "_")


@dataclass(frozen=True, slots=True)
class Replayed:
    """A step's stored outcome: its value (or failure) is used instead of running it."""

    value: Any


def pending() -> Future[Any]:
    """A future that stays pending: the step completes in a later run."""
    return Future()


def replay(run: Run, step: int, function: str) -> Replayed | None:
    """The stored outcome of ``step``, or None when the step must run (again)."""
    if step in run.overrides:
        return Replayed(run.overrides.pop(step))
    payload = run.history.get(step)
    if payload is None:
        if -step in run.history:  # waiting for its callback, which has not come
            from ._callbacks import waiting_value

            check_function(run, step, waiting_record(run, step).function, function)
            return Replayed(waiting_value(run, step))
        return None
    record = read_record(run, step, payload)
    if record.kind is RecordKind.ERROR:
        return None  # failed attempts are never cached
    if record.kind is RecordKind.CALLBACK:
        from ._callbacks import complete_stored

        check_function(run, step, waiting_record(run, step).function, function)
        return Replayed(complete_stored(run, step, record))
    check_function(run, step, record.function, function)
    return Replayed(decode(run, step, record))


def check_function(run: Run, step: int, recorded: str, called: str) -> None:
    """Refuse to hand one function's stored result to another."""
    if recorded not in (called, CALLBACK_FUNCTION):
        raise NonDeterminismError(
            f"{run.where(step)} was recorded for step function {recorded} but the workflow "
            f"now calls {called} at that position. Restore the original order of steps, "
            "or run the changed workflow under a new id."
        )


def waiting_record(run: Run, step: int) -> Record:
    """The marker a step left while waiting for its callback."""
    return read_record(run, step, run.history[-step])


def read_record(run: Run, step: int, payload: bytes) -> Record:
    """Parse a stored record; a damaged one is a StoreError naming workflow and step."""
    try:
        return unpack(payload)
    except StoreError as error:
        raise StoreError(f"{run.where(step)}: {error}") from None


def decode(run: Run, step: int, record: Record) -> Any:
    """Decode a stored value with the codec that wrote it (JSON is always readable)."""
    codec = run.codec
    if record.codec != codec.name:
        if record.codec != "json":
            raise SerializationError(
                f"{run.where(step)} was stored with the {record.codec!r} codec but the store "
                f"uses {codec.name!r}; open the store with codec={record.codec!r}'s codec"
            )
        codec = _codec.JsonCodec()
    try:
        return codec.decode(record.body)
    except SerializationError as error:
        raise SerializationError(f"{run.where(step)}: {error}") from None
    except (ValueError, TypeError, KeyError) as error:  # bytes no codec run could have written
        raise StoreError(
            f"{run.where(step)}: the stored value is damaged and cannot be decoded "
            f"({type(error).__name__}: {error})"
        ) from None


def encode(run: Run, step: int, value: Any) -> bytes:
    """Encode a step's value; SerializationError names workflow, step and type."""
    try:
        return run.codec.encode(value)
    except SerializationError as error:
        raise SerializationError(
            f"{run.where(step)} returned a value it cannot store: {error}"
        ) from None
    except (TypeError, ValueError, RecursionError) as error:
        raise SerializationError(
            f"{run.where(step)} returned a value it cannot store: {type(error).__name__}: {error}"
        ) from None


def result_record(run: Run, step: int, function: str, value: Any) -> bytes:
    """The record of a successful step."""
    return pack(RecordKind.RESULT, run.codec.name, function, encode(run, step, value))


def start_record(run: Run, function: str, value: Any) -> bytes:
    """The record of a step's start; an input the codec cannot store is noted by type."""
    try:
        body = run.codec.encode(value)
    except (SerializationError, TypeError, ValueError, RecursionError):
        return pack_json(RecordKind.START, function, {"unstorable input": type(value).__qualname__})
    return pack(RecordKind.START, run.codec.name, function, body)


def error_record(function: str, error: BaseException) -> bytes:
    """The record of a failed attempt: type, message and traceback text."""
    return pack_json(RecordKind.ERROR, function, describe_error(error))


def describe_error(error: BaseException) -> dict[str, str]:
    """Type, message and traceback of an error, as stored."""
    return {
        "type": _codec.qualified_name(type(error)),
        "message": str(error),
        "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    }


def stored_failure(record: Record) -> StepFailed:
    """Rebuild a failure value from an ERROR record."""
    data = body_json(record)
    return StepFailed(data["type"], data["message"], data["traceback"])


class StepFailed(Exception):
    """A failure read back from a store, where the original exception is not at hand."""

    def __init__(self, type_name: str, message: str, traceback_text: str = "") -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.traceback_text = traceback_text
