"""The Compose tab's actions without Gradio: input checks, previews, snapshots and renders per session."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from sam2_gradio.app import compose_actions as actions
from sam2_gradio.app.sessions import BrowserSession, SessionStore
from sam2_gradio.compositor.render import ComposeOptions
from sam2_gradio.engine.tracking.pipeline import SegmentResult
from sam2_gradio.errors import UploadRejected
from sam2_gradio.jobs import Cancelled, Progress
from sam2_gradio.media import video
from sam2_gradio.media.mask_files import per_object_mask_name
from sam2_gradio.media.video import probe_video

OBJ_SIZE, OBJ_FRAMES = (64, 48), 8  # (width, height), frames at FPS
BG_SIZE, BG_FRAMES = (96, 72), 12
FPS = 10
OBJ_COLOUR, BG_COLOUR = (200, 30, 30), (20, 20, 200)
TOLERANCE = 6  # grey levels lost to the H.264 round trip


def _flat_frames(size: tuple[int, int], count: int, colour: tuple[int, int, int]) -> list[np.ndarray]:
    width, height = size
    return [np.full((height, width, 3), colour, dtype=np.uint8) for _ in range(count)]


def _left_half_mask(size: tuple[int, int]) -> np.ndarray:
    width, height = size
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[:, : width // 2] = 255
    return mask


def _write_masks(folder: Path, masks_by_object: dict[int, np.ndarray], frames: int = OBJ_FRAMES) -> Path:
    (folder / "per_object").mkdir(parents=True)
    for frame in range(frames):
        for obj_id, mask in masks_by_object.items():
            cv2.imwrite(str(folder / "per_object" / per_object_mask_name(frame, obj_id)), mask)
    return folder


def _zip_folder(folder: Path, zip_path: Path) -> Path:
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in sorted(folder.rglob("*.png")):
            archive.write(path, path.relative_to(folder).as_posix())
    return zip_path


@pytest.fixture
def inputs(make_video, tmp_path) -> actions.ComposeInputs:
    """A red object video whose one object is its left half (masks zipped), over a blue background."""
    obj = make_video("object.mp4", _flat_frames(OBJ_SIZE, OBJ_FRAMES, OBJ_COLOUR), fps=FPS)
    background = make_video("background.mp4", _flat_frames(BG_SIZE, BG_FRAMES, BG_COLOUR), fps=FPS)
    masks = _write_masks(tmp_path / "masks", {1: _left_half_mask(OBJ_SIZE)})
    return actions.ComposeInputs(obj, _zip_folder(masks, tmp_path / "masks.zip"), background)


@pytest.fixture
def session(tmp_path) -> BrowserSession:
    return SessionStore(tmp_path / "sessions").get("browser-tab")


def _options(**changes) -> ComposeOptions:
    values = dict(
        placement="original",
        pos="center",
        size=64,
        offset_x=0,
        offset_y=0,
        blend_mode="normal",
        brightness_match=False,
        loop=False,
        feather=0,
    )
    return ComposeOptions(**{**values, **changes})


def _assert_object_on_left_half_of_its_box(image: np.ndarray) -> None:
    """The object (red) covers x < 32, y < 48 of the background (blue) and nothing else."""
    expected = np.empty_like(image)
    expected[:] = BG_COLOUR
    expected[: OBJ_SIZE[1], : OBJ_SIZE[0] // 2] = OBJ_COLOUR
    assert np.abs(image.astype(int) - expected).max() <= TOLERANCE


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("obj_video", "Upload the object video these masks were made for."),
        ("masks", r"Upload the object video's masks \(a zip\), or propagate in the Segment tab."),
        ("bg_video", r"Upload a background video \(or pick the example background\)."),
    ],
)
def test_each_missing_input_is_named(session, inputs, missing, message):
    incomplete = actions.ComposeInputs(**{**inputs.__dict__, missing: None})
    with pytest.raises(actions.MissingInput, match=message):
        actions.preview(session, incomplete, 0, _options())
    with pytest.raises(actions.MissingInput, match=message):
        actions.render(session, incomplete, _options())
    assert list(session.folder.iterdir()) == []


def test_the_segment_result_stands_in_until_the_user_gives_an_object_video_or_masks(
    session, inputs, tmp_path
):
    no_objects = actions.ComposeInputs(None, None, inputs.bg_video)
    with pytest.raises(actions.MissingInput, match="Propagate in the Segment tab, or upload an object video"):
        actions.preview(session, no_objects, 0, _options())
    session.video_path = Path(inputs.obj_video)  # as after a propagation in the Segment tab
    session.segment_result = SegmentResult(tmp_path, None, Path(inputs.masks), [1], OBJ_FRAMES, 1.0, 1.0)
    np.testing.assert_array_equal(
        actions.preview(session, no_objects, 2, _options()).image,
        actions.preview(session, inputs, 2, _options()).image,
    )
    assert actions.render(session, no_objects, _options()).num_frames == OBJ_FRAMES
    own_masks_only = actions.ComposeInputs(None, inputs.masks, inputs.bg_video)
    with pytest.raises(actions.MissingInput, match="Upload the object video these masks were made for"):
        actions.preview(session, own_masks_only, 0, _options())


def test_preview_has_the_background_size_and_the_output_frame_count(session, inputs):
    shown = actions.preview(session, inputs, 3, _options())
    assert shown.image.shape == (BG_SIZE[1], BG_SIZE[0], 3) and shown.image.dtype == np.uint8
    assert shown.num_frames == min(BG_FRAMES, OBJ_FRAMES)  # same fps, no loop: the shorter video
    assert shown.note is None
    _assert_object_on_left_half_of_its_box(shown.image)
    looped = actions.preview(session, inputs, 999, _options(loop=True))
    assert looped.num_frames == max(BG_FRAMES, OBJ_FRAMES)
    _assert_object_on_left_half_of_its_box(looped.image)  # index clamped to the last frame
    # Previews write no file, and the masks zip is read in place.
    assert list(session.folder.iterdir()) == []


def test_a_preview_probes_its_inputs_only_as_far_as_checking_them_does(session, inputs, monkeypatch):
    """The frames are read from what the upload check found: a preview runs no probe of its own."""
    counted: list[tuple[str, bool]] = []
    count_frames = video._count_frames

    def counting(path: str, *, decode: bool) -> int:
        counted.append((Path(path).name, decode))
        return count_frames(path, decode=decode)

    monkeypatch.setattr(video, "_count_frames", counting)
    video._probe_cached.cache_clear()
    actions.check_inputs(session, inputs, _options())
    checking, counted[:] = sorted(counted), []
    video._probe_cached.cache_clear()
    actions.preview(session, inputs, 3, _options())
    assert sorted(counted) == checking
    assert {name for name, _ in checking} == {"background.mp4", "object.mp4"}


def test_two_object_masks_move_as_one_group_with_a_note(session, inputs, tmp_path):
    width, height = OBJ_SIZE
    second = np.zeros((height, width), dtype=np.uint8)
    second[height // 2 :, width // 2 :] = 255
    masks = _write_masks(tmp_path / "two", {1: _left_half_mask(OBJ_SIZE), 2: second})
    two = actions.ComposeInputs(inputs.obj_video, masks, inputs.bg_video)
    assert actions.mask_objects(session, masks) == (1, 2)
    note = actions.preview(session, two, 0, _options(placement="relocate")).note
    assert note is not None and "(1, 2)" in note and "objects file" in note
    assert actions.preview(session, two, 0, _options(placement="original")).note == note
    assert actions.preview(session, two, 0, _options(placement="relocate", objects=[2])).note is None


def test_snapshot_writes_the_previewed_frame_as_a_png_in_the_session_folder(session, inputs):
    path = actions.snapshot(session, inputs, 5, _options())
    assert path.suffix == ".png" and path.is_file() and path.is_relative_to(session.folder)
    written = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(written, actions.preview(session, inputs, 5, _options()).image)


def _files_outside(root: Path, skip: Path) -> set[Path]:
    return {path for path in root.rglob("*") if not path.is_relative_to(skip)}


def test_render_writes_only_into_the_session_folder(session, inputs, tmp_path, monkeypatch):
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))
    before = _files_outside(tmp_path, session.folder)
    done = []
    result = actions.render(session, inputs, _options(), progress=done.append)

    assert result.path.is_relative_to(session.folder) and result.path.suffix == ".mp4"
    assert result.num_frames == OBJ_FRAMES
    assert [report.frames_done for report in done] == list(range(1, OBJ_FRAMES + 1))
    video = probe_video(result.path)
    assert (video.num_frames, video.width, video.height, video.fps) == (OBJ_FRAMES, *BG_SIZE, FPS)
    assert _files_outside(tmp_path, session.folder) == before  # masks zips are read in place
    session.close()
    assert not session.folder.exists()


def test_a_cancelled_render_leaves_no_job_folder(session, inputs):
    def cancel(report: Progress) -> None:
        session.cancel_flag("compose").set()

    with pytest.raises(Cancelled):
        actions.render(session, inputs, _options(), progress=cancel)
    assert list(session.folder.glob("compose-*")) == []


def test_masks_of_another_size_are_resized_to_the_object_video(session, inputs, tmp_path):
    small = (OBJ_SIZE[0] // 2, OBJ_SIZE[1] // 2)
    masks = _zip_folder(_write_masks(tmp_path / "small", {1: _left_half_mask(small)}), tmp_path / "small.zip")
    resized = actions.ComposeInputs(inputs.obj_video, masks, inputs.bg_video)
    _assert_object_on_left_half_of_its_box(actions.preview(session, resized, 2, _options()).image)


def _empty_folder(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


def _text_named_png(tmp_path: Path) -> Path:
    (tmp_path / "fake" / "per_object").mkdir(parents=True)
    (tmp_path / "fake" / "per_object" / per_object_mask_name(0, 1)).write_text("not an image")
    return tmp_path / "fake"


def _zip_with_text_png(tmp_path: Path) -> Path:
    with zipfile.ZipFile(tmp_path / "fake.zip", "w") as archive:
        archive.writestr(f"per_object/{per_object_mask_name(0, 1)}", "not an image")
    return tmp_path / "fake.zip"


@pytest.mark.parametrize(
    ("make_masks", "message"),
    [
        (_empty_folder, r"masks empty contain no PNG files"),
        (_text_named_png, r"mask mask_00000_obj_1\.png in fake is not a PNG image"),
        (_zip_with_text_png, r"mask mask_00000_obj_1\.png in fake\.zip is not a PNG image"),
    ],
    ids=["empty-folder", "text-named-png", "zip-of-text"],
)
def test_unusable_masks_are_refused_and_the_loaded_ones_kept(session, inputs, tmp_path, make_masks, message):
    good = actions.preview(session, inputs, 1, _options()).image
    bad = actions.ComposeInputs(inputs.obj_video, make_masks(tmp_path), inputs.bg_video)
    with pytest.raises(ValueError, match=message):
        actions.preview(session, bad, 1, _options())
    np.testing.assert_array_equal(actions.preview(session, inputs, 1, _options()).image, good)


def test_an_unreadable_background_is_named(session, inputs, tmp_path):
    text = tmp_path / "background.mov"
    text.write_text("not a video")
    unreadable = actions.ComposeInputs(inputs.obj_video, inputs.masks, text)
    with pytest.raises(UploadRejected, match=r"^The background video could not be read as a video"):
        actions.preview(session, unreadable, 0, _options())
    missing = actions.ComposeInputs(inputs.obj_video, inputs.masks, tmp_path / "gone.mp4")
    with pytest.raises(UploadRejected, match=r"^The background video file gone\.mp4 was not found\.$"):
        actions.preview(session, missing, 0, _options())


def test_the_placement_greys_out_the_controls_it_does_not_use_and_none_ticked_pastes_nothing(tmp_path):
    from sam2_gradio.app.compose_handlers import GEOMETRY_CONTROLS, ComposeHandlers

    two = _write_masks(tmp_path / "two", {1: _left_half_mask(OBJ_SIZE), 2: _left_half_mask(OBJ_SIZE)})
    masks = str(_zip_folder(two, tmp_path / "two.zip"))
    handlers = ComposeHandlers(SessionStore(tmp_path / "sessions"))
    editable = {
        placement: dict(zip(GEOMETRY_CONTROLS, handlers.placement_controls(placement), strict=True))
        for placement in ("relocate", "follow", "original")
    }
    assert {name for name, update in editable["relocate"].items() if update["interactive"]} == {
        "pos", "size", "offset_x", "offset_y",
    }  # fmt: skip
    assert {name for name, update in editable["follow"].items() if update["interactive"]} == {
        "pos", "scale", "offset_x", "offset_y",
    }  # fmt: skip
    assert not any(update["interactive"] for update in editable["original"].values())
    session = handlers.sessions.get("tab")
    assert actions.ticked_objects(session, actions.ComposeInputs(None, masks, None), []) == ()
