"""Contact shadow: the placed object's alpha laid on the ground and multiplied into the background.

The object stands on its box's bottom edge (the base, ``y_b``). Its shadow is its alpha sheared and
squashed onto a ground direction of ``angle`` degrees (0: right, 90: up, that is away from the viewer,
-90: down) and ``length`` (percent of the object's height): a point ``h`` pixels above the base lands at
``(x + h L cos a, y_b - h L sin a)`` with ``L = length / 100``, so the base stays in contact. The result is
blurred (a Gaussian of ``2 * blur + 1`` pixels), scaled by ``opacity`` and multiplied into the background:
``out = bg * (1 - shadow)``, which can only darken it and leaves it unchanged where the shadow is zero.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from sam2_gradio.media.mask_files import Box


def shadow_alpha(
    alpha: np.ndarray, box: Box, *, angle: float, length: float, blur: int, opacity: float
) -> tuple[np.ndarray, Box] | None:
    """The shadow of an object whose alpha covers ``box`` (see the module docstring).

    Args:
        alpha: ``float32`` (h, w) in [0, 1], the placed object's alpha over ``box``.
        box: where the object lies in the background.
        angle: ground direction, degrees counter-clockwise from the right.
        length: shadow length in percent of the object's height, >= 0.
        blur: blur radius in pixels, >= 0.
        opacity: darkness at full coverage, in [0, 1].

    Returns:
        The shadow's ``float32`` alpha in [0, opacity] and the box it covers (which may reach past the
        background's edges), or None when it covers nothing.
    """
    if alpha.dtype != np.float32 or alpha.shape != (box.height, box.width):
        raise ValueError(f"alpha must be float32 {(box.height, box.width)}, got {alpha.dtype} {alpha.shape}")
    if length < 0 or blur < 0 or not 0 <= opacity <= 1:
        raise ValueError(
            f"need length >= 0, blur >= 0 and opacity in [0, 1], got {length}, {blur}, {opacity}"
        )
    height, width = alpha.shape
    reach = length / 100 * height
    along_x, along_y = reach * math.cos(math.radians(angle)), -reach * math.sin(math.radians(angle))
    # Shadow of the top row lies at (x + along_x, height + along_y) in the box's own coordinates.
    left, right = math.floor(min(0.0, along_x)) - blur, math.ceil(max(0.0, along_x)) + width + blur
    top = math.floor(min(0.0, along_y)) + height - blur - 1
    bottom = math.ceil(max(0.0, along_y)) + height + blur + 1
    if opacity == 0 or (reach == 0 and blur == 0):
        return None
    shear = along_x / height  # x moves by this much per pixel of height
    squash = -along_y / height  # heights are multiplied by this (at least one pixel high in all)
    if abs(squash) < 1 / height:
        squash = 1 / height
    matrix = np.float32([[1, -shear, shear * height - left], [0, squash, height * (1 - squash) - top]])
    size = (right - left, bottom - top)
    shadow = cv2.warpAffine(alpha, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    if blur > 0:
        shadow = cv2.GaussianBlur(shadow, (2 * blur + 1, 2 * blur + 1), 0)
    shadow *= np.float32(opacity)
    return shadow, Box(box.x0 + left, box.y0 + top, box.x0 + right, box.y0 + bottom)


def darken(region: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    """``region * (1 - shadow)``, rounded: ``uint8`` (h, w, 3) darkened by a ``float32`` (h, w) shadow.

    Never brightens, and leaves pixels where ``shadow`` is 0 exactly as they were.
    """
    if region.dtype != np.uint8 or region.ndim != 3 or shadow.shape != region.shape[:2]:
        raise ValueError(
            f"need uint8 (h, w, 3) and (h, w), got {region.dtype} {region.shape}, {shadow.shape}"
        )
    keep = (1 - np.clip(shadow, 0, 1))[..., None]
    return np.floor(region * keep + 0.5).astype(np.uint8)
