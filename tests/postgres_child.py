"""A process that runs, crashes part-way through, or resumes a workflow on a store URL.

``python -m tests.postgres_child URL PHASE`` with PHASE ``crash`` (dies inside
step 3 with ``os._exit(3)``, after steps 1 and 2 are stored), ``resume``
(steps 1 and 2 must replay: their functions refuse to run) or ``hold`` (takes
the workflow's lease, prints ``holding`` and waits to be killed). Prints the
result as one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

import waku

PHASE = ""


def fetch(order: int) -> dict[str, Any]:
    if PHASE == "resume":
        raise AssertionError("step 1 ran again after the restart")
    return {"order": order, "items": [3, 4]}


def price(order: dict[str, Any]) -> dict[str, Any]:
    if PHASE == "resume":
        raise AssertionError("step 2 ran again after the restart")
    return {**order, "total": sum(order["items"]) * 10}


def charge(order: dict[str, Any]) -> str:
    if PHASE == "crash":
        os._exit(3)  # dies inside step 3, before its result is stored
    if PHASE == "hold":
        print("holding", flush=True)
        threading.Event().wait()
    return f"charged {order['total']} for order {order['order']}"


def body() -> Any:
    return waku.pipe(7, waku.step(fetch), waku.step(price), waku.step(charge))


def main() -> None:
    global PHASE
    url, PHASE = sys.argv[1], sys.argv[2]
    store = waku.set_store(url)
    result = waku.run_workflow("restartable", body, workflow_id="order-7")
    print(json.dumps({"result": result.result, "latest_step": result.latest_step}), flush=True)
    store.close()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
