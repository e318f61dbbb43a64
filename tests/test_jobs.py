"""The vocabulary of long jobs: progress reports and their one-line form, cancellation, user errors, and the
step-length controller (no timing: clocks are injected)."""

from __future__ import annotations

import threading

import pytest

from sam2_gradio import errors, jobs
from sam2_gradio.jobs import Progress, ProgressMeter, StepSizer, format_duration, format_progress


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


def test_frames_per_second_count_only_the_frames_since_the_previous_report():
    clock = iter([100.0, 102.0, 103.0])  # start, first report, second report
    reports: list[Progress] = []
    meter = ProgressMeter(total=6, every=4, progress=reports.append, clock=lambda: next(clock))
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
    assert issubclass(errors.BadInput, errors.UserError) and issubclass(errors.BadInput, ValueError)
    assert issubclass(errors.NotReady, errors.UserError) and issubclass(errors.NotReady, RuntimeError)
    assert not issubclass(jobs.Cancelled, errors.UserError)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _timed_step(sizer: StepSizer, clock: FakeClock, seconds_per_frame: float) -> int:
    frames = sizer.begin()
    clock.now += frames * seconds_per_frame
    sizer.end(frames)
    return frames


def test_steps_grow_to_the_target_time_from_one_frame():
    clock = FakeClock()
    sizer = StepSizer(32, target_seconds=1.0, clock=clock)
    assert _timed_step(sizer, clock, 0.1) == 1  # nothing measured yet
    assert sizer.frames() == 10  # 1 s / 0.1 s per frame


def test_steps_are_clamped_to_one_frame_and_to_the_batch():
    clock = FakeClock()
    fast = StepSizer(8, target_seconds=1.0, clock=clock)
    _timed_step(fast, clock, 0.001)
    assert fast.frames() == 8
    slow = StepSizer(8, target_seconds=1.0, clock=clock)
    _timed_step(slow, clock, 5.0)
    assert slow.frames() == 1


def test_a_change_of_speed_is_followed_through_an_average():
    clock = FakeClock()
    sizer = StepSizer(100, target_seconds=2.0, clock=clock)
    _timed_step(sizer, clock, 0.1)  # 0.1 s per frame
    assert _timed_step(sizer, clock, 0.3) == 20  # 2 s / 0.1
    # average: 0.1 + 0.5 * (0.3 - 0.1) = 0.2 s per frame
    assert sizer.seconds_per_frame == pytest.approx(0.2)
    assert sizer.frames() == 10


def test_a_step_that_did_nothing_teaches_nothing():
    clock = FakeClock()
    sizer = StepSizer(16, target_seconds=1.0, first_frames=3, clock=clock)
    sizer.begin()
    clock.now += 50.0
    sizer.end(0)
    assert sizer.seconds_per_frame is None and sizer.frames() == 3


def test_step_sizer_misuse_is_refused():
    with pytest.raises(ValueError, match="max_frames"):
        StepSizer(0)
    with pytest.raises(ValueError, match="step time"):
        StepSizer(4, target_seconds=0)
    with pytest.raises(RuntimeError, match="begin"):
        StepSizer(4).end(1)


def test_step_time_comes_from_the_environment(monkeypatch):
    from sam2_gradio import config

    monkeypatch.setattr(config, "STEP_SECONDS", 0.25)
    assert StepSizer(4).target_seconds == 0.25


def test_meter_reports_on_demand_with_speed_and_time_left():
    clock, reports = FakeClock(), []
    meter = ProgressMeter(100, None, reports.append, done=20, clock=clock)
    for _ in range(10):
        meter.frame_done()
    assert reports == []  # every=None: only report() reports
    clock.now += 2.0
    meter.report()
    (report,) = reports
    assert (report.frames_done, report.total) == (30, 100)
    assert report.fps == pytest.approx(5.0)  # 10 frames of this meter in 2 s; the 20 before do not count
    assert report.eta_seconds == pytest.approx(70 / 5.0)


def test_meter_every_n_frames_reports_batches_and_the_end():
    reports = []
    meter = ProgressMeter(7, 3, reports.append, clock=FakeClock())
    for _ in range(7):
        meter.frame_done()
    assert [report.frames_done for report in reports] == [3, 6, 7]
    assert reports[0].eta_seconds is None  # no time has passed on the fake clock


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00"), (59.4, "0:59"), (61, "1:01"), (3600, "1:00:00"), (3725, "1:02:05")]
)
def test_durations_read_as_clock_time(seconds, text):
    assert format_duration(seconds) == text


def test_progress_line_says_frames_speed_and_time_left():
    report = Progress(120, 500, 1.0, 12.34, stage="propagate", eta_seconds=31.2)
    assert format_progress(report) == "Propagate 120/500 frames (24%) | 12.3 fps | 0:31 left"
    assert format_progress(Progress(5, 5, 1.0, 2.0)) == "5/5 frames (100%) | 2.0 fps"
