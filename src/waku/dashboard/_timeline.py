"""A workflow's steps as bars on a time axis: inline SVG, no script.

Each step is one row: a bar from when its last attempt started to when it
finished, coloured by status. A step still running, waiting for its
callback or sleeping has no end yet, so its bar runs to now, dashed (a
sleep says when it wakes). The attempts are counted beside the step's name,
and each bar links to the step's details.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import waku

from ._html import duration, text, when

WIDTH = 1000
LABELS = 250  # the left column: step number, function and attempts
RIGHT = 12
ROW = 26
TOP = 22
TICKS = 5

Scale = Callable[[dt.datetime], float]
OPEN = ("running", "waiting", "sleeping")  # no end yet: drawn up to now


def timeline(info: waku.WorkflowInfo, now: dt.datetime) -> str:
    """The SVG timeline of ``info``'s numbered steps (step 0, the input, has no duration)."""
    steps = [s for s in info.steps if s.step > 0]
    if not steps:
        return '<p class="dim">No steps recorded yet.</p>'
    start, end = _span(info, steps, now)
    scale = (WIDTH - LABELS - RIGHT) / max((end - start).total_seconds(), 1e-3)

    def x(moment: dt.datetime) -> float:
        return LABELS + (moment - start).total_seconds() * scale

    height = TOP + ROW * len(steps) + 6
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="Timeline of {len(steps)} steps">'
    ]
    parts += _axis(start, end, height)
    for row, step in enumerate(steps):
        parts.append(_row(step, TOP + row * ROW, x, now))
    parts.append("</svg>")
    return '<div class="timeline">' + "".join(parts) + "</div>" + _legend(steps)


def _span(
    info: waku.WorkflowInfo, steps: list[waku.StepInfo], now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    moments = [info.created_at, info.updated_at]
    for step in steps:
        moments += [m for m in (step.started_at, step.finished_at) if m is not None]
        if step.finished_at is None and step.status in OPEN:
            moments.append(now)
    return min(moments), max(moments)


def _axis(start: dt.datetime, end: dt.datetime, height: int) -> list[str]:
    total = (end - start).total_seconds()
    parts = []
    for i in range(TICKS + 1):
        seconds = total * i / TICKS
        pos = LABELS + (WIDTH - LABELS - RIGHT) * i / TICKS
        anchor = "end" if i == TICKS else "start" if i == 0 else "middle"
        label = "0" if i == 0 else "+" + duration(seconds)
        parts.append(
            f'<line class="grid" x1="{pos:.1f}" y1="{TOP - 6}" x2="{pos:.1f}" y2="{height}"/>'
            f'<text class="axis" x="{pos:.1f}" y="{TOP - 9}" text-anchor="{anchor}">'
            f"{text(label)}</text>"
        )
    return parts


def _row(step: waku.StepInfo, y: int, x: Scale, now: dt.datetime) -> str:
    function = (step.function or "?").rsplit(":", 1)[-1]
    attempts = f" \u00d7{step.attempts}" if step.attempts > 1 else ""
    label = f"{step.step}  {function}{attempts}"
    if len(label) > 34:
        label = label[:33] + "…"
    open_ended = step.finished_at is None and step.status in OPEN
    began = step.started_at
    ended = now if open_ended else step.finished_at
    title = (
        f"step {step.step} {step.function or ''}: {step.status}, "
        f"{step.attempts} attempt{'s' if step.attempts != 1 else ''}"
    )
    if began is not None and ended is not None:
        left, right = x(began), x(ended)
        title += f", {duration((ended - began).total_seconds())}"
        if open_ended:
            title += " so far"
        bar = (
            f'<rect class="bar {text(step.status)} f-{text(step.status)}" x="{left:.1f}" '
            f'y="{y + 4}" width="{max(right - left, 3):.1f}" height="{ROW - 8}" rx="3"/>'
        )
        note_x = max(right, left + 3) + 5
    else:
        bar = ""
        note_x = LABELS + 4
    note = {"failed": "✕ failed", "waiting": "waiting for callback", "running": "running"}.get(
        step.status, ""
    )
    if not bar and step.status == "succeeded":
        note = "stored result reused, not run here"
    if step.status == "sleeping":
        wakes = step.output
        note = f"sleeps until {when(wakes)}" if isinstance(wakes, dt.datetime) else "sleeping"
    anchor, inside = "start", ""
    if note and note_x > WIDTH - 140:  # no room after the bar: write at its end, inside it
        note_x, anchor, inside = min(note_x - 10, WIDTH - RIGHT - 4), "end", ' class="inbar"'
    mark = (
        f'<text{inside} x="{note_x:.1f}" y="{y + ROW / 2 + 4:.1f}" text-anchor="{anchor}">'
        f"{text(note)}</text>"
        if note
        else ""
    )
    return (
        f'<a href="#step-{step.step}"><g class="step" data-step="{step.step}" '
        f'data-status="{text(step.status)}"><title>{text(title)}</title>'
        f'<text x="4" y="{y + ROW / 2 + 4:.1f}">{text(label)}</text>{bar}{mark}</g></a>'
    )


def _legend(steps: list[waku.StepInfo]) -> str:
    seen = sorted({s.status for s in steps})
    items = "".join(f'<span><i class="s-{text(s)}"></i>{text(s)}</span>' for s in seen)
    return f'<div class="legend">{items}<span class="dim">dashed: no end yet</span></div>'
