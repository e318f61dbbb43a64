"""Render the example clips of this folder from code: `python examples/make_example.py`.

* ``toy_car.mp4``: a striped ball bouncing above a blue toy car that drives along a road, over a
  procedural meadow while the camera pans slowly. Two objects to click and track.
* ``background.mp4``: a lake at sunset with moving ripples and a 440 Hz sine tone, a compose target.

Both are 640x360, 30 fps, 3 s, H.264 yuv420p, encoded by the ffmpeg binary of imageio-ffmpeg.
`toy_car_masks(frame)` gives the toy clip's exact masks (the README's screenshots use them).
Uses numpy, OpenCV and imageio-ffmpeg only; a fixed seed makes the pictures the same on every run.
"""

from __future__ import annotations

import argparse
import math
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

WIDTH, HEIGHT = 640, 360
FPS = 30
SECONDS = 3
FRAME_COUNT = FPS * SECONDS
SEED = 2024
PAN_PIXELS_PER_FRAME = 1.5
ROAD_TOP = 270  # y of the road's upper edge in the toy clip
BALL_RADIUS = 34
BALL_FLOOR = 235  # lowest y of the ball's bottom, above the car
TONE_HZ = 440
X264_ARGS = (
    "-c:v",
    "libx264",
    "-preset",
    "slow",
    "-crf",
    "26",
    "-pix_fmt",
    "yuv420p",
    "-movflags",
    "+faststart",
)


def value_noise(height: int, width: int, rng: np.random.Generator, octaves: int = 5) -> np.ndarray:
    """Smooth fractal noise, float32 (height, width) in [0, 1]; each octave doubles the detail."""
    total = np.zeros((height, width), np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        cells = 4 * 2**octave
        grid = rng.random((cells, max(2, cells * width // height)), dtype=np.float32)
        weight = 0.5**octave
        total += weight * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        weight_sum += weight
    return np.clip(total / weight_sum, 0.0, 1.0)


def colorize(noise: np.ndarray, dark: tuple[int, int, int], light: tuple[int, int, int]) -> np.ndarray:
    """Map noise (H, W) in [0, 1] to uint8 RGB (H, W, 3) between two colours."""
    dark_rgb = np.array(dark, np.float32)
    light_rgb = np.array(light, np.float32)
    return (dark_rgb + noise[..., None] * (light_rgb - dark_rgb)).astype(np.uint8)


def meadow_panorama(rng: np.random.Generator) -> np.ndarray:
    """Wide uint8 RGB (HEIGHT, W, 3) scene: sky, meadow and road, wide enough for the whole pan."""
    width = WIDTH + int(PAN_PIXELS_PER_FRAME * FRAME_COUNT) + 2
    sky_rows = np.linspace(0.0, 1.0, 90, dtype=np.float32)[:, None].repeat(width, axis=1)
    sky = colorize(sky_rows, (110, 160, 225), (200, 225, 245))
    meadow = colorize(value_noise(ROAD_TOP - 90, width, rng), (40, 95, 35), (135, 175, 70))
    road = colorize(value_noise(HEIGHT - ROAD_TOP, width, rng, octaves=6), (70, 68, 66), (125, 122, 118))
    dashes = (np.arange(width) // 24) % 2 == 0
    road[HEIGHT - ROAD_TOP - 48 : HEIGHT - ROAD_TOP - 44, dashes] = (230, 225, 210)  # dashed lane line
    return np.concatenate([sky, meadow, road], axis=0)


def blend_patch(frame: np.ndarray, patch: np.ndarray, alpha: np.ndarray, top: int, left: int) -> None:
    """Alpha-blend uint8 RGB `patch` (h, w, 3) with float `alpha` (h, w) into `frame` at (top, left)."""
    height, width = alpha.shape
    region = frame[top : top + height, left : left + width].astype(np.float32)
    mixed = region + alpha[..., None] * (patch.astype(np.float32) - region)
    frame[top : top + height, left : left + width] = mixed.astype(np.uint8)


def draw_ball(frame: np.ndarray, center_x: float, center_y: float, spin: float) -> None:
    """Draw a shaded beach ball with six coloured stripes, turned by `spin` radians, antialiased."""
    size = 2 * BALL_RADIUS + 2
    left, top = int(center_x) - BALL_RADIUS - 1, int(center_y) - BALL_RADIUS - 1
    ys, xs = np.mgrid[top : top + size, left : left + size].astype(np.float32)
    dx, dy = xs - center_x, ys - center_y
    distance = np.hypot(dx, dy) / BALL_RADIUS
    stripes = np.array(
        [(230, 40, 40), (250, 250, 245), (250, 200, 20), (250, 250, 245), (40, 90, 220), (250, 250, 245)]
    )
    stripe_index = ((np.arctan2(dy, dx) + spin) / (2 * math.pi) * len(stripes)).astype(int) % len(stripes)
    highlight = np.exp(-(((dx + 12) ** 2 + (dy + 12) ** 2) / 90.0))[..., None]
    shade = (1.0 - 0.45 * np.clip(distance, 0, 1) ** 2)[..., None]
    patch = np.clip(stripes[stripe_index] * shade + 120 * highlight, 0, 255)
    alpha = np.clip((1.0 - distance) * BALL_RADIUS + 0.5, 0.0, 1.0)
    blend_patch(frame, patch, alpha, top, left)


def draw_car(frame: np.ndarray, left: int, wheel_angle: float) -> None:
    """Draw a blue toy car facing left (body, cabin, lights, spoked wheels) on the road at x = `left`."""
    bottom = HEIGHT - 18
    body_top = bottom - 52
    aa = cv2.LINE_AA
    cv2.rectangle(frame, (left, body_top), (left + 150, bottom - 14), (30, 70, 200), -1, aa)
    cabin = np.array(
        [
            [left + 30, body_top],
            [left + 50, body_top - 34],
            [left + 110, body_top - 34],
            [left + 128, body_top],
        ]
    )
    cv2.fillPoly(frame, [cabin], (30, 70, 200), aa)
    cv2.fillPoly(frame, [cabin + np.array([[8, -4], [8, 5], [-4, 5], [-10, -4]])], (170, 220, 245), aa)
    headlight, taillight = (255, 230, 90), (200, 20, 20)
    cv2.rectangle(frame, (left, body_top + 8), (left + 10, body_top + 18), headlight, -1, aa)
    cv2.rectangle(frame, (left + 143, body_top + 8), (left + 150, body_top + 18), taillight, -1, aa)
    for wheel_x in (left + 32, left + 118):
        cv2.circle(frame, (wheel_x, bottom - 12), 16, (25, 25, 25), -1, aa)
        cv2.circle(frame, (wheel_x, bottom - 12), 7, (180, 180, 185), -1, aa)
        for spoke in range(3):
            angle = wheel_angle + spoke * math.pi / 3
            offset = (int(13 * math.cos(angle)), int(13 * math.sin(angle)))
            start = (wheel_x - offset[0], bottom - 12 - offset[1])
            end = (wheel_x + offset[0], bottom - 12 + offset[1])
            cv2.line(frame, start, end, (150, 150, 155), 2, aa)


def ball_position(index: int) -> tuple[float, float]:
    """Centre of the ball at frame `index`: drifting right, bouncing off the meadow twice a second."""
    phase = (index / FPS * 2.0) % 1.0
    height = 130 * 4 * phase * (1 - phase)  # parabola, 0 at the floor, 130 px at the top
    return 90 + 2.2 * index, BALL_FLOOR - BALL_RADIUS - height


def car_left(index: int) -> int:
    """x of the car's left end at frame `index`: driving left."""
    return int(430 - 3.2 * index)


def toy_car_masks(index: int) -> dict[int, np.ndarray]:
    """The exact masks of the toy clip's frame `index`, bool (HEIGHT, WIDTH): object 1 the ball, object 2
    the car (the pixels each one's drawing covers by at least half; they never overlap)."""
    masks = {}
    for obj_id in (1, 2):
        covered = []
        for ground in (0, 255):  # what a drawing changes on black and on white: its coverage
            canvas = np.full((HEIGHT, WIDTH, 3), ground, np.uint8)
            if obj_id == 1:
                draw_ball(canvas, *ball_position(index), spin=index * 0.12)
            else:
                draw_car(canvas, left=car_left(index), wheel_angle=-index * 0.35)
            covered.append(np.abs(canvas.astype(np.int16) - ground).max(axis=2))
        masks[obj_id] = (covered[0] + covered[1]) >= 128  # on black plus on white: the coverage x 255
    return masks


def toy_car_frames() -> Iterator[np.ndarray]:
    """Frames of the toy clip, uint8 RGB (HEIGHT, WIDTH, 3)."""
    panorama = meadow_panorama(np.random.default_rng(SEED))
    for index in range(FRAME_COUNT):
        pan = PAN_PIXELS_PER_FRAME * index
        shift = np.float32([[1, 0, -pan], [0, 1, 0]])
        frame = cv2.warpAffine(panorama, shift, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
        draw_car(frame, left=car_left(index), wheel_angle=-index * 0.35)
        ball_x, ball_y = ball_position(index)
        draw_ball(frame, ball_x, ball_y, spin=index * 0.12)
        yield frame


def lake_frames() -> Iterator[np.ndarray]:
    """Frames of the background clip: sunset sky, hills and a rippling lake, uint8 RGB (HEIGHT, WIDTH, 3)."""
    rng = np.random.default_rng(SEED + 1)
    horizon = 200
    sky = colorize(
        np.linspace(0, 1, horizon, dtype=np.float32)[:, None].repeat(WIDTH, 1), (70, 40, 110), (250, 150, 70)
    )
    cv2.circle(sky, (430, 170), 38, (255, 225, 150), -1, cv2.LINE_AA)
    ridge = horizon - 15 - 60 * value_noise(64, WIDTH, rng, octaves=3)[32]
    hills = np.arange(horizon)[:, None] >= ridge[None, :]
    sky[hills] = (45, 30, 60)
    rows = np.arange(HEIGHT - horizon, dtype=np.float32)[:, None]
    columns = np.arange(WIDTH, dtype=np.float32)[None, :]
    depth = (rows + 8) / (HEIGHT - horizon)  # 0 near the horizon, 1 at the bottom edge
    reflection = np.exp(-(((columns - 430) / (25 + 60 * depth)) ** 2))
    for index in range(FRAME_COUNT):
        time = index / FPS
        waves = np.sin(columns / (9 + 30 * depth) + 4 * time + rows * 0.9) * np.sin(
            rows / (2 + 5 * depth) - 3 * time
        )
        brightness = np.clip(0.3 + 0.12 * waves + 0.6 * reflection * (waves > -0.2), 0, 1)
        water = colorize(brightness, (20, 20, 60), (255, 175, 95))
        yield np.concatenate([sky, water], axis=0)


def encode(frames: Iterator[np.ndarray], path: Path, *, tone_hz: int | None = None) -> None:
    """Encode uint8 RGB frames to H.264 yuv420p MP4 at FPS; with `tone_hz`, add a sine-tone AAC track."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    video_in = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", "-"]
    audio_in = ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:duration={SECONDS}"] if tone_hz else []
    audio_out = ["-c:a", "aac", "-b:a", "64k", "-shortest"] if tone_hz else []
    command = [ffmpeg, "-y", "-loglevel", "error", *video_in, *audio_in, *X264_ARGS, *audio_out, str(path)]
    with subprocess.Popen(command, stdin=subprocess.PIPE) as process:
        assert process.stdin is not None
        for frame in frames:
            process.stdin.write(np.ascontiguousarray(frame).tobytes())
        process.stdin.close()
    if process.returncode != 0:
        raise RuntimeError(f"ffmpeg failed with exit {process.returncode} writing {path}")


def main() -> None:
    """Write toy_car.mp4 and background.mp4 into the chosen folder."""
    parser = argparse.ArgumentParser(description="Render the example clips of sam2-gradio.")
    parser.add_argument(
        "--out-dir", type=Path, default=Path(__file__).resolve().parent, help="folder to write the clips into"
    )
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    encode(toy_car_frames(), args.out_dir / "toy_car.mp4")
    encode(lake_frames(), args.out_dir / "background.mp4", tone_hz=TONE_HZ)
    for name in ("toy_car.mp4", "background.mp4"):
        print(f"wrote {args.out_dir / name} ({(args.out_dir / name).stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
