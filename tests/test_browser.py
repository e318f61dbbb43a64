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
    assert slider_range(app, "seg-frame-slider") is None, "no video: the frame slider is disabled"
    app.upload("seg-video", clip)
    app.wait_image_src("seg-frame", other_than=None)
    wait_slider_range(app, "seg-frame-slider", clip_frames - 1)
    app.page.wait_for_function(
        "id => document.getElementById(id).innerText.includes('frames')", arg="seg-info"
    )
    assert re.search(rf"\b{clip_frames} frames", app.text("seg-info")), app.text("seg-info")
    assert app.number("seg-frame-slider") == 0
    app.screenshot("uploaded")
    return clip_frames


def slider_range(app: AppPage, elem_id: str) -> int | None:
    """The maximum of the frame slider `elem_id`, or None while it is disabled."""
    track = app.component(elem_id).locator("input[type=range]")
    return None if track.is_disabled() else int(float(track.get_attribute("max")))


def wait_slider_range(app: AppPage, elem_id: str, last: int, timeout_ms: int = EVENT_TIMEOUT_MS) -> None:
    """Wait until the frame slider `elem_id` is enabled and runs to frame `last`."""
    app.page.wait_for_function(
        "([id, last]) => { const r = document.querySelector(`#${id} input[type=range]`);"
        " return r && !r.disabled && Number(r.max) === last; }",
        arg=[elem_id, last],
        timeout=timeout_ms,
    )


def click_two_objects(app: AppPage, clicks: tuple[tuple[float, float], ...]) -> None:
    """Click the first object, add a second and click it; each click redraws the frame. The prompt type
    is left on negative before the new object, which starts with positive clicks."""
    click_and_expect_change(app, clicks[0])
    app.screenshot("first_object_clicked")
    app.component("seg-point-label").get_by_label("negative", exact=True).check()
    app.press("seg-new-object")
    app.wait_checked("seg-object", "Object 2")
    app.wait_checked("seg-point-label", "positive")
    click_and_expect_change(app, clicks[1])
    app.screenshot("second_object_clicked")


def cursor_frame(app: AppPage) -> str | None:
    """The title of the timeline's cursor ("frame 7"): the frame the server drew last."""
    cursor = app.page.locator("#seg-timeline .tl-cursor")
    return cursor.get_attribute("title") if cursor.count() else None


def wait_frame_drawn(app: AppPage, frame: int, timeout_ms: int = EVENT_TIMEOUT_MS) -> str:
    """Wait until the slider, the timeline's cursor and the frame image all show `frame`; its image URL."""
    app.wait_number("seg-frame-slider", frame, timeout_ms=timeout_ms)
    app.page.wait_for_function(
        "title => { const cursor = document.querySelector('#seg-timeline .tl-cursor');"
        " return cursor && cursor.title === title; }",
        arg=f"frame {frame}",
        timeout=timeout_ms,
    )
    return app.wait_image_src("seg-frame", other_than=None)


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
    """Ten quick → presses move ten frames and the frame shown catches up with the last one (the same
    pixels as frame 10 asked for in the number box); a held → plays through; quick ← presses come back."""
    shown = app.image_src("seg-frame")
    for _ in range(10):
        app.page.keyboard.press("ArrowRight")
    after_ten = pixels(app, wait_frame_drawn(app, 10))
    assert np.abs(after_ten.astype(int) - pixels(app, shown)).mean() > 0, "the frame shown moved"
    for _ in range(6):  # a held key: the first keydown, then repeats
        app.page.keyboard.down("ArrowRight")
    app.page.keyboard.up("ArrowRight")
    wait_frame_drawn(app, 16)
    for _ in range(16):
        app.page.keyboard.press("ArrowLeft")
    at_start = wait_frame_drawn(app, 0)
    number = app.component("seg-frame-slider").locator("input[type=number]").first
    number.fill("10")
    number.press("Enter")
    asked = pixels(app, app.wait_image_src("seg-frame", other_than=at_start))
    assert np.abs(asked.astype(int) - after_ten).mean() < 1, "the presses ended on frame 10's picture"
    number.fill("0")
    number.press("Enter")
    wait_frame_drawn(app, 0)
    app.screenshot("after_arrow_keys")


# Records every text the status line under the frame shows (window.statusLines), even briefly.
RECORD_STATUS_JS = """() => {
  window.statusLines = [];
  const status = document.getElementById("seg-status");
  const note = () => {  // the markdown's text, not gradio's progress overlay over it
    const shown = status.querySelector("[data-testid='markdown'], .prose") || status;
    const text = shown.innerText.replace(/\\s+/g, " ").trim();
    if (text && text !== window.statusLines[window.statusLines.length - 1]) window.statusLines.push(text);
  };
  new MutationObserver(note).observe(status, { childList: true, subtree: true, characterData: true });
}"""
PHASE_LINE = re.compile(
    r"(Tracking|Writing the preview|Writing the masks|Writing exports: [a-z ]+) (\d+)/(\d+) frames"
)


def status_lines(app: AppPage) -> list[str]:
    """The status line's texts since the last call."""
    return app.page.evaluate("() => window.statusLines.splice(0)")


def check_phases(lines: list[str], total: int) -> None:
    """Each phase named in `lines` counts its frames up to `total` in order, and the phases follow
    one another as a run makes them (tracking, the preview, the masks, the exports)."""
    order = ["Tracking", "Writing the preview", "Writing the masks", "Writing exports"]
    seen = [(match[1], int(match[2]), int(match[3])) for line in lines if (match := PHASE_LINE.search(line))]
    assert seen, lines
    ranks = [next(rank for rank, name in enumerate(order) if phase.startswith(name)) for phase, *_ in seen]
    assert ranks == sorted(ranks), f"phases out of order: {lines}"
    for phase in {phase for phase, *_ in seen}:
        counts = [(done, of) for name, done, of in seen if name == phase]
        assert all(of == counts[0][1] for _, of in counts) and counts[0][1] <= total, (phase, counts)
        assert [done for done, _ in counts] == sorted(done for done, _ in counts), (phase, counts)
    assert not any("Tracked every frame" in line for line in lines), lines


def check_status_under_frame(app: AppPage) -> None:
    """The status line sits right under the frame, and both fit on one screen."""
    frame, status = app.component("seg-frame").bounding_box(), app.component("seg-status").bounding_box()
    gap = status["y"] - (frame["y"] + frame["height"])
    assert -1 <= gap <= 24, f"the status line is {gap:.0f} px under the frame"
    height = app.page.viewport_size["height"]
    assert status["y"] + status["height"] - frame["y"] <= height, "the frame and its status fit one screen"


def propagate_and_check(
    app: AppPage, clip_frames: int, clicks: tuple[tuple[float, float], ...], folder: Path
) -> None:
    """Propagate live, cancel, continue: the frame view shows the run and the line under it each phase
    with frames, speed and time left; Cancel keeps a partial result and says so; Continue says where it
    resumed; after it the preview has every frame, the zip a mask per frame and object, the state the
    clicks."""
    check_status_under_frame(app)
    app.page.evaluate(RECORD_STATUS_JS)
    before = app.image_src("seg-frame")
    app.press("seg-propagate")
    app.page.wait_for_function(  # the live view: the frame being tracked, and where the run stands
        "id => /Tracking [1-9]\\d*\\/\\d+ frames · [0-9.]+ frames\\/s · .* left/.test("
        "document.getElementById(id).innerText)",
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
    kept = frame_count(app, partial_preview, folder)
    assert 0 < kept < clip_frames
    cancelled = app.text("seg-status")
    assert re.search(rf"Cancelled with {kept} frames kept", cancelled), cancelled
    check_phases(status_lines(app), clip_frames)
    app.screenshot("cancelled")
    app.press("seg-continue")
    preview = app.wait_video("seg-preview", other_than=partial_preview, timeout_ms=PROPAGATION_TIMEOUT_MS)
    app.screenshot("propagated")
    lines = status_lines(app)
    after_start = lines[next(i for i, line in enumerate(lines) if "Continuing the propagation" in line) :]
    assert not any("Cancelled" in line for line in after_start), f"stale text after Continue: {lines}"
    assert any(f"Continued from frame {kept} · Tracking" in line for line in lines), lines
    check_phases(lines, clip_frames)
    assert f"continued from frame {kept}" in app.text("seg-status")
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


def go_to_frame(app: AppPage, frame: int) -> None:
    """Type `frame` in the slider's number box and wait until it is drawn."""
    number = app.component("seg-frame-slider").locator("input[type=number]").first
    number.fill(str(frame))
    number.press("Enter")
    wait_frame_drawn(app, frame)


# The parts of an element that hide some of their content behind a scroll bar or a cut edge.
SCROLLED_PARTS_JS = """element => [...element.querySelectorAll('*')].filter(e => e.clientHeight &&
  getComputedStyle(e).overflowY !== 'visible' && e.scrollHeight > e.clientHeight + 1).map(e => e.className)"""


def write_exports_and_check(app: AppPage) -> None:
    """The exports panel opens whole (nothing clipped); two alpha formats and COCO ticked at once are
    written from the tracked masks, and the Exports box shows every file."""
    page = app.page
    page.get_by_text("Exports (besides the masks zip)").click()
    panel = app.component("seg-exports-options")
    app.component("seg-write-exports").wait_for()
    clipped = panel.evaluate(SCROLLED_PARTS_JS)
    assert clipped == [], f"parts of the exports panel scroll or are cut: {clipped}"
    panel_box = panel.bounding_box()
    for control in ("seg-export-alpha-video", "seg-export-coco", "seg-write-exports"):
        box = app.component(control).bounding_box()
        right, panel_right = box["x"] + box["width"], panel_box["x"] + panel_box["width"]
        assert panel_box["x"] <= box["x"] and right <= panel_right + 1, control
    formats = app.component("seg-export-alpha-video")
    formats.get_by_label("webm", exact=True).check()
    formats.get_by_label("mov", exact=True).check()
    app.component("seg-export-coco").get_by_label("COCO JSON (YouTube-VIS)").check()
    app.component("seg-export-edge").get_by_label("hard", exact=True).check()
    app.screenshot("exports_ticked")
    app.press("seg-write-exports")
    links = app.component("seg-exports").locator("a[href]")
    page.wait_for_function(
        "id => document.querySelectorAll(`#${id} a[href]`).length === 3", arg="seg-exports",
        timeout=RENDER_TIMEOUT_MS,
    )  # fmt: skip
    names = sorted(Path(link.get_attribute("href").split("?")[0]).suffix for link in links.all())
    assert names == [".json", ".mov", ".webm"], names
    assert app.component("seg-exports").evaluate(SCROLLED_PARTS_JS) == [], "the file list is cut"
    for link in links.all():
        link.scroll_into_view_if_needed()
        box, shown = app.component("seg-exports").bounding_box(), link.bounding_box()
        assert box["y"] <= shown["y"] and shown["y"] + shown["height"] <= box["y"] + box["height"] + 1
        middle = (shown["x"] + shown["width"] / 2, shown["y"] + shown["height"] / 2)
        on_top = page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('a')?.href", middle)
        assert on_top == link.evaluate("a => a.href"), "each export file shows, none scrolled away"
    app.screenshot("exports_written")


def reload_and_check(app: AppPage, clip_frames: int, folder: Path, clip_name: str) -> None:
    """Reload the page: the same frame, clicks, undo history, tracked masks and preview come back (the
    project the browser keeps), with the video in its box; another browser sees none of it."""
    start = int(app.number("seg-frame-slider"))  # where the run left the view
    frame = start - 1 if start > 0 else 1
    app.page.keyboard.press("ArrowLeft" if start > 0 else "ArrowRight")
    shown = wait_frame_drawn(app, frame)  # the key moves the slider at once, the picture follows
    before, clicks = pixels(app, shown), saved_clicks(app)
    app.reload()
    app.wait_number("seg-frame-slider", frame, timeout_ms=PROPAGATION_TIMEOUT_MS)
    restored = app.wait_image_src("seg-frame", other_than=None, timeout_ms=PROPAGATION_TIMEOUT_MS)
    in_box = app.wait_video("seg-video")  # the video box shows the project's video, as uploaded
    assert in_box.split("?")[0].endswith(f"/{clip_name}"), in_box
    app.page.wait_for_timeout(1000)  # the box's change event, had it opened the video again, is done
    assert app.number("seg-frame-slider") == frame, "the video in the box did not open a new project"
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


# Samples the Compose preview every animation frame until `previewWatch.stop`: `counts` is [samples, and
# the moments it showed no picture or a loading cover over it].
WATCH_PREVIEW_JS = """() => {
  const watch = { stop: false, counts: [0, []] };
  window.previewWatch = watch;
  const sample = () => {
    if (watch.stop) return;
    const img = document.querySelector("#cmp-preview img");
    const box = document.querySelector("#cmp-preview");
    const tracker = box.querySelector("[data-testid=status-tracker]");
    watch.counts[0] += 1;
    // an <img> loading its next src keeps showing the last picture: only a missing or broken one is blank
    if (!img || (img.complete && !img.naturalWidth)) watch.counts[1].push("no picture");
    else if (tracker && !tracker.classList.contains("hide")) {
      const style = getComputedStyle(tracker), area = tracker.getBoundingClientRect();
      const opaque = style.backgroundColor !== "rgba(0, 0, 0, 0)" && style.opacity !== "0";
      if (opaque && area.height > img.getBoundingClientRect().height / 2)
        watch.counts[1].push(`covered: ${tracker.className}`);
    }
    requestAnimationFrame(sample);
  };
  requestAnimationFrame(sample);
}"""


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
    assert slider_range(app, "cmp-frame-slider") is None, "no background: the frame slider is disabled"
    app.upload("cmp-bg", BACKGROUND)
    shown = app.wait_image_src("cmp-preview", other_than=None)
    # The composite lasts as long as the shorter video (no loop), at the background's frame rate.
    expected_frames = min(BACKGROUND_FRAMES, math.ceil(clip_frames / CLIP_FPS * BACKGROUND_FPS))
    wait_slider_range(app, "cmp-frame-slider", expected_frames - 1)
    assert pixels(app, shown).shape == BACKGROUND_SHAPE
    # several objects move as one group: the note says so and how to place each on its own
    app.page.wait_for_function(
        "id => /one group/.test(document.getElementById(id).innerText)", arg="cmp-note"
    )
    app.screenshot("compose_two_objects")

    frame_box = app.component("cmp-frame-slider").locator("input[type=number]").first
    app.page.evaluate(WATCH_PREVIEW_JS)
    for frame in ("39", "40"):  # chained updates: the picture stays until the next one is ready
        frame_box.fill(frame)
        frame_box.press("Enter")
    shown = app.wait_image_src("cmp-preview", other_than=shown)
    assert app.number("cmp-frame-slider") == 40, "a preview reply keeps the frame the user chose"
    app.page.wait_for_timeout(300)
    samples, blank = app.page.evaluate("() => { previewWatch.stop = true; return previewWatch.counts; }")
    assert samples > 0 and blank == [], f"the preview went blank or was covered: {blank[:5]}"

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
    assert frame_count(app, output, folder) == expected_frames

    app.press("cmp-snapshot")
    app.file_link("cmp-snapshot-file")
    app.press("cmp-cancel")  # Cancel says so, and takes the composite and snapshot of before away
    app.page.wait_for_function(
        "id => /Cancelled/.test(document.getElementById(id).innerText)", arg="cmp-note"
    )
    assert app.video_src("cmp-output") is None
    assert app.component("cmp-snapshot-file").locator("a[href]").count() == 0
    app.screenshot("compose_cancelled")


def test_a_holdout_clicked_on_the_background_goes_in_front_of_the_pasted_object(
    app_url: str, tmp_path: Path
) -> None:
    """Compose without the Segment tab: an object video and its mask, a background; a holdout clicked on
    the background's frame (the random model's mask is not empty) changes the preview where the object
    is pasted, and the render (which tracks the holdout through the background first) finishes."""
    obj = cut_clip(EXAMPLES / "toy_car.mp4", tmp_path / "object.mp4", seconds=0.5, width=320, fps=30)
    background = cut_clip(BACKGROUND, tmp_path / "background.mp4", seconds=0.5, width=320, fps=30)
    frames = imageio_ffmpeg.count_frames_and_secs(str(background))[0]
    mask = np.zeros((180, 320), np.uint8)
    mask[40:140, 100:220] = 255  # the object: a box in the middle of its video
    png = io.BytesIO()
    Image.fromarray(mask).save(png, format="PNG")
    masks = tmp_path / "masks.zip"
    with zipfile.ZipFile(masks, "w") as archive:
        archive.writestr("mask_00000.png", png.getvalue())
    artifacts = ARTIFACTS.with_name("browser-holdouts")
    shutil.rmtree(artifacts, ignore_errors=True)
    with chromium_page(app_url) as page:
        app = AppPage(page, artifacts)
        app.open_tab("Compose")
        app.upload("cmp-obj", obj)
        app.upload("cmp-masks", masks)
        app.file_link("cmp-masks")
        app.upload("cmp-bg", background)
        shown = app.wait_image_src("cmp-preview", other_than=None)
        page.get_by_text("Holdouts: background objects in front").click()
        frame = app.wait_image_src("cmp-holdout-frame", other_than=None)
        page.wait_for_timeout(1000)  # let any preview still coming in for the uploads arrive
        shown = app.image_src("cmp-preview")
        before = pixels(app, shown).astype(int)
        app.screenshot("holdout_before")

        app.click_image("cmp-holdout-frame", 0.5, 0.5)  # where the object is pasted (centred)
        app.wait_image_src("cmp-holdout-frame", other_than=frame, timeout_ms=PROMPT_TIMEOUT_MS)
        assert "holdout 1" in app.text("cmp-holdout-note")
        after = pixels(app, app.wait_image_src("cmp-preview", other_than=shown)).astype(int)
        changed = np.abs(after - before).max(axis=2) > 30
        assert changed.mean() > 0.01, f"only {changed.mean():.2%} of the preview changed after the click"
        app.screenshot("holdout_after")

        app.press("cmp-render")
        output = app.wait_video("cmp-output", timeout_ms=PROPAGATION_TIMEOUT_MS)
        app.screenshot("holdout_rendered")
        assert frame_count(app, output, tmp_path) == frames
        assert app.take_errors() == []


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
    with chromium_page(url, viewport=DESKTOP) as page:
        app = AppPage(page, artifacts)
        try:
            assert "random weights" in app.text("seg-model-status").lower()
            clip_frames = open_clip(app, clip)
            name_undo_and_download(app, tmp_path)
            click_two_objects(app, clicks)
            step_with_arrow_keys(app)
            propagate_and_check(app, clip_frames, clicks, tmp_path)
            write_exports_and_check(app)
            reload_and_check(app, clip_frames, tmp_path, clip.name)
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
DESKTOP = {"width": 1400, "height": 1000}
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
    notes, sound = tmp_path / "notes.txt", tmp_path / "sound_only.mp4"
    notes.write_text("not a video")
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1",
         "-c:a", "aac", str(sound)],
        check=True,
    )  # fmt: skip
    with chromium_page(app_url, viewport=DESKTOP) as page:
        app = AppPage(page, ARTIFACTS / "small")
        check_refused_uploads(app, crop, notes, sound)
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


def check_refused_uploads(app: AppPage, video: Path, notes: Path, sound: Path) -> None:
    """A text file gets a sentence in the box and never reaches gradio (no MIME-type message); a sound-only
    MP4 is refused in words and leaves the box, ready for the next file; then `video` is opened."""
    from playwright.sync_api import expect

    box = app.component("seg-video")
    app.upload("seg-video", notes)
    expect(box.locator(".drop-note")).to_have_text(re.compile("notes.txt is not a video"))
    app.upload("seg-video", sound)
    warnings = app.wait_warning()  # every warning so far: the text file's would be among them
    assert "no video stream" in warnings, "the refusal says what is wrong"
    assert "video/" not in warnings and "Invalid file type" not in warnings, warnings
    expect(box.locator("video")).to_have_count(0)  # the refused file left the box
    assert "Upload a video" in app.text("seg-info")
    app.screenshot("refused_upload")
    app.dismiss_messages()  # a warning shown while this one still is joins its toast, unseen as a new one
    app.upload("seg-video", video)
    app.wait_image_src("seg-frame", other_than=None)
    expect(app.component("seg-info")).to_contain_text("320×240")


CAR_BOX = ((0.665, 0.70), (0.91, 0.97))  # opposite corners of the car in toy_car.mp4, fractions of the frame
BALL_STROKE_Y, BALL_STROKE_X = 0.55, (0.06, 0.22)  # a horizontal drag across the ball, fractions of the frame
CUT_X = 0.14  # a vertical eraser drag across that stroke


def drag_on_frame(app: AppPage, points: list[tuple[float, float]]) -> None:
    """Press on the Segment frame at the first of `points` (fractions of the frame), move through the
    others in small steps and release at the last."""
    image = app.component("seg-frame").locator("img").first
    image.evaluate("img => img.scrollIntoView({ block: 'center' })")  # the mouse acts in the viewport
    box = image.bounding_box()
    natural = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    fit = min(box["width"] / natural[0], box["height"] / natural[1])
    left = box["x"] + (box["width"] - natural[0] * fit) / 2
    top = box["y"] + (box["height"] - natural[1] * fit) / 2
    at = [(left + x * natural[0] * fit, top + y * natural[1] * fit) for x, y in points]
    mouse = app.page.mouse
    mouse.move(*at[0])
    mouse.down()
    for point in at[1:]:
        mouse.move(*point, steps=12)
    mouse.up()


def painted_mask(app: AppPage, obj_id: str) -> np.ndarray:
    """The mask prompt of `obj_id` on frame 0, from a fresh Save state."""
    return CompressedRle.from_coco(fresh_saved_clicks(app)["0"][obj_id]["mask"]).to_mask()


def test_box_and_brush_prompts_in_the_browser(app_url: str, tmp_path: Path) -> None:
    """Two clicks draw a box (the first corner shows alone); the brush starts at 2% of the video's shorter
    side, shows its size as a circle under the pointer and paints a dragged stroke of its width as one
    undo step; the eraser cuts a stroke out; *Absent here* gives an object an empty mask."""
    from playwright.sync_api import expect

    clip = cut_clip(EXAMPLES / "toy_car.mp4", tmp_path / "car.mp4", seconds=0.5, width=320, fps=10)
    with chromium_page(app_url, viewport=DESKTOP) as page:
        app = AppPage(page, ARTIFACTS / "prompts")
        app.upload("seg-video", clip)
        app.wait_image_src("seg-frame", other_than=None)
        app.component("seg-point-label").get_by_label("box", exact=True).check()
        expect(app.component("seg-prompt-hint")).to_contain_text("opposite corners")
        for corner in CAR_BOX:  # the first corner's mark, then the box and its mask
            click_and_expect_change(app, corner, PROMPT_TIMEOUT_MS)
        app.press("seg-new-object")
        app.wait_checked("seg-object", "Object 2")
        app.wait_number("seg-brush-size", 4)  # 2% of 180 px, rounded
        app.component("seg-point-label").get_by_label("brush", exact=True).check()
        expect(app.component("seg-prompt-hint")).to_contain_text("replaces the object's clicks and box")

        image = app.component("seg-frame").locator("img").first
        image.evaluate("img => img.scrollIntoView({ block: 'center' })")
        box = image.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=4)
        ring = page.locator("#seg-brush-ring")
        expect(ring).to_be_visible()
        natural_width = image.evaluate("img => img.naturalWidth")  # 960: the 320 px frame shown 3x
        shown_fit = min(box["width"] / natural_width, box["height"] / (natural_width * 9 / 16))
        expected_ring = 2 * 4 * 3 * shown_fit
        assert abs(ring.bounding_box()["width"] - expected_ring) <= 1.5, (ring.bounding_box(), expected_ring)

        before = app.image_src("seg-frame")
        (x0, x1), y = BALL_STROKE_X, BALL_STROKE_Y
        drag_on_frame(app, [(x0, y), ((x0 + x1) / 2, y), (x1, y)])
        stroked = app.wait_image_src("seg-frame", other_than=before, timeout_ms=PROMPT_TIMEOUT_MS)
        app.screenshot("brush_stroke")
        painted = painted_mask(app, "2")
        row = round(y * 180)
        columns = np.flatnonzero(painted[row])
        assert columns.min() <= round(x0 * 320) - 3 and columns.max() >= round(x1 * 320) + 3
        assert len(columns) == columns.max() - columns.min() + 1, "one continuous stroke, no gaps"
        middle = round((x0 + x1) / 2 * 320)
        band = np.flatnonzero(painted[:, middle])
        assert 8 <= len(band) <= 9 and len(band) == band.max() - band.min() + 1, band  # 2 x radius 4
        assert abs(band.mean() - y * 180) <= 1.5

        page.keyboard.press("Control+z")  # the whole stroke is one step
        undone = app.wait_image_src("seg-frame", other_than=stroked, timeout_ms=PROMPT_TIMEOUT_MS)
        assert "2" not in fresh_saved_clicks(app).get("0", {})
        page.keyboard.press("Control+Shift+z")
        app.wait_image_src("seg-frame", other_than=undone, timeout_ms=PROMPT_TIMEOUT_MS)

        app.component("seg-point-label").get_by_label("erase", exact=True).check()
        shown = app.image_src("seg-frame")
        drag_on_frame(app, [(CUT_X, y - 0.1), (CUT_X, y + 0.1)])
        app.wait_image_src("seg-frame", other_than=shown, timeout_ms=PROMPT_TIMEOUT_MS)
        cut = painted_mask(app, "2")
        cut_column = round(CUT_X * 320)
        assert not cut[row, cut_column - 2 : cut_column + 3].any(), "the eraser cut across the stroke"
        assert cut[row, cut_column - 12] and cut[row, cut_column + 12]

        app.component("seg-object").get_by_label("Object 1", exact=True).check()
        shown = app.image_src("seg-frame")
        app.press("seg-absent")
        app.wait_image_src("seg-frame", other_than=shown, timeout_ms=PROMPT_TIMEOUT_MS)
        absent = fresh_saved_clicks(app)["0"]["1"]
        assert "box" not in absent and CompressedRle.from_coco(absent["mask"]).to_mask().sum() == 0
        app.screenshot("absent_here")
        assert app.take_errors() == []


@pytest.fixture
def absent_app_url(tmp_path: Path):
    """URL of the app serving the random-weights model at 64 px, its object-score head saying "absent" on
    every frame: every mask it predicts or tracks is empty."""
    from app_support import running_app
    from sam2_support import build_random_model

    model = build_random_model(64, present=False)
    with running_app(AppModel(model.settings, model=model), tmp_path / "sessions") as url:
        yield url


def legend_marks(app: AppPage) -> dict[int, bool]:
    """Per object of the legend, whether it is marked "not on this frame"."""
    entries = app.page.locator("#seg-legend [data-object]")
    return {
        int(entry.get_attribute("data-object")): "not on this frame" in entry.inner_text()
        for entry in entries.all()
    }


def test_the_legend_marks_an_object_off_the_frame(absent_app_url: str, tmp_path: Path) -> None:
    """A model that finds no object: the clicked object is "not on this frame" where it was clicked; on a
    frame nothing has looked at yet it is not marked; once tracked there, it is."""
    clip = cut_clip(EXAMPLES / "toy_car.mp4", tmp_path / "car.mp4", seconds=0.5, width=320, fps=10)
    with chromium_page(absent_app_url, viewport=DESKTOP) as page:
        app = AppPage(page, ARTIFACTS / "absent")
        app.upload("seg-video", clip)
        app.wait_image_src("seg-frame", other_than=None)
        assert legend_marks(app) == {1: False}
        app.click_image("seg-frame", 0.79, 0.83)
        app.page.locator('#seg-legend .absent[data-object="1"]').wait_for(timeout=PROMPT_TIMEOUT_MS)
        app.screenshot("clicked_nothing_found")
        go_to_frame(app, 2)
        app.page.locator("#seg-legend .absent").wait_for(state="detached")
        assert legend_marks(app) == {1: False}, "an untracked frame says nothing of the object"
        app.press("seg-propagate")
        app.page.wait_for_function(
            "id => /Tracked/.test(document.getElementById(id).innerText)",
            arg="seg-status",
            timeout=PROPAGATION_TIMEOUT_MS,
        )
        app.page.locator('#seg-legend .absent[data-object="1"]').wait_for()
        assert legend_marks(app) == {1: True}
        app.screenshot("tracked_nothing_found")
        assert app.take_errors() == []


def test_phone_layout_puts_the_frame_first(app_url: str, tmp_path: Path) -> None:
    """On a phone: Compose without a result says what to do first and shows its preview right after the
    background's box; the Segment tab shows the video box, the frame, then Propagate / Cancel / Continue
    side by side within one screen of the frame's top."""
    from playwright.sync_api import expect

    clip = cut_clip(EXAMPLES / "toy_car.mp4", tmp_path / "phone.mp4", seconds=0.5, width=320, fps=10)
    with chromium_page(app_url, viewport=PHONE) as page:
        app = AppPage(page, ARTIFACTS / "phone")
        app.component("seg-frame").wait_for()
        # gradio applies the app's CSS after the page shows: until then the columns stack unordered
        app.page.wait_for_function(
            "() => getComputedStyle(document.getElementById('seg-frame-column')).display === 'contents'"
        )
        assert not app.component("seg-preview").is_visible(), "an empty preview box is hidden"

        app.open_tab("Compose")
        expect(app.component("cmp-note")).to_contain_text("Nothing to compose yet")
        assert "Propagate" in app.text("cmp-note") and "Segment tab" in app.text("cmp-note")
        background = app.component("cmp-bg").bounding_box()
        preview = app.component("cmp-preview").bounding_box()
        example = app.component("cmp-bg-example").bounding_box()
        assert background["y"] + background["height"] <= preview["y"] < example["y"], (background, preview)
        app.screenshot("phone_compose")

        app.open_tab("Segment")
        app.upload("seg-video", clip)
        app.wait_image_src("seg-frame", other_than=None)
        frame = app.component("seg-frame").bounding_box()
        actions = ("seg-propagate", "seg-cancel", "seg-continue")
        buttons = [app.component(name).bounding_box() for name in actions]
        assert frame["y"] < app.component("seg-video").bounding_box()["y"] + 700
        for button in buttons:
            assert button["y"] >= frame["y"] + frame["height"], "the actions come under the frame"
            assert button["y"] + button["height"] - frame["y"] <= PHONE["height"], "within one screen"
            assert abs(button["y"] - buttons[0]["y"]) <= 1, "one compact row"
        app.screenshot("phone_segment")


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


def tap(app: AppPage, x: float, y: float) -> None:
    """A finger's tap at page point (x, y) on a touch screen, else a mouse click."""
    if app.page.evaluate("() => navigator.maxTouchPoints > 0"):
        app.page.touchscreen.tap(x, y)
    else:
        app.page.mouse.click(x, y)


def check_status_follows_the_video(app: AppPage, clip: Path, again: Path) -> None:
    """No video: the frame slider is disabled. With one it runs over the video's frames; the line under
    the frame sits above the actions; a failed Propagate's text and error badge go with a new upload."""
    assert slider_range(app, "seg-frame-slider") is None
    app.upload("seg-video", clip)
    app.wait_image_src("seg-frame", other_than=None)
    wait_slider_range(app, "seg-frame-slider", TIMELINE_FRAMES - 1)
    check_status_under_frame(app)
    status, actions = (
        app.component("seg-status").bounding_box(),
        app.component("seg-propagate").bounding_box(),
    )
    assert status["y"] + status["height"] <= actions["y"], "the status line is above the actions"
    app.press("seg-propagate")  # nothing clicked yet: it fails
    assert "Click on an object first" in app.wait_error()
    badge = app.component("seg-status").locator("span.error")
    badge.wait_for()
    app.screenshot("failed_propagate")
    app.component("seg-video").get_by_label("Clear").first.click()  # the video box's x, then a new video
    app.page.wait_for_function("id => !document.querySelector(`#${id} img`)", arg="seg-frame")
    app.upload("seg-video", again)
    app.wait_image_src("seg-frame", other_than=None)
    badge.wait_for(state="detached")
    app.page.wait_for_function("() => !document.getElementById('seg-status').innerText.trim()")
    wait_slider_range(app, "seg-frame-slider", TIMELINE_FRAMES - 1)


def check_timeline_walk(app: AppPage, clip: Path, again: Path) -> None:
    """A click on frame 7 puts a tick (at least 6 px wide) under the slider's thumb, over the cursor; a
    finger a few pixels off the tick takes frame 0 back to frame 7; after Propagate a tracked bar runs
    from the tick to the end."""
    page = app.page
    check_status_follows_the_video(app, clip, again)
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
    box = tick.bounding_box()
    assert box["width"] >= 6, f"a tick is {box['width']:.1f} px wide"
    on_top = page.evaluate(  # the cursor is on the tick's frame: what a pointer at the tick's centre finds
        "([x, y]) => document.elementFromPoint(x, y).closest('.tl-tick, .tl-cursor')?.className",
        [centre_x(tick), box["y"] + box["height"] / 2],
    )
    assert on_top == "tl-tick", f"the cursor hides the tick ({on_top} on top)"

    number.fill("0")
    app.wait_number("seg-frame-slider", 0)
    page.wait_for_function(  # the cursor follows the slider to the start
        "() => document.querySelector('#seg-timeline .tl-cursor').style.left === '0%'"
    )
    assert abs(centre_x(cursor) - slider_thumb_x(app)) <= THUMB_TOLERANCE_PX
    box = tick.bounding_box()
    tap(app, centre_x(tick) + 7, box["y"] + box["height"] / 2 + 5)  # a finger lands a little off the tick
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
    again = shutil.copyfile(clip, tmp_path / "timeline_again.mp4")
    name = "desktop" if viewport is DESKTOP else "phone"
    with chromium_page(app_url, viewport=viewport, touch=viewport is PHONE) as page:
        app = AppPage(page, ARTIFACTS / f"timeline-{name}")
        try:
            check_timeline_walk(app, clip, again)
        finally:
            app.screenshot("timeline")
            top = app.component("seg-frame-slider").bounding_box()["y"] + page.evaluate("window.scrollY")
            page.screenshot(
                path=str(app.artifacts / "timeline_close_up.png"),
                clip={"x": 0, "y": top - 60, "width": viewport["width"], "height": 200},
                full_page=True,
            )
        assert app.take_errors() == []
