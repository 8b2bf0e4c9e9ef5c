"""Close a SQLiteStore while threads write and read it, many times over.

Run as a child process (``python -m tests.stores.close_race DIR TRIALS``) so
that a crash of the interpreter shows as its return code. Prints ``ok`` when
every trial held: calls in progress at ``close`` finished, calls after it were
refused with a StoreError naming the path, and the file holds exactly the
writes that returned.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from waku import SQLiteStore, StoreError

WRITERS = 4
READERS = 3


class Trial:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.store = SQLiteStore(db, durability="normal")
        self.closed = threading.Event()  # set once close() has returned
        self.problems: list[str] = []
        self.written: dict[str, set[int]] = {f"w{n}": set() for n in range(WRITERS)}
        self.woken: dict[str, float] = {}  # the last wake time each writer set
        self.start = threading.Barrier(WRITERS + READERS + 1)

    def call(self, fn: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
        """``(True, result)`` when ``fn(*args)`` succeeded; ``(False, None)`` once refused."""
        late = self.closed.is_set()
        try:
            result = fn(*args)
        except StoreError as error:
            if "is closed" not in str(error) or str(self.db) not in str(error):
                self.problems.append(f"unexpected {error!r}")
            return False, None
        except BaseException as error:
            self.problems.append(f"unexpected {error!r}")
            return False, None
        if late:
            self.problems.append(f"{fn.__name__} began after close() returned, yet succeeded")
        return True, result

    def writer(self, name: str) -> None:
        store, done = self.store, self.written[name]
        self.start.wait()
        for step in range(1, 1_000_000):
            if not self.call(store.store_start, "wf", name, step, b"S json m:f\n0")[0]:
                return
            if not self.call(store.store_result, "wf", name, step, b"R json m:f\n1")[0]:
                return
            done.add(step)
            if not self.call(store.set_workflow_status, "wf", name, "running", None, step)[0]:
                return
            self.woken[name] = step
            minted, token = self.call(store.store_result_token, "wf", name, -step)
            if not minted or not self.call(store.store_token_result, token, b"C json -\n1")[0]:
                return
            done.add(-step)
            if not self.call(store.acquire_lease, "wf", name, "me", 60)[0]:
                return
            if not self.call(store.release_lease, "wf", name, "me")[0]:
                return

    def reader(self, n: int) -> None:
        store, name = self.store, f"w{n}"
        self.start.wait()
        while (
            self.call(store.get_steps, "wf", name)[0]
            and self.call(store.get_result, "wf", name, 1)[0]
            and self.call(store.get_workflow_status, "wf", name)[0]
            and self.call(store.flush)[0]
        ):
            pass

    def run(self, delay: float) -> list[str]:
        threads = [threading.Thread(target=self.writer, args=(w,)) for w in self.written]
        threads += [threading.Thread(target=self.reader, args=(n,)) for n in range(READERS)]
        for thread in threads:
            thread.start()
        self.start.wait()
        time.sleep(delay)
        self.store.close()
        self.closed.set()
        for thread in threads:
            thread.join()
        self.check_file()
        return self.problems

    def check_file(self) -> None:
        with SQLiteStore(self.db) as again:
            for name, steps in self.written.items():
                if set(again.get_steps("wf", name)) != steps:
                    self.problems.append(f"{name}: the file does not hold exactly what returned")
        conn = sqlite3.connect(self.db)
        try:
            woken = dict(conn.execute("SELECT workflow_id, wake_at FROM workflows").fetchall())
        finally:
            conn.close()
        if {k: v for k, v in woken.items() if k in self.woken} != self.woken:
            self.problems.append(f"deferred statuses lost at close: {woken} != {self.woken}")


def main() -> None:
    folder, trials = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    for trial in range(trials):
        problems = Trial(folder / f"close-{trial}.db").run(rng.uniform(0.0, 0.004))
        if problems:
            print(f"trial {trial}:", *sorted(set(problems))[:5], sep="\n  ")
            raise SystemExit(1)
    print("ok")


if __name__ == "__main__":
    main()
