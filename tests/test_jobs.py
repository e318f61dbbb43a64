"""The vocabulary of long jobs: progress reports every batch and at the end, cancellation, user errors."""

from __future__ import annotations

import threading

import pytest

from sam2_gradio import jobs
from sam2_gradio.jobs import Progress, ProgressMeter


def _count(meter: ProgressMeter, frames: int) -> None:
    for _ in range(frames):
        meter.frame_done()


def test_progress_is_reported_every_batch_and_at_the_last_frame():
    reports: list[Progress] = []
    meter = ProgressMeter(total=24, every=10, progress=reports.append)
    _count(meter, 24)
    assert [(report.frames_done, report.total) for report in reports] == [(10, 24), (20, 24), (24, 24)]
    assert all(report.seconds >= 0 and report.fps >= 0 for report in reports)
    assert meter.done == 24


def test_frames_per_second_count_only_the_frames_since_the_previous_report(monkeypatch):
    clock = iter([100.0, 102.0, 103.0])  # start, first report, second report
    monkeypatch.setattr(jobs.time, "perf_counter", lambda: next(clock))
    reports: list[Progress] = []
    meter = ProgressMeter(total=6, every=4, progress=reports.append)
    _count(meter, 6)
    assert [(report.frames_done, report.seconds, report.fps) for report in reports] == [
        (4, 2.0, 2.0),  # 4 frames in 2 s
        (6, 1.0, 2.0),  # 2 more frames in 1 s
    ]


def test_a_batch_of_zero_reports_every_frame_and_no_callback_reports_nothing():
    reports: list[Progress] = []
    _count(ProgressMeter(total=3, every=0, progress=reports.append), 3)
    assert [report.frames_done for report in reports] == [1, 2, 3]
    silent = ProgressMeter(total=3, every=1, progress=None)
    _count(silent, 3)
    assert silent.done == 3


def test_a_set_flag_cancels_naming_the_job():
    flag = threading.Event()
    jobs.raise_if_cancelled(flag, "rendering")
    jobs.raise_if_cancelled(None, "rendering")
    flag.set()
    with pytest.raises(jobs.Cancelled, match="rendering was cancelled"):
        jobs.raise_if_cancelled(flag, "rendering")


def test_user_errors_stay_the_value_and_runtime_errors_callers_already_catch():
    assert issubclass(jobs.BadInput, jobs.UserError) and issubclass(jobs.BadInput, ValueError)
    assert issubclass(jobs.NotReady, jobs.UserError) and issubclass(jobs.NotReady, RuntimeError)
    assert not issubclass(jobs.Cancelled, jobs.UserError)
