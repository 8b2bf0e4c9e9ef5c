"""1,000 concurrent asyncio workflows x 3 steps: throughput and event-loop stalls.

Prints, per store: workflows/s, the longest event-loop stall a 1 ms heartbeat
saw (all causes: the engine's own work on 1,000 ready tasks counts too), and
how many store calls ran on the event-loop thread (by design: none), with
their longest duration. A "slow" variant adds 2 ms to every store call, as a
disk or network store would, to show that store latency does not reach the
loop. A baseline runs the same shape (8 thread hops, 3 awaits per task) with
plain asyncio and no store, so the stalls Waku adds can be told apart from the
ones 1,000 ready tasks cause on their own.

Run: ``make bench-async`` (or ``python bench/async.py [workflows]``).
"""

from __future__ import annotations

import asyncio
import functools
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import waku

STEPS = 3


class TimedStore:
    """Forwards every attribute to a store, timing the calls made on one thread."""

    def __init__(self, inner: Any, loop_thread: int, delay: float = 0.0) -> None:
        # A store whose calls take time blocks, whatever the store it wraps says.
        self.blocking = delay > 0 or getattr(inner, "blocking", True)
        self._inner = inner
        self._loop_thread = loop_thread
        self._delay = delay
        self.on_loop = 0
        self.longest_on_loop = 0.0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        @functools.wraps(target)
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            if self._delay:
                time.sleep(self._delay)
            try:
                return target(*args, **kwargs)
            finally:
                if threading.get_ident() == self._loop_thread:
                    self.on_loop += 1
                    self.longest_on_loop = max(self.longest_on_loop, time.perf_counter() - began)

        return timed


async def add(x: int) -> int:
    return x + 1


async def body(i: int) -> Any:
    return await waku.pipe_async(i, *[waku.step(add) for _ in range(STEPS)])


async def heartbeat(stop: asyncio.Event, stalls: list[float]) -> None:
    """Wake every millisecond; how late each wake-up comes is how long the loop was busy."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        stalls.append(time.perf_counter() - before - 0.001)


async def plain(i: int) -> int:
    """The same shape without Waku: 8 thread hops (a run's store calls) and 3 awaits."""
    for _ in range(2 + 2 * STEPS):
        await asyncio.to_thread(int)
    for _ in range(STEPS):
        i = await add(i)
    return i


async def timed_gather(tasks: list[Any]) -> tuple[list[Any], float, list[float]]:
    """Run ``tasks`` concurrently under a heartbeat: results, seconds, heartbeat delays."""
    stop = asyncio.Event()
    stalls: list[float] = []
    beat = asyncio.create_task(heartbeat(stop, stalls))
    await asyncio.sleep(0.01)
    began = time.perf_counter()
    done = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    stop.set()
    await beat
    return list(done), elapsed, sorted(stalls)


def report(label: str, workflows: int, elapsed: float, stalls: list[float], extra: str) -> None:
    print(
        f"{label:<22} {workflows / elapsed:>7,.0f} wf/s   loop stall ms: longest "
        f"{stalls[-1] * 1000:6.2f}, p99 {stalls[int(len(stalls) * 0.99)] * 1000:6.2f}, "
        f"median {stalls[len(stalls) // 2] * 1000:5.2f}   {extra}"
    )


async def measure(label: str, make_store: Callable[[], Any], workflows: int, delay: float) -> None:
    store = TimedStore(make_store(), threading.get_ident(), delay)
    done, elapsed, stalls = await timed_gather(
        [
            waku.run_workflow_async(
                "bench", functools.partial(body, i), workflow_id=f"w{i}", store=store
            )
            for i in range(workflows)
        ]
    )
    assert [r.result for r in done] == [i + STEPS for i in range(workflows)]
    close = getattr(store._inner, "close", None)  # the bench's own call: not counted
    if close is not None:
        close()
    longest = f" (longest {store.longest_on_loop * 1000:.2f} ms)" if store.on_loop else ""
    report(label, workflows, elapsed, stalls, f"store calls on loop: {store.on_loop}{longest}")


async def baseline(workflows: int) -> None:
    done, elapsed, stalls = await timed_gather([plain(i) for i in range(workflows)])
    assert done == [i + STEPS for i in range(workflows)]
    report("plain asyncio (no Waku)", workflows, elapsed, stalls, "same hops, nothing stored")


def stores(tmp: Path) -> dict[str, Callable[[], Any]]:
    found: dict[str, Callable[[], Any]] = {"MemoryStore": waku.MemoryStore}
    sqlite = getattr(waku, "SQLiteStore", None)
    if sqlite is not None:
        counter = iter(range(1_000_000))
        found["SQLiteStore"] = lambda: sqlite(tmp / f"bench-{next(counter)}.db")
    else:
        print("(waku.SQLiteStore is not available on this branch: MemoryStore only)")
    return found


def main() -> None:
    workflows = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print(
        f"{workflows} concurrent asyncio workflows x {STEPS} steps, Python {sys.version.split()[0]}"
    )
    asyncio.run(baseline(workflows))
    with tempfile.TemporaryDirectory() as tmp:
        for label, make in stores(Path(tmp)).items():
            asyncio.run(measure(label, make, workflows, 0.0))
            asyncio.run(measure(f"{label} +2 ms/call", make, workflows, 0.002))


if __name__ == "__main__":
    main()
