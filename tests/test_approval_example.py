"""The expense-approval example, driven over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

import waku
from examples.approval import app


@pytest.fixture
def server(store: waku.StepStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadingHTTPServer]:
    httpd = app.serve(port=0)
    monkeypatch.setattr(app, "BASE_URL", f"http://127.0.0.1:{httpd.server_port}")
    app.outbox.clear()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def post(url: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def start(workflow_id: str) -> str:
    waiting = waku.run_callback_workflow(
        "expense-approval", {"who": "ana", "amount": 45}, workflow_id=workflow_id
    )
    assert not waiting.result.done()
    return app.outbox[-1]


def test_approval_over_http_finishes_the_workflow(server: ThreadingHTTPServer) -> None:
    link = start("exp-1")
    status, body = post(link, json.dumps({"approved": True, "amount": 45}).encode())
    assert (status, body) == (200, {"workflow_id": "exp-1", "result": "paid 45"})
    status, body = post(link, json.dumps({"approved": True, "amount": 45}).encode())
    assert status == 409


def test_rejection_takes_the_else_path(server: ThreadingHTTPServer) -> None:
    link = start("exp-2")
    status, body = post(link, json.dumps({"approved": False, "reason": "too much"}).encode())
    assert status == 200 and body["result"] == "not paid: expense rejected: too much"


def test_bad_tokens_and_bodies_are_refused_and_change_nothing(
    server: ThreadingHTTPServer, store: waku.StepStore
) -> None:
    link = start("exp-3")
    before = dict(store.get_steps("expense-approval", "exp-3"))
    base = link.rsplit("/", 1)[0]
    assert post(f"{base}/not-a-token", b"{}")[0] == 404
    assert post(link[:-4] + "AAAA", b'{"approved": true, "amount": 1}')[0] == 404
    assert post(link, b"{not json")[0] == 400
    assert post(link, b"[1, 2]")[0] == 400
    assert dict(store.get_steps("expense-approval", "exp-3")) == before
    status, body = post(link, json.dumps({"approved": True, "amount": 45}).encode())
    assert (status, body["result"]) == (200, "paid 45")
