"""OpenTelemetry spans and log records for workflow runs and executed steps.

With ``opentelemetry-api`` installed (``pip install 'waku[otel]'``), each
workflow run is a span ``waku.workflow NAME`` and each step it executes a
child span ``waku.step FUNCTION``; replayed steps are not spanned (a resume
of a long workflow would otherwise drown its trace) but counted on the
workflow's span. The ``waku`` logger gets one DEBUG record per executed step
and per run, with the same fields as ``extra`` (``waku_workflow_name``,
``waku_workflow_id``, ``waku_step``, ``waku_function``, ``waku_attempt``,
``waku_outcome``). Without the package, or with it but no SDK set up (no
tracer provider), and with that logger above DEBUG, ``observed()`` is False
and the drivers take their plain path: nothing else runs, nothing is
imported. A run decides once, as it starts (``observed()``); its steps only
ask whether it did (``active()``, one ContextVar read).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from ._flow import is_failure, is_pending

try:
    from opentelemetry import trace as otel
except ImportError:  # the ``otel`` extra is not installed: no spans, no cost
    otel = None  # type: ignore[assignment, unused-ignore]

log = logging.getLogger("waku")
_tracer: Any = None if otel is None else otel.get_tracer("waku")
_UNSET: tuple[type, ...] = (
    () if otel is None else (otel.ProxyTracerProvider, otel.NoOpTracerProvider)
)


def tracing() -> bool:
    """Whether an application set up an OpenTelemetry SDK (a real tracer provider)."""
    return _tracer is not None and not isinstance(otel.get_tracer_provider(), _UNSET)


def observed() -> bool:
    """Whether runs and steps are traced or logged at all."""
    return log.isEnabledFor(logging.DEBUG) or tracing()


class Trace:
    """What one observed run or step reports when it ends."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self.outcome = "interrupted"  # unless ended() says otherwise: a signal went through
        self.executed = 0
        self.attempts: dict[int, int] = {}

    def ended(self, value: Any, again: Any = None, latest_step: int | None = None) -> Any:
        """Note how the run or step ended (its value); returns ``value``.

        ``again``: the value by which a step's attempt says it failed and runs again.
        """
        if again is not None and value is again:
            self.outcome = "failed"
            return value
        self.outcome = outcome(getattr(value, "result", value))
        if latest_step is not None:
            self.fields["waku_steps"] = latest_step
            self.fields["waku_replayed_steps"] = max(0, latest_step - self.executed)
        return value


_current: ContextVar[Trace | None] = ContextVar("waku_trace", default=None)


def active() -> bool:
    """Whether the current run is observed: what each step checks, cheaper than ``observed()``."""
    return _current.get() is not None


def outcome(value: Any) -> str:
    if is_failure(value):
        return "failed"
    return "pending" if is_pending(value) else "succeeded"


def read_attempts(store: Any, name: str, workflow_id: str) -> dict[int, int]:
    """Each step's attempts so far, from a store that can tell (``InspectStore``)."""
    rows = getattr(store, "get_step_rows", None)
    if rows is None:
        return {}
    return {row.step: row.attempts for row in rows(name, workflow_id) if row.step > 0}


@contextmanager
def workflow_run(name: str, workflow_id: str, attempts: dict[int, int]) -> Iterator[Trace]:
    """Observe one run of a workflow; ``attempts``: each step's earlier attempts."""
    trace = Trace({"waku_workflow_name": name, "waku_workflow_id": workflow_id})
    trace.attempts = attempts
    token = _current.set(trace)
    try:
        with _span(f"waku.workflow {name}", trace) as span:
            try:
                yield trace
            finally:
                _finish(span, trace, "workflow %s id %s: %s")
    finally:
        _current.reset(token)


@contextmanager
def step_run(name: str, workflow_id: str, step: int, function: str) -> Iterator[Trace]:
    """Observe one execution of a step's function."""
    run = _current.get()
    fields: dict[str, Any] = {
        "waku_workflow_name": name,
        "waku_workflow_id": workflow_id,
        "waku_step": step,
        "waku_function": function,
    }
    if run is not None:
        run.executed += 1
        attempt = run.attempts.get(step, 0) + 1
        run.attempts[step] = attempt
        fields["waku_attempt"] = attempt
    trace = Trace(fields)
    with _span(f"waku.step {function}", trace) as span:
        try:
            yield trace
        finally:
            _finish(span, trace, "step %s of %s: %s")


def _span(name: str, trace: Trace) -> AbstractContextManager[Any]:
    if not tracing():
        return nullcontext()
    return _tracer.start_as_current_span(name, attributes=_attributes(trace.fields))  # type: ignore[no-any-return]


def _attributes(fields: dict[str, Any]) -> dict[str, Any]:
    """``waku_step`` -> ``waku.step``: OpenTelemetry's dotted attribute names."""
    return {key.replace("_", ".", 1): value for key, value in fields.items()}


def _finish(span: Any, trace: Trace, message: str) -> None:
    trace.fields["waku_outcome"] = trace.outcome
    if span is not None:
        span.set_attributes(_attributes(trace.fields))
        if trace.outcome == "failed":
            span.set_status(otel.StatusCode.ERROR)
    if log.isEnabledFor(logging.DEBUG):
        first = trace.fields.get("waku_step", trace.fields["waku_workflow_name"])
        second = (
            trace.fields["waku_workflow_id"]
            if "waku_step" not in trace.fields
            else f"{trace.fields['waku_workflow_name']} {trace.fields['waku_workflow_id']}"
        )
        log.debug(message, first, second, trace.outcome, extra=dict(trace.fields))
