"""Values to JSON-ready trees and back: the part of the JSON codec that knows types.

``to_json`` turns a value into lists, dicts, strings and numbers, with the types
JSON lacks as small tagged objects ``{"$t": tag, ...}``; ``from_tagged`` is the
JSON decoder's object hook that builds them again. Nothing is built from a
stored name unless it is checked first: a class must really be a dataclass or
an Enum, an adapter must be in the registry (``adapters``).
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import dataclasses
import datetime as dt
import enum
import importlib
import math
import sys
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .._errors import SerializationError
from . import adapters
from .adapters import RawBytes

TAG = "$t"
# Python refuses to parse decimal ints over 4300 digits; larger ints go as hex.
_MAX_DECIMAL_BITS = 14_000
# Bytes at least this long are left out of the tree while JsonCodec.encode runs:
# the tree holds a placeholder "*n" (never base64) and the codec splices them in.
BIG = 1 << 16
SPLICED: contextvars.ContextVar[list[memoryview]] = contextvars.ContextVar("waku_spliced")


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


def type_name(value: Any) -> str:
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else qualified_name(cls)


# -- encoding: value -> JSON-ready tree ---------------------------------------


class Refused(Exception):
    """Raised deep in the walk; the codec adds where in the value it happened."""

    def __init__(self, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.value = value
        self.reason = reason


def to_json(value: Any) -> Any:
    """Return a JSON-ready tree for ``value``, or raise Refused for what it cannot store."""
    encode = _ENCODERS.get(type(value))
    if encode is not None:
        return encode(value)
    adapter = adapters.exact(type(value))
    if adapter is not None:
        return _adapted(adapter, value)
    if isinstance(value, enum.Enum):
        return {TAG: "enum", "c": _class_ref(value), "n": value.name}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {TAG: "dc", "c": _class_ref(value), "f": fields}
    adapter = adapters.for_type(type(value))
    if adapter is not None:
        return _adapted(adapter, value)
    raise Refused(
        value,
        f"is of type {type_name(value)}, which the JSON codec cannot store faithfully; "
        "return a supported type (see the README's Values section), register an adapter "
        "for it with waku.register_adapter, or use PickleCodec",
    )


def _adapted(adapter: adapters.Adapter, value: Any) -> Any:
    try:
        data = adapter.dump(value)
    except Refused:
        raise
    except adapters.Unsupported as error:
        raise Refused(value, f"is of type {type_name(value)}: {error}") from None
    except Exception as error:
        raise Refused(
            value,
            f"is of type {type_name(value)}, whose adapter {adapter.name!r} failed to dump it: "
            f"{type(error).__name__}: {error}",
        ) from error
    try:
        return {TAG: "adapter", "c": adapter.name, "v": to_json(data)}
    except Refused as refused:
        if adapter.fallback is not None:
            try:
                return {TAG: "adapter", "c": adapter.name, "v": to_json(adapter.fallback(value))}
            except Exception:  # the first refusal says more
                pass
        # The refused value sits in the adapter's data, where the user's value
        # cannot be searched for it: name this value, and the place in its data.
        inside = _locate(data, refused.value, "its stored form") or "its stored form"
        raise Refused(
            value, f"is a {type_name(value)} holding, at {inside}, a value that {refused.reason}"
        ) from None


def encode_tree(value: Any) -> Any:
    try:
        return to_json(value)
    except Refused as refused:
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
        raise Refused(
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


def _binary(value: bytes | bytearray | RawBytes) -> Any:
    if isinstance(value, RawBytes):
        view, tag = value.view, value.tag
    else:
        view, tag = memoryview(value), "bytes" if type(value) is bytes else "bytearray"
    spliced = SPLICED.get(None)
    if spliced is None or len(view) < BIG:
        return {TAG: tag, "v": binascii.b2a_base64(view, newline=False).decode()}
    spliced.append(view)
    return {TAG: tag, "v": f"*{len(spliced) - 1}"}


def tz_to_json(tz: dt.tzinfo | None) -> Any:
    """A tzinfo's stored form: a fixed offset with its name if it has one, or a zone key."""
    if tz is None:
        return None
    if type(tz) is dt.timezone:
        # A timezone made without a name reports one ("UTC+05:30") but has none:
        # __getinitargs__ tells the two apart, so the name is stored only if given.
        args = tz.__getinitargs__()  # type: ignore[attr-defined]
        stored = {"o": args[0].total_seconds()}
        return stored if len(args) == 1 else {**stored, "name": args[1]}
    key = getattr(tz, "key", None)
    if type(tz).__module__ == "zoneinfo" and isinstance(key, str):
        return {"z": key}
    raise Refused(tz, f"is a tzinfo of type {type_name(tz)}; use datetime.timezone or zoneinfo")


def _datetime(value: dt.datetime) -> Any:
    naive = value.replace(tzinfo=None).isoformat()
    return {TAG: "datetime", "v": naive, "tz": tz_to_json(value.tzinfo), "fold": value.fold}


def _time(value: dt.time) -> Any:
    naive = value.replace(tzinfo=None).isoformat()
    return {TAG: "time", "v": naive, "tz": tz_to_json(value.tzinfo), "fold": value.fold}


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
    bytes: _binary,
    bytearray: _binary,
    dt.datetime: _datetime,
    dt.date: _date,
    dt.time: _time,
    dt.timedelta: _timedelta,
    Decimal: _decimal,
    uuid.UUID: _uuid,
    RawBytes: _binary,
}
adapters.NATIVE.update(_ENCODERS)


# -- decoding: JSON objects with a tag -> values ------------------------------


def from_tagged(obj: dict[str, Any]) -> Any:
    tag = obj.get(TAG)
    if tag is None:
        return obj
    decode = _DECODERS.get(tag)
    if decode is None:
        raise SerializationError(f"stored value has an unknown tag {tag!r}")
    return decode(obj)


def tz_from_json(data: Any) -> dt.tzinfo | None:
    """The tzinfo ``tz_to_json`` stored."""
    if data is None:
        return None
    if "z" in data:
        return ZoneInfo(data["z"])
    offset = dt.timedelta(seconds=data["o"])
    if "n" in data:  # written before names were kept exactly: every offset had one
        name = data["n"]
        utc = offset == dt.timedelta(0) and name == "UTC"
        return dt.timezone.utc if utc else dt.timezone(offset, name)
    # timezone(timedelta(0)) is timezone.utc itself, as when it was stored.
    return dt.timezone(offset) if "name" not in data else dt.timezone(offset, data["name"])


def _load_datetime(obj: dict[str, Any]) -> dt.datetime:
    value = dt.datetime.fromisoformat(obj["v"])
    return value.replace(tzinfo=tz_from_json(obj["tz"]), fold=obj["fold"])


def _load_time(obj: dict[str, Any]) -> dt.time:
    value = dt.time.fromisoformat(obj["v"])
    return value.replace(tzinfo=tz_from_json(obj["tz"]), fold=obj["fold"])


def _load_class(obj: dict[str, Any], check: Callable[[Any], bool], kind: str) -> Any:
    ref = obj["c"]
    try:
        cls = resolve(ref)
    except (ImportError, AttributeError) as error:
        raise SerializationError(f"stored {kind} class {ref} cannot be found: {error}") from error
    if not (isinstance(cls, type) and check(cls)):
        raise SerializationError(f"stored {kind} class {ref} is not a {kind}; refusing to build it")
    return cls


def _load_adapted(obj: dict[str, Any]) -> Any:
    name = obj["c"]
    adapter = adapters.named(name) if isinstance(name, str) else None
    if adapter is None:
        library = adapters.missing_library(name)
        fix = (
            f"install {library} (pip install 'waku[values]')"
            if library
            else "register it with waku.register_adapter before the workflow resumes"
        )
        raise SerializationError(
            f"stored value needs the adapter {name!r}, which this process does not have; {fix}"
        )
    try:
        return adapter.load(obj["v"])
    except SerializationError:
        raise
    except Exception as error:
        raise SerializationError(
            f"stored value could not be rebuilt by the adapter {name!r}: "
            f"{type(error).__name__}: {error}"
        ) from error


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


_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "int": lambda o: int(o["v"], 16),
    "float": lambda o: float(o["v"]),
    "tuple": lambda o: tuple(o["v"]),
    "dict": lambda o: dict(o["v"]),
    "set": lambda o: set(o["v"]),
    "frozenset": lambda o: frozenset(o["v"]),
    "bytes": lambda o: base64.b64decode(o["v"]),
    "bytearray": lambda o: bytearray(base64.b64decode(o["v"])),
    "adapter": _load_adapted,
    "datetime": _load_datetime,
    "date": lambda o: dt.date.fromisoformat(o["v"]),
    "time": _load_time,
    "timedelta": lambda o: dt.timedelta(*o["v"]),
    "decimal": lambda o: Decimal(o["v"]),
    "uuid": lambda o: uuid.UUID(o["v"]),
    "enum": _load_enum,
    "dc": _load_dataclass,
}
