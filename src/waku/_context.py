"""The current run, held in ContextVars so threads and asyncio tasks each see their own."""

from __future__ import annotations

import itertools
import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ._codec import Codec
from ._errors import NotInWorkflowError
from ._stores.base import StepStore


@dataclass(eq=False)
class Run:
    """One execution of a workflow: where it stores, what it has done so far."""

    store: StepStore
    codec: Codec
    name: str
    id: str
    history: dict[int, bytes]
    """Stored results as loaded when the run began (one ``get_steps`` read)."""
    latest_step: int = 0
    """The last step number taken; also the number of steps reached."""
    owner: str = ""
    background: list[Any] = field(default_factory=list)
    """Futures of steps still running in the background."""
    overrides: dict[int, Any] = field(default_factory=dict)
    """Values for this run only, by step: a callback's rejection, seen once."""
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take_step(self) -> int:
        """Next step number, in call order; safe from several threads at once."""
        with self._lock:
            n = next(self._counter)
            self.latest_step = max(self.latest_step, n)
            return n

    def where(self, step: int | None = None) -> str:
        """``workflow 'name' id 'x' step n`` for error messages."""
        text = f"workflow {self.name!r} id {self.id!r}"
        return text if step is None else f"{text} step {step}"


@dataclass(frozen=True)
class StepScope:
    """The step whose function is running now (for tokens and idempotency keys)."""

    run: Run
    step: int
    function: str
    tokens: list[str] = field(default_factory=list)


current_run: ContextVar[Run | None] = ContextVar("waku_run", default=None)
current_step: ContextVar[StepScope | None] = ContextVar("waku_step", default=None)


def require_run() -> Run:
    """The running workflow, or NotInWorkflowError."""
    run = current_run.get()
    if run is None:
        raise NotInWorkflowError
    return run


def require_step(what: str) -> StepScope:
    """The step now running, or NotInWorkflowError explaining ``what`` needs one."""
    scope = current_step.get()
    if scope is None:
        raise NotInWorkflowError.inside_step(what)
    return scope
