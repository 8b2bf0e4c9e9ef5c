"""A background step on a Dask cluster: any ``concurrent.futures.Executor`` works.

``Client.get_executor()`` is Dask's standard ``Executor``; ``step_async`` needs
no special code for it. The step function must be importable by the workers
(here: defined at module level). Run: ``pip install distributed`` then
``python examples/async_dask.py``.
"""

from __future__ import annotations

from typing import Any

import waku


def crunch(numbers: list[int]) -> int:
    """Runs on a Dask worker."""
    return sum(n * n for n in numbers)


def report(total: int) -> str:
    return f"sum of squares: {total}"


def main() -> Any:
    from distributed import Client

    waku.set_store(waku.MemoryStore())
    # distributed ships no type hints for Client.__init__
    with Client(processes=False, dashboard_address=None) as client:  # type: ignore[no-untyped-call]
        executor = client.get_executor()
        first = waku.run_workflow(
            "dask-example",
            lambda: waku.pipe(
                list(range(10)),
                waku.step_async(crunch, executor=executor),  # returns a Future at once
                waku.step(report),  # passes the pending future through
            ),
        )
        print("first run:", first.latest_step, "step(s), result pending")
        final = first.wait(60)  # the workflow carried on by itself once Dask finished
    print("final run:", final.latest_step, "steps ->", final.result)
    return final.result


if __name__ == "__main__":
    main()
