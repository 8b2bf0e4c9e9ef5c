"""Failures as values: then, else_, call, pipe, is_failure. Pure, no I/O.

A failure is an ``Exception`` instance used as a value. A
``concurrent.futures.Future`` (a background step or a callback still under
way) flows through ``then`` like a failure: later steps wait for the re-run.
A future passes through even when it has already finished, so how far a run
gets never depends on how fast a background step was.

With an ``async def`` function, ``then``, ``else_`` and ``call`` return an
awaitable (always, even when the value passes through), and ``pipe_async``
threads a value through functions that may return awaitables.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from types import FunctionType
from typing import Any, TypeVar, overload

T = TypeVar("T")
R = TypeVar("R")


class _Missing:
    """Marks an omitted value argument: ``then(f)`` curries, ``then(f, None)`` does not."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def is_failure(value: object) -> bool:
    """Return True when ``value`` is an ``Exception`` instance used as a value."""
    return isinstance(value, Exception)


def is_pending(value: object) -> bool:
    """Return True when ``value`` is a future that has not finished yet."""
    return isinstance(value, Future) and not value.done()


def passes_through(value: object) -> bool:
    """True for values a step hands on untouched: failures and futures."""
    return isinstance(value, (Exception, Future))


def is_async(f: object) -> bool:
    """True for an ``async def`` function (also behind a partial, a method or ``__call__``)."""
    if type(f) is FunctionType:  # the common case, on every step: read the code flag
        return bool(f.__code__.co_flags & inspect.CO_COROUTINE) or hasattr(
            f,
            "_is_coroutine_marker",  # inspect.markcoroutinefunction (Python 3.12+)
        )
    return inspect.iscoroutinefunction(f) or inspect.iscoroutinefunction(
        getattr(f, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    )


def call(f: Callable[..., R], *args: Any, **kwargs: Any) -> R | Exception:
    """Call ``f``; an ``Exception`` it raises is returned as the value.

    For an ``async def`` ``f``, returns an awaitable of the same.
    """
    if is_async(f):
        return _call_async(f, *args, **kwargs)  # type: ignore[return-value, arg-type]
    try:
        return f(*args, **kwargs)
    except Exception as error:
        return error


async def _call_async(f: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    try:
        return await f(*args, **kwargs)
    except Exception as error:
        return error


async def _resolved(value: Any) -> Any:
    """An awaitable of a value already at hand (a value passing an async function by)."""
    return value


@overload
def then(f: Callable[[Any], R], /) -> Callable[[Any], Any]: ...
@overload
def then(f: Callable[[Any], R], value: Any, /) -> Any: ...
def then(f: Callable[[Any], Any], value: Any = MISSING, /) -> Any:
    """Apply ``f`` unless ``value`` is a failure or pending; one argument curries."""
    if value is MISSING:
        return lambda v: then(f, v)
    if passes_through(value):
        return _resolved(value) if is_async(f) else value
    return call(f, value)


@overload
def else_(f: Callable[[Exception], R], /) -> Callable[[Any], Any]: ...
@overload
def else_(f: Callable[[Exception], R], value: Any, /) -> Any: ...
def else_(f: Callable[[Exception], Any], value: Any = MISSING, /) -> Any:
    """Apply ``f`` only when ``value`` is a failure; one argument curries."""
    if value is MISSING:
        return lambda v: else_(f, v)
    if is_failure(value):
        return call(f, value)
    return _resolved(value) if is_async(f) else value


def pipe(value: Any, *fns: Callable[[Any], Any]) -> Any:
    """Thread ``value`` through ``fns`` left to right (Clojure's ``->>``).

    A step function (``waku.step(f)``) gives its failure as the value here,
    so later steps pass it on and ``else_`` can handle it.
    """
    for f in fns:
        value = getattr(f, "__waku_pipe__", f)(value)
    return value


async def pipe_async(value: Any, *fns: Callable[[Any], Any]) -> Any:
    """``pipe`` for async workflows: an awaitable value or result is awaited before it
    goes on, so ``async def`` steps and plain functions mix freely."""
    if inspect.isawaitable(value):
        value = await value
    for f in fns:
        value = getattr(f, "__waku_pipe__", f)(value)
        if inspect.isawaitable(value):
            value = await value
    return value
