"""pandas frames and series replay with their dtypes, index, labels and missing values."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import waku._codec.values_pandas
from waku import JsonCodec, SerializationError

codec = JsonCodec()
SHARED_FIXTURE = [HealthCheck.function_scoped_fixture]  # without_arrow holds for every example


def same_frame(back: Any, value: pd.DataFrame) -> None:
    assert type(back) is pd.DataFrame
    pd.testing.assert_frame_equal(
        back,
        value,
        check_exact=True,
        check_index_type=True,
        check_column_type=True,
        check_freq=True,
        check_flags=True,
        check_categorical=True,
    )
    assert list(back.dtypes) == list(value.dtypes) and back.attrs == value.attrs
    for i in range(value.shape[1]):
        dtype = value.dtypes.iloc[i]
        if isinstance(dtype, np.dtype) and dtype.kind == "O":  # None stays None, NaN stays NaN
            old, new = list(value.iloc[:, i]), list(back.iloc[:, i])
            assert [type(v) for v in old] == [type(v) for v in new]
            assert all(a == b or (pd.isna(a) and pd.isna(b)) for a, b in zip(old, new, strict=True))


@pytest.fixture(params=["arrow", "columns"])
def without_arrow(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each frame twice: as Arrow IPC, and as a machine without pyarrow stores it."""
    if request.param == "columns":
        monkeypatch.setattr(waku._codec.values_pandas, "pa", None)
    yield request.param


def column(kind: str, n: int) -> st.SearchStrategy[Any]:
    floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
    stamps = st.datetimes(min_value=dt.datetime(1800, 1, 1), max_value=dt.datetime(2200, 1, 1))
    maybe = st.none() | st.just(np.nan)
    lists: dict[str, st.SearchStrategy[Any]] = {
        "int64": st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n),
        "int8": st.lists(st.integers(-128, 127), min_size=n, max_size=n),
        "float64": st.lists(floats, min_size=n, max_size=n),
        "float32": st.lists(st.floats(width=32), min_size=n, max_size=n),
        "bool": st.lists(st.booleans(), min_size=n, max_size=n),
        "datetime64[ns]": st.lists(stamps | st.none(), min_size=n, max_size=n),
        "datetime64[ns, Europe/Paris]": st.lists(stamps | st.none(), min_size=n, max_size=n),
        "timedelta64[us]": st.lists(
            st.timedeltas(dt.timedelta(days=-(10**5)), dt.timedelta(days=10**5)) | st.none(),
            min_size=n,
            max_size=n,
        ),
        "category": st.lists(st.sampled_from(["a", "b", "c"]) | st.none(), min_size=n, max_size=n),
        "str": st.lists(st.text(max_size=5) | st.none(), min_size=n, max_size=n),
        "Int64": st.lists(st.integers(-1000, 1000) | st.none(), min_size=n, max_size=n),
        "boolean": st.lists(st.booleans() | st.none(), min_size=n, max_size=n),
        "object": st.lists(st.integers() | st.text() | maybe | floats, min_size=n, max_size=n),
    }
    return lists[kind]


def build(kind: str, values: list[Any]) -> Any:
    if kind == "datetime64[ns, Europe/Paris]":
        return (
            pd.Series(pd.to_datetime(values), dtype="datetime64[ns]")
            .dt.tz_localize("UTC")
            .dt.tz_convert(ZoneInfo("Europe/Paris"))
        )
    if kind == "category":
        return pd.Series(values, dtype=pd.CategoricalDtype(["c", "a", "b"], ordered=True))
    if kind == "object":
        series = pd.Series(np.empty(len(values), dtype=object), dtype=object)
        series[:] = values
        return series
    return pd.Series(values, dtype=kind)


KINDS = [
    "int64",
    "int8",
    "float64",
    "float32",
    "bool",
    "datetime64[ns]",
    "datetime64[ns, Europe/Paris]",
    "timedelta64[us]",
    "category",
    "str",
    "Int64",
    "boolean",
    "object",
]


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 6))
    kinds = draw(st.lists(st.sampled_from(KINDS), max_size=5))
    labels = draw(
        st.lists(st.text(max_size=3), min_size=len(kinds), max_size=len(kinds), unique=True)
        | st.just(list(range(len(kinds))))
    )
    data = {
        label: build(kind, draw(column(kind, n))) for label, kind in zip(labels, kinds, strict=True)
    }
    frame = pd.DataFrame(data, index=pd.RangeIndex(n)) if data else pd.DataFrame(index=range(n))
    index = draw(
        st.sampled_from(
            [
                pd.RangeIndex(n),
                pd.RangeIndex(10, 10 + 3 * n, 3, name="r"),
                pd.Index([f"k{i}" for i in range(n)], name="key"),
                pd.date_range("2026-11-29", periods=n, freq="h", tz="UTC", name="at"),
                pd.MultiIndex.from_arrays([list(range(n)), [str(i) for i in range(n)]]),
            ]
        )
    )
    frame.index = index
    return frame


@settings(max_examples=150, deadline=None, suppress_health_check=SHARED_FIXTURE)
@given(frames())
def test_frames_with_mixed_dtypes_round_trip(without_arrow: str, frame: pd.DataFrame) -> None:
    same_frame(codec.decode(codec.encode(frame)), frame)


@settings(max_examples=60, deadline=None, suppress_health_check=SHARED_FIXTURE)
@given(frames(), st.text(max_size=3) | st.none() | st.integers())
def test_series_round_trip_with_their_name(without_arrow: str, frame: Any, name: Any) -> None:
    for i in range(frame.shape[1]):
        series = frame.iloc[:, i].rename(name)
        back = codec.decode(codec.encode({"s": series}))["s"]
        assert type(back) is pd.Series and back.name == name
        pd.testing.assert_series_equal(back, series, check_exact=True, check_index_type=True)


EXPLICIT = {
    "nat-and-nan": pd.DataFrame({"d": pd.to_datetime(["2026-01-01", None]), "f": [np.nan, 1.0]}),
    "fixed-offset-zone": pd.DataFrame(
        {"t": pd.date_range("2026", periods=2, tz=dt.timezone(dt.timedelta(hours=-3)))}
    ),
    "units": pd.DataFrame({"s": pd.Series(pd.to_datetime(["2026-11-29"])).dt.as_unit("s")}),
    "column-axis-name": pd.DataFrame({"a": [1]}).rename_axis(columns="fields"),
    "duplicate-labels": pd.DataFrame([[1, 2.5]], columns=["a", "a"]),
    "python-strings": pd.DataFrame({"s": pd.array(["a", None], dtype="string[python]")}),
    "periods": pd.DataFrame({"p": pd.period_range("2026-01", periods=3, freq="M")}),
    "complex": pd.DataFrame({"c": np.array([1 + 2j, np.nan], dtype=complex)}),
    "big-endian": pd.DataFrame({"b": np.array([1, 2], dtype=">i4")}),
    "bytes-objects": pd.DataFrame({"b": pd.Series([b"x", None], dtype=object)}),
    "tuple-labels": pd.DataFrame({("a", 1): [1], ("a", 2): [2]}),
    "mixed-labels": pd.DataFrame([[1, 2]], columns=[1, "a"]),
    "attrs": pd.DataFrame({"a": [1]}).set_flags(allows_duplicate_labels=False),
    "float-index": pd.DataFrame({"a": [1, 2]}, index=pd.Index([0.5, np.nan], name=7)),
    "empty": pd.DataFrame(),
    "rows-no-columns": pd.DataFrame(index=pd.Index(["x", "y"])),
}
EXPLICIT["attrs"].attrs = {"source": "sensor", "at": dt.date(2026, 11, 29)}


@pytest.mark.parametrize("name", sorted(EXPLICIT))
def test_explicit_frames_round_trip(without_arrow: str, name: str) -> None:
    frame = EXPLICIT[name]
    same_frame(codec.decode(codec.encode(frame)), frame)


def test_arrow_carries_what_it_can_and_columns_carry_the_rest() -> None:
    assert b'"arrow":' in codec.encode(pd.DataFrame({"a": [1.5], "s": ["x"]}))
    assert b'"arrow":' not in codec.encode(pd.DataFrame({"o": pd.Series(["x"], dtype=object)}))


def test_a_frequency_survives_on_a_datetime_index(without_arrow: str) -> None:
    frame = pd.DataFrame({"a": range(3)}, index=pd.date_range("2026", periods=3, freq="D"))
    assert codec.decode(codec.encode(frame)).index.freq == pd.offsets.Day()


@pytest.mark.parametrize(
    ("frame", "found"),
    [
        (pd.DataFrame({"s": pd.arrays.SparseArray([0, 1])}), "column 's' has dtype Sparse"),
        (pd.DataFrame({"o": pd.Series([object()], dtype=object)}), "object"),
    ],
)
def test_columns_nothing_can_store_exactly_are_refused(
    without_arrow: str, frame: pd.DataFrame, found: str
) -> None:
    with pytest.raises(SerializationError, match=rf"value\['df'\].*{found}"):
        codec.encode({"df": frame})


def test_without_pyarrow_frames_are_stored_by_column_and_nothing_is_imported_early() -> None:
    script = """
import sys
sys.modules["pyarrow"] = None  # as on a machine without pyarrow
import waku
assert not {"numpy", "pandas", "pydantic"} & set(sys.modules), "imported eagerly"
import pandas as pd
codec = waku.JsonCodec()
frame = pd.DataFrame({"a": [1.5, None], "s": ["x", None], "c": pd.Categorical(["u", "v"])})
stored = codec.encode(frame)
assert b'"arrow"' not in stored
pd.testing.assert_frame_equal(codec.decode(stored), frame, check_exact=True)
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_large_frames_go_through_in_one_piece() -> None:
    n = 50_000
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "t": pd.date_range("2026", periods=n)})
    stored = codec.encode(frame)
    assert len(stored) > n * 16 and not math.isnan(codec.decode(stored)["x"].iloc[-1])
    same_frame(codec.decode(stored), frame)
