"""What the dashboard's forms do, through Waku's public API only.

Each action takes the store and the POSTed form and answers the workflow to
show next and a one-line message for it; an error a user can fix (an
unknown workflow, a bad token, bad JSON) is raised and shown as that line.
Actions that run a workflow (resume, fork, a delivered callback) run it on
a thread of this process and wait up to ``WAIT`` seconds, so a quick
workflow shows finished and a long one carries on in the background.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable

import waku

WAIT = 2.0

Target = tuple[str, str]
Form = dict[str, str]
Action = Callable[[waku.StepStore, Form], tuple[Target, str]]


def _target(form: Form) -> Target:
    return form.get("name", ""), form.get("id", "")


def _in_background(label: str, refused: str, run: Callable[[], waku.WorkflowResult]) -> str:
    """Run ``run`` on a thread; its outcome as a message, or that it is still running."""
    outcome: list[str] = []

    def go() -> None:
        try:
            result = run()
            outcome.append(f"{label}; it is now at step {result.latest_step}.")
        except Exception as error:
            outcome.append(f"{refused}: {type(error).__name__}: {error}")

    worker = threading.Thread(target=go, name="waku-dashboard-action", daemon=True)
    worker.start()
    worker.join(WAIT)
    return outcome[0] if outcome else f"{label}; it is still running."


def resume(store: waku.StepStore, form: Form) -> tuple[Target, str]:
    name, workflow_id = _target(form)
    message = _in_background(
        "Resumed",
        "Could not resume",
        lambda: waku.run_callback_workflow(name, workflow_id=workflow_id, store=store),
    )
    return (name, workflow_id), message


def cancel(store: waku.StepStore, form: Form) -> tuple[Target, str]:
    name, workflow_id = _target(form)
    if waku.get_workflow(name, workflow_id, store=store) is None:
        raise ValueError(f"the store has no workflow {name!r} / {workflow_id!r}")
    waku.cancel(name, workflow_id, store=store)
    return (name, workflow_id), "Cancelled."


def fork(store: waku.StepStore, form: Form) -> tuple[Target, str]:
    name, workflow_id = _target(form)
    try:
        from_step = int(form.get("from_step", ""))
    except ValueError:
        raise ValueError(
            f"from_step must be a step number, not {form.get('from_step')!r}"
        ) from None
    handle = waku.fork(
        name, workflow_id, from_step=from_step, new_id=form.get("new_id") or None, store=store
    )
    with contextlib.suppress(Exception):  # still running, or failed: its page shows which
        handle.result(timeout=WAIT)
    return (
        (handle.workflow_name, handle.workflow_id),
        f"Forked {workflow_id} from step {from_step} as {handle.workflow_id}.",
    )


def complete(store: waku.StepStore, form: Form) -> tuple[Target, str]:
    """Deliver a callback: the token its holder pasted, and a JSON payload."""
    token = form.get("token", "").strip()
    text = form.get("payload", "").strip()
    try:
        payload = json.loads(text) if text else None
    except ValueError as error:
        raise ValueError(f"the payload is not JSON ({error}); nothing was delivered") from None
    message = _in_background(
        "Callback delivered",
        "Could not deliver the callback",
        lambda: waku.run_workflow_from_callback(token, payload, store=store),
    )
    return _target(form), message


def fail(store: waku.StepStore, form: Form) -> tuple[Target, str]:
    """Reject a callback with a reason: the waiting step's value becomes a failure."""
    token = form.get("token", "").strip()
    reason = form.get("reason", "").strip() or "rejected from the dashboard"
    message = _in_background(
        "Callback rejected",
        "Could not reject the callback",
        lambda: waku.fail_callback(token, reason, store=store),
    )
    return _target(form), message


ACTIONS: dict[str, Action] = {
    "/resume": resume,
    "/cancel": cancel,
    "/fork": fork,
    "/complete": complete,
    "/fail": fail,
}
