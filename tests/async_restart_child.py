"""A workflow process for test_async_restart: run, crash part-way, or resume.

Usage: python async_restart_child.py DB_PATH SCENARIO PHASE
(PHASE is ``crash`` or ``resume``; the crash phase dies with os._exit).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from typing import Any

import waku

PHASE = ""


async def a(x: int) -> str:
    if PHASE == "resume":
        raise AssertionError("step a ran again after the restart")
    await asyncio.sleep(0.05)  # finishes after b: numbering must not follow finish order
    return f"a{x}"


async def b(x: int) -> str:
    if PHASE == "resume":
        raise AssertionError("step b ran again after the restart")
    return f"b{x}"


async def join(parts: list[str]) -> str:
    if PHASE == "crash":
        os._exit(3)  # dies inside step 3, before its result is stored
    return "+".join(parts)


async def gathered() -> Any:
    parts = await asyncio.gather(waku.step(a, 1), waku.step(b, 2))
    return await waku.step(join, list(parts))


async def task_group() -> Any:
    async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined,unused-ignore]
        first = group.create_task(waku.step(a, 1))
        second = group.create_task(waku.step(b, 2))
    return await waku.step(join, [first.result(), second.result()])


def slow_report(x: int) -> str:
    if PHASE == "crash":
        threading.Event().wait()  # still running when the process dies
    return f"report {x}"


def background() -> Any:
    return waku.pipe(1, waku.step_async(slow_report), waku.step(str.upper))


def main() -> None:
    global PHASE
    url, scenario, PHASE = sys.argv[1:4]
    store = waku.set_store(url)
    if scenario == "background":
        result = waku.run_workflow("restart-bg", background, workflow_id="bg", store=store)
        if PHASE == "crash":
            os._exit(3)  # the background step is still running
        final = result.wait(30)
    else:
        body = gathered if scenario == "gather" else task_group
        final = asyncio.run(
            waku.run_workflow_async(f"restart-{scenario}", body, workflow_id="x", store=store)
        )
    print(json.dumps({"result": final.result, "latest_step": final.latest_step}))


if __name__ == "__main__":
    main()
