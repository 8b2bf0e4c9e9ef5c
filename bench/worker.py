"""Queued workflows through worker processes on SQLite; prints figures, asserts nothing.

Measured in one run, on one file system:

- enqueued 3-step workflows per second through 1 and 4 Waku worker processes;
- the same workload through DBOS Transact's queue on SQLite (as shipped, and
  on WAL like Waku), when ``dbos`` is installed (``pip install 'waku[bench]'``);
- time from ``enqueue`` in one process to the workflow starting in an idle
  worker process, median and p99, and the CPU an idle worker uses.

Run: ``python bench/worker.py [workflows]`` (``make bench`` runs it too).
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import waku

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@waku.step
def one(n: int) -> int:
    return n + 1


@waku.step
def two(n: int) -> int:
    return n * 2


@waku.step
def three(n: int) -> int:
    return n - 1


@waku.workflow(name="bench-three")
def bench_three(n: int) -> int:
    return three(two(one(n)))


@waku.step
def started_at(sent: float) -> float:
    return time.time() - sent


@waku.workflow(name="bench-latency")
def bench_latency(sent: float) -> float:
    return started_at(sent)


def worker_process(url: str) -> subprocess.Popen[bytes]:
    code = (
        "import sys; sys.path.insert(0, 'bench'); import worker, waku; "
        f"waku.Worker(waku.set_store({url!r}), concurrency=8).run()"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)


def finished(path: Path, name: str) -> int:
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM workflows WHERE workflow_name = ? AND status = 'succeeded'",
            (name,),
        ).fetchone()
    return int(count)


def waku_throughput(folder: Path, workers: int, count: int) -> float:
    path = folder / f"tput-{workers}.db"
    url = f"sqlite:///{path}"
    began = time.perf_counter()  # enqueueing counts, as it does for DBOS
    store = waku.SQLiteStore(path)
    for i in range(count):
        bench_three.enqueue(i, workflow_id=f"w{i}", store=store)
    store.close()
    procs = [worker_process(url) for _ in range(workers)]
    try:
        while finished(path, "bench-three") < count:
            time.sleep(0.02)
        return count / (time.perf_counter() - began)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)


def waku_latency(folder: Path, samples: int) -> tuple[float, float, float]:
    """Median and p99 enqueue-to-start seconds, and an idle worker's CPU share."""
    path = folder / "latency.db"
    url = f"sqlite:///{path}"
    store = waku.SQLiteStore(path)
    proc = worker_process(url)
    try:
        time.sleep(1.0)  # the worker is up and idle
        cpu_before, idle_began = _cpu(proc.pid), time.perf_counter()
        time.sleep(2.0)
        idle_cpu = (_cpu(proc.pid) - cpu_before) / (time.perf_counter() - idle_began)
        delays = []
        for i in range(samples):
            handle = bench_latency.enqueue(time.time(), workflow_id=f"l{i}", store=store)
            delays.append(handle.result(timeout=30))
            time.sleep(0.01)
    finally:
        proc.terminate()
        proc.wait(30)
        store.close()
    delays.sort()
    return statistics.median(delays), delays[int(len(delays) * 0.99) - 1], idle_cpu


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dbos_throughput(folder: Path, count: int, *, tuned: bool) -> float | None:
    """DBOS's queue, in its own process (it runs its queue workers in-process)."""
    try:
        import dbos  # noqa: F401
    except ImportError:
        return None
    code = (
        "import sys; sys.path.insert(0, 'bench'); import dbos_queue; "
        f"dbos_queue.main({str(folder)!r}, {count}, {tuned})"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory(prefix="waku-bench-", dir=".") as tmp:
        folder = Path(tmp).resolve()
        one_worker = waku_throughput(folder, 1, count)
        four_workers = waku_throughput(folder, 4, count)
        median, p99, idle = waku_latency(folder, 100)
        shipped = dbos_throughput(folder, count, tuned=False)
        wal = dbos_throughput(folder, count, tuned=True)
    print(f"{count} enqueued 3-step workflows on SQLite, Python {sys.version.split()[0]}")
    print(f"  Waku, 1 worker process:    {one_worker:8,.0f} wf/s")
    print(f"  Waku, 4 worker processes:  {four_workers:8,.0f} wf/s")
    for label, figure in (("as shipped", shipped), ("on WAL", wal)):
        if figure is None:
            print(f"  DBOS {label}: skipped (pip install 'waku[bench]')")
        else:
            ratio = four_workers / figure
            print(
                f"  DBOS {label}: {figure:8,.0f} wf/s   Waku 4 ÷ DBOS: {ratio:.1f}x (target >= 10)"
            )
    print(
        f"  enqueue -> start: median {median * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms (target <= 50)"
    )
    print(f"  idle worker CPU: {idle * 100:.2f} % of one core")


if __name__ == "__main__":
    main()
