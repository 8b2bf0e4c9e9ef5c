"""In async workflows no store call and no callback transform runs on the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

import waku


def on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class LoopGuardStore:
    """Forwards to a store, noting every call made on a thread running an event loop."""

    durable = False  # so a test may also pass a local transform

    def __init__(self, inner: Any, *, blocking: bool = True) -> None:
        self.inner = inner
        self.blocking = blocking
        self.on_loop: list[str] = []
        self.calls = 0

    def _note(self, method: str) -> None:
        self.calls += 1
        if on_event_loop():
            self.on_loop.append(method)

    def store_start(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        self._note("store_start")
        self.inner.store_start(workflow_name, workflow_id, step, payload)

    def store_result(self, workflow_name: str, workflow_id: str, step: int, payload: bytes) -> None:
        self._note(f"store_result({step})")
        self.inner.store_result(workflow_name, workflow_id, step, payload)

    def store_result_token(self, workflow_name: str, workflow_id: str, step: int) -> str:
        self._note("store_result_token")
        token: str = self.inner.store_result_token(workflow_name, workflow_id, step)
        return token

    def store_token_result(self, token: str, payload: bytes) -> tuple[str, str, int]:
        self._note("store_token_result")
        where: tuple[str, str, int] = self.inner.store_token_result(token, payload)
        return where

    def get_steps(self, workflow_name: str, workflow_id: str) -> Mapping[int, bytes]:
        self._note("get_steps")
        steps: Mapping[int, bytes] = self.inner.get_steps(workflow_name, workflow_id)
        return steps

    def get_result(self, workflow_name: str, workflow_id: str, step: int) -> bytes | None:
        self._note("get_result")
        result: bytes | None = self.inner.get_result(workflow_name, workflow_id, step)
        return result

    def set_workflow_status(
        self,
        workflow_name: str,
        workflow_id: str,
        status: str,
        result: bytes | None = None,
        wake_at: float | None = None,
    ) -> None:
        self._note("set_workflow_status")
        self.inner.set_workflow_status(workflow_name, workflow_id, status, result, wake_at)

    def get_workflow_status(self, workflow_name: str, workflow_id: str) -> str | None:
        self._note("get_workflow_status")
        status: str | None = self.inner.get_workflow_status(workflow_name, workflow_id)
        return status

    def acquire_lease(self, workflow_name: str, workflow_id: str, owner: str, ttl: float) -> bool:
        self._note("acquire_lease")
        taken: bool = self.inner.acquire_lease(workflow_name, workflow_id, owner, ttl)
        return taken

    def release_lease(self, workflow_name: str, workflow_id: str, owner: str) -> None:
        self._note("release_lease")
        self.inner.release_lease(workflow_name, workflow_id, owner)


@pytest.fixture(params=["memory", "sqlite"])
def guard(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    inner = waku.MemoryStore() if request.param == "memory" else waku.SQLiteStore(tmp_path / "w.db")
    yield LoopGuardStore(inner)
    if isinstance(inner, waku.SQLiteStore):
        inner.close()


transform_threads: list[bool] = []
tokens: list[str] = []


def confirm(payload: int) -> int:
    transform_threads.append(on_event_loop())
    return payload * 10


async def plus_one(x: int) -> int:
    return x + 1


async def ask(x: int) -> int:
    tokens.append(await waku.create_callback_token_async(confirm, ttl=60))
    return x


def slow_double(x: int) -> int:
    return x * 2


async def approval(payload: int) -> Any:
    value = await waku.step(plus_one, payload)
    approved = await waku.step(ask, value)
    if waku.is_failure(approved) or isinstance(approved, Future):
        return approved
    return await waku.pipe_async(approved, waku.step(plus_one), waku.step_async(slow_double))


def test_a_plain_async_workflow_never_calls_the_store_on_the_loop(guard: LoopGuardStore) -> None:
    async def main() -> waku.WorkflowResult:
        async def body() -> Any:
            a, b = await asyncio.gather(waku.step(plus_one, 1), waku.step(plus_one, 2))
            return waku.step_async(slow_double, a + b)

        first = await waku.run_workflow_async("plain", body, workflow_id="p", store=guard)
        return await first.wait_async()

    assert asyncio.run(main()).result == 10
    assert guard.calls > 0 and guard.on_loop == []


def test_registered_workflows_tokens_and_callbacks_stay_off_the_loop(
    guard: LoopGuardStore,
) -> None:
    transform_threads.clear()
    waku.register_workflow("off-loop-approval", approval)
    started = waku.run_callback_workflow("off-loop-approval", 1, workflow_id="a", store=guard)
    assert isinstance(started.result, Future)
    done = waku.run_workflow_from_callback(tokens[-1], 4, store=guard).wait(10)
    assert done.result == 82  # 4 * 10 by the transform, + 1, * 2
    replayed = waku.run_callback_workflow("off-loop-approval", 1, workflow_id="a", store=guard)
    assert replayed.result == 82
    assert transform_threads == [False]
    assert guard.calls > 0 and guard.on_loop == []


def test_a_store_that_never_blocks_is_called_inline() -> None:
    inline = LoopGuardStore(waku.MemoryStore(), blocking=False)

    async def main() -> Any:
        return await waku.run_workflow_async("inline", lambda: waku.step(plus_one, 1), store=inline)

    assert asyncio.run(main()).result == 2
    assert "get_steps" in inline.on_loop  # the guard sees calls on the loop when they happen


def test_the_blocking_token_call_in_an_async_step_says_what_to_use(guard: LoopGuardStore) -> None:
    async def sync_token(x: int) -> str:
        return waku.create_callback_token()

    async def main() -> Any:
        return await waku.run_workflow_async(
            "sync-token", lambda: waku.step(sync_token, 1), store=guard
        )

    result = asyncio.run(main()).result
    assert isinstance(result, TypeError) and "create_callback_token_async" in str(result)
    assert guard.on_loop == []


def test_a_transform_runs_in_a_worker_thread_not_the_callers() -> None:
    caller = threading.get_ident()
    seen: list[int] = []

    def note(payload: int) -> int:
        seen.append(threading.get_ident())
        return payload

    async def wait_here(x: int) -> int:
        tokens.append(await waku.create_callback_token_async(note))
        return x

    store = LoopGuardStore(waku.MemoryStore())

    async def main() -> Any:
        body = lambda: waku.step(wait_here, 1)  # noqa: E731
        first = await waku.run_workflow_async("note", body, workflow_id="n", store=store)
        assert isinstance(first.result, Future)
        store.inner.store_token_result(tokens[-1].rsplit(".", 1)[1], b"C json -\n5")
        return await waku.run_workflow_async("note", body, workflow_id="n", store=store)

    assert asyncio.run(main()).result == 5
    assert seen and caller not in seen and store.on_loop == []
