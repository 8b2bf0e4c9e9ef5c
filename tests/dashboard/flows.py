"""Registered workflows the dashboard tests put in a store: one succeeds, one fails, one waits."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import waku

tokens: list[str] = []
broken = {"charge": True}  # the bug a fork runs past once it is "fixed"


def reserve(order: dict[str, Any]) -> dict[str, Any]:
    time.sleep(0.03)
    return {**order, "reservation": f"R-{order['id']}"}


def charge(order: dict[str, Any]) -> dict[str, Any]:
    time.sleep(0.06)
    if order.get("card") == "declined" and broken["charge"]:
        raise ConnectionError(f"payment service refused order {order['id']}")
    return {**order, "charged": order["total"]}


def ship(order: dict[str, Any]) -> str:
    time.sleep(0.02)
    return f"shipped {order['id']}: {order.get('note', '')}"


def order_flow(order: dict[str, Any]) -> object:
    return waku.pipe(order, waku.step(reserve), waku.step(charge), waku.step(ship))


def ask_manager(expense: dict[str, Any]) -> None:
    tokens.append(waku.create_callback_token())


def pay(answer: dict[str, Any]) -> str:
    return f"paid, approved by {answer['by']}"


def expense_flow(expense: dict[str, Any]) -> object:
    return waku.pipe(expense, waku.step(reserve), waku.step(ask_manager), waku.step(pay))


def nap_flow(order: dict[str, Any]) -> object:
    return waku.pipe(order, waku.step(reserve), functools.partial(waku.sleep, 3600))


waku.register_workflow("orders", order_flow)
waku.register_workflow("naps", nap_flow)
waku.register_workflow("expenses", expense_flow)

SCRIPT = "<script>alert('owned')</script>"


def populate(store: waku.StepStore) -> None:
    """A succeeded, a failed and a waiting workflow, and one whose values hold a ``<script>``."""
    broken["charge"] = True
    run = waku.run_callback_workflow
    run("orders", {"id": 1, "total": 30}, workflow_id="order-1", store=store)
    run("orders", {"id": 2, "total": 99, "card": "declined"}, workflow_id="order-2", store=store)
    run("expenses", {"id": 3, "amount": 45}, workflow_id="expense-3", store=store)
    run("orders", {"id": 4, "total": 5, "note": SCRIPT}, workflow_id=SCRIPT, store=store)


def sqlite_store(folder: Path) -> waku.SQLiteStore:
    return waku.SQLiteStore(str(folder / "dashboard.db"))
