"""The default store: one slot, filled by set_store or the WAKU_STORE variable."""

from __future__ import annotations

import os

from ._errors import StoreError, StoreNotSetError
from ._stores import open_store
from ._stores.base import StepStore

_default: StepStore | None = None


def set_store(store_or_url: StepStore | str) -> StepStore:
    """Make a store (or the store a URL names) the default for every run; returns it."""
    global _default
    store = open_store(store_or_url) if isinstance(store_or_url, str) else store_or_url
    if not isinstance(store, StepStore):
        raise StoreError(
            f"{store!r} is not a store: it needs the six StepStore methods "
            "(store_start, store_result, store_result_token, store_token_result, "
            "get_steps, get_result)"
        )
    _default = store
    return store


def get_store() -> StepStore:
    """The default store: the one set last, else WAKU_STORE's, else StoreNotSetError."""
    if _default is None:
        url = os.environ.get("WAKU_STORE")
        if not url:
            raise StoreNotSetError
        try:
            return set_store(url)
        except StoreError as error:
            # The URL is not in the user's code: say where to look for it.
            raise StoreError(
                f"{error} (the URL {url!r} came from the WAKU_STORE environment variable; "
                "fix or unset it)"
            ) from None
    return _default


def resolve_store(store: StepStore | None) -> StepStore:
    """The store a call names, else the default."""
    return get_store() if store is None else store
