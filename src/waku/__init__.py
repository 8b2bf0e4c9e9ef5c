"""Waku: durable workflows. Every step's result is persisted, so an interrupted
workflow resumes from its first incomplete step instead of starting over."""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._aio import run_workflow_async
from ._callbacks import (
    CallbackTimeoutError,
    create_callback_token,
    fail_callback,
    run_workflow_from_callback,
)
from ._codec import Codec, JsonCodec, PickleCodec
from ._config import get_store, set_store
from ._engine import StepFailed
from ._envelope import RecordKind
from ._errors import (
    InvalidTokenError,
    NonDeterminismError,
    NotInWorkflowError,
    SerializationError,
    StoreError,
    StoreNotSetError,
    TokenAlreadyUsedError,
    UnknownWorkflowError,
    WakuError,
    WorkflowCancelled,
    WorkflowLockedError,
)
from ._flow import call, else_, is_failure, pipe, pipe_async, then
from ._registry import register_workflow, run_callback_workflow
from ._run import (
    WorkflowResult,
    idempotency_key,
    run_workflow,
    step,
    step_async,
    step_until,
)
from ._stores.base import LeaseStore, StepStore, WorkflowStatusStore
from ._stores.memory import MemoryStore
from ._stores.sqlite import SQLiteStore

if _TYPE_CHECKING:
    from ._stores.postgres import PostgresStore

__version__ = "0.1.0"

__all__ = [
    "CallbackTimeoutError",
    "Codec",
    "InvalidTokenError",
    "JsonCodec",
    "LeaseStore",
    "MemoryStore",
    "NonDeterminismError",
    "NotInWorkflowError",
    "PickleCodec",
    "PostgresStore",
    "RecordKind",
    "SQLiteStore",
    "SerializationError",
    "StepFailed",
    "StepStore",
    "StoreError",
    "StoreNotSetError",
    "TokenAlreadyUsedError",
    "UnknownWorkflowError",
    "WakuError",
    "WorkflowCancelled",
    "WorkflowLockedError",
    "WorkflowResult",
    "WorkflowStatusStore",
    "__version__",
    "call",
    "create_callback_token",
    "else_",
    "fail_callback",
    "get_store",
    "idempotency_key",
    "is_failure",
    "pipe",
    "pipe_async",
    "register_workflow",
    "run_callback_workflow",
    "run_workflow",
    "run_workflow_async",
    "run_workflow_from_callback",
    "set_store",
    "step",
    "step_async",
    "step_until",
    "then",
]


def __getattr__(name: str) -> _Any:
    # PostgresStore loads on first use, so that `import waku` never imports psycopg.
    if name == "PostgresStore":
        from ._stores.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module 'waku' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "PostgresStore"})
