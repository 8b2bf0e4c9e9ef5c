"""Step functions and a worker shared by the SQLite crash and restart tests.

Step functions live in an importable module (not ``__main__``) so that the
worker process and the test process record the same ``module:qualname``.
A worker is started as ``python -c "from tests.sqlite_steps import main; main()" ...``.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import waku

STEPS = 5
_log_fd = -1
_pause = 0.0  # seconds each logged step takes, so that two runs overlap


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: tuple[int, int]


VALUES: list[Any] = [
    (1, "a", (2.5, None)),
    {1, 2, 3},
    frozenset({"x"}),
    b"\x00\xffbytes",
    dt.datetime(2026, 11, 28, 12, 30, tzinfo=dt.timezone.utc),
    dt.date(2026, 11, 28),
    dt.timedelta(days=1, microseconds=5),
    Decimal("1.10"),
    uuid.UUID(int=12345),
    Colour.RED,
    Point(1, (2, 3)),
    {1: "int key", "s": [1, (2, 3)]},
    2**200,
    None,
    True,
]


def open_log(path: str) -> None:
    """Side effects go to this file, one line per step execution, appended atomically."""
    global _log_fd
    _log_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def work(value: int) -> int:
    """A step with a side effect: logs ``pid workflow step`` before returning."""
    scope = waku.idempotency_key()  # name/id/step
    os.write(_log_fd, f"{os.getpid()} {scope}\n".encode())
    if _pause:
        time.sleep(_pause)
    return value * 3 + 1


def crash_body(start: int) -> Any:
    """Five logged steps."""
    value = start
    for _ in range(STEPS):
        value = waku.step(work, value)
    return value


def expected(start: int) -> int:
    value = start
    for _ in range(STEPS):
        value = value * 3 + 1
    return value


def pick(index: int) -> Any:
    """Return one of the sample values; logs so that a replay can prove it did not run."""
    os.write(_log_fd, f"{os.getpid()} pick {index}\n".encode())
    return VALUES[index]


def values_body() -> list[Any]:
    return [waku.step(pick, i) for i in range(len(VALUES))]


ROOT = Path(__file__).resolve().parents[1]


def integrity(db: Path) -> str:
    """What ``PRAGMA integrity_check`` says of the file."""
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def kill_trial(db: Path, log: Path, durability: str, workflows: int, delay: float) -> str | None:
    """Start a worker running ``workflows`` crash workflows; SIGKILL it after ``delay`` s.

    Returns the killed worker's pid, or None when it finished first. Raises
    when the worker failed, or when the file is damaged after the kill.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", "from tests.sqlite_steps import main; main()", "crash",
         str(db), str(log), durability, str(workflows)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    try:
        if child.stdout.readline() != "ready\n":
            raise AssertionError("the worker failed to start")
        try:
            child.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        child.stdout.close()
    if child.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"the worker exited with {child.returncode}")
    status = integrity(db)
    if status != "ok":
        raise AssertionError(f"integrity_check after a kill says {status}")
    return str(child.pid) if child.returncode == -signal.SIGKILL else None


def check_effects(log: str, killed: set[str]) -> int:
    """Check the side-effect log of workers, ``killed`` ones among them.

    Every execution of a step but its last must be the step in flight when its
    process was killed (the process's last logged line): a completed step never
    runs again. Returns how many executions were such repeats.
    """
    entries = [line.split(" ", 1) for line in Path(log).read_text().splitlines()]
    last_line_of = dict(entries)  # a dict keeps each pid's last line
    runners: dict[str, list[str]] = collections.defaultdict(list)
    for pid, key in entries:
        runners[key].append(pid)
    repeats = 0
    for key, pids in runners.items():
        for pid in pids[:-1]:
            if pid not in killed or last_line_of[pid] != key:
                raise AssertionError(f"{key} ran again after process {pid} completed it")
        repeats += len(pids) - 1
    return repeats


def main() -> None:
    """``mode db log ...``: run workflows in a child process for the tests."""
    mode, db, log, *rest = sys.argv[1:]
    open_log(log)
    if mode == "crash":
        global _pause
        # Slow enough that a kill within a trial's window always lands mid-work,
        # short enough that the kill often hits a commit rather than the sleep.
        _pause = 0.001
        durability, count = rest[0], int(rest[1])
        with waku.SQLiteStore(db, durability=durability, lease_ttl=60) as store:
            print("ready", flush=True)
            for i in range(count):
                waku.run_workflow(
                    "crash", partial(crash_body, i), workflow_id=f"wf-{i}", store=store
                )
    elif mode == "twin":
        _pause = 0.02
        with waku.SQLiteStore(db, lease_wait=60) as store:
            print("ready", flush=True)
            sys.stdin.readline()  # the test releases both twins at once
            result = waku.run_workflow(
                "twin", lambda: crash_body(7), workflow_id="same", store=store
            )
            print(result.result, flush=True)
    elif mode == "values":
        with waku.SQLiteStore(db) as store:
            waku.run_workflow("values", values_body, workflow_id="v", store=store)
    else:
        raise SystemExit(f"unknown mode {mode}")
