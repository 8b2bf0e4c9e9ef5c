"""Sleeps and backoffs across a crash: a new process waits only what is left.

These run for real (a process cannot share a test clock with its parent), so
the sleeps last under a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import time_child

ROOT = Path(__file__).resolve().parent.parent.parent
SLACK = 0.25
"""How much later than due a resumed wait may end on a loaded machine."""


def child(*args: str, crashes: bool = False) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.timing.time_child", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == (3 if crashes else 0), done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_crash_during_a_sleep_leaves_only_the_rest_to_wait(durable_url: str) -> None:
    crashed = child("sleep", durable_url, "--crash-after", "0.3", crashes=True)
    assert len(crashed) == 1  # it died before the sleep ended
    resumed = child("sleep", durable_url)
    began, ended = resumed[-1]["result"]
    assert ended - began >= time_child.SLEEP  # the whole sleep passed...
    due = max(resumed[0]["resumed_at"], began + time_child.SLEEP)
    assert ended - due < SLACK  # ...and no more: the resume waited only what was left
    # A replay of the finished sleep waits nothing.
    again = child("sleep", durable_url)
    assert again[-1]["result"] == [began, ended]


def test_a_crash_during_a_backoff_continues_the_wait_and_the_count(
    durable_url: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "attempts.log")
    child("backoff", durable_url, "--log", log, "--crash-after", "0.2", crashes=True)
    first = [float(t) for t in Path(log).read_text().split()]
    assert len(first) == 1  # attempt 1 failed; the process died during the backoff
    resumed = child("backoff", durable_url, "--log", log)
    assert resumed[-1]["result"] == "gave up: down"
    attempts = [float(t) for t in Path(log).read_text().split()]
    assert len(attempts) == 3  # max_attempts in all, not three more after the crash
    due = max(resumed[0]["resumed_at"], attempts[0] + time_child.BACKOFF)
    assert 0 <= attempts[1] - due < SLACK
    assert time_child.BACKOFF <= attempts[2] - attempts[1] < time_child.BACKOFF + SLACK


def test_a_long_sleep_suspends_and_a_later_process_finishes_it(durable_url: str) -> None:
    assert child("long", durable_url)[-1] == {"result": "pending"}
    assert child("long", durable_url, "--advance", "1800")[-1] == {"result": "pending"}
    assert child("long", durable_url, "--advance", "3601")[-1] == {"result": "woke"}
