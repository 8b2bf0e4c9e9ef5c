"""Edges a new user meets: keys, anonymous steps, unstorable values, bad options, names."""

from __future__ import annotations

import sqlite3
import sys
import threading
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import waku
from waku import StepStore

from .async_helpers import RecordingStore, add_one


def test_idempotency_keys_never_collide_across_names_and_ids(store: StepStore) -> None:
    keys: list[str] = []

    def key(_: Any) -> None:
        keys.append(waku.idempotency_key())

    waku.run_workflow("a/b", lambda: waku.step(key, 0), workflow_id="c")
    waku.run_workflow("a", lambda: waku.step(key, 0), workflow_id="b/c")
    waku.run_workflow("a%2Fb", lambda: waku.step(key, 0), workflow_id="c")
    assert keys == ["a%2Fb/c/1", "a/b%2Fc/1", "a%252Fb/c/1"]
    assert len(set(keys)) == 3


def test_reordered_lambdas_are_a_non_determinism_error(store: StepStore) -> None:
    def first_run() -> Any:
        return waku.pipe(1, waku.step(lambda x: x + 1), waku.step(lambda x: 1 / 0))

    def reordered() -> Any:
        return waku.pipe(1, waku.step(lambda x: x * 2), waku.step(lambda x: x + 1))

    assert waku.is_failure(waku.run_workflow("lambdas", first_run, workflow_id="l").result)
    with pytest.raises(waku.NonDeterminismError, match=r"step 1.*<lambda>#"):
        waku.run_workflow("lambdas", reordered, workflow_id="l")


def test_an_unstorable_result_fails_the_workflow_and_resumes_after_the_fix(
    store: StepStore,
) -> None:
    broken = [True]

    def produce(_: Any) -> Any:
        return object() if broken[0] else "fixed"

    body = lambda: waku.step(produce, 0)  # noqa: E731
    with pytest.raises(waku.SerializationError, match=r"'unstorable' id 'u' step 1.*object"):
        waku.run_workflow("unstorable", body, workflow_id="u")
    if isinstance(store, waku.WorkflowStatusStore):
        assert store.get_workflow_status("unstorable", "u") == "failed"
    broken[0] = False
    assert waku.run_workflow("unstorable", body, workflow_id="u").result == "fixed"
    if isinstance(store, waku.WorkflowStatusStore):
        assert store.get_workflow_status("unstorable", "u") == "succeeded"


@pytest.mark.parametrize(
    ("ttl", "error", "message"),
    [
        ("10", TypeError, "number of seconds"),
        (True, TypeError, "number of seconds"),
        (0, ValueError, "positive"),
        (-5, ValueError, "positive"),
        (float("inf"), ValueError, "finite"),
    ],
)
def test_a_bad_ttl_is_refused_before_a_token_is_minted(
    tmp_path: Path, ttl: Any, error: type[Exception], message: str
) -> None:
    def ask(value: int) -> int:
        waku.create_callback_token(ttl=ttl)
        return value

    waku.register_workflow("bad-ttl", lambda p: waku.step(ask, p))
    with waku.SQLiteStore(tmp_path / "w.db") as store:
        result = waku.run_callback_workflow("bad-ttl", 1, workflow_id="t", store=store)
        assert isinstance(result.result, error) and message in str(result.result)
        assert -1 not in store.get_steps("bad-ttl", "t")  # no waiting marker
    with sqlite3.connect(tmp_path / "w.db") as conn:
        assert conn.execute("SELECT count(*) FROM tokens").fetchone() == (0,)


moved_tokens: list[str] = []


def _moved_step() -> Any:
    def ask(value: int) -> int:
        moved_tokens.append(waku.create_callback_token())
        return value

    ask.__module__ = "waku_test_renamed_module"
    ask.__qualname__ = "ask"
    return ask


def test_a_step_function_this_process_cannot_find_is_refused_before_spending(
    store: StepStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ask = _moved_step()
    waku.register_workflow("moved", lambda p: waku.pipe(p, waku.step(ask), waku.step(add_one)))
    waku.run_callback_workflow("moved", 1, workflow_id="m")
    before = dict(store.get_steps("moved", "m"))
    with pytest.raises(waku.NonDeterminismError, match=r"waku_test_renamed_module:ask.*not spent"):
        waku.run_workflow_from_callback(moved_tokens[-1], 41)
    assert dict(store.get_steps("moved", "m")) == before
    # Once the module is importable under its recorded name, the same token works.
    module = types.ModuleType("waku_test_renamed_module")
    module.ask = ask  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "waku_test_renamed_module", module)
    assert waku.run_workflow_from_callback(moved_tokens[-1], 41).result == 42


class _OrderCheckingStore(RecordingStore):
    """Notes every history read of a workflow that lacks step 1's stored result."""

    def __init__(self, inner: StepStore) -> None:
        super().__init__(inner)
        self.read_too_early = 0
        self.reads = 0

    def get_steps(self, workflow_name: str, workflow_id: str) -> Mapping[int, bytes]:
        steps = super().get_steps(workflow_name, workflow_id)
        self.reads += 1
        if self.reads > 1 and 1 not in steps:  # a continuation reading before the write
            self.read_too_early += 1
        return steps


def test_a_continuation_never_reads_the_history_before_the_step_is_stored(
    store: StepStore,
) -> None:
    checking = _OrderCheckingStore(store)
    checking.hold_result = threading.Event()
    first = waku.run_workflow(
        "ordered", lambda: waku.step_async(add_one, 1), workflow_id="o", store=checking
    )
    assert checking.result_entered.wait(10)  # the step finished; its write is held
    threading.Timer(0.3, checking.hold_result.set).start()
    assert first.wait(10).result == 2
    assert checking.reads == 2 and checking.read_too_early == 0


transform_tokens: list[str] = []


def _transform_named(module: str) -> Any:
    def shout(payload: str) -> str:
        return payload.upper()

    shout.__module__ = module
    shout.__qualname__ = "shout"
    return shout


def test_a_transform_of_the_script_run_as_main_is_named_as_its_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shout = _transform_named("__main__")
    monkeypatch.setattr(sys.modules["__main__"], "__spec__", None)
    monkeypatch.setattr(sys.modules["__main__"], "__file__", "/srv/app/approvals.py")

    def ask(value: str) -> str:
        transform_tokens.append(waku.create_callback_token(shout))
        return value

    waku.register_workflow("main-transform", lambda p: waku.step(ask, p))
    with waku.SQLiteStore(tmp_path / "w.db") as store:
        waku.run_callback_workflow("main-transform", "hi", workflow_id="t", store=store)
        # The delivering process imports ``approvals``, the script's module name.
        with pytest.raises(waku.NonDeterminismError, match=r"approvals:shout.*not spent"):
            waku.run_workflow_from_callback(transform_tokens[-1], "yes", store=store)
        module = types.ModuleType("approvals")
        module.shout = shout  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "approvals", module)
        done = waku.run_workflow_from_callback(transform_tokens[-1], "yes", store=store)
        assert done.result == "YES"


def test_a_transform_of_code_given_to_python_c_is_refused_at_token_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shout = _transform_named("__main__")
    monkeypatch.setattr(sys.modules["__main__"], "__spec__", None)
    monkeypatch.delattr(sys.modules["__main__"], "__file__", raising=False)

    def ask(value: str) -> str:
        transform_tokens.append(waku.create_callback_token(shout))
        return value

    waku.register_workflow("c-transform", lambda p: waku.step(ask, p))
    with waku.SQLiteStore(tmp_path / "w.db") as store:
        result = waku.run_callback_workflow("c-transform", "hi", workflow_id="t", store=store)
        assert isinstance(result.result, waku.SerializationError)
        assert "module level" in str(result.result)
        assert -1 not in store.get_steps("c-transform", "t")


def test_a_transform_this_process_cannot_find_is_refused_before_spending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("waku_test_transforms")
    module.shout = _transform_named("waku_test_transforms")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "waku_test_transforms", module)

    def ask(value: str) -> str:
        transform_tokens.append(waku.create_callback_token(module.shout))
        return value

    waku.register_workflow("lost-transform", lambda p: waku.step(ask, p))
    with waku.SQLiteStore(tmp_path / "w.db") as store:
        waku.run_callback_workflow("lost-transform", "hi", workflow_id="t", store=store)
        monkeypatch.delitem(sys.modules, "waku_test_transforms")
        with pytest.raises(
            waku.NonDeterminismError, match=r"waku_test_transforms:shout.*not spent"
        ):
            waku.run_workflow_from_callback(transform_tokens[-1], "yes", store=store)
        monkeypatch.setitem(sys.modules, "waku_test_transforms", module)
        done = waku.run_workflow_from_callback(transform_tokens[-1], "yes", store=store)
        assert done.result == "YES"
