"""Module-level step functions and stores for the async tests.

Process pools pickle step functions by reference, so they live here rather
than inside a test.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from waku import StepStore


def add_one(x: int) -> int:
    return x + 1


def double(x: int) -> int:
    return x * 2


def pid_of_worker(x: int) -> list[int]:
    return [x, os.getpid()]


def fail_in_worker(x: int) -> int:
    raise ValueError(f"worker refused {x}")


class RecordingStore:
    """Delegates the six methods, noting the thread of every call (and optionally pausing)."""

    def __init__(self, inner: StepStore) -> None:
        self.inner = inner
        self.threads: list[int] = []
        self.hold_result: threading.Event | None = None
        self.result_entered = threading.Event()

    def _note(self) -> None:
        self.threads.append(threading.get_ident())

    def store_start(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        self._note()
        self.inner.store_start(workflow_name, workflow_id, step, payload)

    def store_result(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        self._note()
        if self.hold_result is not None and step > 0:
            self.result_entered.set()
            self.hold_result.wait()
        self.inner.store_result(workflow_name, workflow_id, step, payload)

    def store_result_token(self, workflow_name: str, workflow_id: str, step: int) -> str:
        self._note()
        return self.inner.store_result_token(workflow_name, workflow_id, step)

    def store_token_result(self, token: str, payload: bytes) -> tuple[str, str, int]:
        self._note()
        return self.inner.store_token_result(token, payload)

    def get_steps(self, workflow_name: str, workflow_id: str) -> Mapping[int, bytes]:
        self._note()
        return self.inner.get_steps(workflow_name, workflow_id)

    def get_result(self, workflow_name: str, workflow_id: str, step: int) -> bytes | None:
        self._note()
        return self.inner.get_result(workflow_name, workflow_id, step)


def results(store: StepStore, name: str, workflow_id: str) -> dict[int, str]:
    """Step number -> record kind letter, for the positive steps stored."""
    steps = store.get_steps(name, workflow_id)
    return {n: chr(payload[0]) for n, payload in steps.items() if n > 0}


def unused(value: Any) -> Any:
    raise AssertionError(f"a replayed step ran again with {value!r}")
