"""numpy arrays and scalars replay bit for bit through the JSON codec."""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

from waku import JsonCodec, SerializationError

codec = JsonCodec()


def exactly(back: Any, value: np.ndarray[Any, Any]) -> None:
    """Same type, dtype (byte order and unit included), shape, bytes; writable, its own memory."""
    assert type(back) is np.ndarray
    assert back.dtype == value.dtype and back.dtype.str == value.dtype.str
    assert back.dtype.type is value.dtype.type
    assert back.shape == value.shape
    assert back.tobytes() == value.tobytes()  # bitwise: NaN payloads, -0.0, NaT
    assert back.flags.writeable and not np.may_share_memory(back, value)


def dtypes(endianness: str) -> st.SearchStrategy[np.dtype[Any]]:
    return st.one_of(
        npst.boolean_dtypes(),
        npst.integer_dtypes(endianness=endianness),
        npst.unsigned_integer_dtypes(endianness=endianness),
        npst.floating_dtypes(endianness=endianness, sizes=(16, 32, 64)),
        npst.complex_number_dtypes(endianness=endianness),
        npst.datetime64_dtypes(endianness=endianness),
        npst.timedelta64_dtypes(endianness=endianness),
        npst.byte_string_dtypes(endianness=endianness),
        npst.unicode_string_dtypes(endianness=endianness),
    )


any_dtype = st.one_of(dtypes("<"), dtypes(">"), dtypes("="))
shapes = npst.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


@settings(max_examples=300, deadline=None)
@given(npst.arrays(any_dtype, shapes))
def test_arrays_of_every_dtype_and_shape_round_trip_exactly(value: np.ndarray[Any, Any]) -> None:
    exactly(codec.decode(codec.encode(value)), value)


@settings(max_examples=150, deadline=None)
@given(
    npst.arrays(any_dtype, npst.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)),
    st.data(),
)
def test_views_transposes_and_strided_slices_round_trip(
    base: np.ndarray[Any, Any], data: st.DataObject
) -> None:
    steps = tuple(data.draw(st.integers(-3, 3).filter(bool)) for _ in base.shape)
    view = base[tuple(slice(None, None, step) for step in steps)]
    for value in (view, view.T, np.asfortranarray(view)):
        back = codec.decode(codec.encode(value))
        exactly(back, value)
        assert np.array_equal(back, value, equal_nan=value.dtype.kind in "fcmM")


def test_memory_order_is_kept() -> None:
    fortran = np.asfortranarray(np.arange(12, dtype=">i2").reshape(3, 4))
    back = codec.decode(codec.encode(fortran))
    assert back.flags.f_contiguous and not back.flags.c_contiguous
    exactly(back, fortran)


@pytest.mark.parametrize(
    "value",
    [
        np.array(7, dtype=">i8"),  # 0-d, big-endian
        np.zeros((0, 3), dtype="<M8[ns]"),
        np.array(["2026-11-29T10:00", "NaT"], dtype="M8[s]"),
        np.array([1, -1, 0], dtype="m8[us]"),
        np.array([np.nan, -0.0, np.inf], dtype=">f4"),
        np.array([b"ab", b""], dtype="S3"),
        np.array(["é", "\x00x"], dtype="<U2"),
        np.arange(200_000, dtype=np.float64).reshape(400, 500),  # spliced around the JSON
        np.ones(5, dtype=np.longdouble) / 3,
        np.array([1, 2], dtype=np.longlong),  # the same bytes as int64, another type
    ],
    ids=[
        "0-d",
        "empty",
        "datetime",
        "timedelta",
        "floats",
        "bytes",
        "unicode",
        "large",
        "longdouble",
        "longlong",
    ],
)
def test_explicit_arrays_round_trip(value: np.ndarray[Any, Any]) -> None:
    exactly(codec.decode(codec.encode(value)), value)


@settings(max_examples=200, deadline=None)
@given(
    npst.from_dtype(np.dtype("f8"))
    | st.sampled_from(list(np.sctypeDict.values())).flatmap(
        lambda t: npst.from_dtype(np.dtype(t)) if np.dtype(t).kind not in "OV" else st.nothing()
    )
)
def test_numpy_scalars_keep_their_type_and_bits(value: Any) -> None:
    back = codec.decode(codec.encode({"x": [value]}))["x"][0]
    assert type(back) is type(value) and back.dtype == value.dtype
    if value.dtype.kind == "f" and np.isnan(value):
        assert np.isnan(back)  # a float NaN is stored as JSON's "nan": its payload is not kept
    else:
        assert back.tobytes() == value.tobytes()


def test_numbers_and_strings_are_plain_json_in_the_stored_form() -> None:
    stored = codec.encode([np.float32(1.5), np.int64(-3), np.bool_(True)])
    assert b'"value":1.5' in stored and b'"value":-3' in stored and b'"value":true' in stored


@pytest.mark.parametrize(
    ("value", "dtype"),
    [
        (np.array([object(), 1], dtype=object), "object"),
        (np.zeros(2, dtype=[("a", "i4"), ("b", "f8")]), "a"),
        (np.array(["x"], dtype=np.dtypes.StringDType()), "StringDType"),
    ],
)
def test_arrays_whose_bytes_are_not_their_values_are_refused(value: Any, dtype: str) -> None:
    with pytest.raises(SerializationError, match=rf"value\[1\]\['a'\].*numpy:ndarray.*{dtype}"):
        codec.encode([0, {"a": value}])


def test_subclasses_of_ndarray_are_refused_not_turned_into_arrays() -> None:
    with pytest.raises(SerializationError, match=r"MaskedArray.*register_adapter.*PickleCodec"):
        codec.encode(np.ma.masked_array([1, 2], mask=[False, True]))


def test_a_stored_array_whose_bytes_do_not_fit_its_shape_is_refused() -> None:
    stored = codec.encode(np.arange(4, dtype="i4")).replace(b'"shape":[4]', b'"shape":[5]')
    with pytest.raises(SerializationError, match="16 bytes cannot be"):
        codec.decode(stored)
    forged = codec.encode(np.arange(2, dtype="i8")).replace(b'"<i8"', b'"|O"')
    with pytest.raises(SerializationError, match="dtype object"):
        codec.decode(forged)


def test_large_arrays_are_not_copied_through_json_strings() -> None:
    value = np.arange(1_000_000, dtype=np.float64)  # 8 MB
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        stored = codec.encode(value)
        encoding = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        back = codec.decode(stored)
        decoding = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    exactly(back, value)
    chunks = 2 << 20  # base64 is written and read a megabyte or so at a time
    assert encoding < len(stored) + chunks  # the stored bytes (4/3 of the array), no copies
    assert decoding < value.nbytes + chunks  # the array's own memory, no copies
