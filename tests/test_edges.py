"""The edge stage (``compositor.edges``) against known answers: a two-colour image whose alpha is a known
ramp, the foreground colour under a known alpha, motion followed by the temporal step, loud argument
checks, and ``edge="hard"`` reproducing the compositor's and the alpha export's output from before edges
existed, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from sam2_gradio.compositor.blend import composite, feather_alpha
from sam2_gradio.compositor.edges import (
    EdgeHistory,
    cut_out,
    edge_band,
    estimate_foreground,
    guided_filter,
    matte_alpha,
    reach,
    refine_alpha,
    temporal_smooth,
)
from sam2_gradio.compositor.render import ComposeOptions, compose_frame
from sam2_gradio.engine.exports.export_formats import alpha_frame, cutout_rgba
from sam2_gradio.media.mask_files import load_mask_set, save_mask_png

HEIGHT, WIDTH = 48, 64
OBJECT = np.array([200, 40, 40], np.float32)
BACKDROP = np.array([20, 60, 180], np.float32)
RAMP = (28, 36)  # alpha goes linearly from 0 at column 28 to 1 at column 36


def ramp_alpha() -> np.ndarray:
    columns = np.arange(WIDTH, dtype=np.float32)
    ramp = np.clip((columns - RAMP[0]) / (RAMP[1] - RAMP[0]), 0, 1)
    return np.ascontiguousarray(np.broadcast_to(ramp, (HEIGHT, WIDTH)), dtype=np.float32)


def observed(alpha: np.ndarray, foreground=OBJECT, background=BACKDROP) -> np.ndarray:
    """The matting equation ``I = a F + (1 - a) B`` with constant F and B, rounded to uint8."""
    weight = alpha[..., None]
    return np.round(weight * foreground + (1 - weight) * background).astype(np.uint8)


def ramp_error(alpha: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute alpha error over the ramp's columns and two on each side."""
    return float(np.abs(alpha - truth)[:, RAMP[0] - 2 : RAMP[1] + 3].mean())


def test_refine_and_matte_recover_a_ramp_alpha_from_a_binary_mask():
    truth = ramp_alpha()
    image = observed(truth)
    mask = (truth >= 0.5).astype(np.float32)
    mask_error = ramp_error(mask, truth)
    refined, matted = refine_alpha(image, mask, 8), matte_alpha(image, mask, 8)
    assert ramp_error(refined, truth) < min(0.1, mask_error / 2)
    assert ramp_error(matted, truth) < min(0.06, mask_error / 3)
    for alpha in (refined, matted):  # monotone across the edge, the mask far from it
        assert np.all(np.diff(alpha[HEIGHT // 2]) >= -1e-4)
        assert np.all(alpha[:, : RAMP[0] - 9] == 0) and np.all(alpha[:, RAMP[1] + 9 :] == 1)


def test_guided_filter_of_a_constant_is_that_constant():
    image = observed(ramp_alpha())
    filtered = guided_filter(
        image, np.full((HEIGHT, WIDTH), 0.3, np.float32), radius=8, eps=1e-4, subsample=2
    )
    np.testing.assert_allclose(filtered, 0.3, atol=1e-4)


def test_foreground_estimation_recovers_the_object_colour_under_a_known_alpha():
    truth = ramp_alpha()
    image = observed(truth)
    foreground = estimate_foreground(image, truth)
    soft = (truth >= 0.1) & (truth < 1)
    assert np.abs(image[soft].astype(float) - OBJECT).max() > 100  # the observed edge is mostly backdrop
    assert np.abs(foreground[soft].astype(float) - OBJECT).max() <= 8
    assert np.array_equal(foreground[truth == 1], image[truth == 1])  # opaque pixels stay as observed


def test_refine_cutout_composites_close_to_the_true_composite_and_hard_does_not():
    truth = ramp_alpha()
    image = observed(truth)
    mask = (truth >= 0.5).astype(np.float32)
    new_background = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    expected = observed(truth, OBJECT, np.float32(128)).astype(float)
    errors = {}
    for edge in ("hard", "refine"):
        cut = cut_out(image, mask, edge=edge, band=8, feather=0)
        made = composite(new_background, cut.foreground, cut.alpha)
        errors[edge] = np.abs(made.astype(float) - expected)[:, RAMP[0] - 2 : RAMP[1] + 3].mean()
    assert errors["refine"] < errors["hard"] / 3


def test_temporal_smoothing_follows_the_motion():
    truth = ramp_alpha()
    shift = 3
    previous_alpha, alpha = truth, np.ascontiguousarray(np.roll(truth, shift, axis=1))
    texture = np.random.default_rng(0).integers(0, 60, (HEIGHT, WIDTH, 1), dtype=np.uint8)
    previous_frame = np.clip(observed(truth).astype(int) + texture, 0, 255).astype(np.uint8)
    frame = np.ascontiguousarray(np.roll(previous_frame, shift, axis=1))
    known = np.ones((HEIGHT, WIDTH), bool)
    smoothed = temporal_smooth(alpha, frame, previous_alpha, previous_frame, known, weight=0.5)
    unwarped = 0.5 * (alpha + previous_alpha)
    inner = (slice(8, -8), slice(8, -8))  # away from the borders the flow cannot see past
    error = np.abs(smoothed - alpha)[inner].mean()
    assert error < np.abs(unwarped - alpha)[inner].mean() / 3
    same = temporal_smooth(alpha, frame, alpha, frame, known, weight=0.5)
    np.testing.assert_allclose(same, alpha, atol=1e-3)


def test_temporal_smoothing_does_not_trust_a_previous_frame_of_another_colour():
    truth = ramp_alpha()
    frame = observed(truth)
    other = np.full_like(frame, 255) - frame  # nothing alike: every pixel keeps its own alpha
    smoothed = temporal_smooth(truth, frame, 1 - truth, other, np.ones(truth.shape, bool), weight=0.5)
    np.testing.assert_allclose(smoothed, truth, atol=1e-3)


def test_cut_out_with_history_returns_the_same_cutout_for_the_same_frame():
    truth = ramp_alpha()
    image, mask = observed(truth), (truth >= 0.5).astype(np.float32)
    history = EdgeHistory()
    box = (0, 0, WIDTH, HEIGHT)
    first = cut_out(image, mask, edge="refine", band=8, feather=2, box=box, frame_index=0, history=history)
    again = cut_out(image, mask, edge="refine", band=8, feather=2, box=box, frame_index=0, history=history)
    assert again is first
    following = cut_out(
        image, mask, edge="refine", band=8, feather=2, box=box, frame_index=1, history=history
    )
    np.testing.assert_allclose(following.alpha, first.alpha, atol=1e-3)  # a still frame stays still


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda f, m: refine_alpha(f, m.astype(np.float64), 8),
            r"mask must be float32 \(48, 64\), got float64",
        ),
        (lambda f, m: refine_alpha(f, m * 2, 8), r"mask must lie in \[0, 1\], got 0.0..2.0"),
        (
            lambda f, m: refine_alpha(f[..., 0], m, 8),
            r"frame must be uint8 \(h, w, 3\), got uint8 \(48, 64\)",
        ),
        (
            lambda f, m: refine_alpha(f.astype(np.float32), m, 8),
            r"frame must be uint8 \(h, w, 3\), got float32",
        ),
        (
            lambda f, m: matte_alpha(f, m[:, :10], 8),
            r"mask must be float32 \(48, 64\), got float32 \(48, 10\)",
        ),
        (lambda f, m: estimate_foreground(f, m - 1), r"alpha must lie in \[0, 1\]"),
        (
            lambda f, m: cut_out(f, m, edge="soft", band=8, feather=0),
            "edge must be one of hard, refine, matte",
        ),
        (
            lambda f, m: cut_out(f, m, edge="refine", band=0, feather=0),
            "edge band must be at least 1 pixel, got 0",
        ),
        (lambda f, m: reach("fuzzy", 8), "edge must be one of hard, refine, matte, got 'fuzzy'"),
        (lambda f, m: edge_band(m, -2), "edge band must be at least 1 pixel, got -2"),
        (lambda f, m: guided_filter(f, m, radius=0, eps=1e-4, subsample=1), "need radius >= 1"),
        (
            lambda f, m: temporal_smooth(m, f, m, f, np.ones(m.shape, bool), weight=1.0),
            r"weight must be in \[0, 1\), got 1.0",
        ),
        (
            lambda f, m: temporal_smooth(m, f, m, f[..., 0], np.ones(m.shape, bool)),
            r"frame must be uint8 \(h, w, 3\), got uint8 \(48, 64\)",
        ),
        (
            lambda f, m: temporal_smooth(m, f, m, f, np.ones(m.shape, np.uint8)),
            r"known must be bool \(48, 64\), got uint8",
        ),
    ],
)
def test_arguments_outside_their_shape_dtype_or_range_raise_naming_them(call, message):
    truth = ramp_alpha()
    with pytest.raises(ValueError, match=message):
        call(observed(truth), (truth >= 0.5).astype(np.float32))


def test_options_refuse_an_unknown_edge():
    with pytest.raises(ValueError, match="edge must be one of hard, refine, matte"):
        ComposeOptions(edge="soft")
    with pytest.raises(ValueError, match="edge band must be at least 1, got 0"):
        ComposeOptions(edge_band=0)


# --- edge "hard" is the compositor and the alpha export as they were ----------------------------------


def _scene(tmp_path, rng):
    background = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    obj_frame = rng.integers(0, 256, (36, 50, 3), dtype=np.uint8)
    mask = np.zeros((36, 50), np.uint8)
    mask[9:27, 14:39] = 255
    mask[12:15, 10:14] = 255  # an arm: the mask is not a rectangle
    save_mask_png(tmp_path / "00000.png", mask)
    return background, obj_frame, mask


@pytest.mark.parametrize("feather", [0, 3])
@pytest.mark.parametrize(
    ("placement", "size", "mode"),
    [("original", 1, "normal"), ("relocate", 40, "screen"), ("relocate", 13, "normal")],
)
def test_hard_edge_composite_is_bit_for_bit_the_feathered_mask_paste(
    tmp_path, feather, placement, size, mode
):
    """The paste as the compositor made it before edge modes: the tight box's pixels and mask resized
    to the target (area when shrinking, linear when growing), feathered, then blended."""
    import cv2

    background, obj_frame, mask = _scene(tmp_path, np.random.default_rng(feather + size))
    options = ComposeOptions(placement=placement, size=size, blend_mode=mode, feather=feather, edge="hard")
    mask_set = load_mask_set(tmp_path)
    made = compose_frame(background, obj_frame, mask_set, 0, options)
    mask_set.close()
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    patch, alpha = obj_frame[y0:y1, x0:x1], (mask[y0:y1, x0:x1] / 255).astype(np.float32)
    if placement == "original":
        ty, tx = y0, x0
    else:  # center of the background, longer side `size`
        scale = size / max(x1 - x0, y1 - y0)
        width, height = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
        interpolation = cv2.INTER_AREA if width < x1 - x0 else cv2.INTER_LINEAR
        patch = cv2.resize(patch, (width, height), interpolation=interpolation)
        alpha = cv2.resize(alpha, (width, height), interpolation=interpolation)
        ty, tx = (40 - height) // 2, (56 - width) // 2
    expected = background.copy()
    height, width = alpha.shape
    region = expected[ty : ty + height, tx : tx + width]
    expected[ty : ty + height, tx : tx + width] = composite(
        region.copy(), np.ascontiguousarray(patch), feather_alpha(alpha, feather), mode
    )
    assert np.array_equal(made, expected)


def test_hard_edge_alpha_frame_is_bit_for_bit_the_feathered_mask():
    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    mask = np.zeros((30, 40), bool)
    mask[5:20, 8:33] = True
    made = cutout_rgba(frame, mask, edge="hard", edge_band=8, feather=2)
    assert np.array_equal(made, alpha_frame(frame, feather_alpha(mask.astype(np.float32), 2)))


def test_refine_alpha_frame_carries_the_estimated_object_colour_on_the_whole_frame():
    truth = np.zeros((HEIGHT, WIDTH + 40), np.float32)
    truth[:, 20 : 20 + WIDTH] = ramp_alpha()  # the ramp object, with backdrop around it
    image = observed(truth)
    rgba = cutout_rgba(image, truth >= 0.5, edge="refine", edge_band=8, feather=2)
    alpha = rgba[..., 3].astype(np.float32) / 255
    assert np.all(rgba[:, : 20 + RAMP[0] - 9] == 0)  # beyond the band: transparent black
    assert np.all(alpha[:, 20 + RAMP[1] + 9 : 20 + WIDTH - 9] == 1)
    assert ramp_error(alpha[:, 20:], truth[:, 20:]) < 0.1
    edge = (alpha > 0.1) & (alpha < 1)
    colour_error = np.abs(rgba[..., :3][edge].astype(float) - OBJECT)
    observed_error = np.abs(image[edge].astype(float) - OBJECT)
    assert edge.any() and colour_error.mean() <= 12 and colour_error.max() <= 30 < observed_error.max()


def test_a_refine_render_leaves_the_filmed_on_backdrop_behind(make_video, tmp_path):
    """An object whose edge pixels are partly backdrop (green), pasted over grey by a render: `hard`
    carries the green into the output, `refine` (its estimated colour and alpha, followed from frame to
    frame) comes much closer to the true composite ``a F + (1 - a) grey`` around the edge."""
    import cv2

    from sam2_gradio.compositor.render import render
    from sam2_gradio.media.video import iter_frames

    truth = np.zeros((HEIGHT, WIDTH), np.float32)
    truth[12:36, 16:48] = 1
    truth = cv2.blur(truth, (5, 5))  # a 5 px soft edge
    frames = [observed(truth, OBJECT, np.float32([30, 190, 40]))] * 6
    obj = make_video("obj.mp4", frames)
    background = make_video("bg.mp4", [np.full((HEIGHT, WIDTH, 3), 90, np.uint8)] * 6)
    for frame in range(6):
        save_mask_png(tmp_path / "masks" / f"mask_{frame:05d}.png", truth >= 0.5)
    expected = observed(truth, OBJECT, np.float32(90)).astype(float)
    ring = cv2.dilate(((truth > 0) & (truth < 1)).astype(np.uint8), np.ones((5, 5))) > 0
    errors = {}
    for edge in ("hard", "refine"):
        options = ComposeOptions(placement="original", feather=0, edge=edge)
        out = render(background, obj, tmp_path / "masks", tmp_path / f"{edge}.mp4", options).path
        last = list(iter_frames(out))[-1].astype(float)
        errors[edge] = np.abs(last - expected)[ring].mean()
    assert errors["refine"] < 0.6 * errors["hard"]


def test_a_render_makes_the_same_soft_edges_ahead_of_the_compositor(make_video, tmp_path, monkeypatch):
    """The object reader's thread makes the soft-edge cut-outs (following the motion, each object frame
    once even when the slower object clip shows it twice); the frames the render encodes are bit for bit
    those it encodes when each cut-out is made at paste time instead, in the compositing thread."""
    from sam2_gradio.compositor import render as render_module
    from sam2_gradio.media.video import VideoWriter

    rng = np.random.default_rng(7)
    texture = rng.integers(0, 256, (HEIGHT, WIDTH + 16, 3), np.uint8)
    frames = [np.ascontiguousarray(texture[:, 2 * i : 2 * i + WIDTH]) for i in range(5)]  # moving 2 px
    obj = make_video("obj.mp4", frames, fps=5)
    background = make_video("bg.mp4", [np.full((HEIGHT, WIDTH, 3), 90, np.uint8)] * 10)
    for frame in range(5):
        mask = np.zeros((HEIGHT, WIDTH), bool)
        mask[10:38, 12 + 2 * frame : 40 + 2 * frame] = True
        save_mask_png(tmp_path / "masks" / f"mask_{frame:05d}.png", mask)
    written: list[np.ndarray] = []
    encode = VideoWriter.write
    monkeypatch.setattr(VideoWriter, "write", lambda self, f: (written.append(f.copy()), encode(self, f)))
    options = ComposeOptions(placement="original", edge="refine", edge_band=6)
    render_module.render(background, obj, tmp_path / "masks", tmp_path / "ahead.mp4", options)
    ahead, written[:] = list(written), []
    monkeypatch.setattr(render_module._Scene, "cut_out", lambda self, obj_frame, layer_frames: layer_frames)
    render_module.render(background, obj, tmp_path / "masks", tmp_path / "pasted.mp4", options)
    assert len(ahead) == len(written) == 10
    assert all(np.array_equal(a, b) for a, b in zip(ahead, written, strict=True))
    assert not np.array_equal(ahead[0], ahead[2])  # the object moved: a real sequence was compared


def test_a_ragged_mask_is_refined_the_same_when_the_whole_crop_is_sampled_at_once(monkeypatch):
    """A mask that is edge almost everywhere takes the dense path (the whole crop enlarged, then picked);
    it gives what sampling each pixel of the band gives."""
    from sam2_gradio.compositor import edges

    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    mask = (rng.random((HEIGHT, WIDTH)) < 0.5).astype(np.float32)
    assert edge_band(mask, 4).flat.size > edges._DENSE_SHARE * mask.size
    dense = cut_out(frame, mask, edge="refine", band=4, feather=0)
    monkeypatch.setattr(edges, "_DENSE_SHARE", 2.0)  # never dense: every pixel sampled on its own
    sampled = cut_out(frame, mask, edge="refine", band=4, feather=0)
    assert np.abs(dense.alpha - sampled.alpha).max() < 1e-4
    assert np.abs(dense.foreground.astype(int) - sampled.foreground).max() <= 1
