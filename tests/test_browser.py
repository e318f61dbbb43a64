"""The app in a real browser: Debian Chromium driven by Playwright, on the random-weights model at 256 px.

One walk through both tabs as a user would do it: upload a clip, click two objects, step a frame with the
keyboard, propagate, take the result into Compose, add a background, preview and render. A screenshot of
every step is kept in `test-artifacts/browser/` (look at them when the test fails, or after UI changes).
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from browser_support import EVENT_TIMEOUT_MS, AppPage, browser_missing_reason, chromium_page, cut_clip
from PIL import Image

from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.media.rle import CompressedRle

MISSING = browser_missing_reason()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(MISSING is not None, reason=f"cannot drive a browser: {MISSING}"),
]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
EXAMPLES = PROJECT_ROOT / "examples"
CLIP_SECONDS = 1.5  # CPU propagation at 256 px costs about 0.25 s a frame and object
CLIP_WIDTH = 320
CLIP_FPS = 30
BACKGROUND = EXAMPLES / "background.mp4"
BACKGROUND_FRAMES, BACKGROUND_FPS, BACKGROUND_SHAPE = 90, 30, (360, 640, 3)  # see examples/README.md
PROPAGATION_TIMEOUT_MS = 300_000  # a loaded CI machine can run SAM 2 ten times slower
RENDER_TIMEOUT_MS = 60_000
PROMPT_TIMEOUT_MS = 120_000  # a click SAM 2 answers (the first on a frame encodes it) on a loaded machine

# Where to click, as fractions of the frame: (first object, second object) of each clip.
CLICKS = {
    "01_dog.mp4": ((0.47, 0.64), (0.28, 0.50)),  # the dog, the woman
    "toy_car.mp4": ((0.14, 0.56), (0.79, 0.83)),  # the ball, the car
}


@pytest.fixture
def clip(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The first 1.5 s of a real fixture clip (the example clip when the fixtures are absent), 320 px wide."""
    try:
        source = request.getfixturevalue("fixture_videos_dir") / "01_dog.mp4"
    except pytest.skip.Exception:
        source = EXAMPLES / "toy_car.mp4"
    return cut_clip(source, tmp_path / source.name, seconds=CLIP_SECONDS, width=CLIP_WIDTH, fps=CLIP_FPS)


@pytest.fixture
def app_url(random_model, tmp_path: Path):
    """URL of the app serving the random-weights model, with its sessions under `tmp_path`."""
    from app_support import running_app

    with running_app(AppModel(random_model.settings, model=random_model), tmp_path / "sessions") as url:
        yield url


def fetch(app: AppPage, url: str) -> bytes:
    """The body of a file the page links to."""
    response = app.page.request.get(url)
    assert response.ok, f"{url} answered {response.status}"
    return response.body()


def pixels(app: AppPage, url: str) -> np.ndarray:
    """The RGB pixels of an image the page shows."""
    return np.asarray(Image.open(io.BytesIO(fetch(app, url))).convert("RGB"))


def frame_count(app: AppPage, url: str, folder: Path) -> int:
    """Frames of a video the page links to, counted by decoding it with ffmpeg."""
    path = folder / "downloaded.mp4"
    path.write_bytes(fetch(app, url))
    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def click_and_expect_change(
    app: AppPage, point: tuple[float, float], timeout_ms: int = EVENT_TIMEOUT_MS
) -> None:
    """Click the Segment frame at `point` and wait until the frame shown has other pixels."""
    before_src = app.image_src("seg-frame")
    before = pixels(app, before_src)
    app.click_image("seg-frame", *point)
    after = pixels(app, app.wait_image_src("seg-frame", other_than=before_src, timeout_ms=timeout_ms))
    assert after.shape == before.shape
    changed = np.any(after != before, axis=2).mean()
    assert changed > 0.001, f"only {changed:.4%} of the frame changed after a click"


def open_clip(app: AppPage, clip: Path) -> int:
    """Upload `clip` in the Segment tab and check what the tab says about it; returns its frame count."""
    clip_frames = imageio_ffmpeg.count_frames_and_secs(str(clip))[0]
    app.upload("seg-video", clip)
    app.wait_image_src("seg-frame", other_than=None)
    app.page.wait_for_function(
        "id => document.getElementById(id).innerText.includes('frames')", arg="seg-info"
    )
    assert re.search(rf"\b{clip_frames} frames", app.text("seg-info")), app.text("seg-info")
    assert app.number("seg-frame-slider") == 0
    app.screenshot("uploaded")
    return clip_frames


def click_two_objects(app: AppPage, clicks: tuple[tuple[float, float], ...]) -> None:
    """Click the first object, add a second and click it; each click redraws the frame."""
    click_and_expect_change(app, clicks[0])
    app.screenshot("first_object_clicked")
    app.press("seg-new-object")
    app.wait_checked("seg-object", "Object 2")
    click_and_expect_change(app, clicks[1])
    app.screenshot("second_object_clicked")


def name_undo_and_download(app: AppPage, folder: Path) -> None:
    """Name object 1, undo: the Name box shows the state's (empty) name; name it "dog"; Save state is
    a download holding that name."""
    from playwright.sync_api import expect

    box = app.component("seg-object-name").locator("input, textarea").first
    box.fill("cat")
    box.press("Enter")
    app.wait_checked("seg-object", "Object 1 · cat")
    app.press("seg-undo")
    app.wait_checked("seg-object", "Object 1")
    expect(box).to_have_value("", timeout=EVENT_TIMEOUT_MS)
    box.fill("dog")
    box.press("Enter")
    app.wait_checked("seg-object", "Object 1 · dog")
    with app.page.expect_download(timeout=EVENT_TIMEOUT_MS) as download:
        app.press("seg-save-state")
    saved = folder / "saved_state.json"
    download.value.save_as(saved)
    assert download.value.suggested_filename.endswith(".json")
    assert json.loads(saved.read_text())["names"] == {"1": "dog"}
    app.screenshot("named")


def step_with_arrow_keys(app: AppPage) -> None:
    """→ shows the next frame, ← goes back (the page's keyboard shortcuts)."""
    shown = app.image_src("seg-frame")
    app.page.keyboard.press("ArrowRight")
    app.wait_number("seg-frame-slider", 1)
    app.wait_image_src("seg-frame", other_than=shown)
    app.page.keyboard.press("ArrowLeft")
    app.wait_number("seg-frame-slider", 0)
    app.screenshot("after_arrow_keys")


def propagate_and_check(
    app: AppPage, clip_frames: int, clicks: tuple[tuple[float, float], ...], folder: Path
) -> None:
    """Propagate live, cancel, continue: the frame view shows the run, Cancel keeps a partial result, and
    after Continue the preview has every frame, the zip a mask per frame and object, the state the clicks."""
    before = app.image_src("seg-frame")
    app.press("seg-propagate")
    app.page.wait_for_function(  # the live view: the frame being tracked, and where the run stands
        "id => /Tracking [1-9]\\d*\\/\\d+ frames/.test(document.getElementById(id).innerText)",
        arg="seg-status",
        timeout=PROPAGATION_TIMEOUT_MS,
    )
    live = app.wait_image_src("seg-frame", other_than=before, timeout_ms=PROPAGATION_TIMEOUT_MS)
    assert app.number("seg-frame-slider") > 0, "the slider follows the frame being tracked"
    assert pixels(app, live).shape[:2] == pixels(app, before).shape[:2]
    app.screenshot("propagating")
    app.press("seg-cancel")
    app.page.wait_for_function(
        "id => /Cancelled/.test(document.getElementById(id).innerText)",
        arg="seg-status",
        timeout=PROPAGATION_TIMEOUT_MS,
    )
    assert "_partial" in app.file_link("seg-masks"), "a cancelled run keeps what it tracked"
    assert "Partial" in app.text("seg-results-note")
    partial_preview = app.wait_video("seg-preview")
    assert 0 < frame_count(app, partial_preview, folder) < clip_frames
    app.screenshot("cancelled")
    app.press("seg-continue")
    preview = app.wait_video("seg-preview", other_than=partial_preview, timeout_ms=PROPAGATION_TIMEOUT_MS)
    app.screenshot("propagated")
    assert frame_count(app, preview, folder) == clip_frames
    masks_zip = zipfile.ZipFile(io.BytesIO(fetch(app, app.file_link("seg-masks"))))
    per_object = [name for name in masks_zip.namelist() if name.startswith("per_object/")]
    objects = {re.search(r"_obj_(\d+)\.png$", name).group(1) for name in per_object}
    assert len(objects) == 2 and len(per_object) == 2 * clip_frames
    state = json.loads(fetch(app, app.file_link("seg-state-file")))
    assert list(state["clicks"]) == ["0"], "both clicks were made on the first frame"
    clip_size = np.array([CLIP_WIDTH, CLIP_WIDTH * 9 / 16])  # both source clips are 16:9
    first_frame = state["clicks"]["0"]
    for obj_id, expected in zip(sorted(first_frame, key=int), clicks, strict=True):
        (point,) = first_frame[obj_id]["points"]
        assert np.abs(np.array(point) - np.array(expected) * clip_size).max() <= 2, (obj_id, point)
        assert first_frame[obj_id]["labels"] == [1]


def reload_and_check(app: AppPage, clip_frames: int, folder: Path) -> None:
    """Reload the page: the same frame, clicks, undo history, tracked masks and preview come back (the
    project the browser keeps); another browser sees none of it."""
    start = int(app.number("seg-frame-slider"))  # where the run left the view
    frame = start - 1 if start > 0 else 1
    app.page.keyboard.press("ArrowLeft" if start > 0 else "ArrowRight")
    app.wait_number("seg-frame-slider", frame)
    shown = app.wait_image_src("seg-frame", other_than=None)
    before, clicks = pixels(app, shown), saved_clicks(app)
    app.reload()
    app.wait_number("seg-frame-slider", frame, timeout_ms=PROPAGATION_TIMEOUT_MS)
    restored = app.wait_image_src("seg-frame", other_than=None, timeout_ms=PROPAGATION_TIMEOUT_MS)
    assert np.abs(pixels(app, restored).astype(int) - before).mean() < 1, "the tracked masks are drawn"
    assert frame_count(app, app.wait_video("seg-preview"), folder) == clip_frames
    assert saved_clicks(app) == clicks
    app.screenshot("reloaded")
    app.press("seg-undo")  # the undo history came back: the second object's click goes
    app.wait_number("seg-frame-slider", 0)
    undone = fresh_saved_clicks(app)
    assert len(undone["0"]) == 1, undone
    app.press("seg-redo")
    app.wait_image_src("seg-frame", other_than=None)
    other = app.page.context.browser.new_page()  # another browser profile: its own storage
    try:
        other.goto(app.page.url)
        other.locator(".gradio-container").wait_for()
        other.wait_for_timeout(1000)
        assert "Upload a video" in other.locator("#seg-info").inner_text()
    finally:
        other.close()


def fresh_saved_clicks(app: AppPage) -> dict:
    """`saved_clicks`, waiting for the new state file when the box already offers one."""
    link = app.component("seg-state-file").locator("a[href]").first
    before = link.get_attribute("href") if link.count() else None
    app.press("seg-save-state")
    app.page.wait_for_function(
        "([id, old]) => { const a = document.querySelector(`#${id} a[href]`); return a && a.href !== old; }",
        arg=["seg-state-file", before and app.page.evaluate("h => new URL(h, location.href).href", before)],
    )
    return json.loads(fetch(app, app.file_link("seg-state-file")))["clicks"]


def holdout_zip(folder: Path) -> Path:
    """A holdout mask of the example background: its right part, from x = 288."""
    mask = np.zeros(BACKGROUND_SHAPE[:2], np.uint8)
    mask[:, 288:] = 255
    path = folder / "holdout.zip"
    png = io.BytesIO()
    Image.fromarray(mask).save(png, format="PNG")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mask_00000.png", png.getvalue())
    return path


def pick_project_and_check(app: AppPage, clip_name: str, folder: Path) -> None:
    """The Compose tab chose the Segment tab's project and names its objects; masks of the user's own
    forget the project (bare ids); picking the project again takes its masks and names back."""
    from playwright.sync_api import expect

    project = app.component("cmp-project").locator("input").first
    expect(project).to_have_value(re.compile(re.escape(clip_name)), timeout=EVENT_TIMEOUT_MS)
    chosen = project.input_value()
    objects = app.component("cmp-objects")
    expect(objects.get_by_label("dog (1)", exact=True)).to_be_checked(timeout=EVENT_TIMEOUT_MS)
    expect(objects.get_by_label("Object 2", exact=True)).to_be_checked()
    served = app.file_link("cmp-masks")
    assert re.search(rf"{re.escape(Path(clip_name).stem)}_masks_v\d+\.zip$", served), served
    own = folder / "own_masks.zip"
    own.write_bytes(fetch(app, served))
    app.component("cmp-masks").get_by_label("Clear").first.click()
    app.upload("cmp-masks", own)
    expect(project).to_have_value("", timeout=EVENT_TIMEOUT_MS)
    expect(objects.get_by_label("Object 1", exact=True)).to_be_checked(timeout=EVENT_TIMEOUT_MS)
    app.screenshot("compose_own_masks")
    app.choose("cmp-project", chosen)
    expect(objects.get_by_label("dog (1)", exact=True)).to_be_checked(timeout=EVENT_TIMEOUT_MS)
    assert "_masks_v" in app.file_link("cmp-masks")
    app.screenshot("compose_project_picked")


def compose_and_check(app: AppPage, clip_frames: int, folder: Path, clip_name: str) -> None:
    """Take the Segment result over the example background: the project and its named objects, note,
    object choice, preview and render."""
    app.open_tab("Compose")
    app.wait_video("cmp-obj")  # the Segment tab's result is taken in, without pressing its button
    app.file_link("cmp-masks")
    pick_project_and_check(app, clip_name, folder)
    app.press("cmp-render")
    assert "background video" in app.wait_warning(), "rendering without a background says what to do"
    app.upload("cmp-bg", BACKGROUND)
    shown = app.wait_image_src("cmp-preview", other_than=None)
    assert pixels(app, shown).shape == BACKGROUND_SHAPE
    # several objects move as one group: the note says so and how to place each on its own
    app.page.wait_for_function(
        "id => /one group/.test(document.getElementById(id).innerText)", arg="cmp-note"
    )
    app.screenshot("compose_two_objects")

    frame_box = app.component("cmp-frame-slider").locator("input[type=number]").first
    frame_box.fill("40")
    frame_box.press("Enter")
    shown = app.wait_image_src("cmp-preview", other_than=shown)
    assert app.number("cmp-frame-slider") == 40, "a preview reply keeps the frame the user chose"

    app.component("cmp-objects").get_by_label("dog (1)", exact=True).uncheck()
    app.wait_image_src("cmp-preview", other_than=shown)
    app.page.wait_for_function(
        "id => !/one group/.test(document.getElementById(id).innerText)", arg="cmp-note"
    )
    app.screenshot("compose_one_object")

    # a holdout of the background over the right half, across the pasted object (centred): the preview
    # changes there and nowhere else (its JPEG blocks left of x = 288 are the same pixels)
    before = pixels(app, shown := app.wait_image_src("cmp-preview", other_than=None)).astype(int)
    app.upload("cmp-holdout-mask", holdout_zip(folder))
    shown = app.wait_image_src("cmp-preview", other_than=shown)
    after = pixels(app, shown).astype(int)
    assert np.abs(before[:, 288:] - after[:, 288:]).max() > 20
    assert np.abs(before[:, :272] - after[:, :272]).max() <= 2
    app.screenshot("compose_holdout")

    app.press("cmp-render")
    output = app.wait_video("cmp-output", timeout_ms=RENDER_TIMEOUT_MS)
    app.screenshot("rendered")
    # The composite lasts as long as the shorter video (no loop), at the background's frame rate.
    expected_frames = min(BACKGROUND_FRAMES, math.ceil(clip_frames / CLIP_FPS * BACKGROUND_FPS))
    assert frame_count(app, output, folder) == expected_frames


@pytest.fixture
def zerogpu_app(tmp_path: Path):
    """URL of the app with the ZeroGPU double active (every SAM 2 call in a forked worker, on one CPU
    thread there), serving the random-weights model at 64 px to keep that worker quick; and the double's
    `stop_workers`."""
    from app_support import running_app
    from sam2_support import build_random_model
    from zerogpu_support import zerogpu_spaces

    with zerogpu_spaces() as spaces:
        model = build_random_model(64)
        app_model = AppModel(model.settings, model=model)
        assert app_model.tasks.remote
        with running_app(app_model, tmp_path / "sessions") as url:
            yield url, spaces.stop_workers
        assert spaces.calls >= 3, "the clicks and the propagation ran in ZeroGPU workers"


def test_segment_then_compose_in_the_browser(app_url: str, clip: Path, tmp_path: Path) -> None:
    walk_segment_then_compose(app_url, clip, tmp_path, ARTIFACTS)


def test_segment_then_compose_in_the_browser_on_zerogpu(
    zerogpu_app: tuple[str, Callable[[], None]], clip: Path, tmp_path: Path
) -> None:
    url, stop_workers = zerogpu_app
    walk_segment_then_compose(
        url, clip, tmp_path, ARTIFACTS.with_name("browser-zerogpu"), before_closing=stop_workers
    )


def walk_segment_then_compose(
    url: str, clip: Path, tmp_path: Path, artifacts: Path, before_closing: Callable[[], None] = lambda: None
) -> None:
    """Upload, click two objects, step with the keys, propagate (cancel, continue), compose and render;
    `before_closing` runs before the browser closes."""
    clicks = CLICKS[clip.name]
    shutil.rmtree(artifacts, ignore_errors=True)  # keep only this run's screenshots
    with chromium_page(url) as page:
        app = AppPage(page, artifacts)
        try:
            assert "random weights" in app.text("seg-model-status").lower()
            clip_frames = open_clip(app, clip)
            name_undo_and_download(app, tmp_path)
            click_two_objects(app, clicks)
            step_with_arrow_keys(app)
            propagate_and_check(app, clip_frames, clicks, tmp_path)
            reload_and_check(app, clip_frames, tmp_path)
            compose_and_check(app, clip_frames, tmp_path, clip.name)
        except Exception as failure:
            app.screenshot("failed")
            messages = app.take_errors()
            (artifacts / "failure.txt").write_text(f"{failure!r}\nerror messages shown: {messages}\n")
            print("error messages shown:", messages)
            raise
        finally:
            before_closing()
        assert app.take_errors() == []


PHONE = {"width": 390, "height": 844}
SMALL_CLIP = (320, 240)  # shown enlarged three times (config.MIN_SHOWN_SIDE)


def saved_clicks(app: AppPage) -> dict:
    """The clicks of the session, as Save state writes them (the state box must be empty before)."""
    app.press("seg-save-state")
    return json.loads(fetch(app, app.file_link("seg-state-file")))["clicks"]


def test_annotator_loop_on_a_small_clip(app_url: str, tmp_path: Path) -> None:
    """A 320x240 clip shown enlarged: clicks land on their pixel; undo takes back clear and reset; a bad
    state file keeps the frame; the video box's x closes the video."""
    clip = cut_clip(EXAMPLES / "toy_car.mp4", tmp_path / "small.mp4", seconds=0.5, width=320, fps=10)
    crop = tmp_path / "small_43.mp4"  # 4:3, as a 320x240 camera gives it
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(clip), "-vf", "scale=320:240",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(crop)],
        check=True,
    )  # fmt: skip
    with chromium_page(app_url) as page:
        app = AppPage(page, ARTIFACTS / "small")
        app.upload("seg-video", crop)
        app.wait_image_src("seg-frame", other_than=None)
        natural = (
            app.component("seg-frame").locator("img").first.evaluate("i => [i.naturalWidth, i.naturalHeight]")
        )
        assert natural == [960, 720], "a 320x240 frame is shown three times larger"
        click_and_expect_change(app, (0.25, 0.5))
        ((x, y),) = saved_clicks(app)["0"]["1"]["points"]
        assert abs(x - 80) <= 1 and abs(y - 120) <= 1, (x, y)
        clicked = app.image_src("seg-frame")
        clicked_pixels = pixels(app, clicked)

        app.press("seg-clear")
        cleared = app.wait_image_src("seg-frame", other_than=clicked)
        page.keyboard.press("Control+z")
        undone = app.wait_image_src("seg-frame", other_than=cleared)
        assert np.abs(pixels(app, undone).astype(int) - clicked_pixels).mean() < 2, (
            "undo brings the click back"
        )
        app.press("seg-reset")
        reset = app.wait_image_src("seg-frame", other_than=undone)
        app.press("seg-undo")
        restored = app.wait_image_src("seg-frame", other_than=reset)
        assert np.abs(pixels(app, restored).astype(int) - clicked_pixels).mean() < 2, "reset is undone"

        broken = tmp_path / "broken.json"
        broken.write_text("{not json")
        shown = app.image_src("seg-frame")
        app.upload("seg-load-state", broken)
        assert "not valid JSON" in app.wait_warning()
        assert app.image_src("seg-frame") == shown, "a failed load keeps the frame"
        assert app.take_errors() == []
        app.screenshot("failed_load_kept_the_frame")

        app.component("seg-video").get_by_label("Clear").first.click()
        page.wait_for_function("id => !document.querySelector(`#${id} img`)", arg="seg-frame")
        assert "Upload a video" in app.text("seg-info")


CAR_BOX = ((0.665, 0.70), (0.91, 0.97))  # opposite corners of the car in toy_car.mp4, fractions of the frame
BALL_STROKE = ((0.12, 0.54), (0.14, 0.56), (0.16, 0.58))  # brush dabs across the ball


def test_box_and_brush_prompts_in_the_browser(app_url: str, tmp_path: Path) -> None:
    """Two clicks draw a box (the first corner shows alone), brush dabs paint a second object's mask
    (the line under the prompt type says what it replaces), Ctrl+Z takes back the last dab."""
    from playwright.sync_api import expect

    clip = cut_clip(EXAMPLES / "toy_car.mp4", tmp_path / "car.mp4", seconds=0.5, width=320, fps=10)
    with chromium_page(app_url) as page:
        app = AppPage(page, ARTIFACTS / "prompts")
        app.upload("seg-video", clip)
        app.wait_image_src("seg-frame", other_than=None)
        app.component("seg-point-label").get_by_label("box", exact=True).check()
        expect(app.component("seg-prompt-hint")).to_contain_text("opposite corners")
        for corner in CAR_BOX:  # the first corner's mark, then the box and its mask
            click_and_expect_change(app, corner, PROMPT_TIMEOUT_MS)
        app.press("seg-new-object")
        app.wait_checked("seg-object", "Object 2")
        app.component("seg-point-label").get_by_label("brush", exact=True).check()
        expect(app.component("seg-prompt-hint")).to_contain_text("replaces the object's clicks and box")
        for dab in BALL_STROKE:
            before_last = pixels(app, app.image_src("seg-frame"))
            click_and_expect_change(app, dab, PROMPT_TIMEOUT_MS)
        app.screenshot("box_and_brush")
        shown = app.image_src("seg-frame")
        page.keyboard.press("Control+z")
        undone = pixels(app, app.wait_image_src("seg-frame", other_than=shown, timeout_ms=PROMPT_TIMEOUT_MS))
        assert np.abs(undone.astype(int) - before_last).mean() < 2, "undo takes back the last dab"

        clicks = saved_clicks(app)["0"]
        (x0, y0), (x1, y1) = CAR_BOX
        expected = [x0 * 320, y0 * 180, x1 * 320, y1 * 180]
        assert np.abs(np.array(clicks["1"]["box"]) - expected).max() <= 1.5, clicks["1"]["box"]
        painted = CompressedRle.from_coco(clicks["2"]["mask"]).to_mask()
        assert painted.shape == (180, 320) and clicks["2"]["points"] == []
        for x, y in BALL_STROKE[:2]:  # the dabs left after the undo, each a disc of the brush size
            assert painted[round(y * 180), round(x * 320)]
        last_x, last_y = BALL_STROKE[2]  # a pixel only the undone dab covered
        assert not painted[round(last_y * 180) + 4, round(last_x * 320) + 4]
        assert app.take_errors() == []


def test_phone_layout_puts_the_frame_first(app_url: str) -> None:
    with chromium_page(app_url, viewport=PHONE) as page:
        app = AppPage(page, ARTIFACTS / "phone")
        app.component("seg-frame").wait_for()
        # gradio applies the app's CSS after the page shows: until then the columns stack unordered
        app.page.wait_for_function(
            "() => getComputedStyle(document.getElementById('seg-frame-column')).display === 'contents'"
        )
        frame_top = app.component("seg-frame").bounding_box()["y"]
        assert frame_top < app.component("seg-propagate").bounding_box()["y"]
        assert frame_top < app.component("seg-video").bounding_box()["y"] + 700
        assert not app.component("seg-preview").is_visible(), "an empty preview box is hidden"
        app.screenshot("phone_segment")


DESKTOP = {"width": 1400, "height": 1000}
TIMELINE_FRAMES, TIMELINE_CLICKED = 12, 7  # a 1 s clip at 12 frames/s, clicked on frame 7
THUMB_TOLERANCE_PX = 3


def slider_thumb_x(app: AppPage) -> float:
    """The page x of the frame slider's thumb, found in the pixels: the widest run of white columns across
    the middle of the coloured track (its rounded ends show a little white too)."""
    track = app.component("seg-frame-slider").locator("input[type=range]")
    box = track.bounding_box()
    shot = np.asarray(Image.open(io.BytesIO(track.screenshot())).convert("RGB"))
    white = shot[shot.shape[0] // 2].min(axis=1) >= 250
    runs, start = [], None
    for column, is_white in enumerate([*white, False]):
        if is_white and start is None:
            start = column
        elif not is_white and start is not None:
            runs.append((column - start, start, column))
            start = None
    width, first, stop = max(runs)
    assert 10 <= width <= 20, f"the widest white run on the track is {width} px: the thumb was not found"
    return box["x"] + (first + stop) / 2


def centre_x(locator) -> float:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2


def check_timeline_walk(app: AppPage, clip: Path) -> None:
    """A click on frame 7 puts a tick under the slider's thumb; clicking the tick from frame 0 goes back
    to frame 7; after Propagate a tracked bar runs from the tick to the end."""
    page = app.page
    app.upload("seg-video", clip)
    app.wait_image_src("seg-frame", other_than=None)
    shown = app.image_src("seg-frame")
    number = app.component("seg-frame-slider").locator("input[type=number]").first
    number.fill(str(TIMELINE_CLICKED))
    shown = app.wait_image_src("seg-frame", other_than=shown)
    click_and_expect_change(app, (0.79, 0.83), PROMPT_TIMEOUT_MS)  # the car
    tick = page.locator(f'#seg-timeline .tl-row[data-object="1"] .tl-tick[data-frame="{TIMELINE_CLICKED}"]')
    tick.wait_for()
    thumb = slider_thumb_x(app)
    assert abs(centre_x(tick) - thumb) <= THUMB_TOLERANCE_PX, (centre_x(tick), thumb)
    cursor = page.locator("#seg-timeline .tl-cursor")
    assert abs(centre_x(cursor) - thumb) <= THUMB_TOLERANCE_PX, (centre_x(cursor), thumb)
    assert tick.get_attribute("title") == f"Object 1: prompt on frame {TIMELINE_CLICKED}"

    number.fill("0")
    app.wait_number("seg-frame-slider", 0)
    page.wait_for_function(  # the cursor follows the slider to the start
        "() => document.querySelector('#seg-timeline .tl-cursor').style.left === '0%'"
    )
    assert abs(centre_x(cursor) - slider_thumb_x(app)) <= THUMB_TOLERANCE_PX
    tick.click()
    app.wait_number("seg-frame-slider", TIMELINE_CLICKED)

    app.press("seg-propagate")
    page.wait_for_function(
        "id => /Tracked/.test(document.getElementById(id).innerText)",
        arg="seg-status",
        timeout=PROPAGATION_TIMEOUT_MS,
    )
    bar = page.locator('#seg-timeline .tl-row[data-object="1"] .tl-bar')
    bar.wait_for()
    first, last = int(bar.get_attribute("data-first")), int(bar.get_attribute("data-last"))
    assert (first, last) == (TIMELINE_CLICKED, TIMELINE_FRAMES - 1), "forward from the clicked frame"
    bar_box, strip_box = bar.bounding_box(), page.locator("#seg-timeline .seg-timeline").bounding_box()
    half_frame = strip_box["width"] / (TIMELINE_FRAMES - 1) / 2  # a bar covers its frames' cells
    assert abs(bar_box["x"] - (centre_x(tick) - half_frame)) <= 1.5, (bar_box, centre_x(tick))
    assert abs(bar_box["x"] + bar_box["width"] - (strip_box["x"] + strip_box["width"])) <= 1


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_timeline_marks_prompts_under_the_slider_and_tracked_frames(
    app_url: str, tmp_path: Path, viewport: dict[str, int]
) -> None:
    clip = cut_clip(EXAMPLES / "toy_car.mp4", tmp_path / "timeline.mp4", seconds=1, width=320, fps=12)
    assert imageio_ffmpeg.count_frames_and_secs(str(clip))[0] == TIMELINE_FRAMES
    name = "desktop" if viewport is DESKTOP else "phone"
    with chromium_page(app_url, viewport=viewport) as page:
        app = AppPage(page, ARTIFACTS / f"timeline-{name}")
        try:
            check_timeline_walk(app, clip)
        finally:
            app.screenshot("timeline")
            top = app.component("seg-frame-slider").bounding_box()["y"] + page.evaluate("window.scrollY")
            page.screenshot(
                path=str(app.artifacts / "timeline_close_up.png"),
                clip={"x": 0, "y": top - 60, "width": viewport["width"], "height": 200},
                full_page=True,
            )
        assert app.take_errors() == []
