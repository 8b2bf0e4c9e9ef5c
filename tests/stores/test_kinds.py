"""The table of stores tells the truth: each store has exactly the capabilities it declares."""

from __future__ import annotations

from pathlib import Path

import pytest

from .kinds import KINDS, PROTOCOLS, StoreKind, supporting


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
def test_declared_capabilities_are_the_protocols_the_store_satisfies(
    kind: StoreKind, tmp_path: Path
) -> None:
    store = kind.open(tmp_path)
    try:
        found = {name for name, protocol in PROTOCOLS.items() if isinstance(store, protocol)}
        assert found == kind.supports
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()


def test_a_suite_is_collected_only_for_stores_with_its_capabilities() -> None:
    assert [kind.name for kind in supporting()] == [kind.name for kind in KINDS]
    for name in PROTOCOLS:
        assert all(name in kind.supports for kind in supporting(name))
    assert "six-methods" not in {kind.name for kind in supporting(*PROTOCOLS)}
