"""The codecs, and the byte format of the JSON one.

``JsonCodec`` turns a value into a JSON-ready tree (``tree``) and that into
compact ASCII JSON. Bytes are stored as base64 text; large ones (arrays, data
frames) are written straight into the output around the JSON text, and read
straight from the input, so that neither side holds extra copies of them as
JSON strings. ``PickleCodec`` stores anything picklable and is for users who
opt in knowingly: loading a pickle can run code.
"""

from __future__ import annotations

import binascii
import io
import json
import pickle
import re
from typing import Any, Protocol, runtime_checkable

from .._errors import SerializationError
from .tree import BIG, SPLICED, TAG, encode_tree, from_tagged, type_name

_CHUNK = 3 << 18  # base64 is written in chunks of this many bytes (a multiple of 3)
_BLOB_PREFIX = b'{"$t":"byte'  # of "bytes" and "bytearray"
_BLOB_HEADS = (b'{"$t":"bytes","v":"', b'{"$t":"bytearray","v":"')
# The tree's placeholder for the n-th large bytes (or bytearray) value.
_BLOB_MARK = re.compile(r'\{"\$t":"(bytes|bytearray)","v":"\*(\d+)"\}')


@runtime_checkable
class Codec(Protocol):
    """Turns step values into bytes and back; ``name`` is recorded with each value."""

    name: str

    def encode(self, value: Any) -> bytes:
        """Return bytes for ``value``, or raise SerializationError naming its type."""
        ...

    def decode(self, data: bytes) -> Any:
        """Return a value equal to, and of the same type as, the one encoded."""
        ...


_SCALARS = frozenset({int, float, str, bool, type(None)})


class JsonCodec:
    """The safe default: tagged JSON that decodes without running user code."""

    name = "json"

    def encode(self, value: Any) -> bytes:
        """Encode ``value``; SerializationError names the unsupported type and where."""
        if type(value) in _SCALARS:  # nothing in it can be a large byte string to splice
            return _JSON_ENCODER.encode(encode_tree(value)).encode()
        blobs: list[memoryview] = []
        token = SPLICED.set(blobs)
        try:
            text = _JSON_ENCODER.encode(encode_tree(value))
        finally:
            SPLICED.reset(token)
        return _splice_out(text, blobs) if blobs else text.encode()

    def decode(self, data: bytes) -> Any:
        """Decode bytes written by ``encode``."""
        if len(data) >= BIG and _BLOB_PREFIX in data:
            return _decode_with_blobs(data)
        return _parse(_JSON_DECODER, data.decode())


class PickleCodec:
    """Opt-in codec for any picklable value. Only read data you wrote: pickle runs code."""

    name = "pickle"

    def encode(self, value: Any) -> bytes:
        """Pickle ``value``; an unpicklable one is a SerializationError."""
        try:
            return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            raise SerializationError(
                f"cannot pickle a value of type {type_name(value)}: {error}"
            ) from error

    def decode(self, data: bytes) -> Any:
        """Unpickle ``data``."""
        return pickle.loads(data)


def _parse(decoder: json.JSONDecoder, text: str) -> Any:
    # raw_decode skips json.loads's two whitespace scans; none is ever written.
    value, end = decoder.raw_decode(text)
    if end != len(text):
        raise SerializationError(f"stored value has trailing data at offset {end}")
    return value


def _splice_out(text: str, blobs: list[memoryview]) -> bytes:
    """The JSON text with each large-bytes placeholder replaced by its base64."""
    parts: list[bytes | memoryview] = []
    pos = 0
    for match in _BLOB_MARK.finditer(text):
        parts.append(text[pos : match.start()].encode() + b'{"$t":"%s","v":"' % match[1].encode())
        parts.append(blobs[int(match[2])])
        pos = match.end() - 2  # the closing '"}' is text again
    parts.append(text[pos:].encode())
    size = sum(len(p) if isinstance(p, bytes) else (len(p) + 2) // 3 * 4 for p in parts)
    # getvalue() hands the buffer over without a copy, and growing straight to
    # the final size first means it is never over-allocated or moved.
    out = io.BytesIO()
    out.seek(size - 1)
    out.write(b"\0")
    out.seek(0)
    for part in parts:
        if isinstance(part, bytes):
            out.write(part)
        else:
            for start in range(0, len(part), _CHUNK):
                out.write(binascii.b2a_base64(part[start : start + _CHUNK], newline=False))
    return out.getvalue()


def _decode_with_blobs(data: bytes) -> Any:
    """Decode with large base64 strings cut out of the text and decoded in place."""
    view = memoryview(data)
    pieces: list[bytes] = []
    blobs: list[memoryview] = []
    pos = 0
    while (start := data.find(_BLOB_PREFIX, pos)) >= 0:
        head = next((h for h in _BLOB_HEADS if data.startswith(h, start)), None)
        begin = start + len(head) if head else start + 1
        end = data.find(b'"', begin) if head else begin
        if head and end - begin >= BIG:
            tag = head[7:-7]  # b"bytes" or b"bytearray"
            pieces += [data[pos:start], b'{"$t":"%s","v":"*%d"}' % (tag, len(blobs))]
            blobs.append(view[begin:end])
            pos = end + 2  # past '"}'
        elif end >= 0:
            pieces.append(data[pos:end])
            pos = end
        else:
            break
    pieces.append(data[pos:])

    def hook(obj: dict[str, Any]) -> Any:
        tag = obj.get(TAG)
        if tag in ("bytes", "bytearray") and obj["v"][:1] == "*":
            index = int(obj["v"][1:])
            if index >= len(blobs):
                raise ValueError("stored value refers to bytes it does not hold")
            if tag == "bytes":
                return binascii.a2b_base64(blobs[index])
            return _into_bytearray(blobs[index])
        return from_tagged(obj)

    return _parse(json.JSONDecoder(object_hook=hook), b"".join(pieces).decode())


def _into_bytearray(text: memoryview) -> bytearray:
    """Decode base64 into one new bytearray, a chunk at a time (no second copy)."""
    if len(text) % 4:
        raise ValueError("stored base64 is cut short")
    padding = len(bytes(text[-2:])) - len(bytes(text[-2:]).rstrip(b"="))
    out = bytearray(len(text) // 4 * 3 - padding)
    step = _CHUNK // 3 * 4  # base64 characters for _CHUNK bytes
    for start in range(0, len(text), step):
        at = start // 4 * 3
        chunk = binascii.a2b_base64(text[start : start + step])
        out[at : at + len(chunk)] = chunk
    return out


# Built once: json.dumps/loads with options build a new coder on every call.
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"))
_JSON_DECODER = json.JSONDecoder(object_hook=from_tagged)
