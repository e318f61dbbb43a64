"""Benchmark propagation in steps against one whole-run step and SAM 2's own predictor: fps, peak RSS.

Three implementations, each run in its own subprocess (so its peak RSS is its own) on the synthetic
clips of `bench_propagation.py` (whose helpers this script reuses): "stepped" is the engine as the CLI
runs it (`run_steps`: the model taken per step, steps of about `--step-seconds`); "parked" is the same
with the run parked and sent through a pickle round trip after every step (as the app and ZeroGPU
do); "one step" is a single `PropagationRun.step` over the whole clip, the model held throughout (what
propagation was before it had steps); "official" is
`SAM2VideoPredictor.init_state` + `propagate_in_video` (its `init_state`, which decodes every frame, is
not counted in its fps). Masks are hashed per frame and compared across the three.

    .venv/bin/python benchmarks/bench_stepped.py                    # CPU, 256 px, 50 and 350 frames
    .venv/bin/python benchmarks/bench_stepped.py --threads 1 --repeat 3
    .venv/bin/python benchmarks/bench_stepped.py --device cuda --image-size 1024 --lengths 50,350,1000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_propagation as base  # noqa: E402 (the sibling benchmark's clips, model and measurements)

IMPLEMENTATIONS = ("stepped", "parked", "one step", "official")


def run_engine(model: Any, folder: Path, args: argparse.Namespace, digest: base.MaskDigest) -> base.Timing:
    """Propagate with a `PropagationRun`, as `args.worker` says (see the module docstring)."""
    from sam2_gradio.engine.tracking.prompts import POSITIVE, PromptState
    from sam2_gradio.engine.tracking.propagation import start_propagation
    from sam2_gradio.engine.tracking.steps import run_steps
    from sam2_gradio.media.frames import JpegFolderFrames

    start, start_cpu = time.perf_counter(), time.process_time()
    source = JpegFolderFrames.open(folder)
    prompts = PromptState(video=source.meta)
    for obj_id, x, y in base.clicks(args.objects):
        prompts.add_click(0, obj_id, x, y, POSITIVE)
    run = start_propagation(source, prompts, batch_size=args.batch_size)
    if args.worker == "stepped":
        for _, _, masks in run_steps(model, run, source):
            digest.add(masks)
    elif args.worker == "one step":
        with model.use() as predictor:
            for _, _, masks in run.step(predictor, source, max_frames=run.total):
                digest.add(masks)
    else:
        run = run_parked(model, run, source, digest)
    return base.Timing(0.0, time.perf_counter() - start, time.process_time() - start_cpu)


def run_parked(model: Any, run: Any, source: Any, digest: base.MaskDigest) -> Any:
    """Steps timed by `StepSizer`, the run parked and pickled and unpickled after each, as the app will."""
    import pickle

    from sam2_gradio.jobs import StepSizer

    sizer = StepSizer(run.batch_size)
    while not run.done:
        frames, before = sizer.begin(), run.frames_done
        with model.use() as predictor:
            for _, _, masks in run.step(predictor, source, max_frames=frames):
                digest.add(masks)
        sizer.end(run.frames_done - before)
        run = pickle.loads(pickle.dumps(run.park()))
    return run


def worker(args: argparse.Namespace) -> None:
    """Measure one implementation on one clip and write a `RunResult` as JSON to `args.result`."""
    import torch

    warnings.filterwarnings("ignore", message="cannot import name '_C'")  # SAM 2 without its CUDA extension
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ["SAM2_GRADIO_STEP_SECONDS"] = str(args.step_seconds)
    model = base.build_model(args)
    digest = base.MaskDigest()
    run = base.run_official if args.worker == "official" else run_engine
    timing = run(model, Path(args.folder), args, digest)
    result = base.RunResult(
        frames=len(digest.hashes),
        propagate_s=timing.propagate_s,
        propagate_cpu_s=timing.propagate_cpu_s,
        load_s=timing.load_s,
        peak_rss_mib=base.peak_rss_mib(),
        peak_cuda_mib=base.peak_cuda_mib(),
        mask_hashes=digest.hashes,
        nonempty_frames=digest.nonempty,
    )
    Path(args.result).write_text(json.dumps(result.__dict__))


def measure(name: str, folder: Path, args: argparse.Namespace) -> base.RunResult:
    """Run one implementation on one clip in a fresh subprocess."""
    result = folder.parent / f"{folder.name}-{name.replace(' ', '_')}.json"
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, __file__, f"--worker={name}", f"--folder={folder}", f"--result={result}"]
    command += [*base.model_flags(args), f"--step-seconds={args.step_seconds}"]
    if subprocess.run(command, env=env).returncode:
        raise RuntimeError(f"benchmark worker {name!r} failed")
    return base.RunResult(**json.loads(result.read_text()))


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[int, dict[str, list[base.RunResult]]]:
    """Every (length, repetition, implementation), the order of implementations rotating between runs."""
    results: dict[int, dict[str, list[base.RunResult]]] = {}
    turn = 0
    for length in args.lengths:
        folder = base.write_clip(workdir / f"clip{length}", length)
        results[length] = {name: [] for name in IMPLEMENTATIONS}
        for _ in range(args.repeat):
            order = IMPLEMENTATIONS[turn % 4 :] + IMPLEMENTATIONS[: turn % 4]
            turn += 1
            for name in order:
                run = measure(name, folder, args)
                results[length][name].append(run)
                print(
                    f"{name:9s} {length:5d} frames: {run.fps:6.2f} fps, {run.cpu_fps:6.2f} frames/CPU s, "
                    f"peak RSS {run.peak_rss_mib:6.0f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
    return results


def table(results: dict[int, dict[str, list[base.RunResult]]]) -> list[str]:
    """One row per clip length: fps and frames/CPU s of each, the ratios to official, peak RSS."""
    header = "| frames | " + " | ".join(f"{name} fps" for name in IMPLEMENTATIONS)
    header += " | stepped / official | parked / official | stepped / one step | "
    header += " | ".join(f"{name} frames/CPU s" for name in IMPLEMENTATIONS)
    header += (
        " | stepped / official (CPU) | "
        + " | ".join(f"{name} peak RSS MiB" for name in IMPLEMENTATIONS)
        + " |"
    )
    lines = [header, "|" + "---:|" * header.count(" |")]
    for length, runs in results.items():
        fps = {name: base.median(runs[name], "fps") for name in IMPLEMENTATIONS}
        cpu = {name: base.median(runs[name], "cpu_fps") for name in IMPLEMENTATIONS}
        rss = {name: base.median(runs[name], "peak_rss_mib") for name in IMPLEMENTATIONS}
        cells = [f"{fps[name]:.2f}" for name in IMPLEMENTATIONS]
        cells += [
            f"{fps['stepped'] / fps['official']:.2f}",
            f"{fps['parked'] / fps['official']:.2f}",
            f"{fps['stepped'] / fps['one step']:.2f}",
        ]
        cells += [f"{cpu[name]:.2f}" for name in IMPLEMENTATIONS]
        cells += [f"{cpu['stepped'] / cpu['official']:.2f}"] + [
            f"{rss[name]:.0f}" for name in IMPLEMENTATIONS
        ]
        lines.append(f"| {length} | " + " | ".join(cells) + " |")
    return lines


def growth_line(results: dict[int, dict[str, list[base.RunResult]]]) -> str:
    """Peak RSS growth per extra frame between the shortest and the longest clip."""
    short, long = min(results), max(results)
    parts = []
    for name in IMPLEMENTATIONS:
        grown = base.median(results[long][name], "peak_rss_mib") - base.median(
            results[short][name], "peak_rss_mib"
        )
        parts.append(f"{name} {grown / (long - short):.3f}")
    return (
        f"peak RSS growth per extra frame ({short} → {long} frames), MiB/frame: "
        + ", ".join(parts)
        + " (target for stepped: ≤ 0.1)"
    )


def masks_line(results: dict[int, dict[str, list[base.RunResult]]]) -> str:
    """Whether every implementation gave the same masks at each length."""
    parts = []
    for length, runs in results.items():
        everything = [run for name in IMPLEMENTATIONS for run in runs[name]]
        same = all(run.mask_hashes == everything[0].mask_hashes for run in everything)
        parts.append(
            f"{length} frames: {'yes' if same else 'NO'} ({everything[0].nonempty_frames} non-empty)"
        )
    return "masks identical across implementations: " + "; ".join(parts)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags; the hidden --worker flags are how the driver starts one measurement."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    base.add_run_arguments(parser, [50, 350])
    parser.add_argument(
        "--batch-size", type=int, default=32, help="frames decoded at a time; the longest step"
    )
    parser.add_argument("--step-seconds", type=float, default=1.0, help="target length of a step")
    return base.checked_args(parser, argv)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, with --worker, one measurement of it) and print the markdown report."""
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    with tempfile.TemporaryDirectory(prefix="bench_stepped-") as workdir:
        results = benchmark(args, Path(workdir))
    settings = (
        f"SAM 2.1 {args.model_size}, random weights, {args.device}, {args.image_size} px, "
        f"{args.objects} object(s), "
        f"batch size {args.batch_size}, steps of ~{args.step_seconds:g} s, median of {args.repeat} run(s), "
        f"{args.threads or 'default'} torch thread(s), {os.cpu_count()} CPU cores"
    )
    lines = [settings, "", *table(results), ""]
    if len(results) > 1:
        lines += [growth_line(results), ""]
    print("\n".join([*lines, masks_line(results)]))


if __name__ == "__main__":
    main()
