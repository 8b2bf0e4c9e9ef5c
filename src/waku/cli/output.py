"""How the command line writes: aligned tables, colour in a terminal only, JSON, progress."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

import waku

_COLOURS = {
    "succeeded": "32",  # green
    "failed": "31",  # red
    "cancelled": "90",  # grey
    "waiting": "33",  # yellow
    "sleeping": "33",
    "delivered": "33",
    "running": "36",  # cyan
    "queued": "36",
    "input": "90",
}


def use_colour(stream: TextIO) -> bool:
    """Colour only for a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    return stream.isatty() and "NO_COLOR" not in os.environ


def status_text(status: str) -> str:
    """A status as stores write it: ``failed``, not ``Status.FAILED``."""
    return status.value if isinstance(status, enum.Enum) else str(status)


def paint(text: str, status: str, colour: bool) -> str:
    code = _COLOURS.get(status)
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text


def bold(text: str, colour: bool) -> str:
    return f"\x1b[1m{text}\x1b[0m" if colour else text


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], status_column: int = -1) -> str:
    """Columns padded to their widest cell; the status column coloured in a terminal."""
    colour = use_colour(sys.stdout)
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    lines = [
        bold("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), colour)
    ]
    for row in rows:
        cells = []
        for i, (cell, width) in enumerate(zip(row, widths, strict=True)):
            padded = cell.ljust(width)
            cells.append(paint(padded, cell, colour) if i == status_column else padded)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def when(moment: dt.datetime | None) -> str:
    """A UTC time to the second, as tables show it."""
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def took(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """A step's duration, in the unit that reads best."""
    if start is None or end is None:
        return "-"
    seconds = (end - start).total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def summary(error: waku.ErrorInfo | None, width: int = 60) -> str:
    """``ValueError: message`` on one line, cut to ``width``."""
    if error is None:
        return ""
    text = f"{error.type_name.rpartition(':')[2]}: {error.message}".replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def plain(value: Any) -> Any:
    """A value as JSON can hold it: containers kept, times as ISO text, the rest as repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k if isinstance(k, str) else repr(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    return repr(value)


def emit_json(value: Any) -> None:
    json.dump(plain(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def shown(value: Any, limit: int | None = None) -> str:
    """A stored value for a person: JSON when it can be, else its repr."""
    try:
        text = json.dumps(plain(value), ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


@contextmanager
def progress(what: str) -> Iterator[list[int]]:
    """A line on stderr, redrawn every 0.2 s while the body runs, when stderr is a terminal.

    The body appends counts to the yielded list; the line shows their sum
    once there is one, and the time so far.
    """
    counts: list[int] = []
    if not sys.stderr.isatty():
        yield counts
        return
    done = threading.Event()
    began = time.monotonic()

    def draw() -> None:
        while not done.wait(0.2):
            done_so_far = f"{sum(counts)} so far, " if counts else ""
            elapsed = time.monotonic() - began
            sys.stderr.write(f"\r{what}… {done_so_far}{elapsed:.0f} s")
            sys.stderr.flush()

    ticker = threading.Thread(target=draw, daemon=True)
    ticker.start()
    try:
        yield counts
    finally:
        done.set()
        ticker.join()
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()
