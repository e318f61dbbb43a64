"""Benchmark the brush (issue 23 item 2): what one stroke costs sent as a polyline (the app's pointer
events, `sam2_gradio/app/brush.py`) and sent as gradio `ImageEditor` layers, at the frame's full size.

    .venv/bin/python benchmarks/bench_brush.py

A stroke is a wavy drag across the frame with a point every 2 shown pixels (what the browser's coalesced
pointer moves give for a brisk drag). Pointer events send the points as JSON and the server rasterises
them (`strokes.stroke_mask`). `ImageEditor` sends, after every change, the painted layer and the composite
as PNG files of the frame's size, which the server decodes: the sizes and the PNG encode + decode time
of one such change are measured here (the browser's own encode is of the same order). Prints a table.
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from sam2_gradio.engine.tracking.strokes import stroke_mask  # noqa: E402 (after the path is set)

SIZES = ((1280, 720), (1920, 1080), (3840, 2160))
RADIUS_SHARE = 0.02  # the default brush radius: 2% of the shorter side


def wavy_stroke(width: int, height: int) -> list[tuple[float, float]]:
    """A drag from 10% to 90% of the width, waving over a tenth of the height, a point every 2 px."""
    xs = np.arange(0.1 * width, 0.9 * width, 2.0)
    ys = height / 2 + 0.05 * height * np.sin(xs / width * 6 * np.pi)
    return [(round(float(x), 1), round(float(y), 1)) for x, y in zip(xs, ys, strict=True)]


def best_of(repeats: int, run) -> float:
    """The fastest of `repeats` runs of `run`, seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> None:
    print(
        "| frame | points | polyline JSON | rasterise (ms) | ImageEditor layer + composite PNG "
        "| PNG encode + decode (ms) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    rng = np.random.default_rng(0)
    for width, height in SIZES:
        points = wavy_stroke(width, height)
        radius = max(1, round(RADIUS_SHARE * min(width, height)))
        payload = json.dumps({"scale": 1, "points": points}).encode()
        rasterise = best_of(3, lambda: stroke_mask(height, width, points, 2 * radius))  # noqa: B023
        mask = stroke_mask(height, width, points, 2 * radius)
        layer = np.zeros((height, width, 4), np.uint8)
        layer[mask] = (255, 230, 0, 150)
        frame = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)  # a textured frame
        composite = np.asarray(Image.fromarray(frame).resize((width, height), Image.BILINEAR))
        composite = composite.copy()
        composite[mask] = (composite[mask] * 0.4 + np.array([255, 230, 0]) * 0.6).astype(np.uint8)

        def round_trip() -> int:
            sent = [png_bytes(layer), png_bytes(composite)]  # noqa: B023
            for blob in sent:
                np.asarray(Image.open(io.BytesIO(blob)))
            return sum(len(blob) for blob in sent)

        sent_bytes = round_trip()
        seconds = best_of(3, round_trip)
        print(
            f"| {width}x{height} | {len(points)} | {len(payload) / 1024:.1f} KiB | {rasterise * 1000:.1f} | "
            f"{sent_bytes / 1024:.0f} KiB | {seconds * 1000:.0f} |"
        )


if __name__ == "__main__":
    main()
