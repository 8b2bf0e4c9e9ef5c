"""What a run returns: how far it got, and how to wait for the rest."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WorkflowResult:
    """What a run reached: ``latest_step`` counts the steps taken, cached or executed."""

    workflow_name: str
    workflow_id: str
    latest_step: int
    result: Any
    continuation: Future[WorkflowResult] | None = field(default=None, repr=False, compare=False)
    """Set when the workflow goes on after this run returned: background steps
    carry it on, or a callback will resume it in this process."""

    def wait(self, timeout: float | None = None) -> WorkflowResult:
        """The final result, once whatever suspended the workflow has let it finish.

        Follows background continuations, callback deliveries made in this
        process and wake-ups after sleeps and backoffs while this process
        lives. A background step's failure is the final ``result`` (a value,
        as with ``step``); an error of the engine itself (a value it cannot
        store, a non-deterministic resume) is raised here.
        ``TimeoutError`` when that takes longer than ``timeout`` seconds.
        """
        if self.continuation is None:
            return self
        return self.continuation.result(timeout).wait(timeout)

    async def wait_async(self) -> WorkflowResult:
        """``wait`` for asyncio code: the final result, without blocking the event loop."""
        result = self
        while result.continuation is not None:
            result = await asyncio.wrap_future(result.continuation)
        return result
