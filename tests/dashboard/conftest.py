"""A populated SQLite store and a dashboard serving it on a free port of 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import waku
from waku.dashboard import DashboardServer, make_server

from .flows import populate, sqlite_store


@dataclass
class Dashboard:
    store: waku.SQLiteStore
    server: DashboardServer

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    store = sqlite_store(tmp_path)
    populate(store)
    server = make_server(store, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Dashboard(store, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        store.close()
