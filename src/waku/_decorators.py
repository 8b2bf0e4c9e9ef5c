"""``@waku.workflow``: a function registered by name that runs, starts and enqueues itself.

Its arguments are stored as the workflow's input (step 0, ``(args, kwargs)``),
so a workflow resumes by name and id alone: after a crash, from a callback,
on a worker. Inside another workflow, calling it runs it inline: its steps
take their numbers in the calling workflow, as any function's would.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, ParamSpec, TypeVar, overload

from ._context import current_run, new_run
from ._drive import Body, execute_any, execute_async
from ._errors import WakuError
from ._flow import is_async, is_failure
from ._records import function_name
from ._registry import lookup, register_workflow
from ._result import WorkflowResult
from ._runtime import WorkflowHandle, enqueue_input, start
from ._stores.base import StepStore

P = ParamSpec("P")
R = TypeVar("R")

Input = tuple[tuple[Any, ...], dict[str, Any]]

# name -> the function that claimed it, so two functions never share a name.
_claimed: dict[str, str] = {}
_claimed_lock = threading.Lock()


class Workflow(Generic[P, R]):
    """A registered workflow function; see ``waku.workflow``."""

    def __init__(self, fn: Callable[P, R], *, name: str | None = None, queue: str | None = None):
        self.fn = fn
        self.name = name or function_name(fn)
        self.queue = queue
        self.is_async = is_async(fn)
        _claim(self.name, function_name(fn))
        register_workflow(self.name, self._body())
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<waku workflow {self.name!r}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Inside a workflow, run inline; outside, run durably (fresh id) and return the result.

        Outside a workflow a failed run raises its failure; a run that
        cannot finish now (a callback, a background step) raises ``WakuError``
        pointing to ``.run``/``.start``, which return before the end.
        """
        if current_run.get() is not None:
            return self.fn(*args, **kwargs)
        outcome = self.run(*args, **kwargs).result
        if is_failure(outcome):
            raise outcome
        if isinstance(outcome, Future):
            raise WakuError(
                f"workflow {self.name!r} is waiting (a callback, a sleep, a retry's backoff or "
                "a background step); call "
                ".run() or .start() for a result or handle that returns before the end"
            )
        result: R = outcome
        return result

    @overload
    def run(self, *args: P.args, **kwargs: P.kwargs) -> WorkflowResult: ...
    @overload
    def run(
        self, *args: Any, workflow_id: str | None, store: StepStore | None = None, **kwargs: Any
    ) -> WorkflowResult: ...
    def run(self, *args: Any, **kwargs: Any) -> WorkflowResult:
        """Run durably under ``workflow_id`` (a fresh UUID when omitted) until it ends or waits.

        A stored workflow of this id resumes with its stored arguments.
        """
        workflow_id, store = kwargs.pop("workflow_id", None), kwargs.pop("store", None)
        run = new_run(self.name, workflow_id, store)
        return execute_any(run, Body(lookup(self.name), True, (args, kwargs)))

    @overload
    async def run_async(self, *args: P.args, **kwargs: P.kwargs) -> WorkflowResult: ...
    @overload
    async def run_async(
        self, *args: Any, workflow_id: str | None, store: StepStore | None = None, **kwargs: Any
    ) -> WorkflowResult: ...
    async def run_async(self, *args: Any, **kwargs: Any) -> WorkflowResult:
        """``run`` on the running event loop, for an ``async def`` workflow."""
        if not self.is_async:
            raise TypeError(f"workflow {self.name!r} is not async def; use .run()")
        workflow_id, store = kwargs.pop("workflow_id", None), kwargs.pop("store", None)
        run = new_run(self.name, workflow_id, store)
        return await execute_async(run, Body(lookup(self.name), True, (args, kwargs)))

    @overload
    def start(self, *args: P.args, **kwargs: P.kwargs) -> WorkflowHandle: ...
    @overload
    def start(
        self, *args: Any, workflow_id: str | None, store: StepStore | None = None, **kwargs: Any
    ) -> WorkflowHandle: ...
    def start(self, *args: Any, **kwargs: Any) -> WorkflowHandle:
        """Run on a thread of its own; returns its handle at once."""
        workflow_id, store = kwargs.pop("workflow_id", None), kwargs.pop("store", None)
        return start(new_run(self.name, workflow_id, store), (args, kwargs))

    @overload
    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> WorkflowHandle: ...
    @overload
    def enqueue(
        self,
        *args: Any,
        workflow_id: str | None = None,
        queue: str | None = None,
        store: StepStore | None = None,
        **kwargs: Any,
    ) -> WorkflowHandle: ...
    def enqueue(self, *args: Any, **kwargs: Any) -> WorkflowHandle:
        """Put it on its queue (or ``queue=``) for a ``waku.Worker``; idempotent on the id."""
        workflow_id, store = kwargs.pop("workflow_id", None), kwargs.pop("store", None)
        queue = kwargs.pop("queue", None) or self.queue or "default"
        return enqueue_input(
            self.name, (args, kwargs), queue=queue, workflow_id=workflow_id, store=store
        )

    def _body(self) -> Callable[[Any], Any]:
        fn: Callable[..., Any] = self.fn
        if self.is_async:

            async def body_async(stored: Input) -> Any:
                args, kwargs = stored
                try:
                    return await fn(*args, **kwargs)
                except WakuError:
                    raise  # the engine's own errors are not the workflow's failure
                except Exception as error:
                    return error

            return body_async

        def body(stored: Input) -> Any:
            args, kwargs = stored
            try:
                return fn(*args, **kwargs)
            except WakuError:
                raise
            except Exception as error:
                return error  # the workflow's failure: its result, status failed

        return body


def _claim(name: str, function: str) -> None:
    with _claimed_lock:
        holder = _claimed.setdefault(name, function)
    if holder != function:
        raise ValueError(
            f"workflow name {name!r} is taken by {holder}; give {function} another name "
            "with @waku.workflow(name=...)"
        )


@overload
def workflow(fn: Callable[P, R], /) -> Workflow[P, R]: ...
@overload
def workflow(
    fn: None = None, /, *, name: str | None = None, queue: str | None = None
) -> Callable[[Callable[P, R]], Workflow[P, R]]: ...
def workflow(
    fn: Callable[P, R] | None = None, /, *, name: str | None = None, queue: str | None = None
) -> Workflow[P, R] | Callable[[Callable[P, R]], Workflow[P, R]]:
    """Register a function as a durable workflow: ``@waku.workflow`` or ``@waku.workflow(...)``.

    ``name`` defaults to ``module:qualname``; two functions claiming one name
    is an error. ``queue`` is where ``.enqueue`` puts it. The result has
    ``.run(*args, workflow_id=None, **kwargs)``, ``.start(...)`` (a handle at
    once), ``.enqueue(...)`` and, for ``async def``, ``.run_async(...)``.
    """
    if fn is None:
        return lambda f: Workflow(f, name=name, queue=queue)
    return Workflow(fn, name=name, queue=queue)


def enqueue(
    workflow: Workflow[..., Any] | str,
    *args: Any,
    queue: str | None = None,
    workflow_id: str | None = None,
    store: StepStore | None = None,
    **kwargs: Any,
) -> WorkflowHandle:
    """Put a workflow on a queue for a ``waku.Worker``; idempotent on ``workflow_id``.

    ``workflow`` is a ``@waku.workflow`` function (its queue by default), or
    the name of one registered with ``register_workflow``, which takes one
    payload. The same id enqueued twice runs once.
    """
    if isinstance(workflow, Workflow):
        return workflow.enqueue(*args, workflow_id=workflow_id, queue=queue, store=store, **kwargs)
    if not isinstance(workflow, str):
        raise TypeError(f"enqueue takes a @waku.workflow function or a name, not {workflow!r}")
    if kwargs or len(args) != 1:
        raise TypeError(f"workflow {workflow!r} is registered by name: enqueue it with one payload")
    return enqueue_input(
        workflow, args[0], queue=queue or "default", workflow_id=workflow_id, store=store
    )
