"""Clicking on frames: instant masks that equal what propagation will use, feature cache, edits."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from sam2_gradio.engine.exports.overlay import object_color
from sam2_gradio.engine.tracking.interactive import InteractiveSession
from sam2_gradio.engine.tracking.steps import propagate
from sam2_gradio.errors import PromptStateError
from sam2_gradio.media.frames import FrameSource, JpegFolderFrames

pytestmark = pytest.mark.slow


@pytest.fixture
def session(random_model, scene_jpegs) -> InteractiveSession:
    return InteractiveSession(random_model, JpegFolderFrames.open(scene_jpegs))


def _count_image_encodings(model, monkeypatch) -> list[int]:
    calls = []
    original = model.predictor.forward_image
    monkeypatch.setattr(model.predictor, "forward_image", lambda image: calls.append(1) or original(image))
    return calls


class CountingFrames:
    """A real frame source that records the index of every frame it decodes."""

    def __init__(self, source: FrameSource) -> None:
        self.source, self.meta = source, source.meta
        self.decoded: list[int] = []

    def read(self, start: int, stop: int):
        for index, frame in enumerate(self.source.read(start, stop), start=start):
            self.decoded.append(index)
            yield frame


def test_a_shown_frame_is_not_decoded_again_when_it_is_clicked(random_model, scene_jpegs):
    source = CountingFrames(JpegFolderFrames.open(scene_jpegs))
    session = InteractiveSession(random_model, source)
    session.render(4)
    masks = session.click(4, 1, 40, 60)
    session.render(4, masks)
    session.click(7, 1, 40, 60)  # a frame not shown first: decoded once, for the model
    assert source.decoded == [4, 7]


def test_click_returns_the_mask_propagation_gives_on_that_frame(session, random_model):
    masks = session.click(6, 1, 42, 60)
    other = session.click(6, 2, 120, 50)
    assert set(masks) == {1} and set(other) == {1, 2}
    assert masks[1].shape == (120, 160) and masks[1].any()
    propagated = {
        frame: (ids, m) for frame, ids, m in propagate(random_model, session.source, session.prompts)
    }
    ids, frame_masks = propagated[6]
    for obj_id, mask in zip(ids, frame_masks, strict=True):
        np.testing.assert_array_equal(other[obj_id], mask)


def test_further_clicks_on_a_frame_reuse_its_image_features(session, random_model, monkeypatch):
    encodings = _count_image_encodings(random_model, monkeypatch)
    session.click(3, 1, 40, 60)
    session.click(3, 1, 50, 70, positive=False)
    session.click(3, 2, 120, 50)
    assert len(encodings) == 1
    session.click(9, 1, 40, 60)
    session.click(3, 1, 45, 60)
    assert len(encodings) == 2


def test_undo_clear_remove_and_reset_update_the_masks(session):
    first = session.click(2, 1, 40, 60)[1]
    session.click(2, 1, 60, 40, positive=False)
    assert session.undo() == [2]
    np.testing.assert_array_equal(session.masks_on(2)[1], first)
    session.click(2, 2, 120, 50)
    both = session.masks_on(2)
    assert set(session.clear(2, 1)) == {2}
    assert session.undo() == [2] and set(session.masks_on(2)) == {1, 2}
    np.testing.assert_array_equal(session.masks_on(2)[1], both[1])
    session.remove_object(2)
    assert set(session.masks_on(2)) == {1} and session.prompts.object_ids == [1]
    session.reset()
    assert session.masks_on(2) == {}
    assert session.undo() == [2] and set(session.masks_on(2)) == {1}
    assert session.redo() == [2] and session.masks_on(2) == {}


def test_bad_click_is_refused_and_the_state_survives(session):
    session.click(0, 1, 40, 60)
    before = session.prompts.to_dict()
    with pytest.raises(PromptStateError, match=r"\(400, 60\) is outside"):
        session.click(0, 1, 400, 60)
    assert session.prompts.to_dict() == before


def test_render_draws_each_object_in_its_colour_and_marks_clicks(session):
    session.click(5, 1, 40, 60)
    session.click(5, 2, 120, 50)
    plain, drawn = session.frame(5), session.render(5)
    assert drawn.shape == plain.shape and drawn.dtype == np.uint8
    changed = np.any(drawn != plain, axis=2)
    mask_1 = session.masks_on(5)[1] & ~session.masks_on(5)[2]
    assert changed[mask_1].mean() > 0.9
    red = np.array(object_color(1), dtype=float)
    tinted = drawn[mask_1].astype(float)
    assert (
        np.linalg.norm(tinted - red, axis=1).mean()
        < np.linalg.norm(plain[mask_1].astype(float) - red, axis=1).mean()
    )


def test_box_and_painted_mask_give_the_masks_propagation_gives_on_their_frames(session, random_model):
    boxed = session.box(4, 1, (10, 40, 52, 80))
    assert boxed[1].any()
    painted = np.zeros((120, 160), bool)
    painted[30:70, 100:140] = True
    with_paint = session.paint(4, 2, painted)
    assert set(with_paint) == {1, 2}
    propagated = {
        frame: (ids, m) for frame, ids, m in propagate(random_model, session.source, session.prompts)
    }
    ids, frame_masks = propagated[4]
    for obj_id, mask in zip(ids, frame_masks, strict=True):
        np.testing.assert_array_equal(with_paint[obj_id], mask)
    assert session.undo() == [4]
    assert set(session.masks_on(4)) == {1}


def test_a_click_on_a_painted_object_is_refused_until_its_mask_is_cleared(session):
    painted = np.zeros((120, 160), bool)
    painted[30:70, 100:140] = True
    session.paint(2, 1, painted)
    before = session.prompts.to_dict()
    with pytest.raises(PromptStateError, match="clear it before adding a click"):
        session.click(2, 1, 120, 50)
    assert session.prompts.to_dict() == before
    session.clear(2, 1)
    assert session.click(2, 1, 120, 50)[1].any()


def test_render_draws_the_box_in_its_objects_colour(session):
    session.box(5, 2, (20, 30, 80, 90))
    drawn = session.render(5)
    top_edge = drawn[30, 30:70].astype(float)
    assert np.linalg.norm(top_edge - np.array(object_color(2), dtype=float), axis=1).mean() < 40


def test_a_prepared_frame_is_clicked_without_encoding_it_again_and_gives_the_same_masks(
    random_model, scene_jpegs, monkeypatch
):
    expected = InteractiveSession(random_model, JpegFolderFrames.open(scene_jpegs)).click(5, 1, 40, 60)
    session = InteractiveSession(random_model, JpegFolderFrames.open(scene_jpegs))
    encodings = _count_image_encodings(random_model, monkeypatch)
    assert session.prepare(5) and len(encodings) == 1
    assert not session.prepare(5), "its features are kept: nothing to encode"
    masks = session.click(5, 1, 40, 60)
    assert len(encodings) == 1, "the click used the prepared features"
    assert masks[1].any()
    np.testing.assert_array_equal(masks[1], expected[1])


def test_a_click_during_the_prepare_of_its_frame_waits_for_it_instead_of_encoding_twice(
    random_model, scene_jpegs, monkeypatch
):
    session = InteractiveSession(random_model, JpegFolderFrames.open(scene_jpegs))
    expected = InteractiveSession(random_model, JpegFolderFrames.open(scene_jpegs)).click(5, 1, 40, 60)
    encoder_threads, entered, go = [], threading.Event(), threading.Event()
    original = random_model.predictor.forward_image

    def slow_encoder(image):
        encoder_threads.append(threading.current_thread().name)
        entered.set()
        go.wait(30)
        return original(image)

    monkeypatch.setattr(random_model.predictor, "forward_image", slow_encoder)
    preparing = threading.Thread(target=session.prepare, args=(5,), name="prepare")
    preparing.start()
    assert entered.wait(30)
    clicked = {}
    clicking = threading.Thread(target=lambda: clicked.update(session.click(5, 1, 40, 60)), name="click")
    clicking.start()
    time.sleep(0.3)  # the click is waiting now (for the prepare, not for the encoder)
    go.set()
    preparing.join(60)
    clicking.join(60)
    assert encoder_threads == ["prepare"]
    np.testing.assert_array_equal(clicked[1], expected[1])
