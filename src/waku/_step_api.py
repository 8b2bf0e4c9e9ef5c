"""Step functions: ``waku.step(f)`` and ``@waku.step``, for any arguments, sync or async.

Called inside a workflow, a step function is a persistent step with the same
numbering, replay and records as ``step(f, value)``; outside one, a plain
call. Called directly, a failure is *raised* (the ``@waku.step`` style);
threaded through ``pipe`` or ``pipe_async``, it is a *value* that later steps
pass on and ``else_`` handles (the seed's style). Both read and write the same
records, so the two styles resume from each other's history.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, Generic, ParamSpec, TypeVar, cast

from ._context import current_run
from ._flow import is_async, is_failure
from ._policy import RetryPolicy
from ._records import function_name
from ._retries import step_with_policy, step_with_policy_async
from ._steps import Suspended, step, step_awaitable

P = ParamSpec("P")
R = TypeVar("R")


class StepFunction(Generic[P, R]):
    """A function made a persistent step; see ``waku.step``.

    ``retry`` (a ``RetryPolicy``) and ``timeout`` (seconds) apply to every
    call of it inside a workflow, directly or through ``pipe``.
    """

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"a step must be a function, not {fn!r}")
        self.fn = fn
        self.function = step_name(name) or function_name(fn)
        self.is_async = is_async(fn)
        self.retry = retry
        self.timeout = timeout
        self._plain = retry is None and timeout is None
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<waku step {self.function}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if current_run.get() is None:
            return self.fn(*args, **kwargs)  # outside a workflow: a plain call
        single = len(args) == 1 and not kwargs
        value: Any = args[0] if single else (args, kwargs)
        target: Callable[[Any], Any] = self.fn if single else self._unpacked()
        if self.is_async:
            return cast(R, _raised_when_awaited(self._run_async(target, value)))
        return cast(R, raised(self._run(target, value)))

    def __waku_pipe__(self, value: Any) -> Any:
        """One value in, the outcome out as a value: how ``pipe`` calls a step."""
        if self.is_async:
            return self._run_async(self.fn, value)
        return self._run(self.fn, value)

    def _run(self, target: Callable[..., Any], value: Any) -> Any:
        if self._plain:
            return step(target, value, self.function)
        return step_with_policy(target, value, self.function, self.retry, self.timeout)

    def _run_async(self, target: Callable[..., Any], value: Any) -> Awaitable[Any]:
        fn = cast(Callable[[Any], Awaitable[Any]], target)
        if self._plain:
            return step_awaitable(fn, value, self.function)
        return step_with_policy_async(fn, value, self.function, self.retry, self.timeout)

    def _unpacked(self) -> Callable[[Any], Any]:
        fn: Callable[..., Any] = self.fn
        if self.is_async:

            async def unpack_async(packed: Any) -> Any:
                return await fn(*packed[0], **packed[1])

            return unpack_async

        def unpack(packed: Any) -> Any:
            return fn(*packed[0], **packed[1])

        return unpack


def step_name(name: str | None) -> str | None:
    """A step's own name, checked: it is recorded in a header line, so it has no spaces."""
    if name is not None and (not isinstance(name, str) or not name or " " in name):
        raise ValueError(f"a step name must be a non-empty string without spaces, not {name!r}")
    return name


def raised(outcome: Any) -> Any:
    """A step's outcome for code that calls it directly: a failure raises, pending stops."""
    if is_failure(outcome):
        raise outcome
    if isinstance(outcome, Future):
        raise Suspended  # the run stops here; the driver returns it pending
    return outcome


async def _raised_when_awaited(outcome: Awaitable[Any]) -> Any:
    return raised(await outcome)
