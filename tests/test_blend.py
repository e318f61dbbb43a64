"""Blend functions against the W3C Compositing and Blending Level 1 formulas, written out here in float."""

from __future__ import annotations

import numpy as np
import pytest

from sam2_gradio.compositor.blend import (
    BLEND_MODES,
    blend,
    brightness_gamma,
    composite,
    feather_alpha,
    match_brightness,
    mean_luma,
    mix,
)

RNG = np.random.default_rng(7)
BACKDROP = RNG.integers(0, 256, (17, 23, 3), dtype=np.uint8)
SOURCE = RNG.integers(0, 256, (17, 23, 3), dtype=np.uint8)


def w3c_blend(mode: str, backdrop: np.ndarray, source: np.ndarray) -> np.ndarray:
    """B(Cb, Cs) on 0..1 floats, section 10 of the W3C spec."""
    cb, cs = backdrop / 255.0, source / 255.0
    multiply = cb * cs
    screen = cb + cs - cb * cs
    # overlay(Cb, Cs) = hardlight(Cs, Cb): multiply(Cs, 2 Cb) if Cb <= 0.5 else screen(Cs, 2 Cb - 1)
    doubled = 2 * cb
    overlay = np.where(cb <= 0.5, cs * doubled, cs + (doubled - 1) - cs * (doubled - 1))
    return {"normal": cs, "multiply": multiply, "screen": screen, "overlay": overlay}[mode] * 255


@pytest.mark.parametrize("mode", BLEND_MODES)
def test_blend_matches_w3c_formula(mode):
    result = blend(BACKDROP, SOURCE, mode)
    assert result.dtype == np.uint8 and result.shape == BACKDROP.shape
    assert np.abs(result - w3c_blend(mode, BACKDROP, SOURCE)).max() <= 0.5 + 1e-9  # rounded to nearest


@pytest.mark.parametrize("mode", BLEND_MODES)
def test_composite_mixes_blend_result_by_alpha(mode):
    alpha = RNG.random(BACKDROP.shape[:2]).astype(np.float32)
    expected = (1 - alpha[..., None]) * BACKDROP + alpha[..., None] * w3c_blend(mode, BACKDROP, SOURCE)
    assert np.abs(composite(BACKDROP, SOURCE, alpha, mode) - expected).max() <= 1.0


def test_mix_with_binary_alpha_selects_pixels():
    alpha = np.zeros(BACKDROP.shape[:2], np.float32)
    alpha[:, :10] = 1
    mixed = mix(BACKDROP, SOURCE, alpha)
    assert np.array_equal(mixed[:, :10], SOURCE[:, :10]) and np.array_equal(mixed[:, 10:], BACKDROP[:, 10:])


def test_overlay_known_values():
    # 64 (dark): 2 * 64 * 200 / 255 = 100.39; 192 (light): 255 - 2 * 63 * 55 / 255 = 227.82;
    # 128 is just above 0.5: 255 - 2 * 127 * 55 / 255 = 200.22
    backdrop = np.array([[[64, 192, 128]]], np.uint8)
    source = np.array([[[200, 200, 200]]], np.uint8)
    assert blend(backdrop, source, "overlay").tolist() == [[[100, 228, 200]]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((BACKDROP, SOURCE[:5], "normal"), "differ in shape"),
        ((BACKDROP, SOURCE.astype(np.float32), "normal"), "uint8"),
        ((BACKDROP, SOURCE, "darken"), "blend mode must be one of"),
    ],
)
def test_blend_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        blend(*args)


def test_mix_rejects_wrong_alpha():
    with pytest.raises(ValueError, match="alpha must be float32"):
        mix(BACKDROP, SOURCE, np.ones(BACKDROP.shape[:2]))  # float64
    with pytest.raises(ValueError, match="alpha must be float32"):
        mix(BACKDROP, SOURCE, np.ones((3, 3), np.float32))


def test_feather_softens_inwards_only():
    alpha = np.zeros((30, 30), np.float32)
    alpha[10:20, 10:20] = 1
    feathered = feather_alpha(alpha, 2)
    assert feathered[alpha == 0].max() == 0  # nothing outside the mask
    assert feathered[15, 15] == 1  # the middle stays opaque
    # box blur of 5x5 at the edge pixel (row 15, col 10): 3 of 5 columns covered -> 3/5
    assert feathered[15, 10] == pytest.approx(0.6)
    assert feathered[15, 11] == pytest.approx(0.8)
    assert feather_alpha(alpha, 0) is alpha
    with pytest.raises(ValueError, match="feather"):
        feather_alpha(alpha, -1)


def test_mean_luma_is_bt601():
    image = np.zeros((2, 2, 3), np.uint8)
    image[0, 0] = (255, 0, 0)
    image[0, 1] = (0, 255, 0)
    image[1, 0] = (0, 0, 255)
    assert mean_luma(image) == pytest.approx(255 * (0.299 + 0.587 + 0.114) / 4)
    mask = np.zeros((2, 2), np.float32)
    mask[0, 1] = 1
    assert mean_luma(image, mask) == pytest.approx(0.587 * 255)


def test_brightness_gamma_maps_mean_to_clamped_target():
    # gain 120 / 60 = 2 is inside [0.5, 2]: 255 * (60 / 255) ** gamma must equal 120
    assert 255 * (60 / 255) ** brightness_gamma(60, 120, (0.5, 2.0)) == pytest.approx(120)
    # gain 200 / 40 = 5 is clamped to 2: target 80
    assert 255 * (40 / 255) ** brightness_gamma(40, 200, (0.5, 2.0)) == pytest.approx(80)
    assert brightness_gamma(100, 100) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="gain_range"):
        brightness_gamma(50, 100, (2.0, 1.0))


@pytest.mark.parametrize(("object_level", "background_level"), [(60, 150), (200, 90)])
def test_match_brightness_moves_object_luma_toward_background(object_level, background_level):
    source = np.full((10, 10, 3), object_level, np.uint8)
    source[::2, ::2] = (object_level // 2, object_level, min(255, object_level + 30))  # some texture
    alpha = np.ones((10, 10), np.float32)
    reference = np.full((30, 30, 3), background_level, np.uint8)
    matched = match_brightness(source, alpha, reference)
    before = mean_luma(source)
    after = mean_luma(matched)
    assert abs(after - background_level) < abs(before - background_level) * 0.5
    assert np.array_equal(match_brightness(source, np.zeros_like(alpha), reference), source)
