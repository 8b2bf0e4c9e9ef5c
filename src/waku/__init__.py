"""Waku: durable workflows. Every step's result is persisted, so an interrupted
workflow resumes from its first incomplete step instead of starting over."""

from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from . import (
    _waker,  # noqa: F401  (wakes suspended workflows of this process when due)
    testing,
)
from ._aio import run_workflow_async
from ._background import step_async
from ._callbacks import (
    create_callback_token,
    create_callback_token_async,
    fail_callback,
    run_workflow_from_callback,
)
from ._codec import Codec, JsonCodec, PickleCodec, register_adapter
from ._config import get_store, set_store
from ._decorators import Workflow, enqueue, workflow
from ._errors import (
    CallbackTimeoutError,
    InvalidTokenError,
    NonDeterminismError,
    NotInWorkflowError,
    SerializationError,
    StepTimeoutError,
    StoreError,
    StoreNotSetError,
    TokenAlreadyUsedError,
    UnknownWorkflowError,
    WakuError,
    WorkflowCancelled,
    WorkflowCancelledError,
    WorkflowLockedError,
)
from ._flow import call, else_, is_failure, pipe, pipe_async, then
from ._inspect import ErrorInfo, StepInfo, WorkflowInfo, get_workflow, list_workflows, prune
from ._policy import RetryPolicy
from ._records import RecordKind, Status, StepFailed
from ._registry import register_workflow, run_callback_workflow
from ._result import WorkflowResult
from ._runtime import Recovered, WorkflowHandle, cancel, fork, recover
from ._step_api import StepFunction
from ._stores.base import (
    ChangeSignal,
    InspectStore,
    LeaseStore,
    QueueStore,
    StepRow,
    StepStore,
    WorkflowRow,
    WorkflowStatusStore,
)
from ._stores.memory import MemoryStore
from ._stores.sqlite import SQLiteStore
from ._sync import idempotency_key, run_workflow, step, step_until
from ._waits import sleep, sleep_async, sleep_until, sleep_until_async
from ._worker import Worker, WorkerStopping

if _TYPE_CHECKING:
    from ._stores.postgres import PostgresStore

__version__ = "0.1.0"

__all__ = [
    "CallbackTimeoutError",
    "ChangeSignal",
    "Codec",
    "ErrorInfo",
    "InspectStore",
    "InvalidTokenError",
    "JsonCodec",
    "LeaseStore",
    "MemoryStore",
    "NonDeterminismError",
    "NotInWorkflowError",
    "PickleCodec",
    "PostgresStore",
    "QueueStore",
    "RecordKind",
    "Recovered",
    "RetryPolicy",
    "SQLiteStore",
    "SerializationError",
    "Status",
    "StepFailed",
    "StepFunction",
    "StepInfo",
    "StepRow",
    "StepStore",
    "StepTimeoutError",
    "StoreError",
    "StoreNotSetError",
    "TokenAlreadyUsedError",
    "UnknownWorkflowError",
    "WakuError",
    "Worker",
    "WorkerStopping",
    "Workflow",
    "WorkflowCancelled",
    "WorkflowCancelledError",
    "WorkflowHandle",
    "WorkflowInfo",
    "WorkflowLockedError",
    "WorkflowResult",
    "WorkflowRow",
    "WorkflowStatusStore",
    "__version__",
    "call",
    "cancel",
    "create_callback_token",
    "create_callback_token_async",
    "else_",
    "enqueue",
    "fail_callback",
    "fork",
    "get_store",
    "get_workflow",
    "idempotency_key",
    "is_failure",
    "list_workflows",
    "pipe",
    "pipe_async",
    "prune",
    "recover",
    "register_adapter",
    "register_workflow",
    "run_callback_workflow",
    "run_workflow",
    "run_workflow_async",
    "run_workflow_from_callback",
    "set_store",
    "sleep",
    "sleep_async",
    "sleep_until",
    "sleep_until_async",
    "step",
    "step_async",
    "step_until",
    "testing",
    "then",
    "workflow",
]


def __getattr__(name: str) -> _Any:
    # PostgresStore loads on first use, so that `import waku` never imports psycopg.
    if name == "PostgresStore":
        return _import_module("waku._stores.postgres").PostgresStore
    raise AttributeError(f"module 'waku' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "PostgresStore"})
