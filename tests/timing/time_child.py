"""A process that sleeps or backs off durably on a store given by URL, and may crash.

``python -m tests.timing.time_child KIND URL [--crash-after S] [--advance S]`` runs one
workflow of ``KIND`` (``sleep``, ``backoff`` or ``long``) under a fixed id and prints
JSON lines: ``{"resumed_at": t}`` as it starts, then ``{"result": ...}``. With
``--crash-after`` the process ends with ``os._exit(3)`` that many seconds in, whatever
it is doing. ``--advance`` runs under a test clock moved that far before the run.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import waku

SLEEP = 0.8
BACKOFF = 0.4


@waku.step
def mark(label: str) -> float:
    return time.time()


@waku.workflow
def napping() -> list[float]:
    began = mark("began")
    waku.sleep(SLEEP)
    return [began, mark("ended")]


@waku.step(retry=waku.RetryPolicy(max_attempts=3, initial=BACKOFF, multiplier=1, jitter=0))
def always_fails(log: str) -> None:
    with Path(log).open("a") as attempts:
        attempts.write(f"{time.time()}\n")
    raise ConnectionError("down")


@waku.workflow
def backing_off(log: str) -> str:
    try:
        always_fails(log)
    except ConnectionError as error:
        return f"gave up: {error}"
    return "succeeded"


@waku.workflow
def hibernating() -> str:
    waku.sleep(3600)
    return "woke"


def run(kind: str, log: str) -> Any:
    if kind == "sleep":
        return napping.run(workflow_id="nap").result
    if kind == "backoff":
        return backing_off.run(log, workflow_id="backoff").result
    return hibernating.run(workflow_id="hibernate").result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["sleep", "backoff", "long"])
    parser.add_argument("url")
    parser.add_argument("--log", default="")
    parser.add_argument("--crash-after", type=float, default=None)
    parser.add_argument("--advance", type=float, default=None)
    args = parser.parse_args()
    store = waku.set_store(args.url)
    if args.crash_after is not None:
        threading.Timer(args.crash_after, os._exit, (3,)).start()
    print(json.dumps({"resumed_at": time.time()}), flush=True)
    if args.advance is None:
        result = run(args.kind, args.log)
    else:
        with waku.testing.clock() as clock:
            clock.advance(args.advance)
            result = run(args.kind, args.log)
    print(json.dumps({"result": "pending" if isinstance(result, Future) else result}), flush=True)
    close = getattr(store, "close", None)
    if close is not None:
        close()


if __name__ == "__main__":
    main()
