"""Adapters for numpy arrays and scalars (installed when numpy is first met).

An array is stored as its dtype string (``"<f8"``, ``">i4"``, ``"<M8[ns]"``,
``"<U5"``: byte order and unit included), its shape, its memory order and its
raw bytes, so every numeric, bool, datetime64, timedelta64 and fixed-width
string array replays bit for bit. Arrays of Python objects, structured dtypes
and numpy 2's variable-width strings hold pointers or layouts bytes cannot
carry, and are refused.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from .adapters import Adapter, RawBytes, Unsupported, add

_KINDS = frozenset("biufcmMUSV")  # dtype kinds whose bytes are the whole value


def _checked(dtype: np.dtype[Any]) -> np.dtype[Any]:
    if dtype.kind not in _KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise Unsupported(
            f"numpy dtype {dtype} is not stored by the JSON codec (only numeric, bool, "
            "datetime64, timedelta64 and fixed-width string dtypes are); convert the "
            "array, or use PickleCodec"
        )
    return dtype


def _name(dtype: np.dtype[Any]) -> str:
    """``dtype.str``, or its type code where that names another type (longlong, not int64)."""
    name: str = dtype.str
    if np.dtype(name).type is not dtype.type:
        name = str(dtype.byteorder).replace("|", "=") + str(dtype.char)
    return name


def dump_array(array: np.ndarray[Any, Any]) -> dict[str, Any]:
    """The stored form of an array: dtype, shape, order and bytes."""
    _checked(array.dtype)
    order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
    flat = array.T if order == "F" else array
    if not flat.flags.c_contiguous:
        flat = np.ascontiguousarray(flat)  # a strided view: its bytes are not one block
    # Mutable: it is read back as a bytearray, which the new array then uses
    # as its memory, writable, without another copy.
    data = RawBytes(flat.reshape(-1).view(np.uint8), mutable=True) if flat.nbytes else bytearray()
    stored: dict[str, Any] = {"dtype": _name(array.dtype), "shape": list(array.shape)}
    if order == "F":
        stored["order"] = "F"
    stored["data"] = data
    return stored


def load_array(stored: dict[str, Any]) -> np.ndarray[Any, Any]:
    """Build the array ``dump_array`` stored: writable, over the stored bytearray."""
    dtype = _checked(np.dtype(stored["dtype"]))
    shape = tuple(int(n) for n in stored["shape"])
    order: Literal["C", "F"] = "F" if stored.get("order") == "F" else "C"
    data: bytes | bytearray = stored["data"]
    if len(data) != math.prod(shape) * dtype.itemsize:
        raise ValueError(f"{len(data)} bytes cannot be a {dtype} array of shape {shape}")
    if not data:
        return np.empty(shape, dtype=dtype, order=order)
    array: np.ndarray[Any, Any] = np.frombuffer(data, dtype=dtype).reshape(shape, order=order)
    return array if array.flags.writeable else array.copy(order="K")


def dump_scalar(value: np.generic) -> dict[str, Any]:
    """A numpy scalar: its dtype and its value (plain JSON for bool, int, float, str)."""
    dtype = _checked(value.dtype)
    if dtype.kind in "biuf" and dtype.itemsize <= 8:
        return {"dtype": _name(dtype), "value": value.item()}
    if dtype.kind in "US":  # a string scalar's length is its value's
        return {"dtype": _name(dtype), "value": value.item()}
    return {"dtype": _name(dtype), "data": value.tobytes()}


def load_scalar(stored: dict[str, Any]) -> np.generic:
    """Build the scalar ``dump_scalar`` stored, of the same numpy type."""
    dtype = _checked(np.dtype(stored["dtype"]))
    if "value" in stored:
        if dtype.kind not in "biufUS":
            raise ValueError(f"a {dtype} scalar is not stored as a plain value")
        plain: np.generic = dtype.type(stored["value"])
        return plain
    data: bytes = stored["data"]
    if len(data) != dtype.itemsize:
        raise ValueError(f"{len(data)} bytes cannot be a {dtype} scalar")
    scalar: np.generic = np.frombuffer(data, dtype=dtype)[0]
    return scalar


def install() -> None:
    """Register the numpy adapters (built-ins: a user's own adapter of a name wins)."""
    add(Adapter("numpy:ndarray", np.ndarray, dump_array, load_array), replace=False)
    add(
        Adapter("numpy:generic", np.generic, dump_scalar, load_scalar, family=True),
        replace=False,
    )
