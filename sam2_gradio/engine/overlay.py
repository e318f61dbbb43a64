"""Drawing masks and clicks over frames: small pure functions on RGB uint8 arrays."""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from sam2_gradio.engine.prompts import ObjectClicks

# Distinct colours (RGB) for object ids 1, 2, 3, ...; ids past the end wrap around.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 64, 64),
    (64, 160, 255),
    (64, 220, 96),
    (255, 200, 40),
    (200, 80, 255),
    (255, 128, 0),
    (0, 220, 220),
    (255, 96, 192),
    (160, 200, 64),
    (140, 110, 255),
)
POSITIVE_CLICK = (40, 220, 40)
NEGATIVE_CLICK = (230, 40, 40)


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
        region = mask.astype(bool)
        if not region.any():
            continue
        color = np.array(object_color(obj_id), dtype=np.float32)
        out[region] = (out[region] * (1.0 - alpha) + color * alpha).astype(np.uint8)
        if contour > 0:
            outlines, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(out, outlines, -1, object_color(obj_id), contour)
    return out


def draw_clicks(
    frame: np.ndarray, clicks: Mapping[int, ObjectClicks], *, radius: int | None = None
) -> np.ndarray:
    """Mark each click: a disc green for positive, red for negative, ringed in its object's colour;
    and each box as a rectangle in its object's colour.

    frame: RGB uint8 (H, W, 3); clicks: obj_id -> that object's clicks on this frame. Returns a new frame.
    """
    out = frame.copy()
    radius = radius or max(4, round(min(frame.shape[:2]) / 80))
    for obj_id, entry in clicks.items():
        if entry.box is not None:
            x0, y0, x1, y1 = (round(value) for value in entry.box)
            thickness = max(1, radius // 3)
            cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), object_color(obj_id), thickness, cv2.LINE_AA)
        for (x, y), label in zip(entry.points, entry.labels, strict=True):
            center = (round(x), round(y))
            cv2.circle(out, center, radius + 2, object_color(obj_id), -1, cv2.LINE_AA)
            cv2.circle(out, center, radius, POSITIVE_CLICK if label else NEGATIVE_CLICK, -1, cv2.LINE_AA)
            cv2.circle(out, center, radius + 2, (255, 255, 255), 1, cv2.LINE_AA)
    return out
