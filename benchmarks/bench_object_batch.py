"""Where a frame's time goes with several objects, and how far batching them can go on this machine.

For `--objects` objects at `--image-size` px, per frame (the random-weights SAM 2.1 model on the
clip of `bench_propagation.py`, one click per object on frame 0):

- each part's wall time (module hooks): image encoder, memory attention, mask decoder, memory encoder,
  and the rest (Python, decoding, the masks' resizing), objects one by one (SAM 2's own loop) and in
  batches of up to `--batch` (ours);
- each part's arithmetic (`torch.utils.flop_counter`, attention included) and the rate it runs at;
- the machine's float32 matrix-product rate (the best of `--peak-size` square products).

No part can run faster than its arithmetic at the machine's peak rate, whatever is batched ("floor").
Batching objects changes only the per-object parts, so the largest speed-up it could give here is the
one-by-one time over that time with those parts at their floor and the rest as measured (printed
below the table, beside the bound with every part at its floor).

    .venv/bin/python benchmarks/bench_object_batch.py                          # 6 objects, 256 px
    .venv/bin/python benchmarks/bench_object_batch.py --image-size 1024 --frames 3
    .venv/bin/python benchmarks/bench_object_batch.py --device cuda --image-size 1024 --frames 50
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # this checkout's package, not an installed one
import bench_propagation as base  # noqa: E402 (the sibling benchmarks' clip, model and prompts)
import bench_speed  # noqa: E402

PARTS = ("image_encoder", "memory_attention", "sam_mask_decoder", "memory_encoder")


@contextmanager
def part_timer(predictor: Any, device: Any) -> Iterator[dict[str, float]]:
    """Seconds spent in each of `PARTS` while the block runs (CUDA synchronised at each edge)."""
    import torch

    spent: dict[str, float] = defaultdict(float)
    started: dict[str, float] = {}

    def now() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter()

    handles = []
    for part in PARTS:
        module = getattr(predictor, part)
        handles.append(module.register_forward_pre_hook(lambda m, a, p=part: started.__setitem__(p, now())))
        handles.append(
            module.register_forward_hook(
                lambda m, a, o, p=part: spent.__setitem__(p, spent[p] + now() - started[p])
            )
        )
    try:
        yield spent
    finally:
        for handle in handles:
            handle.remove()


def timed_run(model: Any, source: Any, prompts: Any, batch: int) -> tuple[float, dict[str, float]]:
    """Wall seconds of one propagation and the seconds of each part, `batch` objects at most a call."""
    from sam2_gradio.engine.tracking.steps import propagate

    with bench_speed.objects_per_call(batch), part_timer(model.predictor, model.device) as spent:
        started = time.perf_counter()
        for _ in propagate(model, source, prompts):
            pass
        return time.perf_counter() - started, dict(spent)


def part_flops(model: Any, source: Any, prompts: Any) -> dict[str, int]:
    """FLOPs of each part over one propagation (scaled dot-product attention on the CPU counted too)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    from sam2_gradio.engine.tracking.steps import propagate

    def cpu_attention(query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query, key, value)

    mapping = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: cpu_attention}
    with FlopCounterMode(display=False, custom_mapping=mapping) as counter:
        for _ in propagate(model, source, prompts):
            pass
    counts = counter.get_flop_counts()  # top-level names: the classes of the modules called directly
    by_part = {
        part: sum(counts.get(type(getattr(model.predictor, part)).__name__, {}).values()) for part in PARTS
    }
    return by_part | {"frame": counter.get_total_flops()}


def peak_gflops(device: Any, size: int) -> float:
    """The best float32 matrix-product rate of `device`, GFLOP/s (square products of `size`)."""
    import torch

    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    best = float("inf")
    for _ in range(8):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def report(args: argparse.Namespace) -> list[str]:
    """The table of parts, its floor row and the largest speed-up batching could give."""
    from sam2_gradio.media.frames import JpegFolderFrames

    model = bench_speed.model_at(args, args.image_size)
    with tempfile.TemporaryDirectory() as tmp:
        source = JpegFolderFrames.open(base.write_clip(Path(tmp) / "clip", args.frames))
        prompts = bench_speed.prompts_for(source.meta, args.objects)
        timed_run(model, source, prompts, args.batch)  # warm-up: lazy allocations, not timed
        runs = [[timed_run(model, source, prompts, b) for b in (1, args.batch)] for _ in range(args.repeats)]
        flops = part_flops(model, source, prompts)
    peak = peak_gflops(model.device, args.peak_size)
    alone, batched = (min((run[i] for run in runs), key=lambda timed: timed[0]) for i in (0, 1))
    frames = args.frames  # per frame: the whole propagation's over its frames (frame 0 prompted)
    per_frame = 1000 / frames
    lines = [
        f"{args.objects} objects, {args.image_size} px, {args.frames} frames, {model.device}, batches of"
        f" {args.batch}; "
        f"machine peak {peak:.0f} GFLOP/s (float32 {args.peak_size}x{args.peak_size} products)",
        "| part | one by one ms/frame | batched ms/frame | GFLOP/frame | one by one GFLOP/s | batched GFLOP/s"
        " | floor ms/frame |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = [(part, alone[1].get(part, 0.0), batched[1].get(part, 0.0), flops[part]) for part in PARTS]
    rest = (
        "rest",
        alone[0] - sum(alone[1].values()),
        batched[0] - sum(batched[1].values()),
        flops["frame"] - sum(flops[p] for p in PARTS),
    )
    for name, one, many, count in [*rows, rest, ("frame", alone[0], batched[0], flops["frame"])]:
        gflop = count / 1e9 / frames
        lines.append(
            f"| {name} | {one * per_frame:.0f} | {many * per_frame:.0f} | {gflop:.2f} | "
            f"{gflop / (one / frames) if one else 0:.0f} | {gflop / (many / frames) if many else 0:.0f} | "
            f"{gflop / peak * 1000:.0f} |"
        )
    floor = flops["frame"] / 1e9 / frames / peak
    per_object_parts = PARTS[1:]  # what batching changes; the image encoder runs once a frame anyway
    per_object_floor = sum(flops[part] for part in per_object_parts) / 1e9 / peak
    untouched = alone[0] - sum(alone[1].get(part, 0.0) for part in per_object_parts)
    lines += [
        f"\nbatched: {alone[0] / batched[0]:.2f}x faster than one by one. At most "
        f"{alone[0] / (untouched + per_object_floor):.2f}x with the per-object parts (memory attention,"
        f" mask decoder, memory encoder) at the machine's peak and the rest as measured; "
        f"{alone[0] / frames / floor:.2f}x with every part at the peak"
    ]
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's flags."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=6, help="objects, one click each on frame 0")
    parser.add_argument("--image-size", type=int, default=256, help="model input size (multiple of 16)")
    parser.add_argument("--frames", type=int, default=9, help="clip length (frame 0 is prompted)")
    parser.add_argument("--batch", type=int, default=6, help="most objects per batched call")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each way; the fastest is shown")
    parser.add_argument("--peak-size", type=int, default=2048, help="side of the peak-rate products")
    parser.add_argument("--model-size", default="tiny", help="tiny, small, base+ or large")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.set_defaults(vos_optimized=False)  # what bench_speed.model_at reads
    args = parser.parse_args(argv)
    if args.frames < 2 or min(args.objects, args.repeats, args.batch) < 1:
        parser.error("--frames must be at least 2, --objects, --repeats and --batch at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Print the table as Markdown."""
    args = parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")
    warnings.filterwarnings("ignore")
    import torch

    threads, load = torch.get_num_threads(), bench_speed.load_average()
    print(f"SAM 2.1 {args.model_size}, random weights, {threads} threads, load average {load}")
    print("\n".join(report(args)))


if __name__ == "__main__":
    main()
