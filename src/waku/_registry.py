"""Workflows registered by name, so a callback or a recovery can start them again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._context import Run, new_run
from ._drive import Body, execute_any
from ._errors import UnknownWorkflowError
from ._result import WorkflowResult
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

    Resuming an existing id uses the payload stored when it first ran. An
    ``async def`` workflow runs on an event loop of its own.
    """
    fn = lookup(name)
    return execute_any(new_run(name, workflow_id, store), Body(fn, True, payload))


def resume(run: Run) -> WorkflowResult:
    """Carry a registered workflow on from its stored steps and stored payload."""
    return execute_any(run, Body(lookup(run.name), True))
