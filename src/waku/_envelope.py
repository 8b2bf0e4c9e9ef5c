"""The record format every store keeps: one header line, then the codec's bytes.

``b"R json mymodule:parse\\n{...}"`` — kind, codec name, step function.
Stores may read the first byte to learn a record's kind (``waku.RecordKind``)
without understanding anything else; the engine keeps the function name and
codec here so that a user's six-method store gets replay, the
non-determinism check and callbacks for free.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from ._errors import StoreError


class RecordKind(str, enum.Enum):
    """First byte of every payload a store receives."""

    INPUT = "I"  # a workflow's start payload, stored as step 0
    START = "S"  # a step began; the body is its input
    RESULT = "R"  # a step succeeded; the body is its value
    ERROR = "E"  # a step attempt failed; the body is JSON type/message/traceback
    WAITING = "W"  # a step waits for a callback; stored at -step, body is JSON
    CALLBACK = "C"  # the outside world's payload for a waiting step, not yet transformed


@dataclass(frozen=True, slots=True)
class Record:
    """A parsed payload: what kind, written with which codec, by which function."""

    kind: RecordKind
    codec: str
    function: str
    body: bytes


def pack(kind: RecordKind, codec: str, function: str, body: bytes) -> bytes:
    """Build a payload; ``function`` is ``module:qualname`` and has no spaces."""
    return f"{kind.value} {codec} {function}\n".encode() + body


_KINDS = {kind.value: kind for kind in RecordKind}


def unpack(payload: bytes) -> Record:
    """Parse a payload; a damaged one is a StoreError (the caller adds where it was)."""
    head, newline, body = payload.partition(b"\n")
    try:
        kind, codec, function = head.decode().split(" ", 2)
        if not newline or kind not in _KINDS:
            raise ValueError("no valid header line")
        return Record(_KINDS[kind], codec, function, body)
    except ValueError as error:
        raise StoreError(f"the stored record is damaged ({error}): {payload[:60]!r}") from None


def pack_json(kind: RecordKind, function: str, data: Any) -> bytes:
    """A record whose body is plain JSON (errors, waiting markers)."""
    return pack(kind, "json", function, json.dumps(data).encode())


def body_json(record: Record) -> Any:
    """The plain-JSON body of an ERROR or WAITING record."""
    return json.loads(record.body)
