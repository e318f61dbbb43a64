"""Where frames come from: a video file or a folder of JPEG frames, read by range, never all at once.

A `FrameSource` knows its frame count, size and fps and yields RGB uint8 frames `[start, stop)`.
`open_frames` picks the right kind for a path; `extract_jpeg_frames` writes `00000.jpg, ...` as SAM 2's
own tools expect.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from PIL import Image

from sam2_gradio.errors import BadInput
from sam2_gradio.jobs import ProgressCallback, ProgressMeter
from sam2_gradio.media import video as video_io

JPEG_SUFFIXES = (".jpg", ".jpeg", ".JPG", ".JPEG")
# Quality 95 without chroma subsampling: the frames SAM 2 sees stay close to the decoded video.
JPEG_OPTIONS = [
    cv2.IMWRITE_JPEG_QUALITY, 95,
    cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
]  # fmt: skip


@dataclass(frozen=True)
class VideoMeta:
    """The facts about a video that a prompt state is tied to."""

    num_frames: int
    width: int
    height: int
    fps: float


class FrameSource(Protocol):
    """Frames of one video, readable by index range."""

    meta: VideoMeta

    def read(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Yield RGB uint8 (H, W, 3) frames `start, ..., stop - 1`."""
        ...


@dataclass
class VideoFileFrames:
    """Frames decoded from a video file with ffmpeg (rotation applied)."""

    path: Path
    meta: VideoMeta

    @classmethod
    def open(cls, path: str | Path) -> VideoFileFrames:
        """Probe `path` (raises `video_io.VideoReadError` when it is not a readable video)."""
        info = video_io.probe_video(path)
        return cls(Path(path), VideoMeta(info.num_frames, info.width, info.height, info.fps))

    def read(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Yield frames `[start, stop)` decoded from the file."""
        stop = min(stop, self.meta.num_frames)
        if start >= stop:
            return
        yield from video_io.iter_frames(self.path, start=start, stop=stop)


@dataclass
class JpegFolderFrames:
    """Frames stored as `<index>.jpg` files, the layout SAM 2's tools read (decoded with PIL, as they do)."""

    folder: Path
    paths: list[Path]
    meta: VideoMeta

    @classmethod
    def open(cls, folder: str | Path, fps: float = 30.0) -> JpegFolderFrames:
        """Index the JPEG files of `folder`, sorted by their integer names."""
        folder = Path(folder)
        names = [name for name in os.listdir(folder) if name.endswith(JPEG_SUFFIXES)]
        if not names:
            raise BadInput(f"no JPEG frames (00000.jpg, ...) in {folder}")
        try:
            names.sort(key=lambda name: int(Path(name).stem))
        except ValueError:
            raise BadInput(f"JPEG frames in {folder} must be named by frame number (00000.jpg)") from None
        paths = [folder / name for name in names]
        with Image.open(paths[0]) as first:
            width, height = first.size
        return cls(folder, paths, VideoMeta(len(paths), width, height, fps))

    def read(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Yield frames `[start, stop)` decoded from their JPEG files."""
        for path in self.paths[start:stop]:
            with Image.open(path) as image:
                yield np.asarray(image.convert("RGB"))


def open_frames(path: str | Path, fps: float = 30.0) -> FrameSource:
    """Open a video file, or a folder of JPEG frames (whose fps is `fps`)."""
    path = Path(path)
    if path.is_dir():
        return JpegFolderFrames.open(path, fps)
    return VideoFileFrames.open(path)


def read_frame(source: FrameSource, index: int) -> np.ndarray:
    """Return frame `index` of `source` as RGB uint8, raising ValueError when it does not exist."""
    if not 0 <= index < source.meta.num_frames:
        raise BadInput(f"frame {index} is outside the video (0 to {source.meta.num_frames - 1})")
    for frame in source.read(index, index + 1):
        return frame
    raise video_io.VideoReadError(f"frame {index} could not be decoded")


def extract_jpeg_frames(
    source: FrameSource,
    folder: str | Path,
    *,
    progress: ProgressCallback | None = None,
) -> JpegFolderFrames:
    """Write every frame of `source` to `folder/00000.jpg, ...` and return the folder as a source.

    `progress` gets a `jobs.Progress` every 10 frames and at the end.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    total = source.meta.num_frames
    meter = ProgressMeter(total, 10, progress)
    for index, frame in enumerate(source.read(0, total)):
        path = folder / f"{index:05d}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), JPEG_OPTIONS)
        meter.frame_done()
    if meter.done == 0:
        raise video_io.VideoReadError("the video has no decodable frames")
    return JpegFolderFrames.open(folder, source.meta.fps)
