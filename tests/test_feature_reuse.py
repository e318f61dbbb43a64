"""A FeatureStore carries image features from one propagation to the next: the second run after a
correction skips the image encoder on every kept frame and gives the same masks as the official predictor."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sam2_support import official_masks

from sam2_gradio.engine.model.features import FeatureStore
from sam2_gradio.engine.tracking import propagation, steps
from sam2_gradio.engine.tracking.interactive import InteractiveSession
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.media.frames import JpegFolderFrames

pytestmark = pytest.mark.slow

FIRST_CLICKS = [(0, 1, 30, 60, 1), (0, 2, 120, 40, 1)]
CORRECTION = (12, 1, 60, 20, 0)  # a negative click on a later frame, as after looking at the result


def _prompts(meta, clicks) -> PromptState:
    state = PromptState(video=meta)
    for frame, obj_id, x, y, label in clicks:
        state.add_click(frame, obj_id, x, y, label)
    return state


@pytest.fixture
def encoder_calls(random_model, monkeypatch):
    """The frames' count of image encoder runs, counted by a spy on `forward_image`."""
    calls = []
    predictor = random_model.predictor
    original = predictor.forward_image
    monkeypatch.setattr(predictor, "forward_image", lambda images: calls.append(1) or original(images))
    return calls


def _masks(model, source, prompts, direction, features, batch_size=5) -> dict:
    return {
        frame: masks
        for frame, _, masks in steps.propagate(
            model, source, prompts, direction=direction, batch_size=batch_size, features=features
        )
    }


def _assert_same(ours: dict, reference: dict) -> None:
    assert sorted(ours) == sorted(reference)
    assert [frame for frame in reference if not np.array_equal(ours[frame], reference[frame])] == []
    assert any(masks.any() for masks in ours.values()), "masks are all empty: the comparison is vacuous"


@pytest.mark.parametrize("direction", ["forward", "both"])
def test_second_propagation_after_a_correction_skips_the_encoder_with_identical_masks(
    random_model, scene_jpegs, encoder_calls, direction
):
    source = JpegFolderFrames.open(scene_jpegs)
    clicks = [(6, 1, 42, 60, 1), (6, 2, 120, 46, 1)] if direction == "both" else FIRST_CLICKS
    first, corrected = _prompts(source.meta, clicks), _prompts(source.meta, [*clicks, CORRECTION])
    store = FeatureStore(budget_mb=64)

    encoder_calls.clear()
    first_masks = _masks(random_model, source, first, direction, store)
    assert len(encoder_calls) == 24 and len(store) == 24  # each frame encoded once, and kept
    _assert_same(first_masks, official_masks(random_model, scene_jpegs, first, direction))

    encoder_calls.clear()
    second = _masks(random_model, source, corrected, direction, store, batch_size=7)
    assert encoder_calls == []  # every frame was kept
    _assert_same(second, official_masks(random_model, scene_jpegs, corrected, direction))


def test_a_store_over_budget_keeps_the_first_frames_and_reuses_them(random_model, scene_jpegs, encoder_calls):
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _prompts(source.meta, FIRST_CLICKS)
    probe = FeatureStore()
    _masks(random_model, source, prompts, "forward", probe)
    frame_bytes = probe.nbytes / len(probe)
    store = FeatureStore(budget_mb=10.5 * frame_bytes / 2**20)  # room for 10 frames

    encoder_calls.clear()
    reference = _masks(random_model, source, prompts, "forward", store)
    assert len(encoder_calls) == 24 and sorted(store._entries) == list(range(10))
    assert store.nbytes <= store.budget_bytes

    encoder_calls.clear()
    _assert_same(_masks(random_model, source, prompts, "forward", store, batch_size=3), reference)
    assert len(encoder_calls) == 14  # the 10 kept frames skip the encoder (a plain LRU would keep none)
    assert sorted(store._entries) == list(range(10))

    store_without_room = FeatureStore(budget_mb=0)
    encoder_calls.clear()
    _assert_same(_masks(random_model, source, prompts, "forward", store_without_room), reference)
    assert len(store_without_room) == 0 and len(encoder_calls) == 24


def test_clicks_and_propagation_share_the_session_store(random_model, scene_jpegs, encoder_calls):
    source = JpegFolderFrames.open(scene_jpegs)
    session = InteractiveSession(random_model, source)
    session.click(0, 1, 30, 60)
    assert len(encoder_calls) == 1 and 0 in session.features
    session.click(0, 1, 40, 60)
    assert len(encoder_calls) == 1  # the frame's features were kept

    encoder_calls.clear()
    masks = _masks(random_model, source, session.prompts, "forward", session.features)
    assert len(encoder_calls) == 23  # the clicked frame is not encoded again
    encoder_calls.clear()
    clicked = session.click(17, 2, 120, 60)
    assert encoder_calls == []  # a frame the propagation kept answers a click without the encoder
    assert clicked[2].any() and masks[17].shape[0] == 1


def test_a_parked_run_does_not_pickle_its_store(random_model, scene_jpegs):
    source = JpegFolderFrames.open(scene_jpegs)
    store = FeatureStore()
    run = propagation.start_propagation(source, _prompts(source.meta, FIRST_CLICKS), features=store)
    with random_model.use() as predictor:
        assert len(list(run.step(predictor, source, max_frames=4))) == 4
    assert len(store) == 4
    parked = pickle.dumps(run.park())
    assert run.features is store
    assert pickle.loads(parked).features is None and len(parked) < store.nbytes


def test_a_store_used_with_another_model_or_video_size_starts_again(random_model, scene_jpegs, tmp_path):
    from sam2_support import build_random_model, write_scene_jpegs

    source = JpegFolderFrames.open(scene_jpegs)
    store = FeatureStore()
    prompts = _prompts(source.meta, FIRST_CLICKS)
    _masks(random_model, source, prompts, "forward", store)
    assert len(store) == 24
    short = JpegFolderFrames.open(write_scene_jpegs(tmp_path / "short", 6))
    _masks(random_model, short, _prompts(short.meta, FIRST_CLICKS), "forward", store)
    assert len(store) == 6
    other = build_random_model(image_size=128)
    _masks(other, short, _prompts(short.meta, FIRST_CLICKS), "forward", store)
    assert len(store) == 6 and store._entries[0][0].shape[-1] == 128 // 4
    with pytest.raises(ValueError, match="budget"):
        FeatureStore(budget_mb=-1)


def _round_trip(task, duration):
    """A `GpuWrapper` that pickles a call's arguments and its result, as a ZeroGPU worker would."""

    def call(*args):
        return pickle.loads(pickle.dumps(task(*pickle.loads(pickle.dumps(args)))))

    return call


def test_clicks_through_a_worker_send_one_frame_s_features_and_keep_them_in_the_session(
    random_model, scene_jpegs, encoder_calls
):
    from app_support import app_model_of

    from sam2_gradio.engine.tracking.gpu_tasks import ModelTasks

    remote = app_model_of(random_model)
    remote.tasks = ModelTasks(remote, gpu=_round_trip)
    source = JpegFolderFrames.open(scene_jpegs)
    clicks = [(3, 1, 40, 60, True), (3, 1, 50, 70, False), (3, 2, 120, 50, True), (9, 1, 40, 60, True)]
    here, there = InteractiveSession(random_model, source), InteractiveSession(remote, source)
    expected = [here.click(*click) for click in clicks]
    encoder_calls.clear()
    got = [there.click(*click) for click in clicks]
    assert len(encoder_calls) == 2  # frames 3 and 9, each once: the features came back to the session
    assert sorted(there.features._entries) == [3, 9]
    for wanted, masks in zip(expected, got, strict=True):
        assert wanted.keys() == masks.keys()
        for obj_id in wanted:
            np.testing.assert_array_equal(masks[obj_id], wanted[obj_id])
    sent = there.features.only([3])
    assert len(sent) == 1 and len(pickle.dumps(sent)) < 1.05 * sent.nbytes  # no position encodings


def test_a_store_that_crossed_a_process_boundary_lends_its_features_with_identical_masks(
    random_model, scene_jpegs, encoder_calls
):
    source = JpegFolderFrames.open(scene_jpegs)
    prompts = _prompts(source.meta, FIRST_CLICKS)
    store = FeatureStore()
    reference = _masks(random_model, source, prompts, "forward", store)
    travelled = pickle.loads(pickle.dumps(store.only(list(range(24)))))
    encoder_calls.clear()
    _assert_same(_masks(random_model, source, prompts, "forward", travelled), reference)
    assert encoder_calls == []  # the position encodings were rebuilt from the model, not encoded


def test_closing_a_browser_session_drops_its_features(random_model, make_video, tmp_path):
    import gc
    import weakref

    from app_support import app_model_of

    from sam2_gradio.app import segment_actions as actions
    from sam2_gradio.app.sessions import SessionStore

    sessions = SessionStore(tmp_path / "sessions")
    session = sessions.get("a")
    actions.open_video(session, make_video("clip.mp4", 4), app_model_of(random_model))
    actions.add_click(session, 0, 1, 20, 20, positive=True)
    store = weakref.ref(session.segment.features)
    assert len(store()) == 1
    sessions.close("a")
    gc.collect()
    assert store() is None and session.segment is None  # even while the session object is still held
