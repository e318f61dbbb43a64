"""COCO compressed run-length encoding of binary masks, written out so that no C extension is needed.

The format of pycocotools' ``mask.encode`` (``rleToString`` / ``rleFrString`` in its ``maskApi.c``):
the mask is read column by column (Fortran order); ``counts`` are the lengths of alternating runs of
0s and 1s, starting with 0s (a mask whose first pixel is set starts with a run of length 0). Each count
from the fourth on is stored as its difference to the count two before it, and every number is written
as little-endian groups of 5 bits, one character (``48 + group``) each, bit 0x20 meaning "more groups
follow" and bit 0x10 of the last group carrying the sign. JSON holds it as
``{"size": [height, width], "counts": "<characters>"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sam2_gradio import config
from sam2_gradio.errors import BadInput

_FIRST_CHAR, _LAST_CHAR = 48, 48 + 63  # characters of the encoding: "0" .. "o"
_MAX_GROUPS = 13  # 5-bit groups of the longest signed int64


@dataclass(frozen=True)
class CompressedRle:
    """One binary mask as COCO compressed RLE: its size and its ``counts`` string."""

    height: int
    width: int
    counts: str

    @classmethod
    def from_mask(cls, mask: np.ndarray) -> CompressedRle:
        """Encode a (H, W) mask (bool, or numbers where non-zero is foreground)."""
        if mask.ndim != 2:
            raise ValueError(f"mask must have shape (H, W), got {mask.shape}")
        height, width = mask.shape
        return cls(height, width, counts_to_string(mask_runs(mask)))

    @classmethod
    def from_coco(cls, data: Any) -> CompressedRle:
        """Read ``{"size": [H, W], "counts": "..."}`` (``counts`` as text or bytes), checking it decodes.

        Raises:
            BadInput: the entry is not of that shape, a side is larger than ``config.MAX_VIDEO_SIDE``, or
                its counts do not cover H x W pixels.
        """
        if not isinstance(data, dict) or "size" not in data or "counts" not in data:
            raise BadInput('expected an object {"size": [height, width], "counts": "<compressed RLE>"}')
        size, counts = data["size"], data["counts"]
        if not (
            isinstance(size, list)
            and len(size) == 2
            and all(isinstance(side, int) and not isinstance(side, bool) and side > 0 for side in size)
        ):
            raise BadInput(f"RLE size {size!r} is not [height, width] in positive integers")
        if isinstance(counts, bytes):
            counts = counts.decode("ascii", "replace")
        if not isinstance(counts, str):
            raise BadInput(f"RLE counts must be a compressed RLE string, got {type(counts).__name__}")
        if max(size) > config.MAX_VIDEO_SIDE:
            raise BadInput(
                f"RLE size {size[0]}x{size[1]} exceeds the largest video side, {config.MAX_VIDEO_SIDE}"
            )
        if len(counts) > config.MAX_RLE_CHARS:
            raise BadInput(f"RLE counts are {len(counts)} characters; the limit is {config.MAX_RLE_CHARS}")
        rle = cls(size[0], size[1], counts)
        _checked_runs(rle)
        return rle

    def to_coco(self) -> dict[str, Any]:
        """The JSON form: ``{"size": [H, W], "counts": "..."}``."""
        return {"size": [self.height, self.width], "counts": self.counts}

    def to_mask(self) -> np.ndarray:
        """Decode to a bool (H, W) mask."""
        runs = _checked_runs(self)
        values = (np.arange(runs.size) % 2).astype(bool)
        return np.repeat(values, runs).reshape(self.width, self.height).T

    def area(self) -> int:
        """Number of foreground pixels."""
        return int(_checked_runs(self)[1::2].sum())


def mask_runs(mask: np.ndarray) -> np.ndarray:
    """Lengths of the alternating 0 and 1 runs of `mask` read column by column, starting with 0s."""
    flat = np.asarray(mask).astype(bool).ravel(order="F")
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], changes, [flat.size])))
    return np.concatenate(([0], runs)) if flat.size and flat[0] else runs


def counts_to_string(runs: np.ndarray) -> str:
    """Run lengths as the compressed RLE string (pycocotools ``rleToString``), vectorised: each number
    takes the fewest 5-bit groups that hold it as a signed value (numbers beyond int64, which only a
    hostile string holds, one by one)."""
    try:
        runs = np.asarray(runs, dtype=np.int64)
    except OverflowError:
        return _big_counts_to_string([int(run) for run in runs])
    values = runs.copy()
    values[3:] -= runs[1:-2]  # from the fourth count on, the difference to the count two before
    places = np.arange(_MAX_GROUPS, dtype=np.int64)
    half_ranges = np.left_shift(np.int64(1), 5 * places[1:] - 1)  # 5j bits hold -2^(5j-1) .. 2^(5j-1)-1
    fits = (values[:, None] >= -half_ranges) & (values[:, None] < half_ranges)
    lengths = _MAX_GROUPS - fits.sum(axis=1)
    groups = (values[:, None] >> (5 * places)) & 0x1F
    more = places < (lengths - 1)[:, None]
    characters = _FIRST_CHAR + (groups | (more << 5))
    return characters[places < lengths[:, None]].astype(np.uint8).tobytes().decode("ascii")


def _big_counts_to_string(runs: list[int]) -> str:
    """`counts_to_string` of Python integers of any size (pycocotools' loop)."""
    characters = []
    for index, run in enumerate(runs):
        value = run - runs[index - 2] if index > 2 else run
        more = True
        while more:
            group = value & 0x1F
            value >>= 5
            more = value != -1 if group & 0x10 else value != 0
            characters.append(chr(_FIRST_CHAR + (group | 0x20 if more else group)))
    return "".join(characters)


def string_to_counts(text: str, pixels: int) -> np.ndarray:
    """The run lengths (int64) a compressed RLE string stands for (pycocotools ``rleFrString``), checked
    against ``pixels``, the H x W of the declared size, before any arithmetic that could overflow.

    Linear in the length of ``text`` and vectorised: the string is refused unread when it is longer than
    a mask of ``pixels`` pixels can need (see ``max_counts_chars``), a number when it has more characters
    than a count up to ``pixels`` needs, and the runs when one is negative or they do not sum to ``pixels``.

    Raises:
        ValueError: the string is not such an encoding of ``pixels`` pixels; the message says why.
    """
    limit = max_counts_chars(pixels)
    if len(text) > limit:
        raise BadInput(
            f"RLE counts are {len(text)} characters, more than the {limit} a mask of this size needs"
        )
    try:
        codes = np.frombuffer(text.encode("ascii"), np.uint8)
    except UnicodeEncodeError as error:
        raise BadInput(f"RLE counts hold {text[error.start]!r}, not a compressed RLE character") from None
    outside = (codes < _FIRST_CHAR) | (codes > _LAST_CHAR)
    if outside.any():
        raise BadInput(f"RLE counts hold {text[int(np.argmax(outside))]!r}, not a compressed RLE character")
    if codes.size == 0:
        return np.zeros(0, np.int64)
    groups = codes - np.uint8(_FIRST_CHAR)
    more = (groups & 0x20) != 0
    if more[-1]:
        raise BadInput("RLE counts end in the middle of a number")
    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    longest = _chars_per_count(pixels)
    if int(lengths.max()) > longest:
        raise BadInput(
            f"an RLE count has {int(lengths.max())} characters; counts of this size need at most {longest}"
        )
    place = np.arange(codes.size) - np.repeat(starts, lengths)  # 5-bit group index within its number
    values = np.add.reduceat((groups & 0x1F).astype(np.int64) << (5 * place), starts)
    negative = (groups[ends] & 0x10) != 0
    values[negative] -= np.left_shift(np.int64(1), 5 * lengths[negative])  # sign-extend: |= -1 << bits
    if int(np.abs(values).max()) > pixels:
        raise BadInput(f"an RLE count or difference exceeds the {pixels} pixels of its size")
    runs = values.copy()
    runs[1::2] = np.cumsum(values[1::2])  # from the fourth count on, each is a difference to the one two
    runs[2::2] = np.cumsum(values[2::2])  # before (the third is not), so odd and even runs are sums
    if (runs < 0).any():
        raise BadInput("RLE counts decode to a negative run length")
    if (runs > pixels).any():
        raise BadInput(f"an RLE run is longer than the {pixels} pixels of its size")
    return runs


def max_counts_chars(pixels: int) -> int:
    """The longest counts string of a mask of ``pixels`` pixels: what its worst encoding can take (two
    characters a pixel, plus a leading empty run)."""
    return 2 * pixels + 2


def _chars_per_count(pixels: int) -> int:
    """Characters of the longest number in the encoding of counts up to ``pixels`` (5 bits each, with a
    sign bit), plus one for an encoder that spends a redundant group."""
    return min((pixels.bit_length() + 1 + 4) // 5 + 1, 12)


def _checked_runs(rle: CompressedRle) -> np.ndarray:
    pixels = rle.height * rle.width
    runs = string_to_counts(rle.counts, pixels)
    covered = int(runs.sum())  # each run is at most `pixels`, so the int64 sum cannot wrap
    if covered != pixels:
        raise BadInput(
            f"RLE counts cover {covered} pixels, not the {rle.height}x{rle.width} = {pixels} of its size"
        )
    return runs
