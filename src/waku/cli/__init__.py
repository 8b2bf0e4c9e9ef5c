"""The ``waku`` command line: look at workflows in a store and act on them.

Exit codes: 0 done; 1 the operation failed (an unknown workflow or token, a
spent token, a failed workflow, a store that failed mid-operation); 2 bad
usage or input (a bad option, store URL, JSON payload or duration, or a
store that cannot be opened); 130 interrupted. Errors are one line on
stderr, ``waku: error: ...``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

import waku

from .commands import (
    CliError,
    cmd_cancel,
    cmd_complete,
    cmd_fail,
    cmd_fork,
    cmd_list,
    cmd_prune,
    cmd_recover,
    cmd_resume,
    cmd_show,
    cmd_ui,
    cmd_worker,
    duration,
)

DEFAULT_STORE = "sqlite:///waku.db"
FINISHED = ["succeeded", "failed", "cancelled"]

Command = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors in the same one-line form as every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def common() -> Parser:
    """Options every command takes, before or after its name."""
    parent = Parser(add_help=False)
    parent.add_argument(
        "--store",
        metavar="URL",
        default=argparse.SUPPRESS,
        help=f"the store (default: $WAKU_STORE, else {DEFAULT_STORE})",
    )
    parent.add_argument(
        "--app",
        metavar="MODULE[:ATTR]",
        action="append",
        default=argparse.SUPPRESS,
        help="import your code first, so its workflows are registered (repeatable)",
    )
    return parent


def parser() -> argparse.ArgumentParser:
    shared = common()
    top = Parser(
        prog="waku",
        description="Look at the workflows in a Waku store and act on them.",
        parents=[shared],
        epilog="Exit codes: 0 done, 1 the operation failed, 2 bad usage or input.",
    )
    top.add_argument("--version", action="version", version=f"waku {waku.__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, run: Command, help: str, json: bool = False) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help, parents=[shared])
        sub.set_defaults(run=run)
        if json:
            sub.add_argument("--json", action="store_true", help="print JSON")
        return sub

    statuses = [s.value for s in waku.Status]
    sub = add("list", cmd_list, "list workflows, newest first", json=True)
    sub.add_argument("--status", choices=statuses, help="only workflows with this status")
    sub.add_argument("--name", help="only workflows with this name")
    sub.add_argument("--limit", type=positive, default=50, help="at most this many (50)")
    sub.add_argument(
        "--before", nargs=2, metavar=("NAME", "ID"), help="the page after this workflow"
    )
    sub = add("show", cmd_show, "a workflow and its steps", json=True)
    named(sub)
    sub.add_argument("--full", action="store_true", help="inputs, outputs and tracebacks too")
    named(add("resume", cmd_resume, "run a registered workflow on from its stored steps"))
    sub = add(
        "recover", cmd_recover, "resume workflows left by dead processes, and due ones", json=True
    )
    sub.add_argument("--queue", action="append", default=[], help="also run this queue's work")
    sub = add("complete", cmd_complete, "deliver a callback: the waiting step gets PAYLOAD")
    sub.add_argument("token")
    sub.add_argument("payload", help="JSON, or @file with JSON (@- for stdin)")
    sub = add("fail", cmd_fail, "reject a callback: the waiting step fails with REASON")
    sub.add_argument("token")
    sub.add_argument("reason")
    named(add("cancel", cmd_cancel, "cancel a queued, running or waiting workflow"))
    sub = add("fork", cmd_fork, "run a copy of a workflow again from one of its steps")
    named(sub)
    sub.add_argument("--from-step", type=positive, required=True, metavar="N")
    sub.add_argument("--new-id", help="the copy's id (default: a new UUID)")
    sub = add("prune", cmd_prune, "delete finished workflows last updated long ago", json=True)
    sub.add_argument(
        "--older-than",
        type=duration,
        required=True,
        metavar="DURATION",
        help="e.g. 7d, 12h, 30m, 1d12h",
    )
    sub.add_argument(
        "--status",
        choices=FINISHED,
        action="append",
        help="only this status (repeatable; default all finished)",
    )
    sub = add("worker", cmd_worker, "run a worker: queued, due and orphaned workflows")
    sub.add_argument("--queue", action="append", help="a queue to take work from (repeatable)")
    sub.add_argument("--concurrency", type=positive, default=8, help="workflows at once (8)")
    sub = add("ui", cmd_ui, "serve the web dashboard")
    sub.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    sub.add_argument("--port", type=int, default=8321, help="port (8321)")
    return top


def named(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("name", help="the workflow's name")
    sub.add_argument("id", help="the workflow's id")


def positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return number


def load_apps(apps: Sequence[str]) -> None:
    """Import the user's modules (from the current directory too); ``:attr`` must exist."""
    sys.path.insert(0, os.getcwd())
    for app in apps:
        module_name, _, attr = app.partition(":")
        try:
            module = importlib.import_module(module_name)
        except Exception as error:
            raise CliError(
                f"cannot import --app {app!r}: {type(error).__name__}: {error}", 2
            ) from None
        if attr and not hasattr(module, attr):
            raise CliError(f"--app {app!r}: module {module_name!r} has no {attr!r}", 2)


def open_store(url: str | None) -> None:
    url = url or os.environ.get("WAKU_STORE") or DEFAULT_STORE
    try:
        waku.set_store(url)
    except waku.StoreError as error:
        raise CliError(f"cannot open the store: {error}", 2) from None


def run(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        load_apps(getattr(args, "app", []))
        open_store(getattr(args, "store", None))
        code: int = args.run(args)
        return code
    except CliError as error:
        return fail(str(error), error.code)
    except waku.UnknownWorkflowError as error:
        return fail(f"{error} (pass --app with the module that registers it)", 1)
    except (ValueError, TypeError) as error:
        return fail(str(error), 2)
    except waku.WorkflowCancelledError as error:
        return fail(str(error), 1)
    except waku.WakuError as error:
        return fail(str(error), 1)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except Exception as error:
        return fail(f"{type(error).__name__}: {error}", 1)


def fail(message: str, code: int) -> int:
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    sys.stderr.write(f"waku: error: {first}\n")
    return code


def main(argv: Sequence[str] | None = None) -> None:
    """The ``waku`` console script."""
    logging.basicConfig(level=logging.WARNING, format="waku: %(levelname)s: %(message)s")
    sys.exit(run(argv))
