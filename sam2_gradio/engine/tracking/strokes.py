"""Brush strokes as masks: a polyline of points swept by a round brush of a given width.

The geometry of the Segment tab's brush (and of any script painting a mask prompt): pixel (col, row)
has its centre at (col, row), as in `interactive.brush_disc`, and a stroke covers the pixels whose
centres lie within half the brush's width of the polyline, so its ends are round and a stroke of one
point is a disc.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

BRUSH_SHARE_OF_SIDE = 0.02  # the default brush size: this share of the video's shorter side


def stroke_mask(
    height: int, width: int, points: Sequence[tuple[float, float]], stroke_width: float
) -> np.ndarray:
    """A bool (height, width) mask of the pixels within `stroke_width / 2` of the polyline `points`
    ((x, y) pairs in pixels, at least one; the stroke may reach past the edges)."""
    if stroke_width <= 0:
        raise ValueError(f"stroke width must be positive, got {stroke_width}")
    line = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(line) == 0 or not np.isfinite(line).all():
        raise ValueError("a stroke needs at least one point, each two finite numbers")
    mask = np.zeros((height, width), dtype=bool)
    reach = stroke_width / 2
    ends = zip(line[:-1], line[1:], strict=True) if len(line) > 1 else [(line[0], line[0])]
    for start, end in ends:
        left, right = _span(min(start[0], end[0]) - reach, max(start[0], end[0]) + reach, width)
        top, bottom = _span(min(start[1], end[1]) - reach, max(start[1], end[1]) + reach, height)
        if left >= right or top >= bottom:
            continue
        rows, cols = np.ogrid[top:bottom, left:right]
        mask[top:bottom, left:right] |= _distance_squared(cols, rows, start, end) <= reach**2
    return mask


def paint_stroke(
    mask: np.ndarray, points: Sequence[tuple[float, float]], stroke_width: float, *, erase: bool = False
) -> np.ndarray:
    """`mask` (bool (H, W)) with the stroke (`stroke_mask`) painted in, or cleared when `erase`; a new
    array."""
    stroke = stroke_mask(mask.shape[0], mask.shape[1], points, stroke_width)
    return mask & ~stroke if erase else mask | stroke


def default_brush_radius(width: int, height: int, maximum: int) -> int:
    """The brush size a video starts with: `BRUSH_SHARE_OF_SIDE` of its shorter side, in whole pixels
    from 1 to `maximum` (the brush size is a radius, so its strokes are twice as wide)."""
    return min(max(round(BRUSH_SHARE_OF_SIDE * min(width, height)), 1), maximum)


def _span(low: float, high: float, size: int) -> tuple[int, int]:
    """The pixel indices (start, stop) whose centres may lie within [low, high], clipped to [0, size)."""
    return max(math.floor(low), 0), min(math.ceil(high) + 1, size)


def _distance_squared(cols: np.ndarray, rows: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Squared distance of the pixel centres (cols, rows) to the segment start-end."""
    direction = end - start
    length_squared = float(direction @ direction)
    if length_squared == 0:
        along = 0.0
    else:
        along = np.clip(
            ((cols - start[0]) * direction[0] + (rows - start[1]) * direction[1]) / length_squared, 0, 1
        )
    nearest_x, nearest_y = start[0] + along * direction[0], start[1] + along * direction[1]
    return (cols - nearest_x) ** 2 + (rows - nearest_y) ** 2
