"""Workflows for the command-line tests, and a store filled with them.

``python -m tests.cli_app STORE_URL`` runs one workflow that succeeds, one
that fails, one that waits for a callback (printing its token as JSON),
one whose callback deadline has passed, and enqueues one. The CLI imports
this module (``--app tests.cli_app``) to resume them; ``WAKU_TEST_FIXED=1``
makes the failing step succeed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import waku


def double(x: int) -> int:
    return x * 2


def check_stock(x: int) -> int:
    if not os.environ.get("WAKU_TEST_FIXED"):
        raise ValueError(f"out of stock for order {x}")
    return x + 1


def ask_manager(x: int) -> int:
    print(json.dumps({"token": waku.create_callback_token()}), flush=True)
    return x


def ask_briefly(x: int) -> int:
    waku.create_callback_token(ttl=0.01)  # due at once: for `waku recover`
    return x


def greet(name: Any) -> Any:
    return waku.pipe(name, waku.step(str.upper), waku.step(lambda s: f"hello {s}"))


def order(x: Any) -> Any:
    return waku.pipe(x, waku.step(double), waku.step(check_stock))


def approval(x: Any) -> Any:
    return waku.pipe(x, waku.step(ask_manager), waku.step(double))


def deadline(x: Any) -> Any:
    return waku.pipe(x, waku.step(ask_briefly), waku.else_(lambda e: type(e).__name__))


waku.register_workflow("greet", greet)
waku.register_workflow("order", order)
waku.register_workflow("approval", approval)
waku.register_workflow("deadline", deadline)


def main() -> None:
    waku.set_store(sys.argv[1])
    waku.run_callback_workflow("greet", "ana", workflow_id="g-1")
    waku.run_callback_workflow("order", 20, workflow_id="o-1")
    waku.run_callback_workflow("approval", 7, workflow_id="a-1")
    waku.run_callback_workflow("deadline", 1, workflow_id="d-1")
    waku.enqueue("greet", "bo", workflow_id="q-1")  # for `waku worker`
    os._exit(0)  # no deadline timer of this process resumes anything: `waku recover` does


if __name__ == "__main__":
    main()
