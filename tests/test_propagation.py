"""Streaming propagation gives the official predictor's masks, whatever the batch size, in flat memory."""

from __future__ import annotations

import numpy as np
import pytest
from sam2_support import official_masks

from sam2_gradio.engine.tracking import propagation, steps
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.jobs import Cancelled
from sam2_gradio.media.frames import JpegFolderFrames

pytestmark = pytest.mark.slow


def _prompts(meta, clicks) -> PromptState:
    state = PromptState(video=meta)
    for frame, obj_id, x, y, label in clicks:
        state.add_click(frame, obj_id, x, y, label)
    return state


TWO_OBJECTS_WITH_CORRECTION = [
    (0, 1, 30, 60, 1),  # the disc
    (0, 2, 120, 40, 1),  # the box
    (0, 2, 20, 100, 0),
    (12, 1, 60, 20, 0),  # a negative correction click on a later frame
]


def _ours(model, source, prompts, direction, batch_size) -> dict:
    return {
        frame: masks
        for frame, _, masks in steps.propagate(
            model, source, prompts, direction=direction, batch_size=batch_size
        )
    }


def _assert_same(ours: dict, reference: dict) -> None:
    assert sorted(ours) == sorted(reference)
    mismatched = [frame for frame in reference if not np.array_equal(ours[frame], reference[frame])]
    assert mismatched == []
    assert any(masks.any() for masks in ours.values()), "masks are all empty: the comparison is vacuous"


@pytest.mark.parametrize("batch_size", [5, 7])
def test_forward_matches_official_predictor_for_batches_smaller_than_the_clip(
    random_model, scene_jpegs, batch_size
):
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _prompts(source.meta, TWO_OBJECTS_WITH_CORRECTION)
    reference = official_masks(random_model, scene_jpegs, prompts, "forward")
    _assert_same(_ours(random_model, source, prompts, "forward", batch_size), reference)


def test_object_first_prompted_later_matches_official(random_model, scene_jpegs):
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _prompts(source.meta, [(0, 1, 30, 60, 1), (9, 2, 120, 50, 1), (17, 2, 120, 70, 1)])
    reference = official_masks(random_model, scene_jpegs, prompts, "forward")
    ours = _ours(random_model, source, prompts, "forward", 4)
    _assert_same(ours, reference)
    assert list(ours) == list(range(24))


@pytest.mark.parametrize("direction", ["backward", "both"])
def test_backward_and_both_match_official(random_model, scene_jpegs, direction):
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _prompts(source.meta, [(10, 1, 50, 60, 1), (15, 2, 120, 70, 1)])
    reference = official_masks(random_model, scene_jpegs, prompts, direction)
    ours = _ours(random_model, source, prompts, direction, 6)
    _assert_same(ours, reference)
    expected_frames = range(16) if direction == "backward" else range(24)
    assert sorted(ours) == list(expected_frames)


def test_outputs_no_frame_can_attend_to_are_dropped(random_model, scene_jpegs, monkeypatch):
    states = []
    original = propagation.new_inference_state
    monkeypatch.setattr(
        propagation, "new_inference_state", lambda *a: states.append(original(*a)) or states[-1]
    )
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _prompts(source.meta, [(0, 1, 30, 60, 1), (0, 2, 120, 40, 1)])
    reach = propagation.memory_reach(random_model.predictor)
    held = []
    for frame, _, _ in steps.propagate(random_model, source, prompts, batch_size=4):
        outputs = states[0]["output_dict_per_obj"]
        held.append(max(len(per_obj["non_cond_frame_outputs"]) for per_obj in outputs.values()))
        assert all(
            index >= frame - reach
            for per_obj in outputs.values()
            for index in per_obj["non_cond_frame_outputs"]
        )
    assert reach == 15  # 6 memory frames, 15 object pointers in the SAM 2.1 configs
    assert max(held) == reach + 1 < len(held)


def test_progress_is_reported_per_step_with_time_left_and_cancel_stops(random_model, scene_jpegs):
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _prompts(source.meta, [(0, 1, 30, 60, 1)])
    reports = []
    list(
        steps.propagate(
            random_model, source, prompts, batch_size=10, step_frames=10, progress=reports.append
        )
    )
    assert [report.frames_done for report in reports] == [10, 20, 24]
    assert all(report.total == 24 and report.fps > 0 for report in reports)
    assert [report.eta_seconds > 0 for report in reports] == [True, True, False]

    adaptive = []
    list(steps.propagate(random_model, source, prompts, batch_size=6, progress=adaptive.append))
    sizes = np.diff([0] + [report.frames_done for report in adaptive])
    assert sizes[0] == 1 and sizes.max() <= 6 and sum(sizes) == 24  # first step one frame, then timed

    class CancelAfter:
        def __init__(self, frames: int) -> None:
            self.calls = 0
            self.frames = frames

        def is_set(self) -> bool:
            self.calls += 1
            return self.calls > self.frames

    produced, reports = [], []
    with pytest.raises(Cancelled):
        for frame, _, _ in steps.propagate(
            random_model,
            source,
            prompts,
            batch_size=2,
            step_frames=2,
            progress=reports.append,
            cancel=CancelAfter(5),
        ):
            produced.append(frame)
    assert produced == [0, 1, 2, 3, 4]
    assert [(report.frames_done, report.total) for report in reports] == [(2, 24), (4, 24)]


def test_propagate_without_clicks_says_what_to_do(random_model, scene_jpegs):
    source = JpegFolderFrames.open(scene_jpegs)
    with pytest.raises(RuntimeError, match="add a click"):
        next(steps.propagate(random_model, source, PromptState(video=source.meta)))


def test_unknown_direction_is_refused(random_model, scene_jpegs):
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _prompts(source.meta, [(0, 1, 30, 60, 1)])
    with pytest.raises(ValueError, match="sideways"):
        next(steps.propagate(random_model, source, prompts, direction="sideways"))


def _disc(meta, cx: int, cy: int, radius: int) -> np.ndarray:
    yy, xx = np.mgrid[: meta.height, : meta.width]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2


def _boxes_masks_and_clicks(meta) -> PromptState:
    """A box (with a click) on frame 0, a box alone on frame 0, and a painted mask correction on frame 8."""
    prompts = _prompts(meta, [(0, 1, 30, 60, 1), (5, 2, 120, 45, 1)])
    prompts.set_box(0, 1, (10, 40, 50, 80))  # the disc: box and click in one call
    prompts.set_box(0, 2, (98, 18, 142, 62))  # the green box: a box alone
    prompts.set_mask(8, 1, _disc(meta, 46, 60, 18))  # a mask fix of the disc on a later frame
    return prompts


@pytest.mark.parametrize("direction", ["forward", "both"])
def test_boxes_and_painted_masks_match_official(random_model, scene_jpegs, direction):
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _boxes_masks_and_clicks(source.meta)
    reference = official_masks(random_model, scene_jpegs, prompts, direction)
    ours = _ours(random_model, source, prompts, direction, 5)
    _assert_same(ours, reference)
    painted = _disc(source.meta, 46, 60, 18)
    overlap = (ours[8][0] & painted).sum() / (ours[8][0] | painted).sum()
    assert overlap > 0.9, "the painted mask is not the object's mask on its frame"  # SAM 2.1 keeps it
