"""Stores by URL: ``open_store("memory://")``; each scheme's module loads on use."""

from __future__ import annotations

import importlib
from typing import Any

from .._errors import StoreError

# scheme -> (module, class); a module is imported only when its scheme is used.
SCHEMES: dict[str, tuple[str, str]] = {
    "memory": ("waku._stores.memory", "MemoryStore"),
    "postgres": ("waku._stores.postgres", "PostgresStore"),
    "postgresql": ("waku._stores.postgres", "PostgresStore"),
    "sqlite": ("waku._stores.sqlite", "SQLiteStore"),
}


def open_store(url: str) -> Any:
    """Open the store a URL names, e.g. ``memory://`` or ``sqlite:///waku.db``."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES:
        known = ", ".join(f"{name}://" for name in SCHEMES)
        raise StoreError(f"Unknown store URL {url!r}: expected one of {known}")
    module_name, class_name = SCHEMES[scheme]
    store_class = getattr(importlib.import_module(module_name), class_name)
    # from_url raises StoreError naming the URL when its path or options are bad.
    return store_class.from_url(rest)
