"""A DataFrame column by column, for frames Arrow cannot carry exactly.

The stored form is plain codec data: ``{"index": ..., "columns": ..., "data":
[column, ...]}``. Columns with a numpy dtype are numpy arrays (stored as raw
bytes), object columns are lists of Python values (each stored by the codec
with its exact type, or refused), and pandas' own array types are stored as
their parts: a categorical as codes and categories, a datetime with a zone as
UTC datetime64 values and the zone, a nullable array as values and mask, a
string array as strings and Nones. Indexes are stored the same way, a
RangeIndex as its range and a MultiIndex as levels and codes.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

import numpy as np
import pandas as pd

from .adapters import Unsupported
from .tree import tz_from_json, tz_to_json

MASKED = (pd.BooleanDtype, pd.core.arrays.integer.IntegerDtype, pd.Float32Dtype, pd.Float64Dtype)
_MASKED_ARRAYS = {
    "boolean": pd.arrays.BooleanArray,
    "integer": pd.arrays.IntegerArray,
    "floating": pd.arrays.FloatingArray,
}


def _masked_kind(dtype: Any) -> str:
    if isinstance(dtype, pd.BooleanDtype):
        return "boolean"
    return "floating" if dtype.numpy_dtype.kind == "f" else "integer"


def dump_array(values: Any, label: str) -> dict[str, Any]:
    """The values of a Series (a column) or an Index, by dtype."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        array = np.asarray(values)
        return {"object": array.tolist()} if dtype.kind == "O" else {"numpy": array}
    if isinstance(dtype, pd.CategoricalDtype):
        categorical = pd.Categorical(values)
        return {
            "categories": dump_index(dtype.categories, label),
            "codes": categorical.codes,
            "ordered": bool(dtype.ordered),
        }
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = np.asarray(pd.Series(values).dt.tz_convert(None))
        return {"utc": utc, "tz": tz_to_json(dtype.tz)}
    if isinstance(dtype, pd.PeriodDtype):
        return {"period": str(dtype), "ordinals": np.asarray(values.array.asi8)}
    if isinstance(dtype, MASKED):
        mask = np.asarray(pd.isna(values))
        fill = False if isinstance(dtype, pd.BooleanDtype) else 0
        data = values.to_numpy(dtype=dtype.numpy_dtype, na_value=fill)
        return {"masked": str(dtype), "data": data, "mask": mask}
    if isinstance(dtype, pd.StringDtype):
        strings = values.to_numpy(dtype=object, na_value=None).tolist()
        na = "nan" if dtype.na_value is not pd.NA else "NA"
        return {"string": dtype.storage, "na": na, "values": strings}
    hint = "" if find_spec("pyarrow") else "; installing pyarrow may let it be stored"
    raise Unsupported(f"{label} has dtype {dtype}, which the JSON codec cannot store{hint}")


def load_array(stored: dict[str, Any]) -> Any:
    """Build the values ``dump_array`` stored."""
    if "numpy" in stored:
        return stored["numpy"]
    if "object" in stored:
        array = np.empty(len(stored["object"]), dtype=object)
        array[:] = stored["object"]
        return array
    if "codes" in stored:
        categories = load_index(stored["categories"])
        return pd.Categorical.from_codes(stored["codes"], categories, ordered=stored["ordered"])
    if "utc" in stored:
        utc = pd.Series(stored["utc"]).dt.tz_localize("UTC")
        return utc.dt.tz_convert(tz_from_json(stored["tz"])).array
    if "period" in stored:
        dtype = pd.api.types.pandas_dtype(stored["period"])
        return pd.arrays.PeriodArray(stored["ordinals"], dtype=dtype)
    if "masked" in stored:
        kind = _masked_kind(pd.api.types.pandas_dtype(stored["masked"]))
        return _MASKED_ARRAYS[kind](stored["data"], stored["mask"])
    if "string" in stored:
        dtype = (  # the NaN-missing kind (pandas 3's str) is new in pandas 2.3
            pd.StringDtype(stored["string"])
            if stored["na"] == "NA"
            else pd.StringDtype(stored["string"], na_value=np.nan)
        )
        return pd.array(stored["values"], dtype=dtype)
    raise ValueError(f"unknown stored pandas array {sorted(stored)}")


def dump_index(index: Any, label: str = "the index") -> dict[str, Any]:
    """An index: a range, levels and codes, or values and a name."""
    if isinstance(index, pd.RangeIndex):
        return {"range": [index.start, index.stop, index.step], "name": index.name}
    if isinstance(index, pd.MultiIndex):
        return {
            "levels": [dump_index(level, label) for level in index.levels],
            "codes": [np.asarray(codes) for codes in index.codes],
            "names": list(index.names),
        }
    return {"values": dump_array(index, label), "name": index.name}


def load_index(stored: dict[str, Any]) -> Any:
    """Build the index ``dump_index`` stored."""
    if "range" in stored:
        return pd.RangeIndex(*stored["range"], name=stored["name"])
    if "levels" in stored:
        levels = [load_index(level) for level in stored["levels"]]
        return pd.MultiIndex(levels=levels, codes=stored["codes"], names=stored["names"])
    values = load_array(stored["values"])
    return pd.Index(values, name=stored["name"], dtype=values.dtype, copy=False)


def dump(frame: Any) -> dict[str, Any]:
    """A frame: its index, its column labels and each column's values."""
    return {
        "index": dump_index(frame.index),
        "columns": dump_index(frame.columns, "the column labels"),
        "data": [
            dump_array(frame.iloc[:, i], f"column {label!r}")
            for i, label in enumerate(frame.columns)
        ],
    }


def load(stored: dict[str, Any]) -> Any:
    """Build the frame ``dump`` stored."""
    index = load_index(stored["index"])
    data = {}
    for i, column in enumerate(stored["data"]):
        values = load_array(column)  # dtype given: pandas would turn objects into strings
        data[i] = pd.Series(values, index=index, dtype=values.dtype, copy=False)
    frame = pd.DataFrame(data, index=index, copy=False) if data else pd.DataFrame(index=index)
    frame.columns = load_index(stored["columns"])
    return frame
