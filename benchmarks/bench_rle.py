"""Benchmark our pure-Python COCO RLE (sam2_gradio.media.rle) against pycocotools' C code.

The mask is a 1080p (or --size) frame with a disc and a ragged blob, the kind of mask SAM 2 gives; the
table shows the median CPU time of --repeats calls to encode and to decode one mask, and the length of
the counts string. Both sides give the same string (checked).

    .venv/bin/python benchmarks/bench_rle.py
    .venv/bin/python benchmarks/bench_rle.py --size 1280x720 --repeats 50
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from pycocotools import mask as coco_mask

from sam2_gradio.media.rle import CompressedRle


def _mask(width: int, height: int) -> np.ndarray:
    yy, xx = np.mgrid[:height, :width]
    disc = (xx - width * 0.35) ** 2 + (yy - height * 0.5) ** 2 < (height * 0.3) ** 2
    rng = np.random.default_rng(0)
    wobble = np.sin(yy / 7.0) * 12 + rng.normal(0, 2, (height, width))
    blob = np.abs(xx - width * 0.75 + wobble) < width * 0.08
    return disc | (blob & (yy > height * 0.2) & (yy < height * 0.9))


def _cpu_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080", help="mask size WIDTHxHEIGHT")
    parser.add_argument("--repeats", type=int, default=20, help="calls per measurement (median shown)")
    args = parser.parse_args()
    width, height = (int(side) for side in args.size.split("x"))
    mask = _mask(width, height)
    ours = CompressedRle.from_mask(mask)
    fortran = np.asfortranarray(mask.astype(np.uint8))
    reference = coco_mask.encode(fortran)
    assert ours.counts == reference["counts"].decode(), "the two encodings differ"
    rows = [
        (
            "encode",
            _cpu_seconds(lambda: CompressedRle.from_mask(mask), args.repeats),
            _cpu_seconds(lambda: coco_mask.encode(np.asfortranarray(mask.astype(np.uint8))), args.repeats),
        ),
        (
            "decode",
            _cpu_seconds(ours.to_mask, args.repeats),
            _cpu_seconds(lambda: coco_mask.decode(reference), args.repeats),
        ),
    ]
    print(
        f"mask {width}x{height}, {int(mask.sum())} foreground pixels, counts string {len(ours.counts)} chars"
    )
    print("| step | sam2_gradio.media.rle (ms) | pycocotools (ms) |")
    print("| --- | ---: | ---: |")
    for step, ours_seconds, theirs_seconds in rows:
        print(f"| {step} | {ours_seconds * 1000:.2f} | {theirs_seconds * 1000:.2f} |")


if __name__ == "__main__":
    main()
