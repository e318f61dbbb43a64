"""Benchmark the first click on a frame, with and without the shown frame encoded ahead (issue 13).

    .venv/bin/python benchmarks/bench_first_click.py                 # 1024 px, 4 frames, 2 s of aiming
    .venv/bin/python benchmarks/bench_first_click.py --image-size 256 --aim-seconds 1

Through the app's actions (what the Segment tab calls): open a clip, move to a frame, wait while the user
aims (`--aim-seconds`), click; then a second click on the same frame. With `SAM2_GRADIO_ENCODE_SHOWN_FRAME`
off the first click runs the image encoder; on, the encoder ran while the user aimed. Random-weights
SAM 2.1 tiny on the CPU. Target: the first click as quick as the second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]

from bench_sharing import make_clip  # noqa: E402
from sam2_support import build_random_model  # noqa: E402 (after the path is set)


def click_latencies(
    model, clip: Path, frames: int, aim_seconds: float, ahead: bool
) -> list[tuple[float, float]]:
    """(first, second) click seconds on each frame after the first, the shown frame encoded ahead or not."""
    from sam2_gradio import config
    from sam2_gradio.app import segment_actions as actions
    from sam2_gradio.app.model_holder import AppModel
    from sam2_gradio.app.sessions import SessionStore

    config.ENCODE_SHOWN_FRAME = ahead
    with tempfile.TemporaryDirectory() as folder:
        session = SessionStore(Path(folder)).get("bench")
        actions.open_video(session, clip, AppModel(model.settings, model=model))
        timings = []
        for frame in range(1, frames):
            actions.view_frame(session, frame)
            time.sleep(aim_seconds)  # the user aims
            timings.append(tuple(timed_click(actions, session, frame, x) for x in (60.0, 100.0)))
        return timings


def timed_click(actions, session, frame: int, x: float) -> float:
    started = time.perf_counter()
    actions.add_click(session, frame, 1, x, 60.0, positive=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image-size", type=int, default=1024)
    parser.add_argument("--frames", type=int, default=4, help="frames of the clip (clicked: all but 0)")
    parser.add_argument("--aim-seconds", type=float, default=2.0)
    args = parser.parse_args()
    model = build_random_model(args.image_size)
    with tempfile.TemporaryDirectory() as folder:
        clip = make_clip(Path(folder) / "clip.mp4", args.frames)
        rows = {
            ahead: click_latencies(model, clip, args.frames, args.aim_seconds, ahead)
            for ahead in (False, True)
        }
    print(
        f"SAM 2.1 tiny, random weights, {args.image_size} px, CPU; {args.aim_seconds} s of aiming per frame"
    )
    print("| shown frame encoded ahead | first click (median s) | second click (median s) |")
    print("| --- | ---: | ---: |")
    for ahead, timings in rows.items():
        first, second = (statistics.median(column) for column in zip(*timings, strict=True))
        print(f"| {'yes' if ahead else 'no'} | {first:.3f} | {second:.3f} |")


if __name__ == "__main__":
    main()
