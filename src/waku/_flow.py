"""Failures as values: then, else_, call, pipe, is_failure. Pure, no I/O.

A failure is an ``Exception`` instance used as a value. A pending
``concurrent.futures.Future`` (an async step or a callback still under way)
flows through ``then`` like a failure: later steps wait for the re-run.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
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
    """True for values a step hands on untouched: failures and pending futures."""
    return isinstance(value, Exception) or is_pending(value)


def call(f: Callable[..., R], *args: Any, **kwargs: Any) -> R | Exception:
    """Call ``f``; an ``Exception`` it raises is returned as the value."""
    try:
        return f(*args, **kwargs)
    except Exception as error:
        return error


@overload
def then(f: Callable[[Any], R], /) -> Callable[[Any], Any]: ...
@overload
def then(f: Callable[[Any], R], value: Any, /) -> Any: ...
def then(f: Callable[[Any], Any], value: Any = MISSING, /) -> Any:
    """Apply ``f`` unless ``value`` is a failure or pending; one argument curries."""
    if value is MISSING:
        return lambda v: then(f, v)
    if passes_through(value):
        return value
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
    return value


def pipe(value: Any, *fns: Callable[[Any], Any]) -> Any:
    """Thread ``value`` through ``fns`` left to right (Clojure's ``->>``)."""
    for f in fns:
        value = f(value)
    return value
