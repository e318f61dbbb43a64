"""The Segment tab's actions without Gradio: open, click, edit, save / load state, propagate, cancel."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image
from timeline_support import Marks, style_percent

from sam2_gradio import config
from sam2_gradio.app import segment_actions as actions
from sam2_gradio.app.edge import progress_line
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.segment_handlers import SegmentHandlers, object_choices
from sam2_gradio.app.segment_tab import build_segment_tab
from sam2_gradio.app.sessions import BoxCorner, BrowserSession, SessionStore
from sam2_gradio.engine.model.predictor import ModelSettings
from sam2_gradio.engine.options import SegmentOptions
from sam2_gradio.engine.tracking import gpu_tasks, interactive
from sam2_gradio.engine.tracking.pipeline import SegmentResult
from sam2_gradio.engine.tracking.strokes import stroke_mask
from sam2_gradio.errors import ModelUnavailable, PromptStateError, UploadRejected
from sam2_gradio.jobs import Progress
from sam2_gradio.media.mask_files import combined_mask_name, per_object_mask_name
from sam2_gradio.media.video import probe_video, read_frame, write_video

pytestmark = pytest.mark.slow

NUM_FRAMES, WIDTH, HEIGHT, FPS = 4, 64, 48, 10


@pytest.fixture
def app_model(random_model) -> AppModel:
    return AppModel(random_model.settings, model=random_model)


@pytest.fixture
def session(tmp_path) -> BrowserSession:
    return SessionStore(tmp_path / "sessions").get("browser-tab")


@pytest.fixture
def clip(make_video) -> Path:
    return make_video("clip.mp4", NUM_FRAMES, fps=FPS)


@pytest.fixture
def opened(session, clip, app_model) -> BrowserSession:
    actions.open_video(session, clip, app_model)
    return session


def _clicks(session: BrowserSession) -> dict:
    return session.segment.prompts.to_dict()


def _job_folders(session: BrowserSession, kind: str) -> list[Path]:
    return sorted(session.folder.glob(f"{kind}-*"))


def _write_state(folder: Path, content: object, name: str = "state.json") -> Path:
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _load_clicks(session: BrowserSession, folder: Path, clicks: dict) -> dict:
    """Give the session `clicks` through a state file (no model run: masks are computed when shown)."""
    actions.load_state(session, _write_state(folder, {"version": 1, "clicks": clicks}, "setup.json"))
    return _clicks(session)


ONE_CLICK = {"2": {"1": {"points": [[20, 20]], "labels": [1]}}}


def test_actions_before_a_video_is_opened_ask_for_one(session):
    for action in (
        lambda: actions.show_frame(session, 0),
        lambda: actions.add_click(session, 0, 1, 5, 5, positive=True),
        lambda: actions.undo(session, 0),
        lambda: actions.new_object(session),
        lambda: actions.save_state(session),
        lambda: actions.propagate(session),
    ):
        with pytest.raises(actions.NoVideo, match="Upload a video"):
            action()


def test_opening_a_video_reports_its_counts(session, clip, app_model):
    opened = actions.open_video(session, clip, app_model)
    assert (opened.num_frames, opened.fps, opened.width, opened.height) == (NUM_FRAMES, FPS, WIDTH, HEIGHT)
    assert opened.duration == pytest.approx(NUM_FRAMES / FPS)
    assert opened.undecodable_frames == 0
    assert opened.summary == "4 frames · 10 fps · 64×48 · 0.4 s"
    assert actions.object_ids(session) == [1]


def test_an_unclicked_frame_is_shown_as_it_is(opened, clip):
    np.testing.assert_array_equal(actions.show_frame(opened, 3), read_frame(clip, 3))
    with pytest.raises(ValueError, match=r"frame 4 is outside the video \(0 to 3\)"):
        actions.show_frame(opened, NUM_FRAMES)


def test_browsing_frames_back_and_forth_shows_each_frame_and_hands_out_copies(opened, clip, monkeypatch):
    monkeypatch.setattr(interactive, "DECODED_FRAMES_KEPT", 2)
    for frame in [0, 1, 2, 3, 0, 3, 1]:
        shown = actions.show_frame(opened, frame)
        np.testing.assert_array_equal(shown, read_frame(clip, frame))
        shown[:] = 0  # the caller's own copy: the kept frames are not touched
    np.testing.assert_array_equal(actions.show_frame(opened, 1), read_frame(clip, 1))


def test_a_click_adds_a_mask_that_shows_on_the_frame(opened, clip):
    plain = read_frame(clip, 2)
    drawn = actions.add_click(opened, 2, 1, 30, 24, positive=True)
    assert drawn.shape == plain.shape and drawn.dtype == np.uint8
    mask = opened.segment.masks_on(2)[1]
    assert mask.shape == (HEIGHT, WIDTH) and mask.any()
    changed = np.any(drawn != plain, axis=2)
    assert changed[mask].mean() > 0.9
    assert _clicks(opened)["clicks"] == {"2": {"1": {"points": [[30, 24]], "labels": [1]}}}


def test_a_click_runs_sam_2_once_and_reads_the_propagated_masks_once(opened, tmp_path, monkeypatch):
    """The masks a click returns are the ones drawn: neither SAM 2 nor the mask files run twice."""
    predicted, read = [], []
    predict = gpu_tasks.predict_prompted_frame
    monkeypatch.setattr(
        gpu_tasks, "predict_prompted_frame", lambda *args: predicted.append(args[3]) or predict(*args)
    )
    # as after a propagation (that left no mask on these frames): the store is asked once per drawing
    opened.segment.tracked_masks = lambda frame: read.append(frame) or {}
    drawn = actions.add_click(opened, 2, 1, 30, 24, positive=True)
    assert (predicted, read) == ([2], [2])
    np.testing.assert_array_equal(drawn, opened.segment.render(2))
    actions.clear_frame(opened, 2, 1)
    assert (predicted, read) == ([2], [2, 2, 2])  # clearing the last click leaves nothing to predict


def test_a_frame_the_user_moves_to_is_encoded_ahead_so_the_first_click_there_skips_the_encoder(
    opened, app_model, random_model, monkeypatch
):
    actions.encode_ahead(opened, 0).result()  # every earlier background encode has ended
    encodings = []
    original = random_model.predictor.forward_image
    monkeypatch.setattr(
        random_model.predictor, "forward_image", lambda image: encodings.append(1) or original(image)
    )
    actions.view_frame(opened, 2)
    actions.encode_ahead(opened, 2).result()  # queued after the one view_frame started: ends after it
    assert len(encodings) == 1
    actions.add_click(opened, 2, 1, 30, 24, positive=True)
    assert len(encodings) == 1, "the click used the features encoded ahead"
    with app_model.use():  # the model is busy: nothing is encoded ahead
        actions.encode_ahead(opened, 3).result()
    assert len(encodings) == 1
    actions.add_click(opened, 3, 1, 30, 24, positive=True)
    assert len(encodings) == 2, "frame 3 was not encoded ahead: its click encodes it"


@pytest.mark.parametrize(
    ("frame", "x", "y", "error", "message"),
    [
        (2, 64, 10, PromptStateError, r"\(64, 10\) is outside the 64x48 frame"),
        (2, 5, -1, PromptStateError, r"\(5, -1\) is outside the 64x48 frame"),
        (NUM_FRAMES, 5, 5, ValueError, r"frame 4 is outside the video \(0 to 3\)"),
    ],
    ids=["right-of-frame", "above-frame", "past-last-frame"],
)
def test_a_click_outside_the_video_is_refused_and_the_clicks_stay(
    opened, tmp_path, frame, x, y, error, message
):
    before = _load_clicks(opened, tmp_path, ONE_CLICK)
    with pytest.raises(error, match=message):
        actions.add_click(opened, frame, 1, x, y, positive=True)
    assert _clicks(opened) == before


def test_undo_takes_back_the_last_click_anywhere_then_the_loaded_state(opened, clip, tmp_path):
    _load_clicks(opened, tmp_path, ONE_CLICK)
    actions.add_click(opened, 3, 1, 40, 30, positive=False)
    frame, image = actions.undo(opened, shown_frame=2)
    assert frame == 3
    np.testing.assert_array_equal(image, read_frame(clip, 3))  # no click left there: the plain frame
    assert _clicks(opened)["clicks"] == ONE_CLICK
    frame, image = actions.undo(opened, shown_frame=1)  # loading the state was an edit too
    assert frame == 2 and _clicks(opened)["clicks"] == {}
    np.testing.assert_array_equal(image, read_frame(clip, 2))
    frame, _ = actions.redo(opened, shown_frame=0)
    assert frame == 2 and _clicks(opened)["clicks"] == ONE_CLICK
    assert actions.undo(opened, shown_frame=0)[0] == 2
    assert actions.undo(opened, shown_frame=1)[0] == 1  # nothing left to undo: the shown frame stays


def _disc(x: float, y: float, radius: float) -> np.ndarray:
    """The pixels whose centres lie within `radius` of (x, y), on a WIDTH x HEIGHT frame."""
    rows, cols = np.mgrid[:HEIGHT, :WIDTH]
    return np.hypot(cols - x, rows - y) <= radius


def _sam2_masks_of(opened: BrowserSession, edit) -> dict[int, np.ndarray]:
    """What SAM 2 gives for one prompt on the same video, in a fresh engine session (no app in between)."""
    fresh = interactive.InteractiveSession(opened.segment.model, opened.segment.source)
    return edit(fresh)


def test_two_box_clicks_give_sam_2_the_box_and_undo_takes_it_back(opened, clip):
    plain = read_frame(clip, 1)
    first = actions.prompt_at(opened, 1, 1, 40, 30, "box")
    assert _clicks(opened)["clicks"] == {}  # one corner is no prompt yet, but it is shown
    assert np.any(first != plain) and np.array_equal(first[:20], plain[:20])
    np.testing.assert_array_equal(actions.show_frame(opened, 1), first)  # and stays shown until the second
    actions.prompt_at(opened, 1, 1, 10, 12, "box")
    assert _clicks(opened)["clicks"] == {"1": {"1": {"points": [], "labels": [], "box": [10, 12, 40, 30]}}}
    expected = _sam2_masks_of(opened, lambda fresh: fresh.box(1, 1, (10, 12, 40, 30)))
    np.testing.assert_array_equal(opened.segment.masks_on(1)[1], expected[1])
    frame, image = actions.undo(opened, shown_frame=1)
    assert frame == 1 and _clicks(opened)["clicks"] == {}
    np.testing.assert_array_equal(image, plain)  # no box, no corner left


def test_a_box_corner_is_dropped_by_another_prompt_type_and_starts_again_on_another_frame(opened):
    actions.prompt_at(opened, 1, 1, 40, 30, "box")
    actions.prompt_at(opened, 2, 1, 10, 10, "box")  # another frame: this is a new first corner
    assert _clicks(opened)["clicks"] == {} and opened.box_corner.frame == 2
    actions.prompt_at(opened, 2, 1, 30, 20, "positive")
    assert opened.box_corner is None
    actions.prompt_at(opened, 3, 1, 5, 5, "box")
    with pytest.raises(PromptStateError, match="empty or inverted"):  # a flat box: the corner waits
        actions.prompt_at(opened, 3, 1, 5, 40, "box")
    assert opened.box_corner == BoxCorner(3, 1, 5, 5) and "3" not in _clicks(opened)["clicks"]


def test_brush_and_eraser_dabs_paint_the_mask_sam_2_is_given_and_undo_restores_each(opened):
    actions.prompt_at(opened, 2, 1, 20, 20, "brush", brush_radius=6)
    painted = _disc(20, 20, 6)
    entry = opened.segment.prompts.clicks[2][1]
    np.testing.assert_array_equal(entry.mask.to_mask(), painted)
    expected = _sam2_masks_of(opened, lambda fresh: fresh.paint(2, 1, painted))
    np.testing.assert_array_equal(opened.segment.masks_on(2)[1], expected[1])
    shown_after_paint = opened.segment.masks_on(2)[1]
    actions.prompt_at(opened, 2, 1, 23, 20, "erase", brush_radius=3)
    erased = painted & ~_disc(23, 20, 3)  # dabs add up on the painted mask itself
    np.testing.assert_array_equal(opened.segment.prompts.clicks[2][1].mask.to_mask(), erased)
    expected = _sam2_masks_of(opened, lambda fresh: fresh.paint(2, 1, erased))
    np.testing.assert_array_equal(opened.segment.masks_on(2)[1], expected[1])
    actions.undo(opened, shown_frame=2)
    np.testing.assert_array_equal(opened.segment.prompts.clicks[2][1].mask.to_mask(), painted)
    np.testing.assert_array_equal(opened.segment.masks_on(2)[1], shown_after_paint)
    actions.undo(opened, shown_frame=2)
    assert _clicks(opened)["clicks"] == {}


def test_a_stroke_paints_its_band_as_one_mask_prompt_and_one_undo_step(opened):
    actions.stroke(opened, 1, 1, [(10, 20), (30, 20), (50, 20)], 3)  # 6 px wide: rows 17 to 23
    painted = opened.segment.prompts.clicks[1][1].mask.to_mask()
    np.testing.assert_array_equal(painted, stroke_mask(HEIGHT, WIDTH, [(10, 20), (30, 20), (50, 20)], 6))
    assert list(np.flatnonzero(painted[:, 30])) == list(range(17, 24))
    expected = _sam2_masks_of(opened, lambda fresh: fresh.paint(1, 1, painted))
    np.testing.assert_array_equal(opened.segment.masks_on(1)[1], expected[1])
    actions.stroke(opened, 1, 1, [(30, 10), (30, 40)], 1, erase=True)  # a 2 px wide cut across it
    assert not opened.segment.prompts.clicks[1][1].mask.to_mask()[17:24, 29:31].any()
    actions.undo(opened, shown_frame=1)
    np.testing.assert_array_equal(opened.segment.prompts.clicks[1][1].mask.to_mask(), painted)
    actions.undo(opened, shown_frame=1)
    assert _clicks(opened)["clicks"] == {}
    with pytest.raises(ValueError, match="a stroke has from 1 to"):
        actions.stroke(opened, 1, 1, [], 3)


def test_absent_here_gives_sam_2_an_empty_mask_and_the_object_loses_its_mask(opened, tmp_path):
    actions.add_click(opened, 2, 1, 30, 24, positive=True)
    assert opened.segment.masks_on(2)[1].any()
    actions.mark_absent(opened, 2, 1)
    entry = opened.segment.prompts.clicks[2][1]
    assert entry.points == [] and entry.mask.area() == 0 and entry.mask.to_mask().shape == (HEIGHT, WIDTH)
    assert not opened.segment.masks_on(2)[1].any()
    saved = actions.save_state(opened)
    actions.undo(opened, shown_frame=2)
    assert opened.segment.prompts.clicks[2][1].points == [(30.0, 24.0)]
    actions.load_state(opened, saved)  # an empty mask in a state file is an absent mark again
    assert opened.segment.prompts.clicks[2][1].mask.area() == 0


def test_an_object_marked_absent_has_no_mask_there_after_propagation(opened):
    actions.add_click(opened, 0, 1, 30, 24, positive=True)
    actions.mark_absent(opened, 2, 1)
    result = actions.propagate(opened)
    assert result.frames_tracked == NUM_FRAMES and not result.partial
    tracked = opened.segment.tracked_masks
    assert tracked(0)[1].any(), "the clicked frame keeps its mask"
    assert not tracked(2).get(1, np.zeros(1, bool)).any(), "the absent frame has none"


def test_a_brush_dab_replaces_the_clicks_of_its_object_on_that_frame(opened):
    actions.add_click(opened, 0, 1, 30, 24, positive=True)
    clicked = opened.segment.masks_on(0)[1]
    actions.prompt_at(opened, 0, 1, 5, 5, "brush", brush_radius=4)
    entry = opened.segment.prompts.clicks[0][1]
    assert entry.points == [] and entry.box is None
    np.testing.assert_array_equal(entry.mask.to_mask(), clicked | _disc(5, 5, 4))
    actions.undo(opened, shown_frame=0)
    assert _clicks(opened)["clicks"] == {"0": {"1": {"points": [[30, 24]], "labels": [1]}}}


@pytest.mark.parametrize(
    ("kind", "radius", "message"),
    [("lasso", 4, "prompt type 'lasso' is not one of"), ("brush", 0, "brush size must be from 1 to")],
)
def test_an_unknown_prompt_type_or_brush_size_is_refused_and_the_prompts_stay(
    opened, tmp_path, kind, radius, message
):
    before = _load_clicks(opened, tmp_path, ONE_CLICK)
    with pytest.raises(ValueError, match=message):
        actions.prompt_at(opened, 2, 1, 20, 20, kind, brush_radius=radius)
    assert _clicks(opened) == before


def test_erasing_a_whole_mask_is_refused_and_the_painted_mask_stays(opened):
    actions.prompt_at(opened, 1, 1, 20, 20, "brush", brush_radius=2)
    before = _clicks(opened)
    with pytest.raises(PromptStateError, match="is empty"):
        actions.prompt_at(opened, 1, 1, 20, 20, "erase", brush_radius=10)
    assert _clicks(opened) == before


def test_the_frame_click_handler_takes_the_prompt_type_at_the_shown_pixel(app_model, clip, tmp_path):
    """The page's click on the enlarged frame: two box corners, then a brush dab, then Undo of the dab."""
    store = SessionStore(tmp_path / "handler-sessions")
    handlers, request = SegmentHandlers(app_model, store), gr.Request(session_hash="tab")
    handlers.open_video(str(clip), request)
    session = store.get("tab")
    scale = actions.shown_scale(session)

    def click_at(x: int, y: int, kind: str, size: int = 5) -> np.ndarray:
        shown = (x * scale + scale // 2, y * scale + scale // 2)  # the centre of video pixel (x, y)
        image, _ = handlers.add_click(
            1, 1, kind, size, gr.SelectData(None, {"index": shown, "value": None}), request
        )
        return np.asarray(Image.open(image))  # the frame is served as a file of the session's own

    image = click_at(40, 30, "box")
    assert image.shape == (HEIGHT * scale, WIDTH * scale, 3)
    click_at(10, 12, "box")
    assert session.segment.prompts.clicks[1][1].box == (10, 12, 40, 30)
    boxed = session.segment.masks_on(1)[1]
    click_at(20, 20, "brush")  # into the mask the box gave
    np.testing.assert_array_equal(
        session.segment.prompts.clicks[1][1].mask.to_mask(), boxed | _disc(20, 20, 5)
    )
    handlers.undo(1, 1, request)
    assert session.segment.prompts.clicks[1][1].box == (10, 12, 40, 30)
    assert "replaces the object's clicks and box on this frame" in handlers.prompt_hint("brush")


def test_a_named_object_shows_its_name_in_the_selector_and_legend_until_undone(app_model, clip, tmp_path):
    handlers, request = SegmentHandlers(app_model, SessionStore(tmp_path / "s")), gr.Request(session_hash="t")
    handlers.open_video(str(clip), request)
    selector, legend, timeline = handlers.name_object(1, "  big <dog> ", 0, request)
    assert selector["choices"] == [("Object 1 · big <dog>", 1)] and "big &lt;dog&gt;" in legend
    assert 'title="Object 1 · big &lt;dog&gt;"' in timeline  # its row says the name on hover
    assert handlers.object_name(1, request) == "big <dog>"
    _, _, selector, legend, timeline, name_box = handlers.undo(0, 1, request)
    assert selector["choices"] == [("Object 1", 1)] and "dog" not in legend and "dog" not in timeline
    assert name_box == "", "the Name box shows the state's (no) name after the undo"
    *_, name_box = handlers.redo(0, 1, request)
    assert name_box == "big <dog>"
    handlers.name_object(1, "cat", 0, request)
    *_, name_box = handlers.reset(0, request)
    assert name_box == "", "after a reset the remaining object has no name"


def test_a_small_video_is_shown_enlarged_and_a_shown_click_lands_on_its_pixel(opened, clip):
    scale = actions.shown_scale(opened)
    assert scale == config.MIN_SHOWN_SIDE // WIDTH  # 64x48 is shown 15 times larger
    assert actions.video_point(opened, 20 * scale + scale // 2, 7 * scale + scale // 2) == (20.0, 7.0)
    x, y = actions.video_point(opened, 0, HEIGHT * scale - 1)
    assert x == 0.0 and HEIGHT - 1 <= y < HEIGHT  # the outermost shown pixels stay inside the video


def test_closing_the_video_forgets_its_frames_clicks_and_results(opened, tmp_path):
    _load_clicks(opened, tmp_path, ONE_CLICK)
    assert actions.close_video(opened) is True
    assert (opened.segment, opened.video_path, opened.segment_result) == (None, None, None)
    with pytest.raises(actions.NoVideo, match="Upload a video"):
        actions.show_frame(opened, 0)
    assert actions.close_video(opened) is False  # nothing left to lose


def test_reset_is_undone_with_every_object_and_click(opened, tmp_path):
    _load_clicks(opened, tmp_path, ONE_CLICK)
    actions.new_object(opened)
    before = _clicks(opened)
    actions.reset(opened)
    assert _clicks(opened)["clicks"] == {}
    actions.undo(opened, shown_frame=0)
    assert _clicks(opened) == before


def test_clear_new_remove_and_reset_edit_the_objects(opened, clip):
    actions.add_click(opened, 1, 1, 20, 20, positive=True)
    second = actions.new_object(opened)
    assert second == 2 and actions.object_ids(opened) == [1, 2]
    actions.add_click(opened, 1, second, 50, 30, positive=True)
    assert set(opened.segment.masks_on(1)) == {1, 2}

    actions.clear_frame(opened, 1, second)
    assert set(opened.segment.masks_on(1)) == {1}
    assert actions.object_ids(opened) == [1, 2]  # clearing keeps the object

    actions.add_click(opened, 1, second, 50, 30, positive=True)
    actions.remove_object(opened, second)
    assert actions.object_ids(opened) == [1]
    assert _clicks(opened)["clicks"] == {"1": {"1": {"points": [[20, 20]], "labels": [1]}}}
    assert set(opened.segment.masks_on(1)) == {1}

    actions.reset(opened)
    assert _clicks(opened)["clicks"] == {}
    assert actions.object_ids(opened) == [1]
    np.testing.assert_array_equal(actions.show_frame(opened, 1), read_frame(clip, 1))


def test_saved_state_loads_back_to_the_same_clicks(opened):
    actions.add_click(opened, 0, 1, 12, 8, positive=True)
    actions.add_click(opened, 0, 1, 30, 30, positive=False)
    actions.add_click(opened, 0, actions.new_object(opened), 50, 40, positive=True)
    before = _clicks(opened)
    path = actions.save_state(opened)
    assert path.name == "interactive_state.json" and path.is_relative_to(opened.folder)
    saved = json.loads(path.read_text())
    assert saved["version"] == 1
    assert saved["video"] == {"num_frames": NUM_FRAMES, "width": WIDTH, "height": HEIGHT, "fps": FPS}
    assert saved["clicks"]["0"] == {
        "1": {"points": [[12, 8], [30, 30]], "labels": [1, 0]},
        "2": {"points": [[50, 40]], "labels": [1]},
    }

    actions.reset(opened)
    actions.load_state(opened, path)
    assert _clicks(opened) == before
    assert set(opened.segment.masks_on(0)) == {1, 2}  # masks are recomputed for the loaded clicks


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"version": 1, "clicks": {', r"not valid JSON"),
        ({"version": 2, "clicks": {}}, r"unsupported prompt state version 2"),
        (
            {"version": 1, "video": {"num_frames": 99, "width": 64, "height": 48, "fps": 10}, "clicks": {}},
            r"saved for another video: its num_frames is 99, this video's is 4",
        ),
        (
            {"version": 1, "clicks": {"0": {"1": {"points": [[500, 5]], "labels": [1]}}}},
            r"\(500, 5\) is outside the 64x48 frame",
        ),
        ({"version": 1, "clicks": {"9": {"1": {"points": [[5, 5]], "labels": [1]}}}}, r"frame 9 is outside"),
    ],
    ids=["malformed", "other-version", "other-video", "click-outside", "frame-outside"],
)
def test_a_bad_state_file_is_refused_and_the_clicks_stay(opened, tmp_path, content, message):
    before = _load_clicks(opened, tmp_path, ONE_CLICK)
    with pytest.raises(PromptStateError, match=message):
        actions.load_state(opened, _write_state(tmp_path, content))
    assert _clicks(opened) == before


@pytest.mark.parametrize("bad_file", ["notes.mp4", "missing.mp4"])
def test_opening_a_non_video_keeps_the_previous_video_and_clicks(opened, clip, app_model, tmp_path, bad_file):
    before = _load_clicks(opened, tmp_path, ONE_CLICK)
    if bad_file == "notes.mp4":
        (tmp_path / bad_file).write_text("not a video\n")
    with pytest.raises(UploadRejected, match=r"^The video .*\.$"):
        actions.open_video(opened, tmp_path / bad_file, app_model)
    assert opened.video_path == clip
    assert _clicks(opened) == before
    np.testing.assert_array_equal(actions.show_frame(opened, 1), read_frame(clip, 1))


def test_propagate_without_clicks_asks_for_one(opened):
    actions.new_object(opened)
    with pytest.raises(RuntimeError, match="Click on an object first"):
        actions.propagate(opened)
    assert _job_folders(opened, "segment") == []


@pytest.fixture(scope="module")
def propagated(random_model, tmp_path_factory) -> tuple[BrowserSession, SegmentResult, list[Progress], Path]:
    """A session whose two objects, clicked on frame 0, were propagated once (shared: the model is slow)."""
    folder = tmp_path_factory.mktemp("propagated")
    clip = write_video(folder / "clip.mp4", _distinct_frames(), fps=FPS)
    session = SessionStore(folder / "sessions").get("browser-tab")
    actions.open_video(session, clip, AppModel(random_model.settings, model=random_model))
    actions.add_click(session, 0, 1, 20, 20, positive=True)
    actions.add_click(session, 0, actions.new_object(session), 50, 30, positive=True)
    reports: list[Progress] = []
    result = actions.propagate(session, SegmentOptions(batch_size=2), progress=reports.append)
    return session, result, reports, clip


def _distinct_frames() -> list[np.ndarray]:
    """NUM_FRAMES frames of flat grey levels 40, 80, ... with a white square moving right."""
    frames = []
    for index in range(NUM_FRAMES):
        frame = np.full((HEIGHT, WIDTH, 3), 40 * (index + 1), dtype=np.uint8)
        frame[10:26, 8 * index : 8 * index + 16] = 255
        frames.append(frame)
    return frames


def test_propagate_writes_masks_preview_and_zip_in_the_session_folder(propagated):
    session, result, reports, clip = propagated
    assert result.obj_ids == [1, 2] and result.frames_tracked == NUM_FRAMES
    assert session.segment_result is result
    assert result.mask_dir.is_relative_to(session.folder)
    per_object = sorted(path.name for path in (result.mask_dir / "per_object").iterdir())
    combined = sorted(path.name for path in (result.mask_dir / "combined").iterdir())
    expected_per_object = sorted(
        per_object_mask_name(frame, obj_id) for frame in range(NUM_FRAMES) for obj_id in (1, 2)
    )
    assert per_object == expected_per_object
    assert combined == [combined_mask_name(frame) for frame in range(NUM_FRAMES)]

    preview = probe_video(result.preview)
    assert (preview.num_frames, preview.width, preview.height) == (NUM_FRAMES, WIDTH, HEIGHT)
    assert result.preview.is_relative_to(session.folder)
    with zipfile.ZipFile(result.masks_zip) as archive:
        names = sorted(archive.namelist())
    expected_names = [f"per_object/{name}" for name in per_object] + [f"combined/{name}" for name in combined]
    assert names == sorted(expected_names)

    assert json.loads(actions.state_file_of(result).read_text())["clicks"] == _clicks(session)["clicks"]
    propagate_reports = [report for report in reports if report.stage == "tracking"]
    steps = np.diff([0] + [report.frames_done for report in propagate_reports])
    assert steps.min() >= 1 and steps.max() <= 2 and sum(steps) == NUM_FRAMES  # steps of <= batch size
    assert all(report.total == NUM_FRAMES for report in propagate_reports)
    # A frame without clicks now shows its propagated masks.
    last = NUM_FRAMES - 1
    assert np.any(actions.show_frame(session, last) != read_frame(clip, last))


def test_the_objects_off_a_frame_are_those_whose_tracked_mask_is_empty(propagated):
    session, result, reports, _ = propagated
    for frame in range(NUM_FRAMES):
        expected = [
            obj_id
            for obj_id in result.obj_ids
            if not np.asarray(
                Image.open(result.mask_dir / "per_object" / per_object_mask_name(frame, obj_id))
            ).any()
        ]
        assert actions.absent_objects(session, frame) == expected, frame
    # the run wrote the masks as a phase of its own, each report counting the frames up to the total
    masks = [report for report in reports if report.stage == "masks"]
    assert masks and masks[-1].frames_done == masks[-1].total == NUM_FRAMES


def test_an_object_not_on_the_frame_is_marked_in_the_legend():
    _, legend = object_choices([1, 2, 3], 1, {2: "dog"}, absent=[2])
    entries = {attrs["data-object"]: attrs for _, attrs in Marks(legend).elements if "data-object" in attrs}
    assert set(entries) == {"1", "2", "3"}
    assert entries["2"].get("class") == "absent"
    assert "not on this frame" in legend.split('data-object="2"')[1].split('data-object="3"')[0]
    assert legend.count("not on this frame") == 1


def test_the_status_line_names_each_phase_with_its_frames_speed_and_time_left():
    assert progress_line(Progress(12, 48, 1.0, 6.0, stage="tracking", eta_seconds=6.2)) == (
        "Tracking 12/48 frames · 6.0 frames/s · 6 s left"
    )
    assert progress_line(Progress(30, 48, 1.0, 10.0, stage="preview")) == (
        "Writing the preview 30/48 frames · 10.0 frames/s · 2 s left"
    )  # no average yet: the time left at the latest speed
    assert (
        progress_line(Progress(48, 48, 1.0, 20.0, stage="masks"))
        == "Writing the masks 48/48 frames · 20.0 frames/s"
    )
    assert progress_line(Progress(5, 48, 1.0, 0.0, stage="alpha video")).startswith(
        "Writing exports: the alpha video 5/48 frames"
    )
    assert progress_line(Progress(0, 0, 0.0, 0.0, stage="coco")) == "Writing exports: COCO JSON…"
    resumed = progress_line(Progress(40, 72, 1.0, 5.0, stage="tracking", eta_seconds=90), resumed_from=34)
    assert resumed == "Continued from frame 34 · Tracking 40/72 frames · 5.0 frames/s · 1 min 30 s left"


def test_a_cancelled_propagate_keeps_what_it_tracked_beside_the_previous_result(propagated):
    session, previous, _, _ = propagated
    previous_files = sorted(path for path in previous.masks_zip.parent.rglob("*"))
    actions.add_click(session, 3, 1, 30, 20, positive=False)  # other prompts: a new run
    reports = []

    def cancel_on_first_report(report: Progress) -> None:
        reports.append(report)
        session.cancel_flag("segment").set()

    result = actions.propagate(session, SegmentOptions(batch_size=1), progress=cancel_on_first_report)
    assert result.partial and len(result.tracked) == reports[0].frames_done < NUM_FRAMES
    assert result.masks_zip.name == "masks_partial.zip" and result.preview is not None
    assert probe_video(result.preview).num_frames == len(result.tracked)
    saved = json.loads(actions.state_file_of(result).read_text())["propagation"]
    assert saved["partial"] and saved["tracked_frames"] == [result.tracked.start, result.tracked.stop]
    assert session.segment_result is result
    note = f"({len(result.tracked)} of {reports[0].total}); *Continue* resumes it"  # of the whole run
    assert actions.results_note(session).startswith(
        "**Partial:** cancelled"
    ) and note in actions.results_note(session)
    assert sorted(path for path in previous.masks_zip.parent.rglob("*")) == previous_files  # untouched


def test_a_click_the_model_cannot_answer_is_taken_back(session, clip, tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path / "no-weights")
    monkeypatch.delenv(config.CHECKPOINT_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    actions.open_video(
        session, clip, AppModel(ModelSettings(model_size="tiny", image_size=256, device="cpu"))
    )
    before = _clicks(session)
    with pytest.raises(ModelUnavailable, match="python -m sam2_gradio.checkpoints --model-size tiny"):
        actions.add_click(session, 1, 1, 20, 20, positive=True)
    assert _clicks(session) == before
    assert session.segment.prompts.undo() is None  # nothing left to undo either
    np.testing.assert_array_equal(actions.show_frame(session, 1), read_frame(clip, 1))


def _bars(timeline: str, obj_id: int = 1) -> list[tuple[int, int]]:
    """The (first, last) frames of the tracked bars of `obj_id`'s row."""
    return [(int(bar["data-first"]), int(bar["data-last"])) for bar in Marks(timeline).rows()[obj_id]["bars"]]


def test_a_click_on_a_frame_then_a_live_propagation_marks_the_timeline(app_model, make_video, tmp_path):
    """A click on frame 3 puts a tick there; the live propagation (one frame a step) sends the tracked bar
    growing, at most once a step, and its end the whole span it tracked (forward: frame 3 to the last)."""
    frames, clicked = 8, 3
    clip = make_video("eight.mp4", frames, fps=FPS)
    store = SessionStore(tmp_path / "timeline-sessions")
    handlers, request = SegmentHandlers(app_model, store), gr.Request(session_hash="tab")
    timeline = handlers.open_video(str(clip), request)[5]
    assert list(Marks(timeline).rows()) == [1] and not Marks(timeline).of_class("tl-tick")
    scale = actions.shown_scale(store.get("tab"))
    event = gr.SelectData(None, {"index": (30 * scale, 24 * scale), "value": None})
    _, timeline = handlers.add_click(clicked, 1, "positive", 5, event, request)
    (tick,) = Marks(timeline).rows()[1]["ticks"]
    assert tick["data-frame"] == str(clicked)
    assert style_percent(tick, "left") == pytest.approx(clicked / (frames - 1) * 100, abs=0.001)
    assert _bars(timeline) == []
    _, timeline = handlers.show_frame(5, request)  # navigation moves the cursor
    (cursor,) = Marks(timeline).of_class("tl-cursor")
    assert style_percent(cursor, "left") == pytest.approx(5 / 7 * 100, abs=0.001)

    with gr.Blocks():
        view = build_segment_tab(handlers)
    no_bar = lambda *args, **kwargs: None  # noqa: E731
    controls = ("forward", 1, False, False, "none", 0, "hard", 8)  # SegmentOptions, then ExportChoices
    replies = list(handlers.live_handler(view, resume=False)(request, no_bar, *controls))
    timelines = [reply[view.timeline] for reply in replies if view.timeline in reply]
    *during, at_end = timelines
    assert _bars(at_end) == [(clicked, frames - 1)]
    assert Marks(at_end).rows()[1]["ticks"][0]["data-frame"] == str(clicked)
    steps = frames - clicked
    assert 1 <= len(during) <= steps
    ends = [_bars(timeline) for timeline in during]
    assert all(len(bars) == 1 and bars[0][0] == clicked for bars in ends)
    assert [bars[0][1] for bars in ends] == sorted({bars[0][1] for bars in ends})  # growing, once a step
    assert _bars(handlers.show_frame(0, request)[1]) == [(clicked, frames - 1)]  # kept after the run
