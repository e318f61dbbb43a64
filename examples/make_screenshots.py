"""Regenerate the README's screenshots of both tabs and of a composed frame from the example clips.

    .venv/bin/python examples/make_screenshots.py

Serves the app and drives it in Chromium through Playwright as a user would: open `examples/toy_car.mp4`,
click the ball and, as a second object, the car, propagate; then in Compose put that result over
`examples/background.mp4`, keep only the car, move it to the bottom left, take a snapshot and render.
Writes `docs/segment_tab.png`, `docs/compose_tab.png` and `docs/composed_frame.png` (the snapshot), each at
most 1280 pixels wide, and both tabs as a phone shows them (`docs/*_tab_phone.png`, 390 pixels wide).
Then, in a fresh page, `docs/box_and_brush.png`: a box drawn around the car (two clicks) and the ball
painted with the brush as a second object. `--only tabs` or `--only prompts` makes one of the two sets.
Needs Chromium (`apt-get install chromium`); takes about a minute on a CPU.

By default the model is SAM 2.1 tiny with seeded random weights at 256 px (no download; its object-score
head is biased as in the tests so that masks show, but their shapes mean nothing). With `--checkpoint`
the screenshots show real masks.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = PROJECT_ROOT / "examples"
BALL = (0.14, 0.56)  # where the ball and the car are on the first frame, as fractions of it
CAR = (0.79, 0.83)
PROPAGATION_TIMEOUT_MS = 600_000
RENDER_TIMEOUT_MS = 120_000
MAX_WIDTH = 1280
PHONE = {"width": 390, "height": 844}  # a phone's viewport, for the *_phone.png screenshots
TAB_SCREENSHOTS = (
    "segment_tab.png",
    "compose_tab.png",
    "composed_frame.png",
    "segment_tab_phone.png",
    "compose_tab_phone.png",
)
PROMPTS_SCREENSHOT = "box_and_brush.png"
CAR_BOX = ((0.665, 0.70), (0.91, 0.97))  # opposite corners of the car on the first frame
BALL_STROKE = tuple((x, y) for y in (0.50, 0.56, 0.62) for x in (0.11, 0.14, 0.17))  # dabs over the ball
BRUSH_SIZE = 14  # pixels


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-dir", type=Path, default=PROJECT_ROOT / "docs", help="folder the five PNGs are written to"
    )
    parser.add_argument(
        "--only",
        choices=("tabs", "prompts"),
        help="make only the tab screenshots, or only the box-and-brush picture (default: both)",
    )
    parser.add_argument(
        "--checkpoint", help="SAM 2.1 weights file for real masks (default: seeded random weights)"
    )
    parser.add_argument(
        "--model-size", default="tiny", help="size of --checkpoint: tiny, small, base+, large"
    )
    parser.add_argument(
        "--image-size", type=int, help="model input size in pixels (default: 256, or 1024 with --checkpoint)"
    )
    return parser.parse_args()


def build_model(args: argparse.Namespace):
    """The app's model: the checkpoint's when one is given, else biased random weights at 256 px."""
    from sam2_gradio.app.model_holder import AppModel
    from sam2_gradio.engine.model.predictor import ModelSettings

    if args.checkpoint:
        settings = ModelSettings(
            model_size=args.model_size, checkpoint=args.checkpoint, image_size=args.image_size or 1024
        )
        return AppModel(settings)
    from sam2_support import build_random_model

    shared = build_random_model(args.image_size or 256)
    return AppModel(shared.settings, model=shared)


def segment_example(app) -> None:
    """Open the example clip, click the ball and the car, propagate; leaves the Segment tab showing it."""
    app.upload("seg-video", EXAMPLES / "toy_car.mp4")
    app.wait_image_src("seg-frame", other_than=None)
    for index, point in enumerate((BALL, CAR)):
        if index:
            app.press("seg-new-object")
            app.wait_checked("seg-object", "Object 2")
        shown = app.image_src("seg-frame")
        app.click_image("seg-frame", *point)
        app.wait_image_src("seg-frame", other_than=shown)
    app.press("seg-propagate")
    app.wait_video("seg-preview", timeout_ms=PROPAGATION_TIMEOUT_MS)


def compose_example(app) -> str:
    """Put the Segment result over the example background, car only, bottom left, snapshot and render.

    Returns the URL of the snapshot PNG.
    """
    app.open_tab("Compose")
    app.press("cmp-use-segment")
    app.upload("cmp-bg", EXAMPLES / "background.mp4")
    shown = app.wait_image_src("cmp-preview", other_than=None)
    ball = app.component("cmp-objects").locator("input[type=checkbox]").first
    ball.uncheck()
    shown = app.wait_image_src("cmp-preview", other_than=shown)  # one object: "relocate" applies
    app.choose("cmp-pos", "bottom-left")
    app.wait_image_src("cmp-preview", other_than=shown)
    app.press("cmp-snapshot")
    snapshot_url = app.file_link("cmp-snapshot-file")
    app.press("cmp-render")
    app.wait_video("cmp-output", timeout_ms=RENDER_TIMEOUT_MS)
    return snapshot_url


def prompts_example(app) -> None:
    """Open the example clip, draw a box around the car, then paint the ball as a second object."""
    app.upload("seg-video", EXAMPLES / "toy_car.mp4")
    app.wait_image_src("seg-frame", other_than=None)
    app.component("seg-point-label").get_by_label("box", exact=True).check()
    for corner in CAR_BOX:
        _click_and_wait(app, corner)
    app.press("seg-new-object")
    app.wait_checked("seg-object", "Object 2")
    app.component("seg-point-label").get_by_label("brush", exact=True).check()
    size = app.component("seg-brush-size").locator("input[type=number]")
    size.fill(str(BRUSH_SIZE))
    size.press("Enter")
    for dab in BALL_STROKE:
        _click_and_wait(app, dab)


def _click_and_wait(app, point: tuple[float, float]) -> None:
    shown = app.image_src("seg-frame")
    app.click_image("seg-frame", *point)
    app.wait_image_src("seg-frame", other_than=shown)


def save_page(app, path: Path) -> None:
    """Screenshot the whole page without its pop-up messages (256 colours, at most `MAX_WIDTH` wide)."""
    app.dismiss_messages()
    app.page.screenshot(path=str(path), full_page=True)
    shrink_png(path, palette=True)


def shrink_png(path: Path, *, palette: bool = False) -> None:
    """Rewrite a PNG at most `MAX_WIDTH` wide, optimised; with `palette` in 256 colours (a third the size)."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    if image.width > MAX_WIDTH:
        image = image.resize((MAX_WIDTH, round(image.height * MAX_WIDTH / image.width)), Image.LANCZOS)
    if palette:
        image = image.quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG
        )
    image.save(path, optimize=True)


def tab_screenshots(app, out_dir: Path) -> None:
    """Both tabs after the example's segment and compose, on a desktop and on a phone; the composed frame."""
    segment_example(app)
    save_page(app, out_dir / "segment_tab.png")
    snapshot_url = compose_example(app)
    save_page(app, out_dir / "compose_tab.png")
    composed = out_dir / "composed_frame.png"
    composed.write_bytes(app.page.request.get(snapshot_url).body())
    shrink_png(composed)
    app.page.set_viewport_size(PHONE)
    save_page(app, out_dir / "compose_tab_phone.png")
    app.open_tab("Segment")
    save_page(app, out_dir / "segment_tab_phone.png")


def main() -> None:
    args = parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")  # SAM 2's per-frame bar
    warnings.filterwarnings("ignore", message="cannot import name '_C'")  # SAM 2 without its CUDA extension
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))  # the test helpers: random model, app launch, browser
    from app_support import running_app
    from browser_support import AppPage, browser_missing_reason, chromium_page

    missing = browser_missing_reason()
    if missing:
        sys.exit(f"make_screenshots.py: {missing}.")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    with tempfile.TemporaryDirectory() as sessions, running_app(build_model(args), Path(sessions)) as url:
        if args.only in (None, "tabs"):
            with chromium_page(url) as page:
                tab_screenshots(AppPage(page), args.out_dir)
            written += TAB_SCREENSHOTS
        if args.only in (None, "prompts"):
            with chromium_page(url) as page:
                app = AppPage(page)
                prompts_example(app)
                app.dismiss_messages()
                app.page.locator("#seg-frame-column").screenshot(path=str(args.out_dir / PROMPTS_SCREENSHOT))
                shrink_png(args.out_dir / PROMPTS_SCREENSHOT, palette=True)
            written.append(PROMPTS_SCREENSHOT)
    for name in written:
        path = args.out_dir / name
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
