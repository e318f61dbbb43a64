"""Regenerate the README's screenshots of both tabs and of a composed frame from the example clips.

    .venv/bin/python examples/make_screenshots.py

Serves the app and drives it in Chromium through Playwright as a user would, with masks that look like the
objects: the example clip is drawn by `make_example.py`, which also gives each frame's exact masks
(`toy_car_masks`). The Segment tab opens `examples/toy_car.mp4` and loads a state file giving the ball
and the car their exact masks on the first frame as mask prompts (named "ball" and "car"); SAM 2 returns
a mask prompt as the object's mask on its frame, so the frame shows them as they are. Compose takes the
clip with a zip of its exact masks over `examples/background.mp4`, keeps only the car, moves it to the
bottom left, takes a snapshot and renders. Writes `docs/segment_tab.png`, `docs/compose_tab.png` and
`docs/composed_frame.png` (the snapshot), each at most 1280 pixels wide, and both tabs as a phone shows
them (`docs/*_tab_phone.png`, 390 pixels wide). Then, in a fresh page, `docs/box_and_brush.png`: the car
given its mask, and the ball painted with two brush strokes as a second object, the brush's circle over
it. `--only tabs` or `--only prompts` makes one of the two sets. Needs Chromium (`apt-get install
chromium`); takes a few minutes on a CPU.

By default the model is SAM 2.1 tiny with seeded random weights at 1024 px (no download): it is only
asked to turn mask prompts into masks, which it does exactly, so no random-weights mask shows. Nothing is
propagated: with random weights the tracked masks would be noise. With `--checkpoint` the same pictures
come from real weights.
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
BALL_STROKES = (((0.10, 0.52), (0.18, 0.52)), ((0.11, 0.60), (0.17, 0.60)))  # brush drags over the ball
BRUSH_SIZE = 9  # pixels (the radius)
NAMES = {1: "ball", 2: "car"}


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
        "--image-size", type=int, default=1024, help="model input size in pixels (default: 1024)"
    )
    return parser.parse_args()


def build_model(args: argparse.Namespace):
    """The app's model: the checkpoint's when one is given, else biased random weights at 256 px."""
    from sam2_gradio.app.model_holder import AppModel
    from sam2_gradio.engine.model.predictor import ModelSettings

    if args.checkpoint:
        settings = ModelSettings(
            model_size=args.model_size, checkpoint=args.checkpoint, image_size=args.image_size
        )
        return AppModel(settings)
    from sam2_support import build_random_model

    shared = build_random_model(args.image_size)
    return AppModel(shared.settings, model=shared)


def exact_state(folder: Path) -> Path:
    """A state file giving the ball (1) and the car (2) their exact masks on frame 0, with their names."""
    from make_example import FPS, HEIGHT, WIDTH, toy_car_masks

    from sam2_gradio.engine.tracking.prompts import PromptState
    from sam2_gradio.media.frames import VideoMeta

    state = PromptState(video=VideoMeta(num_frames=90, width=WIDTH, height=HEIGHT, fps=FPS))
    for obj_id, mask in toy_car_masks(0).items():
        state.set_mask(0, obj_id, mask)
        state.set_name(obj_id, NAMES[obj_id])
    return state.save(folder / "exact_state.json")


def exact_masks_zip(folder: Path) -> Path:
    """The toy clip's exact masks of every frame, as the Segment tab's masks zip (`per_object/`)."""
    import io
    import zipfile

    from make_example import FRAME_COUNT, toy_car_masks
    from PIL import Image

    from sam2_gradio.media.mask_files import per_object_mask_name

    path = folder / "toy_car_exact_masks.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(FRAME_COUNT):
            for obj_id, mask in toy_car_masks(index).items():
                png = io.BytesIO()
                Image.fromarray(mask.astype("uint8") * 255).save(png, format="PNG")
                archive.writestr(f"per_object/{per_object_mask_name(index, obj_id)}", png.getvalue())
    return path


def segment_example(app, state: Path) -> None:
    """Open the example clip and load the exact masks of its first frame as the two objects' prompts."""
    app.upload("seg-video", EXAMPLES / "toy_car.mp4")
    shown = app.wait_image_src("seg-frame", other_than=None)
    app.upload("seg-load-state", state)
    app.wait_image_src("seg-frame", other_than=shown, timeout_ms=PROPAGATION_TIMEOUT_MS)
    app.page.wait_for_function("() => /ball/.test(document.getElementById('seg-legend').innerText)")


def compose_example(app, masks: Path) -> str:
    """The clip and its exact masks over the example background, car only, bottom left; snapshot, render.

    Returns the URL of the snapshot PNG.
    """
    app.open_tab("Compose")
    app.upload("cmp-obj", EXAMPLES / "toy_car.mp4")
    app.upload("cmp-masks", masks)
    app.upload("cmp-bg", EXAMPLES / "background.mp4")
    shown = app.wait_image_src("cmp-preview", other_than=None)
    app.component("cmp-objects").locator("input[type=checkbox]").first.wait_for()
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


def prompts_example(app, state: Path) -> None:
    """The car with its exact mask (object 2); the ball (object 1) painted anew with two brush strokes."""
    segment_example(app, state)
    app.component("seg-object").get_by_label("Object 1 · ball", exact=True).check()
    app.press("seg-clear")
    app.component("seg-point-label").get_by_label("brush", exact=True).check()
    size = app.component("seg-brush-size").locator("input[type=number]")
    size.fill(str(BRUSH_SIZE))
    size.press("Enter")
    for stroke in BALL_STROKES:
        shown = app.image_src("seg-frame")
        drag(app, stroke)
        app.wait_image_src("seg-frame", other_than=shown, timeout_ms=PROPAGATION_TIMEOUT_MS)
    app.dismiss_messages()
    app.page.mouse.move(*frame_point(app, (0.25, 0.45)))  # the brush's circle beside the ball


def frame_point(app, point: tuple[float, float]) -> tuple[float, float]:
    """The page position of `point` (fractions of the Segment frame's picture)."""
    image = app.component("seg-frame").locator("img").first
    image.evaluate("img => img.scrollIntoView({ block: 'center' })")
    box = image.bounding_box()
    natural = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    fit = min(box["width"] / natural[0], box["height"] / natural[1])
    left = box["x"] + (box["width"] - natural[0] * fit) / 2
    top = box["y"] + (box["height"] - natural[1] * fit) / 2
    return left + point[0] * natural[0] * fit, top + point[1] * natural[1] * fit


def drag(app, points: tuple[tuple[float, float], ...]) -> None:
    """Press on the frame at the first point, move through the others, release: one brush stroke."""
    mouse = app.page.mouse
    mouse.move(*frame_point(app, points[0]))
    mouse.down()
    for point in points[1:]:
        mouse.move(*frame_point(app, point), steps=10)
    mouse.up()


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


def tab_screenshots(app, out_dir: Path, state: Path, masks: Path) -> None:
    """Both tabs after the example's segment and compose, on a desktop and on a phone; the composed frame."""
    segment_example(app, state)
    save_page(app, out_dir / "segment_tab.png")
    snapshot_url = compose_example(app, masks)
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
    # this checkout's app, its test helpers (random model, app launch, browser) and make_example (the
    # clip's exact masks)
    sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "tests"), str(EXAMPLES)]
    from app_support import running_app
    from browser_support import AppPage, browser_missing_reason, chromium_page

    missing = browser_missing_reason()
    if missing:
        sys.exit(f"make_screenshots.py: {missing}.")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    with tempfile.TemporaryDirectory() as work, running_app(build_model(args), Path(work) / "s") as url:
        state, masks = exact_state(Path(work)), exact_masks_zip(Path(work))
        if args.only in (None, "tabs"):
            with chromium_page(url) as page:
                tab_screenshots(AppPage(page), args.out_dir, state, masks)
            written += TAB_SCREENSHOTS
        if args.only in (None, "prompts"):
            with chromium_page(url) as page:
                app = AppPage(page)
                prompts_example(app, state)
                app.page.locator("#seg-frame-column").screenshot(path=str(args.out_dir / PROMPTS_SCREENSHOT))
                shrink_png(args.out_dir / PROMPTS_SCREENSHOT, palette=True)
            written.append(PROMPTS_SCREENSHOT)
    for name in written:
        path = args.out_dir / name
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
