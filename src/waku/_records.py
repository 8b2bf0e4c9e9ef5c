"""The record format every store keeps, parsed and built in this one place.

A record is one header line, then the codec's bytes:
``b"R json mymodule:parse\\n{...}"`` — kind, codec name, step function.
Stores may read the first byte to learn a record's kind (``waku.RecordKind``)
without understanding anything else; the engine keeps the function name and
codec here so that a user's six-method store gets replay, the
non-determinism check and callbacks for free.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import sys
import traceback
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import Any, NamedTuple

from ._codec import Codec, JsonCodec, qualified_name, resolve
from ._errors import SerializationError, StoreError


class RecordKind(str, enum.Enum):
    """First byte of every payload a store receives."""

    INPUT = "I"  # a workflow's start payload, stored as step 0
    START = "S"  # a step began; the body is its input
    RESULT = "R"  # a step succeeded; the body is its value
    ERROR = "E"  # a step attempt failed; the body is JSON type/message/traceback
    WAITING = "W"  # a step waits for a callback; stored at -step, body is JSON
    CALLBACK = "C"  # the outside world's payload for a waiting step, not yet transformed
    CANCELLED = "X"  # the workflow was cancelled; stored at CANCEL_STEP, body is JSON
    SLEEP = "T"  # a durable sleep: the step's wake time, JSON ``{"until": seconds}``


class Status(str, enum.Enum):
    """A workflow's status, as stores record it."""

    QUEUED = "queued"
    RUNNING = "running"  # also while background steps of a live run are in flight
    WAITING = "waiting"  # a step awaits a callback
    SLEEPING = "sleeping"  # suspended until a stored wake time
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


CANCEL_STEP = -(2**31)
"""The key of a workflow's cancel record: below every step's waiting marker."""

EXTERNAL = "-"
"""The function field of records the outside world writes (inputs, callbacks)."""


class Record(NamedTuple):
    """A parsed payload: what kind, written with which codec, by which function."""

    kind: RecordKind
    codec: str
    function: str
    body: bytes


_KINDS = {kind.value: kind for kind in RecordKind}

Where = str | Callable[[], str]
"""Where a record is, for error messages: text, or a function that makes it when needed."""


def say(where: Where) -> str:
    """The text of ``where``; made only on the error path, never per step."""
    return where if isinstance(where, str) else where()


def pack(kind: RecordKind, codec: str, function: str, body: bytes) -> bytes:
    """Build a payload; ``function`` is ``module:qualname`` and has no spaces."""
    return f"{kind.value} {codec} {function}\n".encode() + body


def parse(payload: bytes, where: Where) -> Record:
    """Parse a payload; a damaged one is a StoreError naming ``where`` it was stored."""
    head, newline, body = payload.partition(b"\n")
    try:
        kind, codec, function = head.decode().split(" ", 2)
        if not newline or kind not in _KINDS:
            raise ValueError("no valid header line")
        return Record(_KINDS[kind], codec, function, body)
    except ValueError as error:
        raise StoreError(
            f"{say(where)}: the stored record is damaged ({error}): {payload[:60]!r}"
        ) from None


def pack_json(kind: RecordKind, function: str, data: Any) -> bytes:
    """A record whose body is plain JSON (errors, waiting markers)."""
    return pack(kind, "json", function, json.dumps(data).encode())


def body_json(record: Record) -> Any:
    """The plain-JSON body of an ERROR or WAITING record."""
    return json.loads(record.body)


# -- values ---------------------------------------------------------------------


def encode(codec: Codec, value: Any, where: Where) -> bytes:
    """Encode a step's value; SerializationError names where and the type."""
    try:
        return codec.encode(value)
    except SerializationError as error:
        raise SerializationError(
            f"{say(where)} returned a value it cannot store: {error}"
        ) from None
    except (TypeError, ValueError, RecursionError) as error:
        raise SerializationError(
            f"{say(where)} returned a value it cannot store: {type(error).__name__}: {error}"
        ) from None


_JSON = JsonCodec()


def decode(codec: Codec, record: Record, where: Where) -> Any:
    """Decode a stored value with the codec that wrote it (JSON is always readable)."""
    if record.codec != codec.name:
        if record.codec != "json":
            raise SerializationError(
                f"{say(where)} was stored with the {record.codec!r} codec but the store "
                f"uses {codec.name!r}; open the store with codec={record.codec!r}'s codec"
            )
        codec = _JSON
    try:
        return codec.decode(record.body)
    except SerializationError as error:
        raise SerializationError(f"{say(where)}: {error}") from None
    except (ValueError, TypeError, KeyError) as error:  # bytes no codec run could have written
        raise StoreError(
            f"{say(where)}: the stored value is damaged and cannot be decoded "
            f"({type(error).__name__}: {error})"
        ) from None


# -- builders -------------------------------------------------------------------


def result_record(codec: Codec, function: str, value: Any, where: Where) -> bytes:
    """The record of a successful step."""
    return pack(RecordKind.RESULT, codec.name, function, encode(codec, value, where))


def input_record(codec: Codec, value: Any, where: Where) -> bytes:
    """The record of a workflow's start payload (step 0)."""
    return pack(RecordKind.INPUT, codec.name, EXTERNAL, encode(codec, value, where))


def callback_record(codec: Codec, function: str, value: Any, where: Where) -> bytes:
    """The record of a callback's raw payload, before the step's transform."""
    return pack(RecordKind.CALLBACK, codec.name, function, encode(codec, value, where))


def start_record(codec: Codec, function: str, value: Any) -> bytes:
    """The record of a step's start; an input the codec cannot store is noted by type."""
    try:
        body = codec.encode(value)
    except (SerializationError, TypeError, ValueError, RecursionError):
        return pack_json(RecordKind.START, function, {"unstorable input": type(value).__qualname__})
    return pack(RecordKind.START, codec.name, function, body)


def error_record(function: str, error: BaseException, **extra: Any) -> bytes:
    """The record of a failed attempt: type, message and traceback text.

    A step with a retry policy adds ``attempt`` (from 1), ``at`` (when it
    failed), ``retry_at`` (when the next attempt is due; absent once it gives
    up) and ``earlier`` (type, message and time of the attempts before it).
    """
    return pack_json(RecordKind.ERROR, function, {**describe_error(error), **extra})


SLEEP_FUNCTION = "waku:sleep"
"""The function field of a sleep's record: a sleep replaced by a step is non-deterministic."""


def sleep_record(until: float) -> bytes:
    """The record of a durable sleep taken as a step: when it ends."""
    return pack_json(RecordKind.SLEEP, SLEEP_FUNCTION, {"until": until})


def waiting_marker(
    function: str, tokens: list[str], transform: str | None, expires: float | None
) -> bytes:
    """The marker of a step waiting for a callback: token hashes, transform, deadline."""
    data = {"tokens": tokens, "transform": transform, "expires": expires}
    return pack_json(RecordKind.WAITING, function, data)


def describe_error(error: BaseException) -> dict[str, str]:
    """Type, message and traceback of an error, as stored."""
    return {
        "type": qualified_name(type(error)),
        "message": str(error),
        "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    }


class StepFailed(Exception):
    """A failure read back from a store, where the original exception is not at hand."""

    def __init__(self, type_name: str, message: str, traceback_text: str = "") -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.traceback_text = traceback_text


def stored_failure(record: Record) -> StepFailed:
    """Rebuild a failure value from an ERROR record."""
    data = body_json(record)
    return StepFailed(data["type"], data["message"], data["traceback"])


# -- step function identity -----------------------------------------------------


def function_name(f: Any) -> str:
    """``module:qualname`` identifying a step function across runs and processes.

    A function of the script run as ``__main__`` is named by the module that
    script is when imported (``python start.py`` gives ``start``), so a
    resume from a process that imports it finds the same name. A lambda gets
    a hash of its code too (independent of line numbers): lambdas all share
    the name ``<lambda>``, and without it replacing or reordering them would
    hand one lambda's stored result to another.
    """
    if type(f) is not FunctionType:
        while isinstance(f, functools.partial):
            f = f.func
        f = getattr(f, "__func__", f)  # bound methods
        if type(f) is not FunctionType:
            target = f if hasattr(f, "__qualname__") else type(f)  # callable objects
            name = f"{module_name(getattr(target, '__module__', '?'))}:{target.__qualname__}"
            return name.replace(" ", "_")
    module = f.__module__
    name = f"{module if module != '__main__' else module_name(module)}:{f.__qualname__}"
    if f.__name__ == "<lambda>":
        name += "#" + code_hash(f.__code__)
    return name.replace(" ", "_")


def module_name(module: str) -> str:
    """The name a module has when imported; for ``__main__``, the script's own module name."""
    if module != "__main__":
        return module
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and spec.name != "__main__":
        return str(spec.name)  # run with ``python -m package.module``
    return _script_module(getattr(main, "__file__", None))


@functools.lru_cache(maxsize=64)
def _script_module(path: str | None) -> str:
    if path:
        stem = path.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py")
        if stem.isidentifier():
            return stem
    return "__main__"  # code given to python -c, or a REPL


def find_function(reference: str) -> Any:
    """The function a ``module:qualname`` reference names, importing its module if needed.

    A reference to the script this process runs as ``__main__`` (see
    ``function_name``) is looked up there: importing the script under its
    own name would run it a second time.
    """
    module, _, qualname = reference.partition(":")
    if module not in sys.modules and module != "__main__" and module == module_name("__main__"):
        reference = f"__main__:{qualname}"
    return resolve(reference)


@functools.lru_cache(maxsize=4096)
def code_hash(code: CodeType) -> str:
    """Eight hex digits that change with what a function names and holds, not where it is.

    Built from the names, parameters and constants of the code (and of code
    nested in it), not its bytecode, which differs between Python versions:
    an upgrade must not make in-flight workflows look changed. The price:
    lambdas that differ only in an operator (``x + 1``, ``x - 1``) share it.
    """
    digest = hashlib.sha256()
    _feed(digest, code)
    return str(digest.hexdigest()[:8])


def _feed(digest: Any, code: CodeType) -> None:
    digest.update(repr((code.co_argcount, code.co_varnames, code.co_names)).encode())
    for const in code.co_consts:
        if isinstance(const, CodeType):
            _feed(digest, const)  # nested code: its repr holds an address and a line
        else:
            digest.update(repr(const).encode())
