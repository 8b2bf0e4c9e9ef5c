"""OpenTelemetry spans and log fields of workflow runs and steps (see ``waku._tracing``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def child(*args: str) -> Any:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout)


def test_spans_of_a_workflow_that_fails_then_resumes_and_succeeds() -> None:
    seen = child("-m", "tests.tracing_child")
    spans = [s for s in seen["spans"] if s["attributes"]["waku.workflow_name"] == "orders"]
    # run 1: load and charge executed, charge failed; run 2: charge again, load replayed
    assert [(s["name"], s["status"]) for s in spans] == [
        ("waku.step tests.tracing_child:load", "UNSET"),
        ("waku.step tests.tracing_child:charge", "ERROR"),
        ("waku.workflow orders", "ERROR"),
        ("waku.step tests.tracing_child:charge", "UNSET"),
        ("waku.workflow orders", "UNSET"),
    ]
    load, failed, first, retried, second = spans
    assert load["parent"] == failed["parent"] == first["id"]
    assert retried["parent"] == second["id"]
    assert retried["attributes"] == {
        "waku.workflow_name": "orders",
        "waku.workflow_id": "o-1",
        "waku.step": 2,
        "waku.function": "tests.tracing_child:charge",
        "waku.attempt": 2,
        "waku.outcome": "succeeded",
    }
    assert (failed["attributes"]["waku.attempt"], failed["attributes"]["waku.outcome"]) == (
        1,
        "failed",
    )
    assert first["attributes"]["waku.outcome"] == "failed"
    assert second["attributes"] == {
        "waku.workflow_name": "orders",
        "waku.workflow_id": "o-1",
        "waku.steps": 2,
        "waku.replayed_steps": 1,
        "waku.outcome": "succeeded",
    }
    logs = [
        (r["waku_step"], r["waku_attempt"], r["waku_outcome"])
        for r in seen["logs"]
        if r["waku_workflow_name"] == "orders"
    ]
    assert logs == [
        (1, 1, "succeeded"),
        (2, 1, "failed"),
        (None, None, "failed"),
        (2, 2, "succeeded"),
        (None, None, "succeeded"),
    ]
    assert {r["waku_workflow_id"] for r in seen["logs"][:5]} == {"o-1"}


def test_each_attempt_of_a_step_with_retries_is_a_span() -> None:
    spans = child("-m", "tests.tracing_child")["spans"]
    retried = [s for s in spans if s["attributes"]["waku.workflow_name"] == "retried"]
    assert [
        (s["name"], s["attributes"].get("waku.attempt"), s["attributes"]["waku.outcome"])
        for s in retried
    ] == [
        ("waku.step tests.tracing_child:flaky", 1, "failed"),
        ("waku.step tests.tracing_child:flaky", 2, "failed"),
        ("waku.step tests.tracing_child:flaky", 3, "succeeded"),
        ("waku.workflow retried", None, "succeeded"),
    ]


def test_without_opentelemetry_nothing_is_imported() -> None:
    code = (
        "import sys, json\n"
        "sys.modules['opentelemetry'] = None  # as if not installed\n"
        "import waku\n"
        "waku.set_store('memory://')\n"
        "result = waku.run_workflow('w', lambda: waku.step(len, 'abc'))\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('opentelemetry'))\n"
        "print(json.dumps({'result': result.result, 'loaded': loaded}))\n"
    )
    assert child("-c", code) == {"result": 3, "loaded": ["opentelemetry"]}  # only the block


def test_an_installed_api_without_an_sdk_traces_nothing() -> None:
    code = (
        "import sys, json\n"
        "import waku\n"
        "from waku import _tracing\n"
        "waku.set_store('memory://')\n"
        "waku.run_workflow('w', lambda: waku.step(len, 'abc'))\n"
        "print(json.dumps({'observed': _tracing.observed()}))\n"
    )
    assert child("-c", code) == {"observed": False}
