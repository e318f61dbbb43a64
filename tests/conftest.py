"""Shared fixtures: small synthetic videos made with ffmpeg, and the real fixture clips."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

FIXTURE_VIDEOS_DIR = Path(__file__).resolve().parents[2] / "shared/fixtures/videos"


def _numbered_frames(count: int, height: int = 48, width: int = 64) -> list[np.ndarray]:
    """``count`` RGB frames that differ from each other: frame i is a flat grey of level 8 * i + 4
    (mod 256) with a white square whose position moves with i."""
    frames = []
    for index in range(count):
        frame = np.full((height, width, 3), (8 * index + 4) % 256, dtype=np.uint8)
        left = (4 * index) % max(width - 8, 1)
        frame[4:12, left : left + 8] = 255
        frames.append(frame)
    return frames


MakeVideo = Callable[..., Path]


@pytest.fixture
def numbered_frames() -> Callable[..., list[np.ndarray]]:
    """Factory ``numbered_frames(count, height=48, width=64)`` of distinct synthetic RGB frames."""
    return _numbered_frames


@pytest.fixture
def make_video(tmp_path: Path) -> MakeVideo:
    """Factory ``make_video(name, frames, fps=10, audio=False, audio_seconds=None) -> Path``.

    ``frames`` is a sequence of equal-size RGB ``uint8`` arrays or a count of ``numbered_frames`` frames.
    The video is H.264 (near lossless) in ``tmp_path``; with ``audio`` a 440 Hz AAC tone as long as the
    video (or ``audio_seconds``) is added.
    """

    def make(
        name: str,
        frames: Sequence[np.ndarray] | int,
        fps: float | str = 10,
        audio: bool = False,
        audio_seconds: float | None = None,
    ) -> Path:
        frames = _numbered_frames(frames) if isinstance(frames, int) else frames
        height, width = frames[0].shape[:2]
        path = tmp_path / name
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
        ]
        command += ["-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:0"]
        if audio:
            seconds = audio_seconds if audio_seconds is not None else len(frames) / float(eval_rate(fps))
            command += ["-f", "lavfi", "-t", f"{seconds}", "-i", "sine=frequency=440:sample_rate=48000"]
            command += ["-c:a", "aac"]
        command += ["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", str(path)]
        subprocess.run(command, input=b"".join(f.tobytes() for f in frames), check=True)
        return path

    return make


def eval_rate(fps: float | str) -> float:
    """A frame rate given as a number or an ffmpeg fraction string ("30000/1001") as a float."""
    if isinstance(fps, str) and "/" in fps:
        numerator, denominator = fps.split("/")
        return float(numerator) / float(denominator)
    return float(fps)


@pytest.fixture
def fixture_videos_dir() -> Path:
    """The folder of real 720p test clips with audio (``01_dog.mp4`` ...); skips the test when absent."""
    if not FIXTURE_VIDEOS_DIR.is_dir():
        pytest.skip(f"fixture videos not found at {FIXTURE_VIDEOS_DIR}")
    return FIXTURE_VIDEOS_DIR


@pytest.fixture(scope="session", autouse=True)
def projects_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every app the tests make keeps its projects (never the user's own projects folder); app
    processes the tests start find it in the environment."""
    from sam2_gradio import config

    folder = tmp_path_factory.mktemp("projects")
    os.environ["SAM2_GRADIO_PROJECTS_DIR"] = str(folder)
    config.PROJECTS_DIR = folder
    return folder


@pytest.fixture(scope="session")
def random_model():
    """The SAM 2.1 tiny architecture, seeded random weights, 256 px, masks not empty (built once)."""
    from sam2_support import build_random_model

    return build_random_model()


@pytest.fixture(scope="session")
def scene_jpegs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 24-frame synthetic scene (160x120) as a folder of JPEG frames."""
    from sam2_support import write_scene_jpegs

    return write_scene_jpegs(tmp_path_factory.mktemp("scene") / "frames", 24)
