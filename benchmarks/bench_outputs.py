"""Benchmark the project store's outputs (issue 21): tracking, results ready, each export, store size.

    .venv/bin/python benchmarks/bench_outputs.py                      # 72 and 500 frames, 960x540
    .venv/bin/python benchmarks/bench_outputs.py --frames 72 --size 640x360

A synthetic clip (ffmpeg's test pattern, `--size`) with two objects clicked on frame 0 is tracked into a
project by the random-weights SAM 2.1 tiny at `--image-size` (masks not empty: the object-score head is
set to "present", as in the tests) on the CPU. Printed per clip: tracking time; the time from the last
tracked frame to the results being ready (the preview, encoded while tracking); each export written from
the store with nothing cached (no model); and the store's bytes per frame and object against the PNG
folder's; then the store's code against COCO RLE text and PNG on masks of three kinds (a moving
silhouette, the matting fixtures' people, random noise). Goals: results within max(2 s, 10% of
tracking); every export together within 25% of the tracking time; the store at most 10% of the PNGs'.
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


def measure(model, clip: Path, folder: Path) -> list[dict[str, float]]:
    """Track `clip` into a project in `folder` and time everything the issue asks about: the exports of
    the tracked masks (the random-weights model's noise-like blobs), and of moving silhouettes stored
    in a second project of the same clip (the shapes a real checkpoint tracks)."""
    import numpy as np

    from sam2_gradio.engine.store.project import Project, adopt_prompts
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
    row.update(time_exports(project, folder / "tracked"))
    project.close()
    shaped = Project.create(folder / "silhouettes", clip)
    run = shaped.begin_run(prompts, "forward", meta.num_frames)
    for frame, mask in enumerate(moving_silhouettes(meta.height, meta.width, meta.num_frames)):
        shaped.commit_frame(run, frame, [1, 2], np.stack([mask, np.fliplr(mask)]))
    shaped.end_run(run, finished=True)
    shaped_row = {"frames": meta.num_frames, "tracking": row["tracking"], "ready": row["ready"]}
    shaped_row.update(time_exports(shaped, folder / "shaped"))
    shaped.close()
    return [row, shaped_row]


def time_exports(project, folder: Path) -> dict[str, float]:
    """Seconds of each export of `project` written from the store with nothing cached (no model), and
    the store's and the PNG folder's bytes per mask."""
    from sam2_gradio.engine.exports import project_exports
    from sam2_gradio.engine.store.project import OUTPUTS_DIR

    folder.mkdir()
    shutil.rmtree(project.folder / OUTPUTS_DIR, ignore_errors=True)  # nothing cached
    exports = {
        "pngs": lambda: project_exports.mask_pngs(project, folder / "masks"),
        "zip": lambda: project_exports.masks_zip(project, folder / "masks.zip"),
        "coco": lambda: project_exports.coco(project, folder / "masks.json"),
        "davis": lambda: project_exports.davis(project, folder / "davis"),
        "preview": lambda: project_exports.preview(project, folder / "preview.mp4"),
        "webm": lambda: project_exports.alpha_video(project, folder / "alpha.webm"),
        "mov": lambda: project_exports.alpha_video(project, folder / "alpha.mov"),
        "webm+mov": lambda: project_exports.alpha_videos(
            project, [folder / "both.webm", folder / "both.mov"]
        ),
    }
    row = {}
    for name, export in exports.items():
        if name == "webm+mov":  # written again, together, from nothing cached
            for cached in (project.folder / OUTPUTS_DIR).glob("alpha-*"):
                cached.unlink()
        begun = time.perf_counter()
        export()
        row[name] = time.perf_counter() - begun
    masks = project.meta.num_frames * 2
    row["store B/mask"] = project.stored_mask_bytes() / masks
    row["png B/mask"] = folder_bytes(folder / "masks" / "per_object") / masks
    row["webm MB"] = (folder / "alpha.webm").stat().st_size / 1e6
    row["mov MB"] = (folder / "alpha.mov").stat().st_size / 1e6
    return row


MATTING_ALPHA = (
    next(  # the shared fixtures beside the repository, or beside a worktree's parent
        (
            path
            for path in (PROJECT_ROOT.parent, PROJECT_ROOT.parents[1])
            if (path / "shared" / "fixtures").is_dir()
        ),
        PROJECT_ROOT.parent,
    )
    / "shared"
    / "fixtures"
    / "matting"
    / "alpha"
)


def moving_silhouettes(height: int, width: int, frames: int) -> list:
    """Smooth blobs with a wavy outline that move and turn: the shape of masks a real checkpoint tracks."""
    import numpy as np

    yy, xx = np.mgrid[:height, :width]
    masks = []
    for frame in range(frames):
        cx, cy = width * (0.3 + 0.2 * np.sin(frame / 40)), height * (0.5 + 0.1 * np.cos(frame / 25))
        angle = np.arctan2(yy - cy, xx - cx)
        radius = height * 0.22 * (1 + 0.15 * np.sin(5 * angle + frame / 7))
        masks.append((xx - cx) ** 2 / 1.4 + (yy - cy) ** 2 < radius**2)
    return masks


def matting_silhouettes(folder: Path = MATTING_ALPHA) -> list:
    """The matting fixtures' alpha thresholded at 0.5: people with hair (none without the fixtures)."""
    import cv2

    paths = sorted(folder.glob("*.png")) if folder.is_dir() else []
    return [cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) >= 128 for path in paths]


def random_noise(height: int, width: int, count: int) -> list:
    """Masks of independent coin flips per pixel: the worst case of any mask code."""
    import numpy as np

    rng = np.random.default_rng(0)
    return [rng.random((height, width)) < 0.5 for _ in range(count)]


def code_sizes(masks: list) -> tuple[float, float, float]:
    """Mean bytes per mask: (the store's code, COCO RLE text as schema 2 kept it, the mask PNG)."""
    import cv2

    from sam2_gradio.media.mask_code import MaskCode
    from sam2_gradio.media.rle import CompressedRle

    code = sum(len(MaskCode.from_mask(mask).data) for mask in masks)
    rle = sum(len(CompressedRle.from_mask(mask).counts) for mask in masks)
    png = sum(len(cv2.imencode(".png", mask.astype("uint8") * 255)[1]) for mask in masks)
    return code / len(masks), rle / len(masks), png / len(masks)


def print_store_sizes(height: int, width: int) -> None:
    """The store's bytes per mask against COCO RLE text and the PNG, on masks of each kind."""
    cases = [
        (f"moving silhouette, {width}x{height}, 60 frames", moving_silhouettes(height, width, 60)),
        ("matting fixtures (hair), thresholded", matting_silhouettes()),
        (f"random noise, {width}x{height}", random_noise(height, width, 4)),
    ]
    print("\n| masks | store code B | COCO RLE text B | PNG B | store / PNG |")
    print("|---|---:|---:|---:|---:|")
    for name, masks in cases:
        if masks:
            code, rle, png = code_sizes(masks)
            print(f"| {name} | {code:.0f} | {rle:.0f} | {png:.0f} | {100 * code / png:.1f}% |")


def print_table(rows: list[dict[str, float]], image_size: int) -> None:
    """The results as a Markdown table, goals beside."""
    print(f"\nSAM 2.1 tiny, random weights, {image_size} px, CPU; 2 objects; seconds unless said\n")
    export_names = ["pngs", "zip", "coco", "davis", "preview", "webm", "mov", "webm+mov"]
    together = ["pngs", "zip", "coco", "davis", "preview", "webm+mov"]
    header = [
        "frames",
        "masks",
        "tracking",
        "ready",
        *export_names,
        "all exports",
        "store B/mask",
        "png B/mask",
    ]
    header += ["webm MB", "mov MB"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---:|" * len(header))
    for index, row in enumerate(rows):
        every = sum(row[name] for name in together)
        values = [f"{row['frames']}", "tracked" if index % 2 == 0 else "silhouettes"]
        values += [f"{row['tracking']:.1f}", f"{row['ready']:.2f}"]
        values += [f"{row[name]:.2f}" for name in export_names]
        values += [f"{every:.1f} ({100 * every / row['tracking']:.0f}%)"]
        values += [f"{row['store B/mask']:.0f} ({100 * row['store B/mask'] / row['png B/mask']:.1f}%)"]
        values += [f"{row['png B/mask']:.0f}", f"{row['webm MB']:.1f}", f"{row['mov MB']:.1f}"]
        print("| " + " | ".join(values) + " |")
    print("\nready: from the last tracked frame to the preview ready (goal: max(2 s, 10% of tracking));")
    print("all exports: every export from the store, the two alpha videos in one pass (goal: within 25%")
    print("of tracking); masks: those tracked (random weights: noise-like blobs) or moving silhouettes;")
    print("store B/mask: the store's bytes per frame and object (goal: at most 10% of the PNGs').")


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
            rows.extend(measure(model, clip, Path(folder)))
            print(f"{frames} frames done", flush=True)
    print_table(rows, args.image_size)
    width, height = (int(side) for side in args.size.split("x"))
    print_store_sizes(height, width)


if __name__ == "__main__":
    main()
