"""The current run, held in ContextVars so threads and asyncio tasks each see their own."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ._codec import Codec
from ._config import resolve_store
from ._engine import Position, Suspend, where
from ._errors import NotInWorkflowError
from ._result import WorkflowResult
from ._stores.base import StepStore, Traits, traits


@dataclass(eq=False)
class Run:
    """One execution of a workflow: where it stores, what it has done so far."""

    store: StepStore
    traits: Traits
    name: str
    id: str
    history: dict[int, bytes] = field(default_factory=dict)
    """Stored results as loaded when the run began (one ``get_steps`` read)."""
    latest_step: int = 0
    """The last step number taken; also the number of steps reached."""
    owner: str = ""
    background: list[Any] = field(default_factory=list)
    """Futures of steps still running in the background."""
    overrides: dict[int, Any] = field(default_factory=dict)
    """Values for this run only, by step: a failure seen once, then run again."""
    suspensions: list[Suspend] = field(default_factory=list)
    """Why steps of this run could not finish now, and until when."""
    halt: BaseException | None = None
    """A signal the run raises at its next step: it was cancelled, or its worker stops."""
    again: Callable[[Run], WorkflowResult] | None = None
    """How this process runs the workflow on from its stored steps (its body, kept by the
    driver): what wakes a suspended run here, registered by name or not."""
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def codec(self) -> Codec:
        return self.traits.codec

    def take_step(self) -> int:
        """Next step number, in call order; safe from several threads at once."""
        with self._lock:
            n = next(self._counter)
            self.latest_step = max(self.latest_step, n)
            return n

    def where(self, step: int | None = None) -> str:
        """``workflow 'name' id 'x' step n`` for error messages."""
        return where(self.name, self.id, step)

    def position(self, step: int, function: str) -> Position:
        """The engine's view of ``step`` of this run, as of now."""
        return Position(self.history, self.traits.codec, self.name, self.id, step, function)

    def successor(self) -> Run:
        """A fresh run of the same workflow and store, to carry this one on."""
        return Run(self.store, self.traits, self.name, self.id, again=self.again)


def new_run(name: str, workflow_id: str | None, store: StepStore | None) -> Run:
    """A run of ``name`` under ``workflow_id`` (a fresh UUID when None); history not loaded."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"A workflow name must be a non-empty string, not {name!r}")
    if workflow_id is not None and (not isinstance(workflow_id, str) or not workflow_id):
        raise ValueError(f"A workflow id must be a non-empty string, not {workflow_id!r}")
    resolved = resolve_store(store)
    return Run(resolved, traits(resolved), name, workflow_id or str(uuid.uuid4()))


@dataclass(slots=True)
class StepScope:
    """The step whose function is running now (for tokens and idempotency keys)."""

    run: Run
    step: int
    function: str
    tokens: list[str] = field(default_factory=list)
    """Hashes of the callback tokens this step handed out."""


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


# Transforms given to a store that is not durable live as long as the process, like it.
local_transforms: dict[str, Callable[[Any], Any]] = {}
