"""Propagation as the Segment tab runs it: live frames, the model shared per step, cancel keeps what was
tracked, Continue equals an uninterrupted run, and results marked out of date after an edit."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sam2_gradio.app import segment_actions as actions
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.sessions import BrowserSession, SessionStore
from sam2_gradio.engine.options import SegmentOptions
from sam2_gradio.engine.tracking.track_project import FrameTracked
from sam2_gradio.media.mask_files import load_mask_set

pytestmark = pytest.mark.slow

NUM_FRAMES = 12
OPTIONS = SegmentOptions(direction="forward", batch_size=2)


@pytest.fixture
def app_model(random_model) -> AppModel:
    return AppModel(random_model.settings, model=random_model)


@pytest.fixture
def store(tmp_path) -> SessionStore:
    return SessionStore(tmp_path / "sessions")


@pytest.fixture
def clip(make_video) -> Path:
    return make_video("clip.mp4", NUM_FRAMES, fps=10)


def _opened(store: SessionStore, name: str, clip: Path, app_model: AppModel) -> BrowserSession:
    session = store.get(name)
    actions.open_video(session, clip, app_model)
    actions.add_click(session, 0, 1, 20, 20, positive=True)
    return session


def _masks_by_frame(zip_path: Path) -> dict[int, np.ndarray]:
    """Object 1's mask coverage on every frame of a masks zip."""
    mask_set = load_mask_set(zip_path)
    try:
        return {frame: files[1].coverage() for frame, files in mask_set.frames.items() if 1 in files}
    finally:
        mask_set.close()


def test_cancel_keeps_the_tracked_frames_and_continue_equals_an_uninterrupted_run(store, clip, app_model):
    session = _opened(store, "a", clip, app_model)
    complete = actions.propagate(session, OPTIONS)
    expected = _masks_by_frame(complete.masks_zip)

    def cancel_at_frame_5(tracked: FrameTracked) -> None:
        if tracked.frame == 5:
            session.cancel_flag("segment").set()

    session = _opened(store, "b", clip, app_model)  # the same prompts in a new project: a new run
    partial = actions.propagate(session, OPTIONS, watch=cancel_at_frame_5)
    assert partial.partial and partial.tracked.start == 0 and 6 <= partial.tracked.stop < NUM_FRAMES
    assert partial.masks_zip.name.endswith("_partial.zip")
    with zipfile.ZipFile(partial.masks_zip) as archive:
        frames_in_zip = {name for name in archive.namelist() if name.startswith("combined/")}
    assert len(frames_in_zip) == len(partial.tracked)
    assert "Partial" in actions.results_note(session)

    resumed = actions.propagate(session, OPTIONS, resume=True)
    assert not resumed.partial and resumed.tracked == range(NUM_FRAMES)
    got = _masks_by_frame(resumed.masks_zip)
    assert got.keys() == expected.keys()
    for frame, mask in expected.items():
        np.testing.assert_array_equal(got[frame], mask, err_msg=f"frame {frame}")
    assert actions.results_note(session) == ""


def test_results_are_marked_out_of_date_after_an_edit(store, clip, app_model):
    session = _opened(store, "a", clip, app_model)
    actions.propagate(session, OPTIONS)
    assert actions.results_note(session) == ""
    actions.add_click(session, 3, 1, 30, 20, positive=False)
    assert "Out of date" in actions.results_note(session)


def test_every_tracked_frame_is_watched_and_an_edit_during_the_run_outdates_it(store, clip, app_model):
    session = _opened(store, "a", clip, app_model)
    seen: list[int] = []
    notes: list[str] = []

    def click_during_the_run() -> None:  # as the page would: another thread, served between steps
        actions.add_click(session, 5, 1, 30, 20, positive=True)
        notes.append(actions.results_note(session))

    clicker = threading.Thread(target=click_during_the_run)

    def watch(tracked: FrameTracked) -> None:
        seen.append(tracked.frame)
        assert tracked.frame in tracked.tracked
        stored = session.project.frame_masks(tracked.frame)  # committed before it is watched
        assert all(np.array_equal(stored.get(obj, mask), mask) for obj, mask in tracked.masks.items())
        if tracked.frame > 0:  # the frame view draws the frames tracked so far from the store
            assert session.segment.tracked_masks(tracked.frame - 1).keys() == {1}
        if tracked.frame == 1:
            clicker.start()

    actions.propagate(session, OPTIONS, watch=watch)
    clicker.join(60)
    assert seen == list(range(NUM_FRAMES))
    assert 5 in session.segment.prompts.clicks  # the user's own click was taken
    assert "Out of date" in notes[0] and "Out of date" in actions.results_note(session)


def test_another_sessions_click_is_served_while_a_propagation_runs(store, clip, app_model):
    """The model is held one step at a time: B's click does not wait for A's whole run."""
    a, b = _opened(store, "a", clip, app_model), _opened(store, "b", clip, app_model)
    tracked_when_b_was_served: list[int] = []
    frames_a = []
    b_may_click = threading.Event()

    def watch(tracked: FrameTracked) -> None:
        frames_a.append(tracked.frame)
        b_may_click.set()

    options = SegmentOptions(batch_size=1)
    run = threading.Thread(target=actions.propagate, args=(a, options), kwargs={"watch": watch})
    run.start()
    assert b_may_click.wait(120)
    actions.add_click(b, 2, 1, 30, 30, positive=True)
    tracked_when_b_was_served.append(len(frames_a))
    run.join(300)
    assert tracked_when_b_was_served[0] < NUM_FRAMES, "B's click waited for A's whole propagation"
    assert len(frames_a) == NUM_FRAMES


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_live_view_follows_the_run_until_the_user_picks_a_frame(store, clip, app_model, tmp_path):
    session = _opened(store, "a", clip, app_model)
    clock = _Clock()
    view = actions.LiveView(session, clock=clock)

    def tracked(frame: int) -> FrameTracked:
        masks = {1: np.zeros((48, 64), dtype=bool)}
        return FrameTracked(frame=frame, tracked=range(0, frame + 1), masks=masks)

    image, move_to = view.redraw(tracked(0))
    assert move_to == 0 and image.shape[:2] == (48, 64)
    assert view.redraw(tracked(1)) is None  # too soon after the last redraw
    clock.now += 1
    assert view.redraw(tracked(2))[1] == 2
    actions.view_frame(session, 6)  # the user picks frame 6: the slider is no longer moved
    clock.now += 1
    assert view.redraw(tracked(3)) is None  # frame 6 is not tracked yet
    clock.now += 1
    image, move_to = view.redraw(tracked(6))
    assert move_to is None and view.frame == 6
    clock.now += 1
    assert view.redraw(tracked(7)) is None  # frame 6 was redrawn once it was tracked
