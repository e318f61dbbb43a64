"""COCO compressed RLE: the same strings as pycocotools, decoded back exactly, and bad counts refused."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from sam2_gradio import config
from sam2_gradio.errors import BadInput
from sam2_gradio.media.rle import CompressedRle, counts_to_string, mask_runs


def _masks():
    rng = np.random.default_rng(7)
    for height, width in [(1, 1), (3, 5), (48, 64), (120, 160), (700, 3)]:
        for density in (0.0, 0.02, 0.5, 0.98, 1.0):
            yield rng.random((height, width)) < density
    disc = np.zeros((300, 400), bool)
    yy, xx = np.mgrid[:300, :400]
    disc[(yy - 150) ** 2 + (xx - 200) ** 2 < 120**2] = True  # long runs: multi-character numbers
    yield disc


@pytest.mark.parametrize("mask", list(_masks()), ids=lambda mask: f"{mask.shape}-{mask.mean():.2f}")
def test_encoding_equals_pycocotools_and_decodes_back(mask):
    reference = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    ours = CompressedRle.from_mask(mask)
    assert ours.counts == reference["counts"].decode("ascii")
    assert [ours.height, ours.width] == reference["size"]
    assert np.array_equal(ours.to_mask(), mask)
    assert np.array_equal(coco_mask.decode(ours.to_coco() | {"counts": ours.counts.encode()}), mask)
    assert ours.area() == int(coco_mask.area(reference)) == int(mask.sum())


def test_runs_start_with_background_and_read_columns_first():
    mask = np.array([[1, 0], [1, 1]], bool)  # column-major: 1, 1, 0, 1
    assert mask_runs(mask).tolist() == [0, 2, 1, 1]
    assert mask_runs(np.zeros((2, 2), bool)).tolist() == [4]


def test_coco_entry_round_trip_and_bytes_counts():
    mask = np.eye(6, dtype=bool)
    entry = CompressedRle.from_mask(mask).to_coco()
    assert CompressedRle.from_coco(entry).to_mask().tolist() == mask.tolist()
    as_bytes = {"size": entry["size"], "counts": entry["counts"].encode()}
    assert CompressedRle.from_coco(as_bytes) == CompressedRle.from_coco(entry)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ([1, 2], "expected an object"),
        ({"size": [4, 4]}, "expected an object"),
        ({"size": [4], "counts": "4"}, r"size \[4\] is not \[height, width\]"),
        ({"size": [0, 4], "counts": ""}, "positive integers"),
        ({"size": [4, 4], "counts": [16]}, "must be a compressed RLE string"),
        ({"size": [4, 4], "counts": "0"}, "cover 0 pixels, not the 4x4 = 16"),
        ({"size": [2, 2], "counts": "~~"}, "not a compressed RLE character"),
        ({"size": [2, 2], "counts": "P"}, "end in the middle of a number"),
    ],
)
def test_bad_entries_are_refused_with_the_reason(entry, message):
    with pytest.raises(ValueError, match=message):
        CompressedRle.from_coco(entry)


def test_an_rle_of_another_size_does_not_decode():
    counts = CompressedRle.from_mask(np.ones((4, 4), bool)).counts
    with pytest.raises(ValueError, match="cover 16 pixels, not the 4x5 = 20"):
        CompressedRle.from_coco({"size": [4, 5], "counts": counts})


def test_run_counts_that_overflow_int64_are_refused_not_decoded():
    # issue 25: these counts sum to 57600 in wrapped int64 arithmetic, then crashed np.repeat (segfault)
    entry = {"size": [180, 320], "counts": "oooooooooooo7oooooooooooo7RXh1"}
    with pytest.raises(BadInput, match="characters; counts of this size need at most"):
        CompressedRle.from_coco(entry)


def test_runs_are_summed_without_wrapping():
    # a run past int64 (the old decoder's np.asarray raised OverflowError, a traceback)
    huge = counts_to_string([2**64, 4])
    with pytest.raises(BadInput):
        CompressedRle.from_coco({"size": [2, 2], "counts": huge})


def test_a_counts_string_longer_than_its_size_can_need_is_refused_unread():
    with pytest.raises(BadInput, match="1000000 characters, more than the 115202"):
        CompressedRle.from_coco({"size": [180, 320], "counts": "0" * 1_000_000})


def test_a_declared_size_larger_than_any_video_is_refused():
    side = config.MAX_VIDEO_SIDE + 1
    with pytest.raises(BadInput, match="exceeds the largest video side"):
        CompressedRle.from_coco({"size": [side, 2], "counts": "0"})


def test_a_long_but_valid_counts_string_decodes_in_linear_time():
    # a striped 1080p mask: 1920 x 540 runs; the quadratic decoder took seconds, this one one pass
    mask = np.zeros((1080, 1920), bool)
    mask[::2] = True
    rle = CompressedRle.from_mask(mask)
    assert len(rle.counts) >= 1920 * 1080 - 1
    assert np.array_equal(CompressedRle.from_coco(rle.to_coco()).to_mask(), mask)


def test_a_counts_string_past_the_configured_limit_is_refused_but_our_own_masks_decode(monkeypatch):
    mask = np.zeros((6, 6), bool)
    mask[::2] = True  # 36 one-pixel runs
    rle = CompressedRle.from_mask(mask)
    monkeypatch.setattr(config, "MAX_RLE_CHARS", 10)
    with pytest.raises(BadInput, match="the limit is 10"):
        CompressedRle.from_coco(rle.to_coco())
    assert np.array_equal(rle.to_mask(), mask)  # the limit is for input, not for masks we encoded
