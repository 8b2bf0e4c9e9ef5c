"""The documented Dask example runs as shown (skipped when distributed is absent)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "async_dask.py"


def test_dask_executor_example(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed", reason="install the dev extra to run the Dask example")
    spec = importlib.util.spec_from_file_location("waku_example_async_dask", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # Dask pickles crunch by module
    spec.loader.exec_module(module)
    assert module.main() == "sum of squares: 285"
