"""A process that traces a workflow failing, then resumed to success.

``python -m tests.tracing_child`` sets up the OpenTelemetry SDK with an
in-memory exporter (in a process of its own: a tracer provider is global),
and prints the finished spans and the ``waku`` log records as JSON.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import waku

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

records: list[logging.LogRecord] = []


class Keep(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        records.append(record)


logging.getLogger("waku").addHandler(Keep())
logging.getLogger("waku").setLevel(logging.DEBUG)
broken = True


def load(order: int) -> int:
    return order * 10


def charge(total: int) -> int:
    if broken:
        raise ConnectionError("payment service down")
    return total + 1


tries: list[int] = []


def flaky(x: int) -> int:
    tries.append(x)
    if len(tries) < 3:
        raise TimeoutError("try again")
    return x


def flow() -> Any:
    return waku.pipe(3, waku.step(load), waku.step(charge))


def main() -> None:
    global broken
    waku.set_store("memory://")
    waku.run_workflow("orders", flow, workflow_id="o-1")
    broken = False
    waku.run_workflow("orders", flow, workflow_id="o-1")
    waku.run_workflow("retried", lambda: waku.step(flaky, 5, retries=2, backoff=0.01))
    spans = [
        {
            "name": span.name,
            "id": span.context.span_id if span.context else None,
            "parent": span.parent.span_id if span.parent else None,
            "status": span.status.status_code.name,
            "attributes": dict(span.attributes or {}),
        }
        for span in exporter.get_finished_spans()
    ]
    fields = ("waku_workflow_name", "waku_workflow_id", "waku_step", "waku_attempt", "waku_outcome")
    logs = [{k: getattr(r, k, None) for k in fields} for r in records]
    print(json.dumps({"spans": spans, "logs": logs}))


if __name__ == "__main__":
    main()
