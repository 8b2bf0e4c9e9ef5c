"""For the queue suites: racing claimers (threads released at once by a
``threading.Barrier``, switching often) and lease owners of processes that died."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable

from waku._stores.base import HOST

Key = tuple[str, str]


def race(threads: int, claim: Callable[[int], list[Key]]) -> list[list[Key]]:
    """Run ``claim(n)`` on ``threads`` threads released at once; what each one claimed."""
    barrier = threading.Barrier(threads)
    claims: list[list[Key]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def claimer(thread: int) -> None:
        try:
            barrier.wait()
            claims[thread] = claim(thread)
        except BaseException as error:
            errors.append(error)
            barrier.abort()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch as often as possible, so that the claims interleave
    try:
        running = [threading.Thread(target=claimer, args=(n,)) for n in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    return claims


def race_until_empty(threads: int, claim: Callable[[int], list[Key]], most: int) -> list[Key]:
    """Race rounds of claimers until a round claims nothing; everything claimed, in order.

    Stops early once more than ``most`` were claimed: claims that hand work
    out twice would otherwise never run dry.
    """
    taken: list[Key] = []
    while len(taken) <= most:
        round_ = [key for claimed in race(threads, claim) for key in claimed]
        if not round_:
            break
        taken += round_
    return taken


def dead_owner() -> str:
    """A lease owner on this host whose process has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{HOST}:{child.pid}:0123456789ab"
