"""Benchmark what a user waits for in the Segment tab, measured in a real browser (issue 23, "Must show").

    .venv/bin/python benchmarks/bench_ui.py                          # the example clip, 2 s at 320 px
    .venv/bin/python benchmarks/bench_ui.py --clip ../shared/fixtures/videos/01_dog.mp4 --width 640

Launches the app on 127.0.0.1 with the random-weights SAM 2.1 tiny model (as `tests/test_browser.py`
does), drives Debian's Chromium through Playwright and prints, in seconds (not asserted):
upload to first frame, click to mask, key press to frame shown (median of `--presses`), Propagate to the
first live mask, and the last tracked frame (the status line's "Tracking n/n") to the results (the
preview video playable). Times are the page's own clock (`performance.now()`), so they include the
browser's drawing, not only the server.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]

TIMEOUT_MS = 600_000

# Notes in the page when the frame image, the status line and the preview video change, each with the
# page's clock: window.uiEvents = [[what, ms, detail], ...].
WATCH_JS = """() => {
  window.uiEvents = [];
  const note = (what, detail) => window.uiEvents.push([what, performance.now(), detail]);
  let frameSrc = null, statusText = null, previewSrc = null;
  new MutationObserver(() => {
    const img = document.querySelector("#seg-frame img");
    if (img && img.src !== frameSrc) {
      frameSrc = img.src;
      const loaded = () => note("frame", frameSrc);
      img.complete && img.naturalWidth ? loaded() : img.addEventListener("load", loaded, { once: true });
    }
    const status = document.getElementById("seg-status");
    const text = status ? status.innerText.replace(/\\s+/g, " ").trim() : "";
    if (text !== statusText) { statusText = text; note("status", text); }
    const video = document.querySelector("#seg-preview video");
    if (video && video.src && video.src !== previewSrc) {
      previewSrc = video.src;
      note("preview", previewSrc);
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
}"""


def now(page) -> float:
    return page.evaluate("() => performance.now()")


def events_since(page, start_ms: float, what: str) -> list[tuple[float, str]]:
    """(ms after `start_ms`, detail) of the watched changes of kind `what` since then."""
    events = page.evaluate("() => window.uiEvents")
    return [(ms - start_ms, detail) for kind, ms, detail in events if kind == what and ms >= start_ms]


def wait_frame_change(page, start_ms: float) -> float:
    """Seconds from `start_ms` until the frame image changed and loaded."""
    page.wait_for_function(
        "start => window.uiEvents.some(([kind, ms]) => kind === 'frame' && ms >= start)",
        arg=start_ms,
        timeout=TIMEOUT_MS,
    )
    return events_since(page, start_ms, "frame")[0][0] / 1000


def measure(url: str, clip: Path, presses: int) -> dict[str, float]:
    """The timings of one walk through the Segment tab (seconds)."""
    from browser_support import AppPage, chromium_page

    timings: dict[str, float] = {}
    with chromium_page(url, viewport={"width": 1400, "height": 1000}) as page:
        app = AppPage(page)
        page.evaluate(WATCH_JS)
        start = now(page)
        app.upload("seg-video", clip)
        timings["upload to first frame"] = wait_frame_change(page, start)
        page.wait_for_function(
            "() => !document.querySelector('#seg-frame-slider input[type=range]').disabled"
        )

        start = now(page)
        app.click_image("seg-frame", 0.5, 0.6)
        timings["click to mask"] = wait_frame_change(page, start)
        page.locator("#seg-timeline .tl-cursor").wait_for()

        keys = []
        for frame in range(1, presses + 1):
            start = now(page)
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "title => document.querySelector('#seg-timeline .tl-cursor')?.title === title",
                arg=f"frame {frame}",
                timeout=TIMEOUT_MS,
            )
            keys.append(wait_frame_change(page, start))
        timings[f"key press to frame shown (median of {presses})"] = statistics.median(keys)
        number = app.component("seg-frame-slider").locator("input[type=number]").first
        number.fill("0")
        number.press("Enter")
        page.wait_for_function(
            "() => document.querySelector('#seg-timeline .tl-cursor')?.title === 'frame 0'",
            timeout=TIMEOUT_MS,
        )
        page.wait_for_timeout(500)

        start = now(page)
        app.press("seg-propagate")
        timings["Propagate to first live mask"] = wait_frame_change(page, start)
        page.wait_for_function(
            "() => window.uiEvents.some(([kind]) => kind === 'preview')", timeout=TIMEOUT_MS
        )
        statuses = events_since(page, start, "status")
        last_tracked = max(ms for ms, text in statuses if "Tracking" in text and _all_tracked(text))
        ready = events_since(page, start, "preview")[0][0]
        timings["last tracked frame to results ready"] = (ready - last_tracked) / 1000
    return timings


def _all_tracked(text: str) -> bool:
    """Whether a status line says every frame is tracked ("Tracking 45/45 frames")."""
    import re

    found = re.search(r"Tracking (\d+)/(\d+) frames", text)
    return found is not None and found[1] == found[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clip", type=Path, default=PROJECT_ROOT / "examples" / "toy_car.mp4", help="source video"
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds of the clip used")
    parser.add_argument("--width", type=int, default=320, help="width the clip is scaled to, pixels")
    parser.add_argument("--fps", type=int, default=15, help="frame rate the clip is resampled to")
    parser.add_argument("--image-size", type=int, default=256, help="SAM 2's input size (random weights)")
    parser.add_argument("--presses", type=int, default=5, help="→ presses timed one by one")
    args = parser.parse_args()

    from app_support import running_app
    from browser_support import browser_missing_reason, cut_clip
    from sam2_support import build_random_model

    from sam2_gradio.app.model_holder import AppModel

    missing = browser_missing_reason()
    if missing is not None:
        sys.exit(f"cannot drive a browser: {missing}")
    model = build_random_model(args.image_size)
    with tempfile.TemporaryDirectory() as folder:
        clip = cut_clip(
            args.clip, Path(folder) / "clip.mp4", seconds=args.seconds, width=args.width, fps=args.fps
        )
        with running_app(AppModel(model.settings, model=model), Path(folder) / "sessions") as url:
            timings = measure(url, clip, args.presses)
    print(f"clip: {args.clip.name}, {args.seconds:g} s at {args.width} px wide, {args.fps} frames/s; "
          f"SAM 2.1 tiny random weights at {args.image_size} px, CPU")  # fmt: skip
    print(f"| {'step':<48} | seconds |")
    print(f"|{'-' * 50}|---------|")
    for name, seconds in timings.items():
        print(f"| {name:<48} | {seconds:7.2f} |")


if __name__ == "__main__":
    main()
