"""A worker process for the runtime tests: ``python -m tests.runtime.worker_child MODE URL LOG``.

Modes: ``work`` runs a Worker until SIGTERM (or until killed); ``enqueue N``
enqueues N workflows; ``start N`` runs N workflows (and one with a background
step) in this process, to be killed; ``recover`` calls ``waku.recover()`` and
prints what it did as JSON. Every step execution appends its idempotency key
(``name/id/step``) to LOG, so a test can count how often each step really ran.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import waku

LOG = os.devnull  # set by main() from the command line


def note(line: str) -> None:
    with open(LOG, "a") as log:
        log.write(line + "\n")
        log.flush()
        os.fsync(log.fileno())


@waku.step
def first(n: int) -> int:
    note(waku.idempotency_key())  # name/id/step: one line per execution of a step
    time.sleep(0.01)
    return n * 2


@waku.step
def second(n: int) -> int:
    note(waku.idempotency_key())
    time.sleep(0.01)
    return n + 1


@waku.step
def third(n: int) -> str:
    note(waku.idempotency_key())
    return f"done {n}"


def slow_background(n: int) -> int:
    note(waku.idempotency_key())
    time.sleep(0.5)
    return n


@waku.workflow(name="three-steps")
def three_steps(n: int) -> str:
    return third(second(first(n)))


@waku.step
def tick(i: int) -> int:
    note(waku.idempotency_key())
    time.sleep(0.1)
    return i + 1


def slow_steps(count: int) -> int:
    value = 0
    for _ in range(count):
        value = tick(value)
    return value


waku.register_workflow("slow-steps", slow_steps)


@waku.workflow(name="with-background")
def with_background(n: int) -> Any:
    return waku.pipe(n, waku.step_async(slow_background), waku.step(lambda v: f"bg {v}"))


def main() -> None:
    global LOG
    mode, url, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
    ttl = os.environ.get("WAKU_TEST_LEASE_TTL")
    store = waku.set_store(url + (f"?lease_ttl={ttl}" if ttl else ""))
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
