"""Benchmark the batch runner (issue 26): 8 short projects tracked in process, and on a local Ray
cluster with 1 and with 2 workers; wall time of each and the 2-worker speed-up.

    .venv/bin/python benchmarks/bench_batch.py                        # this machine's CPUs
    .venv/bin/python benchmarks/bench_batch.py --device cuda --frames 120 --image-size 1024   # a GPU

Each project is a synthetic clip (ffmpeg's test pattern, `--size`, `--frames` frames) made by the recipe
(`jobs_for_videos`) with two objects clicked on frame 0, tracked by the random-weights SAM 2.1 tiny at
`--image-size` (its object-score head set to "present", as in the tests). Every configuration starts
from fresh projects; a Ray row includes starting the local cluster and building each worker's model,
as a user waits for them. On one GPU, 2 workers share it (half a GPU each).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]

import sam2_support  # noqa: E402 (after the path is set)


def make_clip(path: Path, frames: int, size: str, seed: int) -> Path:
    """A synthetic clip of `frames` frames at 30 fps and `size` (ffmpeg's test pattern, shifted by `seed`)."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi"]
    source = f"testsrc2=size={size}:rate=30:duration={(frames + seed) / 30}"
    command += ["-i", source, "-vf", f"trim=start_frame={seed}", "-pix_fmt", "yuv420p"]
    subprocess.run([*command, str(path)], check=True)
    return path


def state_file(clip: Path, path: Path) -> Path:
    """A prompt state with two objects clicked on frame 0 of `clip`."""
    from sam2_gradio.engine.tracking.prompts import PromptState
    from sam2_gradio.media.frames import open_frames

    meta = open_frames(clip).meta
    prompts = PromptState(video=meta)
    prompts.add_click(0, 1, meta.width * 0.3, meta.height * 0.5, 1)
    prompts.add_click(0, 2, meta.width * 0.7, meta.height * 0.4, 1)
    return prompts.save(path)


def measure(clips: Path, state: Path, folder: Path, settings) -> tuple[float, int]:
    """Wall seconds of one batch over fresh projects of `clips`, and the frames it tracked."""
    from sam2_gradio.batch.runner import run_batch
    from sam2_gradio.batch.work import jobs_for_videos

    jobs = jobs_for_videos(clips, state, folder)
    started = time.perf_counter()
    result = run_batch(jobs, settings)
    seconds = time.perf_counter() - started
    if result.failed:
        raise SystemExit(f"failed: {[status.reason for status in result.failed]}")
    return seconds, sum(status.frames_tracked for status in result.statuses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=8, help="projects in the batch")
    parser.add_argument("--frames", type=int, default=8, help="frames of each clip")
    parser.add_argument("--size", default="320x180", help="frame size of the clips")
    parser.add_argument("--image-size", type=int, default=256, help="model input size")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()

    import ray

    from sam2_gradio.batch.runner import BatchSettings
    from sam2_gradio.engine.model.predictor import ModelSettings

    ray.cloudpickle.register_pickle_by_value(sam2_support)  # the workers build the tests' model
    model = ModelSettings(random_weights=True, image_size=args.image_size, device=args.device)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as temp:
        temp = Path(temp)
        clips = temp / "clips"
        clips.mkdir()
        for index in range(args.projects):
            make_clip(clips / f"clip{index}.mp4", args.frames, args.size, seed=index)
        state = state_file(clips / "clip0.mp4", temp / "state.json")
        runs = (("in process", None, None), ("Ray, 1 worker", 1, "local"), ("Ray, 2 workers", 2, "local"))
        for label, workers, address in runs:
            factory = sam2_support.random_model_for
            settings = BatchSettings(model, workers=workers, ray_address=address, model_factory=factory)
            seconds, frames = measure(clips, state, temp / label.replace(" ", "_"), settings)
            rows.append((label, seconds, frames))
            print(f"{label}: {seconds:.1f} s, {frames} frames", flush=True)
    print(
        f"\n{args.projects} projects x {args.frames} frames, {args.size}, model at {args.image_size} px on "
        f"{args.device}\n"
    )
    print("| run | wall time (s) | frames/s |")
    print("|---|---:|---:|")
    for label, seconds, frames in rows:
        print(f"| {label} | {seconds:.1f} | {frames / seconds:.2f} |")
    print(f"\n2 workers vs 1 worker on Ray: {rows[1][1] / rows[2][1]:.2f}x faster")


if __name__ == "__main__":
    main()
