"""The table of stores the shared tests run over, and what each one supports.

A new store (Postgres, say) joins every suite it can pass by adding one
``StoreKind`` to ``KINDS``: a factory and its capabilities. A suite asks for
the capabilities it tests (``store_fixture(LEASES)``) and is collected only for
the stores that have them, so no test skips or branches on a store's type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import waku
from waku import StepStore

from ..postgres_support import throwaway_store, throwaway_url
from ..readme_store import DictStore

STATUSES = "statuses"
"""``waku.WorkflowStatusStore``: a status and wake time per workflow."""
LEASES = "leases"
"""``waku.LeaseStore``: one running owner per workflow id."""
INSPECT = "inspect"
"""``waku.InspectStore``: workflows and steps read back, listed, and pruned."""
QUEUE = "queue"
"""``waku.QueueStore``: enqueueing workflows and claiming work atomically."""

PROTOCOLS: dict[str, type[Any]] = {
    STATUSES: waku.WorkflowStatusStore,
    LEASES: waku.LeaseStore,
    INSPECT: waku.InspectStore,
    QUEUE: waku.QueueStore,
}
"""Capability -> the protocol a store with it satisfies (checked in test_kinds)."""


@dataclass(frozen=True)
class StoreKind:
    """A store the shared suites run over: how to open one, and what it supports."""

    name: str
    open: Callable[[Path], StepStore]  # given an empty folder of its own
    supports: frozenset[str]
    url: Callable[[Path], str] | None = None
    """For a durable store, its URL in a folder: what cross-process tests hand a child."""


KINDS: tuple[StoreKind, ...] = (
    StoreKind("six-methods", lambda _: DictStore(), frozenset()),
    StoreKind(
        "memory", lambda _: waku.MemoryStore(), frozenset({STATUSES, LEASES, INSPECT, QUEUE})
    ),
    StoreKind(
        "sqlite",
        lambda folder: waku.SQLiteStore(folder / "waku.db"),
        frozenset({STATUSES, LEASES, INSPECT, QUEUE}),
        url=lambda folder: f"sqlite:///{folder.resolve() / 'waku.db'}",
    ),
    # A schema of its own, dropped on close. lease_wait: a test that re-runs a workflow the
    # moment its background run finishes waits for that run's lease release.
    StoreKind(
        "postgres",
        lambda _: throwaway_store(lease_wait=1.0),
        frozenset({STATUSES, LEASES, INSPECT}),
        url=throwaway_url,
    ),
)

DURABLE = tuple(kind for kind in KINDS if kind.url is not None)
"""The stores that outlive a process: every restart and kill scenario runs on each."""


@pytest.fixture(params=DURABLE, ids=[kind.name for kind in DURABLE])
def durable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh durable store, for child processes to open."""
    kind: StoreKind = request.param
    assert kind.url is not None
    return kind.url(tmp_path)


def supporting(*capabilities: str) -> list[StoreKind]:
    """The stores that have every one of ``capabilities``."""
    unknown = set(capabilities) - set(PROTOCOLS)
    assert not unknown, f"no such capability: {unknown}"
    return [kind for kind in KINDS if kind.supports.issuperset(capabilities)]


def opened(kind: StoreKind, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh store of ``kind``, the default store until it is closed at the end."""
    store = kind.open(folder)
    monkeypatch.setattr(waku._config, "_default", store)
    yield store
    close = getattr(store, "close", None)
    if close is not None:
        close()


def store_fixture(*capabilities: str) -> Any:
    """A ``store`` fixture over every store with ``capabilities``, for one suite module."""
    kinds = supporting(*capabilities)

    @pytest.fixture(params=kinds, ids=[kind.name for kind in kinds])
    def store(
        request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[Any]:
        yield from opened(request.param, tmp_path, monkeypatch)

    return store
