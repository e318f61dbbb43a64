"""The compositor end to end on tiny synthetic videos: timing, sizes, audio, placement on decoded pixels,
several objects as one group, brightness match, cancellation, failures and snapshots.

Frames are flat colours so that H.264 (crf 18, yuv420p) keeps them within a few levels; pixels are checked
as region means, away from edges, against values worked out here by hand.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from sam2_gradio.compositor import render as compositor
from sam2_gradio.compositor.render import (
    Cancelled,
    ComposeOptions,
    compose_frame,
    placement_note,
    render,
    snapshot,
)
from sam2_gradio.media.mask_files import (
    combined_mask_name,
    load_mask_set,
    per_object_mask_name,
    save_mask_png,
)
from sam2_gradio.media.video import has_audio_stream, iter_frames, probe_video, read_frame

WIDTH, HEIGHT = 96, 64
OBJECT_BOX = (30, 20, 60, 44)  # x0, y0, x1, y1 of the object's rectangle in the object video
OBJECT_RED = (230, 40, 40)
BACKDROP_GREEN = (30, 160, 30)  # the object video around the object: must never reach the output
BG_LEVEL = 60
TOLERANCE = 12  # H.264 error allowed on the mean of a flat region
HARD_EDGES = {"feather": 0, "edge": "hard"}  # binary edges: the pixels checked are the object's own


def flat_frames(count: int, colours, width: int = WIDTH, height: int = HEIGHT) -> list[np.ndarray]:
    """``count`` flat frames; ``colours`` is one RGB triple or grey level, or a function of the index."""
    pick = colours if callable(colours) else (lambda _: colours)
    return [np.full((height, width, 3), pick(index), np.uint8) for index in range(count)]


def object_frames(
    count: int, colours=OBJECT_RED, width: int = WIDTH, height: int = HEIGHT
) -> list[np.ndarray]:
    """Green frames with the object rectangle at ``OBJECT_BOX`` in ``colours`` (as in ``flat_frames``)."""
    frames = flat_frames(count, BACKDROP_GREEN, width, height)
    rectangles = flat_frames(count, colours, width, height)
    x0, y0, x1, y1 = OBJECT_BOX
    for frame, rectangle in zip(frames, rectangles, strict=True):
        frame[y0:y1, x0:x1] = rectangle[y0:y1, x0:x1]
    return frames


def write_masks(
    folder: Path, frames, box=OBJECT_BOX, size=(WIDTH, HEIGHT), obj_id: int | None = None
) -> Path:
    """A mask PNG with ``box`` set for each of ``frames``; single-object names unless ``obj_id`` is given."""
    for frame in frames:
        mask = np.zeros((size[1], size[0]), np.uint8)
        x0, y0, x1, y1 = box
        mask[y0:y1, x0:x1] = 255
        name = combined_mask_name(frame) if obj_id is None else per_object_mask_name(frame, obj_id)
        save_mask_png(folder / name, mask)
    return folder


def region_mean(frame: np.ndarray, box, inset: int = 3) -> np.ndarray:
    """Mean RGB of ``frame`` inside ``box`` = (x0, y0, x1, y1), ``inset`` pixels away from its edges."""
    x0, y0, x1, y1 = box
    return frame[y0 + inset : y1 - inset, x0 + inset : x1 - inset].reshape(-1, 3).mean(axis=0)


def assert_colour(frame: np.ndarray, box, colour, tolerance: float = TOLERANCE) -> None:
    mean = region_mean(frame, box)
    assert np.abs(mean - np.broadcast_to(colour, 3)).max() <= tolerance, f"{box}: {mean} != {colour}"


def decoded(path: Path) -> list[np.ndarray]:
    return list(iter_frames(path))


@pytest.fixture
def single_object(make_video, tmp_path):
    """(background, object video, masks folder): 12 frames each at 10 fps, masks on every frame."""
    background = make_video("bg.mp4", flat_frames(12, BG_LEVEL))
    obj = make_video("obj.mp4", object_frames(12))
    return background, obj, write_masks(tmp_path / "masks", range(12))


# --- timing and size ------------------------------------------------------------------------------


def test_output_has_the_background_size_and_fps(make_video, tmp_path):
    background = make_video("bg.mp4", flat_frames(14, BG_LEVEL, 64, 48), fps=12)
    obj = make_video("obj.mp4", object_frames(20, width=160, height=120), fps=12)
    masks = write_masks(tmp_path / "m", range(20), size=(160, 120))
    result = render(background, obj, masks, tmp_path / "out.mp4", ComposeOptions(size=20))
    info = probe_video(result.path)
    assert (info.width, info.height, info.fps, info.num_frames) == (64, 48, 12, 14)
    assert (result.num_frames, result.fps) == (14, 12)


@pytest.mark.parametrize(
    ("obj_fps", "obj_count", "bg_count", "expected_frames", "object_frame_of"),
    [
        # object at 20 fps under a 10 fps background: output frame i (time i / 10) shows object frame 2 i;
        # the object's 1 s lasts 10 background frames
        (20, 20, 12, 10, lambda i: 2 * i),
        # object at 5 fps: each object frame is shown twice; 6 frames = 1.2 s = 12 output frames
        (5, 6, 15, 12, lambda i: i // 2),
    ],
)
def test_object_frames_are_picked_by_timestamp(
    make_video, tmp_path, obj_fps, obj_count, bg_count, expected_frames, object_frame_of
):
    level = lambda k: 20 + 11 * k  # noqa: E731 (object frame k's grey level, distinct per frame)
    background = make_video("bg.mp4", flat_frames(bg_count, BG_LEVEL), fps=10)
    obj = make_video("obj.mp4", object_frames(obj_count, level), fps=obj_fps)
    masks = write_masks(tmp_path / "m", range(obj_count))
    options = ComposeOptions(placement="original", **HARD_EDGES)
    frames = decoded(render(background, obj, masks, tmp_path / "out.mp4", options).path)
    assert len(frames) == expected_frames
    for index, frame in enumerate(frames):
        assert_colour(frame, OBJECT_BOX, level(object_frame_of(index)), tolerance=4)


@pytest.mark.parametrize(
    ("bg_count", "obj_count", "loop", "expected_frames"),
    [(10, 25, False, 10), (10, 25, True, 25), (25, 10, False, 10), (25, 10, True, 25)],
)
def test_output_length_and_looping(make_video, tmp_path, bg_count, obj_count, loop, expected_frames):
    bg_level = lambda i: 40 + 8 * i  # noqa: E731 (distinct per background frame)
    obj_level = lambda k: 20 + 9 * k  # noqa: E731 (distinct per object frame)
    background = make_video("bg.mp4", flat_frames(bg_count, bg_level))
    obj = make_video("obj.mp4", object_frames(obj_count, obj_level))
    masks = write_masks(tmp_path / "m", range(obj_count))
    options = ComposeOptions(placement="original", loop=loop, **HARD_EDGES)
    frames = decoded(render(background, obj, masks, tmp_path / "out.mp4", options).path)
    assert len(frames) == expected_frames
    for index, frame in enumerate(frames):  # the shorter video restarts when looping
        assert_colour(frame, (0, 0, 24, 16), bg_level(index % bg_count), tolerance=4)
        assert_colour(frame, OBJECT_BOX, obj_level(index % obj_count), tolerance=4)


@pytest.mark.parametrize("overcounted", ["bg.mp4", "obj.mp4"])
def test_output_ends_where_an_input_stops_decoding(make_video, tmp_path, monkeypatch, overcounted):
    # packet counts (what render probes) can promise a few frames more than a damaged file decodes
    background = make_video("bg.mp4", flat_frames(12, BG_LEVEL))
    obj = make_video("obj.mp4", object_frames(12))
    masks = write_masks(tmp_path / "m", range(12))
    probe = compositor.probe_video

    def overcounting_probe(path, **options):
        info = probe(path, **options)
        return (
            dataclasses.replace(info, num_frames=info.num_frames + 5)
            if Path(path).name == overcounted
            else info
        )

    monkeypatch.setattr(compositor, "probe_video", overcounting_probe)
    result = render(background, obj, masks, tmp_path / "out.mp4", ComposeOptions())
    assert result.num_frames == probe_video(result.path).num_frames == 12


@pytest.mark.parametrize("with_audio", [True, False])
def test_background_audio_is_carried_over(make_video, tmp_path, with_audio):
    background = make_video("bg.mp4", flat_frames(12, BG_LEVEL), audio=with_audio)
    obj = make_video("obj.mp4", object_frames(12))
    masks = write_masks(tmp_path / "m", range(12))
    result = render(background, obj, masks, tmp_path / "out.mp4", ComposeOptions())
    assert has_audio_stream(result.path) is with_audio


def test_odd_background_size_is_padded_to_even_not_rescaled(make_video, tmp_path):
    background = make_video("bg.mp4", flat_frames(6, 200, 63, 47))
    obj = make_video("obj.mp4", object_frames(6))
    masks = write_masks(tmp_path / "m", range(6))
    frames = decoded(render(background, obj, masks, tmp_path / "out.mp4", ComposeOptions(size=10)).path)
    assert frames[0].shape == (48, 64, 3)
    assert frames[0][:46, 61, :].mean() > 190  # the picture keeps its columns (no rescale) ...
    assert frames[0][:46, 63, :].mean() < 20  # ... and one black column pads it


# Even sizes whose height is 2 mod 4 (480x270, 18x10) once failed the I420 shape check; odd ones are padded.
RENDER_SIZES = [(480, 270), (321, 241), (17, 9), (18, 10), (33, 14), (64, 48), (63, 46), (96, 2)]


@pytest.mark.parametrize(("width", "height"), RENDER_SIZES, ids=[f"{w}x{h}" for w, h in RENDER_SIZES])
def test_every_background_size_renders_with_the_object_in_place(make_video, tmp_path, width, height):
    background = make_video("bg.mp4", flat_frames(3, BG_LEVEL, width, height))
    obj = make_video("obj.mp4", object_frames(3))
    masks = write_masks(tmp_path / "m", range(3))
    options = ComposeOptions(size=max(2, min(width, height) // 2), pos="center", **HARD_EDGES)
    frames = decoded(render(background, obj, masks, tmp_path / "out.mp4", options).path)
    assert len(frames) == 3
    assert frames[1].shape == (height + height % 2, width + width % 2, 3)
    red, green, _ = frames[1][height // 2, width // 2].astype(int)
    assert red > 150 and green < 110, frames[1][height // 2, width // 2]  # the object, centred
    assert np.abs(frames[1][0, 0].astype(int) - BG_LEVEL).max() <= 2 * TOLERANCE  # the background


# --- placement on decoded output -----------------------------------------------------------------


def test_relocated_object_lands_at_anchor_plus_offset(single_object, tmp_path):
    # 30x24 box, longer side to 40 -> 40x32; top-left anchor (0, 0) moved by (+10, +6)
    options = ComposeOptions(size=40, pos="top-left", offset_x=10, offset_y=6, **HARD_EDGES)
    frame = decoded(render(*single_object, tmp_path / "out.mp4", options).path)[5]
    assert_colour(frame, (10, 6, 50, 38), OBJECT_RED)
    assert_colour(frame, (56, 0, 96, 64), BG_LEVEL)  # right of it
    assert_colour(frame, (0, 42, 56, 64), BG_LEVEL)  # below it


def test_relocated_object_past_the_edge_is_clipped(single_object, tmp_path):
    # bottom-right anchor puts the 40x32 box at (56, 32); +20 right -> x 76..116, visible 76..96
    options = ComposeOptions(size=40, pos="bottom-right", offset_x=20, **HARD_EDGES)
    frame = decoded(render(*single_object, tmp_path / "out.mp4", options).path)[0]
    assert_colour(frame, (76, 32, 96, 64), OBJECT_RED)
    assert_colour(frame, (0, 0, 70, 64), BG_LEVEL)  # nothing wrapped round to the left edge


def test_original_placement_keeps_the_object_where_it_was(single_object, tmp_path):
    options = ComposeOptions(placement="original", **HARD_EDGES)
    frame = decoded(render(*single_object, tmp_path / "out.mp4", options).path)[3]
    assert_colour(frame, OBJECT_BOX, OBJECT_RED)
    assert_colour(frame, (0, 0, 26, 64), BG_LEVEL)
    assert_colour(frame, (64, 0, 96, 64), BG_LEVEL)


@pytest.mark.parametrize(("offset_x", "offset_y", "mode"), [(11, 7, "screen"), (-5, 3, "multiply")])
def test_render_matches_compose_frame_at_odd_coordinates(single_object, tmp_path, offset_x, offset_y, mode):
    # the render converts only the (even-widened) object box between YUV and RGB; away from colour edges
    # its decoded frames must equal the RGB one-frame composite up to H.264's error
    # hard edges: a render's refine edge also follows the previous frames, a one-frame composite cannot
    options = ComposeOptions(size=33, offset_x=offset_x, offset_y=offset_y, blend_mode=mode, edge="hard")
    background, obj, masks = single_object
    rendered = decoded(render(background, obj, masks, tmp_path / "out.mp4", options).path)[4]
    mask_set = load_mask_set(masks)
    expected = compose_frame(read_frame(background, 4), read_frame(obj, 4), mask_set, 4, options)
    mask_set.close()
    grey = cv2.cvtColor(expected, cv2.COLOR_RGB2GRAY)
    edges = cv2.morphologyEx(grey, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    difference = np.abs(rendered.astype(int) - expected).max(axis=2)
    away_from_edges = difference[~edges]
    assert edges.mean() < 0.5 and np.median(away_from_edges) <= 2 and away_from_edges.max() <= TOLERANCE


def test_frames_without_mask_reuse_the_previous_mask_and_none_before_the_first(make_video, tmp_path):
    background = make_video("bg.mp4", flat_frames(8, BG_LEVEL))
    obj = make_video("obj.mp4", object_frames(8))
    masks = write_masks(tmp_path / "m", [3, 6])
    options = ComposeOptions(placement="original", **HARD_EDGES)
    frames = decoded(render(background, obj, masks, tmp_path / "out.mp4", options).path)
    for index, frame in enumerate(frames):
        assert_colour(frame, OBJECT_BOX, OBJECT_RED if index >= 3 else BG_LEVEL)


# --- several objects ------------------------------------------------------------------------------

RED_BOX, BLUE_BOX, BLUE = (10, 10, 30, 24), (60, 30, 90, 50), (40, 40, 220)


@pytest.fixture
def two_objects(tmp_path):
    """(background frame, object frame, mask set) with object 1 red and object 2 blue."""
    obj_frame = flat_frames(1, BACKDROP_GREEN)[0]
    for box, colour, obj_id in ((RED_BOX, OBJECT_RED, 1), (BLUE_BOX, BLUE, 2)):
        x0, y0, x1, y1 = box
        obj_frame[y0:y1, x0:x1] = colour
        write_masks(tmp_path / "m", [0], box=box, obj_id=obj_id)
    mask_set = load_mask_set(tmp_path / "m")
    yield flat_frames(1, BG_LEVEL)[0], obj_frame, mask_set
    mask_set.close()


def test_several_objects_without_an_objects_file_move_as_one_group_with_a_note(two_objects):
    background, obj_frame, mask_set = two_objects
    options = ComposeOptions(placement="relocate", size=40, **HARD_EDGES)
    note = placement_note(mask_set, options)
    assert note is not None and "(1, 2)" in note and "objects file" in note
    composed = compose_frame(background, obj_frame, mask_set, 0, options)
    # the union box (10, 10)-(90, 50), 80x40, halved to 40x20 and centred: (28, 22)-(68, 42); each object
    # keeps its place in the group: red (10, 10)-(30, 24) -> (28, 22)-(38, 29), blue -> (53, 32)-(68, 42)
    assert_colour(composed, (28, 22, 38, 29), OBJECT_RED, tolerance=0)
    assert_colour(composed, (53, 32, 68, 42), BLUE, tolerance=0)
    assert_colour(composed, (0, 44, 96, 64), BG_LEVEL, tolerance=0)
    original = compose_frame(
        background, obj_frame, mask_set, 0, dataclasses.replace(options, placement="original")
    )
    assert_colour(original, RED_BOX, OBJECT_RED, tolerance=0)
    assert_colour(original, BLUE_BOX, BLUE, tolerance=0)


def test_one_selected_object_is_relocated_without_a_note(two_objects):
    background, obj_frame, mask_set = two_objects
    options = ComposeOptions(size=45, pos="center", objects=(2,), **HARD_EDGES)
    assert placement_note(mask_set, options) is None
    composed = compose_frame(background, obj_frame, mask_set, 0, options)
    # blue 30x20 -> 45x30 centred in 96x64: x (96 - 45) // 2 = 25 .. 70, y (64 - 30) // 2 = 17 .. 47
    assert_colour(composed, (25, 17, 70, 47), BLUE, tolerance=0)
    assert not np.all(composed == OBJECT_RED, axis=2).any()  # object 1 is left out
    assert not np.all(composed[BLUE_BOX[1] : BLUE_BOX[3], 70:] == BLUE, axis=2).any()  # moved, not copied
    assert_colour(composed, (72, 48, 96, 64), BG_LEVEL, tolerance=0)


def test_unknown_object_ids_are_refused(two_objects):
    background, obj_frame, mask_set = two_objects
    with pytest.raises(ValueError, match=r"\[7\]"):
        compose_frame(background, obj_frame, mask_set, 0, ComposeOptions(objects=(7,)))


# --- brightness match -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("object_level", "background_level", "expected"),
    [
        (60, 90, 90),  # gain 1.5 inside [0.5, 2]: the object reaches the background's luma
        (60, 200, 120),  # gain 3.33 clamped to 2: 2 * 60
        (200, 40, 100),  # gain 0.2 clamped to 0.5: 0.5 * 200
    ],
)
def test_brightness_match_moves_object_luma_toward_the_background(
    tmp_path, object_level, background_level, expected
):
    write_masks(tmp_path / "m", [0])
    mask_set = load_mask_set(tmp_path / "m")
    background = flat_frames(1, background_level)[0]
    obj_frame = object_frames(1, object_level)[0]
    options = ComposeOptions(placement="original", brightness_match=True, **HARD_EDGES)
    plain = compose_frame(
        background, obj_frame, mask_set, 0, ComposeOptions(placement="original", **HARD_EDGES)
    )
    matched = compose_frame(background, obj_frame, mask_set, 0, options)
    assert_colour(plain, OBJECT_BOX, object_level, tolerance=0)
    assert_colour(matched, OBJECT_BOX, expected, tolerance=1)  # grey: luma = level
    assert_colour(matched, (0, 0, 26, 64), background_level, tolerance=0)


# --- cancellation and failures -------------------------------------------------------------------


class CancelAfter:
    """A cancel flag that turns on after ``checks`` checks."""

    def __init__(self, checks: int) -> None:
        self.checks_left = checks

    def is_set(self) -> bool:
        self.checks_left -= 1
        return self.checks_left < 0


def test_cancel_stops_the_render_and_leaves_no_file(single_object, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    reported = []
    with pytest.raises(Cancelled):
        render(
            *single_object,
            out_dir / "out.mp4",
            ComposeOptions(),
            progress=lambda report: reported.append((report.frames_done, report.total, report.stage)),
            cancel=CancelAfter(5),
        )
    assert reported == [(done, 12, "render") for done in range(1, 6)]
    assert list(out_dir.iterdir()) == []


def test_cancel_already_set_writes_nothing(single_object, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        render(*single_object, out_dir / "out.mp4", ComposeOptions(), cancel=cancel)
    assert list(out_dir.iterdir()) == []


def test_unreadable_background_fails_and_leaves_no_file(single_object, tmp_path):
    _, obj, masks = single_object
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("not a video")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(ValueError, match="notes.mp4"):
        render(not_a_video, obj, masks, out_dir / "out.mp4", ComposeOptions())
    assert list(out_dir.iterdir()) == []


def test_failure_in_the_middle_of_a_render_leaves_no_file(single_object, tmp_path):
    background, obj, masks = single_object
    header = (masks / combined_mask_name(6)).read_bytes()[:33]  # signature and IHDR: indexing accepts it
    (masks / combined_mask_name(6)).write_bytes(header + b"broken" * 10)  # a PNG that won't decode
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    done = []
    with pytest.raises(ValueError, match=combined_mask_name(6)):
        render(
            background, obj, masks, out_dir / "out.mp4", ComposeOptions(), progress=lambda *a: done.append(a)
        )
    assert 0 < len(done) < 12  # it failed mid-way, after writing some frames
    assert list(out_dir.iterdir()) == []


# --- snapshots ------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [ComposeOptions(size=30, pos="bottom-left"), ComposeOptions(loop=True)])
def test_snapshot_png_equals_compose_frame(make_video, tmp_path, options):
    background = make_video("bg.mp4", flat_frames(10, lambda i: 40 + 10 * i))
    obj = make_video("obj.mp4", object_frames(16, lambda k: 20 + 12 * k))
    masks = write_masks(tmp_path / "m", range(16))
    frame = 13 if options.loop else 7  # looping: output frame 13 shows background 3 and object 13
    background_index = frame % 10
    png = snapshot(background, obj, masks, frame, options, tmp_path / "snap.png")
    written = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
    mask_set = load_mask_set(masks)
    expected = compose_frame(
        read_frame(background, background_index), read_frame(obj, frame), mask_set, frame, options
    )
    mask_set.close()
    assert np.array_equal(written, expected)
    assert sorted(path.name for path in tmp_path.glob("*.png")) == ["snap.png"]


def test_snapshot_outside_the_output_is_refused(single_object, tmp_path):
    with pytest.raises(ValueError, match="outside"):
        snapshot(*single_object, 12, ComposeOptions(), tmp_path / "snap.png")
    assert not (tmp_path / "snap.png").exists()
