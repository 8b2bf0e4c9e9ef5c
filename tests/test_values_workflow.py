"""A pipeline of pydantic models, arrays and frames fails, resumes and replays exactly."""

from __future__ import annotations

import datetime as dt
import pathlib
import pickle
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

import waku


class Batch(BaseModel):
    source: str
    taken_at: dt.datetime
    sensors: tuple[str, ...]


class Summary(BaseModel):
    batch: Batch
    mean: float
    peak_sensor: str


calls: list[str] = []
fail_summary = [True]


def load(_: object) -> Batch:
    calls.append("load")
    return Batch(
        source="plant-7",
        taken_at=dt.datetime(2026, 11, 29, 8, tzinfo=dt.timezone(dt.timedelta(hours=9))),
        sensors=("a", "b", "c"),
    )


def measure(batch: Batch) -> dict[str, Any]:
    calls.append("measure")
    readings = np.linspace(0, 1, 12, dtype=np.float32).reshape(4, 3)[::-1]  # a strided view
    return {"batch": batch, "readings": readings, "count": np.int64(readings.size)}


def tabulate(measured: dict[str, Any]) -> dict[str, Any]:
    calls.append("tabulate")
    frame = pd.DataFrame(
        measured["readings"],
        columns=list(measured["batch"].sensors),
        index=pd.date_range("2026-11-29", periods=4, freq="h", tz="Asia/Tokyo", name="at"),
    )
    frame["status"] = pd.Categorical(["ok", "ok", "hot", None])
    return {**measured, "frame": frame}


def summarise(tabled: dict[str, Any]) -> dict[str, Any]:
    calls.append("summarise")
    if fail_summary[0]:
        raise RuntimeError("the summary service is down")
    means = tabled["frame"][list(tabled["batch"].sensors)].mean()
    summary = Summary(batch=tabled["batch"], mean=float(means.mean()), peak_sensor=means.idxmax())
    return {**tabled, "summary": summary, "means": means}


def pipeline() -> Any:
    return waku.pipe(
        None, waku.step(load), waku.step(measure), waku.step(tabulate), waku.step(summarise)
    )


def run(path: pathlib.Path) -> waku.WorkflowResult:
    with waku.SQLiteStore(path) as store:
        return waku.run_workflow("values", pipeline, workflow_id="day-1", store=store)


def exactly(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert a.dtype.str == b.dtype.str and a.shape == b.shape and a.tobytes() == b.tobytes()
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_freq=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            exactly(a[key], b[key])
    elif isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            exactly(x, y)
    else:
        assert a == b and repr(a) == repr(b)


def test_values_pipeline_resumes_and_replays_exactly(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "values.db"
    calls.clear()
    failed = run(path)
    assert waku.is_failure(failed.result) and failed.latest_step == 4
    assert calls == ["load", "measure", "tabulate", "summarise"]

    fail_summary[0] = False
    calls.clear()
    done = run(path)  # steps 1-3 replay from the store; only the failed step runs
    assert calls == ["summarise"] and done.latest_step == 4
    fresh = summarise(tabulate(measure(load(None))))  # the same values, never stored
    exactly(done.result, fresh)

    calls.clear()
    again = run(path)  # everything replays: the same values, of the same types
    assert calls == []
    exactly(again.result, fresh)
    assert type(again.result["summary"]) is Summary and type(again.result["count"]) is np.int64


def test_a_new_process_replays_the_same_values(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "values.db"
    fail_summary[0] = False
    here = run(path).result
    script = f"""
import pathlib, pickle, sys
import tests.test_values_workflow as w
w.calls.clear()
result = w.run(pathlib.Path({str(path)!r})).result
assert w.calls == [], w.calls
sys.stdout.buffer.write(pickle.dumps(result))
"""
    root = pathlib.Path(__file__).parent.parent
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=root, check=True)
    exactly(pickle.loads(done.stdout), here)
