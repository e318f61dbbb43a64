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

_FIRST_CHAR, _LAST_CHAR = 48, 48 + 63  # characters of the encoding: "0" .. "o"


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
            ValueError: the entry is not of that shape, or its counts do not cover H x W pixels.
        """
        if not isinstance(data, dict) or "size" not in data or "counts" not in data:
            raise ValueError('expected an object {"size": [height, width], "counts": "<compressed RLE>"}')
        size, counts = data["size"], data["counts"]
        if not (
            isinstance(size, list)
            and len(size) == 2
            and all(isinstance(side, int) and not isinstance(side, bool) and side > 0 for side in size)
        ):
            raise ValueError(f"RLE size {size!r} is not [height, width] in positive integers")
        if isinstance(counts, bytes):
            counts = counts.decode("ascii", "replace")
        if not isinstance(counts, str):
            raise ValueError(f"RLE counts must be a compressed RLE string, got {type(counts).__name__}")
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
    """Run lengths as the compressed RLE string (pycocotools ``rleToString``)."""
    runs = [int(run) for run in runs]
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


def string_to_counts(text: str) -> list[int]:
    """The run lengths a compressed RLE string stands for (pycocotools ``rleFrString``)."""
    counts: list[int] = []
    position = 0
    while position < len(text):
        value, shift, more = 0, 0, True
        while more:
            if position >= len(text):
                raise ValueError("RLE counts end in the middle of a number")
            code = ord(text[position])
            if not _FIRST_CHAR <= code <= _LAST_CHAR:
                raise ValueError(f"RLE counts hold {text[position]!r}, not a compressed RLE character")
            group = code - _FIRST_CHAR
            value |= (group & 0x1F) << shift
            more = bool(group & 0x20)
            position += 1
            shift += 5
            if not more and group & 0x10:
                value |= -1 << shift
        counts.append(value + counts[-2] if len(counts) > 2 else value)
    return counts


def _checked_runs(rle: CompressedRle) -> np.ndarray:
    runs = np.asarray(string_to_counts(rle.counts), dtype=np.int64)
    if (runs < 0).any():
        raise ValueError("RLE counts decode to a negative run length")
    if int(runs.sum()) != rle.height * rle.width:
        raise ValueError(
            f"RLE counts cover {int(runs.sum())} pixels, not the {rle.height}x{rle.width} = "
            f"{rle.height * rle.width} of its size"
        )
    return runs
