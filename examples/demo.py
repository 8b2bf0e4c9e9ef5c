"""Waku's demo: a data pipeline killed part way, then resumed by a new process.

``make demo`` runs it. The first process is killed with SIGKILL while step 4
runs; a second process runs the same workflow id against ``waku.db`` and
replays steps 1-3 from the store instead of running them again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import waku

DB = Path("waku.db")
WORKFLOW_ID = "nightly-sales-report"
PAUSE = float(os.environ.get("WAKU_DEMO_PAUSE", "3"))
executed: list[str] = []


def say(message: str) -> None:
    print(message, flush=True)


Step = Callable[[Any], Any]


def traced(name: str) -> Callable[[Step], Step]:
    """Print when a step really runs; replayed steps never call their function."""

    def decorate(fn: Step) -> Step:
        def run(value: Any) -> Any:
            executed.append(name)
            say(f"    running  {name}")
            return fn(value)

        run.__qualname__ = name
        run.__module__ = __name__
        return run

    return decorate


@traced("load_orders")
def load_orders(day: str) -> dict[str, Any]:
    rows = [(f"order-{i}", ["north", "south", "east"][i % 3], 10 + (i * 7) % 40) for i in range(30)]
    return {"day": day, "rows": rows}


@traced("drop_refunds")
def drop_refunds(batch: dict[str, Any]) -> dict[str, Any]:
    return {**batch, "rows": [r for r in batch["rows"] if r[2] % 5 != 0]}


@traced("convert_currency")
def convert_currency(batch: dict[str, Any]) -> dict[str, Any]:
    time.sleep(0.2)  # an expensive call to a rates service
    return {
        **batch,
        "rows": [(o, region, round(amount * 1.08, 2)) for o, region, amount in batch["rows"]],
    }


@traced("totals_by_region")
def totals_by_region(batch: dict[str, Any]) -> dict[str, Any]:
    say(f"    ... totals_by_region takes {PAUSE:g} seconds")
    time.sleep(PAUSE)
    totals: dict[str, float] = {}
    for _, region, amount in batch["rows"]:
        totals[region] = round(totals.get(region, 0.0) + amount, 2)
    return {"day": batch["day"], "totals": totals}


@traced("publish_report")
def publish_report(summary: dict[str, Any]) -> str:
    lines = [f"{region:>6}: {total:8.2f}" for region, total in sorted(summary["totals"].items())]
    return f"Sales for {summary['day']}\n" + "\n".join(lines)


def pipeline() -> Any:
    return waku.pipe(
        "2026-11-27",
        waku.step(load_orders),
        waku.step(drop_refunds),
        waku.step(convert_currency),
        waku.step(totals_by_region),
        waku.step(publish_report),
    )


def child() -> None:
    """One process's attempt at the workflow."""
    waku.set_store(os.environ.get("WAKU_STORE", f"sqlite:///{DB}"))
    result = waku.run_workflow("sales-report", pipeline, workflow_id=WORKFLOW_ID)
    replayed = result.latest_step - len(executed)
    say(
        f"    steps reached: {result.latest_step}, "
        f"replayed from the store: {replayed}, run now: {len(executed)}"
    )
    say("\n" + str(result.result))


def main() -> None:
    if "--child" in sys.argv:
        child()
        return
    for leftover in (DB, Path(f"{DB}-wal"), Path(f"{DB}-shm")):
        leftover.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--child"]

    say("Process 1 starts the workflow:")
    first = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert first.stdout is not None
    for line in first.stdout:
        print(line, end="", flush=True)
        if "totals_by_region takes" in line:
            first.send_signal(signal.SIGKILL)
            break
    first.wait()
    say(f"  process 1 was killed (exit code {first.returncode}) in the middle of step 4\n")

    say("Process 2 runs the same workflow id:")
    second = subprocess.run(command, check=True)
    say("\nSee what it did, step by step (the store is waku.db here):")
    say("    .venv/bin/waku list")
    say(f"    .venv/bin/waku show sales-report {WORKFLOW_ID}")
    say("    .venv/bin/waku ui        # the dashboard, at http://127.0.0.1:8321")
    sys.exit(second.returncode)


if __name__ == "__main__":
    main()
