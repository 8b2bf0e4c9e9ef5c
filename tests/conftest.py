"""One ``store`` fixture over every store in ``stores.kinds.KINDS``; engine tests take it too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from waku import StepStore

from .stores.kinds import KINDS, StoreKind, durable_url, opened

__all__ = ["durable_url"]  # a fixture: every restart test runs over each durable store

StoreFactory = Callable[[Path], StepStore]


@pytest.fixture(params=KINDS, ids=[kind.name for kind in KINDS])
def store_kind(request: pytest.FixtureRequest) -> StoreKind:
    kind: StoreKind = request.param
    return kind


@pytest.fixture
def store_factory(store_kind: StoreKind) -> StoreFactory:
    return store_kind.open


@pytest.fixture
def store(store_kind: StoreKind, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh store of each kind, the default store for the length of the test."""
    yield from opened(store_kind, tmp_path, monkeypatch)
