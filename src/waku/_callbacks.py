"""Steps the outside world completes: tokens, completion, rejection, deadlines.

A token reads ``<where>.<secret>``: ``where`` is the workflow name, id and
step (base64 JSON), ``secret`` the store's one-time token. The waiting step's
marker (stored at step ``-n``) keeps the SHA-256 of each secret it handed out,
the transform's reference and the deadline, so a forged, misdirected or
expired token is refused before anything is written, and the store's own
spend-once check settles races between two deliveries.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from . import _engine as engine
from ._codec import qualified_name, resolve
from ._context import Run, StepScope, require_step
from ._envelope import Record, RecordKind, body_json, pack, pack_json
from ._errors import InvalidTokenError, SerializationError, WakuError, WorkflowLockedError
from ._registry import is_registered, lookup, resume
from ._run import WorkflowResult, new_run
from ._stores.base import StepStore, token_hash

Transform = Callable[[Any], Any]

# Transforms of non-durable stores live only as long as the process, like the store.
_local_transforms: dict[str, Transform] = {}
# Deadlines this process already watches: (store, workflow name, id, step).
_watched: set[tuple[int, str, str, int]] = set()


class CallbackTimeoutError(WakuError):
    """A step's callback did not come before its deadline; the step's value is this failure."""


def create_callback_token(transform: Transform | None = None, *, ttl: float | None = None) -> str:
    """Hand out a token for the running step: its result will come from outside.

    The step's own return value is then ignored; the workflow waits (result
    pending) until ``run_workflow_from_callback(token, payload)`` records
    ``transform(payload)`` (or ``payload``) as the step's result. With ``ttl``
    the token expires after that many seconds and the step's value becomes a
    ``CallbackTimeoutError`` failure, which ``else_`` can handle.
    """
    scope = require_step("create_callback_token()")
    run = scope.run
    reference = _transform_reference(run, scope, transform)
    secret = run.store.store_result_token(run.name, run.id, scope.step)
    scope.tokens.append(token_hash(secret))
    expires = None if ttl is None else time.time() + ttl
    marker = pack_json(
        RecordKind.WAITING,
        scope.function,
        {"tokens": scope.tokens, "transform": reference, "expires": expires},
    )
    run.store.store_result(run.name, run.id, -scope.step, marker)
    run.history[-scope.step] = marker
    where = json.dumps([run.name, run.id, scope.step]).encode()
    return base64.urlsafe_b64encode(where).decode().rstrip("=") + "." + secret


def _transform_reference(run: Run, scope: StepScope, transform: Transform | None) -> str | None:
    if transform is None:
        return None
    reference = qualified_name(transform) if hasattr(transform, "__qualname__") else ""
    try:
        found = resolve(reference) is transform
    except (ImportError, AttributeError, ValueError):
        found = False
    if found:
        return reference
    if getattr(run.store, "durable", True):
        raise SerializationError(
            f"{run.where(scope.step)}: the callback transform {transform!r} cannot be found "
            "again after a restart; pass a function defined at module level"
        )
    key = f"local:{id(transform)}"
    _local_transforms[key] = transform
    return key


def outcome_of_waiting_step(scope: StepScope) -> Any:
    """A step that handed out a token: its callback's result if it came already, else pending."""
    run = scope.run
    payload = run.store.get_result(run.name, run.id, scope.step)
    if payload is None or payload == run.history.get(scope.step):  # none, or a stale attempt's
        _schedule_deadline(run, scope.step)
        return engine.pending()
    run.history[scope.step] = payload
    replayed = engine.replay(run, scope.step, scope.function)
    if replayed is None:  # the outside world rejected it
        return engine.stored_failure(engine.read_record(run, scope.step, payload))
    return replayed.value


def waiting_value(run: Run, step: int) -> Any:
    """A waiting step's value on replay: pending, or the timeout failure past its deadline."""
    expires = body_json(engine.waiting_record(run, step)).get("expires")
    if expires is not None and time.time() >= expires:
        return CallbackTimeoutError(f"{run.where(step)} got no callback before its deadline")
    _schedule_deadline(run, step)
    return engine.pending()


def complete_stored(run: Run, step: int, record: Record) -> Any:
    """Turn a callback's raw payload into the step's result: transform once, store."""
    waiting = engine.waiting_record(run, step)
    value = engine.decode(run, step, record)
    reference = body_json(waiting).get("transform")
    if reference is not None:
        transform = _local_transforms.get(reference) or resolve(reference)
        try:
            value = transform(value)
        except Exception as error:  # a failing transform fails the step
            payload = engine.error_record(waiting.function, error)
            run.store.store_result(run.name, run.id, step, payload)
            return error
    payload = engine.result_record(run, step, waiting.function, value)
    run.store.store_result(run.name, run.id, step, payload)
    return value


def run_workflow_from_callback(
    token: str, payload: Any = None, *, store: StepStore | None = None
) -> WorkflowResult:
    """Record ``payload`` as the result of the step that made ``token``, then resume.

    Raises ``InvalidTokenError`` for a malformed, unknown, forged or expired
    token and ``TokenAlreadyUsedError`` for a spent one, changing nothing.
    """
    run, step, secret, waiting = _check_token(token, store)
    body = engine.encode(run, step, payload)
    record = pack(RecordKind.CALLBACK, run.codec.name, waiting.function, body)
    run.store.store_token_result(secret, record)
    return _resume(run)


def fail_callback(
    token: str, error: BaseException | str, *, store: StepStore | None = None
) -> WorkflowResult:
    """Reject ``token``: the waiting step's value becomes a failure in the resumed run.

    A later resume runs the step again, which hands out a new token.
    """
    run, step, secret, waiting = _check_token(token, store)
    failure = error if isinstance(error, Exception) else RuntimeError(str(error))
    # The token's hash makes this rejection tell apart from an earlier attempt's.
    details = {**engine.describe_error(failure), "token": token_hash(secret)}
    run.store.store_token_result(secret, pack_json(RecordKind.ERROR, waiting.function, details))
    run.overrides[step] = failure
    return _resume(run)


def _parse(token: str) -> tuple[str, str, int, str]:
    where, dot, secret = token.partition(".") if isinstance(token, str) else ("", "", "")
    try:
        name, workflow_id, step = json.loads(
            base64.urlsafe_b64decode(where + "=" * (-len(where) % 4))
        )
        if not (dot and secret and isinstance(name, str) and isinstance(workflow_id, str)):
            raise ValueError("missing parts")
        return name, workflow_id, int(step), secret
    except (ValueError, TypeError, binascii.Error):
        raise InvalidTokenError(
            "Malformed callback token: it was not made by create_callback_token."
        ) from None


def _check_token(token: str, store: StepStore | None) -> tuple[Run, int, str, Record]:
    """Validate a token against its step's marker; nothing is written here."""
    name, workflow_id, step, secret = _parse(token)
    lookup(name)  # an unknown workflow is refused before the token is spent
    run = new_run(name, workflow_id, store)
    marker = run.store.get_result(name, workflow_id, -step) if step > 0 else None
    if marker is None:
        raise InvalidTokenError(f"Unknown callback token for {run.where(step)}.")
    waiting = engine.read_record(run, step, marker)
    data = body_json(waiting)
    if token_hash(secret) not in data["tokens"]:
        raise InvalidTokenError(
            f"Unknown callback token for {run.where(step)}: it was not issued there."
        )
    if data["expires"] is not None and time.time() >= data["expires"]:
        raise InvalidTokenError(f"Callback token for {run.where(step)} expired.")
    return run, step, secret, waiting


def _resume(run: Run) -> WorkflowResult:
    try:
        return resume(run)
    except WorkflowLockedError:
        # The run holding the lease is still inside the waiting step's workflow;
        # it reads the recorded result when that step ends.
        return WorkflowResult(run.name, run.id, 0, engine.pending())


def _schedule_deadline(run: Run, step: int) -> None:
    """In this process, carry a registered workflow on when its callback's deadline passes."""
    expires = body_json(engine.waiting_record(run, step)).get("expires")
    key = (id(run.store), run.name, run.id, step)
    if expires is None or not is_registered(run.name) or key in _watched:
        return
    _watched.add(key)
    store = run.store

    def on_deadline() -> None:
        _watched.discard(key)
        with contextlib.suppress(WorkflowLockedError):  # another run carries it on
            resume(new_run(run.name, run.id, store))

    timer = threading.Timer(max(0.0, expires - time.time()), on_deadline)
    timer.daemon = True
    timer.start()
