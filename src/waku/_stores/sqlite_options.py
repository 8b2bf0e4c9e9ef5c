"""SQLiteStore's options, checked in one place whether they come from Python or a URL.

The constructor raises ``ValueError`` (or ``TypeError``) naming the option; a
``sqlite://`` URL turns the same check into a ``StoreError`` that also names
the URL, since a URL usually comes from configuration rather than code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from .._errors import StoreError

MAX_PAYLOAD = 16 * 1024 * 1024
"""Default largest payload (bytes) one record may hold; larger ones are refused."""

DURABILITY = {"full": "FULL", "normal": "NORMAL"}
"""``durability`` option -> the ``PRAGMA synchronous`` of a commit holding a result."""

# SQLite takes its busy timeout in milliseconds as a C int.
MAX_BUSY_TIMEOUT = 2_000_000.0


def _seconds(name: str, value: object, *, zero: bool, most: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    low = "0 or more" if zero else "more than 0"
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero) or value > most:
        high = "" if most == math.inf else f" and at most {most:,.0f}"
        raise ValueError(f"{name} must be a number of seconds, {low}{high}; not {value!r}")
    return float(value)


def check_durability(value: object) -> str:
    """``value`` when it is a known durability, else ValueError naming the choices."""
    if not isinstance(value, str) or value not in DURABILITY:
        raise ValueError(f"durability must be 'full' or 'normal', not {value!r}")
    return value


def check_lease_ttl(value: object) -> float:
    """Seconds a dead owner's lease lasts: a lease of 0 would never hold at all."""
    return _seconds("lease_ttl", value, zero=False)


def check_lease_wait(value: object) -> float:
    """Seconds to wait for a lease; 0 means do not wait."""
    return _seconds("lease_wait", value, zero=True)


def check_busy_timeout(value: object) -> float:
    """Seconds to wait for the write lock; 0 would report every brief lock as an error."""
    return _seconds("busy_timeout", value, zero=False, most=MAX_BUSY_TIMEOUT)


def check_max_payload(value: object) -> int:
    """The largest record in bytes; 0 or less would refuse every record."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_payload must be a whole number of bytes, not {value!r}")
    if value <= 0:
        raise ValueError(f"max_payload must be a number of bytes above 0, not {value!r}")
    return value


@dataclass(frozen=True)
class Options:
    """Every option of a SQLite store, checked on creation."""

    durability: str = "full"
    lease_ttl: float = 30.0
    lease_wait: float = 0.0
    busy_timeout: float = 60.0
    max_payload: int = MAX_PAYLOAD

    def __post_init__(self) -> None:
        for name, check in CHECKS.items():
            object.__setattr__(self, name, check(getattr(self, name)))


CHECKS: dict[str, Callable[[Any], Any]] = {
    "durability": check_durability,
    "lease_ttl": check_lease_ttl,
    "lease_wait": check_lease_wait,
    "busy_timeout": check_busy_timeout,
    "max_payload": check_max_payload,
}

# How a URL's text becomes each option's value, before its check.
_FROM_TEXT: dict[str, Callable[[str], Any]] = {
    "durability": str,
    "lease_ttl": float,
    "lease_wait": float,
    "busy_timeout": float,
    "max_payload": int,
}


def parse_url(rest: str) -> tuple[str, dict[str, Any]]:
    """The path and options of ``sqlite://`` + ``rest``; StoreError naming the URL if bad.

    ``rest`` is e.g. ``/my%20dir/waku.db?durability=normal``: three slashes in
    all make a relative path, four an absolute one; percent-escapes in the
    path are decoded.
    """
    url = f"sqlite://{rest}"
    location, _, query = rest.partition("?")
    if not location.startswith("/") or location == "/":
        raise StoreError(
            f"Bad SQLite store URL {url!r}: write sqlite:///waku.db for a path "
            "relative to the working directory, or sqlite:////var/lib/waku.db for an "
            "absolute one"
        )
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise StoreError(
            f"Bad query in SQLite store URL {url!r}: write options as name=value "
            "joined by '&', e.g. ?durability=normal&lease_ttl=10"
        ) from None
    options: dict[str, Any] = {}
    for key, text in pairs:
        if key not in _FROM_TEXT:
            known = ", ".join(_FROM_TEXT)
            raise StoreError(
                f"Unknown option {key!r} in SQLite store URL {url!r}; the options are {known}"
            )
        if key in options:
            raise StoreError(f"Option {key!r} is given twice in SQLite store URL {url!r}")
        try:
            value = _FROM_TEXT[key](text)
        except ValueError:
            value = text  # not a number: the check below says what it should be
        try:
            options[key] = CHECKS[key](value)
        except (TypeError, ValueError) as error:
            raise StoreError(
                f"Bad value {text!r} for option {key!r} in SQLite store URL {url!r}: {error}"
            ) from None
    return unquote(location[1:]), options
