"""The dashboard's list page over a SQLite store of 100,000 workflows; prints figures.

The rows are written straight into the store's table (a bulk load: running
100,000 workflows would measure the engine, not the dashboard), then the
list page is fetched over HTTP: the first page, deep pages by cursor, and
the same with a status and a name filter. Each figure is the best of five
fetches, counts per status included.

Run: ``python bench/dashboard.py [workflows]`` (``make bench`` runs it too).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import waku
from waku.dashboard import make_server

STATUSES = ["succeeded"] * 7 + ["failed", "waiting", "running"]


def load(path: Path, count: int) -> None:
    store = waku.SQLiteStore(str(path))
    waku.run_workflow("seed", lambda: waku.step(len, "abc"), workflow_id="seed", store=store)
    store.close()
    db = sqlite3.connect(path)
    (result,) = db.execute("SELECT result FROM workflows WHERE workflow_id = 'seed'").fetchone()
    start = time.time() - count
    db.executemany(
        "INSERT INTO workflows (workflow_name, workflow_id, status, created_at, updated_at, result)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            (
                f"flow-{n % 5}",
                f"job-{n:07d}",
                STATUSES[n % 10],
                start + n,
                start + n,
                result if STATUSES[n % 10] == "succeeded" else None,
            )
            for n in range(count)
        ),
    )
    db.commit()
    db.close()


def best_of(url: str, times: int = 5) -> float:
    best = float("inf")
    for _ in range(times):
        began = time.perf_counter()
        with urllib.request.urlopen(url) as response:
            response.read()
        best = min(best, time.perf_counter() - began)
    return best


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dashboard.db"
        load(path, count)
        store = waku.SQLiteStore(str(path))
        server = make_server(store, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        deep = f"job-{count // 2:07d}"
        pages = {
            "first page": "",
            f"page by cursor at {deep}": f"?before_name=flow-{count // 2 % 5}&before_id={deep}",
            "failed, first page": "?status=failed",
            "one name, first page": "?name=flow-2",
            f"one name, cursor at {deep}": f"?name=flow-{count // 2 % 5}&before_name="
            f"flow-{count // 2 % 5}&before_id={deep}",
        }
        print(f"list page over {count:,} workflows in SQLite, best of 5, counts included")
        try:
            for label, query in pages.items():
                print(f"  {label:<40} {best_of(server.url + query) * 1000:7.1f} ms")
        finally:
            server.shutdown()
            server.server_close()
            store.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
