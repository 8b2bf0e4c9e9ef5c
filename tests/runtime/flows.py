"""Module-level workflows and steps for the runtime tests (found again by name)."""

from __future__ import annotations

import threading
from typing import Any

import waku

calls: list[str] = []
gate = threading.Event()


@waku.step
def fetch(order_id: int, *, currency: str = "EUR") -> dict[str, Any]:
    calls.append(f"fetch {order_id}")
    return {"id": order_id, "amount": order_id * 10, "currency": currency}


@waku.step(name="charge-card")
def charge(order: dict[str, Any], attempt_fail: bool = False) -> str:
    calls.append(f"charge {order['id']}")
    if attempt_fail:
        raise ConnectionError("card service down")
    return f"charged {order['amount']} {order['currency']}"


@waku.workflow
def checkout(order_id: int, currency: str = "EUR", fail: bool = False) -> str:
    order = fetch(order_id, currency=currency)
    return charge(order, fail)


@waku.workflow(name="mixed-styles")
def mixed(x: int) -> Any:
    doubled = waku.step(lambda v: v * 2, x)
    return waku.pipe(doubled, waku.step(boom), waku.else_(lambda error: f"handled {error}"))


def boom(value: int) -> int:
    raise ValueError(f"boom {value}")


@waku.step
def wait_for_gate(x: int) -> int:
    calls.append(f"gate {x}")
    gate.wait(10)
    return x


@waku.step
def plus(x: int) -> int:
    calls.append(f"plus {x}")
    return x + 1


@waku.workflow
def gated(x: int) -> int:
    return plus(plus(wait_for_gate(x)))


@waku.workflow
async def async_checkout(order_id: int) -> str:
    order = await async_fetch(order_id)
    return f"async {order['amount']}"


@waku.step
async def async_fetch(order_id: int) -> dict[str, Any]:
    calls.append(f"async fetch {order_id}")
    return {"amount": order_id}
