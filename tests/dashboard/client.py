"""Plain HTTP calls to a dashboard, with no redirects followed."""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


def call(
    base: str,
    method: str,
    path: str,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        body = None if form is None else urlencode(form)
        sent = dict(headers or {})
        if body is not None:
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        text = response.read().decode()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
    finally:
        connection.close()


def get(base: str, path: str, **headers: str) -> Response:
    return call(base, "GET", path, headers=headers)


def post(base: str, path: str, form: dict[str, str], **headers: str) -> Response:
    return call(base, "POST", path, form=form, headers=headers)


def origin(base: str) -> str:
    return base.rstrip("/")


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "the page has no form token"
    return match.group(1)
