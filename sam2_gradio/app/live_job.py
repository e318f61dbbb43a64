"""Run a blocking library call in a thread and hand what it reports to a generator, burst by burst.

Gradio shows a long job's intermediate results only from a generator handler, while the library
reports them through plain callbacks (`progress=`, `watch=`). `stream(work)` runs `work(emit)` in a
thread and yields the values `work` passes to `emit`, in order, grouped in bursts: everything emitted
while the consumer was busy comes as one list, so a slow consumer (a page redrawing a frame) can show
the latest and skip the stale. The last burst ends with `Finished(result)`; an exception of `work` is
raised in the consuming thread.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Emit = Callable[[Any], None]


@dataclass(frozen=True)
class Finished(Generic[T]):
    """The job returned `value`; nothing follows it."""

    value: T


@dataclass(frozen=True)
class _Failed:
    error: BaseException


def stream(work: Callable[[Emit], T], *, name: str = "sam2-gradio-job") -> Iterator[list[Any]]:
    """Run `work(emit)` in a daemon thread; yield the emitted values in bursts, the last ending in `Finished`.

    Each burst holds at least one value: the consumer blocks until one comes (no polling). Stopping the
    iteration early does not stop `work`: give it a cancel flag and set that first.
    """
    events: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def run() -> None:
        try:
            events.put(Finished(work(events.put)))
        except BaseException as error:  # re-raised in the consumer, traceback and all
            events.put(_Failed(error))

    # The thread sees the event's context (gradio's request): `spaces.GPU` charges its calls to that user.
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), name=name, daemon=True).start()
    while True:
        burst = [events.get()]
        while not events.empty() and not isinstance(burst[-1], (Finished, _Failed)):
            burst.append(events.get())
        if isinstance(burst[-1], _Failed):
            raise burst[-1].error
        yield burst
        if isinstance(burst[-1], Finished):
            return


def last_of(burst: list[Any], kind: type[T]) -> T | None:
    """The last value of type `kind` in `burst`, or None."""
    return next((event for event in reversed(burst) if isinstance(event, kind)), None)
