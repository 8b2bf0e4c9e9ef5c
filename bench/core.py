"""Per-step overhead on MemoryStore and codec cost; prints figures, asserts nothing.

Run with ``make bench`` or ``python bench/core.py [steps]``.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from collections.abc import Callable

import waku

TARGET_US = 10.0


def median_seconds(fn: Callable[[], object], repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def inc(x: int) -> int:
    return x + 1


def steps_workflow(n: int) -> Callable[[], object]:
    def body() -> object:
        value = 0
        for _ in range(n):
            value = waku.step(inc, value)
        return value

    return body


def typical_dict() -> dict[str, object]:
    """About 1 KB of JSON: the shape of a record passed between pipeline steps."""
    return {
        "id": str(uuid.UUID(int=42)),
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "tier": 3},
        "items": [{"sku": f"SKU-{i:04d}", "qty": i, "price": 9.99 + i} for i in range(12)],
        "tags": ["priority", "export", "b2b"],
        "notes": "x" * 200,
        "paid": True,
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    store = waku.MemoryStore()
    body = steps_workflow(n)

    ids = iter(str(i) for i in range(100))
    executed = median_seconds(
        lambda: waku.run_workflow("bench", body, store=store, workflow_id=next(ids))
    )
    waku.run_workflow("bench", body, store=store, workflow_id="replayed")
    replayed = median_seconds(
        lambda: waku.run_workflow("bench", body, store=store, workflow_id="replayed")
    )

    codec = waku.JsonCodec()
    value = typical_dict()
    size = len(codec.encode(value))
    rounds = 2_000
    codec_time = median_seconds(lambda: [codec.decode(codec.encode(value)) for _ in range(rounds)])

    per_step = executed / n * 1e6
    print(f"MemoryStore, {n:,} steps per workflow, median of 5 (Python {sys.version.split()[0]})")
    verdict = "met" if per_step <= TARGET_US else "MISSED"
    print(f"  executed step: {per_step:7.2f} us/step   target <= {TARGET_US:.0f} us: {verdict}")
    print(f"  replayed step: {replayed / n * 1e6:7.2f} us/step")
    print(f"  codec encode+decode of a {size}-byte dict: {codec_time / rounds * 1e6:7.2f} us")


if __name__ == "__main__":
    main()
