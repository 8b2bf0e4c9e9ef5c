"""The dashboard's two pages, rendered from ``WorkflowInfo`` values: no store access here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import waku

from ._html import badge, duration, page, pretty, short, status_name, text, url, when
from ._timeline import OPEN, timeline

FINISHED = {"succeeded", "failed", "cancelled"}
DASH = "\u2013"


@dataclass(frozen=True)
class Listing:
    """What the list page shows: one page of workflows, the filters, the counts."""

    workflows: list[waku.WorkflowInfo]
    status: str | None
    name: str | None
    counts: dict[str, int]
    cap: int
    more: bool
    paged: bool


def list_page(listing: Listing, *, note: str | None = None) -> str:
    """The workflow list: counts per status, filters, one page, a link to the next."""
    body = [_counts(listing), _filters(listing)]
    if listing.workflows:
        body.append(_table(listing.workflows))
    else:
        body.append('<p class="dim">No workflows match.</p>')
    pager = []
    if listing.paged:
        pager.append(f'<a href="{url("/", status=listing.status, name=listing.name)}">« Newest</a>')
    if listing.more:
        last = listing.workflows[-1]
        after = url(
            "/",
            status=listing.status,
            name=listing.name,
            before_name=last.workflow_name,
            before_id=last.workflow_id,
            before_t=last.created_at.isoformat(),
        )
        pager.append(f'<a href="{after}" rel="next">Older »</a>')
    body.append(f'<nav class="pager">{"".join(pager)}</nav>')
    return page("Workflows", "<h1>Workflows</h1>" + "".join(body), note=note)


def _counts(listing: Listing) -> str:
    total = sum(min(n, listing.cap) for n in listing.counts.values())
    capped = any(n > listing.cap for n in listing.counts.values())
    chips = [
        f'<a class="{"on" if listing.status is None else ""}" '
        f'href="{url("/", name=listing.name)}">all<b>{_count(total, capped)}</b></a>'
    ]
    for status in waku.Status:
        n = listing.counts.get(status.value, 0)
        on = "on" if listing.status == status.value else ""
        chips.append(
            f'<a class="{on}" href="{url("/", status=status.value, name=listing.name)}" '
            f'data-status="{status.value}">{badge(status.value)}'
            f"<b>{_count(min(n, listing.cap), n > listing.cap)}</b></a>"
        )
    return f'<nav class="counts" aria-label="Counts per status">{"".join(chips)}</nav>'


def _count(n: int, capped: bool) -> str:
    return f"{n:,}+" if capped else f"{n:,}"


def _filters(listing: Listing) -> str:
    options = ['<option value="">any status</option>'] + [
        f'<option value="{s.value}"{" selected" if listing.status == s.value else ""}>'
        f"{s.value}</option>"
        for s in waku.Status
    ]
    return (
        '<form class="filters" method="get" action="/">'
        f'<input name="name" placeholder="workflow name" value="{text(listing.name or "")}" '
        'aria-label="workflow name">'
        f'<select name="status" aria-label="status">{"".join(options)}</select>'
        '<button type="submit">Filter</button></form>'
    )


def _table(workflows: list[waku.WorkflowInfo]) -> str:
    rows = []
    for info in workflows:
        link = url("/workflow", name=info.workflow_name, id=info.workflow_id)
        outcome = "" if info.result is None else f"<code>{text(short(info.result))}</code>"
        status = text(status_name(info.status))
        rows.append(
            f'<tr data-status="{status}"><td>{text(info.workflow_name)}</td>'
            f'<td class="id"><a href="{link}">{text(info.workflow_id)}</a></td>'
            f"<td>{badge(info.status)}</td><td>{when(info.created_at)}</td>"
            f"<td>{when(info.updated_at)}</td><td>{outcome}</td></tr>"
        )
    return (
        "<table><thead><tr><th>name</th><th>id</th><th>status</th><th>created (UTC)</th>"
        "<th>updated (UTC)</th><th>result</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def workflow_page(
    info: waku.WorkflowInfo, csrf: str, now: dt.datetime, *, note: str | None = None
) -> str:
    """One workflow: its facts, the actions, the timeline and every step's details."""
    title = f"{info.workflow_name} / {info.workflow_id}"
    body = [
        f"<h1>{text(title)} {badge(info.status)}</h1>",
        _facts(info),
        _actions(info, csrf),
        _callback_forms(info, csrf),
        "<h2>Timeline</h2>",
        timeline(info, now),
        "<h2>Steps</h2>",
        "".join(_step(step, now) for step in info.steps) or '<p class="dim">No steps.</p>',
    ]
    return page(title, "".join(body), note=note)


def _facts(info: waku.WorkflowInfo) -> str:
    facts = [
        ("name", text(info.workflow_name)),
        ("id", text(info.workflow_id)),
        ("created", when(info.created_at) + " UTC"),
        ("updated", when(info.updated_at) + " UTC"),
    ]
    if info.queue is not None:
        facts.append(("queue", text(info.queue)))
    if info.wake_at is not None:
        facts.append(("wakes at", when(info.wake_at) + " UTC"))
    if info.input is not None:
        facts.append(("input", f"<code>{text(short(info.input))}</code>"))
    if info.status == "succeeded":
        facts.append(("result", f"<code>{text(short(info.result))}</code>"))
    if info.error is not None:
        error = f"{info.error.type_name}: {info.error.message}"
        facts.append(("error", f"<code>{text(error)}</code>"))
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    return f'<dl class="facts">{items}</dl>'


def _actions(info: waku.WorkflowInfo, csrf: str) -> str:
    hidden = (
        f'<input type="hidden" name="csrf" value="{text(csrf)}">'
        f'<input type="hidden" name="name" value="{text(info.workflow_name)}">'
        f'<input type="hidden" name="id" value="{text(info.workflow_id)}">'
    )
    forms = []
    if info.status not in FINISHED or info.status == "failed":
        forms.append(
            f'<form method="post" action="/resume">{hidden}'
            '<button type="submit" title="Run it again from its first unfinished step">'
            "Resume</button></form>"
        )
    if info.status not in FINISHED:
        forms.append(
            f'<form method="post" action="/cancel">{hidden}'
            '<button class="danger" type="submit">Cancel</button></form>'
        )
    numbered = [s.step for s in info.steps if s.step > 0]
    if numbered:
        failed = [s.step for s in info.steps if s.status == "failed"]
        default = failed[0] if failed else numbered[-1]
        options = "".join(
            f'<option value="{n}"{" selected" if n == default else ""}>step {n}</option>'
            for n in numbered
        )
        forms.append(
            f'<form method="post" action="/fork">{hidden}'
            f'<label>Fork from <select name="from_step">{options}</select></label>'
            '<input name="new_id" placeholder="new id (optional)" aria-label="new id">'
            '<button type="submit">Fork</button></form>'
        )
    return f'<div class="actions">{"".join(forms)}</div>'


def _callback_forms(info: waku.WorkflowInfo, csrf: str) -> str:
    waiting = [s for s in info.steps if s.status == "waiting"]
    if not waiting:
        return ""
    hidden = (
        f'<input type="hidden" name="csrf" value="{text(csrf)}">'
        f'<input type="hidden" name="name" value="{text(info.workflow_name)}">'
        f'<input type="hidden" name="id" value="{text(info.workflow_id)}">'
    )
    token = '<input name="token" required placeholder="callback token" aria-label="token">'
    return (
        f'<section class="callback"><h2>Step {waiting[0].step} waits for a callback</h2>'
        '<p class="note">The store keeps only a hash of its token, so the dashboard cannot '
        "deliver it by itself: paste the token the step handed out (from the link or "
        "message it was sent in) to complete or reject it here, or use "
        "<code>waku complete TOKEN PAYLOAD</code> / <code>waku fail TOKEN REASON</code>.</p>"
        f'<form class="row" method="post" action="/complete">{hidden}{token}'
        '<input name="payload" placeholder="payload (JSON)" aria-label="payload">'
        '<button type="submit">Complete</button></form>'
        f'<form class="row" method="post" action="/fail">{hidden}{token}'
        '<input name="reason" placeholder="reason" aria-label="reason">'
        '<button class="danger" type="submit">Fail callback</button></form></section>'
    )


def _step(step: waku.StepInfo, now: dt.datetime) -> str:
    took = None
    if step.started_at is not None:
        end = step.finished_at or (now if step.status in OPEN else None)
        took = None if end is None else (end - step.started_at).total_seconds()
    attempts = f"{step.attempts} attempt{'s' if step.attempts != 1 else ''}"
    head = (
        f"<summary><b>{step.step}</b> <code>{text(step.function or DASH)}</code> "
        f'{badge(step.status)} <span class="dim">{attempts} · {duration(took)} · '
        f"started {when(step.started_at)}</span></summary>"
    )
    parts = []
    if step.step == 0 or step.input is not None:
        parts.append(f"<h3>input</h3><pre>{text(pretty(step.input))}</pre>")
    if step.status == "sleeping":
        parts.append(f"<h3>wakes at</h3><pre>{text(step.output)}</pre>")
    if step.step > 0 and step.status == "succeeded":
        parts.append(f"<h3>output</h3><pre>{text(pretty(step.output))}</pre>")
    if step.error is not None:
        error = step.error
        trace = f"\n\n{error.traceback_text}" if error.traceback_text else ""
        parts.append(
            f'<h3>error</h3><pre class="error">{text(error.type_name)}: '
            f"{text(error.message)}{text(trace)}</pre>"
        )
    opened = " open" if step.status == "failed" else ""
    return (
        f'<details class="step {text(step.status)}" id="step-{step.step}"{opened}>'
        f"{head}{''.join(parts)}</details>"
    )
