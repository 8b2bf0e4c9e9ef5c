"""Async workflows survive a process restart on every durable store.

Each scenario runs a child process that dies part-way, then a second one that
resumes: steps stored before the crash replay (their functions refuse to run
again), the step that was running runs again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHILD = Path(__file__).with_name("async_restart_child.py")


def child(url: str, scenario: str, phase: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHILD), url, scenario, phase],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def crash_then_resume(url: str, scenario: str) -> Any:
    crashed = child(url, scenario, "crash")
    assert crashed.returncode == 3, crashed.stderr
    resumed = child(url, scenario, "resume")
    assert resumed.returncode == 0, resumed.stderr
    return json.loads(resumed.stdout)


def test_gather_replays_by_call_order_after_a_crash(durable_url: str) -> None:
    assert crash_then_resume(durable_url, "gather") == {"result": "a1+b2", "latest_step": 3}


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup needs Python 3.11")
def test_task_group_replays_by_call_order_after_a_crash(durable_url: str) -> None:
    assert crash_then_resume(durable_url, "taskgroup") == {"result": "a1+b2", "latest_step": 3}


def test_a_background_step_cut_short_by_a_crash_runs_on_resume(durable_url: str) -> None:
    assert crash_then_resume(durable_url, "background") == {"result": "REPORT 1", "latest_step": 2}
