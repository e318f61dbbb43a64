"""The Segment tab's brush in the page: strokes drawn with pointer events on the frame.

`BRUSH_JS` is the `js_on_load` of a small `gr.HTML` (`stroke_box`). While the prompt type is *brush* or
*erase*, a press on the frame starts a stroke; every pointer move (with the browser's coalesced moves, so
a fast drag stays smooth) adds a point, drawn at once on a canvas laid over the frame at the frame's own
resolution; the release sends the whole polyline in one `stroke` event (the component's value:
``{"scale": s, "points": [[x, y], ...]}`` in pixels of the shown frame) and the server paints it
(`segment_actions.stroke`, one undo step). A circle of the brush's size follows the pointer over the
frame. The live canvas stays until the redrawn frame has loaded, so the stroke never blinks out.

The server sets the value to ``{"scale": s}`` when a video opens: `s` is the factor the frame is shown
enlarged by (`segment_actions.shown_scale`), which turns the brush size (video pixels) into shown pixels.
Gradio's `ImageEditor` was the other way: it uploads the whole painted layer as an image per change
(README, "Brush strokes"), where this sends a few bytes per point.
"""

from __future__ import annotations

import json

import gradio as gr

BRUSH_KINDS = ("brush", "erase")  # the prompt types a press-and-drag on the frame paints with

BRUSH_JS = """
const kinds = __KINDS__;
const shownScale = () => {
  try { return Number(JSON.parse(props.value || "{}").scale) || 1; } catch (error) { return 1; }
};
const style = document.createElement("style");
style.textContent = `
  body.seg-brushing #seg-frame img { touch-action: none; cursor: none; }
  .seg-brush-ring { position: fixed; pointer-events: none; border-radius: 50%; z-index: 1000;
    box-sizing: border-box;
    border: 2px solid #fff; box-shadow: 0 0 0 1px #000, inset 0 0 0 1px #000; display: none; }
  .seg-brush-canvas { position: fixed; pointer-events: none; z-index: 999; }`;
document.head.appendChild(style);
const ring = document.createElement("div");
ring.className = "seg-brush-ring";
ring.id = "seg-brush-ring";
document.body.appendChild(ring);
const kind = () => {
  const checked = document.querySelector("#seg-point-label input:checked");
  const label = checked && checked.closest("label");
  return checked ? (label ? label.textContent : checked.value).trim() : "";
};
const brushing = () => kinds.includes(kind());
const radius = () => {
  const box = document.querySelector("#seg-brush-size input[type=number]");
  return Math.max(Number(box && box.value) || 1, 1);
};
const picture = (img) => {
  const box = img.getBoundingClientRect();
  const fit = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
  const width = img.naturalWidth * fit, height = img.naturalHeight * fit;
  return { left: box.left + (box.width - width) / 2, top: box.top + (box.height - height) / 2,
           width, height, fit };
};
// the frame's image when the pointer is over its picture (whatever element of the frame box is on top)
const frameImage = (event) => {
  const box = event.target && event.target.closest && event.target.closest("#seg-frame");
  const img = box && box.querySelector("img");
  if (!img || !img.naturalWidth) return null;
  const shown = picture(img);
  const inside = event.clientX >= shown.left && event.clientX <= shown.left + shown.width &&
    event.clientY >= shown.top && event.clientY <= shown.top + shown.height;
  return inside ? img : null;
};
const shownPoint = (img, event) => {
  const shown = picture(img);
  return [(event.clientX - shown.left) / shown.fit, (event.clientY - shown.top) / shown.fit];
};
const syncMode = () => document.body.classList.toggle("seg-brushing", brushing());
for (const type of ["change", "input", "click"]) {
  document.addEventListener(type, (event) => {
    if (event.target.closest && event.target.closest("#seg-point-label")) setTimeout(syncMode);
  }, true);
}
syncMode();
const showRing = (event) => {
  syncMode();
  const img = frameImage(event);
  if (!img || !brushing()) { ring.style.display = "none"; return; }
  const size = 2 * radius() * shownScale() * picture(img).fit;
  ring.style.display = "block";
  ring.style.width = ring.style.height = `${size}px`;
  ring.style.left = `${event.clientX - size / 2}px`;
  ring.style.top = `${event.clientY - size / 2}px`;
};
document.addEventListener("pointermove", showRing, true);
document.addEventListener("pointerover", showRing, true);
let stroke = null;  // the stroke being drawn: its image, points, canvas
let swallowClick = false;  // the click that ends a stroke is not a click prompt
const drawTo = (point) => {
  const context = stroke.canvas.getContext("2d");
  const last = stroke.points[stroke.points.length - 1];
  context.beginPath();
  context.moveTo(last[0], last[1]);
  context.lineTo(point[0], point[1]);
  context.stroke();
  stroke.points.push(point);
};
document.addEventListener("pointerdown", (event) => {
  const img = frameImage(event);
  if (!img || !brushing() || event.button !== 0) return;
  event.preventDefault();
  event.stopPropagation();
  event.target.setPointerCapture(event.pointerId);
  const shown = picture(img);
  const canvas = document.createElement("canvas");
  canvas.className = "seg-brush-canvas";
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  Object.assign(canvas.style, { left: `${shown.left}px`, top: `${shown.top}px`,
    width: `${shown.width}px`, height: `${shown.height}px` });
  document.body.appendChild(canvas);
  const context = canvas.getContext("2d");
  context.lineCap = context.lineJoin = "round";
  context.lineWidth = 2 * radius() * shownScale();
  context.strokeStyle = kind() === "erase" ? "rgba(0, 0, 0, 0.55)" : "rgba(255, 230, 0, 0.6)";
  const first = shownPoint(img, event);
  stroke = { img, canvas, points: [first] };
  drawTo(first);
}, true);
document.addEventListener("pointermove", (event) => {
  if (!stroke) return;
  const moves = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const move of moves.length ? moves : [event]) {
    const point = shownPoint(stroke.img, move);
    const last = stroke.points[stroke.points.length - 1];
    if (Math.hypot(point[0] - last[0], point[1] - last[1]) >= 1) drawTo(point);
  }
}, true);
const finish = (event) => {
  if (!stroke) return;
  const { img, canvas } = stroke;
  let points = stroke.points.map(([x, y]) => [Math.round(x * 10) / 10, Math.round(y * 10) / 10]);
  while (points.length > __MAX_POINTS__) points = points.filter((_, index) => index % 2 === 0);
  stroke = null;
  swallowClick = event.type === "pointerup";
  setTimeout(() => { swallowClick = false; }, 400);
  const done = () => canvas.remove();
  img.addEventListener("load", done, { once: true });
  new MutationObserver((_, observer) => { observer.disconnect(); setTimeout(done, 200); })
    .observe(document.getElementById("seg-frame"), { subtree: true, childList: true,
      attributes: true, attributeFilter: ["src"] });
  setTimeout(done, 30000);
  props.value = JSON.stringify({ scale: shownScale(), points });
  trigger("stroke");
};
document.addEventListener("pointerup", finish, true);
document.addEventListener("pointercancel", finish, true);
document.addEventListener("click", (event) => {
  if (swallowClick && event.target.closest && event.target.closest("#seg-frame")) {
    swallowClick = false;
    event.stopPropagation();
    event.preventDefault();
  }
}, true);
"""


def stroke_box(max_points: int) -> gr.HTML:
    """The invisible component that runs `BRUSH_JS` and carries each stroke to the server (its `stroke`
    event; at most `max_points` points, thinned evenly beyond that)."""
    return gr.HTML(
        value=json.dumps({"scale": 1}),
        html_template="<div class='seg-stroke-box'></div>",
        js_on_load=BRUSH_JS.replace("__KINDS__", json.dumps(list(BRUSH_KINDS))).replace(
            "__MAX_POINTS__", str(int(max_points))
        ),
        padding=False,
        container=False,
        elem_id="seg-stroke",
    )


def stroke_points(value: str | None) -> list[tuple[float, float]]:
    """The points of the stroke `stroke_box` sent (pixels of the shown frame); empty when none."""
    try:
        points = json.loads(value or "{}").get("points") or []
        return [(float(x), float(y)) for x, y in points]
    except (ValueError, TypeError, AttributeError):
        return []


def scale_value(scale: int) -> str:
    """The value `stroke_box` gets when a video opens: the factor its frames are shown enlarged by."""
    return json.dumps({"scale": scale})
