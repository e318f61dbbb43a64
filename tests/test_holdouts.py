"""Holdouts clicked on the Compose tab's background: their sources (`compositor.holdouts`) against known
masks, and `holdout_actions` on the random-weights SAM 2 (masks not empty): a click shows in the preview,
a render tracks the background into its own project and reads the masks back from it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sam2_gradio.app import compose_actions, holdout_actions
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.sessions import BrowserSession, SessionStore
from sam2_gradio.compositor.holdouts import FrameMasks, unite, united
from sam2_gradio.compositor.render import ComposeOptions
from sam2_gradio.errors import BadInput, MissingInput, NotReady
from sam2_gradio.media.mask_files import Box, ObjectMask, per_object_mask_name
from sam2_gradio.media.video import iter_frames

OBJ_SIZE, BG_SIZE, FRAMES, FPS = (64, 48), (96, 72), 4, 10
OBJ_COLOUR, BG_COLOUR = (200, 30, 30), (20, 20, 200)
TOLERANCE = 6  # grey levels lost to the H.264 round trip


# --- sources ---------------------------------------------------------------------------------------


def test_unite_takes_the_largest_alpha_over_the_box_around_every_mask():
    left = ObjectMask(np.full((2, 2), 0.5, np.float32), Box(0, 0, 2, 2))
    right = ObjectMask(np.ones((1, 2), np.float32), Box(1, 1, 3, 2))
    union = unite([left, right])
    assert union.box == Box(0, 0, 3, 2)
    np.testing.assert_array_equal(union.alpha, [[0.5, 0.5, 0], [0.5, 1, 1]])
    assert unite([left]) is left and unite([]) is None


def test_frame_masks_unite_the_chosen_objects_resized_to_the_frame():
    one = np.zeros((20, 20), bool)
    one[:10, :10] = True
    two = np.zeros((20, 20), bool)
    two[15:, 15:] = True
    masks = FrameMasks(lambda frame: {1: one, 2: two} if frame == 0 else {})
    union = masks.mask_for(0, None, (40, 40))  # twice the size: each pixel becomes 2 x 2
    assert union.box == Box(0, 0, 40, 40)
    assert union.alpha.sum() == 4 * (100 + 25) and union.alpha[:20, :20].all() and union.alpha[30:, 30:].all()
    assert masks.mask_for(0, [2], (20, 20)).box == Box(15, 15, 20, 20)
    assert masks.mask_for(1, None, (20, 20)) is None
    assert united(None, masks) is masks and united(None, None) is None


# --- clicked on the background --------------------------------------------------------------------


def _flat(size: tuple[int, int], colour: tuple[int, int, int]) -> list[np.ndarray]:
    return [np.full((size[1], size[0], 3), colour, np.uint8) for _ in range(FRAMES)]


@pytest.fixture
def inputs(make_video, tmp_path) -> compose_actions.ComposeInputs:
    """A red object video whose object covers it all (placed where it is), over a blue background with a
    white square the holdout is clicked on."""
    obj = make_video("object.mp4", _flat(OBJ_SIZE, OBJ_COLOUR), fps=FPS)
    frames = _flat(BG_SIZE, BG_COLOUR)
    for frame in frames:
        frame[8:40, 8:40] = 255
    background = make_video("background.mp4", frames, fps=FPS)
    (tmp_path / "masks" / "per_object").mkdir(parents=True)
    for index in range(FRAMES):
        mask = np.full((OBJ_SIZE[1], OBJ_SIZE[0]), 255, np.uint8)
        cv2.imwrite(str(tmp_path / "masks" / "per_object" / per_object_mask_name(index, 1)), mask)
    return compose_actions.ComposeInputs(obj, tmp_path / "masks", background)


@pytest.fixture
def session(tmp_path) -> BrowserSession:
    return SessionStore(tmp_path / "sessions").get("browser-tab")


@pytest.fixture
def model(random_model) -> AppModel:
    return AppModel(random_model.settings, model=random_model)


OPTIONS = ComposeOptions(placement="original", feather=0, edge="hard")


def _expected(background: np.ndarray, holdout: np.ndarray) -> np.ndarray:
    """The object (red, over the top-left 64 x 48) pasted over `background`, but where `holdout` is."""
    expected = background.copy()
    covered = np.zeros(holdout.shape, bool)
    covered[: OBJ_SIZE[1], : OBJ_SIZE[0]] = True
    expected[covered & ~holdout] = OBJ_COLOUR
    return expected


def test_a_clicked_holdout_passes_in_front_in_the_preview_and_the_render(session, inputs, model):
    holdouts = holdout_actions.holdouts_for(session, model, inputs.bg_video)
    assert holdout_actions.session_holdouts(session, inputs.bg_video) is None  # nothing clicked yet
    background = next(iter_frames(inputs.bg_video))
    plain = compose_actions.preview(session, inputs, 0, OPTIONS).image
    assert (
        np.abs(plain.astype(int) - _expected(background, np.zeros(background.shape[:2], bool))).max()
        <= TOLERANCE
    )

    holdout_actions.click(session, holdouts, 0, 20, 20, "positive")
    mask = holdouts.clicks.masks_on(0)[holdouts.obj_id]
    assert mask.any() and mask[: OBJ_SIZE[1], : OBJ_SIZE[0]].any(), (
        "the random model's mask covers the object"
    )
    shown = compose_actions.preview(session, inputs, 0, OPTIONS).image
    assert np.abs(shown.astype(int) - _expected(background, mask)).max() <= TOLERANCE
    assert not holdouts.project.is_current()

    session.cancel("compose")  # an earlier render's Cancel: this one's tracking is not stopped by it
    result = compose_actions.render(session, inputs, OPTIONS)
    assert holdouts.project.is_current(), "the render tracked the holdouts into the background's project"
    assert holdouts.project.tracked_frames() == list(range(FRAMES))
    rendered = list(iter_frames(result.path))
    assert len(rendered) == FRAMES
    for index in (0, FRAMES - 1):
        stored = np.logical_or.reduce(list(holdouts.project.frame_masks(index).values()))
        assert np.abs(rendered[index].astype(int) - _expected(background, stored)).mean() <= TOLERANCE


def test_holdout_edits_name_what_is_wrong_and_clear_removes_them(session, inputs, model):
    with pytest.raises(MissingInput, match="background video"):
        holdout_actions.holdouts_for(session, model, None)
    holdouts = holdout_actions.holdouts_for(session, model, inputs.bg_video)
    assert holdout_actions.holdouts_for(session, model, inputs.bg_video) is holdouts  # kept per background
    with pytest.raises(BadInput, match="outside the background"):
        holdout_actions.click(session, holdouts, FRAMES, 1, 1, "positive")
    with pytest.raises(BadInput, match="not one of positive, negative"):
        holdout_actions.click(session, holdouts, 0, 1, 1, "box")
    with pytest.raises(NotReady, match="Click a holdout"):
        holdout_actions.track(session, holdouts)
    holdout_actions.click(session, holdouts, 0, 20, 20, "positive")
    first = holdouts.obj_id
    assert holdout_actions.new_holdout(session, holdouts) == first + 1
    assert holdouts.project.prompts().prompted_objects() == [first]  # stored in its project
    holdout_actions.clear(session, holdouts)
    assert holdout_actions.session_holdouts(session, inputs.bg_video) is None
    assert "none clicked" in holdout_actions.note(holdouts)
