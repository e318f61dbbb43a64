"""The object in motion: its own path (``follow``), keyframes, mirror and rotation, and its clip's timing.

Pure geometry in pixels, plus one pixel function (``transform_patch``) that mirrors and rotates a placed
patch. Nothing here reads a video.

- **Follow.** Each object frame's mask box gives a ``PathPoint``: the box's anchor point (the same anchor
  as the placement's ``pos``: ``bottom-center`` tracks the feet) and its size. ``smoothed`` averages the
  points of a window centred on the frame (shrunk symmetrically at the clip's ends, so steady motion
  stays exact). ``follow_box`` maps them into the background: the clip's first point lands where
  ``relocate`` would anchor a box of that size (``pos`` plus offsets), and every later point moves by its
  own displacement times ``scale`` (mirrored in x with ``mirror``), its size times ``scale``.
- **Keyframes.** ``Keyframe``s at output frames give the offsets, a scale factor and a rotation;
  ``interpolate`` blends the two around a frame, linearly or with ease-in-out (``3t^2 - 2t^3``), and
  holds the first and last values outside them. ``parse_keyframes`` reads the JSON format::

      {"interpolation": "ease-in-out",
       "keyframes": [{"frame": 0, "x": -300, "y": 0, "scale": 1.0, "rotation": 0},
                     {"frame": 48, "x": 300, "y": -20, "scale": 0.5, "rotation": 15,
                      "interpolation": "linear"}]}

  ``x`` and ``y`` replace the placement's ``offset_x`` and ``offset_y`` (pixels), ``scale`` multiplies its
  size and ``rotation`` turns the object counter-clockwise (degrees) about its box's centre; a key left
  out takes the placement's own value (scale 1, rotation 0). A keyframe's ``interpolation`` applies from
  it to the next. A bare list of keyframes is accepted too.
- **Timing.** ``parse_trim`` reads ``--trim IN:OUT`` (object frames ``IN`` to ``OUT - 1``, either side
  may be left empty).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from sam2_gradio import config
from sam2_gradio.cpu_budget import check_parse_budget, parse_budget
from sam2_gradio.errors import BadInput
from sam2_gradio.limits import parse_json, read_bounded
from sam2_gradio.media.mask_files import Box

INTERPOLATIONS = ("linear", "ease-in-out")
KEYFRAME_KEYS = ("frame", "x", "y", "scale", "rotation", "interpolation")
MAX_KEYFRAMES = 10_000  # keyframes one file may hold
MAX_KEYFRAME_FILE_BYTES = 2**20  # larger keyframe or objects files are refused unread
MAX_OFFSET = 4 * config.MAX_VIDEO_SIDE  # largest |x| or |y| a keyframe may give, pixels
SCALE_RANGE = (0.01, 16.0)  # a keyframe's scale factor
MAX_ROTATION = 3600.0  # largest |rotation| a keyframe may give, degrees
_FRACTIONS = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}


@dataclass(frozen=True)
class PathPoint:
    """Where an object is on one frame of its own video: its box's anchor point and its box's size."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Keyframe:
    """The placement at one output frame; None takes the placement's own value."""

    frame: int  # output frame
    x: float | None = None  # replaces offset_x, pixels
    y: float | None = None  # replaces offset_y, pixels
    scale: float = 1.0  # multiplies the placement's size
    rotation: float = 0.0  # degrees, counter-clockwise
    interpolation: str = "linear"  # how the values go from this keyframe to the next


@dataclass(frozen=True)
class KeyframeValues:
    """The placement's values at one output frame, interpolated from the keyframes."""

    x: float | None
    y: float | None
    scale: float
    rotation: float


@dataclass(frozen=True)
class Placed:
    """Where and how an object's patch lands: its box before rotation, then a rotation and a mirror."""

    box: Box
    rotation: float = 0.0  # degrees, counter-clockwise, about the box's centre
    mirror: bool = False  # flipped left to right


def anchor_fractions(pos: str) -> tuple[float, float]:
    """(fx, fy): where anchor ``pos`` (``placement.ANCHORS``) lies in a box, as fractions of its size."""
    vertical, _, horizontal = pos.partition("-") if pos != "center" else ("center", "", "center")
    return _FRACTIONS[horizontal or "center"], _FRACTIONS[vertical]


def path_point(box: Box, pos: str) -> PathPoint:
    """The ``PathPoint`` of a mask box: the point of anchor ``pos`` and the box's size."""
    fx, fy = anchor_fractions(pos)
    return PathPoint(box.x0 + fx * box.width, box.y0 + fy * box.height, box.width, box.height)


def smoothed(points: Sequence[PathPoint | None]) -> PathPoint | None:
    """Mean of the points that are there (None: no mask on that frame); None when none is."""
    present = [point for point in points if point is not None]
    if not present:
        return None
    count = len(present)
    return PathPoint(
        sum(point.x for point in present) / count,
        sum(point.y for point in present) / count,
        sum(point.width for point in present) / count,
        sum(point.height for point in present) / count,
    )


def smoothing_window(frame: int, first: int, last: int, radius: int) -> range:
    """Frames averaged for ``frame`` of a clip ``first..last``: ``radius`` each side, shrunk evenly at its
    ends (so that steady motion is not bent there)."""
    if not first <= frame <= last:
        raise ValueError(f"frame {frame} is outside the clip {first}..{last}")
    reach = min(radius, frame - first, last - frame)
    return range(frame - reach, frame + reach + 1)


class ObjectPath:
    """An object's smoothed path over its clip (object frames ``first..last``), its boxes read lazily
    from ``box_at(frame)`` (None: no mask there) and each read once."""

    def __init__(
        self, box_at: Callable[[int], Box | None], first: int, last: int, pos: str, radius: int
    ) -> None:
        if last < first:
            raise ValueError(f"the clip {first}..{last} is empty")
        self._box_at = box_at
        self.first, self.last, self.pos, self.radius = first, last, pos, radius
        self._points: dict[int, PathPoint | None] = {}

    def raw(self, frame: int) -> PathPoint | None:
        """The unsmoothed point of ``frame``, or None without a mask there."""
        if frame not in self._points:
            box = self._box_at(frame)
            self._points[frame] = None if box is None else path_point(box, self.pos)
        return self._points[frame]

    def at(self, frame: int) -> PathPoint | None:
        """The smoothed point of ``frame`` (see ``smoothing_window``), or None without a mask there."""
        frame = min(max(frame, self.first), self.last)
        if self.raw(frame) is None:
            return None
        window = smoothing_window(frame, self.first, self.last, self.radius)
        return smoothed([self.raw(other) for other in window])

    def start(self) -> PathPoint | None:
        """The smoothed point of the clip's first frame with a mask (None when no frame has one)."""
        for frame in range(self.first, self.last + 1):
            if self.raw(frame) is not None:
                return self.at(frame)
        return None


def follow_box(
    start: PathPoint,
    current: PathPoint,
    background_size: tuple[int, int],
    *,
    scale: float,
    pos: str,
    offset_x: float = 0,
    offset_y: float = 0,
    mirror: bool = False,
) -> Box:
    """Target box of an object at ``current`` on its path that began at ``start`` (see the module doc).

    The start box (``start``'s size times ``scale``) is anchored at ``pos`` of the background of
    ``background_size`` = (width, height) and moved by the offsets, so its anchor point lies at ``pos``'s
    point of the background plus the offsets; the box of ``current`` has
    ``current``'s size times ``scale`` and its anchor point moved from there by ``scale`` times the path's
    displacement (x negated with ``mirror``). Rounded to whole pixels; may reach past the edges.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    fx, fy = anchor_fractions(pos)
    # A box anchored at ``pos`` of the background has its own ``pos`` point there, whatever its size.
    anchor_x = fx * background_size[0] + offset_x
    anchor_y = fy * background_size[1] + offset_y
    direction = -1.0 if mirror else 1.0
    anchor_x += direction * (current.x - start.x) * scale
    anchor_y += (current.y - start.y) * scale
    width, height = max(1, round(current.width * scale)), max(1, round(current.height * scale))
    x0, y0 = round(anchor_x - fx * width), round(anchor_y - fy * height)
    return Box(x0, y0, x0 + width, y0 + height)


def ease(t: float, interpolation: str) -> float:
    """Progress ``t`` in [0, 1] eased: itself ("linear") or ``3t^2 - 2t^3`` ("ease-in-out")."""
    if interpolation == "linear":
        return t
    if interpolation == "ease-in-out":
        return t * t * (3 - 2 * t)
    raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {interpolation!r}")


def interpolate(keyframes: Sequence[Keyframe], frame: int) -> KeyframeValues:
    """The values at output ``frame``: those of the keyframes around it blended by the earlier one's
    easing, the first keyframe's before it and the last's after it. ``keyframes`` are sorted by frame."""
    if not keyframes:
        raise ValueError("keyframes must not be empty")
    before = [key for key in keyframes if key.frame <= frame]
    after = [key for key in keyframes if key.frame > frame]
    if not before or not after:
        key = before[-1] if before else after[0]
        return KeyframeValues(key.x, key.y, key.scale, key.rotation)
    low, high = before[-1], after[0]
    t = ease((frame - low.frame) / (high.frame - low.frame), low.interpolation)
    return KeyframeValues(
        _blend_optional(low.x, high.x, t),
        _blend_optional(low.y, high.y, t),
        low.scale + (high.scale - low.scale) * t,
        low.rotation + (high.rotation - low.rotation) * t,
    )


def _blend_optional(low: float | None, high: float | None, t: float) -> float | None:
    """``low`` to ``high`` at ``t``; when one side is missing, the other is held (None when both are)."""
    if low is None or high is None:
        return high if low is None else low
    return low + (high - low) * t


def parse_keyframes(data: Any, source: str = "keyframes") -> tuple[Keyframe, ...]:
    """Keyframes from parsed JSON (see the module doc), sorted by frame.

    Raises:
        BadInput: one sentence naming ``source`` and what is wrong (a type, a key, a value out of range,
            a frame given twice, none or too many keyframes).
    """
    default = "linear"
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"interpolation", "keyframes"})
        if unknown:
            raise BadInput(f"{source}: unknown key {unknown[0]!r} (use interpolation and keyframes)")
        default = _choice(data.get("interpolation", "linear"), f"{source}: interpolation")
        data = data.get("keyframes")
    if not isinstance(data, list) or not data:
        raise BadInput(f"{source} must hold a non-empty list of keyframes")
    if len(data) > MAX_KEYFRAMES:
        raise BadInput(f"{source} holds {len(data)} keyframes, more than the {MAX_KEYFRAMES} allowed")
    keyframes = sorted((_keyframe(item, f"{source}, keyframe {i}", default) for i, item in enumerate(data)),
                       key=lambda key: key.frame)  # fmt: skip
    for earlier, later in zip(keyframes, keyframes[1:], strict=False):
        if earlier.frame == later.frame:
            raise BadInput(f"{source} gives frame {later.frame} twice")
    return tuple(keyframes)


def _keyframe(item: Any, where: str, default: str) -> Keyframe:
    check_parse_budget()
    if not isinstance(item, dict):
        raise BadInput(f"{where} must be an object with a frame, got {type(item).__name__}")
    unknown = sorted(set(item) - set(KEYFRAME_KEYS))
    if unknown:
        raise BadInput(f"{where}: unknown key {unknown[0]!r} (use {', '.join(KEYFRAME_KEYS)})")
    if "frame" not in item:
        raise BadInput(f"{where} has no frame")
    frame = item["frame"]
    if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame <= config.MAX_VIDEO_FRAMES:
        raise BadInput(
            f"{where}: frame must be a whole number from 0 to {config.MAX_VIDEO_FRAMES}, got {frame!r}"
        )
    return Keyframe(
        frame=frame,
        x=_number(item, "x", where, -MAX_OFFSET, MAX_OFFSET),
        y=_number(item, "y", where, -MAX_OFFSET, MAX_OFFSET),
        scale=_number(item, "scale", where, *SCALE_RANGE, default=1.0),
        rotation=_number(item, "rotation", where, -MAX_ROTATION, MAX_ROTATION, default=0.0),
        interpolation=_choice(item.get("interpolation", default), f"{where}: interpolation"),
    )


def _number(item: dict, key: str, where: str, low: float, high: float, default: float | None = None) -> Any:
    if key not in item:
        return default
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise BadInput(f"{where}: {key} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _choice(value: Any, where: str) -> str:
    if value not in INTERPOLATIONS:
        raise BadInput(f"{where} must be one of {', '.join(INTERPOLATIONS)}, got {value!r}")
    return value


def read_json_file(path: str | os.PathLike, what: str) -> Any:
    """The parsed JSON of the small file ``path`` (``what`` names it in errors).

    Raises:
        BadInput: the file is missing, larger than ``MAX_KEYFRAME_FILE_BYTES`` or not JSON (nesting too
            deep and numbers too long included, see ``limits.parse_json``).
    """
    path = Path(path)
    data = read_bounded(path, MAX_KEYFRAME_FILE_BYTES, what)
    return parse_json(data, f"{what} {path.name}")


def load_keyframes(path: str | os.PathLike) -> tuple[Keyframe, ...]:
    """The keyframes of a JSON file (see ``parse_keyframes``), read in at most
    ``config.MAX_PARSE_CPU_SECONDS`` of CPU (``cpu_budget``)."""
    name = f"keyframe file {Path(path).name}"
    with parse_budget(name):
        return parse_keyframes(read_json_file(path, "keyframe file"), name)


def parse_trim(text: str) -> tuple[int, int | None]:
    """(in, out) of ``--trim IN:OUT``: object frames ``in`` to ``out - 1``; empty text or side: all, and a
    lone number ``IN`` runs to the end.

    Raises:
        BadInput: not whole numbers around a colon, a negative one, or ``out <= in``.
    """
    text = text.strip()
    if not text:
        return 0, None
    first, _, last = text.partition(":")
    try:
        start = int(first) if first.strip() else 0
        stop = int(last) if last.strip() else None
    except ValueError:
        raise BadInput(f"trim must be IN:OUT in object frames (e.g. 10:120), got {text!r}") from None
    if start < 0 or (stop is not None and stop <= start):
        raise BadInput(f"trim must be IN:OUT with 0 <= IN < OUT (e.g. 10:120), got {text!r}")
    return start, stop


def transform_patch(
    patch: np.ndarray, alpha: np.ndarray, placed: Placed
) -> tuple[np.ndarray, np.ndarray, Box]:
    """Mirror and rotate a patch already resized to ``placed.box``; returns the patch, its alpha and the
    box they now cover (grown to hold the rotated corners, same centre).

    Args:
        patch: ``uint8`` (h, w, 3), the size of ``placed.box``.
        alpha: ``float32`` (h, w) in [0, 1].
        placed: the box, rotation (degrees, counter-clockwise) and mirror.
    """
    if patch.shape[:2] != alpha.shape or alpha.shape != (placed.box.height, placed.box.width):
        raise ValueError(f"patch {patch.shape} and alpha {alpha.shape} must match the box {placed.box}")
    if placed.mirror:
        patch, alpha = np.ascontiguousarray(patch[:, ::-1]), np.ascontiguousarray(alpha[:, ::-1])
    if placed.rotation % 360 == 0:
        return patch, alpha, placed.box
    turned = turned_box(placed.box, placed.rotation)
    matrix = _rotation_matrix(placed.box, placed.rotation, turned)
    size = (turned.width, turned.height)
    rotated = cv2.warpAffine(patch, matrix, size, flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    rotated_alpha = cv2.warpAffine(alpha, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    return rotated, rotated_alpha, turned


def turned_box(box: Box, rotation: float) -> Box:
    """The box a patch covering ``box`` covers once turned by ``rotation`` degrees about its centre: grown
    to hold the turned corners, same centre (``box`` itself for a whole turn)."""
    if rotation % 360 == 0:
        return box
    radians = math.radians(rotation)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    width = math.ceil(box.width * cos + box.height * sin - 1e-6)
    height = math.ceil(box.width * sin + box.height * cos - 1e-6)
    center_x, center_y = box.x0 + box.width / 2, box.y0 + box.height / 2
    x0, y0 = round(center_x - width / 2), round(center_y - height / 2)
    return Box(x0, y0, x0 + width, y0 + height)


def _rotation_matrix(box: Box, rotation: float, turned: Box) -> np.ndarray:
    """(2, 3) map from pixels of a patch over ``box`` to pixels of the patch turned over ``turned``."""
    matrix = cv2.getRotationMatrix2D((box.width / 2, box.height / 2), rotation, 1.0)
    matrix[0, 2] += box.x0 + box.width / 2 - turned.x0 - box.width / 2
    matrix[1, 2] += box.y0 + box.height / 2 - turned.y0 - box.height / 2
    return matrix


def fit_matrix(source: Box, placed: Placed) -> np.ndarray:
    """The (3, 3) map from pixels of an object's patch over ``source`` to pixels of that patch resized to
    ``placed.box`` (pixel centres kept, as ``cv2.resize`` maps them) and mirrored when ``placed`` says."""
    box = placed.box
    scale_x, scale_y = box.width / source.width, box.height / source.height
    resize = np.array([[scale_x, 0, 0.5 * scale_x - 0.5], [0, scale_y, 0.5 * scale_y - 0.5], [0, 0, 1]])
    mirror = np.array([[-1.0, 0, box.width - 1], [0, 1, 0], [0, 0, 1]]) if placed.mirror else np.eye(3)
    return mirror @ resize


def turn_matrix(box: Box, rotation: float) -> tuple[np.ndarray, Box]:
    """The (3, 3) map from pixels of a patch over ``box`` to pixels of it turned as ``transform_patch``
    turns it, and the box it then covers (``turned_box``)."""
    turned = turned_box(box, rotation)
    matrix = np.eye(3)
    if rotation % 360 != 0:
        matrix[:2] = _rotation_matrix(box, rotation, turned)
    return matrix, turned
