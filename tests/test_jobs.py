"""Progress reports, their one-line form with the time left, and the step-length controller (no timing)."""

from __future__ import annotations

import pytest

from sam2_gradio.jobs import Progress, ProgressMeter, StepSizer, format_duration, format_progress


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
    assert format_progress(report) == "propagate 120/500 frames (24%) | 12.3 fps | 0:31 left"
    assert format_progress(Progress(5, 5, 1.0, 2.0)) == "5/5 frames (100%) | 2.0 fps"
