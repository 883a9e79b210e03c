"""Run one call per partition concurrently, yielding results as they finish.

Concurrency is what lets a sync reach the account's rate budget when each call waits on
the network; the pacer, not the pool size, decides how fast calls go out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from zoomsync.errors import RunStopped

T = TypeVar("T")
R = TypeVar("R")
POLL = 0.25  # seconds between looks for calls close() cancelled (see FanOut.map)


class FanOutClosed(RunStopped):
    """The run's pool was closed (the run is stopping) while a caller waited on its calls."""


class FanOut:
    """A thread pool shared by a run; `map` keeps at most `inflight` calls queued per caller."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zoomsync")
        self._closed = False

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, Future[R]]]:
        """Yield `(item, finished future)` in completion order; exceptions stay in the future."""
        pending: dict[Future[R], T] = {}
        source = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < self.workers * 2:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                if self._closed:
                    raise FanOutClosed("the run is stopping: no new calls are started")
                pending[self._pool.submit(fn, item)] = item
            if not pending:
                return
            done, _ = wait(pending, timeout=POLL, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future
            # A call close() cancelled before it started never counts as done for wait():
            # cancel() alone wakes no waiter (only an executor starting the call does), so
            # waiting on it would never end, and the process could not exit.
            if self._closed and any(f.cancelled() for f in pending):
                raise FanOutClosed("the run is stopping: calls not yet started were cancelled")

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
