"""Steps the outside world completes: tokens, completion, rejection.

A token reads ``<where>.<secret>``: ``where`` is the workflow name, id and
step (base64 JSON), ``secret`` the store's one-time token. The waiting step's
marker (stored at step ``-n``) keeps the SHA-256 of each secret it handed out,
the transform's reference and the deadline, so a forged, misdirected or
expired token is refused before anything is written, and the store's own
spend-once check settles races between two deliveries. A deadline is stored,
not timed in a process: whichever run next replays the step past it takes
the ``CallbackTimeoutError`` path.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import importlib.util
import json
import math
import sys
from collections.abc import Callable
from typing import Any

from . import _clock
from ._codec import qualified_name, resolve
from ._context import Run, StepScope, local_transforms, new_run, require_step
from ._errors import InvalidTokenError, NonDeterminismError, SerializationError, WorkflowLockedError
from ._lifecycle import later_outcome
from ._records import (
    Record,
    body_json,
    callback_record,
    error_record,
    find_function,
    module_name,
    parse,
    waiting_marker,
)
from ._registry import lookup, resume
from ._result import WorkflowResult
from ._steps import offload, pending
from ._stores.base import StepStore, token_hash

Transform = Callable[[Any], Any]


def create_callback_token(transform: Transform | None = None, *, ttl: float | None = None) -> str:
    """Hand out a token for the running step: its result will come from outside.

    The step's own return value is then ignored; the workflow waits (result
    pending) until ``run_workflow_from_callback(token, payload)`` records
    ``transform(payload)`` (or ``payload``) as the step's result. With ``ttl``
    the token expires after that many seconds and the step's value becomes a
    ``CallbackTimeoutError`` failure, which ``else_`` can handle. In an
    ``async def`` step use ``await create_callback_token_async(...)``.
    """
    scope = require_step("create_callback_token()")
    _check_ttl(ttl)
    if _on_event_loop():
        raise TypeError(
            "create_callback_token() would block the event loop on store I/O; "
            "in an async def step use `await waku.create_callback_token_async()`"
        )
    return _mint(scope, transform, ttl)


async def create_callback_token_async(
    transform: Transform | None = None, *, ttl: float | None = None
) -> str:
    """``create_callback_token`` for ``async def`` steps: the store is used off the loop."""
    scope = require_step("create_callback_token_async()")
    _check_ttl(ttl)
    return await offload(scope.run, _mint, scope, transform, ttl)


def _check_ttl(ttl: object) -> None:
    # Checked before a token is minted, so a bad ttl leaves nothing behind.
    if ttl is None:
        return
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(f"ttl must be a number of seconds, not {ttl!r}")
    if not (ttl > 0 and math.isfinite(ttl)):
        raise ValueError(f"ttl must be a positive, finite number of seconds, not {ttl!r}")


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _mint(scope: StepScope, transform: Transform | None, ttl: float | None) -> str:
    run = scope.run
    reference = _transform_reference(run, scope, transform)
    secret = run.store.store_result_token(run.name, run.id, scope.step)
    scope.tokens.append(token_hash(secret))
    expires = None if ttl is None else _clock.now() + ttl
    marker = waiting_marker(scope.function, scope.tokens, reference, expires)
    run.store.store_result(run.name, run.id, -scope.step, marker)
    run.history[-scope.step] = marker
    where = json.dumps([run.name, run.id, scope.step]).encode()
    return base64.urlsafe_b64encode(where).decode().rstrip("=") + "." + secret


def _transform_reference(run: Run, scope: StepScope, transform: Transform | None) -> str | None:
    if transform is None:
        return None
    module = getattr(transform, "__module__", None)
    qualname = getattr(transform, "__qualname__", "")
    if module == "__main__" and "<" not in qualname and module_name(module) != module:
        # The script's own module: importing it here again would run it twice, so it
        # is named as other processes import it, like a step function.
        return f"{module_name(module)}:{qualname}"
    reference = qualified_name(transform) if qualname else ""
    try:
        found = resolve(reference) is transform
    except (ImportError, AttributeError, ValueError):
        found = False
    if found:
        return reference
    if run.traits.durable:
        raise SerializationError(
            f"{run.where(scope.step)}: the callback transform {transform!r} cannot be found "
            "again after a restart; pass a function defined at module level (not in code "
            "given to python -c)"
        )
    key = f"local:{id(transform)}"
    local_transforms[key] = transform
    return key


def run_workflow_from_callback(
    token: str, payload: Any = None, *, store: StepStore | None = None
) -> WorkflowResult:
    """Record ``payload`` as the result of the step that made ``token``, then resume.

    Raises ``InvalidTokenError`` for a malformed, unknown, forged or expired
    token and ``TokenAlreadyUsedError`` for a spent one, changing nothing.
    """
    run, step, secret, waiting = _check_token(token, store)
    record = callback_record(run.codec, waiting.function, payload, run.where(step))
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
    record = error_record(waiting.function, failure, token=token_hash(secret))
    run.store.store_token_result(secret, record)
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
    waiting = parse(marker, run.where(step))
    data = body_json(waiting)
    if token_hash(secret) not in data["tokens"]:
        raise InvalidTokenError(
            f"Unknown callback token for {run.where(step)}: it was not issued there."
        )
    if data["expires"] is not None and _clock.now() >= data["expires"]:
        raise InvalidTokenError(f"Callback token for {run.where(step)} expired.")
    _check_findable(run, step, waiting.function)
    _check_transform(run, step, data["transform"])
    return run, step, secret, waiting


def _check_transform(run: Run, step: int, reference: str | None) -> None:
    """Refuse, before the token is spent, a delivery whose transform cannot run here."""
    if reference is None or reference in local_transforms:
        return
    try:
        find_function(reference)
    except (ImportError, AttributeError, ValueError) as error:
        raise NonDeterminismError(
            f"{run.where(step)} transforms its callback with {reference}, which this process "
            f"cannot find ({type(error).__name__}: {error}); the token was not spent. Import "
            "the module that defines it before delivering the callback"
        ) from None


def _check_findable(run: Run, step: int, function: str) -> None:
    """Refuse, before the token is spent, a resume that could only fail on the step's name."""
    module, _, qualname = function.partition(":")
    qualname = qualname.partition("#")[0]
    if "<" in qualname:
        return  # a local function: only the replay itself can tell
    found: Any = sys.modules.get(module)
    if found is None:
        try:
            if importlib.util.find_spec(module) is not None:
                return  # importable: the workflow imports it when it runs
        except (ImportError, ValueError):
            pass
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is None:
        raise NonDeterminismError(
            f"{run.where(step)} waits in step function {function}, which this process cannot "
            "find; the token was not spent. Define step functions in a module that every "
            "process imports under one name (see 'Naming step functions' in the README)"
        )


def _resume(run: Run) -> WorkflowResult:
    try:
        return resume(run)
    except WorkflowLockedError:
        # The run holding the lease is still inside the workflow; it reads the
        # delivered result before it lets go, and says when the workflow ends.
        return WorkflowResult(run.name, run.id, 0, pending(), later_outcome(run))
