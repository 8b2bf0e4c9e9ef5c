"""The asyncio shell: run_workflow_async.

Same engine, same records as the plain shell; only the I/O differs. Store
calls run in worker threads (inline for a store that never blocks), while the
decisions that need no I/O (the step number, the replay from the history
loaded when the run began) happen at once, when ``step`` is called:
``asyncio.gather(step(a, x), step(b, y))`` numbers its steps in call order,
whatever order they finish in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._context import new_run
from ._drive import Body, execute_async
from ._result import WorkflowResult
from ._stores.base import StepStore


async def run_workflow_async(
    name: str,
    fn: Callable[[], Any],
    *,
    workflow_id: str | None = None,
    store: StepStore | None = None,
) -> WorkflowResult:
    """Run ``fn`` as workflow ``name`` in asyncio; steps stored under this id are replayed.

    ``fn`` is an ``async def`` function, or any function returning an
    awaitable (``lambda: waku.pipe_async(...)``). Store I/O runs in worker
    threads. Cancelling the awaiting task stops the workflow where it is:
    steps that had not finished are not recorded and run again on resume.
    """
    return await execute_async(new_run(name, workflow_id, store), Body(fn))
