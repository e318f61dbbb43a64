"""Propagation in steps gives the official predictor's masks for any step sizes, parked and pickled
between steps; a run holds no GPU tensor, decoder or model when parked."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sam2_support import official_masks

from sam2_gradio.engine.tracking import propagation
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.media.frames import JpegFolderFrames

pytestmark = pytest.mark.slow

SCENARIOS = {
    # direction, clicks (frame, obj_id, x, y, label)
    "forward with a later correction": (
        "forward",
        [(0, 1, 30, 60, 1), (0, 2, 120, 40, 1), (0, 2, 20, 100, 0), (12, 1, 60, 20, 0)],
    ),
    "object first prompted later": ("forward", [(0, 1, 30, 60, 1), (9, 2, 120, 50, 1), (17, 2, 120, 70, 1)]),
    "backward": ("backward", [(10, 1, 50, 60, 1), (15, 2, 120, 70, 1)]),
    "both": ("both", [(10, 1, 50, 60, 1), (15, 2, 120, 70, 1)]),
}


def _prompts(meta, clicks) -> PromptState:
    state = PromptState(video=meta)
    for frame, obj_id, x, y, label in clicks:
        state.add_click(frame, obj_id, x, y, label)
    return state


def _pickled(run: propagation.PropagationRun) -> propagation.PropagationRun:
    return pickle.loads(pickle.dumps(run))


def _stepped(model, source, prompts, direction, rng, between_steps) -> dict:
    """Masks of a run in random step sizes, with `between_steps(parked run) -> run` after every step."""
    run = propagation.start_propagation(
        source, prompts, direction=direction, batch_size=int(rng.integers(1, 9))
    )
    masks = {}
    while not run.done:
        with model.use() as predictor:
            for frame, _, frame_masks in run.step(predictor, source, max_frames=int(rng.integers(1, 8))):
                assert frame not in masks
                masks[frame] = frame_masks
        assert run.frames_done == len(masks) and run.tracked_frames == range(min(masks), max(masks) + 1)
        run = between_steps(run.park())
    assert run.frames_done == run.total == len(masks)
    return masks


def _assert_same(ours: dict, reference: dict) -> None:
    assert sorted(ours) == sorted(reference)
    mismatched = [frame for frame in reference if not np.array_equal(ours[frame], reference[frame])]
    assert mismatched == []
    assert any(masks.any() for masks in ours.values()), "masks are all empty: the comparison is vacuous"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_random_steps_parked_and_pickled_between_them_match_official(random_model, scene_jpegs, scenario):
    direction, clicks = SCENARIOS[scenario]
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _prompts(source.meta, clicks)
    reference = official_masks(random_model, scene_jpegs, prompts, direction)
    rng = np.random.default_rng(sorted(SCENARIOS).index(scenario))
    _assert_same(_stepped(random_model, source, prompts, direction, rng, _pickled), reference)


def test_a_parked_run_holds_only_cpu_tensors_and_no_decoder(random_model, scene_jpegs):
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _prompts(source.meta, SCENARIOS["both"][1])
    run = propagation.start_propagation(source, prompts, direction="both", batch_size=4)
    pickle.dumps(run)  # no model needed before the first step, and nothing to park
    with random_model.use() as predictor:
        assert len(list(run.step(predictor, source, max_frames=3))) == 3
    assert run.next_frame() == 13
    run.park()
    tensors = []

    def collect(value):
        if isinstance(value, torch.Tensor):
            tensors.append(value)
        elif isinstance(value, dict):
            [collect(item) for item in value.values()]
        elif isinstance(value, (list, tuple)):
            [collect(item) for item in value]

    collect(run.__dict__)
    assert tensors and all(tensor.device.type == "cpu" for tensor in tensors)
    assert run._frames is None and "images" not in run.state
    assert b"predictor" not in pickle.dumps(run) and len(pickle.dumps(run)) < 8 * 2**20


def test_a_run_on_another_device_must_be_parked_before_pickling(random_model, scene_jpegs):
    source = JpegFolderFrames.open(scene_jpegs)
    run = propagation.start_propagation(source, _prompts(source.meta, [(0, 1, 30, 60, 1)]))
    with random_model.use() as predictor:
        next(run.step(predictor, source, max_frames=1))
    run.unpark("meta")  # stands in for a GPU: any device but the CPU (its tensors have no data)
    with pytest.raises(RuntimeError, match="park"):
        pickle.dumps(run)
    assert run.device == torch.device("meta")  # the refusal moved nothing


def test_steps_check_their_arguments(random_model, scene_jpegs, tmp_path):
    source = JpegFolderFrames.open(scene_jpegs)
    run = propagation.start_propagation(source, _prompts(source.meta, [(0, 1, 30, 60, 1)]))
    other = JpegFolderFrames.open(scene_jpegs)
    other.meta = type(source.meta)(10, source.meta.width, source.meta.height, source.meta.fps)
    with random_model.use() as predictor:
        with pytest.raises(ValueError, match="max_frames"):
            next(run.step(predictor, source, max_frames=0))
        with pytest.raises(ValueError, match="tracks a video"):
            next(run.step(predictor, other, max_frames=1))
    with pytest.raises(ValueError, match="batch_size"):
        propagation.start_propagation(source, run.prompts, batch_size=0)
    with pytest.raises(RuntimeError, match="add a click"):
        propagation.start_propagation(source, PromptState(video=source.meta))


def test_a_run_knows_which_clicks_it_tracks(scene_jpegs):
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _prompts(source.meta, [(0, 1, 30, 60, 1)])
    run = propagation.start_propagation(source, prompts, direction="forward")
    prompts.add_object()  # an object without clicks changes no mask
    assert run.tracks(prompts, "forward") and not run.tracks(prompts, "both")
    prompts.add_click(3, 1, 40, 60, 0)
    assert not run.tracks(prompts, "forward")
