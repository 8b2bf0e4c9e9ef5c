"""`make demo` really kills a process mid-workflow and resumes it in another."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def test_demo_resumes_after_sigkill_replaying_completed_steps(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WAKU_STORE"}
    done = subprocess.run(
        [sys.executable, str(DEMO)],
        cwd=tmp_path,
        env={**env, "WAKU_DEMO_PAUSE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    first, second = done.stdout.split("Process 2")
    assert "exit code -9" in first and "publish_report" not in first
    assert "running  load_orders" not in second  # replayed from waku.db
    assert "replayed from the store: 3, run now: 2" in second
    assert "north:   216.00" in second
    assert (tmp_path / "waku.db").exists()
    hint = "waku show sales-report nightly-sales-report"
    assert hint in second
    shown = subprocess.run(
        [sys.executable, "-m", "waku", "show", "sales-report", "nightly-sales-report"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "status:    succeeded" in shown.stdout  # the hint works as printed
