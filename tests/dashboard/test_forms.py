"""Resume, cancel and fork: POST forms that need this server's token and origin."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import pytest

import waku
from waku.dashboard import make_server

from .client import csrf_token, get, origin, post
from .conftest import Dashboard
from .flows import broken, tokens


def form_for(dashboard: Dashboard, name: str, workflow_id: str) -> dict[str, str]:
    page = get(dashboard.url, "/workflow?" + urlencode({"name": name, "id": workflow_id}))
    return {"csrf": csrf_token(page.body), "name": name, "id": workflow_id}


def status(dashboard: Dashboard, name: str, workflow_id: str) -> str:
    info = waku.get_workflow(name, workflow_id, store=dashboard.store)
    assert info is not None
    return info.status


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"csrf": None}, "missing or wrong form token"),
        ({"csrf": "x" * 43}, "missing or wrong form token"),
        ({"Origin": "http://evil.test"}, "another site"),
        ({"Origin": "null"}, "another site"),
        ({"Referer": "http://evil.test/page"}, "another site"),
        ({"Host": "evil.test"}, "unknown Host"),
    ],
)
def test_a_forged_cancel_is_refused_and_changes_nothing(
    dashboard: Dashboard, change: dict[str, str | None], why: str
) -> None:
    form = form_for(dashboard, "expenses", "expense-3")
    headers = {"Origin": origin(dashboard.url)}
    for key, value in change.items():
        if key == "csrf":
            del form["csrf"]
            if value is not None:
                form["csrf"] = value
        else:
            assert value is not None
            headers[key] = value
            if key == "Referer":
                del headers["Origin"]
    refused = post(dashboard.url, "/cancel", form, **headers)
    assert refused.status == 403
    assert why in refused.body
    assert status(dashboard, "expenses", "expense-3") == "waiting"


def test_get_never_cancels(dashboard: Dashboard) -> None:
    form = form_for(dashboard, "expenses", "expense-3")
    assert get(dashboard.url, "/cancel?" + urlencode(form)).status == 404
    assert status(dashboard, "expenses", "expense-3") == "waiting"


def test_a_cancel_from_the_page_cancels(dashboard: Dashboard) -> None:
    form = form_for(dashboard, "expenses", "expense-3")
    done = post(dashboard.url, "/cancel", form, Origin=origin(dashboard.url))
    assert done.status == 303
    assert status(dashboard, "expenses", "expense-3") == "cancelled"
    page = get(dashboard.url, done.headers["location"]).body
    assert "Cancelled." in page
    assert 'action="/cancel"' not in page  # nothing left to cancel


def test_a_form_without_origin_or_referer_is_taken_on_its_token(dashboard: Dashboard) -> None:
    form = form_for(dashboard, "expenses", "expense-3")
    assert post(dashboard.url, "/cancel", form).status == 303
    assert status(dashboard, "expenses", "expense-3") == "cancelled"


def test_the_token_belongs_to_one_server(dashboard: Dashboard) -> None:
    other = make_server(dashboard.store, "127.0.0.1", 0)
    try:
        assert other.csrf != dashboard.server.csrf
    finally:
        other.server_close()


def test_fork_of_a_failed_workflow_runs_from_the_failed_step(dashboard: Dashboard) -> None:
    form = form_for(dashboard, "orders", "order-2") | {"from_step": "2", "new_id": "order-2b"}
    broken["charge"] = False  # the bug is fixed; fork from the step it broke
    done = post(dashboard.url, "/fork", form, Origin=origin(dashboard.url))
    assert done.status == 303
    assert "id=order-2b" in done.headers["location"]
    forked = waku.get_workflow("orders", "order-2b", store=dashboard.store)
    assert forked is not None
    assert forked.status == "succeeded"
    assert forked.result == "shipped 2: "
    assert [s.attempts for s in forked.steps if s.step > 0] == [0, 1, 1]  # step 1 reused
    assert status(dashboard, "orders", "order-2") == "failed"


def test_resume_of_a_failed_workflow_retries_it(dashboard: Dashboard) -> None:
    form = form_for(dashboard, "orders", "order-2")
    broken["charge"] = False
    done = post(dashboard.url, "/resume", form, Origin=origin(dashboard.url))
    assert done.status == 303
    assert status(dashboard, "orders", "order-2") == "succeeded"
    assert "Resumed" in get(dashboard.url, done.headers["location"]).body


def test_an_action_that_fails_says_why(dashboard: Dashboard) -> None:
    waku.run_workflow(
        "adhoc", lambda: waku.step(int, "x"), workflow_id="a-1", store=dashboard.store
    )
    form = form_for(dashboard, "adhoc", "a-1")
    done = post(dashboard.url, "/resume", form, Origin=origin(dashboard.url))
    page = unescape(get(dashboard.url, done.headers["location"]).body)
    assert re.search(r"Could not resume: UnknownWorkflowError: .*adhoc", page)
    assert status(dashboard, "adhoc", "a-1") == "failed"


def test_a_waiting_step_is_completed_with_its_token_and_a_json_payload(
    dashboard: Dashboard,
) -> None:
    form = form_for(dashboard, "expenses", "expense-3")
    wrong = form | {"token": tokens[-1][:-4] + "AAAA", "payload": '{"by": "eve"}'}
    refused = post(dashboard.url, "/complete", wrong, Origin=origin(dashboard.url))
    page = unescape(get(dashboard.url, refused.headers["location"]).body)
    assert "Could not deliver the callback: InvalidTokenError" in page
    not_json = form | {"token": tokens[-1], "payload": "{by: ana}"}
    refused = post(dashboard.url, "/complete", not_json, Origin=origin(dashboard.url))
    assert "the payload is not JSON" in get(dashboard.url, refused.headers["location"]).body
    assert status(dashboard, "expenses", "expense-3") == "waiting"

    right = form | {"token": tokens[-1], "payload": '{"by": "ana"}'}
    done = post(dashboard.url, "/complete", right, Origin=origin(dashboard.url))
    assert "Callback delivered" in get(dashboard.url, done.headers["location"]).body
    info = waku.get_workflow("expenses", "expense-3", store=dashboard.store)
    assert info is not None
    assert (info.status, info.result) == ("succeeded", "paid, approved by ana")


def test_a_waiting_step_is_failed_with_its_token_and_a_reason(dashboard: Dashboard) -> None:
    form = form_for(dashboard, "expenses", "expense-3") | {"token": tokens[-1], "reason": "no"}
    done = post(dashboard.url, "/fail", form, Origin=origin(dashboard.url))
    assert "Callback rejected" in get(dashboard.url, done.headers["location"]).body
    info = waku.get_workflow("expenses", "expense-3", store=dashboard.store)
    assert info is not None and info.error is not None
    assert (info.status, info.error.message) == ("failed", "no")


def test_a_callback_form_needs_the_servers_token_too(dashboard: Dashboard) -> None:
    form = form_for(dashboard, "expenses", "expense-3") | {"token": tokens[-1], "csrf": "x"}
    assert post(dashboard.url, "/complete", form).status == 403
    assert status(dashboard, "expenses", "expense-3") == "waiting"


def test_a_form_too_large_or_of_unknown_length_is_refused(dashboard: Dashboard) -> None:
    form = form_for(dashboard, "expenses", "expense-3")
    assert post(dashboard.url, "/cancel", form, **{"Content-Length": "70000"}).status == 413
    assert post(dashboard.url, "/cancel", form, **{"Content-Length": "-5"}).status == 400
    assert status(dashboard, "expenses", "expense-3") == "waiting"
