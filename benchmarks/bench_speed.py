"""Benchmark what users wait for: fps against the object count, and the second propagation after a
correction (image features kept in a `FeatureStore`), ours against SAM 2's own predictor.

Runs in one process on the synthetic clip of `bench_propagation.py`, with the random-weights SAM 2.1
model (the architecture's cost, masks meaningless). Tables:

- fps vs objects: `propagation.propagate` (frames decoded while propagating, counted; the objects one
  by one and all in one batch) against `SAM2VideoPredictor.init_state` + `propagate_in_video` (its
  `init_state`, which decodes every frame, not counted); one click per object on frame 0.
- first vs second run: a propagation with a fresh `FeatureStore`, then a correction click on the middle
  frame and a second propagation with the same store (what the app does), at each `--sizes`.

"disagree" is the share of mask pixels (all frames and objects) where ours differs from the official
predictor's masks for the same clicks (0 means identical); "encoded" counts the image encoder's runs
(a spy on `forward_image`). With `--repeats N` each measure runs N times, ours and official alternating
so that other load hits both alike, and the fastest run is shown; "by CPU s" compares CPU seconds of
this process instead of wall time (with `--threads 1` that is the work itself on a shared machine).

    .venv/bin/python benchmarks/bench_speed.py                               # CPU: 256 px, 16 frames
    .venv/bin/python benchmarks/bench_speed.py --skip-objects --sizes 1024,256 --frames 12 \
        --frames-1024 8 --objects 1 --threads 1                              # CPU: second run, both sizes
    .venv/bin/python benchmarks/bench_speed.py --device cuda --sizes 1024 --frames 200 --frames-1024 200 \
        --model-size base+ [--vos-optimized] [--objects 6]                   # GPU: eager or compiled
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # this checkout's package, not an installed one
import bench_propagation as base  # noqa: E402 (the sibling benchmark's clip and model)

OBJECT_COUNTS = (1, 3, 6)


def click_points(objects: int) -> list[tuple[int, int, int]]:
    """(obj_id, x, y) of one positive click per object on frame 0: the clip's two objects, then a grid."""
    width, height = base.FRAME_SIZE
    points = list(base.object_centers(0))
    points += [(width * (1 + i % 3) // 4, height * (1 + i // 3) // 3) for i in range(6)]
    return [(obj_id, x, y) for obj_id, (x, y) in enumerate(points[:objects], start=1)]


def prompts_for(meta: Any, objects: int, correction: bool = False) -> Any:
    """One click per object on frame 0, plus a negative click on the middle frame with `correction`."""
    from sam2_gradio.engine.tracking.prompts import PromptState

    prompts = PromptState(video=meta)
    for obj_id, x, y in click_points(objects):
        prompts.add_click(0, obj_id, x, y, 1)
    if correction:
        width, height = base.FRAME_SIZE
        prompts.add_click(meta.num_frames // 2, 1, width // 10, height // 10, 0)
    return prompts


class Timed(NamedTuple):
    """One propagation's wall and CPU seconds (this process, every thread) and its masks."""

    seconds: float
    cpu_seconds: float
    masks: dict  # frame -> bool (objects, H, W)


def run_ours(model: Any, source: Any, prompts: Any, features: Any = None) -> Timed:
    """Our propagation (frames decoded while propagating, counted)."""
    from sam2_gradio.engine.tracking.steps import propagate

    wall, cpu = time.perf_counter(), time.process_time()
    masks = {frame: m for frame, _, m in propagate(model, source, prompts, features=features)}
    return Timed(time.perf_counter() - wall, time.process_time() - cpu, masks)


def run_official(model: Any, folder: Path, prompts: Any) -> Timed:
    """SAM 2's `SAM2VideoPredictor` (its `init_state`, which decodes every frame, not counted)."""
    import numpy as np

    masks = {}
    with model.use() as predictor:
        state = predictor.init_state(str(folder))
        wall, cpu = time.perf_counter(), time.process_time()
        for frame in prompts.prompted_frames():
            for obj_id, entry in sorted(prompts.clicks_on(frame).items()):
                points = np.array(entry.points, np.float32)
                labels = np.array(entry.labels, np.int32)
                predictor.add_new_points_or_box(state, frame, obj_id, points=points, labels=labels)
        for frame, _, logits in predictor.propagate_in_video(state):
            masks[frame] = (logits[:, 0] > 0).cpu().numpy()
        return Timed(time.perf_counter() - wall, time.process_time() - cpu, masks)


def best_of(runs: list[Timed]) -> Timed:
    """The fastest of repeated runs (the one least slowed by other load), with its masks."""
    return min(runs, key=lambda run: run.seconds)


@contextmanager
def encoder_spy(model: Any) -> Iterator[list[int]]:
    """A list that grows by one per image encoder run of `model` while the block runs."""
    calls: list[int] = []
    predictor = model.predictor
    original = predictor.forward_image
    predictor.forward_image = lambda images: calls.append(1) or original(images)
    try:
        yield calls
    finally:
        predictor.forward_image = original


def disagreement(ours: dict, reference: dict) -> float:
    """Share of mask pixels where `ours` differs from `reference` (same frames expected)."""
    if sorted(ours) != sorted(reference):
        raise AssertionError("the two runs tracked different frames")
    differ = sum(int((ours[f] != reference[f]).sum()) for f in reference)
    return differ / sum(reference[f].size for f in reference)


@contextmanager
def objects_per_call(batch: int) -> Iterator[None]:
    """Up to `batch` objects tracked in one SAM 2 call while the block runs, on any device (1: each
    alone, as SAM 2's loop does)."""
    from sam2_gradio import config

    configured = config.OBJECT_BATCH_CPU, config.OBJECT_BATCH_CUDA
    config.OBJECT_BATCH_CPU = config.OBJECT_BATCH_CUDA = batch
    try:
        yield
    finally:
        config.OBJECT_BATCH_CPU, config.OBJECT_BATCH_CUDA = configured


def run_batched(model: Any, source: Any, prompts: Any, batch: int) -> Timed:
    """Ours with up to `batch` objects tracked in one call."""
    with objects_per_call(batch):
        return run_ours(model, source, prompts)


def object_table(model: Any, folder: Path, source: Any, repeats: int) -> list[str]:
    """fps vs object count: ours with the objects one by one and all in one batch, and official (best
    of `repeats`, alternating), with the masks' disagreement with the official predictor."""
    lines = [
        "| objects | ours one by one fps | ours batched fps | official fps | one by one / official"
        " | batched / official | batched / official by CPU s | disagree one by one / batched |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    frames = source.meta.num_frames
    run_ours(model, source, prompts_for(source.meta, 1))  # warm-up, not timed: the model's first
    run_official(model, folder, prompts_for(source.meta, 1))  # calls allocate and initialise lazily
    for objects in OBJECT_COUNTS:
        prompts = prompts_for(source.meta, objects)
        runs = [
            (
                run_batched(model, source, prompts, 1),
                run_batched(model, source, prompts, objects),
                run_official(model, folder, prompts),
            )
            for _ in range(repeats)
        ]
        alone, batched, official = (best_of([r[i] for r in runs]) for i in range(3))
        lines.append(
            f"| {objects} | {frames / alone.seconds:.2f} | {frames / batched.seconds:.2f} | "
            f"{frames / official.seconds:.2f} | {official.seconds / alone.seconds:.2f}x | "
            f"{official.seconds / batched.seconds:.2f}x | "
            f"{official.cpu_seconds / batched.cpu_seconds:.2f}x | "
            f"{disagreement(alone.masks, official.masks):.4%} / "
            f"{disagreement(batched.masks, official.masks):.4%} |"
        )
    return lines


REUSE_HEADER = [
    "| px | frames | objects | first s | second s | speed-up | speed-up by CPU s | encoded 1st / 2nd"
    " | official s (2nd clicks) | MiB per frame | disagree 1st / 2nd |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]


def reuse_row(args: argparse.Namespace, size: int, frames: int, workdir: Path) -> str:
    """First and second propagation (a correction click between them) at `size` px, one feature store
    (best of `args.repeats`, each with a fresh store), against the official predictor on both clicks."""
    from sam2_gradio.engine.model.features import FeatureStore
    from sam2_gradio.media.frames import JpegFolderFrames

    model = model_at(args, size)
    folder = base.write_clip(workdir / f"clip{frames}", frames)
    source = JpegFolderFrames.open(folder)
    first_prompts = prompts_for(source.meta, args.objects)
    corrected = prompts_for(source.meta, args.objects, correction=True)
    warm_up = JpegFolderFrames.open(base.write_clip(workdir / f"warm{size}", 2))  # not timed: the
    run_ours(model, warm_up, prompts_for(warm_up.meta, 1))  # model's first calls initialise lazily
    firsts, seconds, officials = [], [], []
    for _ in range(args.repeats):
        store = FeatureStore(budget_mb=args.budget_mb)
        with encoder_spy(model) as first_encoded:
            firsts.append(run_ours(model, source, first_prompts, store))
        with encoder_spy(model) as second_encoded:
            seconds.append(run_ours(model, source, corrected, store))
        officials.append((run_official(model, folder, first_prompts), run_official(model, folder, corrected)))
    first, second = best_of(firsts), best_of(seconds)
    official_first, official = officials[0][0], best_of([pair[1] for pair in officials])
    return (
        f"| {size} | {frames} | {args.objects} | {first.seconds:.2f} | {second.seconds:.2f} | "
        f"{first.seconds / second.seconds:.2f}x | {first.cpu_seconds / second.cpu_seconds:.2f}x | "
        f"{len(first_encoded)} / {len(second_encoded)} | "
        f"{official.seconds:.2f} | {store.nbytes / 2**20 / len(store):.2f} | "
        f"{disagreement(first.masks, official_first.masks):.4%} / "
        f"{disagreement(second.masks, official.masks):.4%} |"
    )


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages (other work running beside the benchmark)."""
    return ", ".join(f"{load:.1f}" for load in os.getloadavg())


def model_at(args: argparse.Namespace, size: int) -> Any:
    """The random-weights model at `size` px."""
    return base.build_model(argparse.Namespace(**{**vars(args), "image_size": size}))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's flags."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=16, help="clip length for the object table and 256 px")
    parser.add_argument("--frames-1024", type=int, default=6, help="clip length at 1024 px (and above)")
    parser.add_argument("--sizes", default="256", help="image sizes of the first vs second run table")
    parser.add_argument("--objects", type=int, default=3, help="objects in the first vs second run table")
    parser.add_argument("--budget-mb", type=float, default=4096.0, help="the feature store's budget, MiB")
    parser.add_argument("--model-size", default="tiny", help="tiny, small, base+ or large")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--vos-optimized", action="store_true", help="SAM 2's compiled predictor (CUDA)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each measure; the fastest is shown")
    parser.add_argument("--skip-objects", action="store_true", help="only the first vs second run table")
    parser.add_argument("--skip-reuse", action="store_true", help="only the fps vs objects table")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Print both tables as Markdown."""
    args = parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")
    warnings.filterwarnings("ignore")
    import torch

    from sam2_gradio.media.frames import JpegFolderFrames

    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"SAM 2.1 {args.model_size}, random weights, {args.device}, {torch.get_num_threads()} threads")
    print(f"load average at start: {load_average()} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if not args.skip_objects:
            folder = base.write_clip(workdir / "objects", args.frames)
            print(f"\nfps vs objects at {sizes[0]} px, {args.frames} frames")
            model, source = model_at(args, sizes[0]), JpegFolderFrames.open(folder)
            for line in object_table(model, folder, source, args.repeats):
                print(line, flush=True)
        if not args.skip_reuse:
            print("\nfirst vs second propagation (a correction click between them, one FeatureStore)")
            print("\n".join(REUSE_HEADER), flush=True)
            for size in sizes:
                frames = args.frames if size < 1024 else args.frames_1024
                print(reuse_row(args, size, frames, workdir), flush=True)
    print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    main()
