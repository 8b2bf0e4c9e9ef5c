"""How fast, and with how much extra memory, the JSON codec stores large values.

    python bench/values.py

Every ratio is measured in this one run, on this machine:

- a 100 MB float64 array: encode + decode with ``JsonCodec`` ÷ ``numpy.save`` +
  ``numpy.load`` of the same array (to and from memory);
- a 1,000,000-row DataFrame of mixed dtypes: encode + decode ÷ pickle's
  ``dumps`` + ``loads`` (what ``PickleCodec`` does);
- peak extra memory (tracemalloc) while encoding and while decoding, ÷ the
  value's size. Encoding's peak includes the stored bytes it returns;
  decoding's includes the value it builds.

Times are the best of three. Needs the values extra: ``pip install 'waku[values]'``.
"""

from __future__ import annotations

import gc
import io
import pickle
import platform
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from waku import JsonCodec

codec = JsonCodec()


def best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak(fn: Callable[[], object]) -> int:
    """Peak bytes allocated while ``fn`` runs, above what was allocated before."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        kept = fn()
        top = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del kept
    return top - base


def numpy_save_load(array: np.ndarray[Any, Any]) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array)
    buffer.seek(0)
    np.load(buffer)


def measure(label: str, value: Any, size: int, baseline: str, base: Callable[[], None]) -> None:
    stored = codec.encode(value)
    encode = best(lambda: codec.encode(value))
    decode = best(lambda: codec.decode(stored))
    reference = best(base)
    encode_peak = peak(lambda: codec.encode(value))
    decode_peak = peak(lambda: codec.decode(stored))
    mb = 1e6
    print(f"\n{label}: {size / mb:.0f} MB in memory, stored as {len(stored) / mb:.0f} MB of JSON")
    print(f"  encode {encode * 1e3:7.0f} ms   decode {decode * 1e3:7.0f} ms")
    print(f"  {baseline} {reference * 1e3:7.0f} ms (save + load)")
    print(f"  (encode + decode) / {baseline}: {(encode + decode) / reference:.2f}")
    print(f"  peak extra memory / value size: encode {encode_peak / size:.2f}, ", end="")
    print(f"decode {decode_peak / size:.2f}")


def frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    values = rng.normal(size=rows)
    values[::97] = np.nan
    return pd.DataFrame(
        {
            "reading": values,
            "count": rng.integers(0, 1_000_000, size=rows),
            "at": pd.date_range("2026-11-29", periods=rows, freq="s", tz="Europe/Paris"),
            "sensor": pd.Categorical(rng.choice(["north", "south", "east", "west"], size=rows)),
            "note": rng.choice(["ok", "hot", "cold"], size=rows).astype(object).astype(str),
            "valid": rng.integers(0, 2, size=rows).astype(bool),
        }
    )


def bench_array() -> None:
    array = np.random.default_rng(1).normal(size=100_000_000 // 8)
    measure("float64 array", array, array.nbytes, "numpy.save/load", lambda: numpy_save_load(array))


def bench_frame() -> None:
    df = frame(1_000_000)
    size = int(df.memory_usage(deep=True).sum())
    measure(
        "1,000,000-row DataFrame",
        df,
        size,
        "pickle",
        lambda: pickle.loads(pickle.dumps(df, protocol=pickle.HIGHEST_PROTOCOL)),
    )


def main() -> None:
    print(f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}")
    bench_array()
    bench_frame()


if __name__ == "__main__":
    main()
