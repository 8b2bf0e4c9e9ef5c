"""Kill soak for SQLiteStore: many SIGKILL trials, then a resume and the same checks as the tests.

    python bench/soak.py [--trials 1000] [--workflows 2000]

Each trial starts a worker that resumes and runs workflows of five logged
steps on one file, and kills it with SIGKILL after a random delay. After every
kill ``PRAGMA integrity_check`` must say ok; at the end this process resumes
every workflow and checks each result, and that no step ran again except the
one in flight in a killed process. Not part of ``make test`` (it takes minutes).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the worker's step functions live in tests/

import waku  # noqa: E402
from tests import sqlite_steps  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--workflows", type=int, default=2000)
    parser.add_argument("--dir", default=".", help="where to make the database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="waku-soak-", dir=args.dir))
    db, log = folder / "soak.db", folder / "effects.log"
    rng = random.Random()
    killed: set[str] = set()
    started = time.monotonic()
    for trial in range(args.trials):
        durability = "full" if trial % 2 else "normal"
        pid = sqlite_steps.kill_trial(db, log, durability, args.workflows, rng.uniform(0.0, 0.15))
        if pid is not None:
            killed.add(pid)
        if trial % 100 == 99:
            print(f"{trial + 1} trials, {time.monotonic() - started:.0f} s", flush=True)

    sqlite_steps.open_log(str(log))
    with waku.SQLiteStore(db) as store:
        for i in range(args.workflows):
            result = waku.run_workflow(
                "crash", partial(sqlite_steps.crash_body, i), workflow_id=f"wf-{i}", store=store
            )
            if result.result != sqlite_steps.expected(i):
                raise SystemExit(f"wf-{i}: wrong result {result.result}")
    repeated = sqlite_steps.check_effects(str(log), killed)
    steps = len({line.split(" ", 1)[1] for line in log.read_text().splitlines()})
    shutil.rmtree(folder)
    print(
        f"ok: {args.trials} trials, {len(killed)} kills, {steps} steps, "
        f"{repeated} re-runs of a step in flight at a kill, integrity ok"
    )


if __name__ == "__main__":
    main()
