"""The HTTP side: routes, the forgery checks, and the three actions.

GET never changes anything. Resume, cancel and fork are POST forms, and a
POST is carried out only when all three checks pass: the ``Host`` header
names this server (so a page that rebinds its own DNS name to 127.0.0.1
cannot talk to it), the ``Origin`` (or, lacking one, the ``Referer``) is
this server, and the form's hidden token equals the server's secret
(compared with ``hmac.compare_digest``). The secret is made when the server
starts and never leaves its pages. The actions themselves are in ``_actions``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
import threading
from collections import OrderedDict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

import waku

from ._actions import ACTIONS
from ._html import STYLE, page, text
from ._pages import Listing, list_page, workflow_page

log = logging.getLogger("waku.dashboard")

PAGE_SIZE = 50
COUNT_CAP = 1000  # counts above this show as "1,000+": counting more means reading more rows
MAX_FORM = 64 * 1024
NOTES = 200
WILDCARDS = {"", "0.0.0.0", "::"}
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class DashboardServer(ThreadingHTTPServer):
    """A threaded HTTP server showing ``store``'s workflows; ``serve_forever()``/``shutdown()``.

    ``url`` is the address to open in a browser. ``csrf`` is this server's
    secret form token, new each time a server is made.
    """

    daemon_threads = True

    def __init__(self, store: waku.StepStore, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.store = store
        self.csrf = secrets.token_urlsafe(32)
        self.port = int(self.server_address[1])
        shown = "127.0.0.1" if host in WILDCARDS else host
        self.url = f"http://{shown}:{self.port}/"
        names = () if host in WILDCARDS else (*LOOPBACK, host)
        self.hosts = {f"{name}:{self.port}" for name in names}  # empty: any Host
        self._notes: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def allows_host(self, host: str | None) -> bool:
        """Whether a request's ``Host`` header names this server."""
        return host is not None and (not self.hosts or host.lower() in self.hosts)

    def add_note(self, message: str) -> str:
        """Keep a message for the next page; its key goes in the redirect's URL."""
        key = secrets.token_urlsafe(9)
        with self._lock:
            self._notes[key] = message
            while len(self._notes) > NOTES:
                self._notes.popitem(last=False)
        return key

    def note(self, key: str | None) -> str | None:
        """The message kept under ``key``, if any (a forged key shows nothing)."""
        with self._lock:
            return None if key is None else self._notes.get(key)


class _Handler(BaseHTTPRequestHandler):
    server_version = "waku-dashboard"
    protocol_version = "HTTP/1.1"

    @property
    def app(self) -> DashboardServer:
        return cast(DashboardServer, self.server)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    # -- GET ----------------------------------------------------------------------

    def do_GET(self) -> None:
        try:
            self.route_get()
        except waku.WakuError as error:  # a store that cannot be read: say so on the page
            body = f"<h1>The store cannot be read</h1><pre>{text(error)}</pre>"
            self.send_html(HTTPStatus.INTERNAL_SERVER_ERROR, page("Error", body))

    def route_get(self) -> None:
        if not self.app.allows_host(self.headers.get("Host")):
            self.send_text(
                HTTPStatus.FORBIDDEN, "Unknown Host header: open the dashboard by its URL."
            )
            return
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/":
            self.send_html(HTTPStatus.OK, self.list_view(query))
        elif parts.path == "/workflow":
            self.workflow_view(query)
        elif parts.path == "/style.css":
            self.send_body(HTTPStatus.OK, STYLE.encode(), "text/css; charset=utf-8")
        else:
            self.send_html(HTTPStatus.NOT_FOUND, page("Not found", "<h1>Not found</h1>"))

    def list_view(self, query: dict[str, str]) -> str:
        store = self.app.store
        status = query.get("status") or None
        if status is not None and status not in {s.value for s in waku.Status}:
            status = None
        name = query.get("name") or None
        before = _cursor(store, query)
        rows = waku.list_workflows(
            status=status, name=name, limit=PAGE_SIZE + 1, before=before, store=store
        )
        counts = {
            s.value: len(
                waku.list_workflows(status=s.value, name=name, limit=COUNT_CAP + 1, store=store)
            )
            for s in waku.Status
        }
        listing = Listing(
            workflows=rows[:PAGE_SIZE],
            status=status,
            name=name,
            counts=counts,
            cap=COUNT_CAP,
            more=len(rows) > PAGE_SIZE,
            paged=before is not None,
        )
        return list_page(listing, note=self.app.note(query.get("note")))

    def workflow_view(self, query: dict[str, str]) -> None:
        name, workflow_id = query.get("name", ""), query.get("id", "")
        info = waku.get_workflow(name, workflow_id, store=self.app.store)
        if info is None:
            body = (
                f"<h1>No workflow {text(name)} / {text(workflow_id)}</h1><p>The store has none.</p>"
            )
            self.send_html(HTTPStatus.NOT_FOUND, page("Not found", body))
            return
        now = dt.datetime.now(dt.timezone.utc)
        note = self.app.note(query.get("note"))
        self.send_html(HTTPStatus.OK, workflow_page(info, self.app.csrf, now, note=note))

    # -- POST ---------------------------------------------------------------------

    def do_POST(self) -> None:
        form = self.checked_form()
        if form is None:
            return
        action = ACTIONS.get(urlsplit(self.path).path)
        if action is None:
            self.send_text(HTTPStatus.NOT_FOUND, "No such action.")
            return
        name, workflow_id = form.get("name", ""), form.get("id", "")
        try:
            target, message = action(self.app.store, form)
        except (waku.WakuError, ValueError, TypeError) as error:
            target, message = (name, workflow_id), f"{type(error).__name__}: {error}"
        log.info("%s %s/%s: %s", self.path, name, workflow_id, message)
        where = urlencode({"name": target[0], "id": target[1], "note": self.app.add_note(message)})
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", f"/workflow?{where}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def checked_form(self) -> dict[str, str] | None:
        """The POSTed form when the request passes the forgery checks; else None, answered 403."""
        host = self.headers.get("Host")
        if not self.app.allows_host(host):
            self.send_text(HTTPStatus.FORBIDDEN, "Refused: unknown Host header.")
            return None
        origin = self.headers.get("Origin")
        referer = self.headers.get("Referer")
        expected = f"http://{host}"
        if origin is not None and origin != expected:
            self.send_text(HTTPStatus.FORBIDDEN, "Refused: the form came from another site.")
            return None
        if origin is None and referer is not None and not referer.startswith(expected + "/"):
            self.send_text(HTTPStatus.FORBIDDEN, "Refused: the form came from another site.")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.send_text(HTTPStatus.BAD_REQUEST, "Refused: bad Content-Length.")
            return None
        if length > MAX_FORM:
            self.send_text(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Refused: form too large.")
            return None
        raw = self.rfile.read(length).decode("utf-8", "replace")
        form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        token = form.get("csrf", "")
        if not hmac.compare_digest(token.encode(), self.app.csrf.encode()):
            self.send_text(
                HTTPStatus.FORBIDDEN, "Refused: missing or wrong form token; reload the page."
            )
            return None
        return form

    # -- responses ----------------------------------------------------------------

    def send_html(self, status: HTTPStatus, body: str) -> None:
        self.send_body(status, body.encode(), "text/html; charset=utf-8")

    def send_text(self, status: HTTPStatus, message: str) -> None:
        if status >= 400:
            self.close_connection = True  # a refused request's body may be left unread
        self.send_body(status, (message + "\n").encode(), "text/plain; charset=utf-8")

    def send_body(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for header, value in SECURITY_HEADERS.items():
            self.send_header(header, value)
        self.end_headers()
        self.wfile.write(body)


def _cursor(store: waku.StepStore, query: dict[str, str]) -> waku.WorkflowInfo | None:
    """The workflow a page starts after: read back exactly, or rebuilt from the link."""
    name, workflow_id = query.get("before_name"), query.get("before_id")
    if name is None or workflow_id is None:
        return None
    info = waku.get_workflow(name, workflow_id, store=store)
    if info is not None:
        return info
    try:  # pruned since the link was made: its creation time still places it
        created = dt.datetime.fromisoformat(query.get("before_t", ""))
    except ValueError:
        return None
    if created.tzinfo is None:
        return None
    return waku.WorkflowInfo(name, workflow_id, "", created, created, None, None, None, [])
