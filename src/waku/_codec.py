"""Values to bytes and back: a faithful round trip, or a SerializationError.

``JsonCodec`` (the default) writes readable JSON and never runs code when it
reads: types JSON lacks travel as small tagged objects ``{"$t": tag, ...}``,
and classes (dataclasses, enums) are looked up by ``module:qualname`` and must
really be a dataclass or an Enum before anything is built. ``PickleCodec``
stores anything picklable and is for users who opt in knowingly: loading a
pickle can run code.

Types are matched exactly (``type(v) is list``): a subclass such as
``OrderedDict`` or a named tuple would come back as its base type, so it is
refused instead of silently changed.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import importlib
import json
import math
import pickle
import sys
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from ._errors import SerializationError

TAG = "$t"
# Python refuses to parse decimal ints over 4300 digits; larger ints go as hex.
_MAX_DECIMAL_BITS = 14_000


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


def qualified_name(obj: Any) -> str:
    """``module:qualname`` of a function or class, the form ``resolve`` reads."""
    return f"{obj.__module__}:{obj.__qualname__}"


def resolve(reference: str) -> Any:
    """Find the object named ``module:qualname``, importing the module if needed."""
    module_name, _, qualname = reference.partition(":")
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class JsonCodec:
    """The safe default: tagged JSON that decodes without running user code."""

    name = "json"

    def encode(self, value: Any) -> bytes:
        """Encode ``value``; SerializationError names the unsupported type and where."""
        return _JSON_ENCODER.encode(_encode_tree(value)).encode()

    def decode(self, data: bytes) -> Any:
        """Decode bytes written by ``encode``."""
        text = data.decode()
        # raw_decode skips json.loads's two whitespace scans; none is ever written.
        value, end = _JSON_DECODER.raw_decode(text)
        if end != len(text):
            raise SerializationError(f"stored value has trailing data at offset {end}")
        return value


class PickleCodec:
    """Opt-in codec for any picklable value. Only read data you wrote: pickle runs code."""

    name = "pickle"

    def encode(self, value: Any) -> bytes:
        """Pickle ``value``; an unpicklable one is a SerializationError."""
        try:
            return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            raise SerializationError(
                f"cannot pickle a value of type {_type_name(value)}: {error}"
            ) from error

    def decode(self, data: bytes) -> Any:
        """Unpickle ``data``."""
        return pickle.loads(data)


def _type_name(value: Any) -> str:
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else qualified_name(cls)


# -- encoding: value -> JSON-ready tree ---------------------------------------


class _Refused(Exception):
    """Raised deep in the walk; the codec adds where in the value it happened."""

    def __init__(self, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.value = value
        self.reason = reason


def to_json(value: Any) -> Any:
    """Return a JSON-ready tree for ``value``, or raise _Refused for what it cannot store."""
    encode = _ENCODERS.get(type(value))
    if encode is not None:
        return encode(value)
    if isinstance(value, enum.Enum):
        return {TAG: "enum", "c": _class_ref(value), "n": value.name}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {TAG: "dc", "c": _class_ref(value), "f": fields}
    raise _Refused(
        value,
        f"is of type {_type_name(value)}, which Waku cannot store faithfully; "
        "return a supported type (see the README's codec table) or use PickleCodec",
    )


def _encode_tree(value: Any) -> Any:
    try:
        return to_json(value)
    except _Refused as refused:
        where = _locate(value, refused.value, "value") or "a part of the value"
        raise SerializationError(f"{where} {refused.reason}") from None


def _locate(value: Any, target: Any, path: str) -> str | None:
    """The path to ``target`` inside ``value``: walked only to word an error."""
    if value is target:
        return path
    if type(value) is dict:
        for key, item in value.items():
            found = _locate(key, target, f"{path} key") or _locate(item, target, f"{path}[{key!r}]")
            if found:
                return found
    elif type(value) in (list, tuple, set, frozenset):
        for i, item in enumerate(value):
            found = _locate(item, target, f"{path}[{i}]")
            if found:
                return found
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            found = _locate(getattr(value, f.name), target, f"{path}.{f.name}")
            if found:
                return found
    return None


def _class_ref(value: Any) -> str:
    ref = qualified_name(type(value))
    if "<locals>" in ref:
        raise _Refused(
            value,
            f"is an instance of {ref}, a class that cannot be found again after a restart; "
            "define it at module level",
        )
    return ref


_PLAIN = frozenset({str, bool, type(None)})


def _same(value: Any) -> Any:
    return value


def _int(value: int) -> Any:
    if value.bit_length() > _MAX_DECIMAL_BITS:
        return {TAG: "int", "v": hex(value)}
    return value


def _float(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {TAG: "float", "v": repr(value)}


def _list(value: list[Any]) -> Any:
    return [item if type(item) in _PLAIN else to_json(item) for item in value]


def _tuple(value: tuple[Any, ...]) -> Any:
    return {TAG: "tuple", "v": _list(value)}  # type: ignore[arg-type]


def _dict(value: dict[Any, Any]) -> Any:
    if TAG not in value and all(type(key) is str for key in value):
        return {key: item if type(item) in _PLAIN else to_json(item) for key, item in value.items()}
    return {TAG: "dict", "v": [[to_json(key), to_json(item)] for key, item in value.items()]}


def _collection(tag: str) -> Callable[[Any], Any]:
    def encode(value: Any) -> Any:
        return {TAG: tag, "v": [to_json(item) for item in value]}

    return encode


def _bytes(value: bytes) -> Any:
    return {TAG: "bytes", "v": base64.b64encode(value).decode()}


def _tz(tz: dt.tzinfo | None) -> Any:
    if tz is None:
        return None
    if type(tz) is dt.timezone:
        offset = tz.utcoffset(None)
        return {"o": offset.total_seconds(), "n": tz.tzname(None)}
    key = getattr(tz, "key", None)
    if type(tz).__module__ == "zoneinfo" and isinstance(key, str):
        return {"z": key}
    raise _Refused(tz, f"is a tzinfo of type {_type_name(tz)}; use datetime.timezone or zoneinfo")


def _datetime(value: dt.datetime) -> Any:
    naive = value.replace(tzinfo=None).isoformat()
    return {TAG: "datetime", "v": naive, "tz": _tz(value.tzinfo), "fold": value.fold}


def _time(value: dt.time) -> Any:
    naive = value.replace(tzinfo=None).isoformat()
    return {TAG: "time", "v": naive, "tz": _tz(value.tzinfo), "fold": value.fold}


def _date(value: dt.date) -> Any:
    return {TAG: "date", "v": value.isoformat()}


def _timedelta(value: dt.timedelta) -> Any:
    return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}


def _decimal(value: Decimal) -> Any:
    return {TAG: "decimal", "v": str(value)}


def _uuid(value: uuid.UUID) -> Any:
    return {TAG: "uuid", "v": str(value)}


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    str: _same,
    bool: _same,
    type(None): _same,
    int: _int,
    float: _float,
    list: _list,
    dict: _dict,
    tuple: _tuple,
    set: _collection("set"),
    frozenset: _collection("frozenset"),
    bytes: _bytes,
    dt.datetime: _datetime,
    dt.date: _date,
    dt.time: _time,
    dt.timedelta: _timedelta,
    Decimal: _decimal,
    uuid.UUID: _uuid,
}


# -- decoding: JSON objects with a tag -> values ------------------------------


def _from_tagged(obj: dict[str, Any]) -> Any:
    tag = obj.get(TAG)
    if tag is None:
        return obj
    decode = _DECODERS.get(tag)
    if decode is None:
        raise SerializationError(f"stored value has an unknown tag {tag!r}")
    return decode(obj)


def _load_tz(data: Any) -> dt.tzinfo | None:
    if data is None:
        return None
    if "z" in data:
        return ZoneInfo(data["z"])
    offset = dt.timedelta(seconds=data["o"])
    name = data["n"]
    return (
        dt.timezone.utc
        if offset == dt.timedelta(0) and name == "UTC"
        else dt.timezone(offset, name)
    )


def _load_datetime(obj: dict[str, Any]) -> dt.datetime:
    value = dt.datetime.fromisoformat(obj["v"])
    return value.replace(tzinfo=_load_tz(obj["tz"]), fold=obj["fold"])


def _load_time(obj: dict[str, Any]) -> dt.time:
    value = dt.time.fromisoformat(obj["v"])
    return value.replace(tzinfo=_load_tz(obj["tz"]), fold=obj["fold"])


def _load_class(obj: dict[str, Any], check: Callable[[Any], bool], kind: str) -> Any:
    ref = obj["c"]
    try:
        cls = resolve(ref)
    except (ImportError, AttributeError) as error:
        raise SerializationError(f"stored {kind} class {ref} cannot be found: {error}") from error
    if not (isinstance(cls, type) and check(cls)):
        raise SerializationError(f"stored {kind} class {ref} is not a {kind}; refusing to build it")
    return cls


def _load_enum(obj: dict[str, Any]) -> Any:
    cls = _load_class(obj, lambda c: issubclass(c, enum.Enum), "enum")
    return cls[obj["n"]]


def _load_dataclass(obj: dict[str, Any]) -> Any:
    cls = _load_class(obj, dataclasses.is_dataclass, "dataclass")
    # Restore the stored state as is: __init__ and __post_init__ ran when the
    # value was first built, and frozen classes refuse normal assignment.
    value = object.__new__(cls)
    for name, item in obj["f"].items():
        object.__setattr__(value, name, item)
    return value


# Built once: json.dumps/loads with options build a new coder on every call.
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"))
_JSON_DECODER = json.JSONDecoder(object_hook=_from_tagged)

_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "int": lambda o: int(o["v"], 16),
    "float": lambda o: float(o["v"]),
    "tuple": lambda o: tuple(o["v"]),
    "dict": lambda o: dict(o["v"]),
    "set": lambda o: set(o["v"]),
    "frozenset": lambda o: frozenset(o["v"]),
    "bytes": lambda o: base64.b64decode(o["v"]),
    "datetime": _load_datetime,
    "date": lambda o: dt.date.fromisoformat(o["v"]),
    "time": _load_time,
    "timedelta": lambda o: dt.timedelta(*o["v"]),
    "decimal": lambda o: Decimal(o["v"]),
    "uuid": lambda o: uuid.UUID(o["v"]),
    "enum": _load_enum,
    "dc": _load_dataclass,
}
