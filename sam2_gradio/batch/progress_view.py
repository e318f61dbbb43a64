"""The batch on the console: a `rich` progress row per project (frames done / total, fps, state), one
row for the whole batch with the time left, a line when a project ends, and the summary at the end.

    with ProgressView(jobs) as view:
        result = run_batch(jobs, settings, on_status=view.update)
    for line in summary_lines(result):
        print(line)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from sam2_gradio.batch.runner import BatchResult
from sam2_gradio.batch.work import ProjectJob, ProjectStatus
from sam2_gradio.jobs import format_duration

STATE_WORDS = {"current": "already current"}  # how a state reads on the console, where not its name


def time_left(statuses: Iterable[ProjectStatus]) -> float | None:
    """Seconds until every project is over at the present speed: the frames left (a project whose
    length is not known yet counted as the mean of those known) over the summed fps of the projects
    tracking now. None while no project tracks."""
    statuses = list(statuses)
    known = [status.total for status in statuses if status.total]
    speed = sum(status.fps for status in statuses if status.state == "tracking")
    if not known or speed <= 0:
        return None
    mean = sum(known) / len(known)
    left = sum((status.total or mean) - status.frames_done for status in statuses if not status.final)
    return max(left, 0.0) / speed


def status_text(status: ProjectStatus) -> str:
    """One line for a project that ended: "dog: done, 118 frames in 12.1 fps (continued at frame 40)"."""
    name = Path(status.folder).name
    if status.state == "failed":
        return f"{name}: failed: {status.reason}"
    if status.state == "current":
        return f"{name}: already current ({status.total} frames)"
    line = f"{name}: {status.state}, {status.frames_tracked} frames tracked at {status.fps:.1f} fps"
    if status.resumed_at is not None:
        line += f" (continued at frame {status.resumed_at})"
    return line


def summary_lines(result: BatchResult) -> list[str]:
    """The end of a batch in words: how many projects were done, already current and failed (each
    failure with its reason), and the wall time."""
    lines = [
        f"done: {len(result.done)}, already current: {len(result.current)}, failed: {len(result.failed)} "
        f"({len(result.statuses)} projects in {format_duration(result.seconds)})"
    ]
    lines += [f"  failed {Path(status.folder).name}: {status.reason}" for status in result.failed]
    return lines


class ProgressView:
    """A live `rich` view of a batch; give `update` to `run_batch` as its `on_status`."""

    def __init__(self, jobs: Sequence[ProjectJob], console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[frames]}"),
            TextColumn("{task.fields[speed]}"),
            TextColumn("{task.fields[state]}"),
            console=console,
        )
        self._statuses = {job.folder: ProjectStatus(job.folder, "waiting") for job in jobs}
        self._rows: dict[str, TaskID] = {}
        self._overall = self._progress.add_task(
            "all projects", total=len(jobs), frames="", speed="", state=""
        )
        for job in jobs:
            self._rows[job.folder] = self._progress.add_task(
                job.name, total=None, frames="", speed="", state="waiting"
            )

    def __enter__(self) -> ProgressView:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def update(self, status: ProjectStatus) -> None:
        """Show `status` (a project's statuses after its final one are ignored)."""
        if self._statuses[status.folder].final:
            return
        self._statuses[status.folder] = status
        self._progress.update(
            self._rows[status.folder],
            completed=status.frames_done,
            total=status.total or None,
            frames=f"{status.frames_done}/{status.total or '?'}",
            speed=f"{status.fps:.1f} fps" if status.state == "tracking" else "",
            state=STATE_WORDS.get(status.state, status.state),
        )
        if status.final:
            self._progress.console.print(status_text(status))
        left = time_left(self._statuses.values())
        ended = sum(status.final for status in self._statuses.values())
        self._progress.update(
            self._overall,
            completed=ended,
            frames=f"{ended}/{len(self._statuses)} projects",
            state="" if left is None else f"{format_duration(left)} left",
        )
