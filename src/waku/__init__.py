"""Waku: durable workflows. Every step's result is persisted, so an interrupted
workflow resumes from its first incomplete step instead of starting over."""

from . import _waker  # noqa: F401  (wakes suspended workflows of this process when due)
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
from ._errors import (
    CallbackTimeoutError,
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
from ._records import RecordKind, Status, StepFailed
from ._registry import register_workflow, run_callback_workflow
from ._result import WorkflowResult
from ._stores.base import LeaseStore, StepStore, WorkflowStatusStore
from ._stores.memory import MemoryStore
from ._stores.sqlite import SQLiteStore
from ._sync import idempotency_key, run_workflow, step, step_until

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
    "RecordKind",
    "SQLiteStore",
    "SerializationError",
    "Status",
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
    "create_callback_token_async",
    "else_",
    "fail_callback",
    "get_store",
    "idempotency_key",
    "is_failure",
    "pipe",
    "pipe_async",
    "register_adapter",
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
