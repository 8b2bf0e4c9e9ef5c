"""The background shell: step_async, a step run on an executor."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, overload

from ._continuations import launch
from ._engine import Execute, Retry
from ._flow import MISSING, is_async
from ._records import function_name
from ._steps import Passed, open_step, settle


@overload
def step_async(
    f: Callable[[Any], Any], /, *, executor: Executor | None = None
) -> Callable[[Any], Any]: ...
@overload
def step_async(
    f: Callable[[Any], Any], value: Any, /, *, executor: Executor | None = None
) -> Any: ...
def step_async(
    f: Callable[[Any], Any], value: Any = MISSING, /, *, executor: Executor | None = None
) -> Any:
    """A persistent step run in the background: returns a ``concurrent.futures.Future`` at once.

    ``f`` runs on a shared thread pool, or on ``executor`` (a process pool, a
    distributed engine's executor, ...). Its result is stored before the
    future resolves; the workflow is then re-run from the stored results in
    the background. On replay the stored value is returned, not a future.
    With one argument, returns the one-argument step function.
    """
    if value is MISSING:
        return lambda v: step_async(f, v, executor=executor)
    if is_async(f):
        raise TypeError(
            f"step_async runs blocking functions on an executor; {function_name(f)} "
            "is async def: use `await waku.step(f, value)` in an async workflow"
        )
    opened = open_step(f, value)
    if isinstance(opened, Passed):
        return opened.value
    scope, decision = opened
    if isinstance(decision, (Execute, Retry)):
        return launch(scope, f, value, executor)
    return settle(scope, decision)
