"""PostgresStore benchmark: ratios against raw PostgreSQL inserts and DBOS Transact, in one run.

    python bench/postgres.py [--dsn DSN] [--quick]

DSN defaults to ``WAKU_TEST_POSTGRES_DSN`` or the local test server. Waku's
tables go in a fresh schema and DBOS's system database is a fresh database;
both are dropped at the end. DBOS rows are skipped, with a note, when
``dbos`` is not installed (``pip install 'waku[bench]'``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import psycopg
from psycopg import sql

import waku

DEFAULT_DSN = os.environ.get("WAKU_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
RECORD = b"R json bench:inc\n12345"  # about the size of a step's result record


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
    def __init__(self, dsn: str, quick: bool) -> None:
        self.dsn = dsn
        self.quick = quick
        self.schema = f"waku_bench_{uuid.uuid4().hex[:8]}"
        self.store = waku.PostgresStore(dsn, schema=self.schema, max_size=8)
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.conn.execute(
            sql.SQL("CREATE TABLE {}.raw (k bigserial PRIMARY KEY, v bytea)").format(
                sql.Identifier(self.schema)
            )
        )
        self.runs = 0

    def close(self) -> None:
        self.store.close()
        drop = sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(self.schema))
        self.conn.execute(drop)
        self.conn.close()

    def raw_insert(self, n: int) -> float:
        """Seconds per single-row INSERT in autocommit (one round trip, one commit)."""
        insert = sql.SQL("INSERT INTO {}.raw (v) VALUES (%s)").format(sql.Identifier(self.schema))
        query = insert.as_string(self.conn)

        def run() -> None:
            for _ in range(n):
                self.conn.execute(query, (RECORD,))

        return timed(run) / n

    def store_steps(self, n: int) -> float:
        """Seconds per step written straight to the store (start and result), no engine."""
        self.runs += 1
        wid, start, result = f"store-{self.runs}", b"S json bench:inc\n12344", RECORD

        def run() -> None:
            for step in range(1, n + 1):
                self.store.store_start("seq", wid, step, start)
                self.store.store_result("seq", wid, step, result)

        return timed(run) / n

    def waku_steps(self, n: int) -> tuple[float, float]:
        """Seconds per executed step, and per replayed step, of one n-step workflow."""
        self.runs += 1
        wid = f"seq-{self.runs}"

        def body() -> Any:
            return waku.step_until(inc, lambda v: v >= n, 0)

        run = timed(lambda: waku.run_workflow("seq", body, workflow_id=wid, store=self.store))
        replay = timed(lambda: waku.run_workflow("seq", body, workflow_id=wid, store=self.store))
        return run / n, replay / n

    def waku_throughput(self, threads: int, per_thread: int) -> float:
        """3-step workflows per second, ``threads`` threads each running ``per_thread``."""
        self.runs += 1
        prefix = f"tput-{self.runs}"

        def work(t: int) -> None:
            for i in range(per_thread):
                wid = f"{prefix}-{t}-{i}"
                waku.run_workflow(
                    "three", partial(three_steps, i), workflow_id=wid, store=self.store
                )

        return threads * per_thread / in_threads(threads, work)

    def dbos(self, steps: int, threads: int, per_thread: int) -> dict[str, float]:
        """DBOS per-step and per-replayed-step seconds and 3-step workflows/s on this server."""
        from dbos import DBOS, SetWorkflowID

        database = f"waku_bench_dbos_{uuid.uuid4().hex[:8]}"
        url = self.dsn.rsplit("/", 1)[0] + "/" + database
        config: dict[str, Any] = {
            "name": "waku-bench",
            "system_database_url": url,
            "log_level": "ERROR",
        }
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
            # Timed inside its body: DBOS reports a recovered result by polling.
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    "UPDATE dbos.workflow_status SET status = 'PENDING' WHERE workflow_uuid = 'seq'"
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
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database)
            )
            self.conn.execute(drop)
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
    seq, replay_n, repeats = (200, 2_000, 3) if q else (1_000, 10_000, 15)
    tput_1, tput_8 = (30, 10) if q else (200, 50)
    rows: list[Row] = []
    # Alternate the three, many times each and in turn in every position: the server's
    # and the machine's noise (a checkpoint, another job's fsyncs) then hits them alike.
    samples: dict[str, list[float]] = {"raw": [], "store": [], "waku": []}
    runs: dict[str, Callable[[], float]] = {
        "raw": lambda: bench.raw_insert(seq),
        "store": lambda: bench.store_steps(seq),
        "waku": lambda: bench.waku_steps(seq)[0],
    }
    names = list(runs)
    for turn in range(repeats):
        for name in names[turn % 3 :] + names[: turn % 3]:
            samples[name].append(runs[name]())
    raw, alone, step = (statistics.median(samples[name]) for name in names)
    rows.append(Row("raw single-row INSERT, autocommit", raw * 1e6, "µs"))
    rows.append(Row("store_start + store_result, no engine", alone * 1e6, "µs"))
    rows.append(Row(f"Waku step, {seq}-step workflow", step * 1e6, "µs"))
    rows.append(Row("store alone ÷ raw INSERT", alone / raw, "x"))
    rows.append(Row("Waku step ÷ raw INSERT", step / raw, "x", "≤ 1.3"))

    _, replay = bench.waku_steps(replay_n)
    rows.append(Row(f"Waku replay, {replay_n}-step workflow", 1 / replay, "steps/s"))

    one = bench.waku_throughput(1, tput_1)
    eight = bench.waku_throughput(8, tput_8)
    rows.append(Row("Waku 3-step workflows/s, 1 thread", one, "wf/s"))
    rows.append(Row("Waku 3-step workflows/s, 8 threads", eight, "wf/s"))

    try:
        import dbos  # noqa: F401
    except ImportError:
        rows.append(Row("DBOS rows", None, "", note="skipped: pip install 'waku[bench]'"))
        return rows
    d_steps, d_per = (50, 3) if q else (200, 10)
    d = bench.dbos(d_steps, 8, d_per)
    rows.append(Row(f"DBOS step, {d_steps}-step workflow", d["step"] * 1e6, "µs"))
    rows.append(Row("DBOS step ÷ Waku step", d["step"] / step, "x", "≥ 10"))
    rows.append(Row("DBOS replay ÷ Waku replay", d["replay"] / replay, "x"))
    rows.append(Row("DBOS 3-step workflows/s, 8 threads", d["tput"], "wf/s"))
    rows.append(Row("Waku ÷ DBOS: workflows/s, 8 threads", eight / d["tput"], "x"))
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
    parser.add_argument("--dsn", default=DEFAULT_DSN, help="the PostgreSQL server to measure")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    bench = Bench(args.dsn, args.quick)
    try:
        rows = measure(bench)
        (version,) = bench.conn.execute("SHOW server_version").fetchone() or ("?",)
    finally:
        bench.close()
    print(
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, PostgreSQL {version}, psycopg {psycopg.__version__}"
    )
    print(render(rows))


if __name__ == "__main__":
    main()
