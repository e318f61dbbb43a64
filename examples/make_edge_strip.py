"""Draw one composited edge under the three edge modes side by side: `python examples/make_edge_strip.py`.

A generated scene: a fluffy orange ball with hair-like strands (its true alpha drawn at 4x and shrunk, so
edges and strands are partly transparent), filmed on a green backdrop; its SAM-like mask is the true alpha
thresholded at 0.5. The ball is cut out with ``hard``, ``refine`` and ``matte`` (``compositor.edges``) and
pasted over a dusk-blue background; the strip shows the same enlarged piece of edge from each, then the
true composite. Writes ``docs/edges.png``. Uses numpy and OpenCV only; a fixed seed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from sam2_gradio import config  # noqa: E402 (after the path is set)
from sam2_gradio.compositor.blend import composite  # noqa: E402
from sam2_gradio.compositor.edges import EDGE_MODES, cut_out  # noqa: E402

WIDTH, HEIGHT, SCALE = 320, 240, 4  # the scene, and the supersampling of its true alpha
CROP = (150, 20, 250, 95)  # x0, y0, x1, y1 of the enlarged piece of edge
ZOOM = 3
SEED = 7


def scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(observed RGB, true alpha, object colour, new background): the ball filmed on green."""
    big = np.zeros((HEIGHT * SCALE, WIDTH * SCALE), np.uint8)
    centre, radius = (160 * SCALE, 130 * SCALE), 70 * SCALE
    cv2.circle(big, centre, radius, 255, -1, cv2.LINE_AA)
    for angle in rng.uniform(0, 2 * np.pi, 260):  # strands from the ball's rim, 1 to 2 px wide
        length = rng.uniform(10, 34) * SCALE
        start = (centre[0] + radius * np.cos(angle), centre[1] + radius * np.sin(angle))
        bend = rng.normal(0, 0.25)
        end = (start[0] + length * np.cos(angle + bend), start[1] + length * np.sin(angle + bend))
        thickness = int(rng.integers(3, 7))
        cv2.line(big, tuple(map(int, start)), tuple(map(int, end)), 255, thickness, cv2.LINE_AA)
    alpha = cv2.resize(big, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    shade = np.linspace(0.75, 1.0, HEIGHT, dtype=np.float32)[:, None, None]
    fur = rng.normal(0, 12, (HEIGHT, WIDTH, 1)).astype(np.float32)
    colour = np.clip(np.array([236, 140, 50], np.float32) * shade + fur, 0, 255)
    green = np.clip(np.array([40, 190, 70], np.float32) + rng.normal(0, 6, (HEIGHT, WIDTH, 3)), 0, 255)
    sky = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None, None]
    background = np.array([30, 40, 90], np.float32) * (1 - sky) + np.array([90, 70, 120], np.float32) * sky
    background = np.broadcast_to(background, (HEIGHT, WIDTH, 3)).astype(np.uint8)
    weight = alpha[..., None]
    observed = np.round(weight * colour + (1 - weight) * green).astype(np.uint8)
    return observed, alpha, colour, background


def panel(image: np.ndarray, label: str) -> np.ndarray:
    """The crop of ``image`` enlarged ``ZOOM`` times (nearest), with ``label`` above it."""
    x0, y0, x1, y1 = CROP
    big = cv2.resize(image[y0:y1, x0:x1], None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)
    caption = np.full((28, big.shape[1], 3), 255, np.uint8)
    cv2.putText(caption, label, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([caption, big])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(PROJECT_ROOT / "docs" / "edges.png"), help="PNG to write")
    args = parser.parse_args()
    observed, alpha, colour, background = scene(np.random.default_rng(SEED))
    mask = (alpha >= 0.5).astype(np.float32)
    panels = []
    for edge in EDGE_MODES:
        cut = cut_out(
            observed, mask, edge=edge, band=config.DEFAULT_EDGE_BAND, feather=config.DEFAULT_FEATHER
        )
        panels.append(panel(composite(background, cut.foreground, cut.alpha), edge))
    truth = np.round(alpha[..., None] * colour + (1 - alpha[..., None]) * background).astype(np.uint8)
    panels.append(panel(truth, "true composite"))
    gap = np.full((panels[0].shape[0], 6, 3), 255, np.uint8)
    strip = np.hstack([part for item in panels for part in (item, gap)][:-1])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({strip.shape[1]}x{strip.shape[0]})")


if __name__ == "__main__":
    main()
