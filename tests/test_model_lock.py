"""The model's lock serves callers in arrival order, so a click waits for one propagation step at most."""

from __future__ import annotations

import threading
import time

from sam2_gradio.engine.model.predictor import FairLock


def _wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _take(lock: FairLock, name: str, order: list[str]) -> threading.Thread:
    def run() -> None:
        with lock:
            order.append(name)

    thread = threading.Thread(target=run)
    waiting = lock.waiting
    thread.start()
    _wait_until(lambda: lock.waiting == waiting + 1)  # it holds a ticket now
    return thread


def test_waiting_callers_get_the_lock_in_arrival_order() -> None:
    lock, order = FairLock(), []
    lock.acquire()
    threads = [_take(lock, name, order) for name in "abcdef"]
    assert lock.waiting == 6
    lock.release()
    for thread in threads:
        thread.join(10)
    assert order == list("abcdef")
    assert lock.waiting == 0


def test_a_holder_that_asks_again_goes_behind_those_already_waiting() -> None:
    """Two propagations stepping alternate (round robin) instead of one starving the other."""
    lock, order = FairLock(), []
    lock.acquire()  # propagation A's step 1
    click = _take(lock, "click", order)
    lock.release()
    with lock:  # A asks for its step 2 at once
        order.append("A step 2")
    click.join(10)
    assert order == ["click", "A step 2"]
