"""Browser-side pieces of the app: the Segment tab's keyboard shortcuts, a little CSS, the frame view
both tabs show and the script of the Segment tab's timeline (`TIMELINE_JS`).

`page_setup_js()` is a JavaScript function the app runs once when a page loads (`demo.load(js=...)`), so
the app looks and behaves the same however it is launched. The shortcuts are those of the original OpenCV
script (←/→ step through the frames, N adds an object, R resets, Enter propagates) plus Ctrl+Z / Ctrl+Shift+Z
(or Ctrl+Y) for undo / redo, + / - for a positive / negative point, B / P / E for a box, the brush and
the eraser, and 1-9 to choose an object. Each clicks the control it names, so a shortcut does exactly what
the control does, except ←/→: they move the frame slider at once, each press from where the last one
left it, and the app shows the latest frame asked for (the slider's `always_last` event), so quick presses
are never dropped and a held key plays through. Keys are ignored while typing in a field and while the
Segment tab is hidden.
"""

import json

import gradio as gr

# key (lower case for letters, "Ctrl+" / "Ctrl+Shift+" before it) -> [CSS selector, index of the match]
# of the control it clicks
SHORTCUTS = {
    "n": ["#seg-new-object", 0],
    "r": ["#seg-reset", 0],
    "Enter": ["#seg-propagate", 0],
    "Ctrl+z": ["#seg-undo", 0],
    "Ctrl+Shift+z": ["#seg-redo", 0],
    "Ctrl+y": ["#seg-redo", 0],
    "+": ["#seg-point-label input", 0],
    "=": ["#seg-point-label input", 0],
    "-": ["#seg-point-label input", 1],
    "b": ["#seg-point-label input", 2],
    "p": ["#seg-point-label input", 3],
    "e": ["#seg-point-label input", 4],
    **{str(number): ["#seg-object input", number - 1] for number in range(1, 10)},
}

# key -> frames it moves the Segment tab's frame slider by
FRAME_STEPS = {"ArrowLeft": -1, "ArrowRight": 1}
FRAME_RANGE = "#seg-frame-slider input[type=range]"

FILE_HEIGHT = 110  # pixels of an empty file box (both tabs)

SHORTCUTS_HELP = (
    "Keys: ←/→ previous/next frame · + / - positive/negative point · B box · P brush · E eraser · "
    "1-9 choose an object · N new object · Ctrl+Z undo · Ctrl+Shift+Z redo · R reset (undoable) · "
    "Enter propagate"
)

# Keeps the clickable frame and the composite preview within the window; lays out the object legend (an
# object off the shown frame greyed) and the status line under the frame; the timeline under the frame slider
# (rows tinted with the object's colour, tracked bars half-strength, ticks 6 px wide, darker and outlined,
# over the cursor, which is drawn in the text colour behind them with a notch above; a tick answers a
# finger 8 px around it); toasts at the bottom left, off the Compose
# preview and controls; on a phone the Segment tab shows the video box, then the frame to click and its
# controls, then the rest, and empty result boxes stay hidden; the Propagate / Cancel / Continue row
# sits right under the frame, its buttons side by side; the Compose tab shows the preview right after
# the background's upload box.
CSS = """
#seg-frame img, #cmp-preview img { object-fit: contain; width: 100%; max-height: 62vh; }
#seg-frame img { cursor: crosshair; }
.object-legend { display: flex; flex-wrap: wrap; gap: 0.3em 1.2em; padding: 0.2em 0; }
.object-legend .dot { font-size: 1.4em; line-height: 1; vertical-align: middle; }
.object-legend .absent { opacity: 0.65; }
.object-legend .absent em { font-size: 0.9em; }
#seg-status { min-height: 1.6em; font-variant-numeric: tabular-nums; }
#seg-status p { margin: 0; }
#seg-timeline { padding: 0 0 var(--size-2, 8px); background: var(--block-background-fill); }
.seg-timeline { position: relative; margin-left: var(--tl-left, 8px);
  width: var(--tl-width, calc(100% - 16px)); padding: 6px 0; cursor: pointer; touch-action: manipulation; }
.seg-timeline .tl-row { position: relative; height: 10px; margin: 3px 0; border-radius: 2px;
  background: color-mix(in srgb, var(--tl-color) 14%, transparent); }
.seg-timeline .tl-bar { position: absolute; top: 0; bottom: 0; min-width: 2px; border-radius: 2px;
  background: color-mix(in srgb, var(--tl-color) 50%, transparent); }
.seg-timeline .tl-tick { position: absolute; z-index: 2; top: -3px; bottom: -3px; width: 6px;
  transform: translateX(-50%); border-radius: 2px; background: color-mix(in srgb, var(--tl-color) 75%, black);
  box-shadow: 0 0 0 1px rgba(255, 255, 255, 0.85); }
.seg-timeline .tl-tick::before { content: ""; position: absolute; inset: -8px -8px; }
.seg-timeline .tl-cursor { position: absolute; z-index: 1; top: 0; bottom: 0; width: 2px;
  transform: translateX(-50%); background: var(--body-text-color, #1f2937); pointer-events: none; }
.seg-timeline .tl-cursor::after { content: ""; position: absolute; top: 0; left: -4px;
  border: 5px solid transparent; border-top-color: var(--body-text-color, #1f2937); }
.toast-wrap { top: auto !important; bottom: var(--size-4, 1rem); left: var(--size-3, 0.75rem) !important;
  right: auto !important; align-items: start !important; }
.drop-note { color: var(--error-text-color, #b91c1c); padding: 0.3em 0.6em; font-size: 0.9em; }
@media (max-width: 768px) {
  #seg-layout { flex-direction: column; }
  #seg-source-column, #seg-frame-column { display: contents; }
  #seg-source-column > * { order: 4; }
  #seg-source-column > #seg-video, #seg-source-column > #seg-info { order: 0; }
  #seg-frame-column > * { order: 3; }
  #seg-frame-column > #seg-frame, #seg-frame-column > #seg-stroke { order: 1; }
  #seg-frame-column > #seg-status, #seg-frame-column > #seg-results-note { order: 1; }  /* then the actions */
  #seg-source-column > #seg-run-row { order: 2; flex-wrap: nowrap; gap: var(--size-2, 8px); }
  #seg-run-row > button { min-width: 0 !important; flex: 1 1 0; }
  #cmp-layout { flex-direction: column; }
  #cmp-files-column, #cmp-result-column { display: contents; }
  #cmp-files-column > * { order: 0; }
  #cmp-result-column > *, #cmp-files-column > #cmp-bg-example { order: 2; }
  #cmp-result-column > #cmp-preview { order: 1; }
  #seg-preview:not(:has(video)), #seg-masks:not(:has(a)), #seg-exports:not(:has(a)),
  #seg-state-file:not(:has(a)) { display: none; }
}
"""

# The timeline strip under the frame slider (a `gr.HTML` `js_on_load`, run with its `element`): lines the
# strip up with the slider's track, where the thumb's centre runs (half a thumb, gradio's --size-4, in
# from either end), and moves the slider to the frame of a clicked tick, or to the frame under the pointer
# elsewhere on the strip.
TIMELINE_JS = """
const rangeInput = () => document.querySelector("#seg-frame-slider input[type=range]");
let watchedRange = null;
const align = () => {
  const range = rangeInput();
  const strip = element.querySelector(".seg-timeline");
  if (!range) return;
  if (range !== watchedRange) {
    watchedRange = range;
    new ResizeObserver(align).observe(range);
  }
  const track = range.getBoundingClientRect();
  if (!strip || !track.width) return;
  const halfThumb = (parseFloat(getComputedStyle(range).getPropertyValue("--size-4")) || 16) / 2;
  const base = strip.getBoundingClientRect().left - parseFloat(getComputedStyle(strip).marginLeft);
  element.style.setProperty("--tl-left", `${track.left + halfThumb - base}px`);
  element.style.setProperty("--tl-width", `${track.width - 2 * halfThumb}px`);
};
new ResizeObserver(align).observe(element);
new MutationObserver(align).observe(element, { childList: true });
window.addEventListener("resize", align);
element.addEventListener("click", (event) => {
  const strip = event.target.closest(".seg-timeline");
  const range = rangeInput();
  if (!strip || !range || range.disabled) return;
  const last = Math.max(Number(strip.dataset.frames) - 1, 0);
  const tick = event.target.closest(".tl-tick");
  const box = strip.getBoundingClientRect();
  const pointed = Math.round(((event.clientX - box.left) / box.width) * Math.max(last, 1));
  const frame = tick ? Number(tick.dataset.frame) : Math.min(Math.max(pointed, 0), last);
  range.value = String(frame);
  range.dispatchEvent(new Event("input", { bubbles: true }));
});
"""

# Video boxes: a dropped or chosen file that is not a video gets a sentence in the box, and is kept from
# gradio (which would show its own message, in MIME types).
VIDEO_BOXES = ("seg-video", "cmp-obj", "cmp-bg")

_PAGE_SETUP_TEMPLATE = """
() => {
  if (window.sam2GradioReady) return;
  window.sam2GradioReady = true;
  const style = document.createElement("style");
  style.textContent = %(css)s;
  document.head.appendChild(style);
  const shortcuts = %(shortcuts)s;
  const frameSteps = %(frame_steps)s;
  const frameRange = %(frame_range)s;
  const videoBoxes = %(video_boxes)s.map((id) => "#" + id).join(", ");
  const noteWrongFile = (event, files) => {
    const box = event.target.closest && event.target.closest(videoBoxes);
    if (!box || !files || !files.length) return;
    const file = files[0];
    let note = box.querySelector(".drop-note");
    if (!note) {
      note = document.createElement("div");
      note.className = "drop-note";
      box.appendChild(note);
    }
    const isVideo = file.type.startsWith("video/");
    note.textContent = isVideo ? "" :
      `${file.name} is not a video: give an MP4, MOV, WebM or AVI file with picture.`;
    if (isVideo) return;
    // gradio never sees the file, so it neither takes it nor shows its MIME-type message
    event.stopPropagation();
    event.preventDefault();
    if (event.target.value) event.target.value = "";
  };
  const dropped = (event) => noteWrongFile(event, event.dataTransfer && event.dataTransfer.files);
  document.addEventListener("drop", dropped, true);
  document.addEventListener("change", (event) => noteWrongFile(event, event.target.files), true);
  document.addEventListener("keydown", (event) => {
    if (event.altKey) return;
    const target = event.target;
    const fields = "textarea, select, [contenteditable], input:not([type=radio]):not([type=checkbox])";
    if (target.closest && target.closest(fields)) return;
    if (event.key === "Enter" && target.closest && target.closest("button, a")) return;
    const ctrl = event.ctrlKey || event.metaKey;
    const letter = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const key = (ctrl ? "Ctrl+" : "") + (ctrl && event.shiftKey ? "Shift+" : "") + letter;
    if (key in frameSteps) {
      const range = document.querySelector(frameRange);
      if (!range || range.offsetParent === null || range.disabled) return;
      event.preventDefault();
      const last = Number(range.max);
      const frame = Math.min(Math.max(Number(range.value) + frameSteps[key], Number(range.min)), last);
      if (frame === Number(range.value)) return;
      range.value = String(frame);
      range.dispatchEvent(new Event("input", { bubbles: true }));
      return;
    }
    const [selector, index] = shortcuts[key] || [null, 0];
    const control = selector && document.querySelectorAll(selector)[index];
    if (!control || control.offsetParent === null || control.disabled) return;
    event.preventDefault();
    control.click();
  });
}
"""


def page_setup_js() -> str:
    """A JavaScript function (for `demo.load(js=...)`) that adds the CSS, the shortcuts and the wrong-file
    notes of the video boxes, once per page."""
    return _PAGE_SETUP_TEMPLATE % {
        "css": json.dumps(CSS),
        "shortcuts": json.dumps(SHORTCUTS),
        "frame_steps": json.dumps(FRAME_STEPS),
        "frame_range": json.dumps(FRAME_RANGE),
        "video_boxes": json.dumps(VIDEO_BOXES),
    }


def frame_view(label: str, elem_id: str) -> gr.Image:
    """A frame shown as JPEG (small over a share link), not editable, with fullscreen and download."""
    return gr.Image(
        label=label,
        type="numpy",
        format="jpeg",
        interactive=False,
        buttons=["fullscreen", "download"],
        elem_id=elem_id,
    )
