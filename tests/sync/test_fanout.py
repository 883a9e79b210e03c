"""The run's thread pool: results in completion order, and a close() that never leaves a
caller waiting forever on calls it cancelled (a stopped run must end)."""

from __future__ import annotations

import threading
import time

import pytest

from zoomsync.sync.fanout import FanOut, FanOutClosed


def test_results_arrive_as_calls_finish() -> None:
    fan = FanOut(4)
    try:
        got = {item: future.result() for item, future in fan.map(lambda i: i * i, range(10))}
    finally:
        fan.close()
    assert got == {i: i * i for i in range(10)}


def test_close_wakes_a_caller_waiting_on_calls_it_cancelled() -> None:
    fan = FanOut(1)
    gate = threading.Event()
    seen: list[int] = []
    ended: list[BaseException] = []

    def slow(item: int) -> int:
        gate.wait(5)
        return item

    def consume() -> None:
        try:
            for _item, future in fan.map(slow, range(3)):
                seen.append(future.result())
        except BaseException as exc:  # what the caller's thread ends with
            ended.append(exc)

    caller = threading.Thread(target=consume)
    caller.start()
    time.sleep(0.2)  # item 0 runs, items 1 and 2 wait in the pool's queue
    fan.close()  # the run stops: 1 and 2 are cancelled
    gate.set()
    caller.join(5)
    assert not caller.is_alive(), "the caller still waits on calls close() cancelled"
    assert seen in ([], [0])  # the running call's result, if it came before the stop
    assert len(ended) == 1 and isinstance(ended[0], FanOutClosed)


def test_a_closed_pool_refuses_new_calls() -> None:
    fan = FanOut(1)
    fan.close()
    with pytest.raises(FanOutClosed):
        next(iter(fan.map(lambda i: i, [1])))
