"""Benchmark the compose CLI against ffmpeg's own filters doing the same job, end to end, in the same run.

Both sides read the same background, object video and mask PNGs and write H.264 (libx264 veryfast, crf 18,
yuv420p) with the background's audio in AAC:

- ours: ``python -m sam2_gradio.compose --bg ... --obj ... --mask ... --size S --pos center --edge E`` (a
  fresh process, so start-up, probing and mask loading are counted; default feather and normal blend), once
  per edge mode of ``--edges`` (default ``hard`` and the default ``refine``, whose temporal step follows
  the moving mask);
- ffmpeg: one ffmpeg process, ``alphamerge`` (object + mask) -> ``crop`` to the mask's box (which moves
  one pixel per frame, so the crop follows it with an expression of ``n``) -> ``scale`` -> ``overlay``.

Inputs are the first ``--frames`` frames of /work/shared/fixtures/videos/02_cups.mp4 (background) and
01_dog.mp4 (object) when present, else synthetic ffmpeg test patterns; 1080p inputs are the 720p ones
upscaled. The mask is an ellipse moving right one pixel per frame. Runs alternate (ours, ffmpeg, ours, ...)
so background load hits both alike; the table shows the median of ``--repeats`` runs, in wall seconds
and in CPU seconds (user + system of all processes involved, which load from other processes barely
changes).

    .venv/bin/python benchmarks/bench_compose.py                    # 240 frames, 720p and 1080p
    .venv/bin/python benchmarks/bench_compose.py --frames 150 --repeats 3 --profile
    .venv/bin/python benchmarks/bench_compose.py --inputs 720p --edges hard,refine --repeats 3

``--motion`` times the compositing in motion instead, in this process through the library, at 720p: the
render's frames per second of a plain paste (one object, relocate) against ``follow`` with two objects
(an objects file: the moving ellipse following its path with a contact shadow, a second one relocated),
a holdout (a bar crossing the background) and colour match; and the live preview's latency per change
(``output_frame`` of the frame 7 on, as the Compose tab asks for on every slider move forward; of the same
frame with another option; and of a frame jumped to, with no decoder kept open near it), median of 15.
The CPU time per frame is this process's (every thread: reading masks,
compositing, converting), without the ffmpeg decoders and encoder, and barely moves with other load.

    .venv/bin/python benchmarks/bench_compose.py --motion --frames 120
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from sam2_gradio import config  # noqa: E402 (after the path is set)
from sam2_gradio.compositor.placement import scaled_size  # noqa: E402
from sam2_gradio.media.mask_files import combined_mask_name, save_mask_png  # noqa: E402
from sam2_gradio.media.video import ffmpeg_exe, probe_video  # noqa: E402

# /work/shared beside the checkout, or beside the folder of a git worktree (/work/wt/NAME)
FIXTURES = (
    next(
        (
            root / "shared"
            for root in (PROJECT_ROOT.parent, PROJECT_ROOT.parents[1])
            if (root / "shared").is_dir()
        ),
        PROJECT_ROOT.parent / "shared",
    )
    / "fixtures"
    / "videos"
)
RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
ENCODE = [
    "-c:v",
    "libx264",
    "-preset",
    config.X264_PRESET,
    "-crf",
    str(config.X264_CRF),
    "-pix_fmt",
    "yuv420p",
]
AUDIO = ["-c:a", "aac", "-b:a", config.AAC_BITRATE]


@dataclass(frozen=True)
class Inputs:
    """One benchmark case: the two videos, the mask folder and the ellipse that the masks hold."""

    name: str  # "720p" or "1080p"
    background: Path
    obj: Path
    masks: Path
    frames: int
    fps: float
    box: tuple[int, int, int, int]  # (x, y, width, height) of the mask on frame 0; x grows by 1 per frame


def ffmpeg(*arguments: str) -> None:
    """Run the ffmpeg binary the project uses, failing loudly."""
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *arguments], check=True)


def make_720p_sources(workdir: Path, frames: int) -> tuple[Path, Path, str]:
    """(background, object) 720p clips of ``frames`` frames, and where they came from."""
    background, obj = workdir / "bg_720p.mp4", workdir / "obj_720p.mp4"
    if (FIXTURES / "02_cups.mp4").is_file() and (FIXTURES / "01_dog.mp4").is_file():
        for source, target in ((FIXTURES / "02_cups.mp4", background), (FIXTURES / "01_dog.mp4", obj)):
            ffmpeg("-i", str(source), "-frames:v", str(frames), *ENCODE, *AUDIO, "-shortest", str(target))
        return background, obj, "fixture clips 02_cups (bg) and 01_dog (obj)"
    seconds = frames / 30
    pattern = "testsrc2=size=1280x720:rate=30"
    ffmpeg("-f", "lavfi", "-i", pattern, "-f", "lavfi", "-i", "sine=frequency=440", "-t", f"{seconds}",
           *ENCODE, *AUDIO, str(background))  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "mandelbrot=size=1280x720:rate=30", "-t", f"{seconds}", *ENCODE, str(obj))
    return background, obj, "synthetic ffmpeg patterns (testsrc2 bg, mandelbrot obj)"


def upscale(source: Path, target: Path, size: tuple[int, int]) -> Path:
    ffmpeg("-i", str(source), "-vf", f"scale={size[0]}:{size[1]}", *ENCODE, *AUDIO, str(target))
    return target


def write_masks(folder: Path, size: tuple[int, int], frames: int) -> tuple[int, int, int, int]:
    """An ellipse moving right one pixel per frame; returns its box on frame 0 as (x, y, width, height)."""
    import cv2
    import numpy as np

    width, height = size
    axes = (width // 8, height // 4)
    centre_x, centre_y = width // 4, height // 2
    for frame in range(frames):
        mask = np.zeros((height, width), np.uint8)
        cv2.ellipse(mask, (centre_x + frame, centre_y), axes, 0, 0, 360, 255, -1)
        save_mask_png(folder / combined_mask_name(frame), mask)
    return centre_x - axes[0], centre_y - axes[1], 2 * axes[0] + 1, 2 * axes[1] + 1


def prepare(workdir: Path, frames: int, names: list[str]) -> tuple[list[Inputs], str]:
    """The cases ``names`` (keys of ``RESOLUTIONS``; only those are made), and where the clips came from."""
    background, obj, origin = make_720p_sources(workdir, frames)
    cases = []
    for name, size in RESOLUTIONS.items():
        if name not in names:
            continue
        if name != "720p":
            background = upscale(workdir / "bg_720p.mp4", workdir / f"bg_{name}.mp4", size)
            obj = upscale(workdir / "obj_720p.mp4", workdir / f"obj_{name}.mp4", size)
        info = probe_video(background)
        count = min(info.num_frames, probe_video(obj).num_frames)
        box = write_masks(workdir / f"masks_{name}", size, count)
        cases.append(Inputs(name, background, obj, workdir / f"masks_{name}", count, info.fps, box))
    return cases, origin


def ours_command(case: Inputs, out: Path, object_size: int, edge: str) -> list[str]:
    flags = {"--bg": case.background, "--obj": case.obj, "--mask": case.masks, "--out": out}
    arguments = [item for flag, value in flags.items() for item in (flag, str(value))]
    return [
        sys.executable,
        "-m",
        "sam2_gradio.cli.compose",
        *arguments,
        "--size",
        str(object_size),
        "--pos",
        "center",
        "--edge",
        edge,
    ]


def ffmpeg_command(case: Inputs, out: Path, object_size: int) -> list[str]:
    """ffmpeg doing what ours does: mask as alpha, crop to the moving box, rescale, overlay at the centre."""
    x, y, width, height = case.box
    scaled_width, scaled_height = scaled_size(width, height, object_size)
    bg_width, bg_height = RESOLUTIONS[case.name]
    graph = (
        "[2:v]format=gray[mask];[1:v][mask]alphamerge,"
        f"crop=w={width}:h={height}:x='{x}+n':y={y}:exact=1,scale={scaled_width}:{scaled_height}[object];"
        f"[0:v][object]overlay=x={(bg_width - scaled_width) // 2}:y={(bg_height - scaled_height) // 2}"
        ":shortest=1[video]"
    )
    inputs = ["-i", str(case.background), "-i", str(case.obj)]
    inputs += ["-framerate", f"{case.fps}", "-i", str(case.masks / "mask_%05d.png")]
    outputs = ["-map", "[video]", "-map", "0:a", *ENCODE, *AUDIO, "-frames:v", str(case.frames)]
    outputs += ["-t", f"{case.frames / case.fps:.6f}", "-movflags", "+faststart", str(out)]
    return [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *inputs, "-filter_complex", graph, *outputs]


@dataclass(frozen=True)
class Timing:
    """Wall time and CPU time (user + system, of the process and every process it waited for) of one run."""

    wall_s: float
    cpu_s: float


def timed(command: list[str]) -> Timing:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=PROJECT_ROOT, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Timing(wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


def check_output(path: Path, case: Inputs) -> int:
    """Frames in an output, after checking it has the background's size."""
    info = probe_video(path)
    if (info.width, info.height) != RESOLUTIONS[case.name]:
        raise RuntimeError(f"{path} is {info.width}x{info.height}, expected {RESOLUTIONS[case.name]}")
    return info.num_frames


def profile_ours(case: Inputs, out: Path, object_size: int) -> None:
    """Run our render in this process under cProfile and print the 25 most expensive functions."""
    from sam2_gradio.cli.compose import main

    profiler = cProfile.Profile()
    profiler.enable()
    main(ours_command(case, out, object_size, config.DEFAULT_EDGE)[3:])
    profiler.disable()
    print(f"\n### cProfile of ours, {case.name} (main thread only; readers run in threads)\n")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=240, help="frames per clip")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each side per input (median shown)")
    parser.add_argument("--object-size", type=int, default=400, help="--size of the relocated object")
    parser.add_argument("--profile", action="store_true", help="also cProfile one run of ours per input")
    parser.add_argument("--workdir", help="folder for inputs and outputs (default: a temp folder, deleted)")
    parser.add_argument("--motion", action="store_true", help="time follow, holdout and shadow instead")
    parser.add_argument(
        "--edges", default=f"hard,{config.DEFAULT_EDGE}", help="comma-separated edge modes of ours to time"
    )
    parser.add_argument("--inputs", default=",".join(RESOLUTIONS), help="comma-separated inputs to time")
    args = parser.parse_args()
    edges = args.edges.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-compose-") as temp:
        workdir = Path(args.workdir or temp)
        workdir.mkdir(parents=True, exist_ok=True)
        if args.motion:
            motion_table(workdir, args.frames, args.repeats)
            return
        cases, origin = prepare(workdir, args.frames, args.inputs.split(","))
        rows = []
        for case in cases:
            times: dict[str, list[Timing]] = {edge: [] for edge in edges} | {"ffmpeg": []}
            outputs = {side: workdir / f"{side}_{case.name}.mp4" for side in times}
            for _ in range(args.repeats):  # the sides alternate, so that load hits them alike
                for edge in edges:
                    times[edge].append(timed(ours_command(case, outputs[edge], args.object_size, edge)))
                times["ffmpeg"].append(timed(ffmpeg_command(case, outputs["ffmpeg"], args.object_size)))
            frames = {side: check_output(path, case) for side, path in outputs.items()}
            if len(set(frames.values())) > 1:
                raise RuntimeError(f"{case.name}: frames written differ: {frames}")
            for edge in edges:
                pair = {"ours": times[edge], "ffmpeg": times["ffmpeg"]}
                rows.append(table_row(case.name, edge, frames["ffmpeg"], pair))
            if args.profile:
                profile_ours(case, workdir / f"profiled_{case.name}.mp4", args.object_size)
    print(f"\nInputs: {origin}; {os.cpu_count()} CPU cores; median of {args.repeats} run(s) each.\n")
    print(
        "| input | edge | frames | ours s | ffmpeg s | ours / ffmpeg | ours CPU s | ffmpeg CPU s "
        "| CPU ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def write_motion_masks(workdir: Path, size: tuple[int, int], frames: int) -> tuple[Path, Path, Path]:
    """Per-object masks (object 1: an ellipse moving right 3 px per frame; object 2: a still one), holdout
    masks (a bar 80 px wide crossing the background), and the objects file placing the two."""
    import json

    import cv2
    import numpy as np

    from sam2_gradio.media.mask_files import per_object_mask_name

    width, height = size
    masks, holdouts = workdir / "motion_masks", workdir / "motion_holdouts"
    for frame in range(frames):
        moving = np.zeros((height, width), np.uint8)
        cv2.ellipse(
            moving, (width // 4 + 3 * frame, height // 2), (width // 10, height // 4), 0, 0, 360, 255, -1
        )
        still = np.zeros((height, width), np.uint8)
        cv2.ellipse(still, (3 * width // 4, height // 3), (width // 12, height // 6), 0, 0, 360, 255, -1)
        save_mask_png(masks / per_object_mask_name(frame, 1), moving)
        save_mask_png(masks / per_object_mask_name(frame, 2), still)
        bar = np.zeros((height, width), np.uint8)
        left = (width - 4 * frame) % width
        bar[:, left : left + 80] = 255
        save_mask_png(holdouts / combined_mask_name(frame), bar)
    objects = workdir / "objects.json"
    objects.write_text(
        json.dumps(
            [
                {"id": 2, "placement": "relocate", "pos": "top-right", "size": 200},
                {"id": 1, "placement": "follow", "pos": "bottom-center", "scale": 0.8, "shadow": True},
            ]
        )
    )
    return masks, holdouts, objects


def motion_table(workdir: Path, frames: int, repeats: int) -> None:
    """Print the render fps and preview latency of a plain paste and of follow + 2 objects + holdout +
    shadow, at 720p (see the module docstring)."""
    from sam2_gradio.compositor import render as render_module
    from sam2_gradio.compositor.render import ComposeOptions, output_frame, render
    from sam2_gradio.media.mask_files import load_mask_set

    background, obj, origin = make_720p_sources(workdir, frames)
    count = min(probe_video(background).num_frames, probe_video(obj).num_frames)
    masks, holdouts, objects = write_motion_masks(workdir, RESOLUTIONS["720p"], count)
    cases = {
        "plain paste (1 object, relocate)": ComposeOptions(objects=(1,), size=400),
        "follow + 2 objects + holdout + shadow": ComposeOptions(
            objects_file=str(objects), holdout_mask=str(holdouts), shadow=True, color_match=0.5
        ),
    }
    bg_info, obj_info = probe_video(background, exact=False), probe_video(obj, exact=False)
    fps: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}  # this process's CPU ms per frame
    latency: dict[tuple[str, str], list[float]] = {
        (name, kind): [] for name in cases for kind in ("frame", "option", "jump")
    }
    for _ in range(repeats):  # the cases alternate, so that load from other processes hits both alike
        for name, options in cases.items():
            cpu_started = time.process_time()
            result = render(background, obj, masks, workdir / "motion.mp4", options)
            fps[name].append(result.num_frames / result.seconds)
            cpu[name].append(1000 * (time.process_time() - cpu_started) / result.num_frames)
    mask_set = load_mask_set(masks)
    for name, options in cases.items():  # each case scrubs on its own, so that it reads on from its frames
        for index in range(15):  # 7 frames on (as the slider asks), a new option, then that frame afresh
            frame = (index * 7) % count
            render_module._decoded_frame.cache_clear()
            for kind, changed in (
                ("frame", options),
                ("option", replace(options, offset_x=10 * (index + 1))),
                ("jump", options),
            ):
                if kind == "jump":  # no decoder kept near it: as a jump back or far ahead
                    render_module._decoded_frame.cache_clear()
                    render_module._CURSORS.close()
                started = time.perf_counter()
                output_frame(bg_info, obj_info, mask_set, frame, changed)
                latency[name, kind].append(time.perf_counter() - started)
    mask_set.close()
    rows = [
        f"| {name} | {count} | {statistics.median(fps[name]):.1f} | {statistics.median(cpu[name]):.1f} | "
        f"{1000 * statistics.median(latency[name, 'frame']):.0f} | "
        f"{1000 * statistics.median(latency[name, 'option']):.0f} | "
        f"{1000 * statistics.median(latency[name, 'jump']):.0f} |"
        for name in cases
    ]
    print(f"\nInputs: {origin}, 720p; {os.cpu_count()} CPU cores; render median of {repeats} run(s).\n")
    print(
        "| composite | frames | render fps | CPU ms per frame | preview ms: next frame (+7) | new option "
        "| jump (seek) |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def table_row(name: str, edge: str, frames: int, times: dict[str, list[Timing]]) -> str:
    """One markdown row: median wall and CPU seconds of ours (with ``--edge edge``) and of ffmpeg, and
    their ratios."""
    wall = {side: statistics.median(run.wall_s for run in runs) for side, runs in times.items()}
    cpu = {side: statistics.median(run.cpu_s for run in runs) for side, runs in times.items()}
    cells = [name, edge, str(frames)]
    for seconds in (wall, cpu):
        cells += [
            f"{seconds['ours']:.2f}",
            f"{seconds['ffmpeg']:.2f}",
            f"{seconds['ours'] / seconds['ffmpeg']:.2f}",
        ]
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    main()
