"""A worker process for the runtime tests: ``python -m tests.runtime.worker_child MODE URL LOG``.

Modes: ``work`` runs a Worker until SIGTERM (or until killed); ``enqueue N``
enqueues N workflows; ``recover`` calls ``waku.recover()`` and prints what it
did as JSON. Every step execution appends a line to LOG, so a test can count
how often each step really ran.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import waku

LOG = sys.argv[3] if len(sys.argv) > 3 else os.devnull


def note(line: str) -> None:
    with open(LOG, "a") as log:
        log.write(line + "\n")
        log.flush()
        os.fsync(log.fileno())


@waku.step
def first(n: int) -> int:
    note(f"{n} first")
    time.sleep(0.01)
    return n * 2


@waku.step
def second(n: int) -> int:
    note(f"{n} second")
    time.sleep(0.01)
    return n + 1


@waku.step
def third(n: int) -> str:
    note(f"{n} third")
    return f"done {n}"


def slow_background(n: int) -> int:
    note(f"{n} background")
    time.sleep(0.5)
    return n


@waku.workflow(name="three-steps")
def three_steps(n: int) -> str:
    return third(second(first(n)))


@waku.workflow(name="with-background")
def with_background(n: int) -> Any:
    return waku.pipe(n, waku.step_async(slow_background), waku.step(lambda v: f"bg {v}"))


def main() -> None:
    mode, url = sys.argv[1], sys.argv[2]
    store = waku.set_store(url)
    if mode == "work":
        concurrency = int(os.environ.get("WAKU_TEST_CONCURRENCY", "4"))
        waku.Worker(store, concurrency=concurrency, poll_interval=0.05).run()
    elif mode == "enqueue":
        for i in range(int(sys.argv[4])):
            waku.enqueue(three_steps, i, workflow_id=f"w{i}")
    elif mode == "start":  # run workflows in this process, to be killed part-way
        for i in range(int(sys.argv[4])):
            three_steps.start(i, workflow_id=f"w{i}")
        with_background.start(99, workflow_id="bg")
        time.sleep(60)
    elif mode == "recover":
        done = waku.recover()
        for recovered in done:
            if recovered.result is not None:
                recovered.result.wait(60)  # background steps carry their workflows on
        print(json.dumps([[r.workflow_name, r.workflow_id, r.status] for r in done]))
    close = getattr(store, "close", None)
    if close is not None:
        close()


if __name__ == "__main__":
    main()
