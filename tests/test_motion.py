"""Compositing in motion and depth against known answers: follow, keyframes, time offset and trim,
holdouts, contact shadows, depth order, colour match, and the JSON files' one-sentence errors.

Objects are flat rectangles on flat frames, composited in RGB (`compose_frame`, `output_frame`) where the
answer is exact, and through a render where the codec's error is allowed for.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from sam2_gradio.compositor.blend import match_colour
from sam2_gradio.compositor.layers import plan_layers
from sam2_gradio.compositor.motion import (
    KeyframeValues,
    ObjectPath,
    Placed,
    follow_box,
    interpolate,
    parse_keyframes,
    parse_trim,
    path_point,
    smoothing_window,
    transform_patch,
)
from sam2_gradio.compositor.render import ComposeOptions, compose_frame, output_frame, plan_timeline, render
from sam2_gradio.compositor.shadow import darken, shadow_alpha
from sam2_gradio.errors import BadInput
from sam2_gradio.media.mask_files import Box, load_mask_set, per_object_mask_name, save_mask_png
from sam2_gradio.media.video import iter_frames, probe_video, read_frame

WIDTH, HEIGHT = 160, 96
BG = (70, 70, 70)
RED, BLUE = (230, 30, 30), (30, 40, 230)
GREEN = (30, 160, 30)  # around the objects in their own video: never pasted
STEP = 5  # pixels the moving object goes right per frame
HARD = {"feather": 0, "edge": "hard"}  # exact geometry: the binary mask, no soft edge


def moving_box(frame: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the 20x16 object on frame ``frame``: 5 px right per frame."""
    return 10 + STEP * frame, 40, 30 + STEP * frame, 56


def object_frame(boxes: dict[int, tuple], colours: dict[int, tuple] | None = None) -> np.ndarray:
    frame = np.full((HEIGHT, WIDTH, 3), GREEN, np.uint8)
    for obj_id, (x0, y0, x1, y1) in boxes.items():
        frame[y0:y1, x0:x1] = (colours or {}).get(obj_id, RED)
    return frame


def write_masks(folder: Path, frames: dict[int, dict[int, tuple]], size=(WIDTH, HEIGHT)) -> Path:
    """Per-object mask PNGs: ``frames[frame][obj_id] = box``."""
    for frame, boxes in frames.items():
        for obj_id, (x0, y0, x1, y1) in boxes.items():
            mask = np.zeros((size[1], size[0]), np.uint8)
            mask[y0:y1, x0:x1] = 255
            save_mask_png(folder / per_object_mask_name(frame, obj_id), mask)
    return folder


def background() -> np.ndarray:
    return np.full((HEIGHT, WIDTH, 3), BG, np.uint8)


def coloured(frame: np.ndarray, colour) -> np.ndarray:
    return np.all(frame == colour, axis=2)


def centre_x(frame: np.ndarray, colour=RED) -> float:
    """Mean x of the pixels of ``colour`` (the object's centre, as placed)."""
    xs = np.nonzero(coloured(frame, colour))[1]
    assert xs.size, "the object is not in the frame"
    return float(xs.mean())


@pytest.fixture
def moving(tmp_path):
    """A mask set of one object moving 5 px per frame over 11 frames, and its frames by index."""
    masks = load_mask_set(write_masks(tmp_path / "m", {k: {1: moving_box(k)} for k in range(11)}))
    yield masks, {k: object_frame({1: moving_box(k)}) for k in range(11)}
    masks.close()


# --- follow ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mirror", "direction"), [(False, 1), (True, -1)])
def test_follow_at_half_scale_moves_half_as_far_per_frame(moving, mirror, direction):
    masks, frames = moving
    options = ComposeOptions(placement="follow", scale=0.5, pos="center", mirror=mirror, **HARD)
    placed = {k: compose_frame(background(), frames[k], masks, k, options) for k in range(11)}
    start = centre_x(placed[0])
    for k in range(11):
        assert abs(centre_x(placed[k]) - start - direction * STEP * 0.5 * k) <= 0.5, k
        xs, ys = np.nonzero(coloured(placed[k], RED))[1], np.nonzero(coloured(placed[k], RED))[0]
        assert (xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) == (10, 8)  # 20x16 at half size
    # the clip's first frame lands where relocate anchors it: centred (plus the offsets)
    assert abs(start - (WIDTH / 2 - 0.5)) <= 0.5
    shifted = compose_frame(background(), frames[0], masks, 0, replace(options, offset_x=7))
    assert centre_x(shifted) - start == 7


def test_follow_box_maps_the_path_by_scale_from_the_anchor():
    start, later = (
        path_point(Box(10, 40, 30, 56), "bottom-center"),
        path_point(Box(60, 30, 100, 62), "bottom-center"),
    )
    box = follow_box(start, later, (200, 100), scale=0.5, pos="bottom-center", offset_x=-10)
    # the feet: (20, 56) -> (80, 62), i.e. (+60, +6) at half scale (+30, +3), from (100 - 10, 100)
    assert box == Box(110, 87, 130, 103)  # 40x32 at half size: 20x16 above the feet at (120, 103)
    assert follow_box(start, start, (200, 100), scale=2, pos="top-left") == Box(0, 0, 40, 32)


def test_the_path_is_smoothed_over_a_symmetric_window_so_steady_motion_stays_exact():
    assert list(smoothing_window(0, 0, 10, 2)) == [0]
    assert list(smoothing_window(1, 0, 10, 2)) == [0, 1, 2]
    assert list(smoothing_window(5, 0, 10, 2)) == [3, 4, 5, 6, 7]
    jitter = {5: 3}  # frame 5's box is 3 px off the straight path
    path = ObjectPath(
        lambda k: Box(*np.add(moving_box(k), (jitter.get(k, 0), 0, jitter.get(k, 0), 0))), 0, 10, "center", 2
    )
    assert path.at(4).x == pytest.approx(20 + STEP * 4 + 3 / 5)  # the jitter spread over 5 frames
    assert path.at(0).x == 20 and path.at(10).x == 20 + STEP * 10
    with pytest.raises(ValueError, match="outside the clip"):
        smoothing_window(11, 0, 10, 2)


# --- keyframes ------------------------------------------------------------------------------------


def test_keyframes_at_0_and_10_give_the_interpolated_position_at_5(moving, tmp_path):
    keys = parse_keyframes([{"frame": 0, "x": 0, "y": 0}, {"frame": 10, "x": 40, "y": -20, "rotation": 90}])
    assert interpolate(keys, 5) == KeyframeValues(20.0, -10.0, 1.0, 45.0)
    assert interpolate(keys, -3).x == 0 and interpolate(keys, 30).x == 40  # held outside
    eased = parse_keyframes(
        {"interpolation": "ease-in-out", "keyframes": [{"frame": 0, "x": 0}, {"frame": 10, "x": 40}]}
    )
    assert interpolate(eased, 2).x == pytest.approx(40 * (3 * 0.2**2 - 2 * 0.2**3))
    assert interpolate(eased, 5).x == pytest.approx(20)
    # the pasted object at output frame 5 is exactly where offsets (20, -10) put it without keyframes
    masks, frames = moving
    file = tmp_path / "keys.json"
    file.write_text(json.dumps([{"frame": 0, "x": 0, "y": 0}, {"frame": 10, "x": 40, "y": -20}]))
    keyed = ComposeOptions(size=30, keyframes=str(file), **HARD)
    at_5 = compose_frame(background(), frames[3], masks, 3, keyed, output_index=5)
    plain = compose_frame(
        background(), frames[3], masks, 3, ComposeOptions(size=30, offset_x=20, offset_y=-10, **HARD)
    )
    np.testing.assert_array_equal(at_5, plain)


def test_keyframe_rotation_and_mirror_turn_the_patch():
    patch = np.zeros((10, 20, 3), np.uint8)
    patch[:, :10] = RED  # left half red
    alpha = np.ones((10, 20), np.float32)
    turned, turned_alpha, box = transform_patch(patch, alpha, Placed(Box(0, 0, 20, 10), rotation=90))
    assert box == Box(5, -5, 15, 15) and turned.shape == (20, 10, 3)  # same centre, sides swapped
    assert coloured(turned[12:, 2:8], RED).all()  # counter-clockwise: the left half is now at the bottom
    flipped, _, same = transform_patch(patch, alpha, Placed(Box(0, 0, 20, 10), mirror=True))
    assert (
        same == Box(0, 0, 20, 10)
        and coloured(flipped[:, 10:], RED).all()
        and not coloured(flipped[:, :10], RED).any()
    )
    assert turned_alpha.max() == 1.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must hold a non-empty list of keyframes"),
        ([{"x": 3}], "keyframe 0 has no frame"),
        ([{"frame": -1}], "frame must be a whole number from 0"),
        ([{"frame": 0, "scale": 0}], "scale must be a number from 0.01 to 16"),
        ([{"frame": 0, "x": "left"}], "x must be a number"),
        ([{"frame": 0, "spin": 1}], "unknown key 'spin'"),
        ([{"frame": 3}, {"frame": 3}], "gives frame 3 twice"),
        ({"interpolation": "bounce", "keyframes": [{"frame": 0}]}, "interpolation must be one of linear"),
        ([1, 2], "keyframe 0 must be an object"),
    ],
)
def test_bad_keyframes_are_refused_in_one_sentence(data, message):
    with pytest.raises(BadInput, match=message) as error:
        parse_keyframes(data)
    assert "\n" not in str(error.value)


def test_keyframes_need_relocate_or_follow(tmp_path):
    file = tmp_path / "k.json"
    file.write_text('[{"frame": 0}]')
    with pytest.raises(BadInput, match="keyframes need the relocate or follow placement"):
        plan_layers((1,), ComposeOptions(placement="original", keyframes=str(file)))
    file.write_text("{not json")
    with pytest.raises(BadInput, match="is not valid JSON"):
        plan_layers((1,), ComposeOptions(keyframes=str(file)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, "nests its JSON too deeply"),
        ('[{"frame": 1' + "0" * 5000 + "}]", "holds a number too long"),
    ],
)
def test_a_keyframe_or_objects_file_nested_too_deep_or_with_a_huge_number_is_one_sentence(
    tmp_path, text, message
):
    file = tmp_path / "k.json"
    file.write_text(text)
    with pytest.raises(BadInput, match=rf"^keyframe file k\.json {message}"):
        plan_layers((1,), ComposeOptions(keyframes=str(file)))
    with pytest.raises(BadInput, match=rf"^objects file k\.json {message}"):
        plan_layers((1,), ComposeOptions(objects_file=str(file)))


# --- time offset and trim ---------------------------------------------------------------------------


def levels(count: int) -> list[np.ndarray]:
    """Object frames whose object's grey level tells the frame: 40 + 15 k."""
    return [object_frame({1: moving_box(0)}, {1: (40 + 15 * k,) * 3}) for k in range(count)]


@pytest.fixture
def clips(make_video, tmp_path):
    bg = make_video("bg.mp4", [background()] * 12)
    obj = make_video("obj.mp4", levels(8))
    return bg, obj, write_masks(tmp_path / "m", {k: {1: moving_box(0)} for k in range(8)})


def test_the_time_offset_shifts_the_first_object_frame_exactly_and_trim_picks_the_clip(clips, tmp_path):
    bg, obj, masks = clips
    timeline = plan_timeline(probe_video(bg), probe_video(obj), ComposeOptions(start_frame=3, trim="2:6"))
    assert [timeline.object_index(i) for i in range(9)] == [None, None, None, 2, 3, 4, 5, 5, 5]
    assert timeline.num_frames == 7  # 3 frames before the clip + its 4 frames
    options = ComposeOptions(placement="original", start_frame=3, trim="2:", **HARD)
    frames = list(iter_frames(render(bg, obj, masks, tmp_path / "out.mp4", options).path))
    assert len(frames) == 3 + 6
    x0, y0, x1, y1 = moving_box(0)
    inner = lambda frame: frame[y0 + 3 : y1 - 3, x0 + 3 : x1 - 3].mean()  # noqa: E731
    for index in range(3):
        assert abs(inner(frames[index]) - BG[0]) <= 4, index  # no object before its start
    for index in range(3, 9):
        assert abs(inner(frames[index]) - (40 + 15 * (index - 3 + 2))) <= 4, index
    with pytest.raises(BadInput, match="trim 9:12 leaves no frame"):
        plan_timeline(probe_video(bg), probe_video(obj), ComposeOptions(trim="9:12"))
    with pytest.raises(BadInput, match="start frame 12 is past the background's end"):
        plan_timeline(probe_video(bg), probe_video(obj), ComposeOptions(start_frame=12))
    assert parse_trim("") == (0, None) and parse_trim(" 4:") == (4, None) and parse_trim(":9") == (0, 9)
    assert parse_trim("7") == (7, None)  # a lone IN, as typed on the way to "7:20"


# --- holdouts ---------------------------------------------------------------------------------------


def test_holdout_pixels_equal_the_background_and_outside_the_composite_is_unchanged(clips, tmp_path):
    bg, obj, masks = clips
    holdout_box = (14, 30, 24, 70)  # a post in the background, across the object's left part
    holdouts = write_masks(tmp_path / "h", {0: {1: holdout_box}})
    options = ComposeOptions(placement="original", shadow=True, **HARD)
    plain = output_frame(bg, obj, load_mask_set(masks), 2, options)
    held = output_frame(
        bg,
        obj,
        load_mask_set(masks),
        2,
        replace(options, holdout_mask=str(holdouts)),
    )
    inside = np.zeros((HEIGHT, WIDTH), bool)
    inside[holdout_box[1] : holdout_box[3], holdout_box[0] : holdout_box[2]] = True
    np.testing.assert_array_equal(held[inside], read_frame(bg, 2)[inside])
    np.testing.assert_array_equal(held[~inside], plain[~inside])
    assert not np.array_equal(plain[inside], held[inside])  # the object and its shadow were there


# --- contact shadow ---------------------------------------------------------------------------------


def test_the_shadow_is_zero_where_its_alpha_is_zero_and_only_darkens(moving):
    masks, frames = moving
    options = ComposeOptions(placement="original", **HARD)
    shadowed = dict(shadow=True, shadow_angle=30, shadow_length=80, shadow_blur=3, shadow_opacity=0.6)
    plain = compose_frame(background(), frames[4], masks, 4, options)
    cast = compose_frame(background(), frames[4], masks, 4, replace(options, **shadowed))
    x0, y0, x1, y1 = moving_box(4)
    alpha = np.ones((y1 - y0, x1 - x0), np.float32)
    shadow, box = shadow_alpha(alpha, Box(x0, y0, x1, y1), angle=30, length=80, blur=3, opacity=0.6)
    full = np.zeros((HEIGHT, WIDTH), np.float32)
    full[max(box.y0, 0) : box.y1, max(box.x0, 0) : box.x1] = shadow[max(-box.y0, 0) :, max(-box.x0, 0) :][
        : HEIGHT - max(box.y0, 0), : WIDTH - max(box.x0, 0)
    ]
    np.testing.assert_array_equal(cast[full == 0], plain[full == 0])
    assert (cast.astype(int) <= plain.astype(int)).all() and (cast < plain).any()
    assert coloured(cast[y0:y1, x0:x1], RED).all()  # the object itself stays in front of its shadow


def test_the_shadow_stands_on_the_base_and_falls_at_its_angle():
    alpha = np.ones((20, 10), np.float32)
    same, box = shadow_alpha(alpha, Box(50, 30, 60, 50), angle=90, length=100, blur=0, opacity=1)
    inner = same[30 - box.y0 + 1 : 50 - box.y0 - 1, 50 - box.x0 + 1 : 60 - box.x0 - 1]
    assert np.allclose(inner, 1)  # straight up at full length: the object's own outline
    flat, box = shadow_alpha(alpha, Box(50, 30, 60, 50), angle=0, length=50, blur=0, opacity=0.5)
    rows, cols = np.nonzero(flat > 0)
    assert rows.min() + box.y0 >= 49 and cols.max() + box.x0 >= 69  # lying right along the base, 10 long
    assert flat.max() == pytest.approx(0.5)
    region = np.full((2, 2, 3), 200, np.uint8)
    assert (
        darken(region, np.float32([[0, 0.5], [1, 0.25]])) == np.array([[200, 100], [0, 150]])[..., None]
    ).all()


# --- several objects, depth order -------------------------------------------------------------------


@pytest.fixture
def overlapping(tmp_path):
    boxes = {1: (20, 20, 60, 60), 2: (100, 40, 140, 80)}  # apart in their video, placed over each other
    masks = load_mask_set(write_masks(tmp_path / "m", {0: boxes}))
    yield masks, object_frame(boxes, {1: RED, 2: BLUE})
    masks.close()


def test_depth_order_swaps_which_object_covers_the_other(overlapping, tmp_path):
    masks, frame = overlapping
    covered = {}
    for order in ([1, 2], [2, 1]):
        file = tmp_path / f"objects_{order[0]}.json"
        file.write_text(json.dumps({"objects": [{"id": obj_id, "size": 40} for obj_id in order]}))
        composed = compose_frame(
            background(), frame, masks, 0, ComposeOptions(objects_file=str(file), **HARD)
        )
        covered[order[-1]] = composed[28:68, 60:100]  # both centred there: the front (last) one shows
    assert coloured(covered[2], BLUE).all() and coloured(covered[1], RED).all()


def test_each_object_gets_its_own_placement_from_the_objects_file(overlapping, tmp_path):
    masks, frame = overlapping
    file = tmp_path / "objects.json"
    file.write_text(
        json.dumps(
            [
                {"id": 1, "pos": "top-left", "size": 20},
                {"id": 2, "pos": "bottom-right", "size": 10, "blend_mode": "screen"},
            ]
        )
    )
    composed = compose_frame(background(), frame, masks, 0, ComposeOptions(objects_file=str(file), **HARD))
    assert coloured(composed[0:20, 0:20], RED).all()  # 40x40 -> 20x20 in the top-left corner
    screened = 255 - (255 - np.array(BLUE)) * (255 - np.array(BG)) / 255
    assert np.abs(composed[HEIGHT - 10 :, WIDTH - 10 :].astype(int) - screened).max() <= 1
    assert plan_layers((1, 2), ComposeOptions(objects_file=str(file), objects=(2,)))[0].obj_ids == (2,)
    # keyframes inline in an entry: object 1 moved by the offsets interpolated at output frame 5
    file.write_text(json.dumps([{"id": 1, "pos": "top-left", "size": 20, "keyframes": [
        {"frame": 0, "x": 0, "y": 0}, {"frame": 10, "x": 40, "y": 20}]}]))  # fmt: skip
    keyed = compose_frame(
        background(), frame, masks, 0, ComposeOptions(objects_file=str(file), **HARD), output_index=5
    )
    assert coloured(keyed[10:30, 20:40], RED).all() and not coloured(keyed[:10, :20], RED).any()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"id": 3}]', r"object ids \[3\] are not in the masks"),
        ('[{"id": 1}, {"id": 1}]', "lists object 1 twice"),
        ('[{"id": 1, "size": "big"}]', "entry 0: size must be a whole number"),
        ('[{"id": 1, "size": 0}]', "entry 0: size must be at least 1"),
        ('[{"id": 1, "wobble": 1}]', "entry 0: unknown key 'wobble'"),
        ('{"objects": []}', "must hold a non-empty list of objects"),
        ('[{"pos": "center"}]', "entry 0 must be an object with an id"),
    ],
)
def test_bad_objects_files_are_refused_in_one_sentence(tmp_path, content, message):
    file = tmp_path / "objects.json"
    file.write_text(content)
    with pytest.raises(BadInput, match=message):
        plan_layers((1, 2), ComposeOptions(objects_file=str(file)))


# --- colour match -----------------------------------------------------------------------------------


def test_colour_match_moves_the_lab_mean_to_the_background_by_its_strength():
    rng = np.random.default_rng(0)
    source = np.clip(rng.normal((170, 110, 90), 15, (30, 30, 3)), 0, 255).astype(np.uint8)
    reference = np.clip(rng.normal((90, 110, 140), 20, (60, 60, 3)), 0, 255).astype(np.uint8)
    alpha = np.ones((30, 30), np.float32)
    lab = lambda image: cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB).reshape(-1, 3)  # noqa: E731
    assert match_colour(source, alpha, reference, 0.0) is source
    full = lab(match_colour(source, alpha, reference, 1.0)).mean(axis=0)
    half = lab(match_colour(source, alpha, reference, 0.5)).mean(axis=0)
    before, target = lab(source).mean(axis=0), lab(reference).mean(axis=0)
    assert np.abs(full - target).max() < 1.5  # 8-bit Lab: a unit of rounding each way
    assert np.abs(half - (before + target) / 2).max() < 1.5
    assert np.abs(before - target).max() > 10  # so the transfer did move it
    with pytest.raises(ValueError, match="strength"):
        match_colour(source, alpha, reference, 1.5)


# --- everything at once, through a render -----------------------------------------------------------


def test_a_render_with_follow_two_objects_a_holdout_and_shadows_matches_its_preview(make_video, tmp_path):
    boxes = {k: {1: moving_box(k), 2: (100, 10, 130, 30)} for k in range(8)}
    obj = make_video("obj.mp4", [object_frame(boxes[k], {1: RED, 2: BLUE}) for k in range(8)])
    bg = make_video("bg.mp4", [background()] * 8)
    masks = write_masks(tmp_path / "m", boxes)
    holdouts = write_masks(tmp_path / "h", {0: {1: (70, 0, 80, HEIGHT)}})
    objects = tmp_path / "objects.json"
    objects.write_text(
        json.dumps(
            [
                {"id": 2, "placement": "original"},
                {"id": 1, "placement": "follow", "scale": 0.5, "shadow": True},
            ]
        )
    )
    options = ComposeOptions(objects_file=str(objects), holdout_mask=str(holdouts), color_match=0.3)
    result = render(bg, obj, masks, tmp_path / "out.mp4", options)
    assert result.num_frames == 8 and result.note is None
    rendered = list(iter_frames(result.path))[5]
    expected = output_frame(bg, obj, load_mask_set(masks), 5, options)
    assert np.median(np.abs(rendered.astype(int) - expected)) <= 2
    assert np.abs(rendered[:, 72:78].astype(int) - read_frame(bg, 5)[:, 72:78]).max() <= 12  # the post


# --- enlarged far past the frame --------------------------------------------------------------------


def _turned_keys(tmp_path: Path, scale: float, rotation: float, y: float = 0) -> str:
    file = tmp_path / "turned.json"
    file.write_text(json.dumps([{"frame": 0, "scale": scale, "rotation": rotation, "y": y}]))
    return str(file)


def test_an_enlarged_turned_mirrored_object_and_its_shadow_are_made_as_the_two_step_answer(moving, tmp_path):
    """Made in one warp from the source (only where it shows), it matches the two-step answer: the patch
    resized to its box (pixel centres kept), mirrored and turned by `transform_patch`, its shadow cast by
    `shadow_alpha` from that turned alpha."""
    masks, frames = moving
    keys = _turned_keys(tmp_path, 1.5, 30)
    options = ComposeOptions(size=40, keyframes=keys, mirror=True, shadow=True, shadow_length=30, **HARD)
    shown = compose_frame(background(), frames[0], masks, 0, options)
    x0, y0, x1, y1 = moving_box(0)  # 20 x 16 -> 40 x 32, then x 1.5 -> 60 x 48, centred in the frame
    landing = Box(WIDTH // 2 - 30, HEIGHT // 2 - 24, WIDTH // 2 + 30, HEIGHT // 2 + 24)
    patch = cv2.resize(frames[0][y0:y1, x0:x1], (60, 48), interpolation=cv2.INTER_LINEAR)
    alpha = np.ones((48, 60), np.float32)
    turned, turned_alpha, box = transform_patch(patch, alpha, Placed(landing, rotation=30, mirror=True))
    shadow, reach = shadow_alpha(turned_alpha, box, angle=60, length=30, blur=6, opacity=0.5)
    expected = background()
    top, left = max(reach.y0, 0), max(reach.x0, 0)
    darkened = shadow[top - reach.y0 : HEIGHT - reach.y0, left - reach.x0 : WIDTH - reach.x0]
    expected[top : top + darkened.shape[0], left : left + darkened.shape[1]] = darken(
        expected[top : top + darkened.shape[0], left : left + darkened.shape[1]], darkened
    )
    expected = expected.astype(np.float32)
    region = expected[box.y0 : box.y1, box.x0 : box.x1]
    region[:] = region * (1 - turned_alpha[..., None]) + turned * turned_alpha[..., None]
    difference = np.abs(shown.astype(np.float32) - expected)
    assert difference.mean() < 1 and np.percentile(difference, 99) < 40  # bilinear once instead of twice


def test_an_object_enlarged_16_times_turned_with_a_shadow_takes_memory_of_the_frame_not_of_the_object(
    moving, tmp_path
):
    import tracemalloc

    masks, frames = moving
    options = ComposeOptions(
        size=96,
        keyframes=_turned_keys(tmp_path, 16, 180, y=-640),
        mirror=True,
        shadow=True,
        shadow_angle=-90,
        shadow_length=80,
        **HARD,
    )  # 96 px, then x 16: a box of 1536 x 1229 px, turned over, its base near the top, its shadow below
    compose_frame(background(), frames[0], masks, 0, ComposeOptions(size=96, **HARD))  # first-use costs
    tracemalloc.start()
    try:
        shown = compose_frame(background(), frames[0], masks, 0, options)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert coloured(shown, RED)[:5].mean() > 0.5, "the enlarged object reaches down to the top rows"
    below = shown[HEIGHT // 2 :].astype(int)  # under the object: the background, darkened by the shadow
    assert (below <= BG).all() and (below < BG[0] - 10).any(), "its shadow only darkens, and shows"
    assert peak < 8 * 2**20, f"{peak / 2**20:.1f} MiB: the whole enlarged patch was made"  # it takes 46
