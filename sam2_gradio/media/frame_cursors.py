"""Single frames of videos read one after another, as a preview slider asks for them: decoders kept open.

`read_frame` starts ffmpeg, seeks (decoding from the keyframe before the frame, up to a few seconds of
video at 720p) and stops it, for every frame. A preview scrubbed forward asks for frame 40, then 47,
then 52 of the same video: `FrameCursors.frame` keeps each decoder open where it stopped and decodes
only the frames in between, when the next frame lies at most `read_through` frames ahead; further, or
backward, it starts a decoder at the frame (a seek, as `read_frame`). A few decoders are kept (the
least recently used are stopped), each used by one caller at a time.

    cursors = FrameCursors(kept=4)
    first, later = cursors.frame(info, 40), cursors.frame(info, 47)  # the second decodes 7 frames
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from sam2_gradio.errors import BadInput, VideoReadError
from sam2_gradio.media.video import VideoInfo, iter_frames


@dataclass
class _Cursor:
    """An open decoder of one video file (as it was when opened), before frame `position`."""

    key: tuple[str, int, int]  # (path, size, mtime_ns) of the file
    frames: Iterator[np.ndarray]  # the decoder's frames from `position` on
    position: int  # index of the frame `frames` yields next

    def read(self, index: int) -> np.ndarray | None:
        """Frame `index` (>= `position`), decoding the frames before it; None when the video ends first."""
        frame = None
        while self.position <= index:
            frame = next(self.frames, None)
            if frame is None:
                return None
            self.position += 1
        return frame

    def close(self) -> None:
        """Stop the decoder."""
        close = getattr(self.frames, "close", None)
        if close is not None:
            close()


@dataclass
class FrameCursors:
    """Open decoders, at most `kept`, that `frame` reads forward through (see the module docstring)."""

    kept: int = 4  # decoders kept open between calls
    read_through: int = 150  # frames ahead that are decoded through rather than sought
    _idle: list[_Cursor] = field(default_factory=list)  # decoders no call is using, oldest first
    _lock: threading.Lock = field(default_factory=threading.Lock)  # guards `_idle`

    def frame(self, video: VideoInfo, index: int) -> np.ndarray:
        """Frame `index` of `video` as RGB ``uint8`` (H, W, 3).

        Raises:
            BadInput: `index` is outside the video.
            VideoReadError: the frame does not decode.
        """
        if not 0 <= index < video.num_frames:
            raise BadInput(f"frame index {index} is outside {video.path} ({video.num_frames} frames)")
        stat = os.stat(video.path)
        key = (str(video.path), stat.st_size, stat.st_mtime_ns)
        cursor = self._take(key, index) or _Cursor(key, iter_frames(video.path, start=index), index)
        try:
            frame = cursor.read(index)
        except BaseException:
            cursor.close()
            raise
        if frame is None:
            cursor.close()
            raise VideoReadError(f"frame {index} of {video.path} does not decode.")
        self._give_back(cursor)
        return frame

    @property
    def open_videos(self) -> list[str]:
        """The files of the idle decoders kept open, oldest first."""
        with self._lock:
            return [cursor.key[0] for cursor in self._idle]

    def close(self) -> None:
        """Stop every idle decoder."""
        with self._lock:
            idle, self._idle = self._idle, []
        for cursor in idle:
            cursor.close()

    def _take(self, key: tuple[str, int, int], index: int) -> _Cursor | None:
        """An idle decoder of the file `key` that reaches `index` reading forward, taken out of the pool."""
        with self._lock:
            for cursor in reversed(self._idle):
                if cursor.key == key and cursor.position <= index <= cursor.position + self.read_through:
                    self._idle.remove(cursor)
                    return cursor
        return None

    def _give_back(self, cursor: _Cursor) -> None:
        with self._lock:
            self._idle.append(cursor)
            stopped = self._idle[: -self.kept] if len(self._idle) > self.kept else []
            del self._idle[: len(stopped)]
        for old in stopped:
            old.close()
