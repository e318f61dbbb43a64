"""Benchmark the project store's outputs (issue 21): tracking, results ready, each export, store size.

    .venv/bin/python benchmarks/bench_outputs.py                      # 72 and 500 frames, 960x540
    .venv/bin/python benchmarks/bench_outputs.py --frames 72 --size 640x360

A synthetic clip (ffmpeg's test pattern, `--size`) with two objects clicked on frame 0 is tracked into a
project by the random-weights SAM 2.1 tiny at `--image-size` (masks not empty: the object-score head is
set to "present", as in the tests) on the CPU. Printed per clip: tracking time; the time from the last
tracked frame to the results being ready (the preview, encoded while tracking); each export written from
the store with nothing cached (no model); and the store's bytes per frame and object against the PNG
folder's. Goals: results within max(2 s, 10% of tracking); every export together within 25% of the
tracking time; the store at most 10% of the PNGs' size.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]

from sam2_support import build_random_model  # noqa: E402 (after the path is set)


def make_clip(path: Path, frames: int, size: str) -> Path:
    """A synthetic clip of `frames` frames at 30 fps and `size` (ffmpeg's moving test pattern)."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi"]
    command += ["-i", f"testsrc2=size={size}:rate=30:duration={frames / 30}", "-pix_fmt", "yuv420p"]
    subprocess.run([*command, str(path)], check=True)
    return path


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under `folder`."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def measure(model, clip: Path, folder: Path) -> dict[str, float]:
    """Track `clip` into a project in `folder` and time everything the issue asks about."""
    from sam2_gradio.engine.exports import project_exports
    from sam2_gradio.engine.store.project import OUTPUTS_DIR, Project, adopt_prompts
    from sam2_gradio.engine.tracking.prompts import PromptState
    from sam2_gradio.engine.tracking.track_project import track_project

    project = Project.create(folder / "project", clip)
    meta = project.meta
    prompts = PromptState(video=meta)
    prompts.add_click(0, 1, meta.width * 0.3, meta.height * 0.5, 1)
    prompts.add_click(0, 2, meta.width * 0.7, meta.height * 0.4, 1)
    adopt_prompts(project, prompts)
    last_frame_at: list[float] = []
    started = time.perf_counter()
    result = track_project(model, project, watch=lambda _: last_frame_at.append(time.perf_counter()))
    ready = time.perf_counter()
    row = {
        "frames": meta.num_frames,
        "tracking": last_frame_at[-1] - started,
        "ready": ready - last_frame_at[-1],
    }
    assert result.finished and result.preview is not None
    shutil.rmtree(project.folder / OUTPUTS_DIR)  # every export below from the store, nothing cached
    exports = {
        "pngs": lambda: project_exports.mask_pngs(project, folder / "masks"),
        "zip": lambda: project_exports.masks_zip(project, folder / "masks.zip"),
        "coco": lambda: project_exports.coco(project, folder / "masks.json"),
        "davis": lambda: project_exports.davis(project, folder / "davis"),
        "preview": lambda: project_exports.preview(project, folder / "preview.mp4"),
        "webm": lambda: project_exports.alpha_video(project, folder / "alpha.webm"),
        "mov": lambda: project_exports.alpha_video(project, folder / "alpha.mov"),
    }
    for name, export in exports.items():
        begun = time.perf_counter()
        export()
        row[name] = time.perf_counter() - begun
    masks = meta.num_frames * 2
    row["store B/mask"] = project.stored_mask_bytes() / masks
    row["db B/mask"] = (project.folder / "project.sqlite").stat().st_size / masks
    row["png B/mask"] = folder_bytes(folder / "masks" / "per_object") / masks
    project.close()
    return row


MATTING_ALPHA = PROJECT_ROOT.parent / "shared" / "fixtures" / "matting" / "alpha"


def object_shaped_sizes(folder: Path = MATTING_ALPHA) -> tuple[int, float, float] | None:
    """(masks, RLE bytes, PNG bytes per mask) of real object silhouettes: the matting fixtures' alpha
    thresholded at 0.5, as the store keeps them (COCO RLE) and as the mask folder does (0/255 PNG).
    The random-weights model's masks are noise, on which no run-length code saves anything; these are
    the shapes a real checkpoint tracks. None when the fixtures are absent."""
    import cv2

    from sam2_gradio.media.rle import CompressedRle

    paths = sorted(folder.glob("*.png")) if folder.is_dir() else []
    if not paths:
        return None
    rle = png = 0
    for path in paths:
        mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) >= 128
        rle += len(CompressedRle.from_mask(mask).counts)
        png += len(cv2.imencode(".png", mask.astype("uint8") * 255)[1])
    return len(paths), rle / len(paths), png / len(paths)


def print_table(rows: list[dict[str, float]], image_size: int) -> None:
    """The results as a Markdown table, goals beside."""
    print(f"\nSAM 2.1 tiny, random weights, {image_size} px, CPU; 2 objects; seconds unless said\n")
    export_names = ["pngs", "zip", "coco", "davis", "preview", "webm", "mov"]
    header = ["frames", "tracking", "ready", *export_names, "all exports", "store B/mask", "png B/mask"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---:|" * len(header))
    for row in rows:
        every = sum(row[name] for name in export_names)
        values = [f"{row['frames']}", f"{row['tracking']:.1f}", f"{row['ready']:.2f}"]
        values += [f"{row[name]:.2f}" for name in export_names]
        values += [f"{every:.1f} ({100 * every / row['tracking']:.0f}%)"]
        values += [f"{row['store B/mask']:.0f} ({100 * row['store B/mask'] / row['png B/mask']:.1f}%)"]
        values += [f"{row['png B/mask']:.0f}"]
        print("| " + " | ".join(values) + " |")
    print("\nready: from the last tracked frame to the preview ready (goal: max(2 s, 10% of tracking));")
    print("all exports: every export from the store (goal: within 25% of tracking);")
    print("store B/mask: RLE bytes per frame and object (goal: at most 10% of the PNGs').")
    shaped = object_shaped_sizes()
    if shaped is not None:
        count, rle, png = shaped
        print(
            f"\nobject-shaped masks ({count} matting fixtures thresholded at 0.5): RLE {rle:.0f} B, "
            f"PNG {png:.0f} B per mask ({100 * rle / png:.1f}%)"
        )


def main() -> None:
    """Parse the arguments, run each clip length and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[72, 500], help="clip lengths")
    parser.add_argument("--size", default="960x540", help="clip size WxH")
    parser.add_argument("--image-size", type=int, default=256, help="model input size")
    args = parser.parse_args()
    model = build_random_model(args.image_size)
    rows = []
    for frames in args.frames:
        with tempfile.TemporaryDirectory() as folder:
            clip = make_clip(Path(folder) / "clip.mp4", frames, args.size)
            rows.append(measure(model, clip, Path(folder)))
            print(f"{frames} frames done", flush=True)
    print_table(rows, args.image_size)


if __name__ == "__main__":
    main()
