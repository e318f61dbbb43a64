"""`app.live_job.stream`: a blocking call's reports reach a generator in order, in bursts, then its result."""

from __future__ import annotations

import threading

import pytest

from sam2_gradio.app.live_job import Finished, last_of, stream


def test_every_emitted_value_arrives_in_order_then_the_result() -> None:
    def work(emit) -> str:
        for value in range(5):
            emit(value)
        return "done"

    bursts = list(stream(work))
    events = [event for burst in bursts for event in burst]
    assert events[:-1] == [0, 1, 2, 3, 4]
    assert events[-1] == Finished("done")
    assert all(bursts)  # no empty burst


def test_values_emitted_while_the_consumer_is_busy_come_as_one_burst() -> None:
    consumer_busy, emitted = threading.Event(), threading.Event()

    def work(emit) -> None:
        emit("first")
        consumer_busy.wait(10)
        for value in ("a", "b", "c"):
            emit(value)
        emitted.set()

    bursts = stream(work)
    assert next(bursts) == ["first"]
    consumer_busy.set()
    emitted.wait(10)
    rest = next(bursts)
    assert rest[:3] == ["a", "b", "c"] and last_of(rest, str) == "c"
    assert isinstance(rest[-1], Finished) or next(bursts) == [Finished(None)]


def test_an_exception_of_the_job_is_raised_in_the_consumer() -> None:
    def work(emit) -> None:
        emit(1)
        raise KeyError("inside the job")

    bursts = stream(work)
    with pytest.raises(KeyError, match="inside the job"):
        for _ in bursts:
            pass


def test_last_of_picks_the_latest_value_of_a_kind() -> None:
    assert last_of([1, "x", 2, "y"], int) == 2
    assert last_of(["x"], int) is None
