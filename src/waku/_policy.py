"""What a step does when an attempt fails: ``RetryPolicy``; and the checks of durations."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

WAIT_IN_PLACE = 2.0
"""Waits (sleeps, backoffs) up to this many seconds hold the thread; longer ones suspend."""


def seconds(value: object, what: str, *, allow_zero: bool = True) -> float:
    """``value`` as a finite number of seconds, or TypeError/ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, not {value!r}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        least = "0 or more" if allow_zero else "more than 0"
        raise ValueError(f"{what} must be a finite number of seconds, {least}; not {value!r}")
    return float(value)


def exception_types(value: object) -> tuple[type[Exception], ...]:
    """``retry_on`` as a tuple of exception classes (one class is accepted too)."""
    types = (value,) if isinstance(value, type) else value
    if isinstance(types, tuple) and all(
        isinstance(t, type) and issubclass(t, Exception) for t in types
    ):
        return types
    raise TypeError(
        f"retry_on must be an Exception class or a tuple of them, not {value!r}; "
        "signals such as KeyboardInterrupt are never retried"
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failing step is tried, and how long to wait between attempts.

    Attempt ``k`` (from 1) that fails with one of ``retry_on`` is followed,
    while ``k < max_attempts``, by a wait of
    ``min(max_delay, initial * multiplier ** (k - 1))`` seconds, less a random
    part of up to ``jitter`` of it (``jitter=0.1``: between 90 % and 100 %).
    The wait is durable: its end is recorded with the failed attempt, so a
    restart waits only what is left and continues the count. Waits up to
    ``wait_in_place`` seconds hold the thread; longer ones suspend the
    workflow (status ``sleeping``) until a waker, Worker or ``recover()``
    resumes it.
    """

    max_attempts: int = 3
    initial: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.1
    retry_on: type[Exception] | tuple[type[Exception], ...] = field(default=(Exception,))
    """Failures worth another attempt; given one class, it is kept as a one-class tuple."""
    wait_in_place: float = WAIT_IN_PLACE

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise ValueError(
                f"max_attempts must be a whole number, 1 or more; not {self.max_attempts!r}"
            )
        seconds(self.initial, "initial")
        seconds(self.max_delay, "max_delay")
        seconds(self.wait_in_place, "wait_in_place")
        _number(self.multiplier, "multiplier", 1.0, math.inf)
        _number(self.jitter, "jitter", 0.0, 1.0)
        object.__setattr__(self, "retry_on", exception_types(self.retry_on))

    def retries(self, error: BaseException, attempt: int) -> bool:
        """Whether attempt ``attempt``, failing with ``error``, is followed by another."""
        return attempt < self.max_attempts and isinstance(error, self.retry_on)

    def delay(self, attempt: int, draw: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt``; ``draw`` in [0, 1) is the jitter's."""
        base = min(self.max_delay, self.initial * self.multiplier ** (attempt - 1))
        if draw is None:
            draw = random.random()
        return base * (1.0 - self.jitter * draw)


def _number(value: Any, what: str, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, not {value!r}")
    if not (low <= value <= high) or math.isnan(value):
        raise ValueError(f"{what} must be between {low:g} and {high:g}, not {value!r}")


def policy_of(
    retry: RetryPolicy | None,
    retries: int,
    backoff: float | None,
    retry_on: object,
) -> RetryPolicy | None:
    """The policy a step's keywords ask for: ``retry=`` itself, or one built from ``retries=``."""
    if retry is not None:
        if not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a waku.RetryPolicy, not {retry!r}")
        if retries or backoff is not None or retry_on is not None:
            raise TypeError("give either retry=RetryPolicy(...) or retries/backoff/retry_on")
        return retry
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a whole number, 0 or more; not {retries!r}")
    if retries == 0:
        if backoff is not None or retry_on is not None:
            raise TypeError("backoff and retry_on need retries=N (the attempts after the first)")
        return None
    kwargs: dict[str, Any] = {"max_attempts": retries + 1}
    if backoff is not None:
        kwargs["initial"] = backoff
    if retry_on is not None:
        kwargs["retry_on"] = retry_on
    return RetryPolicy(**kwargs)
