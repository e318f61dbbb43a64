"""Drawing masks and clicks over frames: small pure functions on RGB uint8 arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from sam2_gradio.engine.tracking.prompts import ObjectClicks

# Distinct colours (RGB) for object ids 1, 2, 3, ...; ids past the end wrap around. No pure red or green:
# those read as "negative" and "positive", which is what a click's + or - glyph says instead.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (31, 119, 255),  # blue
    (255, 140, 0),  # orange
    (170, 80, 255),  # violet
    (0, 200, 210),  # cyan
    (255, 80, 190),  # pink
    (230, 210, 30),  # yellow
    (150, 100, 60),  # brown
    (120, 140, 255),  # periwinkle
    (255, 170, 120),  # apricot
    (40, 150, 150),  # teal
)
MARKER_INK = (255, 255, 255)  # the + or - glyph of a click marker
MARKER_OUTLINE = (0, 0, 0)  # the ring around it, so that it reads on any background


def object_color(obj_id: int) -> tuple[int, int, int]:
    """The RGB colour of object `obj_id` (ids start at 1)."""
    return PALETTE[(obj_id - 1) % len(PALETTE)]


def color_hex(obj_id: int) -> str:
    """The colour of `obj_id` as `#rrggbb`, for labels in the UI."""
    return "#{:02x}{:02x}{:02x}".format(*object_color(obj_id))


def draw_masks(
    frame: np.ndarray, masks: Mapping[int, np.ndarray], *, alpha: float = 0.5, contour: int = 2
) -> np.ndarray:
    """Tint each object's mask with its colour and outline it.

    frame: RGB uint8 (H, W, 3); masks: obj_id -> bool or 0/1 or 0/255 (H, W). Returns a new frame.
    """
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be RGB uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be within [0, 1], got {alpha}")
    out = frame.copy()
    for obj_id, mask in masks.items():
        if mask.shape != frame.shape[:2]:
            raise ValueError(f"mask of object {obj_id} is {mask.shape}, frame is {frame.shape[:2]}")
        region = mask.astype(np.uint8)
        x, y, width, height = cv2.boundingRect(region)
        if width == 0:
            continue
        box = (slice(y, y + height), slice(x, x + width))
        color = np.array(object_color(obj_id), dtype=np.float32)
        tint = (np.arange(256, dtype=np.uint8)[:, None] * (1.0 - alpha) + color * alpha).astype(np.uint8)
        tinted = cv2.LUT(out[box], tint.reshape(256, 1, 3))  # each channel's value -> its tinted value
        np.copyto(out[box], tinted, where=region[box][..., None].astype(bool))
        if contour > 0:
            outlines, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(out, outlines, -1, object_color(obj_id), contour)
    return out


def legend_labels(objects: Sequence[tuple[int, str]]) -> dict[int, str]:
    """The preview's legend: obj_id -> its name ("Object 2" for one without), once any object of
    `objects` ((id, name) pairs) is named; empty (no legend) while none is."""
    if not any(name for _, name in objects):
        return {}
    return {obj_id: name or f"Object {obj_id}" for obj_id, name in objects}


def draw_legend(frame: np.ndarray, labels: Mapping[int, str]) -> np.ndarray:
    """Write each object's label beside a disc of its colour, one line per object, in the frame's
    top-left corner (white text with a dark outline; letters outside ASCII are shown as "?").

    frame: RGB uint8 (H, W, 3); labels: obj_id -> label, in the order shown. Returns a new frame (the
    frame itself when `labels` is empty).
    """
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be RGB uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
    if not labels:
        return frame
    out = frame.copy()
    scale = max(0.35, min(frame.shape[:2]) / 900)
    thickness = max(1, round(scale * 2))
    line = round(30 * scale)
    radius = max(3, round(8 * scale))
    for row, (obj_id, label) in enumerate(labels.items(), start=1):
        text = label.encode("ascii", "replace").decode("ascii")
        cx, cy = line // 2 + radius, row * line
        cv2.circle(out, (cx, cy), radius + 1, MARKER_OUTLINE, -1, cv2.LINE_AA)
        cv2.circle(out, (cx, cy), radius, object_color(obj_id), -1, cv2.LINE_AA)
        origin = (cx + 2 * radius, cy + round(radius * 0.8))
        cv2.putText(
            out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, MARKER_OUTLINE, thickness + 2, cv2.LINE_AA
        )
        cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, MARKER_INK, thickness, cv2.LINE_AA)
    return out


def marker_radius(frame_shape: tuple[int, ...]) -> int:
    """Radius in pixels of a click marker on a frame of `frame_shape`: it scales with the frame."""
    return max(5, round(min(frame_shape[:2]) / 60))


def draw_clicks(
    frame: np.ndarray, clicks: Mapping[int, ObjectClicks], *, radius: int | None = None
) -> np.ndarray:
    """Mark each click as a disc in its object's colour with a white + (positive) or - (negative), and
    each box as a rectangle in its object's colour.

    Each disc and box has a dark outline, so it reads on light and dark frames alike (and a box on its own
    mask's tint); `radius` defaults to `marker_radius(frame.shape)`. frame: RGB uint8 (H, W, 3); clicks:
    obj_id -> that object's clicks on this frame. Returns a new frame.
    """
    out = frame.copy()
    radius = radius or marker_radius(frame.shape)
    stroke = max(1, radius // 4)
    for obj_id, entry in clicks.items():
        if entry.box is not None:
            x0, y0, x1, y1 = (round(value) for value in entry.box)
            thickness = max(1, radius // 3)
            for color, width in ((MARKER_OUTLINE, thickness + 2), (object_color(obj_id), thickness)):
                cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), color, width, cv2.LINE_AA)
        for (x, y), label in zip(entry.points, entry.labels, strict=True):
            cx, cy = round(x), round(y)
            cv2.circle(out, (cx, cy), radius + stroke, MARKER_OUTLINE, -1, cv2.LINE_AA)
            cv2.circle(out, (cx, cy), radius, object_color(obj_id), -1, cv2.LINE_AA)
            arm = max(2, radius * 3 // 5)
            cv2.line(out, (cx - arm, cy), (cx + arm, cy), MARKER_INK, stroke, cv2.LINE_AA)
            if label:
                cv2.line(out, (cx, cy - arm), (cx, cy + arm), MARKER_INK, stroke, cv2.LINE_AA)
    return out


def draw_corner(
    frame: np.ndarray, x: float, y: float, obj_id: int, *, radius: int | None = None
) -> np.ndarray:
    """Mark the first corner of a box being drawn: a cross in the object's colour with a dark outline,
    `radius` (default `marker_radius(frame.shape)`) pixels long each way. frame: RGB uint8 (H, W, 3)."""
    out = frame.copy()
    radius = radius or marker_radius(frame.shape)
    stroke = max(1, radius // 4)
    cx, cy = round(x), round(y)
    for color, width in ((MARKER_OUTLINE, stroke + 2), (object_color(obj_id), stroke)):
        cv2.line(out, (cx - radius, cy), (cx + radius, cy), color, width, cv2.LINE_AA)
        cv2.line(out, (cx, cy - radius), (cx, cy + radius), color, width, cv2.LINE_AA)
    return out


def display_factor(width: int, height: int, min_side: int) -> int:
    """The whole factor (at least 1) that brings a `width` x `height` frame closest to `min_side` pixels on
    its longer side without passing it (1 for frames already that large)."""
    return max(1, min_side // max(width, height, 1))


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """`image` (H, W, C) shown `factor` times larger, each pixel a `factor` x `factor` block (so a shown
    pixel (x, y) is pixel (x // factor, y // factor) of the original)."""
    if factor < 1:
        raise ValueError(f"the enlargement factor must be a whole number from 1, got {factor}")
    if factor == 1:
        return image
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
