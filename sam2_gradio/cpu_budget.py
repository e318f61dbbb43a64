"""A CPU-time budget for reading one untrusted input: the limits of `sam2_gradio.limits` bound what a file
may declare before any work; this bounds the work itself, whatever the input found to make it slow.

A parser opens ``parse_budget("masks zip x.zip")`` around its work and calls ``check_parse_budget()`` at
its natural checkpoints (each RLE string, zip entry, PNG, JSON item). The budget counts the CPU time of
the calling thread (``time.thread_time``), so time spent waiting (for the model lock, for the GIL, for
another session's request) is not charged, and each thread (one request of the app, one CLI run) has its
own. A budget opened inside another on the same thread is part of it: reading a state file and decoding
its RLE masks, or an objects file and the keyframe files it names, share one budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sam2_gradio import config
from sam2_gradio.errors import BadInput

Clock = Callable[[], float]  # seconds of CPU of the calling thread, from any origin
# Wall seconds between two reads of the thread's CPU clock: a read is a system call (up to 3 us on a busy
# VM, more than checking one zip entry), and CPU time never runs ahead of wall time, so a budget is
# overrun by at most this much.
_READ_EVERY = 0.005


@dataclass
class _Budget:
    """The open budget of one thread: what is read, the CPU seconds it may take, and its clock."""

    what: str  # names the input in the refusal ("state file s.json")
    seconds: float
    clock: Clock
    start: float  # the clock when the budget was opened
    read_every: float  # wall seconds between two reads of `clock` (0: at every check)
    next_read: float = 0.0  # `time.monotonic()` from which a check reads `clock` again


_open = threading.local()  # `budget`: the thread's open _Budget, if any


@contextmanager
def parse_budget(what: str, *, seconds: float | None = None, clock: Clock | None = None) -> Iterator[None]:
    """Bound the CPU time the calling thread spends until the block exits, checked by
    ``check_parse_budget``; inside an open budget of the same thread, the outer budget goes on counting.

    Args:
        what: the input read, as the refusal names it.
        seconds: the budget; ``config.MAX_PARSE_CPU_SECONDS`` by default.
        clock: the thread's CPU clock, read at every check; by default ``time.thread_time``, read at most
            every ``_READ_EVERY`` seconds.
    """
    if getattr(_open, "budget", None) is not None:
        yield
        return
    limit = config.MAX_PARSE_CPU_SECONDS if seconds is None else seconds
    if clock is None:
        _open.budget = _Budget(what, limit, time.thread_time, time.thread_time(), _READ_EVERY)
    else:
        _open.budget = _Budget(what, limit, clock, clock(), 0.0)
    try:
        yield
    finally:
        _open.budget = None


def check_parse_budget() -> None:
    """Raise `BadInput` when the calling thread's open budget is spent (nothing without one)."""
    budget: _Budget | None = getattr(_open, "budget", None)
    if budget is None:
        return
    now = time.monotonic()
    if now < budget.next_read:
        return
    budget.next_read = now + budget.read_every
    if budget.clock() - budget.start > budget.seconds:
        spent = f"{budget.what} took more than {budget.seconds:g} s of CPU to read"
        raise BadInput(f"{spent}; give a smaller or simpler file")
