"""Expense approval: a workflow that waits for a manager's answer over HTTP.

The approval step prints ("emails") a link holding a callback token. A small
standard-library HTTP endpoint receives ``POST /callback/<token>`` with a JSON
body and resumes the workflow with ``run_workflow_from_callback``.

Run it by hand::

    python -m examples.approval.app          # serves on 127.0.0.1:8000
    curl -X POST localhost:8000/callback/<token> -d '{"approved": true, "amount": 45}'
"""

from __future__ import annotations

import json
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import waku

BASE_URL = "http://127.0.0.1:8000"
outbox: list[str] = []  # the "emails" sent, so tests and humans can read the links


def approved_amount(answer: dict[str, Any]) -> int:
    """The manager's answer, as stored for the approval step (a module-level transform)."""
    if not answer.get("approved"):
        raise PermissionError(f"expense rejected: {answer.get('reason', 'no reason given')}")
    return int(answer["amount"])


def check_expense(expense: dict[str, Any]) -> dict[str, Any]:
    if expense["amount"] <= 0:
        raise ValueError(f"an expense must be positive, not {expense['amount']}")
    return expense


def request_approval(expense: dict[str, Any]) -> None:
    token = waku.create_callback_token(approved_amount)
    link = f"{BASE_URL}/callback/{token}"
    outbox.append(link)
    print(f"To: manager@example.test — approve {expense['amount']} for {expense['who']}: {link}")


def pay(amount: int) -> str:
    return f"paid {amount}"


def expense_approval(expense: dict[str, Any]) -> Any:
    return waku.pipe(
        expense,
        waku.step(check_expense),
        waku.step(request_approval),
        waku.step(pay),
        waku.else_(lambda error: f"not paid: {error}"),
    )


waku.register_workflow("expense-approval", expense_approval)


class CallbackHandler(BaseHTTPRequestHandler):
    """``POST /callback/<token>``: 200 with the workflow's result, 404 for a bad token,
    409 for a token already used, 400 for a malformed body."""

    def do_POST(self) -> None:
        prefix = "/callback/"
        if not self.path.startswith(prefix):
            self._reply(HTTPStatus.NOT_FOUND, {"error": "no such endpoint"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            answer = json.loads(self.rfile.read(length))
            if not isinstance(answer, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as error:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": f"malformed body: {error}"})
            return
        try:
            result = waku.run_workflow_from_callback(self.path[len(prefix) :], answer)
        except waku.TokenAlreadyUsedError:
            self._reply(HTTPStatus.CONFLICT, {"error": "this link was already used"})
            return
        except waku.InvalidTokenError:
            self._reply(HTTPStatus.NOT_FOUND, {"error": "unknown or expired link"})
            return
        body = {"workflow_id": result.workflow_id, "result": _printable(result.result)}
        self._reply(HTTPStatus.OK, body)

    def _reply(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


def _printable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | type(None)) else repr(value)


def serve(host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """Start the callback endpoint in a background thread; ``shutdown()`` stops it."""
    server = ThreadingHTTPServer((host, port), CallbackHandler)
    threading.Thread(target=server.serve_forever, name="approval-http", daemon=True).start()
    return server


def main() -> None:
    waku.set_store(sys.argv[1] if len(sys.argv) > 1 else "sqlite:///waku.db")
    server = serve()
    started = waku.run_callback_workflow("expense-approval", {"who": "ana", "amount": 45})
    print(f"workflow {started.workflow_id} is waiting; POST the link above to approve")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
