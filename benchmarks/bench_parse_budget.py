"""CPU time of reading the largest inputs the limits let in, against the parse budget
(``config.MAX_PARSE_CPU_SECONDS``): how much room the budget leaves a legitimate input.

Each input is read once on this thread and timed with ``time.thread_time`` (CPU of the reading thread,
as the budget counts it). The DAVIS row reads ``--davis-frames`` 1080p palette PNGs and scales the time
to the ``config.MAX_MASK_INDEX_PIXELS`` that indexing may decode (its cost is linear in pixels).

    .venv/bin/python benchmarks/bench_parse_budget.py
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package

from sam2_gradio import config  # noqa: E402
from sam2_gradio.compositor.motion import MAX_KEYFRAMES, load_keyframes  # noqa: E402
from sam2_gradio.engine.tracking.prompts import load_prompt_state  # noqa: E402
from sam2_gradio.media.mask_files import (  # noqa: E402
    indexed_mask_name,
    load_mask_set,
    per_object_mask_name,
    save_indexed_png,
)
from sam2_gradio.media.rle import CompressedRle  # noqa: E402


def cpu_seconds(read: Callable[[], object]) -> float:
    """CPU seconds of this thread that ``read()`` takes."""
    start = time.thread_time()
    read()
    return time.thread_time() - start


def longest_masks_zip(folder: Path) -> Path:
    """``config.MAX_ZIP_ENTRIES`` per-object mask PNGs (the most frames times the most objects, and one)."""
    png = cv2.imencode(".png", np.zeros((36, 64), np.uint8))[1].tobytes()
    path = folder / "masks.zip"
    per_frame = config.MAX_OBJECTS + 1
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for index in range(config.MAX_ZIP_ENTRIES):
            frame, obj_id = divmod(index, per_frame)
            archive.writestr(f"per_object/{per_object_mask_name(frame, obj_id + 1)}", png)
    return path


def largest_state_file(folder: Path) -> Path:
    """A state file near ``config.MAX_STATE_FILE_MB`` of 4K masks, each a counts string of the most runs
    (a random mask: about one character a run) under ``config.MAX_RLE_CHARS``."""
    side = min(config.MAX_VIDEO_SIDE, 3840)
    rows = max(1, config.MAX_RLE_CHARS * 9 // 10 // side)  # ~one run per pixel: ~0.9 x the char limit
    mask = np.zeros((rows, side), bool)
    mask[np.random.default_rng(0).random(mask.shape) < 0.5] = True
    entry = {"mask": CompressedRle.from_mask(mask).to_coco()}
    count = max(1, config.MAX_STATE_FILE_MB * 2**20 // (len(entry["mask"]["counts"]) + 64))
    path = folder / "interactive_state.json"
    clicks = {str(frame): {"1": entry} for frame in range(count)}
    path.write_text(json.dumps({"version": 1, "clicks": clicks}))
    return path


def largest_keyframe_file(folder: Path) -> Path:
    """``MAX_KEYFRAMES`` keyframes with every key."""
    keys = [{"frame": k, "x": k % 100, "y": 3, "scale": 1.5, "rotation": 10} for k in range(MAX_KEYFRAMES)]
    path = folder / "keys.json"
    path.write_text(json.dumps(keys))
    return path


def davis_folder(folder: Path, frames: int) -> Path:
    """``frames`` 1080p DAVIS palette PNGs holding three objects."""
    path = folder / "davis"
    path.mkdir()
    labels = np.zeros((1080, 1920), np.uint8)
    labels[100:500, 100:700], labels[600:900, 900:1500], labels[200:400, 1600:1800] = 1, 2, 3
    for frame in range(frames):
        save_indexed_png(path / indexed_mask_name(frame), labels)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--davis-frames", type=int, default=48, help="1080p palette PNGs read (then scaled)")
    args = parser.parse_args()
    budget = config.MAX_PARSE_CPU_SECONDS
    print(f"budget: {budget:g} s of CPU per input (SAM2_GRADIO_MAX_PARSE_CPU_SECONDS)\n")
    print("| input | size | CPU (s) | share of the budget |")
    print("| --- | --- | ---: | ---: |")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        zipped = longest_masks_zip(folder)
        rows = [(f"masks zip, {config.MAX_ZIP_ENTRIES:,} entries", zipped, lambda: load_mask_set(zipped))]
        state = largest_state_file(folder)
        rows.append(("state file of 4K RLE masks", state, lambda: load_prompt_state(state)))
        keys = largest_keyframe_file(folder)
        rows.append((f"keyframe file, {MAX_KEYFRAMES:,} keyframes", keys, lambda: load_keyframes(keys)))
        for name, path, read in rows:
            seconds = cpu_seconds(read)
            size = f"{path.stat().st_size / 2**20:.1f} MB"
            print(f"| {name} | {size} | {seconds:.2f} | {seconds / budget:.0%} |", flush=True)
        davis = davis_folder(folder, args.davis_frames)
        seconds = cpu_seconds(lambda: load_mask_set(davis))
        scaled = seconds * config.MAX_MASK_INDEX_PIXELS / (args.davis_frames * 1920 * 1080)
        megapixels = args.davis_frames * 1920 * 1080 / 1e6
        print(
            f"| DAVIS PNGs, {args.davis_frames} at 1080p | {megapixels:.0f} Mpx | {seconds:.2f} | "
            f"{seconds / budget:.0%} |"
        )
        print(
            f"| DAVIS PNGs at the index limit (scaled) | {config.MAX_MASK_INDEX_PIXELS / 1e6:.0f} Mpx | "
            f"{scaled:.2f} | {scaled / budget:.0%} |"
        )


if __name__ == "__main__":
    main()
