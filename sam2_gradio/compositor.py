"""Composite the masked objects of one video into another: instant previews, snapshots, full renders.

The output has the background's size and frame rate. Output frame ``i`` shows time ``t = i / bg_fps``:
the background frame at ``t`` and the object frame at ``t`` (``floor(t * obj_fps)``), so clips of
different frame rates stay in sync. Without ``loop`` the output ends when either video ends; with
``loop`` the shorter one restarts and the output lasts as long as the longer. The background's audio is
carried over, cut (or repeated, with ``loop``) to the output's length.

A render overlaps its work: two reader threads decode the background and the object (plus its masks)
while the main thread composites and an ffmpeg process encodes.

Example::

    from sam2_gradio.compositor import ComposeOptions, render
    render("beach.mp4", "dog.mp4", "dog_masks.zip", "out.mp4", ComposeOptions(pos="bottom-left", size=300))
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from sam2_gradio import config
from sam2_gradio.blend import BLEND_MODES, composite, feather_alpha, match_brightness
from sam2_gradio.jobs import CancelFlag, Cancelled, raise_if_cancelled
from sam2_gradio.masks import MaskSet, ObjectMask, load_mask_set
from sam2_gradio.placement import ANCHORS, PLACEMENTS, Box, clip_box, grow_box, relocate
from sam2_gradio.video_io import VideoInfo, VideoReadError, VideoWriter, iter_frames, probe_video, read_frame

__all__ = [
    "Cancelled",
    "ComposeOptions",
    "RenderProgress",
    "RenderResult",
    "Timeline",
    "compose_frame",
    "effective_placement",
    "placement_note",
    "plan_timeline",
    "render",
    "snapshot",
]

RenderProgress = Callable[[int, int, float], None]  # (frames_done, total, frames per second)
_QUEUED_FRAMES = 8  # decoded frames each reader thread may hold ahead of the compositor
T = TypeVar("T")


@dataclass(frozen=True)
class ComposeOptions:
    """How the object is placed, blended and timed; every field has a usable default."""

    placement: str = "relocate"  # "relocate" (crop, rescale, anchor) or "original" (keep its position)
    pos: str = "center"  # anchor of "relocate", one of placement.ANCHORS
    size: int = config.DEFAULT_OBJECT_SIZE  # longer side of the relocated object, pixels
    offset_x: int = 0  # pixels right of the anchor (negative: left)
    offset_y: int = 0  # pixels below the anchor (negative: up)
    blend_mode: str = "normal"  # one of blend.BLEND_MODES
    brightness_match: bool = False  # bring the object's mean luma toward the background's around it
    loop: bool = False  # restart the shorter video; the output then lasts as long as the longer
    feather: int = config.DEFAULT_FEATHER  # mask edge softened inwards over this many pixels
    objects: tuple[int, ...] | None = None  # object ids to paste (None: all in the masks)

    def __post_init__(self) -> None:
        _check_choice("placement", self.placement, PLACEMENTS)
        _check_choice("pos", self.pos, ANCHORS)
        _check_choice("blend_mode", self.blend_mode, BLEND_MODES)
        if self.size < 1:
            raise ValueError(f"size must be >= 1 pixel, got {self.size}")
        if self.feather < 0:
            raise ValueError(f"feather must be >= 0, got {self.feather}")
        if self.objects is not None:
            object.__setattr__(self, "objects", tuple(int(obj_id) for obj_id in self.objects))
            if not self.objects:
                raise ValueError("objects must name at least one object id, or be None for all")


@dataclass(frozen=True)
class RenderResult:
    """What ``render`` produced."""

    path: Path  # the finished video
    num_frames: int  # frames in it
    fps: float  # its frame rate (the background's)
    seconds: float  # wall time the render took
    note: str | None  # the forced-placement message, if any (see ``placement_note``)


@dataclass(frozen=True)
class Timeline:
    """Which background and object frame each output frame shows (see the module docstring)."""

    num_frames: int  # output frames
    fps: float  # output frame rate (the background's)
    background_frames: int
    object_frames: int
    object_fps: float
    loop: bool

    def background_index(self, index: int) -> int:
        """Background frame shown by output frame ``index``."""
        return index % self.background_frames if self.loop else index

    def object_index(self, index: int) -> int:
        """Object frame shown by output frame ``index``: the one on screen at the same time."""
        frame = math.floor(index / self.fps * self.object_fps + 1e-6)
        return frame % self.object_frames if self.loop else min(frame, self.object_frames - 1)


def plan_timeline(background: VideoInfo, obj: VideoInfo, *, loop: bool) -> Timeline:
    """Timeline of a composite of ``obj`` over ``background`` (lengths and fps from their probes)."""
    object_in_output_frames = math.ceil(obj.num_frames / obj.fps * background.fps - 1e-6)
    combine = max if loop else min
    num_frames = combine(background.num_frames, object_in_output_frames)
    return Timeline(num_frames, background.fps, background.num_frames, obj.num_frames, obj.fps, loop)


def effective_placement(mask_set: MaskSet, options: ComposeOptions) -> str:
    """The placement actually used: "original" whenever more than one object is pasted."""
    return "original" if len(_selected_objects(mask_set, options)) > 1 else options.placement


def placement_note(mask_set: MaskSet, options: ComposeOptions) -> str | None:
    """Message explaining a forced "original" placement, or None when the chosen placement is used."""
    if effective_placement(mask_set, options) == options.placement:
        return None
    ids = ", ".join(str(obj_id) for obj_id in _selected_objects(mask_set, options))
    return (
        f"The masks hold several objects ({ids}), so they keep their original positions "
        "(placement 'original'); select a single object to relocate it."
    )


def compose_frame(
    bg_frame: np.ndarray,
    obj_frame: np.ndarray,
    masks: MaskSet,
    frame_index: int,
    options: ComposeOptions,
) -> np.ndarray:
    """Composite the selected objects of object frame ``frame_index`` over a background frame.

    Args:
        bg_frame: ``uint8`` (H, W, 3) RGB background frame (left unchanged).
        obj_frame: ``uint8`` (h, w, 3) RGB frame ``frame_index`` of the object video.
        masks: the object video's masks.
        frame_index: index of ``obj_frame`` in the object video (picks its masks).
        options: placement, blending and object selection.

    Returns:
        ``uint8`` (H, W, 3) RGB composite.
    """
    _check_frame("bg_frame", bg_frame)
    _check_frame("obj_frame", obj_frame)
    selected = _selected_objects(masks, options)
    mask = masks.mask_for(frame_index, selected, (obj_frame.shape[1], obj_frame.shape[0]))
    canvas = bg_frame.copy()
    if mask is not None:
        _paste(canvas, obj_frame, mask, options, effective_placement(masks, options))
    return canvas


def snapshot(
    bg_path: str | os.PathLike,
    obj_path: str | os.PathLike,
    masks: MaskSet | str | os.PathLike,
    frame_index: int,
    options: ComposeOptions,
    out_png: str | os.PathLike,
) -> Path:
    """Write output frame ``frame_index`` of the composite ``render`` would make as an RGB PNG.

    Raises:
        ValueError: ``frame_index`` is outside the output, or an input is unreadable.
    """
    background, obj = probe_video(bg_path), probe_video(obj_path)
    timeline = plan_timeline(background, obj, loop=options.loop)
    if not 0 <= frame_index < timeline.num_frames:
        raise ValueError(f"snapshot frame {frame_index} is outside the output ({timeline.num_frames} frames)")
    with ExitStack() as cleanup:
        mask_set = _as_mask_set(masks, cleanup)
        object_index = timeline.object_index(frame_index)
        composed = compose_frame(
            read_frame(bg_path, timeline.background_index(frame_index)),
            read_frame(obj_path, object_index),
            mask_set,
            object_index,
            options,
        )
    return _write_png(Path(out_png), composed)


def render(
    bg_path: str | os.PathLike,
    obj_path: str | os.PathLike,
    masks: MaskSet | str | os.PathLike,
    out_path: str | os.PathLike,
    options: ComposeOptions,
    *,
    progress: RenderProgress | None = None,
    cancel: CancelFlag | None = None,
) -> RenderResult:
    """Render the composite video to ``out_path`` (H.264 + AAC mp4, written to a temp file then renamed).

    ``progress(frames_done, total, fps)`` is called after every frame; ``cancel.is_set()`` is checked
    between frames and a set flag raises ``Cancelled``. A failed or cancelled render leaves no file.

    Raises:
        ValueError: an unreadable input, unknown object ids, or a bad output path.
        Cancelled: ``cancel`` was set.
    """
    started = time.perf_counter()
    background, obj = probe_video(bg_path), probe_video(obj_path)
    timeline = plan_timeline(background, obj, loop=options.loop)
    with ExitStack() as cleanup:
        mask_set = _as_mask_set(masks, cleanup)
        placement = effective_placement(mask_set, options)
        backgrounds = cleanup.enter_context(_Prefetch(_background_frames(background, timeline)))
        objects = cleanup.enter_context(_Prefetch(_object_frames(obj, mask_set, options, timeline)))
        audio = bg_path if background.has_audio else None
        writer = cleanup.enter_context(
            VideoWriter(out_path, fps=background.fps, audio_from=audio, loop_audio=options.loop)
        )
        for done, (canvas, (obj_frame, mask)) in enumerate(zip(backgrounds, objects, strict=True), start=1):
            raise_if_cancelled(cancel, "rendering")
            if mask is not None:
                _paste(canvas, obj_frame, mask, options, placement)
            writer.write(canvas)
            if progress is not None:
                progress(done, timeline.num_frames, done / (time.perf_counter() - started))
        note = placement_note(mask_set, options)
    return RenderResult(
        writer.path, writer.frames_written, background.fps, time.perf_counter() - started, note
    )


# --- pasting --------------------------------------------------------------------------------------


def _paste(
    canvas: np.ndarray, obj_frame: np.ndarray, mask: ObjectMask, options: ComposeOptions, placement: str
) -> None:
    """Composite ``obj_frame`` through ``mask`` into ``canvas`` in place; touches only the target box."""
    canvas_size = (canvas.shape[1], canvas.shape[0])
    if placement == "original":
        target = mask.box
    else:
        target = relocate(
            mask.box,
            canvas_size,
            size=options.size,
            pos=options.pos,
            offset_x=options.offset_x,
            offset_y=options.offset_y,
        )
    visible = clip_box(target, canvas_size)
    if visible is None:
        return
    patch, alpha = _scaled_patch(obj_frame, mask, target)
    alpha = feather_alpha(alpha, options.feather)
    inside = (
        slice(visible.y0 - target.y0, visible.y1 - target.y0),
        slice(visible.x0 - target.x0, visible.x1 - target.x0),
    )
    patch, alpha = patch[inside], np.ascontiguousarray(alpha[inside])
    region = canvas[visible.y0 : visible.y1, visible.x0 : visible.x1]
    if options.brightness_match:
        patch = match_brightness(patch, alpha, _surroundings(canvas, visible))
    region[...] = composite(region, np.ascontiguousarray(patch), alpha, options.blend_mode)


def _scaled_patch(obj_frame: np.ndarray, mask: ObjectMask, target: Box) -> tuple[np.ndarray, np.ndarray]:
    """The object's pixels and mask inside ``mask.box``, resized to the size of ``target``."""
    box = mask.box
    patch = obj_frame[box.y0 : box.y1, box.x0 : box.x1]
    size = (target.width, target.height)
    if size == (box.width, box.height):
        return patch, mask.alpha
    shrinking = target.width < box.width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(patch, size, interpolation=interpolation), cv2.resize(
        mask.alpha, size, interpolation=interpolation
    )


def _surroundings(canvas: np.ndarray, box: Box) -> np.ndarray:
    """The background around ``box``: the box grown by half its longer side on every side."""
    region = grow_box(box, max(box.width, box.height) // 2, (canvas.shape[1], canvas.shape[0]))
    return canvas[region.y0 : region.y1, region.x0 : region.x1]


# --- reading -------------------------------------------------------------------------------------


def _background_frames(background: VideoInfo, timeline: Timeline) -> Iterator[np.ndarray]:
    """The background frames of every output frame, restarting the video when it loops."""
    remaining = timeline.num_frames
    while remaining > 0:
        decoded = 0
        for frame in iter_frames(background.path, stop=remaining):
            yield frame
            decoded += 1
        remaining -= decoded
        if remaining and (decoded == 0 or not timeline.loop):
            raise VideoReadError(f"{background.path} stopped decoding before frame {timeline.num_frames}")


def _object_frames(
    obj: VideoInfo, mask_set: MaskSet, options: ComposeOptions, timeline: Timeline
) -> Iterator[tuple[np.ndarray, ObjectMask | None]]:
    """(object frame, its selected masks) for every output frame, in output order."""
    selected = _selected_objects(mask_set, options)
    decoder: Iterator[np.ndarray] | None = None
    position = -1  # index of ``current`` in the object video
    current: tuple[np.ndarray, ObjectMask | None] | None = None
    for index in range(timeline.num_frames):
        wanted = timeline.object_index(index)
        if decoder is None or wanted < position:  # first frame, or the object video restarts (loop)
            decoder, position = iter_frames(obj.path, start=wanted), wanted - 1
        while position < wanted:
            frame = next(decoder, None)
            if frame is None:
                raise VideoReadError(f"{obj.path} stopped decoding before frame {wanted}")
            position += 1
            if position == wanted:
                current = (frame, mask_set.mask_for(wanted, selected, (obj.width, obj.height)))
        yield current


class _Prefetch(Iterator[T]):
    """Run an iterator in a daemon thread, ``_QUEUED_FRAMES`` items ahead; errors reach the consumer."""

    _END = object()

    def __init__(self, source: Iterator[T]) -> None:
        self._source = source
        self._queue: queue.Queue = queue.Queue(maxsize=_QUEUED_FRAMES)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def __enter__(self) -> _Prefetch[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def __next__(self) -> T:
        item = self._queue.get()
        if item is self._END:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def _run(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
            self._put(self._END)
        except BaseException as error:  # handed to the consumer thread
            self._put(error)
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


# --- helpers -------------------------------------------------------------------------------------


def _selected_objects(mask_set: MaskSet, options: ComposeOptions) -> tuple[int, ...]:
    if options.objects is None:
        return mask_set.object_ids
    unknown = sorted(set(options.objects) - set(mask_set.object_ids))
    if unknown:
        have = ", ".join(str(obj_id) for obj_id in mask_set.object_ids)
        raise ValueError(f"object ids {unknown} are not in the masks (they hold {have})")
    return options.objects


def _as_mask_set(masks: MaskSet | str | os.PathLike, cleanup: ExitStack) -> MaskSet:
    """``masks`` itself, or the mask set loaded from a path (closed when ``cleanup`` exits)."""
    if isinstance(masks, MaskSet):
        return masks
    mask_set = load_mask_set(masks)
    cleanup.callback(mask_set.close)
    return mask_set


def _write_png(path: Path, rgb: np.ndarray) -> Path:
    temp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.png")
    try:
        if not cv2.imwrite(str(temp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise ValueError(f"cannot write snapshot {path}")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def _check_frame(name: str, frame: np.ndarray) -> None:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"{name} must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
