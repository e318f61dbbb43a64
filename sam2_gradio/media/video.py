"""Read, iterate and write videos through the ffmpeg binary shipped with imageio-ffmpeg.

Frames are RGB ``uint8`` arrays of shape ``(H, W, 3)`` at the displayed size (ffmpeg applies the
rotation metadata of phone videos), or, with ``pixel_format="yuv420p"``, planar I420 arrays of shape
``(H' * 3 // 2, W')`` as OpenCV's ``COLOR_YUV2RGB_I420`` takes them, where ``(W', H') = even_size(W, H)``
(odd sizes padded with a black column or row); I420 saves two colour conversions per frame.

Frames are counted and indexed in decoding order, one index per decoded frame (``-fps_mode
passthrough``). The time of frame ``i`` is taken as ``i / fps``; seeking is frame-exact for
constant-frame-rate videos.

A truncated or partly corrupt video is read up to where it stops decoding: ``probe_video`` counts the
frames that decode, and reading stops after them.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Sized
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import IO

import imageio_ffmpeg
import numpy as np

from sam2_gradio import config
from sam2_gradio.errors import BadInput, NoVideoStream, VideoReadError, VideoWriteError
from sam2_gradio.media.atomic import publish, remove, temp_sibling

# Starting frames closer to the beginning than this are reached by decoding from the start (exact and
# cheap); later ones by an input-side seek to half a frame before the wanted frame.
_DECODE_FROM_START_BELOW_SECONDS = 2.0
# Containers the writer produces; all take H.264 + AAC and ``-movflags +faststart``.
_WRITABLE_SUFFIXES = (".mp4", ".m4v", ".mov")
PIXEL_FORMATS = ("rgb24", "yuv420p")
ALPHA_PIXEL_FORMAT = "rgba"  # the writer's input format for videos with transparency
# glibc's mallopt parameters and the values `_keep_freed_frame_memory` sets
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEPT_FREE_BYTES, _HEAP_BLOCK_BYTES = 32 << 20, 16 << 20
_ENCODER_THREADS = str(max(1, min(os.cpu_count() or 1, 8)))
# Codecs of videos with alpha, by container: VP9 with alpha (WebM ``alpha_mode``) plays in Chrome and
# Firefox, encoded at libvpx's realtime speed; ProRes 4444 (8-bit alpha coded losslessly, the vendor
# tag Final Cut writes) at a fixed quantiser opens in Premiere, Resolve and After Effects.
ALPHA_ENCODINGS: dict[str, list[str]] = {
    ".webm": [
        "-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-crf", str(config.VP9_ALPHA_CRF), "-b:v", "0",
        "-deadline", "realtime", "-cpu-used", str(config.VP9_ALPHA_SPEED), "-row-mt", "1",
        "-threads", _ENCODER_THREADS,
    ],
    ".mov": [
        "-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", "-alpha_bits", "8",
        "-qscale:v", str(config.PRORES_QSCALE), "-vendor", "apl0", "-threads", _ENCODER_THREADS,
    ],
}  # fmt: skip
# Bits per pixel of each alpha encoding above: (of a fully transparent frame, added per unit of the
# frame the objects cover), measured on the 720p fixture clips and ffmpeg's testsrc2 (README, "Alpha
# video sizes"); `estimate_alpha_video_bytes` is within a factor of 2 of the file on those (the flat
# colours of an opaque testsrc2 excepted: ProRes codes them in 2.5 times fewer bytes).
ALPHA_BITS_PER_PIXEL: dict[str, tuple[float, float]] = {".webm": (0.002, 0.25), ".mov": (0.12, 4.0)}
_EVEN_PAD_FILTER = "pad=ceil(iw/2)*2:ceil(ih/2)*2"
_IMAGE_FORMATS = re.compile(r"(_pipe|^image2)$")
_STDERR_TAIL_CHARS = 600


@dataclass(frozen=True)
class VideoInfo:
    """What is known about a video after probing it; width and height are the displayed size."""

    path: str
    num_frames: int
    fps: float
    width: int
    height: int
    duration: float  # num_frames / fps, in seconds
    has_audio: bool


@dataclass(frozen=True)
class _Header:
    """What ffmpeg prints about an input before decoding it."""

    container: str
    has_video: bool
    has_audio: bool
    fps: float
    width: int
    height: int


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary used for all decoding and encoding."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def probe_video(path: str | os.PathLike, *, exact: bool = True) -> VideoInfo:
    """Probe a video, counting its frames by decoding them all.

    With ``exact=False`` the frames are counted from the packets the demuxer reads (as
    ``imageio_ffmpeg.count_frames_and_secs`` does), without decoding: 20x faster, the same count for intact
    files, and at most a few frames more than decode for damaged ones. Results are cached per file path,
    size and modification time.

    Raises:
        VideoReadError: the file is missing, is not a video (text, a still image), has no video
            stream, or has no frame that decodes.
    """
    file = _existing_file(path)
    stat = file.stat()
    return _probe_cached(str(file), stat.st_size, stat.st_mtime_ns, exact)


@functools.lru_cache(maxsize=64)
def _probe_cached(path: str, size: int, mtime_ns: int, exact: bool) -> VideoInfo:
    header = _read_header(path)
    num_frames = _count_frames(path, decode=exact)
    if num_frames == 0:
        raise VideoReadError(f"{path} has a video stream but none of its frames decode.")
    return VideoInfo(
        path=path,
        num_frames=num_frames,
        fps=header.fps,
        width=header.width,
        height=header.height,
        duration=num_frames / header.fps,
        has_audio=header.has_audio,
    )


def has_audio_stream(path: str | os.PathLike) -> bool:
    """Whether a media file (video or audio-only) has an audio stream; reads only its header."""
    return _read_header(str(_existing_file(path)), require_video=False).has_audio


def iter_frames(
    path: str | os.PathLike, *, start: int = 0, stop: int | None = None, pixel_format: str = "rgb24"
) -> Iterator[np.ndarray]:
    """Yield the ``uint8`` frames ``start <= i < stop`` of a video: RGB ``(H, W, 3)`` or I420 (see above).

    ``stop`` defaults to the end; indices past the end are clipped (nothing is yielded when ``start`` is
    past the end). Late starts use a fast input-side seek that still lands on exactly frame ``start``.

    Raises:
        ValueError: a negative ``start``, ``stop < start`` or an unknown ``pixel_format``.
        VideoReadError: see ``probe_video``.
    """
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if stop is not None and stop < start:
        raise ValueError(f"stop must be >= start ({start}), got {stop}")
    if pixel_format not in PIXEL_FORMATS:
        raise ValueError(f"pixel_format must be one of {', '.join(PIXEL_FORMATS)}, got {pixel_format!r}")
    info = probe_video(path, exact=False)
    stop = info.num_frames if stop is None else min(stop, info.num_frames)
    if start >= stop:
        return
    yield from _decode(info, start, stop - start, pixel_format)


def even_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) rounded up to even numbers, the size of I420 frames and of encoded videos."""
    return width + width % 2, height + height % 2


def frame_shape(width: int, height: int, pixel_format: str) -> tuple[int, ...]:
    """Array shape of a frame of a ``width`` x ``height`` video in ``pixel_format`` (see the module doc)."""
    if pixel_format == "rgb24":
        return height, width, 3
    padded_width, padded_height = even_size(width, height)
    return padded_height * 3 // 2, padded_width


def read_frame(video: str | os.PathLike | VideoInfo, index: int) -> np.ndarray:
    """Return frame ``index`` of a video as an RGB ``uint8`` array of shape ``(H, W, 3)``.

    ``video`` is a path, or its ``VideoInfo`` when it was already probed (it is then not probed again).

    Raises:
        ValueError: ``index`` is outside the video.
        VideoReadError: see ``probe_video``.
    """
    info = video if isinstance(video, VideoInfo) else probe_video(video, exact=False)
    if not 0 <= index < info.num_frames:
        raise BadInput(f"frame index {index} is outside {info.path} ({info.num_frames} frames)")
    for frame in _decode(info, index, 1, "rgb24"):
        return frame
    raise VideoReadError(f"frame {index} of {info.path} does not decode.")


def check_output_video(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path`` once it is a name the writer can produce in an existing folder.

    Raises:
        BadInput: the suffix is not .mp4, .m4v or .mov, or the folder does not exist.
    """
    return _checked_output(path, _WRITABLE_SUFFIXES, f"must end with one of {', '.join(_WRITABLE_SUFFIXES)}")


def _checked_output(path: str | os.PathLike, suffixes: Iterable[str], suffix_rule: str) -> Path:
    """``path`` as a ``Path``, refused (`BadInput`) unless its suffix is in ``suffixes`` (what
    ``suffix_rule`` says) and its folder exists."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise BadInput(f"output {path.name} {suffix_rule}")
    if not path.parent.is_dir():
        raise BadInput(f"the folder of the output {path.name} does not exist")
    return path


class VideoWriter:
    """Encode frames to an H.264 (libx264, yuv420p, faststart) video that browsers play.

    Frames are RGB ``(H, W, 3)``, or I420 ``(H * 3 // 2, W)`` with even ``W`` and ``H`` when
    ``pixel_format="yuv420p"`` (see the module docstring), or RGBA ``(H, W, 4)`` when
    ``pixel_format="rgba"``: then ``path`` ends in ``.webm`` (VP9 with alpha) or ``.mov`` (ProRes 4444),
    odd sizes are padded with transparent pixels, and there is no audio. Use as a context manager.
    Frames go to a temporary file in the output's folder, renamed to ``path`` only when the block ends
    without an exception; otherwise nothing is left behind. Odd sizes are padded by one black row or
    column to even (never rescaled). With ``audio_from``, that file's first audio
    track is encoded to AAC and cut to the video's length, padded with silence when shorter, or repeated
    when ``loop_audio`` is set. When ``frames`` says how many frames will come, it is encoded in the same
    pass; otherwise (or when another number came) it is muxed in a second, stream-copying pass once the
    frame count is known, so the cut is exact however fast the frames arrived.

    Example::

        with VideoWriter("out.mp4", fps=30, audio_from="in.mp4") as writer:
            for frame in frames:
                writer.write(frame)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        fps: float,
        audio_from: str | os.PathLike | None = None,
        loop_audio: bool = False,
        preset: str = config.X264_PRESET,
        crf: int = config.X264_CRF,
        pixel_format: str = "rgb24",
        frames: int | None = None,
    ) -> None:
        if pixel_format == ALPHA_PIXEL_FORMAT:
            self.path = check_alpha_video_path(path)
            if audio_from is not None:
                raise ValueError(f"a video with alpha ({self.path.name}) carries no audio")
        else:
            self.path = check_output_video(path)
            if pixel_format not in PIXEL_FORMATS:
                raise ValueError(
                    f"pixel_format must be one of {', '.join((*PIXEL_FORMATS, ALPHA_PIXEL_FORMAT))}, "
                    f"got {pixel_format!r}"
                )
        if not fps > 0:
            raise BadInput(f"fps must be > 0, got {fps}")
        self.pixel_format = pixel_format
        self.fps = fps
        self.audio_from = Path(audio_from) if audio_from is not None else None
        self.loop_audio = loop_audio
        self.preset = preset
        self.crf = crf
        self.frames = frames  # how many frames the caller will write, when known
        self.frames_written = 0
        self._audio_in_pass = (  # whether the encoding pass muxes the audio (see close)
            frames is not None and self.audio_from is not None and has_audio_stream(self.audio_from)
        )
        self._temp_path = temp_sibling(self.path)  # published to `path` by `close`
        self._size: tuple[int, ...] | None = None  # array shape fixed by the first frame
        self._process: subprocess.Popen | None = None
        self._stderr: IO[bytes] | None = None
        self._closed = False

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, frame: np.ndarray) -> None:
        """Append one ``uint8`` frame in the writer's pixel format; every frame must have the first's size."""
        if self._closed:
            raise RuntimeError(f"writer for {self.path} is closed; open a new VideoWriter")
        width, height = _frame_size(frame, self.pixel_format)
        if self._process is None:
            self._size = frame.shape
            self._start(width=width, height=height)
        elif frame.shape != self._size:
            raise ValueError(f"frame shape {frame.shape} differs from the first frame's {self._size}")
        try:
            self._process.stdin.write(np.ascontiguousarray(frame).data)
        except OSError as error:  # BrokenPipeError: ffmpeg exited
            self._process.wait()
            message = self._stderr_tail()
            self.abort()
            raise VideoWriteError(f"ffmpeg stopped while writing {self.path}: {message}") from error
        self.frames_written += 1

    def close(self) -> Path:
        """Finish encoding and move the video into place; returns its path.

        Raises:
            ValueError: no frame was written (no file is produced).
            VideoWriteError: ffmpeg failed (no file is produced).
        """
        if self._closed:
            return self.path
        if self._process is None:
            self._closed = True
            raise BadInput(f"no frames were written to {self.path}")
        self._process.stdin.close()
        return_code = self._process.wait()
        self._closed = True
        if return_code != 0:
            message = self._stderr_tail()
            self._cleanup()
            raise VideoWriteError(f"ffmpeg failed to write {self.path}: {message}")
        self._stderr.close()
        if self._audio_in_pass and self.frames_written != self.frames:
            self._add_audio()  # the audio was cut for another number of frames
        elif not self._audio_in_pass and self.audio_from is not None and has_audio_stream(self.audio_from):
            self._add_audio()
        publish(self._temp_path, self.path)
        return self.path

    def abort(self) -> None:
        """Stop encoding and delete the partial file; ``path`` is left untouched."""
        self._closed = True
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._cleanup()

    def _start(self, *, width: int, height: int) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the writer; closed by close/abort)
        self._process = subprocess.Popen(
            self._command(width, height),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )

    def _command(self, width: int, height: int) -> list[str]:
        command = [ffmpeg_exe(), "-hide_banner", "-nostats", "-v", "error", "-y", "-f", "rawvideo"]
        command += ["-pix_fmt", self.pixel_format, "-s", f"{width}x{height}", "-r", _rate_text(self.fps)]
        command += ["-i", "pipe:0"]
        if self.pixel_format == ALPHA_PIXEL_FORMAT:
            encoding = list(ALPHA_ENCODINGS[self.path.suffix.lower()])
            if width % 2 or height % 2:
                encoding += ["-vf", f"{_EVEN_PAD_FILTER}:color=black@0"]
            return command + encoding + [_ffmpeg_path(self._temp_path)]
        encoding = ["-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf), "-pix_fmt", "yuv420p"]
        if width % 2 or height % 2:
            encoding += ["-vf", _EVEN_PAD_FILTER]
        if self._audio_in_pass:
            command, encoding = command + self._audio_input(), ["-map", "0:v:0", *encoding]
            encoding += [*self._audio_encoding(), "-t", f"{self.frames / self.fps:.6f}"]
        return command + encoding + ["-movflags", "+faststart", _ffmpeg_path(self._temp_path)]

    def _audio_input(self) -> list[str]:
        """ffmpeg's options reading ``audio_from`` (repeated when ``loop_audio``)."""
        return [*(["-stream_loop", "-1"] if self.loop_audio else []), "-i", _ffmpeg_path(self.audio_from)]

    def _audio_encoding(self) -> list[str]:
        """ffmpeg's options taking the audio of the second input to AAC, padded with silence when short."""
        return [
            "-map",
            "1:a:0",
            "-c:a",
            "aac",
            "-b:a",
            config.AAC_BITRATE,
            *([] if self.loop_audio else ["-af", "apad"]),
        ]

    def _add_audio(self) -> None:
        """Replace the finished video by one with ``audio_from``'s audio cut to its exact length."""
        silent = self._temp_path.with_name(f"{self._temp_path.stem}.silent{self._temp_path.suffix}")
        os.replace(self._temp_path, silent)
        command = [ffmpeg_exe(), "-hide_banner", "-nostats", "-v", "error", "-y", "-i", _ffmpeg_path(silent)]
        command += [*self._audio_input(), "-map", "0:v:0", "-c:v", "copy", *self._audio_encoding()]
        command += ["-t", f"{self.frames_written / self.fps:.6f}", "-movflags", "+faststart"]
        try:
            result = subprocess.run([*command, _ffmpeg_path(self._temp_path)], capture_output=True)
        finally:
            silent.unlink(missing_ok=True)
        if result.returncode != 0:
            self._cleanup()
            message = _last_line(result.stderr.decode("utf-8", "replace"))
            raise VideoWriteError(
                f"ffmpeg failed to add the audio of {self.audio_from} to {self.path}: {message}"
            )

    def _stderr_tail(self) -> str:
        return _read_tail(self._stderr) if self._stderr is not None else ""

    def _cleanup(self) -> None:
        if self._stderr is not None:
            self._stderr.close()
        remove(self._temp_path)


def check_alpha_video_path(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path`` once it names a ``.webm`` or ``.mov`` video with alpha in an existing folder.

    Raises:
        BadInput: another suffix, or the folder does not exist.
    """
    return _checked_output(path, ALPHA_ENCODINGS, "must be .webm (VP9) or .mov (ProRes 4444) for alpha")


def estimate_alpha_video_bytes(suffix: str, *, width: int, height: int, frames: int, coverage: float) -> int:
    """The size in bytes a video with alpha (``suffix`` ``.webm`` or ``.mov``) of ``frames`` frames of
    ``width`` x ``height`` will about have, when the objects cover ``coverage`` (0..1) of each frame on
    average: ``frames * width * height * (empty + coverage * covered) / 8`` with the bits per pixel of
    `ALPHA_BITS_PER_PIXEL`. A guess from measured rates (the encoders' output depends on the footage).

    Raises:
        ValueError: an unknown suffix, a negative count, or a coverage outside [0, 1].
    """
    if suffix.lower() not in ALPHA_BITS_PER_PIXEL:
        raise ValueError(f"suffix must be one of {', '.join(ALPHA_BITS_PER_PIXEL)}, got {suffix!r}")
    if min(width, height, frames) < 0 or not 0.0 <= coverage <= 1.0:
        raise ValueError(f"need sizes >= 0 and coverage in [0, 1], got {width}x{height}x{frames}, {coverage}")
    empty, covered = ALPHA_BITS_PER_PIXEL[suffix.lower()]
    return round(frames * width * height * (empty + coverage * covered) / 8)


def write_video(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    *,
    fps: float,
    audio_from: str | os.PathLike | None = None,
    loop_audio: bool = False,
    pixel_format: str = "rgb24",
) -> Path:
    """Encode ``uint8`` frames (RGB, or I420 if ``pixel_format="yuv420p"``) to ``path``; see VideoWriter
    (a sequence of frames has its audio encoded in the same pass)."""
    writer = VideoWriter(
        path, fps=fps, audio_from=audio_from, loop_audio=loop_audio, pixel_format=pixel_format,
        frames=len(frames) if isinstance(frames, Sized) else None,
    )  # fmt: skip
    with writer:
        for frame in frames:
            writer.write(frame)
    return writer.path


# --- decoding -------------------------------------------------------------------------------------


def _ffmpeg_path(path: str | os.PathLike) -> str:
    """``path`` as ffmpeg must be given it: absolute, so that a name with a colon ("take:2.mp4") is not read
    as a protocol and one with a leading dash is not read as an option."""
    return os.path.abspath(path)


def _existing_file(path: str | os.PathLike) -> Path:
    file = Path(path)
    if not file.is_file():
        raise VideoReadError(f"video file not found: {file}")
    return file


def _read_header(path: str, *, require_video: bool = True) -> _Header:
    stat = os.stat(path)
    header = _header_cached(path, stat.st_size, stat.st_mtime_ns)
    if _IMAGE_FORMATS.search(header.container) and require_video:
        raise VideoReadError(f"{path} is a still image, not a video.")
    if require_video and not header.has_video:
        raise NoVideoStream(f"{path} has no video stream.")
    return header


@functools.lru_cache(maxsize=64)
def _header_cached(path: str, size: int, mtime_ns: int) -> _Header:
    """The header of the file at ``path`` as it is at ``size`` and ``mtime_ns`` (ffmpeg read it once)."""
    command = [ffmpeg_exe(), "-hide_banner", "-i", _ffmpeg_path(path)]
    result = _probe_run(command, config.MAX_VIDEO_HEADER_SECONDS, f"reading the header of {Path(path).name}")
    text = result.stderr.decode("utf-8", errors="replace")
    container = re.search(r"^Input #0, (.+?), from", text, re.MULTILINE)
    if container is None:
        raise VideoReadError(f"{path} is not a readable video ({_last_line(text)}).")
    return _parse_header(container.group(1), text)


def _probe_run(command: list[str], seconds: float, doing: str) -> subprocess.CompletedProcess[bytes]:
    """Run one probing ffmpeg ``command``, killed after ``seconds`` of wall time: `VideoReadError` saying
    that ``doing`` ("reading the header of v.mp4") took too long."""
    try:
        return subprocess.run(command, capture_output=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        raise VideoReadError(
            f"{doing} took more than {seconds:g} s; give a shorter or simpler video"
        ) from None


def _parse_header(container: str, text: str) -> _Header:
    video = re.search(r"Stream #0:\d+.*?: Video: .*?, (\d+)x(\d+)[ ,].*", text)
    has_audio = re.search(r"Stream #0:\d+.*?: Audio: ", text) is not None
    if video is None:
        return _Header(container, has_video=False, has_audio=has_audio, fps=0.0, width=0, height=0)
    width, height = int(video.group(1)), int(video.group(2))
    if _rotation_degrees(text) % 180 == 90:
        width, height = height, width
    rate = re.search(r"([\d.]+)(k?) fps", video.group(0)) or re.search(r"([\d.]+)(k?) tbr", video.group(0))
    fps = _exact_frame_rate(float(rate.group(1)) * (1000 if rate.group(2) else 1)) if rate else 25.0
    return _Header(container, has_video=True, has_audio=has_audio, fps=fps, width=width, height=height)


def _rotation_degrees(text: str) -> int:
    matrix = re.search(r"display ?matrix: rotation of (-?[\d.]+) degrees", text, re.IGNORECASE)
    if matrix:
        return round(float(matrix.group(1))) % 360
    tag = re.search(r"^\s*rotate\s*: (-?\d+)", text, re.MULTILINE)
    return int(tag.group(1)) % 360 if tag else 0


def _exact_frame_rate(printed: float) -> float:
    """ffmpeg prints rates rounded (29.97); restore the NTSC rates n * 1000 / 1001 they stand for."""
    ntsc = round(printed * 1.001) * 1000 / 1001
    return ntsc if abs(ntsc - printed) < 0.006 and abs(printed - round(printed)) > 0.006 else printed


def _count_frames(path: str, *, decode: bool) -> int:
    command = [ffmpeg_exe(), "-hide_banner", "-nostats", "-v", "error", "-i", _ffmpeg_path(path)]
    command += ["-map", "0:v:0"]
    command += ["-fps_mode", "passthrough"] if decode else ["-c", "copy"]
    command += ["-f", "null", "-progress", "pipe:1", "-"]
    result = _probe_run(command, config.MAX_FRAME_COUNT_SECONDS, f"counting the frames of {Path(path).name}")
    counts = re.findall(rb"^frame=(\d+)", result.stdout, re.MULTILINE)
    return int(counts[-1]) if counts else 0


@functools.lru_cache(maxsize=64)
def _first_frame_time(path: str, size: int, mtime_ns: int) -> float:
    """Seconds from the file's start to its first video frame (non-zero when the video starts late)."""
    command = [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", _ffmpeg_path(path)]
    command += ["-map", "0:v:0", "-frames:v", "1"]
    command += ["-vf", "showinfo", "-f", "null", "-"]
    result = _probe_run(
        command, config.MAX_VIDEO_HEADER_SECONDS, f"finding the first frame of {Path(path).name}"
    )
    match = re.search(rb"pts_time:\s*(-?[\d.]+)", result.stderr)
    return float(match.group(1)) if match else 0.0


@functools.cache
def _keep_freed_frame_memory() -> None:
    """Let glibc reuse the memory of freed frames instead of giving it back to the kernel at once.

    A decoded frame is 1 to 6 MB: by default glibc maps each one afresh (or trims it off its heap when it
    is freed), so every frame's pages fault in again, a third of a render's system time. Blocks below
    ``_HEAP_BLOCK_BYTES`` now come from the heap, which keeps up to ``_KEPT_FREE_BYTES`` free. Other C
    libraries are left as they are."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt(_M_MMAP_THRESHOLD, _HEAP_BLOCK_BYTES)
    mallopt(_M_TRIM_THRESHOLD, _KEPT_FREE_BYTES)


def _decode(info: VideoInfo, start: int, count: int, pixel_format: str) -> Iterator[np.ndarray]:
    _keep_freed_frame_memory()
    input_options, filters = _seek_arguments(info, start)
    if pixel_format == "yuv420p" and (info.width % 2 or info.height % 2):
        filters.append(_EVEN_PAD_FILTER)
    command = [ffmpeg_exe(), "-hide_banner", "-nostats", "-v", "error", *input_options]
    command += ["-i", _ffmpeg_path(info.path)]
    command += ["-map", "0:v:0", "-fps_mode", "passthrough", *(["-vf", ",".join(filters)] if filters else [])]
    command += ["-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", pixel_format, "pipe:1"]
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, bufsize=1 << 20)
        try:
            yield from _read_raw_frames(
                process.stdout, frame_shape(info.width, info.height, pixel_format), count
            )
        finally:
            process.kill()
            process.stdout.close()
            process.wait()


def _seek_arguments(info: VideoInfo, start: int) -> tuple[list[str], list[str]]:
    """(input options, filters) that make decoding begin exactly at frame ``start``."""
    if start < _DECODE_FROM_START_BELOW_SECONDS * info.fps:
        return [], ([f"trim=start_frame={start}"] if start else [])
    stat = os.stat(info.path)
    offset = _first_frame_time(info.path, stat.st_size, stat.st_mtime_ns)
    return ["-ss", f"{offset + (start - 0.5) / info.fps:.6f}"], []


def _read_raw_frames(stream: IO[bytes], shape: tuple[int, ...], count: int) -> Iterator[np.ndarray]:
    for _ in range(count):
        frame = np.empty(shape, dtype=np.uint8)
        if stream.readinto(memoryview(frame).cast("B")) != frame.nbytes:
            return
        yield frame


def _frame_size(frame: np.ndarray, pixel_format: str) -> tuple[int, int]:
    """(width, height) of a frame to encode, after checking its type and shape."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValueError(
            f"frames must be uint8 arrays, got {type(frame).__name__} {getattr(frame, 'dtype', '')}"
        )
    if pixel_format in ("rgb24", ALPHA_PIXEL_FORMAT):
        channels = 3 if pixel_format == "rgb24" else 4
        if frame.ndim != 3 or frame.shape[2] != channels:
            raise ValueError(f"{pixel_format} frames must have shape (H, W, {channels}), got {frame.shape}")
        return frame.shape[1], frame.shape[0]
    if frame.ndim != 2 or frame.shape[0] % 3 or frame.shape[1] % 2:  # (H * 3 // 2) rows, H even
        raise ValueError(
            f"yuv420p frames must have shape (H * 3 // 2, W) with even W and H, got {frame.shape}"
        )
    return frame.shape[1], frame.shape[0] * 2 // 3


def _rate_text(fps: float) -> str:
    """A frame rate as the exact fraction ffmpeg expects, e.g. 29.97002997 -> "30000/1001"."""
    rate = Fraction(fps).limit_denominator(1001)
    return f"{rate.numerator}/{rate.denominator}"


def _read_tail(stream: IO[bytes]) -> str:
    stream.seek(0)
    return stream.read().decode("utf-8", errors="replace").strip()[-_STDERR_TAIL_CHARS:]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "ffmpeg printed nothing"
