"""Benchmark how sessions share the model: click latency during another session's propagation, and two
propagations at once, through the launched app's API (gradio_client), random-weights model, CPU.

    .venv/bin/python benchmarks/bench_sharing.py                  # 200 frames, 256 px, 12 clicks
    .venv/bin/python benchmarks/bench_sharing.py --frames 100 --clicks 6

Session A propagates `--frames` frames (API `/propagate`); meanwhile session B loads a one-click state
(`/load_state`, which runs SAM 2 on the clicked frame) every second and the latency of each is timed.
Then A and B each propagate alone, and both at once; the table gives each one's wall time and the ratio
to its time alone. Targets (issue 10): worst click latency <= 2 s; each concurrent run within 2.3x.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]

from sam2_support import build_random_model  # noqa: E402 (after the path is set)


def make_clip(path: Path, frames: int) -> Path:
    """A 160x120 synthetic clip of `frames` frames at 30 fps (ffmpeg's test pattern)."""
    import subprocess

    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi"]
    command += ["-i", f"testsrc2=size=160x120:rate=30:duration={frames / 30}", "-pix_fmt", "yuv420p"]
    subprocess.run([*command, str(path)], check=True)
    return path


def state_file(path: Path, frames: int) -> Path:
    """A prompt state with one positive click on frame 0 (interactive_state.json schema)."""
    state = {"version": 1, "video": {"num_frames": frames, "width": 160, "height": 120, "fps": 30.0}}
    state["clicks"] = {"0": {"1": {"points": [[80, 60]], "labels": [1]}}}
    path.write_text(json.dumps(state))
    return path


def propagate(url: str, clip: Path, state: Path) -> float:
    """Seconds one /propagate call takes, in a session of its own."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    started = time.perf_counter()
    client.predict(video=handle_file(clip), state_file=handle_file(state), api_name="/propagate")
    return time.perf_counter() - started


def click_latencies(url: str, clip: Path, state: Path, count: int, stop: threading.Event) -> list[float]:
    """Latency of each `/load_state` (one SAM 2 frame prediction) of another session, one a second."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    client.predict(video=handle_file(clip), api_name="/open_video")
    latencies = []
    while len(latencies) < count and not stop.is_set():
        started = time.perf_counter()
        client.predict(state_file=handle_file(state), frame=0, api_name="/load_state")
        latencies.append(time.perf_counter() - started)
        time.sleep(1.0)
    return latencies


def in_parallel(*jobs) -> list:
    """Run the zero-argument callables at once; return their results in order."""
    results: list = [None] * len(jobs)

    def run(index: int) -> None:
        results[index] = jobs[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="frames session A propagates")
    parser.add_argument("--clicks", type=int, default=12, help="state loads timed in session B")
    parser.add_argument("--image-size", type=int, default=256, help="model input size")
    args = parser.parse_args()

    from app_support import app_model_of, running_app

    model = build_random_model(image_size=args.image_size)
    with tempfile.TemporaryDirectory() as scratch, running_app(app_model_of(model), Path(scratch)) as url:
        clip = make_clip(Path(scratch) / "clip.mp4", args.frames)
        state = state_file(Path(scratch) / "state.json", args.frames)
        stop = threading.Event()

        def a_then_stop() -> float:
            try:
                return propagate(url, clip, state)
            finally:
                stop.set()

        alone_a, latencies = in_parallel(
            a_then_stop, lambda: click_latencies(url, clip, state, args.clicks, stop)
        )
        alone_b = propagate(url, clip, state)
        both = in_parallel(lambda: propagate(url, clip, state), lambda: propagate(url, clip, state))

    print(f"\nClick latency of session B while A propagates {args.frames} frames ({args.image_size} px, CPU)")
    print("| clicks | median s | worst s | A's propagation s |")
    print("| ---: | ---: | ---: | ---: |")
    print(f"| {len(latencies)} | {statistics.median(latencies):.2f} | {max(latencies):.2f} | {alone_a:.1f} |")
    print("\nTwo sessions propagating at once")
    print("| session | alone s | together s | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, together in zip("AB", both, strict=True):
        print(f"| {name} | {alone_b:.1f} | {together:.1f} | {together / alone_b:.2f} |")


if __name__ == "__main__":
    main()
