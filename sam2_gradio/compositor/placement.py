"""Where the cut-out object lands in the background: pure box geometry, in pixels (the placements
``relocate`` and ``original`` here; ``follow`` and keyframes in ``motion``).

Boxes are half-open ``[x0, x1) x [y0, y1)``. Target boxes may reach past the background's edges;
``clip_box`` keeps the visible part (never wrapped, never an error).
"""

from __future__ import annotations

from sam2_gradio.media.mask_files import Box

PLACEMENTS = ("relocate", "original", "follow")  # follow: see `motion.follow_box`
ANCHORS = (
    "top-left",
    "top-center",
    "top-right",
    "center-left",
    "center",
    "center-right",
    "bottom-left",
    "bottom-center",
    "bottom-right",
)


def scaled_size(width: int, height: int, longer_side: int) -> tuple[int, int]:
    """(width, height) rescaled so the longer side is ``longer_side``, aspect kept (each side >= 1)."""
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, got {width}x{height}")
    if longer_side < 1:
        raise ValueError(f"longer_side must be >= 1, got {longer_side}")
    scale = longer_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def relocate(
    object_box: Box,
    background_size: tuple[int, int],
    *,
    size: int,
    pos: str = "center",
    offset_x: int = 0,
    offset_y: int = 0,
) -> Box:
    """Target box for an object cropped to ``object_box``, rescaled and anchored in the background.

    The crop is rescaled so its longer side is ``size`` pixels, placed at anchor ``pos`` (one of
    ``ANCHORS``) of the background of ``background_size`` = (width, height), then moved right by
    ``offset_x`` and down by ``offset_y``. The box may extend past the background's edges.
    """
    if pos not in ANCHORS:
        raise ValueError(f"pos must be one of {', '.join(ANCHORS)}, got {pos!r}")
    width, height = scaled_size(object_box.width, object_box.height, size)
    vertical, _, horizontal = pos.partition("-") if pos != "center" else ("center", "", "center")
    x0 = _aligned_start(horizontal or "center", background_size[0], width) + offset_x
    y0 = _aligned_start(vertical, background_size[1], height) + offset_y
    return Box(x0, y0, x0 + width, y0 + height)


def _aligned_start(alignment: str, space: int, length: int) -> int:
    """Start coordinate of ``length`` pixels aligned left/top, center or right/bottom in ``space``."""
    if alignment in ("left", "top"):
        return 0
    if alignment in ("right", "bottom"):
        return space - length
    return (space - length) // 2


def clip_box(box: Box, frame_size: tuple[int, int]) -> Box | None:
    """Part of ``box`` inside a frame of ``frame_size`` = (width, height); None when it is all outside."""
    clipped = Box(max(box.x0, 0), max(box.y0, 0), min(box.x1, frame_size[0]), min(box.y1, frame_size[1]))
    return clipped if clipped.width > 0 and clipped.height > 0 else None


def intersect(first: Box, second: Box) -> Box | None:
    """The pixels ``first`` and ``second`` share, or None when they share none."""
    shared = Box(
        max(first.x0, second.x0), max(first.y0, second.y0), min(first.x1, second.x1), min(first.y1, second.y1)
    )
    return shared if shared.width > 0 and shared.height > 0 else None


def grow_box(box: Box, margin: int, frame_size: tuple[int, int]) -> Box:
    """``box`` grown by ``margin`` pixels on each side, clipped to a frame of ``frame_size``."""
    grown = Box(box.x0 - margin, box.y0 - margin, box.x1 + margin, box.y1 + margin)
    return clip_box(grown, frame_size) or box
