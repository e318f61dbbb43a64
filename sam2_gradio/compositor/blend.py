"""Pixel functions of the compositor: blend modes, mask mixing, edge feather, brightness and colour matching.

All work on the object's box only, in ``uint8`` with integer or OpenCV arithmetic. Colours are 0..255
integers standing for W3C's 0..1 values; results are rounded to the nearest integer.

Blend modes follow W3C Compositing and Blending Level 1 (section 10.1) with backdrop ``Cb`` = background
and source ``Cs`` = object; with an opaque backdrop the result is ``(1 - a) * Cb + a * B(Cb, Cs)``, ``a``
being the mask:

- normal:   ``B = Cs``
- multiply: ``B = Cb * Cs``
- screen:   ``B = Cb + Cs - Cb * Cs``
- overlay:  ``B = HardLight(Cs, Cb)`` = ``2 * Cb * Cs`` if ``Cb <= 0.5`` else ``1 - 2 * (1 - Cb) * (1 - Cs)``
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from sam2_gradio import config

BLEND_MODES = ("normal", "multiply", "screen", "overlay")
BT601_WEIGHTS = (0.299, 0.587, 0.114)  # luma Y of R, G, B
_LUMA_FLOOR, _LUMA_CEILING = 1.0, 254.0  # keeps the gamma of brightness matching finite
_REFERENCE_STEP = 4  # colour matching takes the background's statistics from every 4th pixel each way


def blend(backdrop: np.ndarray, source: np.ndarray, mode: str) -> np.ndarray:
    """Blend function ``B(Cb, Cs)`` of ``mode`` (one of ``BLEND_MODES``), before mixing by the mask.

    Args:
        backdrop: ``Cb``, ``uint8`` (h, w, 3), the background.
        source: ``Cs``, ``uint8`` (h, w, 3), the object.

    Returns:
        ``uint8`` (h, w, 3).
    """
    _check_pair(backdrop, source)
    if mode == "normal":
        return source
    if mode == "multiply":
        return cv2.multiply(backdrop, source, scale=1 / 255)
    if mode == "screen":
        return 255 - cv2.multiply(255 - backdrop, 255 - source, scale=1 / 255)
    if mode == "overlay":
        dark = cv2.multiply(backdrop, source, scale=2 / 255)
        light = 255 - cv2.multiply(255 - backdrop, 255 - source, scale=2 / 255)
        return np.where(backdrop <= 127, dark, light)
    raise ValueError(f"blend mode must be one of {', '.join(BLEND_MODES)}, got {mode!r}")


def mix(backdrop: np.ndarray, blended: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``(1 - alpha) * backdrop + alpha * blended``, per pixel.

    Args:
        backdrop: ``uint8`` (h, w, 3).
        blended: ``uint8`` (h, w, 3), usually ``blend(backdrop, source, mode)``.
        alpha: ``float32`` (h, w) in [0, 1], the mask.

    Returns:
        ``uint8`` (h, w, 3).
    """
    _check_pair(backdrop, blended)
    _check_alpha(alpha, backdrop.shape[:2])
    return cv2.blendLinear(blended, backdrop, alpha, 1.0 - alpha)


def composite(
    backdrop: np.ndarray, source: np.ndarray, alpha: np.ndarray, mode: str = "normal"
) -> np.ndarray:
    """Paste ``source`` over ``backdrop`` through ``alpha`` with blend ``mode``: ``mix(Cb, B(Cb, Cs), a)``.

    Shapes and dtypes as in ``blend`` and ``mix``; returns ``uint8`` (h, w, 3).
    """
    return mix(backdrop, blend(backdrop, source, mode), alpha)


def feather_alpha(alpha: np.ndarray, feather: int) -> np.ndarray:
    """Soften a mask's edge inwards over about ``feather`` pixels; pixels outside the mask stay 0.

    The result is ``min(alpha, box_blur(alpha))`` with a ``(2 * feather + 1)`` square box and zeros
    beyond the array, so the object never shows pixels from around it in its own video.

    Args:
        alpha: ``float32`` (h, w) in [0, 1].
        feather: width in pixels, >= 0 (0 returns ``alpha`` unchanged).

    Returns:
        ``float32`` (h, w) in [0, 1].
    """
    if feather < 0:
        raise ValueError(f"feather must be >= 0, got {feather}")
    _check_alpha(alpha, alpha.shape[:2])
    if feather == 0:
        return alpha
    kernel = (2 * feather + 1, 2 * feather + 1)
    return np.minimum(alpha, cv2.blur(alpha, kernel, borderType=cv2.BORDER_CONSTANT))


def mean_luma(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B`` (0..255) of ``uint8`` (h, w, 3) RGB pixels,
    over the pixels where the ``float32`` (h, w) ``mask`` is >= 0.5 (all pixels when None)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8 (h, w, 3), got {image.dtype} {image.shape}")
    selection = None
    if mask is not None:
        _check_alpha(mask, image.shape[:2])
        selection = (mask >= 0.5).astype(np.uint8)
    red, green, blue, _ = cv2.mean(image, mask=selection)
    return BT601_WEIGHTS[0] * red + BT601_WEIGHTS[1] * green + BT601_WEIGHTS[2] * blue


def brightness_gamma(
    object_luma: float, background_luma: float, gain_range: tuple[float, float] = config.BRIGHTNESS_GAIN_RANGE
) -> float:
    """Gamma that moves mean luma ``object_luma`` to ``background_luma`` with a clamped gain.

    ``g = clamp(Yb / Yo, *gain_range)`` and ``gamma = ln(g * Yo / 255) / ln(Yo / 255)``, so that
    ``255 * (Yo / 255) ** gamma == g * Yo``; lumas are first kept inside [1, 254].
    """
    low, high = gain_range
    if not 0 < low <= high:
        raise ValueError(f"gain_range must satisfy 0 < low <= high, got {gain_range}")
    object_luma = min(max(object_luma, _LUMA_FLOOR), _LUMA_CEILING)
    gain = min(max(background_luma / object_luma, low), high)
    target = min(max(gain * object_luma, _LUMA_FLOOR), _LUMA_CEILING)
    return math.log(target / 255) / math.log(object_luma / 255)


def match_brightness(
    source: np.ndarray,
    alpha: np.ndarray,
    reference: np.ndarray,
    gain_range: tuple[float, float] = config.BRIGHTNESS_GAIN_RANGE,
) -> np.ndarray:
    """Bring the object's mean luma toward that of the background around it.

    Every channel goes through ``v -> 255 * (v / 255) ** gamma`` with
    ``gamma = brightness_gamma(mean_luma(source, alpha), mean_luma(reference), gain_range)``. A gamma curve
    keeps black and white fixed, so highlights are not clipped the way a plain gain would clip them.

    Args:
        source: ``uint8`` (h, w, 3), the object's pixels.
        alpha: ``float32`` (h, w) in [0, 1], the object's mask (which pixels count for its mean).
        reference: ``uint8`` (H, W, 3), the background region around the placement.

    Returns:
        ``uint8`` (h, w, 3).
    """
    _check_alpha(alpha, source.shape[:2])
    if not np.any(alpha >= 0.5):
        return source
    gamma = brightness_gamma(mean_luma(source, alpha), mean_luma(reference), gain_range)
    table = np.round(255 * (np.arange(256) / 255) ** gamma).astype(np.uint8)
    return cv2.LUT(source, table)


def match_colour(
    source: np.ndarray,
    alpha: np.ndarray,
    reference: np.ndarray,
    strength: float,
    spread_range: tuple[float, float] = config.COLOUR_SPREAD_RANGE,
) -> np.ndarray:
    """Move the object's colours toward those of the background around it, in CIE Lab (Reinhard et al.).

    Per Lab channel, ``v' = (v - mean_o) * clamp(std_r / std_o, *spread_range) + mean_r``, the object's
    mean and spread (``_o``) taken over the pixels where ``alpha >= 0.5`` and the reference's (``_r``)
    over every 4th pixel of it each way; the result is ``v + strength * (v' - v)``, back in RGB. Lab is
    OpenCV's 8-bit encoding (L scaled to 0..255, a and b offset by 128), whose scalings are linear.

    Args:
        source: ``uint8`` (h, w, 3) RGB, the object's pixels.
        alpha: ``float32`` (h, w) in [0, 1], the object's mask (which pixels count for its statistics).
        reference: ``uint8`` (H, W, 3) RGB, the background region around the placement.
        strength: 0 (``source`` unchanged) to 1 (the full transfer).

    Returns:
        ``uint8`` (h, w, 3) RGB.
    """
    _check_alpha(alpha, source.shape[:2])
    if not 0 <= strength <= 1:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    selection = (alpha >= 0.5).astype(np.uint8)
    if strength == 0 or not selection.any():
        return source
    lab = cv2.cvtColor(source, cv2.COLOR_RGB2LAB)
    sample = np.ascontiguousarray(reference[::_REFERENCE_STEP, ::_REFERENCE_STEP])  # its statistics suffice
    mean_o, std_o = (values.reshape(3) for values in cv2.meanStdDev(lab, mask=selection))
    mean_r, std_r = (values.reshape(3) for values in cv2.meanStdDev(cv2.cvtColor(sample, cv2.COLOR_RGB2LAB)))
    low, high = spread_range
    ratio = np.clip(std_r / np.maximum(std_o, 1e-3), low, high)
    values = np.arange(256, dtype=np.float64)[:, None]  # one table per channel: v -> v + s (v' - v)
    moved = (values - mean_o) * ratio + mean_r
    table = np.clip(np.round(values + strength * (moved - values)), 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.LUT(lab, table.reshape(256, 1, 3)), cv2.COLOR_LAB2RGB)


def _check_pair(backdrop: np.ndarray, source: np.ndarray) -> None:
    for name, image in (("backdrop", backdrop), ("source", source)):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"{name} must be uint8 (h, w, 3), got {image.dtype} {image.shape}")
    if backdrop.shape != source.shape:
        raise ValueError(f"backdrop {backdrop.shape} and source {source.shape} differ in shape")


def _check_alpha(alpha: np.ndarray, shape: tuple[int, ...]) -> None:
    if alpha.dtype != np.float32 or alpha.shape != tuple(shape):
        raise ValueError(f"alpha must be float32 {tuple(shape)}, got {alpha.dtype} {alpha.shape}")
