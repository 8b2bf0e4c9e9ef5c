"""A workflow on the SQLite store: run it twice and the second run replays every step.

python examples/sqlite_store.py [path/to/waku.db]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import waku

executed: list[str] = []


def fetch(order: dict[str, int]) -> dict[str, int]:
    executed.append("fetch")
    return {**order, "price": order["qty"] * 5}


def charge(order: dict[str, int]) -> dict[str, int]:
    executed.append("charge")
    return {**order, "charged": order["price"]}


def main(path: str) -> waku.WorkflowResult:
    waku.set_store(f"sqlite:///{path}")  # three slashes: relative; four: absolute
    body = lambda: waku.pipe({"qty": 3}, waku.step(fetch), waku.step(charge))  # noqa: E731
    first = waku.run_workflow("order", body, workflow_id="order-1")
    again = waku.run_workflow("order", body, workflow_id="order-1")
    print(first.result, "executed:", executed)
    assert again.result == first.result and executed == ["fetch", "charge"]
    return again


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(tempfile.mkdtemp()) / "waku.db"))
