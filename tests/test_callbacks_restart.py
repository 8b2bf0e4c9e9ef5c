"""Callbacks across processes: a waiting workflow resumed by another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def child(*args: str, ttl: float = 0) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.callback_child", *args],
        cwd=ROOT,
        env={**os.environ, "WAKU_TEST_TTL": str(ttl)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_waiting_workflow_is_completed_from_another_process(durable_url: str) -> None:
    db = durable_url
    started = child("start", db)
    token = started[0]["token"]
    assert started[1] == {"result": "pending"}
    assert child("rerun", db) == [{"result": "pending"}]  # no second token while waiting
    assert child("complete", db, token) == [{"result": "approved 45 by ana"}]


def test_a_restart_keeps_the_original_deadline(durable_url: str) -> None:
    db = durable_url
    began = time.time()
    # No process is alive when the deadline passes: only the stored deadline counts.
    token = child("start", db, ttl=4)[0]["token"]
    minted = time.time()  # the deadline is at most 4 s after this
    rerun = child("rerun", db, ttl=4)
    if time.time() < began + 4:  # a loaded machine may take longer than the deadline
        assert rerun == [{"result": "pending"}]
    time.sleep(max(0.0, minted + 4.1 - time.time()))
    assert child("rerun", db, ttl=60) == [{"result": "timed out: CallbackTimeoutError"}]
    with pytest.raises(subprocess.CalledProcessError) as refused:
        child("complete", db, token)
    assert "expired" in refused.value.stderr
