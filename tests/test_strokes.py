"""The brush's stroke geometry against known answers: bands, round ends, a disc, painting and erasing."""

from __future__ import annotations

import numpy as np
import pytest

from sam2_gradio.engine.tracking.interactive import brush_disc
from sam2_gradio.engine.tracking.strokes import default_brush_radius, paint_stroke, stroke_mask


@pytest.mark.parametrize(
    ("y", "width", "rows"), [(10.0, 5, range(8, 13)), (10.5, 4, range(9, 13)), (20.0, 1, [20])]
)
def test_a_horizontal_stroke_of_width_w_covers_a_w_high_band(y, width, rows):
    mask = stroke_mask(40, 60, [(10, y), (30, y), (50, y)], width)
    covered = np.flatnonzero(mask[:, 30])
    assert list(covered) == list(rows)
    assert len(covered) == width
    middle = mask[:, 15:46]  # away from the round ends every column is the same band
    assert (middle == mask[:, 30:31]).all()


def test_the_ends_are_round_and_one_point_is_a_disc():
    mask = stroke_mask(40, 60, [(20, 20), (40, 20)], 10)
    assert mask[20, 15] and not mask[20, 14]  # half the width beyond each end, on the line
    assert not mask[16, 16]  # the corner of a square end is not painted: |(4, 4)| > 5
    dot = stroke_mask(40, 60, [(25.5, 12.0)], 7)
    np.testing.assert_array_equal(dot, brush_disc(np.zeros((40, 60), bool), 25.5, 12.0, 3.5))


def test_a_diagonal_stroke_covers_the_pixels_near_its_line():
    mask = stroke_mask(50, 50, [(5, 5), (45, 45)], 4)
    rows, cols = np.nonzero(mask)
    distance = np.abs(cols - rows) / np.sqrt(2)  # to the line x = y, inside the segment's span
    inner = (rows > 6) & (rows < 44) & (cols > 6) & (cols < 44)
    assert (distance[inner] <= 2).all()
    assert mask[25, 25] and mask[26, 24] and not mask[27, 23]  # 2.83 px away: outside a 4 px stroke


def test_paint_adds_a_stroke_and_erase_takes_one_out():
    base = np.zeros((30, 30), bool)
    base[5:25, 5:25] = True
    erased = paint_stroke(base, [(0, 15), (29, 15)], 3, erase=True)
    assert not erased[14:17, 5:25].any() and erased[13, 5:25].all() and erased[17, 5:25].all()
    painted = paint_stroke(np.zeros((30, 30), bool), [(0, 15), (29, 15)], 3)
    assert painted.sum() == 3 * 30
    np.testing.assert_array_equal(paint_stroke(base, [(100, 100)], 3), base)  # off the frame: nothing


@pytest.mark.parametrize("points", [[], [(1, float("nan"))]])
def test_a_stroke_without_points_or_width_is_refused(points):
    with pytest.raises(ValueError, match="at least one point"):
        stroke_mask(10, 10, points, 3)
    with pytest.raises(ValueError, match="width must be positive"):
        stroke_mask(10, 10, [(1, 1)], 0)


@pytest.mark.parametrize(
    ("size", "radius"), [((1280, 720), 14), ((320, 180), 4), ((64, 20), 1), ((7680, 4320), 64)]
)
def test_the_default_brush_is_two_percent_of_the_shorter_side(size, radius):
    assert default_brush_radius(*size, maximum=64) == radius
