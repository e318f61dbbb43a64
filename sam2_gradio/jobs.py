"""What every long job shares: user-facing errors, progress reports and cancellation (no heavy imports).

`UserError` is the base of every error the user can fix: a bad value (`BadInput`, also a `ValueError`),
or a step not taken yet (`NotReady`, also a `RuntimeError`), each with a one-sentence message. The CLIs
print it and exit 2, the app shows it; any other exception is a bug or a failure of the machine and keeps
its traceback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class UserError(Exception):
    """A problem the user can fix (bad input, missing weights, a refused upload); the message says what."""


class BadInput(UserError, ValueError):
    """A value, file or option the user gave that cannot be used; the message names it."""


class NotReady(UserError, RuntimeError):
    """An action asked for before the step it needs (open a video, click, fetch weights); the message
    names that step."""


class Cancelled(RuntimeError):
    """The job was cancelled by its caller; nothing it was writing is kept."""


class CancelFlag(Protocol):
    """Anything with `is_set()`, such as `threading.Event`."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Progress:
    """Where a long job stands."""

    frames_done: int  # frames finished so far
    total: int  # frames the job will finish
    seconds: float  # wall time since the previous report
    fps: float  # frames per second since the previous report
    stage: str = ""  # which part of the job, e.g. "propagate" or "preview"


ProgressCallback = Callable[[Progress], None]


def raise_if_cancelled(cancel: CancelFlag | None, what: str) -> None:
    """Raise `Cancelled` naming `what` when `cancel` is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{what} was cancelled")


class ProgressMeter:
    """Counts finished frames and reports `Progress` every `every` frames and at the end."""

    def __init__(self, total: int, every: int, progress: ProgressCallback | None) -> None:
        self.total = total  # frames the job will finish
        self.every = max(1, every)  # frames between reports
        self.progress = progress  # where reports go (None: nowhere)
        self.done = 0  # frames finished so far
        self._last_report = (0, time.perf_counter())  # (frames done, time) at the previous report

    def frame_done(self) -> None:
        """Count one finished frame, reporting when a batch is complete."""
        self.done += 1
        if self.progress is None or (self.done % self.every and self.done != self.total):
            return
        frames_before, started = self._last_report
        now = time.perf_counter()
        seconds = now - started
        fps = (self.done - frames_before) / seconds if seconds > 0 else 0.0
        self.progress(Progress(self.done, self.total, seconds, fps))
        self._last_report = (self.done, now)
