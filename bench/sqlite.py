"""SQLiteStore benchmark: ratios against raw SQLite commits and DBOS Transact, in one run.

    python bench/sqlite.py [--dir DIR] [--quick]

Every file is made in a fresh temporary folder inside DIR (default: the
working directory), so all measurements share one file system. DBOS rows are
skipped, with a note, when ``dbos`` is not installed (``pip install
'waku[bench]'``). DBOS runs twice: as shipped, and on Waku's footing (its
SQLite system database in WAL mode with the same ``synchronous`` setting).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

import waku

SYNC = {"full": "FULL", "normal": "NORMAL"}


@dataclass
class Row:
    label: str
    value: float | None
    unit: str
    target: str = ""
    note: str = ""


def inc(x: int) -> int:
    return x + 1


def three_steps(x: int) -> Any:
    return waku.pipe(x, waku.step(inc), waku.step(inc), waku.step(inc))


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Bench:
    def __init__(self, folder: Path, quick: bool) -> None:
        self.folder = folder
        self.quick = quick
        self.files = 0

    def fresh(self, stem: str) -> Path:
        self.files += 1
        return self.folder / f"{stem}-{self.files}.db"

    # -- raw SQLite -----------------------------------------------------------

    def raw_commit(self, durability: str, n: int) -> float:
        """Seconds per single-row INSERT + COMMIT, WAL, same synchronous setting."""
        conn = sqlite3.connect(self.fresh("raw"), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={SYNC[durability]}")
            conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
            row = b"R json bench:inc\n12345"

            def run() -> None:
                for _ in range(n):
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("INSERT INTO t (v) VALUES (?)", (row,))
                    conn.execute("COMMIT")

            return timed(run) / n
        finally:
            conn.close()

    # -- Waku -----------------------------------------------------------------

    def waku_steps(self, durability: str, n: int) -> tuple[float, float]:
        """Seconds per executed step, and per replayed step, of one n-step workflow."""
        with waku.SQLiteStore(self.fresh("waku"), durability=durability) as store:

            def body() -> Any:
                return waku.step_until(inc, lambda v: v >= n, 0)

            run = timed(lambda: waku.run_workflow("seq", body, workflow_id="w", store=store))
            replay = timed(lambda: waku.run_workflow("seq", body, workflow_id="w", store=store))
        return run / n, replay / n

    def waku_throughput(self, durability: str, threads: int, per_thread: int) -> float:
        """3-step workflows per second, ``threads`` threads each running ``per_thread``."""
        with waku.SQLiteStore(self.fresh("tput"), durability=durability) as store:

            def work(t: int) -> None:
                for i in range(per_thread):
                    waku.run_workflow(
                        "three",
                        partial(three_steps, i),
                        workflow_id=f"{t}-{i}",
                        store=store,
                    )

            return threads * per_thread / in_threads(threads, work)

    # -- DBOS -----------------------------------------------------------------

    def dbos(
        self, durability: str, steps: int, threads: int, per_thread: int, *, tuned: bool
    ) -> dict[str, float]:
        """Per-step, per-replayed-step seconds and 3-step workflows/s on DBOS.

        ``tuned``: DBOS on Waku's footing (WAL, same ``synchronous``); otherwise
        DBOS as shipped (its own engine: rollback journal, ``synchronous=FULL``).
        """
        import sqlalchemy as sa
        from dbos import DBOS, SetWorkflowID

        path = self.fresh("dbos")
        engine = sa.create_engine(f"sqlite:///{path}")

        config: dict[str, Any] = {
            "name": "waku-bench",
            "system_database_url": f"sqlite:///{path}",
            "log_level": "ERROR",
        }
        if tuned:

            @sa.event.listens_for(engine, "connect")
            def _same_footing(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = "IMMEDIATE"  # as DBOS's own engine does
                dbapi_conn.execute("PRAGMA busy_timeout=30000")
                dbapi_conn.execute("PRAGMA foreign_keys=ON")
                dbapi_conn.execute("PRAGMA journal_mode=WAL")
                dbapi_conn.execute(f"PRAGMA synchronous={SYNC[durability]}")

            config["system_database_engine"] = engine
        DBOS(config=cast(Any, config))  # a TypedDict when dbos is installed

        calls = [0]

        @DBOS.step()
        def d_inc(x: int) -> int:
            calls[0] += 1
            return x + 1

        spans: list[float] = []

        @DBOS.workflow()
        def d_seq(n: int) -> int:
            start = time.perf_counter()
            value = 0
            for _ in range(n):
                value = d_inc(value)
            spans.append(time.perf_counter() - start)
            return value

        @DBOS.workflow()
        def d_three(x: int) -> int:
            return d_inc(d_inc(d_inc(x)))

        DBOS.launch()
        try:
            with SetWorkflowID("seq"):
                run = timed(lambda: d_seq(steps))
            # Marked pending and recovered, the workflow re-runs with every step replayed.
            # Timed inside its body: DBOS reports a recovered result by polling once a second.
            with engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "UPDATE workflow_status SET status = 'PENDING' WHERE workflow_uuid = 'seq'"
                    )
                )
            executed = calls[0]
            for handle in DBOS._recover_pending_workflows():
                handle.get_result()
            if calls[0] != executed:
                raise RuntimeError("DBOS re-executed steps instead of replaying them")
            replay = spans[-1]

            def work(t: int) -> None:
                for i in range(per_thread):
                    with SetWorkflowID(f"three-{t}-{i}"):
                        d_three(i)

            tput = threads * per_thread / in_threads(threads, work)
        finally:
            DBOS.destroy(destroy_registry=True)
            engine.dispose()
        return {"step": run / steps, "replay": replay / steps, "tput": tput}


def in_threads(threads: int, work: Callable[[int], None]) -> float:
    """Seconds for ``threads`` threads to run ``work(t)``, started together."""
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def main(t: int) -> None:
        barrier.wait()
        try:
            work(t)
        except BaseException as error:
            errors.append(error)

    pool = [threading.Thread(target=main, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start


def measure(bench: Bench) -> list[Row]:
    q = bench.quick
    seq, replay_n, big = (200, 2_000, 10_000) if q else (1_000, 10_000, 100_000)
    tput_1, tput_8 = (50, 20) if q else (200, 100)
    rows: list[Row] = []
    waku_step: dict[str, float] = {}
    for durability in ("full", "normal"):
        # Alternate the two, five times each: disk noise then hits both alike.
        raws, steps = [], []
        for _ in range(5):
            raws.append(bench.raw_commit(durability, seq))
            steps.append(bench.waku_steps(durability, seq)[0])
        raw, step = statistics.median(raws), statistics.median(steps)
        waku_step[durability] = step
        rows.append(Row(f"raw INSERT+COMMIT, {durability}", raw * 1e6, "µs"))
        rows.append(Row(f"Waku step, {seq}-step workflow, {durability}", step * 1e6, "µs"))
        rows.append(Row(f"Waku step ÷ raw commit, {durability}", step / raw, "x", "≤ 1.3"))

    _, replay = bench.waku_steps("normal", replay_n)
    rows.append(Row(f"Waku replay, {replay_n}-step workflow", 1 / replay, "steps/s", "≥ 200000"))
    small, _ = bench.waku_steps("normal", 1_000)
    large, _ = bench.waku_steps("normal", big)
    rows.append(Row(f"Waku step at {big} ÷ at 1000 steps, normal", large / small, "x", "≤ 1.2"))

    ones, eights = [], []
    for _ in range(3):
        ones.append(bench.waku_throughput("full", 1, tput_1))
        eights.append(bench.waku_throughput("full", 8, tput_8))
    one, eight = statistics.median(ones), statistics.median(eights)
    rows.append(Row("Waku 3-step workflows/s, 1 thread, full", one, "wf/s"))
    rows.append(Row("Waku 3-step workflows/s, 8 threads, full", eight, "wf/s"))
    rows.append(Row("Waku 8 threads ÷ 1 thread, full", eight / one, "x", "≥ 4"))

    try:
        import dbos  # noqa: F401
    except ImportError:
        rows.append(Row("DBOS rows", None, "", note="skipped: pip install 'waku[bench]'"))
        return rows
    d_steps, d_per = (50, 3) if q else (200, 10)
    for tuned, how in ((False, "as shipped"), (True, "on WAL like Waku")):
        d = bench.dbos("full", d_steps, 8, d_per, tuned=tuned)
        rows.append(Row(f"DBOS {how}: step, {d_steps}-step workflow, full", d["step"] * 1e6, "µs"))
        rows.append(
            Row(f"DBOS {how}: step ÷ Waku step", d["step"] / waku_step["full"], "x", "≥ 10")
        )
        rows.append(Row(f"DBOS {how}: replay ÷ Waku replay", d["replay"] / replay, "x", "≥ 50"))
        rows.append(Row(f"DBOS {how}: 3-step workflows/s, 8 threads", d["tput"], "wf/s"))
        rows.append(Row(f"Waku ÷ DBOS {how}: workflows/s", eight / d["tput"], "x", "≥ 10"))
    return rows


def render(rows: list[Row]) -> str:
    lines = ["| measure | value | target |", "|---|---:|---|"]
    for row in rows:
        if row.value is None:
            value = row.note
        elif row.unit == "x":
            value = f"{row.value:.2f} x"
        else:
            value = (
                f"{row.value:,.0f} {row.unit}"
                if row.value >= 100
                else f"{row.value:.1f} {row.unit}"
            )
        lines.append(f"| {row.label} | {value} | {row.target} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=".", help="where to make the benchmark's files")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="waku-bench-", dir=args.dir))
    try:
        rows = measure(Bench(folder, args.quick))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    print(render(rows))


if __name__ == "__main__":
    main()
