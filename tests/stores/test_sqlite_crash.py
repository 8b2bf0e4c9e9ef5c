"""SQLiteStore across processes: SIGKILL at random moments, twin resumes, restarts."""

from __future__ import annotations

import collections
import os
import random
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

import waku

from .. import sqlite_steps

ROOT = sqlite_steps.ROOT
TRIALS = 50
WORKFLOWS = 400  # more than a trial can finish, so every kill lands mid-work


def spawn(*args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    code = "from tests.sqlite_steps import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdin=stdin,
        stdout=subprocess.PIPE,
        text=True,
    )


def read_log(log: Path) -> list[tuple[str, str]]:
    return [tuple(line.split(" ", 1)) for line in log.read_text().splitlines()]  # type: ignore[misc]


def test_sigkill_at_random_moments_never_reexecutes_a_completed_step(tmp_path: Path) -> None:
    db, log = tmp_path / "crash.db", tmp_path / "effects.log"
    rng = random.Random(20261128)
    killed: set[str] = set()
    for trial in range(TRIALS):
        durability = "full" if trial % 2 else "normal"
        pid = sqlite_steps.kill_trial(db, log, durability, WORKFLOWS, rng.uniform(0.0, 0.12))
        if pid is not None:  # None: finished first, once earlier trials did most of the work
            killed.add(pid)
    assert len(killed) >= TRIALS * 0.8, f"only {len(killed)} of {TRIALS} trials were killed"

    # A new process (this one) resumes every workflow to the end.
    sqlite_steps.open_log(str(log))
    with waku.SQLiteStore(db) as store:
        for i in range(WORKFLOWS):
            result = waku.run_workflow(
                "crash", partial(sqlite_steps.crash_body, i), workflow_id=f"wf-{i}", store=store
            )
            assert result.result == sqlite_steps.expected(i)
    assert sqlite_steps.integrity(db) == "ok"

    counts = collections.Counter(key for _, key in read_log(log))
    assert len(counts) == WORKFLOWS * sqlite_steps.STEPS
    assert sqlite_steps.check_effects(str(log), killed) <= len(killed)


def test_two_processes_resuming_one_id_run_each_step_once(tmp_path: Path) -> None:
    db, log = tmp_path / "twin.db", tmp_path / "effects.log"
    waku.SQLiteStore(db).close()  # create the schema before the race
    twins = [spawn("twin", str(db), str(log), stdin=subprocess.PIPE) for _ in range(2)]
    for twin in twins:
        assert twin.stdout is not None
        assert twin.stdout.readline() == "ready\n"
    for twin in twins:  # release both as close together as two writes allow
        assert twin.stdin is not None
        twin.stdin.write("go\n")
        twin.stdin.flush()
    outputs = []
    for twin in twins:
        out, _ = twin.communicate(timeout=60)
        assert twin.returncode == 0
        outputs.append(out.strip())
    assert outputs == [str(sqlite_steps.expected(7))] * 2
    counts = collections.Counter(key for _, key in read_log(log))
    assert sorted(counts.values()) == [1] * sqlite_steps.STEPS


def test_values_replay_equal_and_same_typed_in_another_process(tmp_path: Path) -> None:
    db, log = tmp_path / "values.db", tmp_path / "effects.log"
    writer = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tests.sqlite_steps import main; main()",
            "values",
            str(db),
            str(log),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert writer.returncode == 0, writer.stderr
    sqlite_steps.open_log(str(log))
    with waku.SQLiteStore(db) as store:
        result = waku.run_workflow("values", sqlite_steps.values_body, workflow_id="v", store=store)
    assert len(read_log(log)) == len(sqlite_steps.VALUES)  # nothing ran in this process
    for replayed, original in zip(result.result, sqlite_steps.VALUES, strict=True):
        assert replayed == original
        assert type(replayed) is type(original)
    assert type(result.result[0][2]) is tuple  # nested types too
    assert os.getpid() not in {int(pid) for pid, _ in read_log(log)}


@pytest.fixture(autouse=True)
def _close_log() -> object:
    yield None
    if sqlite_steps._log_fd >= 0:
        os.close(sqlite_steps._log_fd)
        sqlite_steps._log_fd = -1
