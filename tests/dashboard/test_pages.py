"""The dashboard's pages over HTTP: the list, its filters and paging, a workflow's timeline."""

from __future__ import annotations

import functools
import re
import threading
from html import unescape
from urllib.parse import urlencode

import waku
from waku.dashboard import make_server

from .client import get
from .conftest import Dashboard
from .flows import SCRIPT


def workflow_path(name: str, workflow_id: str) -> str:
    return "/workflow?" + urlencode({"name": name, "id": workflow_id})


def ids_on(page: str) -> list[str]:
    return [unescape(i) for i in re.findall(r'<td class="id"><a href="[^"]*">([^<]*)</a>', page)]


def test_the_list_shows_every_workflow_newest_first_with_counts(dashboard: Dashboard) -> None:
    page = get(dashboard.url, "/")
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert ids_on(page.body) == [SCRIPT, "expense-3", "order-2", "order-1"]
    counts = dict(re.findall(r'data-status="(\w+)">.*?<b>([\d,+]+)</b>', page.body))
    assert counts["succeeded"] == "2"
    assert counts["failed"] == "1"
    assert counts["waiting"] == "1"
    assert counts["running"] == "0"


def test_the_list_filters_by_status_and_by_name(dashboard: Dashboard) -> None:
    assert ids_on(get(dashboard.url, "/?status=failed").body) == ["order-2"]
    assert ids_on(get(dashboard.url, "/?name=expenses").body) == ["expense-3"]
    both = get(dashboard.url, "/?name=orders&status=succeeded").body
    assert ids_on(both) == [SCRIPT, "order-1"]
    assert "No workflows match." in get(dashboard.url, "/?name=nothing").body
    assert ids_on(get(dashboard.url, "/?status=bogus").body)  # an unknown status: no filter


def test_paging_walks_every_workflow_once(dashboard: Dashboard) -> None:
    def work(n: int) -> object:
        return waku.step(str, n)

    for n in range(120):
        waku.run_workflow(
            "bulk",
            functools.partial(work, n),
            workflow_id=f"bulk-{n:03d}",
            store=dashboard.store,
        )
    seen: list[str] = []
    path: str | None = "/?name=bulk"
    while path is not None:
        page = get(dashboard.url, path).body
        seen += ids_on(page)
        found = re.search(r'<a href="([^"]+)" rel="next">', page)
        path = None if found is None else unescape(found.group(1))
    assert seen == [f"bulk-{n:03d}" for n in reversed(range(120))]


def test_a_workflow_page_draws_its_steps_on_a_timeline(dashboard: Dashboard) -> None:
    page = get(dashboard.url, workflow_path("orders", "order-2"))
    assert page.status == 200
    body = page.body
    assert "<svg" in body
    marks = re.findall(r'<g class="step" data-step="(\d+)" data-status="(\w+)">', body)
    assert marks == [("1", "succeeded"), ("2", "failed")]
    bars = re.findall(r'<rect class="bar (\w+) f-\w+" x="([\d.]+)" y="\d+" width="([\d.]+)"', body)
    assert [b[0] for b in bars] == ["succeeded", "failed"]
    (first, second) = bars
    assert float(second[1]) > float(first[1])  # charge started after reserve
    assert "✕ failed" in body
    assert "ConnectionError: payment service refused order 2" in unescape(body)
    assert 'id="step-2" open' in body  # the failed step's details are open
    assert "Traceback" in body


def test_a_waiting_step_is_drawn_and_explained(dashboard: Dashboard) -> None:
    body = get(dashboard.url, workflow_path("expenses", "expense-3")).body
    assert re.search(r'data-step="2" data-status="waiting"', body)
    assert "waiting for callback" in body
    assert "waku complete TOKEN PAYLOAD" in body
    assert 'action="/cancel"' in body


def test_a_sleeping_step_runs_to_now_and_says_when_it_wakes(dashboard: Dashboard) -> None:
    order = {"id": 9, "total": 1}
    waku.run_callback_workflow("naps", order, workflow_id="nap-9", store=dashboard.store)
    body = get(dashboard.url, workflow_path("naps", "nap-9")).body
    assert re.search(r'data-step="2" data-status="sleeping"', body)
    assert re.search(r"sleeps until \d{4}-\d\d-\d\d \d\d:\d\d", body)
    assert "<h3>wakes at</h3>" in body
    assert ids_on(get(dashboard.url, "/?status=sleeping").body) == ["nap-9"]


def test_every_stored_value_is_escaped(dashboard: Dashboard) -> None:
    listing = get(dashboard.url, "/").body
    page = get(dashboard.url, workflow_path("orders", SCRIPT)).body
    for body in (listing, page):
        assert "<script" not in body
        assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in body
    assert "default-src 'none'" in get(dashboard.url, "/").headers["content-security-policy"]


def test_an_unknown_workflow_or_page_is_404(dashboard: Dashboard) -> None:
    missing = get(dashboard.url, workflow_path("orders", "<nope>"))
    assert missing.status == 404
    assert "&lt;nope&gt;" in missing.body
    assert get(dashboard.url, "/admin").status == 404
    assert get(dashboard.url, "/style.css").headers["content-type"].startswith("text/css")


def test_a_foreign_host_header_is_refused(dashboard: Dashboard) -> None:
    # A page on evil.test that rebinds its name to 127.0.0.1 sends its own Host.
    port = dashboard.server.port
    assert get(dashboard.url, "/", Host=f"evil.test:{port}").status == 403
    assert get(dashboard.url, "/", Host=f"localhost:{port}").status == 200


def test_a_store_that_cannot_list_is_a_page_that_says_so() -> None:
    class Bare:  # the six StepStore methods, no InspectStore
        def __init__(self) -> None:
            self.inner = waku.MemoryStore()

        def __getattr__(self, name: str) -> object:
            if name in {"store_start", "store_result", "store_result_token"} | {
                "store_token_result",
                "get_steps",
                "get_result",
            }:
                return getattr(self.inner, name)
            raise AttributeError(name)

    server = make_server(Bare(), "127.0.0.1", 0)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        page = get(server.url, "/")
        assert page.status == 500
        assert "InspectStore" in page.body
    finally:
        server.shutdown()
        server.server_close()
