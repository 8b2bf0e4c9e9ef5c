"""Workflows registered by name, so a callback or a recovery can start them again."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import _engine as engine
from ._context import Run, require_run
from ._envelope import RecordKind, pack
from ._errors import UnknownWorkflowError
from ._flow import is_async
from ._run import WorkflowResult, execute, new_run
from ._stores.base import StepStore

WorkflowFunction = Callable[[Any], Any]

_workflows: dict[str, WorkflowFunction] = {}


def register_workflow(name: str, fn: WorkflowFunction) -> WorkflowFunction:
    """Register ``fn(payload)`` as workflow ``name``; returns ``fn``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"A workflow name must be a non-empty string, not {name!r}")
    _workflows[name] = fn
    return fn


def is_registered(name: str) -> bool:
    """Whether a workflow function is registered as ``name``."""
    return name in _workflows


def lookup(name: str) -> WorkflowFunction:
    """The function registered as ``name``, or UnknownWorkflowError."""
    try:
        return _workflows[name]
    except KeyError:
        raise UnknownWorkflowError(name) from None


def run_callback_workflow(
    name: str,
    payload: Any = None,
    *,
    workflow_id: str | None = None,
    store: StepStore | None = None,
) -> WorkflowResult:
    """Run registered workflow ``name`` with ``payload``, stored so any resume gets it back.

    Resuming an existing id uses the payload stored when it first ran.
    """
    fn = lookup(name)
    return _execute(new_run(name, workflow_id, store), fn, payload)


def resume(run: Run) -> WorkflowResult:
    """Carry a registered workflow on from its stored steps and stored payload."""
    return _execute(run, lookup(run.name), None)


def _execute(run: Run, fn: WorkflowFunction, payload: Any) -> WorkflowResult:
    """Run a registered workflow, sync or ``async def``, to where it stops."""
    if not is_async(fn):
        return execute(run, lambda: fn(_initial_payload(payload)))
    from ._aio import execute_async

    def on_new_loop() -> WorkflowResult:
        return asyncio.run(execute_async(run, lambda: fn(_initial_payload(payload))))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return on_new_loop()
    # Called from inside an event loop (a sync API in async code): this call blocks
    # anyway, and asyncio.run cannot nest, so the workflow gets a loop of its own.
    with ThreadPoolExecutor(1, thread_name_prefix="waku-resume") as pool:
        return pool.submit(contextvars.copy_context().run, on_new_loop).result()


def _initial_payload(payload: Any) -> Any:
    """The stored start payload (step 0), storing ``payload`` on the first run."""
    run = require_run()
    stored = run.history.get(0)
    if stored is not None:
        return engine.decode(run, 0, engine.read_record(run, 0, stored))
    record = pack(RecordKind.INPUT, run.codec.name, "-", engine.encode(run, 0, payload))
    run.store.store_result(run.name, run.id, 0, record)
    run.history[0] = record
    return payload
