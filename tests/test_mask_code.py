"""The store's mask code: exact round trips on random and structured masks, COCO RLE, areas and boxes
equal to pycocotools' and numpy's, a silhouette in under a tenth of its PNG, corrupt codes refused."""

from __future__ import annotations

import zlib

import cv2
import numpy as np
import pytest
from pycocotools import mask as coco_mask

from sam2_gradio.errors import BadInput
from sam2_gradio.media.mask_code import MaskCode
from sam2_gradio.media.rle import CompressedRle


def _silhouette(height: int, width: int, frame: int) -> np.ndarray:
    """A smooth blob with a wavy outline that moves and turns with `frame`."""
    yy, xx = np.mgrid[:height, :width]
    cx, cy = width * 0.4 + 3 * frame, height * 0.5 + 2 * np.sin(frame / 3)
    angle = np.arctan2(yy - cy, xx - cx)
    radius = height * 0.25 * (1 + 0.2 * np.sin(5 * angle + frame / 4))
    return (xx - cx) ** 2 / 1.4 + (yy - cy) ** 2 < radius**2


def _structured(height: int, width: int) -> list[np.ndarray]:
    """Empty, full, single pixels in the corners, border frames, stripes and a silhouette."""
    empty = np.zeros((height, width), bool)
    corners = empty.copy()
    corners[0, 0] = corners[-1, -1] = corners[0, -1] = corners[-1, 0] = True
    border = empty.copy()
    border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
    columns, rows = empty.copy(), empty.copy()
    columns[:, ::2] = True
    rows[::2, :] = True
    return [empty, ~empty, corners, border, columns, rows, _silhouette(height, width, 0)]


def _check(mask: np.ndarray) -> None:
    code = MaskCode.from_mask(mask)
    assert code.to_mask().dtype == bool and np.array_equal(code.to_mask(), mask)
    expected = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()
    assert code.to_rle().counts == expected
    assert code.area() == int(mask.sum())
    if mask.any():
        ys, xs = np.nonzero(mask)
        x0, y0 = xs.min(), ys.min()
        assert code.bbox() == [x0, y0, xs.max() + 1 - x0, ys.max() + 1 - y0]


def test_random_masks_of_every_density_and_small_shape_round_trip_exactly():
    rng = np.random.default_rng(0)
    for _ in range(400):
        height, width = rng.integers(1, 14, 2)
        _check(rng.random((height, width)) < rng.random())


@pytest.mark.parametrize(("height", "width"), [(1, 1), (1, 9), (9, 1), (48, 64), (121, 97)])
def test_structured_masks_round_trip_exactly(height, width):
    for mask in _structured(height, width):
        _check(mask)


def test_large_noise_and_long_runs_round_trip_exactly():
    rng = np.random.default_rng(1)
    _check(rng.random((270, 480)) < 0.5)  # residuals beyond one varint byte
    lone = np.zeros((1000, 1000), bool)
    lone[999, 999] = True  # runs of a million pixels
    _check(lone)


def test_from_rle_gives_the_same_code_as_the_mask():
    mask = _silhouette(90, 160, 4)
    assert MaskCode.from_rle(CompressedRle.from_mask(mask)) == MaskCode.from_mask(mask)


def test_a_moving_silhouette_takes_under_a_tenth_of_its_png():
    for frame in range(0, 30, 6):
        mask = _silhouette(540, 960, frame)
        png = cv2.imencode(".png", mask.astype(np.uint8) * 255)[1].size
        assert len(MaskCode.from_mask(mask).data) < 0.10 * png


def _deflated(codes: list[int]) -> bytes:
    """`codes` (zig-zag varint bytes: 2k stands for k, 2k - 1 for -k) as a raw deflate stream; the first 8
    are the change of each column's pairs of changes from the column before."""
    return zlib.compress(bytes(codes))[2:-4]  # no zlib header, no checksum


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not deflate at all", "corrupt"),
        (_deflated([0] * 3), "3 numbers for 8 columns"),
        (_deflated([8] + [0] * 7), "more changes than rows"),  # 4 pairs of changes in 6 rows
        (_deflated([2, 1] + [0] * 6 + [4]), "1 rows for 2 changes"),
        (_deflated([2, 1] + [0] * 6 + [4, 1]), "out of order"),  # rows 2 then 1
        (_deflated([2, 1] + [0] * 6 + [4, 20]), "outside the mask"),  # rows 2 then 12
        (_deflated([0x80]), "middle of a number"),
    ],
)
def test_a_corrupt_code_is_refused(data, message):
    with pytest.raises(BadInput, match=message):
        MaskCode(6, 8, data).to_mask()
