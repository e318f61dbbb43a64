"""Benchmark the edge modes (``compositor.edges``): alpha accuracy, composite error, spill, flicker, speed.

Three sets, all from the shared fixtures (skipped with a note when absent):

- photos: the twenty alphamatting.com photos of ``fixtures/matting`` with their ground-truth alpha. The
  SAM-like mask is the truth thresholded at 0.5 whose contour is moved by smooth noise (a Gaussian field
  of standard deviation ``--noise`` pixels, correlation length 8 px, added to the signed distance). The
  unknown region is every pixel within 10 px of a soft pixel (0 < alpha < 1) or of the 0.5 contour.
  SAD (sum of absolute errors / 1000), MSE (x1e-3) and gradient error (squared error of Gaussian
  gradient magnitudes, sigma 1.4, / 1000) in the unknown region, as the benchmark computes them; "away"
  is the mean absolute error (x1e-3) outside it.
- synthetic: each photo's truth used as a matte over a real frame of the fixture clips: the object's
  colour is the photo, its background first one clip frame (the "filmed on" backdrop), then composited
  by each mode over another clip frame. The composite's mean RGB error (0..255) against the true
  composite ``a F + (1 - a) B2`` in an 8 px band around the 0.5 contour ("edge") and outside it
  ("away"); spill is the mean of ``|F_est - F|`` weighted by ``a (1 - a)`` (old background colour left in
  the object's edge pixels).
- flicker: a still 720p clip frame with an ellipse object; each of ``--flicker-frames`` frames gets fresh
  mask noise; flicker is the mean absolute frame-to-frame change of alpha (0..255) in the edge band.

Speed is the median thread CPU time (``time.thread_time``, so that other processes on a shared machine
count less) of ``cut_out`` on one 1280x720 frame, one thread, with the temporal step for ``refine`` and
``matte`` (a history of the previous frame); the crop is the object's box grown by the mode's reach.
"large": a 900x560 ellipse (the crop is 63% of the frame); "small": a 320x240 one.

    .venv/bin/python benchmarks/bench_edges.py                # every set, all three modes
    .venv/bin/python benchmarks/bench_edges.py --photos 6 --skip-matte
    .venv/bin/python benchmarks/bench_edges.py --speed-only --skip-matte --repeats 15
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from sam2_gradio import config  # noqa: E402 (after the path is set)
from sam2_gradio.compositor.blend import composite  # noqa: E402
from sam2_gradio.compositor.edges import EDGE_MODES, EdgeHistory, cut_out, reach  # noqa: E402

FIXTURE_CANDIDATES = (
    PROJECT_ROOT.parent / "shared" / "fixtures",
    PROJECT_ROOT.parents[1] / "shared" / "fixtures",
)
CLIPS = ("01_dog.mp4", "02_cups.mp4", "03_blocks.mp4")
UNKNOWN_MARGIN = 10  # pixels around soft pixels and the contour counted as unknown
EDGE_BAND = 8  # pixels around the contour where the composite's edge error is measured
LARGE_OBJECT, SMALL_OBJECT = (450, 280), (160, 120)  # half-axes of the timed ellipses in a 720p frame


def fixtures() -> Path | None:
    """The shared fixtures folder, or None."""
    return next((path for path in FIXTURE_CANDIDATES if (path / "matting").is_dir()), None)


def sam_like_mask(truth: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``float32`` 0/1 mask: ``truth >= 0.5`` with its contour moved by smooth noise of ``noise`` px std."""
    inside = (truth >= 0.5).astype(np.uint8)
    distance = cv2.distanceTransform(inside, cv2.DIST_L2, 5) - cv2.distanceTransform(
        1 - inside, cv2.DIST_L2, 5
    )
    field = cv2.GaussianBlur(rng.standard_normal(truth.shape).astype(np.float32), (0, 0), 8)
    field *= noise / max(float(field.std()), 1e-6)
    return (distance + field > 0).astype(np.float32)


def unknown_region(truth: np.ndarray) -> np.ndarray:
    """``bool``: within ``UNKNOWN_MARGIN`` px of a soft pixel or of the 0.5 contour of ``truth``."""
    inside = (truth >= 0.5).astype(np.uint8)
    contour = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    seeds = (contour | ((truth > 0) & (truth < 1))).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * UNKNOWN_MARGIN + 1,) * 2)
    return cv2.dilate(seeds, kernel) > 0


def contour_band(truth: np.ndarray, width: int) -> np.ndarray:
    """``bool``: within ``width`` px of the 0.5 contour of ``truth``."""
    inside = (truth >= 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1,) * 2)
    return (cv2.dilate(inside, kernel) - cv2.erode(inside, kernel)) > 0


def gradient_magnitude(alpha: np.ndarray) -> np.ndarray:
    smooth = cv2.GaussianBlur(alpha, (0, 0), 1.4)
    return np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))


def alpha_errors(alpha: np.ndarray, truth: np.ndarray, unknown: np.ndarray) -> dict[str, float]:
    error = alpha - truth
    gradient = (gradient_magnitude(alpha) - gradient_magnitude(truth)) ** 2
    return {
        "SAD": float(np.abs(error[unknown]).sum()) / 1000,
        "MSE": float((error[unknown] ** 2).mean()) * 1000,
        "Grad": float(gradient[unknown].sum()) / 1000,
        "away": float(np.abs(error[~unknown]).mean()) * 1000,
    }


def photos(root: Path, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(RGB uint8, alpha float32) of the first ``count`` matting photos."""
    pairs = []
    for path in sorted((root / "matting" / "image").glob("GT*.png"))[:count]:
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        truth = cv2.imread(str(root / "matting" / "alpha" / path.name), cv2.IMREAD_GRAYSCALE)
        pairs.append((rgb, truth.astype(np.float32) / 255))
    return pairs


def clip_frame(root: Path, name: str, index: int, size: tuple[int, int]) -> np.ndarray:
    """RGB frame ``index`` of fixture clip ``name`` resized to ``size`` = (width, height)."""
    capture = cv2.VideoCapture(str(root / "videos" / name))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise RuntimeError(f"cannot read frame {index} of {name}")
    return cv2.cvtColor(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)


def mix(foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``round(a F + (1 - a) B)``, ``uint8``."""
    weight = alpha[..., None]
    return np.round(weight * foreground + (1 - weight) * background).astype(np.uint8)


def run_photos(pairs, modes, band: int, noise: float) -> dict[str, list[dict[str, float]]]:
    rng = np.random.default_rng(0)
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    for rgb, truth in pairs:
        mask = sam_like_mask(truth, noise, rng)
        unknown = unknown_region(truth)
        for mode in modes:
            cutout = cut_out(rgb, mask, edge=mode, band=band, feather=config.DEFAULT_FEATHER)
            results[mode].append(alpha_errors(cutout.alpha, truth, unknown))
    return results


def run_synthetic(root: Path, pairs, modes, band: int, noise: float) -> dict[str, list[dict[str, float]]]:
    rng = np.random.default_rng(1)
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    for number, (rgb, truth) in enumerate(pairs):
        size = (truth.shape[1], truth.shape[0])
        filmed_on = clip_frame(root, CLIPS[number % 3], 40 + 7 * number, size)
        new_background = clip_frame(root, CLIPS[(number + 1) % 3], 120 + 5 * number, size)
        observed = mix(rgb, filmed_on, truth)
        expected = mix(rgb, new_background, truth).astype(np.float32)
        mask = sam_like_mask(truth, noise, rng)
        edge_band = contour_band(truth, EDGE_BAND)
        spill_weight = truth * (1 - truth)
        for mode in modes:
            cutout = cut_out(observed, mask, edge=mode, band=band, feather=config.DEFAULT_FEATHER)
            made = composite(new_background, cutout.foreground, cutout.alpha).astype(np.float32)
            error = np.abs(made - expected).mean(axis=-1)
            colour = np.abs(cutout.foreground.astype(np.float32) - rgb).mean(axis=-1)
            results[mode].append(
                {
                    "edge RGB": float(error[edge_band].mean()),
                    "away RGB": float(error[~edge_band].mean()),
                    "spill": float((colour * spill_weight).sum() / max(spill_weight.sum(), 1e-6)),
                }
            )
    return results


def ellipse_scene(root: Path, axes: tuple[int, int] = (450, 280)) -> tuple[np.ndarray, np.ndarray]:
    """A 720p clip frame and an ellipse of half-axes ``axes`` as the object's soft truth (a 3 px ramp)."""
    frame = clip_frame(root, CLIPS[0], 100, (1280, 720))
    inside = np.zeros((720, 1280), np.uint8)
    cv2.ellipse(inside, (640, 360), axes, 0, 0, 360, 1, -1)
    truth = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 1.5)
    return frame, truth


def run_flicker(root: Path, modes, band: int, noise: float, frames: int) -> dict[str, float]:
    frame, truth = ellipse_scene(root)
    band_pixels = contour_band(truth, EDGE_BAND)
    box = (0, 0, 1280, 720)
    results = {}
    for mode in modes:
        rng = np.random.default_rng(2)
        history, previous, changes = EdgeHistory(), None, []
        for index in range(frames):
            mask = sam_like_mask(truth, noise, rng)
            cutout = cut_out(
                frame, mask, edge=mode, band=band, feather=config.DEFAULT_FEATHER,
                box=box, frame_index=index, history=history,
            )  # fmt: skip
            if previous is not None:
                changes.append(float(np.abs(cutout.alpha - previous)[band_pixels].mean()) * 255)
            previous = cutout.alpha
        results[mode] = statistics.mean(changes)
    return results


def run_speed(root: Path, modes, band: int, repeats: int, axes: tuple[int, int]) -> dict[str, float]:
    frame, truth = ellipse_scene(root, axes)
    mask = sam_like_mask(truth, 1.5, np.random.default_rng(3))
    x, y, width, height = cv2.boundingRect((mask >= 0.5).astype(np.uint8))
    results = {}
    for mode in modes:
        margin = reach(mode, band)
        x0, y0 = max(0, x - margin), max(0, y - margin)
        x1, y1 = min(1280, x + width + margin), min(720, y + height + margin)
        crop, crop_mask = frame[y0:y1, x0:x1], np.ascontiguousarray(mask[y0:y1, x0:x1])
        history, times = EdgeHistory(), []
        for index in range(repeats if mode != "matte" else min(repeats, 3)):
            started = time.thread_time()
            cut_out(
                crop, crop_mask, edge=mode, band=band, feather=config.DEFAULT_FEATHER,
                box=(x0, y0, x1, y1), frame_index=index, history=history,
            )  # fmt: skip
            times.append(time.thread_time() - started)
        results[mode] = statistics.median(times[1:] if len(times) > 1 else times) * 1000
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=20, help="how many matting photos to use")
    parser.add_argument("--band", type=int, default=config.DEFAULT_EDGE_BAND, help="edge band, pixels")
    parser.add_argument("--noise", type=float, default=1.5, help="mask contour noise, pixels (std)")
    parser.add_argument("--flicker-frames", type=int, default=8, help="frames of the flicker test")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per mode")
    parser.add_argument("--skip-matte", action="store_true", help="leave out the slow matte mode")
    parser.add_argument("--speed-only", action="store_true", help="time the modes, measure nothing else")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    root = fixtures()
    if root is None:
        print("no shared fixtures (../shared/fixtures/matting): nothing to measure")
        return
    modes = [mode for mode in EDGE_MODES if not (args.skip_matte and mode == "matte")]
    if args.speed_only:
        speed = run_speed(root, modes, args.band, args.repeats, LARGE_OBJECT)
        speed_small = run_speed(root, modes, args.band, args.repeats, SMALL_OBJECT)
        print(f"band {args.band} px, 1 thread, CPU ms per 720p frame")
        print("| edge | ms large | ms small |\n|---|---|---|")
        for mode in modes:
            print(f"| {mode} | {speed[mode]:.1f} | {speed_small[mode]:.1f} |")
        return
    pairs = photos(root, args.photos)
    photo = run_photos(pairs, modes, args.band, args.noise)
    synthetic = run_synthetic(root, pairs, modes, args.band, args.noise)
    flicker = run_flicker(root, modes, args.band, args.noise, args.flicker_frames)
    speed = run_speed(root, modes, args.band, args.repeats, LARGE_OBJECT)
    speed_small = run_speed(root, modes, args.band, args.repeats, SMALL_OBJECT)
    columns = ["SAD", "MSE", "Grad", "away"]
    synthetic_columns = ["edge RGB", "away RGB", "spill"]
    print(f"{len(pairs)} photos, band {args.band} px, mask noise {args.noise} px, 1 thread, CPU ms")
    print(
        "| edge | SAD | MSE x1e-3 | gradient | away x1e-3 | edge RGB | away RGB | spill | flicker "
        "| ms large | ms small |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mode in modes:
        means = [statistics.mean(row[key] for row in photo[mode]) for key in columns]
        synth = [statistics.mean(row[key] for row in synthetic[mode]) for key in synthetic_columns]
        cells = [f"{value:.3g}" for value in means + synth]
        cells += [f"{flicker[mode]:.2f}", f"{speed[mode]:.1f}", f"{speed_small[mode]:.1f}"]
        print(f"| {mode} | " + " | ".join(cells) + " |")
    hard = photo["hard"]
    for mode in modes[1:]:
        better = sum(row["SAD"] < base["SAD"] for row, base in zip(photo[mode], hard, strict=True))
        ratio_sad = statistics.mean(r["SAD"] for r in photo[mode]) / statistics.mean(r["SAD"] for r in hard)
        ratio_mse = statistics.mean(r["MSE"] for r in photo[mode]) / statistics.mean(r["MSE"] for r in hard)
        print(
            f"{mode}: SAD {ratio_sad:.0%} and MSE {ratio_mse:.0%} of hard's; "
            f"lower SAD on {better}/{len(hard)}"
        )


if __name__ == "__main__":
    main()
