"""Click markers and object colours: each click reads as its object's, and as positive or negative."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from sam2_gradio.engine.exports.overlay import (
    MARKER_INK,
    MARKER_OUTLINE,
    PALETTE,
    display_factor,
    draw_clicks,
    draw_legend,
    enlarge,
    legend_labels,
    marker_radius,
    object_color,
)
from sam2_gradio.engine.tracking.prompts import ObjectClicks

CENTER = 360  # the click's position (x and y) on the test frames


def _near(pixel: np.ndarray, color: tuple[int, int, int], tolerance: int = 40) -> bool:
    return int(np.abs(pixel.astype(int) - np.array(color)).max()) <= tolerance


def _marked(label: int, obj_id: int = 2, background: int = 128, size: int = 720) -> tuple[np.ndarray, int]:
    frame = np.full((size, size, 3), background, dtype=np.uint8)
    clicks = {obj_id: ObjectClicks(points=[(size / 2, size / 2)], labels=[label])}
    return draw_clicks(frame, clicks), marker_radius(frame.shape)


@pytest.mark.parametrize("label", [1, 0])
def test_a_marker_is_a_disc_of_its_objects_colour_with_a_dark_outline(label: int) -> None:
    image, radius = _marked(label, obj_id=3)
    inside = image[CENTER + radius - 1, CENTER]  # below the glyph, inside the disc
    outline = image[CENTER + radius + max(1, radius // 4) // 2 + 1, CENTER]
    assert _near(inside, object_color(3))
    assert _near(outline, MARKER_OUTLINE)
    assert tuple(image[0, 0]) == (128, 128, 128)  # nothing drawn elsewhere


def test_positive_markers_have_a_plus_and_negative_ones_a_minus() -> None:
    positive, radius = _marked(1)
    negative, _ = _marked(0)
    above = (CENTER - radius // 3, CENTER)  # on the vertical bar of a +
    beside = (CENTER, CENTER + radius // 3)  # on the horizontal bar of both
    assert _near(positive[above], MARKER_INK) and _near(positive[beside], MARKER_INK)
    assert _near(negative[beside], MARKER_INK) and _near(negative[above], object_color(2))


def test_markers_scale_with_the_frame() -> None:
    assert marker_radius((1080, 1920, 3)) > 2 * marker_radius((240, 320, 3))
    assert marker_radius((24, 32, 3)) >= 5  # still visible on a tiny frame


def test_a_marker_reads_on_white_and_on_black() -> None:
    for background in (0, 255):
        image, radius = _marked(1, background=background)
        ring = image[CENTER + radius + max(1, radius // 4) // 2 + 1, CENTER].astype(int)
        disc = image[CENTER + radius - 1, CENTER].astype(int)
        assert np.abs(ring - background).max() > 60 or np.abs(disc - background).max() > 60


def test_no_object_colour_is_pure_red_or_green() -> None:
    """Red and green read as negative and positive; objects are told apart by other hues."""
    for color in PALETTE:
        hue, _, saturation = colorsys.rgb_to_hls(*(channel / 255 for channel in color))
        degrees = hue * 360
        red = min(degrees, 360 - degrees) < 15
        green = abs(degrees - 120) < 25
        assert not (saturation > 0.5 and (red or green)), color
    assert len(set(PALETTE)) == len(PALETTE)


def test_small_frames_are_enlarged_by_a_whole_factor_pixel_for_pixel():
    assert [
        display_factor(w, h, 960) for w, h in [(320, 240), (240, 320), (480, 270), (640, 360), (1920, 1080)]
    ] == [
        3,
        3,
        2,
        1,
        1,
    ]
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    big = enlarge(image, 3)
    assert big.shape == (6, 9, 3)
    for y, x in [(0, 0), (5, 8), (4, 2), (1, 7)]:
        np.testing.assert_array_equal(big[y, x], image[y // 3, x // 3])
    assert enlarge(image, 1) is image
    with pytest.raises(ValueError, match="whole number from 1"):
        enlarge(image, 0)


def test_the_legend_names_the_objects_once_one_is_named():
    assert legend_labels([(1, ""), (2, "")]) == {}, "no name: no legend (the preview stays as it was)"
    assert legend_labels([(1, "dog"), (2, "")]) == {1: "dog", 2: "Object 2"}


def test_the_legend_writes_each_label_beside_a_disc_of_its_colour_in_the_top_left_corner():
    frame = np.full((360, 640, 3), 128, dtype=np.uint8)
    assert draw_legend(frame, {}) is frame
    drawn = draw_legend(frame, {1: "dog", 2: "Object 2"})
    changed = np.argwhere(np.any(drawn != frame, axis=2))
    assert changed.size and changed[:, 0].max() < 360 // 4 and changed[:, 1].max() < 640 // 2, (
        "only the top-left corner changes"
    )
    # the discs' centres: one line per object, in the object's colour
    scale = max(0.35, 360 / 900)
    line, radius = round(30 * scale), max(3, round(8 * scale))
    for row, obj_id in enumerate((1, 2), start=1):
        assert _near(drawn[row * line, line // 2 + radius], object_color(obj_id), tolerance=2)
    text = drawn[:, line // 2 + 3 * radius :]
    assert (np.abs(text.astype(int) - MARKER_INK).max(axis=2) <= 2).any(), "the label is written in white"
    with pytest.raises(ValueError, match="RGB uint8"):
        draw_legend(frame[..., 0], {1: "dog"})
