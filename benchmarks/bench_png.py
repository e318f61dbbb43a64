"""Benchmark the mask PNG codec (media/png.py) against OpenCV's and Pillow's PNGs of the same masks.

Masks: a moving silhouette at 1280x720 (60 frames, the shape a real checkpoint tracks), the matting
fixtures' people thresholded at 0.5 when present, and ragged blobs (smoothed noise thresholded, 960x540,
like the masks of the random-weights model in the tests and `bench_outputs.py`). Printed per mask kind
and codec: bytes per mask, encode and decode milliseconds per mask (median of 3 passes over all masks,
one thread).

    .venv/bin/python benchmarks/bench_png.py
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))

from bench_outputs import matting_silhouettes, moving_silhouettes  # noqa: E402 (after the path is set)

from sam2_gradio.media import png  # noqa: E402


def pil_encode(mask: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")
    return buffer.getvalue()


CODECS: dict[str, tuple[Callable[[np.ndarray], bytes], Callable[[bytes], np.ndarray]]] = {
    "media/png.py": (png.encode, lambda data: png.decode(data)[0]),
    "OpenCV": (
        lambda mask: cv2.imencode(".png", mask)[1].tobytes(),
        lambda data: cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED),
    ),
    "Pillow": (pil_encode, lambda data: np.asarray(Image.open(io.BytesIO(data)))),
}


def per_mask_ms(work: Callable[[object], object], items: list) -> float:
    """Median over 3 passes of the milliseconds per item of ``work``."""
    passes = []
    for _ in range(3):
        started = time.perf_counter()
        for item in items:
            work(item)
        passes.append((time.perf_counter() - started) / len(items) * 1e3)
    return statistics.median(passes)


def ragged_blobs(count: int) -> list[np.ndarray]:
    """Smoothed noise thresholded at its median: masks all edge, as random weights track."""
    rng = np.random.default_rng(0)
    noise = (rng.random((540, 960)).astype(np.float32) for _ in range(count))
    return [cv2.GaussianBlur(image, (0, 0), 3) > 0.5 for image in noise]


def main() -> None:
    cv2.setNumThreads(1)
    cases = [
        ("moving silhouette 1280x720", moving_silhouettes(720, 1280, 60)),
        ("matting fixtures (hair)", matting_silhouettes()),
        ("ragged blobs 960x540", ragged_blobs(20)),
    ]
    print("| masks | codec | bytes per mask | encode ms | decode ms | read back exactly |")
    print("|---|---|---:|---:|---:|---|")
    for name, masks in cases:
        if not masks:
            print(f"| {name} | (fixtures absent) | | | | |")
            continue
        masks = [mask.astype(np.uint8) * 255 for mask in masks]
        for codec, (encode, decode) in CODECS.items():
            encoded = [encode(mask) for mask in masks]
            exact = all(np.array_equal(decode(data), mask) for data, mask in zip(encoded, masks, strict=True))
            size = statistics.mean(len(data) for data in encoded)
            row = [name, codec, f"{size:.0f}", f"{per_mask_ms(encode, masks):.2f}"]
            row += [f"{per_mask_ms(decode, encoded):.2f}", "yes" if exact else "NO"]
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
