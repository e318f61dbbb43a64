"""Tests of the placement geometry: every anchor, offsets, scaling and clipping at the edges."""

from __future__ import annotations

import pytest

from sam2_gradio.compositor.placement import ANCHORS, Box, clip_box, grow_box, relocate, scaled_size

BACKGROUND = (200, 100)  # width, height
OBJECT_BOX = Box(10, 20, 50, 40)  # 40 x 20 object: longer side horizontal

# Expected top-left corner of a 60 x 30 box (size=60) for each anchor in a 200 x 100 background.
EXPECTED_CORNERS = {
    "top-left": (0, 0),
    "top-center": (70, 0),
    "top-right": (140, 0),
    "center-left": (0, 35),
    "center": (70, 35),
    "center-right": (140, 35),
    "bottom-left": (0, 70),
    "bottom-center": (70, 70),
    "bottom-right": (140, 70),
}


def test_every_anchor_is_covered():
    assert set(EXPECTED_CORNERS) == set(ANCHORS)


@pytest.mark.parametrize("pos", ANCHORS)
def test_relocate_anchors_the_rescaled_box(pos):
    x, y = EXPECTED_CORNERS[pos]
    assert relocate(OBJECT_BOX, BACKGROUND, size=60, pos=pos) == Box(x, y, x + 60, y + 30)


@pytest.mark.parametrize("pos", ANCHORS)
def test_offsets_move_right_and_down(pos):
    x, y = EXPECTED_CORNERS[pos]
    assert relocate(OBJECT_BOX, BACKGROUND, size=60, pos=pos, offset_x=7, offset_y=-5) == Box(
        x + 7, y - 5, x + 67, y + 25
    )


def test_rescale_keeps_aspect_on_the_longer_side():
    assert scaled_size(40, 20, 60) == (60, 30)
    assert scaled_size(20, 40, 60) == (30, 60)
    assert scaled_size(3, 300, 10) == (1, 10)  # sides never reach zero
    assert scaled_size(40, 20, 20) == (20, 10)  # shrinking too


def test_box_past_the_edges_is_clipped_not_wrapped():
    box = relocate(OBJECT_BOX, BACKGROUND, size=60, pos="bottom-right", offset_x=30, offset_y=20)
    assert box == Box(170, 90, 230, 120)
    assert clip_box(box, BACKGROUND) == Box(170, 90, 200, 100)
    left = relocate(OBJECT_BOX, BACKGROUND, size=60, pos="top-left", offset_x=-50, offset_y=-10)
    assert clip_box(left, BACKGROUND) == Box(0, 0, 10, 20)


def test_box_entirely_outside_clips_to_none():
    box = relocate(OBJECT_BOX, BACKGROUND, size=60, pos="center", offset_x=500)
    assert clip_box(box, BACKGROUND) is None


def test_grow_box_stays_inside_the_frame():
    assert grow_box(Box(10, 10, 20, 20), 5, BACKGROUND) == Box(5, 5, 25, 25)
    assert grow_box(Box(0, 0, 20, 20), 50, BACKGROUND) == Box(0, 0, 70, 70)


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"pos": "middle"}, "pos must be one of"), ({"size": 0}, "longer_side")]
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        relocate(OBJECT_BOX, BACKGROUND, **{"size": 60, **kwargs})
