"""Adapters for pandas DataFrame and Series (installed when pandas is first met).

With pyarrow installed, a frame whose columns and index Arrow carries exactly
(numbers, bools, datetimes with or without a zone, timedeltas, categoricals,
nullable and Arrow-backed dtypes, pyarrow strings, periods, intervals) is
stored as one Apache Arrow IPC stream, which pandas' own metadata in it turns
back into the same dtypes, index and column names. Any other frame, and every
frame when pyarrow is missing, is stored column by column (``pandas_columns``):
numpy arrays as raw bytes, object columns value by value through the codec.
What neither form stores exactly is refused, naming the column and its dtype.
A DatetimeIndex's frequency, ``attrs`` and ``flags`` are stored beside either
form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from . import pandas_columns as columns
from .adapters import Adapter, RawBytes, add

try:
    import pyarrow as pa
except ImportError:  # pragma: no cover - the values extra installs it
    pa = None


def _arrow_dtype(dtype: Any) -> bool:
    """Whether Arrow gives ``dtype`` back exactly (pandas metadata included)."""
    if isinstance(dtype, np.dtype):
        return dtype.kind in "biufmM" and dtype.isnative
    if isinstance(dtype, pd.DatetimeTZDtype):
        return dtype.tz is dt.timezone.utc or type(dtype.tz).__module__ == "zoneinfo"
    if isinstance(dtype, pd.CategoricalDtype):
        return _arrow_index(dtype.categories)
    if isinstance(dtype, pd.StringDtype):
        return bool(dtype.storage == "pyarrow")
    if isinstance(dtype, pd.IntervalDtype):
        return _arrow_dtype(dtype.subtype)
    return isinstance(dtype, (*columns.MASKED, pd.ArrowDtype, pd.PeriodDtype))


def _arrow_index(index: Any) -> bool:
    if isinstance(index, pd.RangeIndex):
        return True
    if isinstance(index, pd.MultiIndex):
        return all(_arrow_index(level) for level in index.levels)
    return _arrow_dtype(index.dtype)


def _arrow_labels(index: Any) -> bool:
    """Column labels Arrow keeps: unique strings or ints, or levels of them."""
    if not index.is_unique:
        return False
    labels = index.to_flat_index() if isinstance(index, pd.MultiIndex) else index
    kinds = {
        type(part) for label in labels for part in (label if type(label) is tuple else [label])
    }
    return kinds <= {str} or kinds <= {int} or not kinds


def _arrow_ready(frame: Any) -> bool:
    # Arrow writes a categorical's categories with the first batch of rows: a
    # frame without rows would lose them.
    categories = any(isinstance(d, pd.CategoricalDtype) for d in [*frame.dtypes, frame.index.dtype])
    return (
        pa is not None
        and (len(frame) > 0 or not categories)
        and _arrow_labels(frame.columns)
        and _arrow_index(frame.index)
        and all(name is None or type(name) is str for name in frame.index.names)
        and all(_arrow_dtype(dtype) for dtype in frame.dtypes)
    )


def dump_frame(frame: Any) -> dict[str, Any]:
    """The stored form of a DataFrame: an Arrow IPC stream, or its columns."""
    stored: dict[str, Any]
    if _arrow_ready(frame):
        bare = frame.copy(deep=False)  # attrs are stored beside, by the codec, exactly
        bare.attrs = {}
        table = pa.Table.from_pandas(bare)  # a RangeIndex goes in the metadata
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        stored = {"arrow": RawBytes(sink.getvalue())}
        if isinstance(frame.columns, pd.RangeIndex):  # Arrow keeps labels, not their range
            stored["columns"] = columns.dump_index(frame.columns)
    else:
        stored = columns.dump(frame)
    freq = getattr(frame.index, "freq", None)
    if freq is not None:
        stored["freq"] = freq.freqstr
    if frame.attrs:
        stored["attrs"] = dict(frame.attrs)
    if not frame.flags.allows_duplicate_labels:
        stored["unique_labels"] = True
    return stored


def load_frame(stored: dict[str, Any]) -> Any:
    """Build the DataFrame ``dump_frame`` stored."""
    if "arrow" in stored:
        if pa is None:
            raise ValueError("this DataFrame was stored as Arrow: pip install pyarrow")
        frame = pa.ipc.open_stream(stored["arrow"]).read_all().to_pandas()
        if "columns" in stored:
            frame.columns = columns.load_index(stored["columns"])
    else:
        frame = columns.load(stored)
    if "freq" in stored:
        frame.index = type(frame.index)(frame.index, freq=stored["freq"])
    frame.attrs = stored.get("attrs", {})
    if stored.get("unique_labels"):
        frame = frame.set_flags(allows_duplicate_labels=False)
    return frame


def dump_series(series: Any) -> dict[str, Any]:
    """A Series: its name, and the one-column frame it makes."""
    frame = series.to_frame(name="values")
    frame.attrs = {}
    stored = {"name": series.name, "frame": dump_frame(frame)}
    if series.attrs:
        stored["attrs"] = dict(series.attrs)
    return stored


def load_series(stored: dict[str, Any]) -> Any:
    """Build the Series ``dump_series`` stored."""
    series = load_frame(stored["frame"]).iloc[:, 0]
    series.name = stored["name"]
    series.attrs = stored.get("attrs", {})
    return series


def install() -> None:
    """Register the pandas adapters (a user's own adapter of a name wins)."""
    add(Adapter("pandas:DataFrame", pd.DataFrame, dump_frame, load_frame), replace=False)
    add(Adapter("pandas:Series", pd.Series, dump_series, load_series), replace=False)
