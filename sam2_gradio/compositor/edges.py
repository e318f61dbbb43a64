"""The edge stage between a SAM 2 mask and the blend: how much of each edge pixel is object, and its colour.

Three modes (``EDGE_MODES``), each a function of the object's frame and its mask on a crop (the object's box
grown by ``reach``), at the source resolution:

- ``hard``: the binary mask softened inwards by ``blend.feather_alpha`` (the compositor's edge until now),
  with the observed pixels as the object's colour.
- ``refine`` (the default): a fast guided filter of the mask guided by the frame (He and Sun 2015,
  "Fast Guided Filter"), pushed away from 0.5 by ``REFINE_GAIN``, kept to a band of ``band`` pixels around
  the mask's edge and to the mask where the frame is flat; the object's colour in that band estimated by
  blur fusion (Forte and Pitie 2021, "Approximate Fast Foreground Colour Estimation"), so the background
  the object was filmed on does not come along; and, from frame to frame, an average with the previous
  alpha warped by DIS optical flow.
- ``matte``: closed-form matting (Levin et al. 2008) in the band widened ``MATTE_BAND_SCALE`` times
  (``matte_band``), the matting Laplacian applied with box filters (He, Sun and Tang 2010, "Fast Matting
  Using Large Kernel Matting Laplacian Matrices") and solved by conjugate gradients from the ``refine``
  alpha, which also serves as a weak prior; then the same foreground estimation. Seconds per frame.

OpenCV and NumPy only. Frames are RGB ``uint8`` (h, w, 3); alphas ``float32`` (h, w) in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sam2_gradio import config
from sam2_gradio.compositor.blend import feather_alpha

EDGE_MODES = config.EDGE_MODES
GUIDE_RADIUS = 16  # guided filter window radius, source pixels
GUIDE_SUBSAMPLE = 4  # the guided filter's coefficients are computed at 1/4 of the resolution
GUIDE_EPS = 1e-4  # guided filter regularisation, for a 0..1 guide
GUIDE_EVIDENCE = 1e-3  # local colour variance (0..1 guide) at which the filter and the mask count alike
REFINE_GAIN = 1.25  # alpha -> 0.5 + gain * (alpha - 0.5), clipped
FUSION_RADII = (90, 6)  # blur-fusion box radii: the coarse pass, then the fine pass
FUSION_SUBSAMPLE = 4  # the coarse pass runs at 1/4 of the resolution, the fine one at 1/2
TEMPORAL_WEIGHT = 0.5  # share of the flow-warped previous alpha in this frame's alpha
TEMPORAL_TOLERANCE = 12.0  # mean RGB difference (0..255) at which the warped previous frame is trusted 1/e
MATTE_RADIUS = 1  # matting Laplacian window radius
MATTE_EPS = 1e-6  # matting Laplacian regularisation
MATTE_BAND_SCALE = 1.5  # matte's unknown region reaches this many times the band from the mask's edge
MATTE_PRIOR = 0.005  # weight of the refine alpha inside the band (outside it: MATTE_KNOWN)
MATTE_KNOWN = 1.0  # weight of the mask outside the band
MATTE_ITERATIONS = 50  # conjugate gradient iterations
MATTE_SNAP = 0.05  # a matte alpha this close to 0 or 1 is taken as 0 or 1 (no faint haze around the edge)
_DENSE_SHARE = 0.5  # `_bilinear_at` enlarges the whole picture when asked for at least this share of it
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


@dataclass(frozen=True)
class Cutout:
    """An object's colour and alpha on a crop: what the blend pastes."""

    foreground: np.ndarray  # uint8 (h, w, 3) RGB, the object's own colour (observed pixels for ``hard``)
    alpha: np.ndarray  # float32 (h, w) in [0, 1]


def reach(edge: str, band: int) -> int:
    """How far (pixels) past the mask's box ``edge`` may read or change pixels: the crop's margin."""
    check_edge(edge, band)
    if edge == "hard":
        return 0
    return (matte_band(band) if edge == "matte" else band) + GUIDE_RADIUS


def matte_band(band: int) -> int:
    """The band ``matte`` solves in and may change: ``band`` widened ``MATTE_BAND_SCALE`` times (the
    closed-form solve gains from its known pixels lying further from an uncertain edge)."""
    return int(np.ceil(band * MATTE_BAND_SCALE))


def check_edge(edge: str, band: int) -> None:
    """Raise ValueError naming ``edge`` or ``band`` when outside ``EDGE_MODES`` or below 1."""
    if edge not in EDGE_MODES:
        raise ValueError(f"edge must be one of {', '.join(EDGE_MODES)}, got {edge!r}")
    if band < 1:
        raise ValueError(f"edge band must be at least 1 pixel, got {band}")


def hard(frame: np.ndarray, mask: np.ndarray, feather: int) -> Cutout:
    """The compositor's edge before edge modes: the observed pixels through ``feather_alpha(mask,
    feather)``, bit for bit.

    Args:
        frame: ``uint8`` (h, w, 3) RGB.
        mask: ``float32`` (h, w) in [0, 1], the SAM 2 mask.
        feather: inward softening in pixels, >= 0.
    """
    _check_frame_and_alpha(frame, mask)
    return Cutout(frame, feather_alpha(mask, feather))


def refine(frame: np.ndarray, mask: np.ndarray, band: int) -> Cutout:
    """Edge-aware alpha (``refine_alpha``) and the object's colour under it (``estimate_foreground``) in
    the band; shapes as in ``refine_alpha``."""
    frame, mask = np.ascontiguousarray(frame), np.ascontiguousarray(mask)
    _check_frame_and_alpha(frame, mask)
    zone = edge_band(mask, band)
    views = _Views(frame, zone)
    alpha = _with_band(zone, _refined(views, mask, zone))
    return Cutout(_foreground(views, alpha, zone), alpha)


def matte(frame: np.ndarray, mask: np.ndarray, band: int) -> Cutout:
    """Closed-form matte in the band (``matte_alpha``) and the object's colour under it; shapes as in
    ``refine_alpha``."""
    frame, mask = np.ascontiguousarray(frame), np.ascontiguousarray(mask)
    _check_frame_and_alpha(frame, mask)
    zone = edge_band(mask, matte_band(band))
    views = _Views(frame, zone)
    alpha = _with_band(zone, _matted(views, mask, zone))
    return Cutout(_foreground(views, alpha, zone), alpha)


def refine_alpha(frame: np.ndarray, mask: np.ndarray, band: int) -> np.ndarray:
    """``clip(0.5 + REFINE_GAIN * (guided_filter(frame, mask) - 0.5))`` inside the band, the mask outside.

    Args:
        frame: ``uint8`` (h, w, 3) RGB, the guide.
        mask: ``float32`` (h, w) in [0, 1].
        band: pixels on either side of the mask's 0.5 contour that may change, >= 1.

    Returns:
        ``float32`` (h, w) in [0, 1].
    """
    frame, mask = np.ascontiguousarray(frame), np.ascontiguousarray(mask)
    _check_frame_and_alpha(frame, mask)
    zone = edge_band(mask, band)
    return _with_band(zone, _refined(_Views(frame, zone), mask, zone))


class _Views:
    """A crop's frame as the edge stages read it, each form made once: its pixels in the band and the
    frame shrunk by averaging, RGB in 0..1 (``float32``)."""

    def __init__(self, frame: np.ndarray, zone: EdgeBand) -> None:
        self.frame = frame  # uint8 (h, w, 3)
        self.pixels = _gather(frame, zone.flat).astype(np.float32) * np.float32(1 / 255)  # (n, 3)
        self._shrunk: dict[int, np.ndarray] = {}

    def shrunk(self, factor: int) -> np.ndarray:
        """``float32`` (about h / factor, w / factor, 3) in 0..1: the frame averaged over ``factor``-pixel
        squares (halved step by step while ``factor`` is even)."""
        if factor not in self._shrunk:
            if factor % 2 == 0 and factor > 2:
                self._shrunk[factor] = _shrink(self.shrunk(2), factor // 2)
            else:
                self._shrunk[factor] = _shrink(self.frame.astype(np.float32), factor) * np.float32(1 / 255)
        return self._shrunk[factor]


def _shrink(image: np.ndarray, factor: int) -> np.ndarray:
    """``image`` made ``factor`` times smaller (sizes rounded up) by averaging: halved while ``factor`` is
    even (a bilinear sample between 2 x 2 pixels is their mean, and cheap), ``INTER_AREA`` for the rest."""
    while factor % 2 == 0 and factor > 1:
        height, width = image.shape[:2]
        image = cv2.resize(image, ((width + 1) // 2, (height + 1) // 2), interpolation=cv2.INTER_LINEAR)
        factor //= 2
    if factor > 1:
        height, width = image.shape[:2]
        size = (-(-width // factor), -(-height // factor))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def _gather(image: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """The (n, c) values of ``image`` (h, w, c) at the flattened indices ``flat`` (n,)."""
    return np.take(image.reshape(-1, image.shape[2]), flat, axis=0)


def _refined(views: _Views, mask: np.ndarray, zone: EdgeBand) -> np.ndarray:
    """``refine_alpha`` at the pixels of ``zone`` (n,): the sharpened filter where the frame has contrast,
    the mask where it is flat (weight ``v / (v + GUIDE_EVIDENCE)``, ``v`` the local colour variance), so
    that a mask edge with no edge in the picture under it stays where it is."""
    filtered, variance = _guided_at(
        views.shrunk(GUIDE_SUBSAMPLE), _shrink(mask, GUIDE_SUBSAMPLE), views.pixels, zone,
        mask.shape, radius=GUIDE_RADIUS, eps=GUIDE_EPS, subsample=GUIDE_SUBSAMPLE,
    )  # fmt: skip
    sharpened = sharpen(filtered[None], REFINE_GAIN)[0]
    observed = mask.reshape(-1)[zone.flat]
    evidence = variance / (variance + np.float32(GUIDE_EVIDENCE))
    return observed + evidence * (sharpened - observed)


def guided_filter(
    guide: np.ndarray,
    source: np.ndarray,
    *,
    radius: int,
    eps: float,
    subsample: int,
) -> np.ndarray:
    """Fast guided filter of ``source`` with the colour image ``guide`` (He and Sun 2015).

    The linear coefficients ``a`` (3 per pixel) and ``b`` of ``q = a . I + b`` are fitted in windows of
    radius ``radius / subsample`` on images shrunk ``subsample`` times (by averaging), averaged, enlarged
    back (bilinear) and applied to the full-resolution guide ``I`` (scaled to 0..1).

    Args:
        guide: ``uint8`` (h, w, 3).
        source: ``float32`` (h, w).
        radius: window radius in full-resolution pixels, >= 1.
        eps: regularisation, > 0, for a 0..1 guide.
        subsample: shrink factor, >= 1.

    Returns:
        ``float32`` (h, w), not clipped.
    """
    _check_frame_and_alpha(guide, source, alpha_name="source", check_range=False)
    if radius < 1 or subsample < 1 or eps <= 0:
        raise ValueError(f"need radius >= 1, subsample >= 1, eps > 0; got {radius}, {subsample}, {eps}")
    guide, source = np.ascontiguousarray(guide), np.ascontiguousarray(source)
    zone = _everywhere(source.shape)
    views = _Views(guide, zone)
    values, _ = _guided_at(
        views.shrunk(subsample), _shrink(source, subsample), views.pixels, zone, source.shape,
        radius=radius, eps=eps, subsample=subsample,
    )  # fmt: skip
    return values.reshape(source.shape)


def _guided_at(
    image_small: np.ndarray,
    source_small: np.ndarray,
    pixels: np.ndarray,
    zone: EdgeBand,
    shape: tuple[int, int],
    *,
    radius: int,
    eps: float,
    subsample: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``guided_filter`` at the pixels of ``zone`` only, and the guide's local colour variance (the trace
    of its covariance, window-averaged) there: ``float32`` (n,) each.

    ``image_small`` and ``source_small`` are the guide (0..1) and the source shrunk ``subsample`` times;
    ``pixels`` the full-resolution guide (0..1) at the pixels of ``zone`` in a crop of ``shape``."""
    window = 2 * max(1, round(radius / subsample)) + 1

    def mean(values: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(values, -1, (window, window), borderType=cv2.BORDER_REFLECT)

    mean_image, mean_source = mean(image_small), mean(source_small)
    covariance_source = mean(image_small * source_small[..., None]) - mean_image * mean_source[..., None]
    products = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
    rr, rg, rb, gg, gb, bb = (
        mean(image_small[..., i] * image_small[..., j]) - mean_image[..., i] * mean_image[..., j]
        for i, j in products
    )
    variance = rr + gg + bb
    rr, gg, bb = rr + eps, gg + eps, bb + eps
    # inverse of the symmetric 3x3 [[rr, rg, rb], [rg, gg, gb], [rb, gb, bb]] by cofactors
    inv_rr, inv_rg, inv_rb = gg * bb - gb * gb, rb * gb - rg * bb, rg * gb - rb * gg
    inv_gg, inv_gb, inv_bb = rr * bb - rb * rb, rb * rg - rr * gb, rr * gg - rg * rg
    determinant = rr * inv_rr + rg * inv_rg + rb * inv_rb
    c_r, c_g, c_b = (covariance_source[..., k] / determinant for k in range(3))
    a_r = inv_rr * c_r + inv_rg * c_g + inv_rb * c_b
    a_g = inv_rg * c_r + inv_gg * c_g + inv_gb * c_b
    a_b = inv_rb * c_r + inv_gb * c_g + inv_bb * c_b
    b = mean_source - a_r * mean_image[..., 0] - a_g * mean_image[..., 1] - a_b * mean_image[..., 2]
    stacked = cv2.merge([a_r, a_g, a_b, b, variance]).astype(np.float32, copy=False)
    picked = _bilinear_at(mean(stacked), zone.rows, zone.columns, (shape[1], shape[0]))  # (n, 5)
    values = np.einsum("nc,nc->n", picked[:, :3], pixels) + picked[:, 3]
    return values.astype(np.float32, copy=False), np.ascontiguousarray(picked[:, 4])


def _bilinear_at(
    small: np.ndarray, rows: np.ndarray, columns: np.ndarray, full: tuple[int, int]
) -> np.ndarray:
    """Values of ``small`` (sh, sw, c) enlarged bilinearly to ``full`` = (w, h) (as ``cv2.resize`` does),
    at the pixels (rows, columns) only: (n, c). When those are most of the picture (a ragged mask is edge
    almost everywhere) the whole picture is enlarged and they are picked from it, which is faster."""
    if rows.size >= _DENSE_SHARE * full[0] * full[1]:
        enlarged = cv2.resize(small, full, interpolation=cv2.INTER_LINEAR)
        return np.take(enlarged.reshape(-1, *small.shape[2:]), rows * full[0] + columns, axis=0)
    scale_x, scale_y = small.shape[1] / full[0], small.shape[0] / full[1]
    return _sample(small, (columns + 0.5) * scale_x - 0.5, (rows + 0.5) * scale_y - 0.5)


def _sample(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` (h, w) or (h, w, c) at the (n,) points (x, y), edges replicated:
    (n,) or (n, c)."""
    count, line = x.size, 1024  # remap takes at most 32767 rows: points go in lines of 1024
    padded = max(1, -(-count // line)) * line
    map_x, map_y = np.zeros(padded, np.float32), np.zeros(padded, np.float32)
    map_x[:count], map_y[:count] = x, y
    picked = cv2.remap(
        image, map_x.reshape(-1, line), map_y.reshape(-1, line), cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    return picked.reshape(padded, *image.shape[2:])[:count]


def sharpen(alpha: np.ndarray, gain: float) -> np.ndarray:
    """``clip(0.5 + gain * (alpha - 0.5), 0, 1)``: ``float32`` (h, w) in, ``float32`` (h, w) in [0, 1] out."""
    if alpha.dtype != np.float32 or alpha.ndim != 2:
        raise ValueError(f"alpha must be float32 (h, w), got {alpha.dtype} {alpha.shape}")
    if gain <= 0:
        raise ValueError(f"gain must be > 0, got {gain}")
    return np.clip(np.float32(0.5) + np.float32(gain) * (alpha - np.float32(0.5)), 0, 1)


@dataclass(frozen=True)
class EdgeBand:
    """The pixels of a crop that an edge mode may change: those near the mask's 0.5 contour."""

    inside: np.ndarray  # bool (h, w): the object side of the contour (the alpha outside the band)
    rows: np.ndarray  # int (n,): rows of the pixels within the band
    columns: np.ndarray  # int (n,): their columns
    flat: np.ndarray  # int (n,): their indices in the flattened (h * w) crop


def edge_band(mask: np.ndarray, band: int) -> EdgeBand:
    """The pixels within ``band`` pixels (along rows and columns: a square) of the 0.5 contour of the
    ``float32`` (h, w) ``mask``, on either side, and the mask's inside."""
    _check_alpha(mask, mask.shape)
    if band < 1:
        raise ValueError(f"edge band must be at least 1 pixel, got {band}")
    inside = (mask >= 0.5).view(np.uint8)
    contour = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, _CROSS, borderType=cv2.BORDER_REPLICATE)
    near = cv2.dilate(contour, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * band - 1,) * 2))
    points = cv2.findNonZero(near)  # int32 (x, y) pairs, row by row; None when empty
    if points is None:
        empty = np.zeros(0, np.intp)
        return EdgeBand(inside.view(bool), empty, empty, empty)
    points = points.reshape(-1, 2).astype(np.intp)
    columns, rows = points[:, 0], points[:, 1]
    return EdgeBand(inside.view(bool), rows, columns, rows * mask.shape[1] + columns)


def _pixels(shape: tuple[int, int], flat: np.ndarray) -> EdgeBand:
    """An ``EdgeBand`` of the pixels ``flat`` (indices into the flattened crop of ``shape``), inside unset."""
    rows, columns = np.divmod(flat, shape[1])
    return EdgeBand(np.zeros(shape, bool), rows, columns, flat)


def _everywhere(shape: tuple[int, int]) -> EdgeBand:
    """An ``EdgeBand`` of every pixel of a crop of ``shape``."""
    return _pixels(shape, np.arange(shape[0] * shape[1]))


def _with_band(zone: EdgeBand, values: np.ndarray) -> np.ndarray:
    """``float32`` (h, w): the mask's inside (1) and outside (0), with ``values`` (n,) in the band."""
    alpha = zone.inside.astype(np.float32)
    alpha.reshape(-1)[zone.flat] = values
    return alpha


def estimate_foreground(frame: np.ndarray, alpha: np.ndarray, zone: EdgeBand | None = None) -> np.ndarray:
    """The object's own colour ``F`` under ``alpha`` by blur fusion (Forte and Pitie 2021), ``uint8``.

    Two passes of ``F = F_blur + alpha * (I - alpha * F_blur - (1 - alpha) * B_blur)``, where ``F_blur``
    and ``B_blur`` are the alpha- and (1 - alpha)-weighted box means of the current foreground and
    background estimates: radius ``FUSION_RADII[0]`` (run at 1/``FUSION_SUBSAMPLE`` resolution) from the
    observed image, then ``FUSION_RADII[1]`` from the first pass (at 1/2 resolution), sampled bilinearly
    at the full-resolution pixels. Where alpha is 1, ``F`` is the observed
    pixel; only pixels with alpha < 1 (those of ``zone`` when given) change.

    Args:
        frame: ``uint8`` (h, w, 3) RGB, the observed pixels ``I``.
        alpha: ``float32`` (h, w) in [0, 1].
        zone: the pixels to estimate (default: every pixel with 0 < alpha < 1).

    Returns:
        ``uint8`` (h, w, 3) RGB.
    """
    _check_frame_and_alpha(frame, alpha, alpha_name="alpha")
    frame, alpha = np.ascontiguousarray(frame), np.ascontiguousarray(alpha)
    if zone is None:
        zone = _pixels(alpha.shape, np.flatnonzero((alpha > 0) & (alpha < 1)))
    return _foreground(_Views(frame, zone), alpha, zone)


def _foreground(views: _Views, alpha: np.ndarray, zone: EdgeBand) -> np.ndarray:
    """``estimate_foreground`` on the pixels of ``zone`` (whose pixels ``views`` holds), unchecked."""
    frame = views.frame
    if zone.flat.size == 0:
        return frame
    height, width = alpha.shape
    alpha_half = _shrink(alpha, 2)
    image_quarter = views.shrunk(FUSION_SUBSAMPLE)
    alpha_quarter = _shrink(alpha_half, FUSION_SUBSAMPLE // 2)
    coarse = max(1, round(FUSION_RADII[0] / FUSION_SUBSAMPLE))
    fore_quarter, back_quarter = _fused_means(image_quarter, image_quarter, alpha_quarter, coarse)
    # the first estimate at 1/2 resolution: the observed pixel where alpha is 1 (0 where it is 0, unused)
    image_half = views.shrunk(2)
    half = (alpha_half.shape[1], alpha_half.shape[0])
    soft = _pixels(alpha_half.shape, np.flatnonzero((alpha_half > 0) & (alpha_half < 1)))
    weight = alpha_half.reshape(-1)[soft.flat][:, None]
    first = image_half * alpha_half[..., None]  # weighted by alpha, as the fine pass's mean needs it
    first.reshape(-1, 3)[soft.flat] = weight * _fuse(
        _gather(image_half, soft.flat),
        _bilinear_at(fore_quarter, soft.rows, soft.columns, half),
        _bilinear_at(back_quarter, soft.rows, soft.columns, half),
        weight,
    )
    window = (2 * max(1, FUSION_RADII[1] // 2) + 1,) * 2
    fore_half = cv2.blur(first, window) / (cv2.blur(alpha_half, window)[..., None] + np.float32(1e-5))
    fore = _bilinear_at(fore_half, zone.rows, zone.columns, (width, height))
    back = _bilinear_at(back_quarter, zone.rows, zone.columns, (width, height))
    weight = alpha.reshape(-1)[zone.flat][:, None]
    fused = _fuse(views.pixels, fore, back, weight) * np.float32(255) + np.float32(0.5)
    result = frame.copy()
    result.reshape(-1, 3)[zone.flat] = fused.astype(np.uint8)
    return result


def _fused_means(
    foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """Alpha-weighted box mean of ``foreground`` and (1 - alpha)-weighted box mean of ``background``."""
    window = (2 * radius + 1, 2 * radius + 1)
    weight = alpha[..., None]
    blurred_alpha = cv2.blur(alpha, window)[..., None]
    fore = cv2.blur(foreground * weight, window) / (blurred_alpha + np.float32(1e-5))
    back = cv2.blur(background * (1 - weight), window) / (1 - blurred_alpha + np.float32(1e-5))
    return fore.astype(np.float32, copy=False), back.astype(np.float32, copy=False)


def _fuse(image: np.ndarray, fore: np.ndarray, back: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """One blur-fusion step on (..., 3) pixels with (..., 1) alpha ``weight``:
    ``F + a (I - a F - (1 - a) B)``, computed in place as ``F + a (I - B) + a^2 (B - F)``, clipped."""
    fused = (image - back).astype(np.float32, copy=False)
    fused *= weight
    towards_back = back - fore
    towards_back *= weight * weight
    fused += towards_back
    fused += fore
    return np.clip(fused, 0, 1, out=fused)


def matte_alpha(frame: np.ndarray, mask: np.ndarray, band: int) -> np.ndarray:
    """Closed-form matte in the ``matte_band(band)`` pixels around the mask's edge; the mask outside them.

    Minimises ``a' L a + (a - p)' D (a - p)`` with ``L`` the matting Laplacian of ``frame`` (windows of
    radius ``MATTE_RADIUS``, regularisation ``MATTE_EPS``), ``p`` the ``refine_alpha`` of the mask (0/1
    outside the band) and ``D`` the weight ``MATTE_PRIOR`` inside the band, ``MATTE_KNOWN`` outside;
    ``MATTE_ITERATIONS`` conjugate gradient steps from ``p``; values within ``MATTE_SNAP`` of 0 or 1 are
    snapped to them.

    Shapes as in ``refine_alpha``; returns ``float32`` (h, w) in [0, 1].
    """
    frame, mask = np.ascontiguousarray(frame), np.ascontiguousarray(mask)
    _check_frame_and_alpha(frame, mask)
    zone = edge_band(mask, matte_band(band))
    return _with_band(zone, _matted(_Views(frame, zone), mask, zone))


def _matted(views: _Views, mask: np.ndarray, zone: EdgeBand) -> np.ndarray:
    """``matte_alpha`` at the pixels of ``zone`` (n,)."""
    prior = _with_band(zone, _refined(views, mask, zone))
    weight = np.full(mask.shape, MATTE_KNOWN, np.float32)
    weight.reshape(-1)[zone.flat] = MATTE_PRIOR
    laplacian = _MattingLaplacian(views.frame.astype(np.float32) / 255, MATTE_RADIUS, MATTE_EPS)
    solved = _conjugate_gradients(
        lambda values: laplacian.apply(values) + weight * values, weight * prior, prior, MATTE_ITERATIONS
    )
    values = np.clip(solved.reshape(-1)[zone.flat], 0, 1)
    return np.where(values < MATTE_SNAP, 0, np.where(values > 1 - MATTE_SNAP, 1, values)).astype(np.float32)


class _MattingLaplacian:
    """``L @ p`` for the closed-form matting Laplacian, by box filters (He, Sun and Tang 2010, eq. 8-10)."""

    def __init__(self, image: np.ndarray, radius: int, eps: float) -> None:
        self.image = image  # float32 (h, w, 3) in 0..1
        self.window = (2 * radius + 1, 2 * radius + 1)
        self.count = np.float32(self.window[0] * self.window[1])
        self.mean_image = self._mean(image)
        covariance = np.empty((*image.shape[:2], 3, 3), np.float32)
        for i in range(3):
            for j in range(i, 3):
                mean_product = self._mean(image[..., i] * image[..., j])
                covariance[..., i, j] = mean_product - self.mean_image[..., i] * self.mean_image[..., j]
                covariance[..., j, i] = covariance[..., i, j]
        inverse = np.linalg.inv(covariance + np.float32(eps / self.count) * np.eye(3, dtype=np.float32))
        self.inverse = [[np.ascontiguousarray(inverse[..., i, j]) for j in range(3)] for i in range(3)]

    def _mean(self, values: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(values, -1, self.window, borderType=cv2.BORDER_REFLECT)

    def _sum(self, values: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(values, -1, self.window, normalize=False, borderType=cv2.BORDER_REFLECT)

    def apply(self, values: np.ndarray) -> np.ndarray:
        mean_values = self._mean(values)
        covariance = self._mean(self.image * values[..., None]) - self.mean_image * mean_values[..., None]
        a = cv2.merge([sum(self.inverse[i][j] * covariance[..., j] for j in range(3)) for i in range(3)])
        b = mean_values - np.sum(a * self.mean_image, axis=-1)
        return self.count * values - (np.sum(self._sum(a) * self.image, axis=-1) + self._sum(b))


def _conjugate_gradients(apply, right: np.ndarray, start: np.ndarray, iterations: int) -> np.ndarray:
    """Approximate solution of ``apply(x) = right`` (symmetric positive definite) from ``start``."""
    solution = start.copy()
    residual = right - apply(solution)
    direction = residual.copy()
    norm = float(np.sum(residual * residual))
    for _ in range(iterations):
        if norm < 1e-10:
            break
        product = apply(direction)
        step = norm / float(np.sum(direction * product))
        solution += step * direction
        residual -= step * product
        new_norm = float(np.sum(residual * residual))
        direction = residual + (new_norm / norm) * direction
        norm = new_norm
    return solution


def temporal_smooth(
    alpha: np.ndarray,
    frame: np.ndarray,
    previous_alpha: np.ndarray,
    previous_frame: np.ndarray,
    known: np.ndarray,
    weight: float = TEMPORAL_WEIGHT,
    zone: EdgeBand | None = None,
) -> np.ndarray:
    """Average ``alpha`` with ``previous_alpha`` warped along the motion from the previous frame.

    The previous frame is warped onto this one by DIS optical flow of the luma (this frame to the previous,
    OpenCV's ultrafast preset, at half resolution); each pixel takes ``weight * exp(-d /
    TEMPORAL_TOLERANCE)`` of the warped previous alpha, ``d`` being the mean absolute RGB difference between
    the warped previous frame and this one (a pixel whose colour does not match is not trusted), where
    ``known`` (the previous values are real there) and inside the crop, none elsewhere.

    Args:
        alpha: ``float32`` (h, w) in [0, 1], this frame's alpha.
        frame: ``uint8`` (h, w, 3) RGB, this frame.
        previous_alpha: ``float32`` (h, w) in [0, 1], the previous frame's (smoothed) alpha on the same crop.
        previous_frame: ``uint8`` (h, w, 3) RGB, the previous frame on the same crop.
        known: ``bool`` (h, w), where the previous frame's values are known.
        weight: share of the previous alpha, in [0, 1).
        zone: the pixels to smooth (default: all).

    Returns:
        ``float32`` (h, w) in [0, 1].
    """
    _check_frame_and_alpha(frame, alpha, alpha_name="alpha")
    _check_frame_and_alpha(previous_frame, previous_alpha, alpha_name="previous_alpha")
    if previous_alpha.shape != alpha.shape:
        raise ValueError(f"previous_alpha {previous_alpha.shape} and alpha {alpha.shape} differ in shape")
    if known.dtype != np.bool_ or known.shape != alpha.shape:
        raise ValueError(f"known must be bool {alpha.shape}, got {known.dtype} {known.shape}")
    if not 0 <= weight < 1:
        raise ValueError(f"weight must be in [0, 1), got {weight}")
    frame, previous_frame = np.ascontiguousarray(frame), np.ascontiguousarray(previous_frame)
    zone = zone if zone is not None else _everywhere(alpha.shape)
    flow = _flow_at(_gray(frame), _gray(previous_frame), zone)
    previous = _Previous(np.ascontiguousarray(previous_alpha), previous_frame, (0, 0), known)
    pixels = _gather(frame, zone.flat).astype(np.float32) * np.float32(1 / 255)
    smoothed = alpha.copy()
    here = smoothed.reshape(-1)[zone.flat]
    smoothed.reshape(-1)[zone.flat] = _smoothed(here, pixels, zone, flow, previous, weight)
    return smoothed


@dataclass(frozen=True)
class _Previous:
    """The previous frame's alpha and pixels, and where a pixel (x, y) of this crop lies on them."""

    alpha: np.ndarray  # float32 (ph, pw)
    frame: np.ndarray  # uint8 (ph, pw, 3) RGB
    offset: tuple[int, int]  # (dx, dy): this crop's pixel (x, y) is the previous one's (x + dx, y + dy)
    known: np.ndarray | None  # bool (ph, pw): where the previous values are real (None: everywhere)


def _gray(frame: np.ndarray) -> np.ndarray:
    """``uint8`` (h, w) luma of an RGB ``uint8`` frame."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def _flow_at(gray: np.ndarray, previous_gray: np.ndarray, zone: EdgeBand) -> np.ndarray:
    """``float32`` (n, 2): DIS optical flow (ultrafast, at half resolution) from ``gray`` to
    ``previous_gray`` (``uint8``, the same shape) at the pixels of ``zone``, in full-resolution pixels."""
    height, width = gray.shape
    small, previous_small = _shrink(gray, 2), _shrink(previous_gray, 2)
    if min(small.shape) < 8:  # too small for a flow pyramid: no motion to follow
        return np.zeros((zone.flat.size, 2), np.float32)
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST).calc(small, previous_small, None)
    scale = np.array([width / small.shape[1], height / small.shape[0]], np.float32)
    return _bilinear_at(flow, zone.rows, zone.columns, (width, height)) * scale


def _smoothed(
    values: np.ndarray,
    pixels: np.ndarray,
    zone: EdgeBand,
    flow: np.ndarray,
    previous: _Previous,
    weight: float,
) -> np.ndarray:
    """``temporal_smooth`` at the pixels of ``zone`` (n,), from their ``values`` (n,) and RGB ``pixels``
    (n, 3, 0..1) and the ``flow`` (n, 2) from this frame to the previous one."""
    x = zone.columns + (flow[:, 0] + np.float32(previous.offset[0]))
    y = zone.rows + (flow[:, 1] + np.float32(previous.offset[1]))
    height, width = previous.alpha.shape
    trusted = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
    if previous.known is not None:
        trusted &= _sample(previous.known.astype(np.float32), x, y) > 0.999  # all four neighbours known
    warped_alpha = _sample(previous.alpha, x, y)
    warped_frame = _sample(previous.frame, x, y).astype(np.float32) * np.float32(1 / 255)
    channels = np.abs(warped_frame - pixels)
    difference = (channels[:, 0] + channels[:, 1] + channels[:, 2]) * np.float32(255 / 3)  # 10x .sum(-1)
    share = np.float32(weight) * np.exp(-difference / np.float32(TEMPORAL_TOLERANCE)) * trusted
    return values + share * (warped_alpha - values)


class EdgeHistory:
    """The previous frame's alpha and pixels of one cut-out object, for ``cut_out``'s temporal smoothing.

    Kept in the object video's coordinates with the crop they cover; a frame that does not follow the
    previous one (a seek, a loop) starts afresh, and the same frame again returns the same cut-out.
    """

    def __init__(self) -> None:
        self.frame_index: int | None = None  # object frame of the kept values
        self.box: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1) of the crop they cover
        self.alpha: np.ndarray | None = None  # float32 (h, w), the smoothed alpha
        self.frame: np.ndarray | None = None  # uint8 (h, w, 3), the RGB crop
        self.gray: np.ndarray | None = None  # uint8 (h, w), its luma
        self.cutout: Cutout | None = None  # what cut_out returned for that frame


def cut_out(
    frame: np.ndarray,
    mask: np.ndarray,
    *,
    edge: str,
    band: int,
    feather: int,
    box: tuple[int, int, int, int] | None = None,
    frame_index: int | None = None,
    history: EdgeHistory | None = None,
) -> Cutout:
    """The object's colour and alpha on a crop under edge mode ``edge`` (see the module docstring).

    Args:
        frame: ``uint8`` (h, w, 3) RGB crop of the object's frame (its box grown by ``reach(edge, band)``).
        mask: ``float32`` (h, w) in [0, 1], the SAM 2 mask on the same crop.
        edge: one of ``EDGE_MODES``.
        band: pixels on either side of the mask's edge that ``refine`` may change (``matte``:
            ``matte_band(band)``).
        feather: inward softening of ``hard``, pixels.
        box: (x0, y0, x1, y1) of the crop in the object video; with ``frame_index`` and ``history``,
            ``refine`` and ``matte`` average with the previous frame along the motion.
        frame_index: index of the frame in the object video.
        history: the object's ``EdgeHistory``, updated in place.
    """
    check_edge(edge, band)
    if edge == "hard":
        return hard(frame, mask, feather)
    frame, mask = np.ascontiguousarray(frame), np.ascontiguousarray(mask)  # pixels are indexed flat
    _check_frame_and_alpha(frame, mask)
    tracked = history is not None and box is not None and frame_index is not None
    if tracked and (frame_index, box) == (history.frame_index, history.box):
        return history.cutout
    if not tracked:
        return refine(frame, mask, band) if edge == "refine" else matte(frame, mask, band)
    zone = edge_band(mask, band if edge == "refine" else matte_band(band))
    views = _Views(frame, zone)
    values = _refined(views, mask, zone) if edge == "refine" else _matted(views, mask, zone)
    gray = _gray(frame)
    if history.frame_index is not None and frame_index == history.frame_index + 1:
        flow = _flow_at(gray, _previous_gray_on(history, box, gray), zone)
        offset = (box[0] - history.box[0], box[1] - history.box[1])
        previous = _Previous(history.alpha, history.frame, offset, None)
        values = _smoothed(values, views.pixels, zone, flow, previous, TEMPORAL_WEIGHT)
    alpha = _with_band(zone, values)
    cutout = Cutout(_foreground(views, alpha, zone), alpha)
    history.frame_index, history.box, history.alpha, history.gray = frame_index, box, alpha, gray
    history.frame, history.cutout = frame.copy(), cutout
    return cutout


def _previous_gray_on(history: EdgeHistory, box: tuple[int, int, int, int], gray: np.ndarray) -> np.ndarray:
    """The kept luma moved onto crop ``box``, this frame's luma ``gray`` where it is unknown."""
    if box == history.box:
        return history.gray
    x0, y0, x1, y1 = box
    px0, py0, px1, py1 = history.box
    moved = gray.copy()
    ix0, iy0, ix1, iy1 = max(x0, px0), max(y0, py0), min(x1, px1), min(y1, py1)
    if ix0 < ix1 and iy0 < iy1:
        here = (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0))
        moved[here] = history.gray[iy0 - py0 : iy1 - py0, ix0 - px0 : ix1 - px0]
    return moved


def _check_frame_and_alpha(
    frame: np.ndarray, alpha: np.ndarray, *, alpha_name: str = "mask", check_range: bool = True
) -> None:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be uint8 (h, w, 3), got {frame.dtype} {frame.shape}")
    _check_alpha(alpha, frame.shape[:2], name=alpha_name, check_range=check_range)


def _check_alpha(
    alpha: np.ndarray, shape: tuple[int, ...], *, name: str = "mask", check_range: bool = True
) -> None:
    if alpha.dtype != np.float32 or alpha.shape != tuple(shape):
        raise ValueError(f"{name} must be float32 {tuple(shape)}, got {alpha.dtype} {alpha.shape}")
    if check_range and alpha.size and (float(alpha.min()) < 0 or float(alpha.max()) > 1):
        raise ValueError(f"{name} must lie in [0, 1], got {float(alpha.min())}..{float(alpha.max())}")
