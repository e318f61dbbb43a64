"""Benchmark SAM 2 on ZeroGPU's terms: a propagation as a chain of `spaces.GPU` calls, and a click's payload.

Runs the engine as the app does (`engine.tracking.gpu_tasks.ModelTasks`), once in this process and once
with the ZeroGPU test double of `tests/zerogpu` (a forked worker per decorated function, arguments and
results pickled both ways, one torch thread in the worker), on the synthetic clip of `bench_propagation.py`.
Prints, per mode: the calls made, the durations they asked for, the wall time and frames per second, and
whether the masks equal those of the in-process run; then the bytes a click's call sends back (masks and
the CPU copy of the frame's image features), pickled.

    .venv/bin/python benchmarks/bench_zerogpu.py                                  # 200 frames, 64 px, 10 s
    .venv/bin/python benchmarks/bench_zerogpu.py --frames 600 --image-size 256 --duration 30
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent), str(ROOT / "tests")]
import bench_propagation as base  # noqa: E402 (the sibling benchmark's clip and model)


def propagate(model: object, folder: Path, objects: int) -> tuple[float, list[str], int]:
    """Seconds, per-frame mask digests and calls of one propagation through `model`'s tasks."""
    from sam2_gradio.engine.tracking.gpu_tasks import model_tasks
    from sam2_gradio.engine.tracking.prompts import POSITIVE, PromptState
    from sam2_gradio.engine.tracking.propagation import start_propagation
    from sam2_gradio.engine.tracking.steps import run_steps
    from sam2_gradio.media.frames import JpegFolderFrames

    source = JpegFolderFrames.open(folder)
    prompts = PromptState(video=source.meta)
    for obj_id, x, y in base.clicks(objects):
        prompts.add_click(0, obj_id, x, y, POSITIVE)
    run = start_propagation(source, prompts, batch_size=8)
    tasks = model_tasks(model)
    calls_before, started = tasks.calls, time.perf_counter()
    digests = [hashlib.sha1(masks.tobytes()).hexdigest() for _, _, masks in run_steps(model, run, source)]
    return time.perf_counter() - started, digests, tasks.calls - calls_before


def click_payload_bytes(model: object, folder: Path) -> tuple[int, int]:
    """Pickled bytes of a click's result: (the masks, the frame's CPU image features as they travel)."""
    from sam2_gradio.engine.model.features import FeatureStore
    from sam2_gradio.engine.tracking.gpu_tasks import model_tasks
    from sam2_gradio.engine.tracking.prompts import POSITIVE, PromptState
    from sam2_gradio.media.frames import JpegFolderFrames, read_frame

    source = JpegFolderFrames.open(folder)
    prompts = PromptState(video=source.meta)
    obj_id, x, y = base.clicks(1)[0]
    prompts.add_click(0, obj_id, x, y, POSITIVE)
    store = FeatureStore()
    masks = model_tasks(model).frame_masks(read_frame(source, 0), 0, prompts, store)
    return len(pickle.dumps(masks)), len(pickle.dumps(store.only([0])))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="frames of the synthetic clip")
    parser.add_argument("--objects", type=int, default=1, help="objects clicked on frame 0")
    parser.add_argument("--image-size", type=int, default=64, help="model input side (multiple of 16)")
    parser.add_argument("--model-size", default="tiny", help="tiny, small, base+ or large")
    parser.add_argument("--duration", type=int, default=10, help="config.SPACES_GPU_SECONDS: a call's most")
    parser.add_argument("--margin", type=float, default=4.0, help="config.SPACES_MARGIN_SECONDS")
    args = parser.parse_args(argv)
    args.device, args.vos_optimized = "cpu", False

    import torch
    from zerogpu_support import zerogpu_spaces

    from sam2_gradio import config
    from sam2_gradio.app.model_holder import AppModel

    config.SPACES_GPU_SECONDS, config.SPACES_MARGIN_SECONDS = args.duration, args.margin
    torch.set_num_threads(1)  # as in the double's worker, so that the masks can be compared bit for bit
    shared = base.build_model(args)
    with tempfile.TemporaryDirectory() as workdir:
        folder = base.write_clip(Path(workdir) / "clip", args.frames)
        here = AppModel(shared.settings, model=shared)
        seconds, expected, calls = propagate(here, folder, args.objects)
        rows = [("in process", calls, "-", seconds, "(reference)")]
        with zerogpu_spaces() as spaces:
            remote = AppModel(shared.settings, model=shared)
            seconds, got, calls = propagate(remote, folder, args.objects)
            asked = f"{min(spaces.durations):.1f}-{max(spaces.durations):.1f} s"
            rows.append(("ZeroGPU double", calls, asked, seconds, got == expected))
            masks_bytes, features_bytes = click_payload_bytes(remote, folder)
    print(f"{args.frames} frames, SAM 2.1 {args.model_size} at {args.image_size} px, CPU, one torch thread;")
    print(f"a call asks for at most {args.duration} s (margin {args.margin:g} s)\n")
    print("| mode | calls | durations asked | seconds | frames/s | same masks |")
    print("| --- | --- | --- | --- | --- | --- |")
    for mode, calls, asked, seconds, same in rows:  # same: the masks of the in-process run
        print(f"| {mode} | {calls} | {asked} | {seconds:.1f} | {args.frames / seconds:.2f} | {same} |")
    print(f"\na click's result, pickled: masks {masks_bytes:,} B, image features {features_bytes:,} B")


if __name__ == "__main__":
    main()
