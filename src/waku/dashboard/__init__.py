"""A web dashboard over a store's workflows: ``waku ui``, or ``serve(store)``.

It lists workflows with counts per status, filters and pages them, and
shows each one's steps on a timeline with their inputs, outputs and errors.
Resume, cancel and fork are buttons (POST forms guarded against cross-site
request forgery). It uses the standard library only, and Waku's public API.
"""

from __future__ import annotations

import sys

import waku

from ._server import DashboardServer


def make_server(
    store: waku.StepStore, host: str = "127.0.0.1", port: int = 8321
) -> DashboardServer:
    """A dashboard server bound to ``host:port`` (port 0: any free one), not yet serving.

    Call ``serve_forever()`` (on a thread, for tests) and ``shutdown()`` then
    ``server_close()`` to stop it; ``url`` is its address.
    """
    return DashboardServer(store, host, port)


def serve(store: waku.StepStore, *, host: str = "127.0.0.1", port: int = 8321) -> None:
    """Serve the dashboard for ``store`` on ``host:port`` until interrupted (Ctrl+C).

    Binds 127.0.0.1 by default. The dashboard has no login: anyone who can
    reach the address can cancel and fork workflows, so bind another host
    only on a network you trust.
    """
    server = make_server(store, host, port)
    print(f"Waku dashboard on {server.url} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


__all__ = ["DashboardServer", "make_server", "serve"]
