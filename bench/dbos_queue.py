"""DBOS Transact's queue on SQLite, for bench/worker.py (run in a process of its own)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast


def main(folder: str, count: int, tuned: bool) -> None:
    """Print enqueued 3-step workflows per second through one DBOS process's queue."""
    import sqlalchemy as sa
    from dbos import DBOS

    path = Path(folder) / f"dbos-{'wal' if tuned else 'shipped'}.db"
    config: dict[str, Any] = {
        "name": "waku-bench-queue",
        "system_database_url": f"sqlite:///{path}",
        "log_level": "ERROR",
    }
    if tuned:
        engine = sa.create_engine(f"sqlite:///{path}")

        @sa.event.listens_for(engine, "connect")
        def _wal(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = "IMMEDIATE"
            dbapi_conn.execute("PRAGMA busy_timeout=30000")
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=FULL")

        config["system_database_engine"] = engine
    DBOS(config=cast(Any, config))

    @DBOS.step()
    def one(n: int) -> int:
        return n + 1

    @DBOS.step()
    def two(n: int) -> int:
        return n * 2

    @DBOS.step()
    def three(n: int) -> int:
        return n - 1

    @DBOS.workflow()
    def flow(n: int) -> int:
        return three(two(one(n)))

    DBOS.launch()
    queue = DBOS.register_queue("bench", worker_concurrency=8)  # polls once a second, as shipped
    try:
        began = time.perf_counter()
        handles = [queue.enqueue(flow, i) for i in range(count)]
        for handle in handles:
            handle.get_result()
        print(count / (time.perf_counter() - began))
    finally:
        DBOS.destroy(destroy_registry=True)
