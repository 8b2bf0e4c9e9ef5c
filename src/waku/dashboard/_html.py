"""The page frame, the style sheet and small escaping helpers shared by every page.

Every value that came from a store goes through ``text`` (or ``attr``) on its
way into a page, so a stored ``<script>`` is shown as text. Pages carry no
script at all, and the server's Content-Security-Policy forbids one.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import reprlib
from enum import Enum
from typing import Any
from urllib.parse import urlencode

import waku

STATUS_COLOURS = {
    "queued": "#8a8f98",
    "running": "#2f6fde",
    "waiting": "#b7791f",
    "sleeping": "#7c5cc4",
    "delivered": "#2c9ca6",
    "succeeded": "#2f9e5b",
    "failed": "#d13b3b",
    "cancelled": "#5b5f66",
    "input": "#8a8f98",
}

_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 80


def text(value: object) -> str:
    """Any value as HTML text: escaped, quotes included."""
    return html.escape(str(value), quote=True)


def url(path: str, **params: object) -> str:
    """A local URL with its query, escaped for an attribute; None params are left out."""
    query = urlencode({k: str(v) for k, v in params.items() if v is not None and v != ""})
    return text(f"{path}?{query}" if query else path)


def when(moment: dt.datetime | None) -> str:
    """A UTC time to the millisecond, or a dash."""
    if moment is None:
        return "\u2013"
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def duration(seconds: float | None) -> str:
    """Seconds as a short human duration."""
    if seconds is None:
        return "\u2013"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def pretty(value: Any) -> str:
    """A stored value for reading: indented JSON when it is plain data, else its repr."""
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        return repr(value)


def short(value: Any) -> str:
    """A stored value on one line, cut to about 80 characters."""
    return _repr.repr(value)


def status_name(status: str) -> str:
    """A status as its plain text: ``waku.Status.FAILED`` is ``failed``."""
    return status.value if isinstance(status, Enum) else str(status)


def badge(status: str) -> str:
    """A status as a coloured label."""
    name = text(status_name(status))
    return f'<span class="badge s-{name}">{name}</span>'


def page(title: str, body: str, *, note: str | None = None) -> str:
    """A whole page: the frame around ``body``; ``note`` is a message shown at the top."""
    banner = f'<p class="note" role="status">{text(note)}</p>' if note else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{text(title)} · Waku</title>
<link rel="stylesheet" href="/style.css">
</head><body>
<header><a class="brand" href="/">Waku</a> <span class="dim">workflows</span>
<span class="dim right">waku {text(waku.__version__)}</span></header>
<main>{banner}{body}</main>
</body></html>
"""


def _status_rules() -> str:
    return "\n".join(
        f".s-{name}{{background:{colour}}} .f-{name}{{fill:{colour}}}"
        for name, colour in STATUS_COLOURS.items()
    )


STYLE = (
    """
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2026; }
body { margin: 0; background: #f6f7f9; }
header { background: #1d2026; color: #fff; padding: .6rem 1.2rem; display: flex; gap: .6rem;
  align-items: baseline; }
header a.brand { color: #fff; font-weight: 700; text-decoration: none; font-size: 1.15rem; }
header .dim { color: #a9afb9; } .right { margin-left: auto; }
main { padding: 1rem 1.2rem; max-width: 1200px; }
h1 { font-size: 1.3rem; margin: .2rem 0 .8rem; word-break: break-all; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
h3 { font-size: .8rem; color: #6b7280; margin: .6rem 0 .1rem; text-transform: uppercase; }
a { color: #2257b8; }
.dim { color: #6b7280; }
.note { background: #fff7d6; border: 1px solid #e8d48a; padding: .5rem .8rem; border-radius: 6px; }
.badge { color: #fff; border-radius: 4px; padding: .05rem .45rem; font-size: .8rem;
  white-space: nowrap; }
.counts { display: flex; flex-wrap: wrap; gap: .4rem; margin-bottom: .8rem; }
.counts a { text-decoration: none; color: inherit; background: #fff; border: 1px solid #d8dce3;
  border-radius: 6px; padding: .3rem .6rem; }
.counts a.on { border-color: #2257b8; box-shadow: 0 0 0 1px #2257b8; }
.counts b { margin-left: .3rem; }
form.filters { display: flex; gap: .5rem; align-items: center; margin-bottom: .8rem;
  flex-wrap: wrap; }
input, select, button { font: inherit; padding: .25rem .45rem; }
button { cursor: pointer; border: 1px solid #b9c0cc; background: #fff; border-radius: 5px; }
button.danger { border-color: #d13b3b; color: #b32020; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #e6e8ec;
  vertical-align: top; }
th { font-size: .8rem; color: #6b7280; font-weight: 600; }
td.id { word-break: break-all; }
.pager { margin-top: .8rem; display: flex; gap: 1rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.facts dt { color: #6b7280; } dl.facts dd { margin: 0; word-break: break-all; }
.actions { display: flex; gap: .6rem; flex-wrap: wrap; align-items: center; margin: .8rem 0; }
.actions form { display: flex; gap: .4rem; align-items: center; }
form.row { display: flex; gap: .4rem; margin: .4rem 0; flex-wrap: wrap; }
form.row input[name="token"] { flex: 1 1 22rem; }
form.row input[name="payload"], form.row input[name="reason"] { flex: 1 1 14rem; }
.timeline { background: #fff; border: 1px solid #e6e8ec; border-radius: 6px; padding: .4rem; }
.timeline svg { width: 100%; height: auto; display: block; }
.timeline text { font-size: 12px; fill: #1d2026; }
.timeline text.inbar { fill: #fff; font-weight: 600; }
.timeline text.axis { fill: #6b7280; font-size: 11px; }
.timeline line.grid { stroke: #eceef1; }
.timeline rect.bar.waiting, .timeline rect.bar.running,
.timeline rect.bar.sleeping { stroke-dasharray: 4 3; stroke: #1d2026;
  stroke-width: .6; }
.legend { display: flex; gap: .8rem; font-size: .8rem; margin: .3rem 0; flex-wrap: wrap; }
.legend i { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px;
  vertical-align: -1px; margin-right: .25rem; }
details.step { background: #fff; border: 1px solid #e6e8ec; border-radius: 6px;
  margin: .35rem 0; padding: .35rem .7rem; }
details.step summary { cursor: pointer; display: flex; gap: .6rem; align-items: baseline;
  flex-wrap: wrap; }
details.step.failed { border-left: 4px solid #d13b3b; }
details.step.waiting { border-left: 4px solid #b7791f; }
pre { background: #f3f4f6; padding: .5rem .7rem; border-radius: 5px; overflow-x: auto;
  white-space: pre-wrap; word-break: break-word; margin: .3rem 0; }
pre.error { background: #fdecec; }
code { background: #f3f4f6; padding: 0 .25rem; border-radius: 3px; }
"""
    + _status_rules()
    + "\n"
)
