"""The ZeroGPU test double (tests/zerogpu/spaces) behaves as spaces.GPU does on ZeroGPU hardware."""

from __future__ import annotations

import os
import pickle
import threading

import gradio as gr
import pytest
from zerogpu_support import zerogpu_spaces

counter = {"value": 0}  # module state: a worker's changes to it must not reach the test process


def where_and_count(step: int) -> tuple[int, int]:
    counter["value"] += step
    return os.getpid(), counter["value"]


def count_up(to: int):
    for value in range(to):
        yield os.getpid(), value


def sleep_for(seconds: float) -> str:
    threading.Event().wait(seconds)
    return "woke"


def fail(kind: str) -> None:
    if kind == "gradio":
        raise gr.Error("a sentence for the user")
    raise KeyError("a bug")


@pytest.fixture
def spaces():
    with zerogpu_spaces() as module:
        yield module


def test_calls_run_in_one_reused_forked_worker_whose_memory_stays_there(spaces) -> None:
    call = spaces.GPU(duration=30)(where_and_count)
    first_pid, first = call(1)
    second_pid, second = call(2)
    assert first_pid == second_pid != os.getpid()
    assert (first, second) == (1, 3)  # the worker keeps its own memory between calls
    assert counter["value"] == 0  # ... and none of it reaches the main process
    assert spaces.forks == 1 and spaces.calls == 2


def test_each_decorated_function_has_its_own_worker(spaces) -> None:
    one, other = spaces.GPU(where_and_count), spaces.GPU(where_and_count)
    assert one(1)[0] != other(1)[0]


def test_generators_send_back_each_value(spaces) -> None:
    values = list(spaces.GPU(duration=30)(count_up)(3))
    assert [value for _, value in values] == [0, 1, 2]
    assert len({pid for pid, _ in values}) == 1 and values[0][0] != os.getpid()


def test_arguments_that_do_not_pickle_fail_the_call(spaces) -> None:
    call = spaces.GPU(where_and_count)
    with pytest.raises((pickle.PicklingError, AttributeError), match="pickle"):
        call(lambda: 1)


def test_a_call_past_its_duration_is_aborted_and_the_next_call_gets_a_new_worker(spaces) -> None:
    call = spaces.GPU(duration=lambda seconds: 0.5 if seconds > 1 else 10)(sleep_for)
    with pytest.raises(gr.Error, match="aborted"):
        call(5)
    assert call(0) == "woke"
    assert spaces.forks == 2


def test_errors_come_back_as_gradio_errors(spaces) -> None:
    call = spaces.GPU(fail)
    with pytest.raises(gr.Error, match="a sentence for the user"):
        call("gradio")
    with pytest.raises(gr.Error, match="KeyError"):
        call("bug")


def die(code: int) -> None:
    os._exit(code)  # the worker dies without answering (a crash, the OOM killer)


def _zombie_workers() -> list[int]:
    """Worker processes (forks of this one, so not the ffmpeg decoders other tests leave open) that have
    exited but were never reaped (state Z)."""
    zombies = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                command, fields = stat.read().split("(", 1)[1].rsplit(")", 1)
        except OSError:
            continue
        state, parent = fields.split()[:2]
        if state == "Z" and int(parent) == os.getpid() and not command.startswith("ffmpeg"):
            zombies.append(int(name))
    return zombies


def test_killed_and_dead_workers_are_reaped(spaces) -> None:
    sleepy = spaces.GPU(duration=lambda seconds: 0.5 if seconds > 1 else 10)(sleep_for)
    with pytest.raises(gr.Error, match="ran past its duration"):
        sleepy(5)  # killed by the double
    with pytest.raises(gr.Error, match="the worker died"):
        spaces.GPU(duration=10)(die)(3)  # died on its own
    assert _zombie_workers() == []
