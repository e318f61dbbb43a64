"""Benchmark what users wait for: fps against the object count, and the second propagation after a
correction (image features kept in a `FeatureStore`), ours against SAM 2's own predictor.

Runs in one process on the synthetic clip of `bench_propagation.py`, with the random-weights SAM 2.1
model (the architecture's cost, masks meaningless). Tables:

- fps vs objects: `propagation.propagate` (frames decoded while propagating, counted) against
  `SAM2VideoPredictor.init_state` + `propagate_in_video` (its `init_state`, which decodes every frame,
  not counted); one click per object on frame 0.
- first vs second run: a propagation with a fresh `FeatureStore`, then a correction click on the middle
  frame and a second propagation with the same store (what the app does), at each `--sizes`.

"disagree" is the share of mask pixels (all frames and objects) where ours differs from the official
predictor's masks for the same clicks (0 means identical).

    .venv/bin/python benchmarks/bench_speed.py                               # CPU: 256 px, 16 frames
    .venv/bin/python benchmarks/bench_speed.py --sizes 256,1024 --frames 16 --frames-1024 6
    .venv/bin/python benchmarks/bench_speed.py --device cuda --sizes 1024 --frames 200 --frames-1024 200
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
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
    from sam2_gradio.engine.prompts import PromptState

    prompts = PromptState(video=meta)
    for obj_id, x, y in click_points(objects):
        prompts.add_click(0, obj_id, x, y, 1)
    if correction:
        width, height = base.FRAME_SIZE
        prompts.add_click(meta.num_frames // 2, 1, width // 10, height // 10, 0)
    return prompts


def run_ours(model: Any, source: Any, prompts: Any, features: Any = None) -> tuple[float, dict]:
    """Seconds and masks (frame -> bool (objects, H, W)) of our propagation."""
    from sam2_gradio.engine.propagation import propagate

    start = time.perf_counter()
    masks = {frame: m for frame, _, m in propagate(model, source, prompts, features=features)}
    return time.perf_counter() - start, masks


def run_official(model: Any, folder: Path, prompts: Any) -> tuple[float, dict]:
    """Seconds (`init_state` not counted) and masks of SAM 2's `SAM2VideoPredictor`."""
    import numpy as np

    masks = {}
    with model.use() as predictor:
        state = predictor.init_state(str(folder))
        start = time.perf_counter()
        for frame in prompts.prompted_frames():
            for obj_id, entry in sorted(prompts.clicks_on(frame).items()):
                points = np.array(entry.points, np.float32)
                labels = np.array(entry.labels, np.int32)
                predictor.add_new_points_or_box(state, frame, obj_id, points=points, labels=labels)
        for frame, _, logits in predictor.propagate_in_video(state):
            masks[frame] = (logits[:, 0] > 0).cpu().numpy()
        return time.perf_counter() - start, masks


def disagreement(ours: dict, reference: dict) -> float:
    """Share of mask pixels where `ours` differs from `reference` (same frames expected)."""
    if sorted(ours) != sorted(reference):
        raise AssertionError("the two runs tracked different frames")
    differ = sum(int((ours[f] != reference[f]).sum()) for f in reference)
    return differ / sum(reference[f].size for f in reference)


def object_table(model: Any, folder: Path, source: Any) -> list[str]:
    """fps vs object count, ours and official, with the masks' disagreement."""
    lines = [
        "| objects | ours fps | official fps | ours / official | disagree |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    frames = source.meta.num_frames
    for objects in OBJECT_COUNTS:
        prompts = prompts_for(source.meta, objects)
        ours_s, ours = run_ours(model, source, prompts)
        official_s, official = run_official(model, folder, prompts)
        lines.append(
            f"| {objects} | {frames / ours_s:.2f} | {frames / official_s:.2f} | "
            f"{official_s / ours_s:.2f}x | {disagreement(ours, official):.4%} |"
        )
    return lines


def reuse_row(args: argparse.Namespace, size: int, frames: int, workdir: Path) -> str:
    """First and second propagation (a correction between them) at `size` px, one feature store."""
    from sam2_gradio.engine.features import FeatureStore
    from sam2_gradio.media.frames import JpegFolderFrames

    model = model_at(args, size)
    folder = base.write_clip(workdir / f"clip{frames}", frames)
    source = JpegFolderFrames.open(folder)
    store = FeatureStore(budget_mb=args.budget_mb)
    first_s, _ = run_ours(model, source, prompts_for(source.meta, args.objects), store)
    corrected = prompts_for(source.meta, args.objects, correction=True)
    second_s, second = run_ours(model, source, corrected, store)
    _, official = run_official(model, folder, corrected)
    return (
        f"| {size} | {frames} | {args.objects} | {first_s:.2f} | {second_s:.2f} | "
        f"{first_s / second_s:.2f}x | {store.nbytes / 2**20 / len(store):.2f} | "
        f"{disagreement(second, official):.4%} |"
    )


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
    parser.add_argument("--skip-objects", action="store_true", help="only the first vs second run table")
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
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if not args.skip_objects:
            folder = base.write_clip(workdir / "objects", args.frames)
            print(f"\nfps vs objects at {sizes[0]} px, {args.frames} frames")
            for line in object_table(model_at(args, sizes[0]), folder, JpegFolderFrames.open(folder)):
                print(line, flush=True)
        print("\nfirst vs second propagation (a correction click between them, one FeatureStore)")
        print("| px | frames | objects | first s | second s | speed-up | MiB per frame | disagree |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |", flush=True)
        for size in sizes:
            print(
                reuse_row(args, size, args.frames if size < 1024 else args.frames_1024, workdir), flush=True
            )


if __name__ == "__main__":
    main()
