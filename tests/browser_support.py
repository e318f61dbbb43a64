"""Drive the app in Debian's Chromium through Playwright: launch, and find gradio components by elem_id.

Used by `tests/test_browser.py` and `examples/make_screenshots.py`. Playwright cannot download its own
browsers here, so it runs the system `chromium` (installed by the bootstrap through apt-get).
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import imageio_ffmpeg

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CHROMIUM_NAMES = ("chromium", "chromium-browser")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 900}
EVENT_TIMEOUT_MS = 30_000  # a click, an upload or a preview
# Records the text of every error toast (how gradio shows a raised gr.Error) and warning toast (how the
# app shows a refused input while keeping the page as it was), even one already gone.
RECORD_ERRORS_JS = """() => {
  window.appErrors = [];
  window.appWarnings = [];
  new MutationObserver(() => {
    for (const toast of document.querySelectorAll(".toast-body:not([data-recorded])")) {
      toast.dataset.recorded = "1";
      const text = toast.innerText.replace(/\\s+/g, " ").trim();
      if (toast.classList.contains("error")) window.appErrors.push(text);
      if (toast.classList.contains("warning")) window.appWarnings.push(text);
    }
  }).observe(document.body, { childList: true, subtree: true });
}"""


def find_chromium() -> str | None:
    """Path of the system Chromium, or None when it is not installed."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here (Playwright or Chromium missing), or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (it comes with `python3 tests/run.py`)"
    if find_chromium() is None:
        return "Chromium is not installed (`apt-get install -y chromium`)"
    return None


@contextlib.contextmanager
def chromium_page(url: str, viewport: dict[str, int] | None = None, *, touch: bool = False) -> Iterator[Page]:
    """A fresh Chromium page at `url` (`viewport`, by default 1280x900; with `touch`, a touch screen as a
    phone's, for `page.touchscreen.tap`), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport=viewport or VIEWPORT, has_touch=touch)
            page.set_default_timeout(EVENT_TIMEOUT_MS)
            page.goto(url)
            page.locator(".gradio-container").wait_for()
            yield page
        finally:
            browser.close()


def cut_clip(source: Path, destination: Path, *, seconds: float, width: int, fps: int) -> Path:
    """The first `seconds` of `source` at `width` pixels wide and `fps` frames/s, H.264 mp4 without audio."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), "-t", f"{seconds}"]
    command += ["-vf", f"scale={width}:-2,fps={fps}", "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p"]
    subprocess.run([*command, str(destination)], check=True)
    return destination


class AppPage:
    """The app in a browser page, its components named by elem_id; can screenshot every step."""

    def __init__(self, page: Page, artifacts: Path | None = None) -> None:
        self.page = page  # the Playwright page showing the app
        self.artifacts = artifacts  # folder for screenshots (None: none are taken)
        self._shots = 0  # screenshots taken, numbers the files
        page.evaluate(RECORD_ERRORS_JS)
        if artifacts is not None:
            artifacts.mkdir(parents=True, exist_ok=True)

    def component(self, elem_id: str) -> Locator:
        """The Playwright locator of the component with `elem_id`."""
        return self.page.locator(f"#{elem_id}")

    def upload(self, elem_id: str, path: Path) -> None:
        """Upload `path` through the component `elem_id`: a file, video or image box, or an upload button."""
        component = self.component(elem_id)
        if component.evaluate("element => element.tagName") == "BUTTON":
            with self.page.expect_file_chooser() as chooser:
                component.click()
            chooser.value.set_files(str(path))
        else:
            component.locator("input[type=file]").set_input_files(str(path))

    def press(self, elem_id: str) -> None:
        """Click the button `elem_id`."""
        self.component(elem_id).click()

    def choose(self, elem_id: str, option: str) -> None:
        """Pick `option` in the dropdown `elem_id`."""
        self.component(elem_id).locator("input").first.click()
        self.page.get_by_role("option", name=option, exact=True).click()

    def file_link(self, elem_id: str, timeout_ms: int = EVENT_TIMEOUT_MS) -> str:
        """Wait until the file component `elem_id` offers a download; return its URL."""
        link = self.component(elem_id).locator("a[href]").first
        link.wait_for(timeout=timeout_ms)
        return link.get_attribute("href")

    def wait_checked(self, elem_id: str, label: str, timeout_ms: int = EVENT_TIMEOUT_MS) -> None:
        """Wait until the radio button or checkbox labelled `label` inside `elem_id` is checked."""
        from playwright.sync_api import expect

        expect(self.component(elem_id).get_by_label(label, exact=True)).to_be_checked(timeout=timeout_ms)

    def open_tab(self, label: str) -> None:
        """Switch to the tab labelled `label`."""
        self.page.get_by_role("tab", name=label).click()

    def image_src(self, elem_id: str) -> str | None:
        """The `src` of the image shown by the component `elem_id`, or None when it shows none."""
        image = self.component(elem_id).locator("img")
        return image.first.get_attribute("src") if image.count() else None

    def wait_image_src(self, elem_id: str, other_than: str | None, timeout_ms: int = EVENT_TIMEOUT_MS) -> str:
        """Wait until the component `elem_id` shows an image whose `src` differs from `other_than`."""
        self.page.wait_for_function(
            "([id, old]) => { const img = document.querySelector(`#${id} img`);"
            " return img && img.src && img.src !== old && img.complete && img.naturalWidth > 0; }",
            arg=[elem_id, other_than],
            timeout=timeout_ms,
        )
        return self.image_src(elem_id)

    def click_image(self, elem_id: str, x: float, y: float) -> None:
        """Click the image of `elem_id` at a fraction (`x`, `y`) of its displayed picture.

        The picture is letterboxed inside its `<img>` box (`object-fit: contain`), so the fractions are
        mapped through the image's natural aspect ratio.
        """
        image = self.component(elem_id).locator("img").first
        box = image.bounding_box()
        natural = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        scale = min(box["width"] / natural[0], box["height"] / natural[1])
        shown_width, shown_height = natural[0] * scale, natural[1] * scale
        left = (box["width"] - shown_width) / 2
        top = (box["height"] - shown_height) / 2
        image.click(position={"x": left + x * shown_width, "y": top + y * shown_height})

    def video_src(self, elem_id: str) -> str | None:
        """The `src` of the `<video>` in the component `elem_id`, or None when it has none."""
        video = self.component(elem_id).locator("video")
        return video.first.get_attribute("src") if video.count() else None

    def wait_video(
        self, elem_id: str, other_than: str | None = None, timeout_ms: int = EVENT_TIMEOUT_MS
    ) -> str:
        """Wait until the component `elem_id` plays a video whose `src` differs from `other_than`."""
        self.page.wait_for_function(
            "([id, old]) => { const video = document.querySelector(`#${id} video`);"
            " return video && video.src && video.src !== old && video.readyState >= 1; }",
            arg=[elem_id, other_than],
            timeout=timeout_ms,
        )
        return self.video_src(elem_id)

    def number(self, elem_id: str) -> float:
        """The value of the number box of the slider or number component `elem_id`."""
        return float(self.component(elem_id).locator("input[type=number]").first.input_value())

    def wait_number(self, elem_id: str, value: float, timeout_ms: int = EVENT_TIMEOUT_MS) -> None:
        """Wait until the slider or number `elem_id` holds `value`."""
        self.page.wait_for_function(
            "([id, value]) => { const box = document.querySelector(`#${id} input[type=number]`);"
            " return box && Number(box.value) === value; }",
            arg=[elem_id, value],
            timeout=timeout_ms,
        )

    def text(self, elem_id: str) -> str:
        """The visible text of the component `elem_id` (a textbox's value, or its rendered text)."""
        field = self.component(elem_id).locator("textarea, input[type=text]")
        return field.first.input_value() if field.count() else self.component(elem_id).inner_text()

    def reload(self) -> None:
        """Reload the page (as a user's F5) and record its toasts again."""
        self.page.reload()
        self.page.locator(".gradio-container").wait_for()
        self.page.evaluate(RECORD_ERRORS_JS)

    def take_errors(self) -> list[str]:
        """The messages of the error toasts shown since the last call (or since this object was made)."""
        return self.page.evaluate("() => window.appErrors.splice(0)")

    def wait_error(self, timeout_ms: int = EVENT_TIMEOUT_MS) -> str:
        """Wait for an error toast; return its message (taking every message shown so far)."""
        self.page.wait_for_function("() => window.appErrors.length > 0", timeout=timeout_ms)
        return " ".join(self.take_errors())

    def wait_warning(self, timeout_ms: int = EVENT_TIMEOUT_MS) -> str:
        """Wait for a warning toast; return its message (taking every warning shown so far)."""
        self.page.wait_for_function("() => window.appWarnings.length > 0", timeout=timeout_ms)
        return " ".join(self.page.evaluate("() => window.appWarnings.splice(0)"))

    def dismiss_messages(self) -> None:
        """Close every info, warning and error toast, so they hide nothing in a screenshot."""
        for close in self.page.locator(".toast-close").all():
            if close.is_visible():
                close.click()
        self.page.locator(".toast-body").first.wait_for(state="detached")

    def screenshot(self, name: str) -> Path | None:
        """Save the whole page as `NN_name.png` in the artifacts folder (if any); return its path."""
        if self.artifacts is None:
            return None
        self._shots += 1
        path = self.artifacts / f"{self._shots:02d}_{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path
