"""Type adapters: how the JSON codec stores a type it does not know natively.

An adapter turns a value into data the codec already stores (``dump``) and
builds the value again from that data (``load``). A stored adapted value names
its adapter, and loading looks the name up in this registry: nothing is
imported or built from a name the registry does not hold (the names of the
built-in adapters below only import their own library), so a damaged or
malicious record cannot make the codec build an arbitrary class.

Built-in adapters for numpy, pandas and pydantic are installed on first need:
when a value whose class comes from one of those libraries is encoded (the
library is then already imported), or when a stored value names one of their
adapters. ``import waku`` never imports them.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Adapter:
    """A registered adapter. Built-in ones may also match subclasses (``family``)
    and offer a second stored form for values whose first one the codec refuses
    (``fallback``)."""

    name: str
    cls: type
    dump: Callable[[Any], Any]
    load: Callable[[Any], Any]
    family: bool = False
    fallback: Callable[[Any], Any] | None = None


class Unsupported(Exception):
    """Raised by a built-in adapter's ``dump`` for a value it cannot store exactly."""


class RawBytes:
    """Bytes an adapter hands the codec without copying (a buffer of bytes).

    Stored exactly like ``bytes`` (or, if ``mutable``, like ``bytearray``) and
    read back as that type; only built-in adapters produce it, so a user value
    is never silently turned into bytes.
    """

    __slots__ = ("tag", "view")

    def __init__(self, buffer: Any, *, mutable: bool = False) -> None:
        self.view = memoryview(buffer).cast("B")
        self.tag = "bytearray" if mutable else "bytes"


_BY_TYPE: dict[type, Adapter] = {}
_BY_NAME: dict[str, Adapter] = {}
_FAMILIES: list[Adapter] = []
_LOCK = threading.Lock()

# Top-level module of a library -> the Waku module holding its adapters.
_BUILT_IN = {
    "numpy": "waku._codec.values_numpy",
    "pandas": "waku._codec.values_pandas",
    "pydantic": "waku._codec.values_pydantic",
}
_installed: set[str] = set()
_unavailable: set[str] = set()  # built-in libraries that failed to import
_INSTALL_LOCK = threading.RLock()

# Types the codec stores natively: an adapter for them would never be used.
NATIVE: set[type] = set()


def register_adapter(
    cls: type[T],
    *,
    dump: Callable[[T], Any],
    load: Callable[[Any], T],
    name: str | None = None,
) -> None:
    """Teach the JSON codec to store values of type ``cls`` (exactly that type).

    ``dump(value)`` returns the stored form: anything the codec stores (dicts,
    lists, strings, numbers, ``bytes``, other adapted values …). ``load(data)``
    gets that data back, equal and of the same types, and returns the value.
    ``name`` (default ``module:qualname`` of ``cls``) is written with each
    value and is how loading finds the adapter again: keep it stable, and
    register the adapter in every process that reads such values, before the
    workflow resumes. Registering a name again replaces its adapter; registering
    a class again under a new name stores it under the new name from then on,
    while values stored under the old name still load with the old adapter.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_adapter needs a class, not {cls!r}")
    if cls in NATIVE:
        raise ValueError(f"{cls.__qualname__} is stored natively; an adapter would never be used")
    if not (callable(dump) and callable(load)):
        raise TypeError("register_adapter needs callables for dump and load")
    key = name if name is not None else f"{cls.__module__}:{cls.__qualname__}"
    if not isinstance(key, str) or not key:
        raise ValueError(f"an adapter's name must be a non-empty string, not {name!r}")
    add(Adapter(key, cls, dump, load))


def add(adapter: Adapter, *, replace: bool = True) -> None:
    """Register ``adapter``; built-ins pass ``replace=False`` so a user's own wins."""
    with _LOCK:
        old = _BY_NAME.get(adapter.name)
        if old is not None:
            if not replace:
                return
            if old in _FAMILIES:
                _FAMILIES.remove(old)
            for cls in [c for c, a in _BY_TYPE.items() if a is old]:
                del _BY_TYPE[cls]  # also the subclasses a family adapter matched
        _BY_NAME[adapter.name] = adapter
        if adapter.family:
            _FAMILIES.append(adapter)
        else:
            _BY_TYPE[adapter.cls] = adapter


def for_type(cls: type) -> Adapter | None:
    """The adapter storing ``cls``: exact type first, then built-in families."""
    adapter = _BY_TYPE.get(cls)
    if adapter is not None:
        return adapter
    for base in cls.__mro__:
        _install(base.__module__.partition(".")[0])
    adapter = _BY_TYPE.get(cls)
    if adapter is None:
        adapter = next((a for a in _FAMILIES if issubclass(cls, a.cls)), None)
        if adapter is not None:
            with _LOCK:
                _BY_TYPE.setdefault(cls, adapter)
    return adapter


def exact(cls: type) -> Adapter | None:
    """The adapter registered for exactly ``cls``, without installing anything."""
    return _BY_TYPE.get(cls)


def named(name: str) -> Adapter | None:
    """The adapter a stored value names, installing a built-in one if it is one."""
    adapter = _BY_NAME.get(name)
    if adapter is None and name.partition(":")[0] in _BUILT_IN:
        _install(name.partition(":")[0])
        adapter = _BY_NAME.get(name)
    return adapter


def _install(library: str) -> None:
    module = _BUILT_IN.get(library)
    if module is None or library in _installed:
        return
    with _INSTALL_LOCK:
        if library in _installed:
            return
        try:
            importlib.import_module(module).install()
        except ImportError:
            # A library that is not installed has no values here, and a stored
            # one is refused by name (see ``missing_library``).
            _unavailable.add(library)
        _installed.add(library)


def missing_library(name: str) -> str | None:
    """The library a stored adapter name needs, if it is one that is not installed."""
    library = name.partition(":")[0]
    return library if library in _unavailable else None
