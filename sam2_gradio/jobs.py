"""What every long job shares: progress reports (one callback shape, `ProgressCallback`), cancellation
and step sizing (no heavy imports; the errors a user may read are in `errors`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from sam2_gradio import config

Clock = Callable[[], float]  # seconds, monotonic (time.perf_counter)


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
    eta_seconds: float | None = None  # time left at the job's average speed so far (None: unknown)


ProgressCallback = Callable[[Progress], None]


def with_stage(progress: ProgressCallback | None, stage: str) -> ProgressCallback | None:
    """`progress` with every report's `stage` set to `stage` (None stays None)."""
    if progress is None:
        return None
    return lambda report: progress(replace(report, stage=stage))


def raise_if_cancelled(cancel: CancelFlag | None, what: str) -> None:
    """Raise `Cancelled` naming `what` when `cancel` is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{what} was cancelled")


def format_duration(seconds: float) -> str:
    """`seconds` as M:SS, or H:MM:SS from an hour on (rounded to whole seconds)."""
    minutes, secs = divmod(round(max(seconds, 0.0)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_progress(report: Progress) -> str:
    """One line for a log, a progress bar or the app's status: "Tracking 120/500 frames (24%) | 12.3 fps |
    0:31 left" (the stage, capitalised, first)."""
    percent = 100 * report.frames_done // report.total if report.total else 100
    line = f"{report.frames_done}/{report.total} frames ({percent}%) | {report.fps:.1f} fps"
    if report.eta_seconds is not None:
        line += f" | {format_duration(report.eta_seconds)} left"
    return f"{report.stage.capitalize()} {line}" if report.stage else line


class ProgressMeter:
    """Counts finished frames and reports `Progress` every `every` frames and at the end.

    With `every=None` it reports only when `report()` is called (e.g. once per propagation step).
    `done` counts frames finished before this meter started (a resumed job); they do not count
    towards its speed.
    """

    def __init__(
        self,
        total: int,
        every: int | None,
        progress: ProgressCallback | None,
        *,
        done: int = 0,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.total = total  # frames the job will finish
        self.every = None if every is None else max(1, every)  # frames between reports
        self.progress = progress  # where reports go (None: nowhere)
        self.done = done  # frames finished so far
        self.clock = clock  # where time comes from
        self._start = (done, clock())  # (frames done, time) when the meter started
        self._last_report = self._start  # (frames done, time) at the previous report

    def frame_done(self) -> None:
        """Count one finished frame, reporting when a batch of `every` frames is complete."""
        self.done += 1
        if self.every is not None and (self.done % self.every == 0 or self.done == self.total):
            self.report()

    def seconds_since_report(self) -> float:
        """Seconds since the last report (or the start)."""
        return self.clock() - self._last_report[1]

    def report(self) -> None:
        """Report where the job stands now."""
        if self.progress is None:
            return
        frames_before, last = self._last_report
        now = self.clock()
        seconds = now - last
        fps = (self.done - frames_before) / seconds if seconds > 0 else 0.0
        self.progress(Progress(self.done, self.total, seconds, fps, eta_seconds=self._eta(now)))
        self._last_report = (self.done, now)

    def _eta(self, now: float) -> float | None:
        frames_at_start, started = self._start
        frames, seconds = self.done - frames_at_start, now - started
        if frames <= 0 or seconds <= 0:
            return None
        return (self.total - self.done) * seconds / frames


class StepSizer:
    """How many frames the next step of a job should do so that a step takes about `target_seconds`.

    Measures the seconds per frame of the previous steps (an exponential average, so one slow step
    does not halve the next one) and clamps the step to [1, `max_frames`]. The first step does
    `first_frames`. Use `begin()` before a step (it returns the step's frame count) and `end(frames)`
    after it.
    """

    SMOOTHING = 0.5  # weight of the latest step in the average

    def __init__(
        self,
        max_frames: int,
        target_seconds: float | None = None,
        *,
        first_frames: int = 1,
        clock: Clock = time.perf_counter,
    ) -> None:
        if max_frames < 1:
            raise ValueError(f"max_frames must be at least 1, got {max_frames}")
        self.max_frames = max_frames  # the longest step
        if target_seconds is None:
            target_seconds = config.STEP_SECONDS
        self.target_seconds = target_seconds
        if self.target_seconds <= 0:
            raise ValueError(f"the step time must be positive, got {self.target_seconds} s")
        self.first_frames = first_frames  # frames of the first step (nothing measured yet)
        self.clock = clock  # where time comes from
        self.seconds_per_frame: float | None = None  # the average so far (None before any step)
        self._started: float | None = None  # when the step under way began

    def frames(self) -> int:
        """Frames of the next step."""
        if self.seconds_per_frame is None:
            wanted = self.first_frames
        elif self.seconds_per_frame <= 0:
            wanted = self.max_frames
        else:
            wanted = int(self.target_seconds / self.seconds_per_frame)
        return min(max(wanted, 1), self.max_frames)

    def begin(self) -> int:
        """Start timing a step; returns how many frames it should do."""
        self._started = self.clock()
        return self.frames()

    def end(self, frames: int) -> None:
        """Finish timing the step begun last, which did `frames` frames."""
        if self._started is None:
            raise RuntimeError("StepSizer.end() without begin(): call begin() before each step")
        seconds, self._started = self.clock() - self._started, None
        if frames > 0:
            self.record(frames, seconds)

    def record(self, frames: int, seconds: float) -> None:
        """Count a step of `frames` frames that took `seconds`."""
        latest = seconds / frames
        previous = self.seconds_per_frame
        self.seconds_per_frame = (
            latest if previous is None else previous + self.SMOOTHING * (latest - previous)
        )
