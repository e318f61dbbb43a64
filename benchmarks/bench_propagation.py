"""Benchmark our streaming propagation against SAM 2's own `SAM2VideoPredictor`: frames/s and peak RSS.

For each clip length a synthetic JPEG folder is written once (a moving disc, and a moving square with
`--objects 2`, over a noise texture); each (implementation, length, repetition) then runs in its own
subprocess, so its peak RSS (VmHWM) is its own. Ours and official alternate, so that load from other
processes hits both alike. Model building is not timed; for the official predictor `init_state` (which
decodes every frame) is timed apart as "official load s", while ours decodes as it propagates, so its
decoding counts in its frames/s. Besides wall-clock frames/s, each run counts frames per CPU second of its
process (all its threads): on a CPU shared with other jobs wall time mostly measures their load, and
with `--threads 1` CPU time measures the work itself (several torch threads waiting for each other on a
busy CPU spin, which inflates both). Each run hashes its masks per frame, so the two implementations'
masks are compared at every length.

    .venv/bin/python benchmarks/bench_propagation.py                 # CPU, 256 px, 50/350/1000 frames
    .venv/bin/python benchmarks/bench_propagation.py --threads 1     # the same on a shared CPU
    .venv/bin/python benchmarks/bench_propagation.py --threads 1 --concurrent  # both at once, same load
    .venv/bin/python benchmarks/bench_propagation.py --device cuda --image-size 1024 --vos-optimized
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FRAME_SIZE = (320, 240)  # width, height of the synthetic clips
IMPLEMENTATIONS = ("ours", "official")
OBJECT_SCORE_BIAS = 5.0  # makes the random-weights model see objects (see tests/sam2_support.py)


@dataclass(frozen=True)
class RunResult:
    """What one worker subprocess measured."""

    frames: int  # frames yielded by propagation
    propagate_s: float  # seconds of the propagation loop
    propagate_cpu_s: float  # CPU seconds of the process (all threads) during the propagation loop
    load_s: float  # seconds of official `init_state` (0 for ours: it decodes while propagating)
    peak_rss_mib: float  # the process's peak resident set size (VmHWM)
    peak_cuda_mib: float  # torch's peak CUDA memory (0 on CPU)
    mask_hashes: list[str]  # sha1 of each frame's bool masks, in frame order
    nonempty_frames: int  # frames where some mask has a foreground pixel

    @property
    def fps(self) -> float:
        """Propagated frames per propagation second."""
        return self.frames / self.propagate_s

    @property
    def cpu_fps(self) -> float:
        """Propagated frames per CPU second of the propagation loop."""
        return self.frames / self.propagate_cpu_s

    @property
    def fps_with_load(self) -> float:
        """Propagated frames per second of loading plus propagation (ours loads while propagating)."""
        return self.frames / (self.load_s + self.propagate_s)


@dataclass(frozen=True)
class Timing:
    """Wall-clock and process CPU seconds of the load (official `init_state`) and the propagation."""

    load_s: float
    propagate_s: float
    propagate_cpu_s: float


# --- synthetic clips ---------------------------------------------------------------------------
def object_centers(index: int) -> list[tuple[int, int]]:
    """Centres (x, y) of the disc and the square on frame `index`; both stay inside the frame."""
    width, height = FRAME_SIZE
    disc = (
        int(width / 2 + 0.3 * width * math.sin(2 * math.pi * index / 200)),
        int(height / 2 + 0.25 * height * math.sin(2 * math.pi * index / 150)),
    )
    square = (int(width * 0.25 + 0.1 * width * math.cos(2 * math.pi * index / 120)), int(height * 0.3))
    return [disc, square]


def write_clip(folder: Path, count: int) -> Path:
    """Write `count` frames as `folder/00000.jpg, ...` (the layout SAM 2's `init_state` reads)."""
    import cv2
    import numpy as np

    width, height = FRAME_SIZE
    texture = (np.random.default_rng(0).random((height, width, 3)) * 140).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        frame = texture.copy()
        disc, square = object_centers(index)
        cv2.circle(frame, disc, 28, (40, 40, 230), -1)  # BGR red disc
        cv2.rectangle(
            frame, (square[0] - 20, square[1] - 20), (square[0] + 20, square[1] + 20), (40, 220, 40), -1
        )
        cv2.imwrite(str(folder / f"{index:05d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return folder


# --- worker (one measurement per process) -------------------------------------------------------
def build_model(args: argparse.Namespace) -> Any:
    """The random-weights SAM 2.1 model with a positive object-score bias, so masks are not empty."""
    import torch

    from sam2_gradio.engine.model.predictor import ModelSettings, SharedModel, build_predictor

    settings = ModelSettings(
        model_size=args.model_size,
        image_size=args.image_size,
        device=args.device,
        random_weights=True,
        vos_optimized=args.vos_optimized,
    )
    predictor = build_predictor(settings)
    head = predictor.sam_mask_decoder.pred_obj_score_head
    last = head.layers[-1] if hasattr(head, "layers") else head
    with torch.no_grad():
        last.bias.fill_(OBJECT_SCORE_BIAS)
    return SharedModel(predictor, settings)


def clicks(objects: int) -> list[tuple[int, int, int]]:
    """(obj_id, x, y) of one positive click per object on frame 0."""
    return [(obj_id, x, y) for obj_id, (x, y) in enumerate(object_centers(0)[:objects], start=1)]


class MaskDigest:
    """Per-frame sha1 of the masks, kept instead of the masks so memory does not grow with the clip."""

    def __init__(self) -> None:
        self.hashes: list[str] = []  # sha1 of each frame's bool masks (objects, H, W), in frame order
        self.nonempty = 0  # frames where some mask has a foreground pixel

    def add(self, masks: Any) -> None:
        """Record one frame's bool masks."""
        self.hashes.append(hashlib.sha1(masks.tobytes()).hexdigest())
        self.nonempty += bool(masks.any())


def run_ours(model: Any, folder: Path, args: argparse.Namespace, digest: MaskDigest) -> Timing:
    """Propagate with `sam2_gradio.engine.tracking.steps` (load is 0: frames decode while propagating)."""
    from sam2_gradio.engine.tracking.prompts import POSITIVE, PromptState
    from sam2_gradio.engine.tracking.steps import propagate
    from sam2_gradio.media.frames import JpegFolderFrames

    start, start_cpu = time.perf_counter(), time.process_time()
    source = JpegFolderFrames.open(folder)
    prompts = PromptState(video=source.meta)
    for obj_id, x, y in clicks(args.objects):
        prompts.add_click(0, obj_id, x, y, POSITIVE)
    for _, _, masks in propagate(model, source, prompts, batch_size=args.batch_size):
        digest.add(masks)
    return Timing(0.0, time.perf_counter() - start, time.process_time() - start_cpu)


def run_official(model: Any, folder: Path, args: argparse.Namespace, digest: MaskDigest) -> Timing:
    """Propagate with SAM 2's `init_state` + `propagate_in_video`, timing `init_state` apart."""
    import numpy as np

    with model.use() as predictor:
        start = time.perf_counter()
        state = predictor.init_state(str(folder))
        loaded, loaded_cpu = time.perf_counter(), time.process_time()
        for obj_id, x, y in clicks(args.objects):
            points, labels = np.array([[x, y]], np.float32), np.array([1], np.int32)
            predictor.add_new_points_or_box(state, 0, obj_id, points=points, labels=labels)
        for _, _, logits in predictor.propagate_in_video(state):
            digest.add((logits[:, 0] > 0).cpu().numpy())
        return Timing(loaded - start, time.perf_counter() - loaded, time.process_time() - loaded_cpu)


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB (VmHWM: reset on exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM missing from /proc/self/status: peak RSS needs Linux")


def peak_cuda_mib() -> float:
    """Peak CUDA memory allocated by torch in MiB (0 when CUDA is not in use)."""
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_initialized() else 0.0


def worker(args: argparse.Namespace) -> None:
    """Measure one implementation on one clip and write a `RunResult` as JSON to `args.result`."""
    import torch

    warnings.filterwarnings("ignore", message="cannot import name '_C'")  # SAM 2 without its CUDA extension
    if args.threads:
        torch.set_num_threads(args.threads)
    model = build_model(args)
    digest = MaskDigest()
    run = run_ours if args.worker == "ours" else run_official
    timing = run(model, Path(args.folder), args, digest)
    result = RunResult(
        frames=len(digest.hashes),
        propagate_s=timing.propagate_s,
        propagate_cpu_s=timing.propagate_cpu_s,
        load_s=timing.load_s,
        peak_rss_mib=peak_rss_mib(),
        peak_cuda_mib=peak_cuda_mib(),
        mask_hashes=digest.hashes,
        nonempty_frames=digest.nonempty,
    )
    Path(args.result).write_text(json.dumps(result.__dict__))


# --- driver -------------------------------------------------------------------------------------
def model_flags(args: argparse.Namespace) -> list[str]:
    """The flags a worker needs to build the same model and prompts as every other worker."""
    flags = [
        f"--device={args.device}",
        f"--image-size={args.image_size}",
        f"--model-size={args.model_size}",
        f"--objects={args.objects}",
        f"--batch-size={args.batch_size}",
        f"--threads={args.threads}",
    ]
    return flags + (["--vos-optimized"] if args.vos_optimized else [])


def start_worker(implementation: str, folder: Path, args: argparse.Namespace) -> tuple[Any, Path]:
    """Start one worker subprocess; returns it and the path its `RunResult` will be written to."""
    result = folder.parent / f"{folder.name}-{implementation}.json"
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, __file__, f"--worker={implementation}", f"--folder={folder}"]
    return subprocess.Popen([*command, f"--result={result}", *model_flags(args)], env=env), result


def finish_worker(process: Any, result: Path) -> RunResult:
    """Wait for a worker started by `start_worker` and return what it measured."""
    if process.wait():
        raise RuntimeError(f"benchmark worker {process.args[2]} failed with exit status {process.returncode}")
    return RunResult(**json.loads(result.read_text()))


def measure_pair(order: tuple[str, ...], folder: Path, args: argparse.Namespace) -> dict[str, RunResult]:
    """One run of each implementation: one after the other in `order`, or side by side with --concurrent."""
    if not args.concurrent:
        return {name: finish_worker(*start_worker(name, folder, args)) for name in order}
    started = {name: start_worker(name, folder, args) for name in order}
    return {name: finish_worker(*worker) for name, worker in started.items()}


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[int, dict[str, list[RunResult]]]:
    """Every (length, repetition) of both implementations, alternating which one starts first."""
    results: dict[int, dict[str, list[RunResult]]] = {}
    turn = 0
    for length in args.lengths:
        folder = write_clip(workdir / f"clip{length}", length)
        results[length] = {name: [] for name in IMPLEMENTATIONS}
        for repetition in range(args.repeat):
            order = IMPLEMENTATIONS if turn % 2 == 0 else IMPLEMENTATIONS[::-1]
            turn += 1
            for name, run in measure_pair(order, folder, args).items():
                results[length][name].append(run)
                print(
                    f"{name:8s} {length:5d} frames, run {repetition + 1}: {run.fps:6.2f} fps, "
                    f"{run.cpu_fps:6.2f} frames/CPU s, load {run.load_s:5.1f} s, "
                    f"peak RSS {run.peak_rss_mib:6.0f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
    return results


def median(runs: list[RunResult], field: str) -> float:
    """Median over repetitions of a `RunResult` attribute."""
    return statistics.median(getattr(run, field) for run in runs)


def table(results: dict[int, dict[str, list[RunResult]]], cuda: bool) -> list[str]:
    """The markdown table: one row per clip length, medians over repetitions."""
    header = "| frames | ours fps | official fps | ratio | ours frames/CPU s | official frames/CPU s |"
    header += " CPU ratio | ours peak RSS MiB | official peak RSS MiB | official load s |"
    header += " official fps with load |"
    header += " ours peak CUDA MiB | official peak CUDA MiB |" if cuda else ""
    lines = [header, "|" + "---:|" * header.count(" |")]
    for length, runs in results.items():
        ours, official = median(runs["ours"], "fps"), median(runs["official"], "fps")
        ours_cpu, official_cpu = median(runs["ours"], "cpu_fps"), median(runs["official"], "cpu_fps")
        row = (
            f"| {length} | {ours:.2f} | {official:.2f} | {ours / official:.2f} | "
            f"{ours_cpu:.2f} | {official_cpu:.2f} | {ours_cpu / official_cpu:.2f} | "
            f"{median(runs['ours'], 'peak_rss_mib'):.0f} | {median(runs['official'], 'peak_rss_mib'):.0f} | "
            f"{median(runs['official'], 'load_s'):.1f} | {median(runs['official'], 'fps_with_load'):.2f} |"
        )
        if cuda:
            row += f" {median(runs['ours'], 'peak_cuda_mib'):.0f} |"
            row += f" {median(runs['official'], 'peak_cuda_mib'):.0f} |"
        lines.append(row)
    return lines


def growth_line(results: dict[int, dict[str, list[RunResult]]]) -> str:
    """RSS growth per extra frame between the shortest and the longest clip, for both implementations."""
    short, long = min(results), max(results)
    growth = {
        name: (median(results[long][name], "peak_rss_mib") - median(results[short][name], "peak_rss_mib"))
        / (long - short)
        for name in IMPLEMENTATIONS
    }
    return (
        f"RSS growth per extra frame ({short} → {long} frames): ours {growth['ours']:.3f} MiB/frame, "
        f"official {growth['official']:.3f} MiB/frame (target for ours: ≤ 0.1)"
    )


def masks_line(results: dict[int, dict[str, list[RunResult]]]) -> str:
    """Whether every run at each length gave the same masks, and how many frames had a mask."""
    parts = []
    for length, runs in results.items():
        everything = runs["ours"] + runs["official"]
        same = all(run.mask_hashes == everything[0].mask_hashes for run in everything)
        nonempty = everything[0].nonempty_frames
        parts.append(f"{length} frames: {'yes' if same else 'no'} ({nonempty}/{length} frames non-empty)")
    return "masks identical: " + "; ".join(parts)


def report(results: dict[int, dict[str, list[RunResult]]], args: argparse.Namespace) -> str:
    """The settings line, the table, the RSS growth and the mask comparison, as markdown."""
    settings = (
        f"SAM 2.1 {args.model_size}, random weights, {args.device}, {args.image_size} px, "
        f"{args.objects} object(s), batch size {args.batch_size}, "
        f"{'VOS-optimised, ' if args.vos_optimized else ''}median of {args.repeat} run(s)"
        f"{' (ours and official side by side)' if args.concurrent else ''}, "
        f"{args.threads or 'default'} torch thread(s), {os.cpu_count()} CPU cores"
    )
    lines = [settings, "", *table(results, args.device.startswith("cuda")), ""]
    if len(results) > 1:
        lines += [growth_line(results), ""]
    return "\n".join([*lines, masks_line(results)])


def parse_lengths(text: str) -> list[int]:
    """Parse "50,350,1000" into sorted distinct clip lengths."""
    lengths = sorted({int(part) for part in text.split(",") if part.strip()})
    if not lengths or lengths[0] < 1:
        raise argparse.ArgumentTypeError(f"lengths must be positive frame counts, got {text!r}")
    return lengths


def add_run_arguments(parser: argparse.ArgumentParser, default_lengths: list[int]) -> None:
    """The flags this benchmark shares with `bench_stepped.py`: clips, model, device, threads, workers."""
    parser.add_argument(
        "--lengths",
        type=parse_lengths,
        default=default_lengths,
        help="clip lengths in frames, comma-separated",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per implementation and length (median)")
    parser.add_argument("--objects", type=int, choices=(1, 2), default=1, help="objects clicked on frame 0")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads per run (0: torch's default)"
    )
    parser.add_argument("--image-size", type=int, default=256, help="model input size (multiple of 16)")
    parser.add_argument("--model-size", default="tiny", help="tiny, small, base+ or large (random weights)")
    parser.add_argument(
        "--vos-optimized", action="store_true", help="SAM2VideoPredictorVOS (torch.compile, CUDA only)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one measurement: the implementation's name
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)


def checked_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """`parser`'s arguments, with --repeat and --threads checked."""
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    if args.threads < 0:
        parser.error(f"--threads must be 0 or more, got {args.threads}")
    return args


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags; the hidden --worker flags are how the driver starts one measurement."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_run_arguments(parser, [50, 350, 1000])
    parser.add_argument("--batch-size", type=int, default=32, help="frames decoded at a time by ours")
    parser.add_argument(
        "--concurrent",
        action="store_true",
        help="run ours and official side by side (one core each with --threads 1), so both see the same load",
    )
    return checked_args(parser, argv)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, with --worker, one measurement of it) and print the markdown report."""
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    with tempfile.TemporaryDirectory(prefix="bench_propagation-") as workdir:
        results = benchmark(args, Path(workdir))
    print(report(results, args))


if __name__ == "__main__":
    main()
