"""What each ``waku`` command does, through Waku's public API only."""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import waku
from waku.dashboard import serve

from .output import emit_json, progress, shown, status_text, summary, table, took, when


class CliError(Exception):
    """A failure to report on one line of stderr, with the exit code it means."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def workflow_or_fail(name: str, workflow_id: str) -> waku.WorkflowInfo:
    info = waku.get_workflow(name, workflow_id)
    if info is None:
        raise CliError(
            f"no workflow {name!r} with id {workflow_id!r} in the store "
            "(see `waku list`, and check --store)"
        )
    return info


# -- reading ----------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    before = None if args.before is None else workflow_or_fail(*args.before)
    page = waku.list_workflows(status=args.status, name=args.name, limit=args.limit, before=before)
    more = len(page) == args.limit
    if args.json:
        last = page[-1] if page and more else None
        nxt = None if last is None else [last.workflow_name, last.workflow_id]
        emit_json({"workflows": page, "next_before": nxt})
        return 0
    if not page:
        print("no workflows")
        return 0
    rows = [
        [
            w.workflow_name,
            w.workflow_id,
            status_text(w.status),
            when(w.created_at),
            when(w.updated_at),
        ]
        for w in page
    ]
    print(table(["NAME", "ID", "STATUS", "CREATED (UTC)", "UPDATED (UTC)"], rows, 2))
    if more:
        last = page[-1]
        print(
            f"next page: waku list --before {shlex.quote(last.workflow_name)} "
            f"{shlex.quote(last.workflow_id)}",
            file=sys.stderr,
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    info = workflow_or_fail(args.name, args.id)
    if args.json:
        emit_json(info)
        return 0
    fields = [
        ("workflow", f"{info.workflow_name} {info.workflow_id}"),
        ("status", status_text(info.status)),
        ("created", when(info.created_at) + " UTC"),
        ("updated", when(info.updated_at) + " UTC"),
    ]
    if info.queue:
        fields.append(("queue", info.queue))
    if info.wake_at:
        fields.append(("wakes at", when(info.wake_at) + " UTC"))
    if info.input is not None or args.full:
        fields.append(("input", shown(info.input, None if args.full else 80)))
    if status_text(info.status) == "succeeded":
        fields.append(("result", shown(info.result, None if args.full else 80)))
    if info.error is not None:
        fields.append(("error", summary(info.error, 200)))
    for label, value in fields:
        print(f"{label + ':':<10} {value}")
    steps = [s for s in info.steps if s.step > 0]
    if not steps:
        return 0
    print()
    rows = [
        [
            str(s.step),
            s.function or "-",
            s.status,
            took(s.started_at, s.finished_at),
            str(s.attempts),
            summary(s.error),
        ]
        for s in steps
    ]
    print(table(["STEP", "FUNCTION", "STATUS", "TOOK", "ATTEMPTS", "ERROR"], rows, 2))
    if args.full:
        for s in steps:
            print(f"\nstep {s.step} ({s.function or '-'}):")
            print(f"  input:  {shown(s.input)}")
            print(f"  output: {shown(s.output)}")
            if s.error is not None and s.error.traceback_text:
                print("  " + s.error.traceback_text.rstrip().replace("\n", "\n  "))
    return 0


# -- acting -----------------------------------------------------------------------


def outcome(result: waku.WorkflowResult) -> int:
    """Print where a run stopped; 1 when the workflow failed."""
    info = waku.get_workflow(result.workflow_name, result.workflow_id)
    status = "unknown" if info is None else status_text(info.status)
    where = f"{result.workflow_name} {result.workflow_id}"
    if status == "failed":
        error = None if info is None else info.error
        raise CliError(f"workflow {where} failed at step {result.latest_step}: {summary(error)}")
    print(f"{where}: {status} (step {result.latest_step})")
    if status == "succeeded":
        print(f"result: {shown(result.result, 200)}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    info = workflow_or_fail(args.name, args.id)
    if status_text(info.status) == "succeeded":
        print(f"{args.name} {args.id}: already succeeded; nothing to resume")
        return 0
    if status_text(info.status) == "cancelled":
        raise CliError(f"workflow {args.name} {args.id} was cancelled; fork it to run it again")
    return outcome(waku.run_callback_workflow(args.name, workflow_id=args.id))


def cmd_recover(args: argparse.Namespace) -> int:
    report: list[waku.Recovered] = []
    seen: set[tuple[str, str]] = set()
    with progress("recovering workflows") as counts:
        while True:  # in small batches, so the progress line moves
            batch = waku.recover(queues=args.queue, limit=10)
            fresh = [r for r in batch if (r.workflow_name, r.workflow_id) not in seen]
            seen.update((r.workflow_name, r.workflow_id) for r in batch)
            report += fresh
            counts.append(len(fresh))
            if len(batch) < 10 or not fresh:
                break
    rows = []
    for r in report:
        status = r.status
        if r.result is not None:
            found = waku.get_workflow(r.workflow_name, r.workflow_id)
            status = status if found is None else f"{r.status}: {status_text(found.status)}"
        rows.append(
            {"workflow_name": r.workflow_name, "workflow_id": r.workflow_id, "status": status}
        )
    if args.json:
        emit_json({"recovered": rows})
        return 0
    if not rows:
        print("nothing to recover")
        return 0
    print(table(["NAME", "ID", "OUTCOME"], [list(r.values()) for r in rows]))
    return 0


def read_payload(text: str) -> Any:
    """JSON from the argument, or from the file ``@path`` names (``-`` for stdin)."""
    source = "the payload"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text()
        except OSError as error:
            raise CliError(
                f"cannot read the payload file {source!r}: {error.strerror}", 2
            ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{source} is not JSON: {error}", 2) from None


def cmd_complete(args: argparse.Namespace) -> int:
    payload = read_payload(args.payload)
    return outcome(waku.run_workflow_from_callback(args.token, payload))


def cmd_fail(args: argparse.Namespace) -> int:
    result = waku.fail_callback(args.token, args.reason)
    info = waku.get_workflow(result.workflow_name, result.workflow_id)
    status = "unknown" if info is None else status_text(info.status)
    print(f"{result.workflow_name} {result.workflow_id}: callback failed; workflow {status}")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    info = workflow_or_fail(args.name, args.id)
    if status_text(info.status) in ("succeeded", "failed", "cancelled"):
        raise CliError(
            f"workflow {args.name} {args.id} already {status_text(info.status)}; nothing to cancel"
        )
    waku.cancel(args.name, args.id)
    print(f"{args.name} {args.id}: cancelled")
    return 0


def cmd_fork(args: argparse.Namespace) -> int:
    workflow_or_fail(args.name, args.id)
    handle = waku.fork(args.name, args.id, from_step=args.from_step, new_id=args.new_id)
    print(f"forked {args.name} {args.id} from step {args.from_step} as {handle.workflow_id}")
    try:  # the fork runs in this process: let it reach its end, or a wait
        assert handle.local is not None
        result = handle.local.result()
    except waku.WorkflowCancelledError:
        print(f"{args.name} {handle.workflow_id}: cancelled")
        return 0
    return outcome(result)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def duration(text: str) -> dt.timedelta:
    """``7d``, ``12h``, ``30m``, ``90s``, ``2w``, or several: ``1d12h``."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: write a number and a unit (s, m, h, d, w), "
            "e.g. 7d, 12h, 30m or 1d12h"
        )
    return dt.timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def cmd_prune(args: argparse.Namespace) -> int:
    cutoff = dt.datetime.now(dt.timezone.utc) - args.older_than
    with progress("pruning finished workflows"):  # one call: the line shows the time
        removed = waku.prune(older_than=cutoff, status=args.status)
    if args.json:
        emit_json({"pruned": [list(pair) for pair in removed], "count": len(removed)})
        return 0
    print(
        f"pruned {len(removed)} workflow{'' if len(removed) == 1 else 's'} "
        f"last updated before {when(cutoff)} UTC"
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    queues = tuple(args.queue or ["default"])
    worker = waku.Worker(queues=queues, concurrency=args.concurrency)
    print(
        f"waku worker: queues {', '.join(queues)}, concurrency {args.concurrency}; "
        "Ctrl-C or SIGTERM stops it",
        file=sys.stderr,
    )
    worker.run()
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    if not is_loopback(args.host):
        print(
            f"waku: warning: serving the dashboard on {args.host}, reachable from other "
            "machines; it can resume, cancel and fork workflows and has no login",
            file=sys.stderr,
        )
    serve(waku.get_store(), host=args.host, port=args.port)
    return 0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
