"""The Worker: claims queued, due and orphaned workflows and runs them.

Work is claimed through the store (``QueueStore.claim_workflows``), which
hands each workflow to one owner at a time and keeps per-queue concurrency
limits across every worker sharing the store. An idle worker waits on a
condition that an ``enqueue`` in its own process notifies at once; work from
other processes is found by polling every ``poll_interval`` seconds.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import FrameType, TracebackType

from ._config import resolve_store
from ._lifecycle import live_runs
from ._runtime import capability, new_work, run_claimed
from ._runtime import limits as checked_limits
from ._stores.base import ChangeSignal, QueueStore, StepStore, new_owner, traits
from ._stores.claims import queue_set

log = logging.getLogger("waku")

TICK = 0.01
"""Seconds between looks at a store's change counter while idle."""


class WorkerStopping(BaseException):
    """Raised at a run's next step when its worker stops: the workflow is left to resume."""


class Worker:
    """Runs the workflows of ``queues`` (and due and orphaned ones) from a shared store.

    ``concurrency`` workflows run at once in this worker; ``limits`` caps a
    queue across every worker of the store (``{"emails": 2}``). ``run()``
    blocks until SIGTERM or SIGINT; ``start()``/``stop()`` or ``with`` run it
    on a background thread. Stopping lets each running workflow finish its
    current step, then releases it for another worker; nothing is lost.
    Work enqueued in another process starts within ``poll_interval`` seconds,
    or within milliseconds on a store that signals changes (SQLite).
    """

    def __init__(
        self,
        store: StepStore | None = None,
        *,
        queues: Sequence[str] = ("default",),
        concurrency: int = 8,
        limits: Mapping[str, int] | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        queue_set(queues)  # refuses a lone string, as every claim would
        if concurrency < 1:
            raise ValueError(f"concurrency must be 1 or more, not {concurrency!r}")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, not {poll_interval!r}")
        self.store = resolve_store(store)
        self.queues = tuple(queues)
        self.concurrency = concurrency
        self.limits = checked_limits(limits)
        self.poll_interval = poll_interval
        self.owner = new_owner()
        self._claims: QueueStore = capability(self.store, QueueStore, "Worker")
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._running: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Worker(queues={self.queues!r}, concurrency={self.concurrency})"

    def run(self) -> None:
        """Run until ``stop()``, SIGTERM or SIGINT; then finish gracefully and return."""
        restore = self._handle_signals()
        try:
            self._loop()
        finally:
            restore()

    def start(self) -> Worker:
        """Run on a background thread; returns at once."""
        if self._thread is not None:
            raise RuntimeError(f"{self!r} was started already")
        self._thread = threading.Thread(target=self._loop, name="waku-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop claiming; running workflows stop at their next step and are released."""
        self._stopping.set()
        with new_work:
            new_work.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the loop -----------------------------------------------------------------

    def _loop(self) -> None:
        ttl = traits(self.store).lease_ttl
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="waku-worker") as pool:
            while not self._stopping.is_set():
                with self._lock:
                    free = self.concurrency - len(self._running)
                claimed = self._claim(free, ttl) if free > 0 else []
                for name, wid in claimed:
                    with self._lock:
                        self._running.add((name, wid))
                    pool.submit(self._run_one, name, wid).add_done_callback(_log_crash)
                if not claimed:
                    self._idle()
            self._halt_running()

    def _idle(self) -> None:
        """Wait until work may be there: an enqueue here, a commit elsewhere, or a poll.

        With a store that signals changes (``ChangeSignal``, e.g. SQLite's
        data version) the worker looks every ``TICK`` seconds at a counter
        that costs no disk read, and claims only when it moved.
        """
        signal = self.store if isinstance(self.store, ChangeSignal) else None
        tick = TICK if signal is not None else self.poll_interval
        seen = signal.change_counter() if signal is not None else None
        deadline = time.monotonic() + self.poll_interval
        while not self._stopping.is_set() and time.monotonic() < deadline:
            with new_work:
                if self._stopping.is_set() or new_work.wait(tick):
                    return  # an enqueue in this process, a finished run, or stop
            if signal is not None and signal.change_counter() != seen:
                return

    def _claim(self, free: int, ttl: float) -> list[tuple[str, str]]:
        try:
            return self._claims.claim_workflows(self.queues, self.owner, ttl, free, self.limits)
        except Exception:
            log.exception("%r could not claim work; trying again", self)
            self._stopping.wait(self.poll_interval)
            return []

    def _run_one(self, name: str, workflow_id: str) -> None:
        try:
            if self._stopping.is_set():
                return  # claimed as the worker stopped: its lease lapses for another
            run_claimed(self.store, name, workflow_id, self.owner)
        except WorkerStopping:
            log.info("stopped %s at a step boundary; it resumes elsewhere", name)
        except Exception:
            log.exception("running workflow %r id %r failed", name, workflow_id)
        finally:
            with self._lock:
                self._running.discard((name, workflow_id))
            with new_work:
                new_work.notify_all()  # a slot is free

    def _halt_running(self) -> None:
        with self._lock:
            running = list(self._running)
        for name, wid in running:
            for run in live_runs(self.store, name, wid):
                run.halt = WorkerStopping(f"{run.where()}: its worker is stopping")

    def _handle_signals(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return _nothing

        def on_signal(number: int, frame: FrameType | None) -> None:
            log.info("%r got signal %d: stopping gracefully", self, number)
            self.stop()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for number, handler in previous.items():
                signal.signal(number, handler)

        return restore


def _nothing() -> None:
    return None


def _log_crash(done: Future[None]) -> None:
    error = done.exception()
    if error is not None and not isinstance(error, WorkerStopping):
        log.error("a worker thread ended with %r", error)
