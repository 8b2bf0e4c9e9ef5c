"""One ``store`` fixture over every store; engine tests take it too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import waku
from waku import StepStore

from .postgres_support import throwaway_store
from .readme_store import DictStore

StoreFactory = Callable[[Path], StepStore]

# name -> factory; a new store joins every shared test by adding one line.
STORES: dict[str, StoreFactory] = {
    "memory": lambda _: waku.MemoryStore(),
    # A schema of its own, dropped on close. lease_wait: a test that re-runs a workflow the
    # moment its background run finishes waits for that run's lease release.
    "postgres": lambda _: throwaway_store(lease_wait=1.0),
    "six-methods": lambda _: DictStore(),
    "sqlite": lambda tmp: waku.SQLiteStore(tmp / "waku.db"),
}


@pytest.fixture(params=sorted(STORES))
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    factory: StoreFactory = STORES[request.param]
    return factory


@pytest.fixture
def store(
    store_factory: StoreFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StepStore]:
    """A fresh store of each kind, the default store for the length of the test."""
    s = store_factory(tmp_path)
    monkeypatch.setattr(waku._config, "_default", s)
    yield s
    close = getattr(s, "close", None)
    if close is not None:
        close()
