"""Step numbering, replay rules and the errors users meet."""

from __future__ import annotations

import pickle
import types
from typing import Any

import pytest

import waku
from waku import StepStore


def double(x: int) -> int:
    return x * 2


def triple(x: int) -> int:
    return x * 3


def test_step_outside_a_workflow_says_what_to_do() -> None:
    with pytest.raises(
        waku.NotInWorkflowError, match=r"No workflow name or id\. Have you called run_workflow\?"
    ):
        waku.step(double, 1)
    with pytest.raises(waku.NotInWorkflowError, match="idempotency_key"):
        waku.idempotency_key()


def test_running_without_a_store_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waku._config, "_default", None)
    monkeypatch.delenv("WAKU_STORE", raising=False)
    with pytest.raises(waku.StoreNotSetError, match=r"No store set\. Have you called set_store\?"):
        waku.run_workflow("x", lambda: 1)


def test_waku_store_variable_sets_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waku._config, "_default", None)
    monkeypatch.setenv("WAKU_STORE", "memory://")
    assert isinstance(waku.get_store(), waku.MemoryStore)


def test_unknown_store_urls_and_non_stores_are_refused() -> None:
    with pytest.raises(waku.StoreError, match="ftp://x"):
        waku.set_store("ftp://x")
    with pytest.raises(waku.StoreError, match="six StepStore methods"):
        waku.set_store(object())  # type: ignore[arg-type]


def test_none_is_a_cached_result(store: StepStore) -> None:
    calls: list[int] = []

    def body() -> Any:
        return waku.step(lambda _: calls.append(1), 0)

    waku.run_workflow("none", body, workflow_id="n")
    again = waku.run_workflow("none", body, workflow_id="n")
    assert again.result is None and calls == [1]


def test_another_function_at_a_recorded_position_is_non_determinism(store: StepStore) -> None:
    waku.run_workflow("nd", lambda: waku.step(double, 1), workflow_id="n1")
    with pytest.raises(
        waku.NonDeterminismError, match=r"step 1.*test_engine:double.*test_engine:triple"
    ):
        waku.run_workflow("nd", lambda: waku.step(triple, 1), workflow_id="n1")


def test_failed_steps_are_recorded_but_not_cached(store: StepStore) -> None:
    attempts: list[int] = []

    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) < 3:
            raise ConnectionError(f"attempt {len(attempts)}")
        return x

    for _ in range(3):
        result = waku.run_workflow("retry", lambda: waku.step(flaky, 7), workflow_id="r")
    assert result.result == 7 and len(attempts) == 3


def test_idempotency_key_is_stable_across_resumes(store: StepStore) -> None:
    keys: list[str] = []

    def charge(x: int) -> int:
        keys.append(waku.idempotency_key())
        if len(keys) == 1:
            raise TimeoutError("payment API timed out")
        return x

    for _ in range(2):
        waku.run_workflow(
            "pay", lambda: waku.pipe(1, waku.step(double), waku.step(charge)), workflow_id="p"
        )
    assert keys == ["pay/p/2", "pay/p/2"]


def test_base_exceptions_are_never_values(store: StepStore) -> None:
    def interrupted(_: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        waku.run_workflow("ki", lambda: waku.step(interrupted, 1))
    with pytest.raises(waku.WorkflowCancelled):
        waku.call(lambda: (_ for _ in ()).throw(waku.WorkflowCancelled()))


def test_workflow_ids_are_fresh_uuids_and_names_are_checked(store: StepStore) -> None:
    a = waku.run_workflow("ids", lambda: 1)
    b = waku.run_workflow("ids", lambda: 1)
    assert a.workflow_id != b.workflow_id and len(a.workflow_id) == 36
    with pytest.raises(ValueError, match="non-empty string"):
        waku.run_workflow("", lambda: 1)


@pytest.mark.parametrize(
    "payload",
    [
        b"garbage without header",
        b"Q json m:f\n1",  # unknown kind
        b"R json tests.test_engine:double\n{not json",
        b"R json tests.test_engine:double\n1 trailing",
        b'R json tests.test_engine:double\n{"$t":"tuple"}',
    ],
    ids=["no-header", "bad-kind", "bad-json", "trailing", "bad-tag"],
)
def test_damaged_record_is_a_clear_store_error(store: StepStore, payload: bytes) -> None:
    store.store_result("dmg", "d", 1, payload)
    with pytest.raises(waku.WakuError, match=r"'dmg' id 'd' step 1.*(damaged|trailing)"):
        waku.run_workflow("dmg", lambda: waku.step(double, 1), workflow_id="d")
    assert store.get_result("dmg", "d", 1) == payload


@pytest.mark.parametrize(
    "error",
    [
        waku.NotInWorkflowError(),
        waku.StoreNotSetError(),
        waku.UnknownWorkflowError("w"),
        waku.SerializationError("s"),
        waku.TokenAlreadyUsedError("t"),
        waku.WorkflowLockedError("l"),
    ],
)
def test_errors_pickle(error: waku.WakuError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)


def test_public_surface_is_sorted_complete_and_documented() -> None:
    assert waku.__all__ == sorted(waku.__all__)
    # A subpackage imported on its own (``waku.dashboard``) appears on ``waku`` once
    # imported, without being one of its names.
    own = {"dashboard", "cli"}
    public = {
        n
        for n in dir(waku)
        if not n.startswith("_")
        and not (n in own and isinstance(getattr(waku, n), types.ModuleType))
    }
    assert public == set(waku.__all__) - {"__version__"}
    for name in waku.__all__:
        if name != "__version__":
            assert getattr(waku, name).__doc__, f"{name} has no docstring"


def test_flow_helpers_curry_and_pass_failures() -> None:
    boom = ValueError("boom")
    assert waku.pipe(1, waku.then(lambda x: x + 1), waku.then(str)) == "2"
    assert waku.then(lambda x: x + 1, boom) is boom
    assert waku.else_(lambda e: "handled", boom) == "handled"
    assert waku.else_(lambda e: "handled", 5) == 5
    assert isinstance(waku.call(lambda: 1 / 0), ZeroDivisionError)
    assert waku.is_failure(boom) and not waku.is_failure(1)
    assert waku.then(lambda x: x, None) is None  # None is a value, not "missing"
