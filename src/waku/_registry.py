"""Workflows registered by name, so a callback or a recovery can start them again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _engine as engine
from ._context import Run, require_run
from ._envelope import RecordKind, pack
from ._errors import UnknownWorkflowError
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
    return execute(new_run(name, workflow_id, store), lambda: fn(_initial_payload(payload)))


def resume(run: Run) -> WorkflowResult:
    """Carry a registered workflow on from its stored steps and stored payload."""
    fn = lookup(run.name)
    return execute(run, lambda: fn(_initial_payload(None)))


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
