"""Workflows read back from their store: ``get_workflow``, ``list_workflows``, ``prune``.

Stores keep bytes (``InspectStore`` rows); this module turns them into
``WorkflowInfo`` and ``StepInfo``: times as timezone-aware UTC datetimes,
values decoded with the store's codec. A value that cannot be decoded (a
damaged record, a class that no longer exists, another codec) is shown as a
placeholder string, so one bad record never breaks a listing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import _clock
from ._codec import Codec, qualified_name
from ._config import resolve_store
from ._engine import where
from ._errors import CallbackTimeoutError, StoreError
from ._records import Record, RecordKind, Status, body_json, decode, parse
from ._stores.base import (
    FINISHED,
    STATUSES,
    InspectStore,
    StepRow,
    StepStore,
    WorkflowRow,
    traits,
)

Key = tuple[float, str, str]


@dataclass(frozen=True)
class ErrorInfo:
    """A failure as a store recorded it: the exception's type, message and traceback.

    ``type_name`` is ``module:qualname`` (``builtins:ValueError``). The same
    three fields as ``waku.StepFailed``, the failure a replay hands a workflow,
    but a plain value: two reads of one record compare equal.
    """

    type_name: str
    message: str
    traceback_text: str = ""


@dataclass(frozen=True)
class StepInfo:
    """One step of a workflow, as its store recorded it.

    ``status`` is ``input`` (step 0: the workflow's input, in ``input``),
    ``running`` (started, no outcome yet: also a background step in flight),
    ``waiting`` (it handed out a callback token and waits for it),
    ``delivered`` (its callback arrived and is applied when the workflow next
    runs), ``sleeping`` (a durable sleep, whose wake time is its ``output``,
    ``succeeded`` once that time has come), ``succeeded`` or ``failed`` (a
    step waiting out a retry's backoff is ``failed`` with the last attempt's
    ``error``). A waiting step whose deadline passed
    is ``failed`` with a ``CallbackTimeoutError`` as its ``error``, as the
    workflow sees it. ``attempts`` counts executions of its function;
    ``input`` is what the last one was given, ``output`` the stored result,
    ``error`` the failure of the last attempt (an ``ErrorInfo``: type name,
    message, traceback text). Times are aware UTC datetimes, or None.
    """

    step: int
    function: str | None
    status: str
    attempts: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    input: Any
    output: Any
    error: ErrorInfo | None


@dataclass(frozen=True)
class WorkflowInfo:
    """A workflow as its store recorded it, from ``get_workflow`` or ``list_workflows``.

    ``status`` is a ``waku.Status``. ``input`` is what a registered or queued
    workflow was started with (None for ``run_workflow``'s), ``result`` the
    final value of a succeeded one, ``error`` the failure of the last failed
    step of a failed one (an ``ErrorInfo``). ``steps`` lists every step by
    number. Listings leave ``steps`` empty and ``input`` and ``error``, which
    are read from the steps, None, unless asked for with ``steps=True``.
    ``queue`` is the queue it was enqueued on, ``wake_at`` when a suspended
    workflow is due to resume. Times are aware UTC datetimes.
    """

    workflow_name: str
    workflow_id: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    input: Any
    result: Any
    error: ErrorInfo | None
    steps: list[StepInfo]
    queue: str | None = None
    wake_at: dt.datetime | None = None
    _key: Key | None = field(default=None, repr=False, compare=False)
    """The exact listing key, ``(created_at, name, id)`` in store seconds: what
    ``before=`` pages from (a datetime rounds to microseconds)."""


def get_workflow(
    workflow_name: str, workflow_id: str, *, store: StepStore | None = None
) -> WorkflowInfo | None:
    """The workflow with its steps, or None when the store never saw it.

    Needs a store with the ``InspectStore`` capability (``MemoryStore`` and
    ``SQLiteStore`` have it); another raises ``StoreError``.
    """
    inspector, codec = _inspector(store)
    row = inspector.get_workflow_row(workflow_name, workflow_id)
    if row is None:
        return None
    return _info(row, codec, inspector.get_step_rows(workflow_name, workflow_id))


def list_workflows(
    *,
    status: str | None = None,
    name: str | None = None,
    limit: int = 100,
    before: WorkflowInfo | None = None,
    steps: bool = False,
    store: StepStore | None = None,
) -> list[WorkflowInfo]:
    """Workflows newest first (by creation), at most ``limit``, optionally of one status or name.

    To page, pass the last workflow of a page as ``before``: the next page
    holds the workflows listed after it, with none repeated or skipped even
    while new ones are created. Each page is one indexed read. ``steps``
    empty, ``input`` and ``error`` None, unless ``steps=True`` (one more read
    per workflow).
    """
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {sorted(STATUSES)} or None, not {status!r}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a workflow name (a str) or None, not {name!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number of workflows, at least 1; not {limit!r}")
    if before is not None and not isinstance(before, WorkflowInfo):
        raise TypeError(
            f"before must be a WorkflowInfo (the last one of the previous page), not {before!r}"
        )
    inspector, codec = _inspector(store)
    rows = inspector.list_workflow_rows(
        status=None if status is None else Status(status).value,
        name=name,
        limit=limit,
        before=None if before is None else _key(before),
    )
    if not steps:
        return [_info(row, codec, None) for row in rows]
    return [
        _info(row, codec, inspector.get_step_rows(row.workflow_name, row.workflow_id))
        for row in rows
    ]


def prune(
    *,
    older_than: dt.timedelta | dt.datetime,
    status: str | Iterable[str] | None = None,
    store: StepStore | None = None,
    batch: int = 500,
) -> list[tuple[str, str]]:
    """Delete finished workflows last updated before a cutoff, with all they own.

    ``older_than``: a ``timedelta`` (finished longer ago than that) or an
    aware ``datetime``. ``status``: one finished status or several (default:
    succeeded, failed and cancelled); any other is a ``ValueError``, since
    queued, running, waiting and sleeping workflows are never deleted, nor
    is one a live process holds the lease of. Deletes ``batch`` workflows
    per transaction and pauses between batches as long as the last one
    took, so running workflows are never held up for long. Returns the
    ``(workflow_name, workflow_id)`` pairs removed, oldest first.
    """
    statuses = _finished(status)
    cutoff = _cutoff(older_than)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a whole number of workflows, at least 1; not {batch!r}")
    inspector, _ = _inspector(store)
    removed: list[tuple[str, str]] = []
    while True:
        began = time.monotonic()
        deleted = inspector.delete_workflows(older_than=cutoff, statuses=statuses, limit=batch)
        removed.extend(deleted)
        if len(deleted) < batch:
            return removed
        # Other processes wait for the write lock by polling: leave them room.
        time.sleep(min(time.monotonic() - began, 0.1))


# -- helpers ----------------------------------------------------------------------


def _inspector(store: StepStore | None) -> tuple[InspectStore, Codec]:
    resolved = resolve_store(store)
    if not isinstance(resolved, InspectStore):
        raise StoreError(
            f"The store {resolved!r} cannot read workflows back: it does not implement "
            "waku.InspectStore (get_workflow_row, list_workflow_rows, get_step_rows, "
            "delete_workflows). Use MemoryStore or SQLiteStore, or add those methods to it"
        )
    return resolved, traits(resolved).codec


def _key(info: WorkflowInfo) -> Key:
    if info._key is not None:
        return info._key
    return (info.created_at.timestamp(), info.workflow_name, info.workflow_id)


def _finished(status: str | Iterable[str] | None) -> tuple[str, ...]:
    if status is None:
        return tuple(sorted(FINISHED))
    statuses = (status,) if isinstance(status, str) else tuple(status)
    unknown = [s for s in statuses if s not in FINISHED]
    if unknown or not statuses:
        raise ValueError(
            f"prune deletes finished workflows only: status must be one or more of "
            f"{sorted(FINISHED)}, not {unknown[0] if unknown else status!r}"
        )
    return tuple(Status(s).value for s in statuses)


def _cutoff(older_than: dt.timedelta | dt.datetime) -> float:
    if isinstance(older_than, dt.datetime):
        if older_than.tzinfo is None or older_than.utcoffset() is None:
            raise ValueError(
                f"older_than must be an aware datetime (e.g. with tzinfo=datetime.timezone.utc), "
                f"not the naive {older_than!r}"
            )
        return older_than.timestamp()
    if isinstance(older_than, dt.timedelta):
        if older_than < dt.timedelta(0):
            raise ValueError(f"older_than must not be negative, not {older_than!r}")
        return time.time() - older_than.total_seconds()
    raise TypeError(
        f"older_than must be a datetime.timedelta or an aware datetime, not {older_than!r}"
    )


def _info(row: WorkflowRow, codec: Codec, step_rows: list[StepRow] | None) -> WorkflowInfo:
    reader = _Reader(codec, row.workflow_name, row.workflow_id, _clock.now())
    steps = [] if step_rows is None else reader.steps(step_rows)
    first = steps[0] if steps and steps[0].step == 0 else None
    status = Status(row.status) if row.status in STATUSES else row.status
    failed = [s.error for s in steps if s.error is not None and s.status == "failed"]
    return WorkflowInfo(
        workflow_name=row.workflow_name,
        workflow_id=row.workflow_id,
        status=status,
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        input=None if first is None else first.input,
        result=None if row.result is None else reader.result(row.result),
        error=failed[-1] if failed and status == Status.FAILED else None,
        steps=steps,
        queue=row.queue,
        wake_at=_time(row.wake_at),
        _key=(row.created_at, row.workflow_name, row.workflow_id),
    )


@dataclass(frozen=True)
class _Reader:
    """Decodes one workflow's stored records; what cannot be decoded becomes a placeholder."""

    codec: Codec
    name: str
    workflow_id: str
    now: float

    def steps(self, rows: list[StepRow]) -> list[StepInfo]:
        """Step records by number; a callback marker (step ``-n``) folds into step ``n``.

        Other records at negative steps (a cancellation) belong to the workflow,
        not to a step, and are left out.
        """
        markers = {-row.step: row for row in rows if row.step < 0 and row.status == "waiting"}
        numbered = {row.step: row for row in rows if row.step >= 0}
        return [
            self.step(n, numbered.get(n), markers.get(n))
            for n in sorted(numbered.keys() | markers.keys())
        ]

    def step(self, n: int, row: StepRow | None, marker: StepRow | None) -> StepInfo:
        status = "waiting" if row is None else row.status
        value, error = (None, None) if row is None else self.outcome(n, row.output)
        function = None if row is None else row.function
        if marker is not None and status in ("running", "waiting"):
            status, error = self.waiting(marker, error)
            function = function or marker.function
        if status == "sleeping" and isinstance(value, dt.datetime):
            status = "sleeping" if self.now < value.timestamp() else "succeeded"
        step_input = value if n == 0 else None  # step 0's record is the workflow's input
        if row is not None and row.input is not None:
            step_input = self.value(n, row.input)
        return StepInfo(
            step=n,
            function=function,
            status=status,
            attempts=0 if row is None else row.attempts,
            started_at=None if row is None else _time(row.started_at),
            finished_at=None if row is None else _time(row.finished_at),
            input=step_input,
            output=None if n == 0 else value,
            error=error,
        )

    def outcome(self, n: int, payload: bytes | None) -> tuple[Any, ErrorInfo | None]:
        """A step's stored value, or its failure."""
        if payload is None:
            return None, None
        record = self.parse(n, payload)
        if isinstance(record, Record) and record.kind is RecordKind.ERROR:
            return None, _failure(record)
        if isinstance(record, Record) and record.kind is RecordKind.SLEEP:
            return self.wake_time(record), None
        return self.value(n, record), None

    def waiting(self, marker: StepRow, error: ErrorInfo | None) -> tuple[str, ErrorInfo | None]:
        """A step with a callback marker and no outcome: waiting, or past its deadline."""
        record = self.parse(marker.step, marker.output or b"")
        try:
            expires = body_json(record).get("expires") if isinstance(record, Record) else None
        except (ValueError, AttributeError):
            expires = None
        if isinstance(expires, (int, float)) and self.now >= expires:
            timeout = ErrorInfo(
                qualified_name(CallbackTimeoutError), "no callback before the deadline"
            )
            return "failed", timeout
        return "waiting", error

    def wake_time(self, record: Record) -> Any:
        """A sleep's wake time, as an aware UTC datetime."""
        try:
            return _utc(float(body_json(record)["until"]))
        except Exception as error:
            return _placeholder(error)

    def result(self, payload: bytes) -> Any:
        """A workflow's final value: the codec's bytes, as the engine stores it, or a record."""
        if payload[:1] in _KINDS and payload[1:2] == b" ":
            return self.value(None, payload)
        try:
            return self.codec.decode(payload)
        except Exception as error:  # any codec fails its own way (pickle raises anything)
            return _placeholder(error)

    def parse(self, n: int | None, payload: bytes) -> Record | str:
        try:
            return parse(payload, lambda: where(self.name, self.workflow_id, n))
        except Exception as error:
            return _placeholder(error)

    def value(self, n: int | None, payload: bytes | Record | str) -> Any:
        record = self.parse(n, payload) if isinstance(payload, bytes) else payload
        if isinstance(record, str):
            return record
        try:
            return decode(self.codec, record, lambda: where(self.name, self.workflow_id, n))
        except Exception as error:
            return _placeholder(error)


_KINDS = {kind.value.encode() for kind in RecordKind}


def _failure(record: Record) -> ErrorInfo:
    try:
        data = body_json(record)
        return ErrorInfo(str(data["type"]), str(data["message"]), str(data.get("traceback", "")))
    except Exception as error:
        return ErrorInfo("unknown", _placeholder(error))


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def _time(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else _utc(seconds)


def _placeholder(error: Exception) -> str:
    return f"<cannot decode: {type(error).__name__}: {error}>"
