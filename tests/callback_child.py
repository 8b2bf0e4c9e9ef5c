"""A process that starts, re-runs or completes a callback workflow on a durable store.

``python -m tests.callback_child start|rerun|complete STORE_URL [TOKEN]`` prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import waku


def label(answer: dict[str, Any]) -> str:
    return f"approved {answer['amount']} by {answer['by']}"


def wait_for_manager(amount: int) -> int:
    ttl = float(os.environ.get("WAKU_TEST_TTL", "0")) or None
    print(json.dumps({"token": waku.create_callback_token(label, ttl=ttl)}), flush=True)
    return amount


def flow(amount: int) -> Any:
    return waku.pipe(
        amount,
        waku.step(wait_for_manager),
        waku.else_(lambda error: f"timed out: {type(error).__name__}"),
    )


waku.register_workflow("restartable", flow)


def main() -> None:
    command, url = sys.argv[1], sys.argv[2]
    store = waku.set_store(url)
    if command == "complete":
        result = waku.run_workflow_from_callback(
            sys.argv[3], {"amount": 45, "by": "ana"}, store=store
        )
    else:
        result = waku.run_callback_workflow("restartable", 45, workflow_id="r-1", store=store)
    value = result.result
    print(json.dumps({"result": value if isinstance(value, str) else "pending"}), flush=True)
    close = getattr(store, "close", None)
    if close is not None:
        close()
    os._exit(0)  # no deadline timer carries on: only the stored deadline counts


if __name__ == "__main__":
    main()
