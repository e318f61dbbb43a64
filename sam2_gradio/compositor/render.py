"""Composite the masked objects of one video into another: instant previews, snapshots, full renders.

The output has the background's size and frame rate. Output frame ``i`` shows time ``t = i / bg_fps``:
the background frame at ``t`` and the object frame at ``t`` (``floor(t * obj_fps)``), so clips of
different frame rates stay in sync. Without ``loop`` the output ends when either video ends; with
``loop`` the shorter one restarts and the output lasts as long as the longer. The background's audio is
carried over, cut (or repeated, with ``loop``) to the output's length.

A render overlaps its work: two reader threads decode the background and the object (plus its masks)
while the main thread composites and an ffmpeg process encodes. Frames travel as I420 (the videos' own
YUV 4:2:0), and only the object's box is converted to RGB and back (OpenCV, BT.601), so the background
goes from decoder to encoder untouched and no whole frame is ever colour-converted.

Example::

    from sam2_gradio.compositor.render import ComposeOptions, render
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
from sam2_gradio.compositor.blend import BLEND_MODES, composite, feather_alpha, match_brightness
from sam2_gradio.compositor.edges import EDGE_MODES, Cutout, EdgeHistory, cut_out, reach
from sam2_gradio.compositor.placement import ANCHORS, PLACEMENTS, Box, clip_box, grow_box, relocate
from sam2_gradio.config import check_options, option
from sam2_gradio.jobs import BadInput, CancelFlag, Cancelled, raise_if_cancelled
from sam2_gradio.media.mask_files import MaskSet, ObjectMask, load_mask_set
from sam2_gradio.media.video import VideoInfo, VideoWriter, iter_frames, probe_video, read_frame

__all__ = [
    "Cancelled",
    "ComposeOptions",
    "RenderProgress",
    "RenderResult",
    "Timeline",
    "compose_frame",
    "effective_placement",
    "output_frame",
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
    """How the object is placed, blended and timed; every field has a usable default.

    Each field is declared once, with its help, choices or range: the compose CLI's flags, the Compose
    tab's controls and `/compose`'s parameters are built from (and tested against) these fields.
    """

    placement: str = option(
        "relocate",
        choices=PLACEMENTS,
        label="Placement",
        help="relocate: crop, rescale and anchor the object; original: keep it where it was "
        "(forced when several objects are pasted)",
    )
    pos: str = option("center", choices=ANCHORS, label="Position", help="anchor of the relocated object")
    size: int = option(
        config.DEFAULT_OBJECT_SIZE,
        minimum=1,
        slider=(16, 2048),
        label="Size (px)",
        help="longer side of the relocated object in pixels, aspect kept",
    )
    offset_x: int = option(
        0, slider=(-2000, 2000), label="Offset x (px)", help="pixels right of the anchor (negative: left)"
    )
    offset_y: int = option(
        0, slider=(-2000, 2000), label="Offset y (px)", help="pixels below the anchor (negative: up)"
    )
    blend_mode: str = option(
        "normal",
        choices=BLEND_MODES,
        label="Blend mode",
        control_id="blend",
        help="W3C blend mode of the object (source) over the background (backdrop)",
    )
    brightness_match: bool = option(
        False,
        label="Match brightness",
        control_id="brightness",
        help="bring the object's mean luma toward the background's around it (clamped gain, gamma curve)",
    )
    loop: bool = option(
        False,
        label="Loop the shorter video",
        help="restart the shorter video so the output lasts as long as the longer (default: the shorter)",
    )
    feather: int = option(
        config.DEFAULT_FEATHER,
        minimum=0,
        slider=(0, 32),
        label="Feather (px)",
        help="soften the hard edge inwards over this many pixels (0: binary; --edge hard only)",
    )
    edge: str = option(
        config.DEFAULT_EDGE,
        choices=EDGE_MODES,
        label="Edge",
        help="hard: the mask as is (with --feather); refine: edge-aware alpha and the object's own edge "
        "colours, smoothed along the motion (fast); matte: a matting solve in the band (seconds per frame)",
    )
    edge_band: int = option(
        config.DEFAULT_EDGE_BAND,
        minimum=1,
        slider=(1, 32),
        label="Edge band (px)",
        help="pixels on either side of the mask's edge that refine and matte may change",
    )
    objects: tuple[int, ...] | None = option(
        None, ids=True, label="Objects", help="object ids to paste (default: every object in the masks)"
    )

    def __post_init__(self) -> None:
        check_options(self)


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
    """Message explaining that several pasted objects keep their positions ("original" placement, which
    is forced whatever was chosen), or None for a single object, which goes where the options say."""
    selected = _selected_objects(mask_set, options)
    if len(selected) < 2:
        return None
    ids = ", ".join(str(obj_id) for obj_id in selected)
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
    canvas = _RgbFrame(bg_frame.copy())
    if mask is not None:
        _paste(canvas, _RgbFrame(obj_frame), mask, options, effective_placement(masks, options))
    return canvas.pixels


def output_frame(
    background: str | os.PathLike | VideoInfo,
    obj: str | os.PathLike | VideoInfo,
    masks: MaskSet,
    frame_index: int,
    options: ComposeOptions,
) -> np.ndarray:
    """Output frame ``frame_index`` of the composite ``render`` would make, ``uint8`` (H, W, 3) RGB.

    ``background`` and ``obj`` are the videos' paths, or their ``VideoInfo`` when already probed.

    Raises:
        ValueError: ``frame_index`` is outside the output, or an input is unreadable.
    """
    background, obj = _probed(background), _probed(obj)
    timeline = plan_timeline(background, obj, loop=options.loop)
    if not 0 <= frame_index < timeline.num_frames:
        raise BadInput(f"frame {frame_index} is outside the output ({timeline.num_frames} frames)")
    object_index = timeline.object_index(frame_index)
    return compose_frame(
        read_frame(background, timeline.background_index(frame_index)),
        read_frame(obj, object_index),
        masks,
        object_index,
        options,
    )


def snapshot(
    background: str | os.PathLike | VideoInfo,
    obj: str | os.PathLike | VideoInfo,
    masks: MaskSet | str | os.PathLike,
    frame_index: int,
    options: ComposeOptions,
    out_png: str | os.PathLike,
) -> Path:
    """Write ``output_frame(...)`` as an RGB PNG (atomically); ``masks`` may also be a folder or zip path."""
    with ExitStack() as cleanup:
        composed = output_frame(background, obj, _as_mask_set(masks, cleanup), frame_index, options)
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
    Inputs are probed by counting packets (``probe_video(exact=False)``); should a damaged input stop
    decoding earlier than that, the output ends there (``RenderResult.num_frames`` says where).

    Raises:
        ValueError: an unreadable input, unknown object ids, or a bad output path.
        Cancelled: ``cancel`` was set.
    """
    started = time.perf_counter()
    background, obj = probe_video(bg_path, exact=False), probe_video(obj_path, exact=False)
    timeline = plan_timeline(background, obj, loop=options.loop)
    with ExitStack() as cleanup:
        mask_set = _as_mask_set(masks, cleanup)
        placement = effective_placement(mask_set, options)
        backgrounds = cleanup.enter_context(_Prefetch(_background_frames(background, timeline)))
        objects = cleanup.enter_context(
            _Prefetch(_cut_out_objects(_object_frames(obj, mask_set, options, timeline), options, timeline))
        )
        audio = bg_path if background.has_audio else None
        writer = cleanup.enter_context(
            VideoWriter(
                out_path,
                fps=background.fps,
                audio_from=audio,
                loop_audio=options.loop,
                pixel_format="yuv420p",
            )
        )
        pairs = zip(backgrounds, objects, strict=False)  # ends when either input stops decoding
        for done, (canvas, (obj_frame, mask, cut)) in enumerate(pairs, start=1):
            raise_if_cancelled(cancel, "rendering")
            if mask is not None:
                _paste(canvas, obj_frame, mask, options, placement, cut)
            writer.write(canvas.data)
            if progress is not None:
                progress(done, timeline.num_frames, done / (time.perf_counter() - started))
        note = placement_note(mask_set, options)
    return RenderResult(
        writer.path, writer.frames_written, background.fps, time.perf_counter() - started, note
    )


# --- pasting --------------------------------------------------------------------------------------


def _paste(
    canvas: _Frame,
    obj_frame: _Frame,
    mask: ObjectMask,
    options: ComposeOptions,
    placement: str,
    cut: tuple[Box, Cutout] | None = None,
) -> None:
    """Composite ``obj_frame`` through ``mask`` into ``canvas`` in place; touches only the target box.

    The edge stage (``options.edge``) runs on the object's box grown by its reach, at the source
    resolution, before rescaling (``cut``: its result when already made, see ``_soft_cutout``); ``hard``
    keeps the tight box and feathers after rescaling, as before.
    """
    if placement == "original":
        target = mask.box
    else:
        target = relocate(
            mask.box,
            canvas.size,
            size=options.size,
            pos=options.pos,
            offset_x=options.offset_x,
            offset_y=options.offset_y,
        )
    if options.edge == "hard":
        patch, alpha = _scaled_patch(obj_frame.rgb(mask.box), mask.alpha, mask.box, target)
        alpha = feather_alpha(alpha, options.feather)
    else:
        source, cutout = cut if cut is not None else _soft_cutout(obj_frame, mask, options)
        target = _grown_target(target, mask.box, source)
        patch, alpha = _scaled_patch(cutout.foreground, cutout.alpha, source, target)
    visible = clip_box(target, canvas.size)
    if visible is None:
        return
    inside = (
        slice(visible.y0 - target.y0, visible.y1 - target.y0),
        slice(visible.x0 - target.x0, visible.x1 - target.x0),
    )
    patch, alpha = patch[inside], np.ascontiguousarray(alpha[inside])
    region = np.ascontiguousarray(canvas.rgb(visible))
    if options.brightness_match:
        patch = match_brightness(patch, alpha, canvas.rgb(_surroundings(visible, canvas.size)))
    canvas.put(visible, composite(region, np.ascontiguousarray(patch), alpha, options.blend_mode))


def _soft_cutout(
    obj_frame: _Frame,
    mask: ObjectMask,
    options: ComposeOptions,
    history: EdgeHistory | None = None,
    frame_index: int | None = None,
) -> tuple[Box, Cutout]:
    """The ``refine`` or ``matte`` cut-out on the mask's box grown by the edge's reach, and that box;
    ``history`` and ``frame_index`` (the object frame) let it follow the motion."""
    source = grow_box(mask.box, reach(options.edge, options.edge_band), obj_frame.size)
    alpha = np.zeros((source.height, source.width), np.float32)
    alpha[_inner_slices(mask.box, source)] = mask.alpha
    cutout = cut_out(
        np.ascontiguousarray(obj_frame.rgb(source)),
        alpha,
        edge=options.edge,
        band=options.edge_band,
        feather=options.feather,
        box=(source.x0, source.y0, source.x1, source.y1),
        frame_index=frame_index,
        history=history,
    )
    return source, cutout


def _grown_target(target: Box, box: Box, grown: Box) -> Box:
    """Where ``grown`` (``box`` grown in the object video) lands when ``box`` lands on ``target``."""
    scale_x, scale_y = target.width / box.width, target.height / box.height
    return Box(
        target.x0 - round((box.x0 - grown.x0) * scale_x),
        target.y0 - round((box.y0 - grown.y0) * scale_y),
        target.x1 + round((grown.x1 - box.x1) * scale_x),
        target.y1 + round((grown.y1 - box.y1) * scale_y),
    )


def _scaled_patch(
    patch: np.ndarray, alpha: np.ndarray, box: Box, target: Box
) -> tuple[np.ndarray, np.ndarray]:
    """The object's pixels ``patch`` and ``alpha`` on ``box``, resized to the size of ``target``."""
    size = (target.width, target.height)
    if size == (box.width, box.height):
        return patch, alpha
    shrinking = target.width < box.width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(patch, size, interpolation=interpolation), cv2.resize(
        alpha, size, interpolation=interpolation
    )


def _surroundings(box: Box, frame_size: tuple[int, int]) -> Box:
    """The background around ``box``: the box grown by half its longer side on every side."""
    return grow_box(box, max(box.width, box.height) // 2, frame_size)


class _RgbFrame:
    """An RGB ``uint8`` (H, W, 3) frame, read and written one box at a time."""

    def __init__(self, pixels: np.ndarray) -> None:
        self.pixels = pixels
        self.size = (pixels.shape[1], pixels.shape[0])  # (width, height)

    def rgb(self, box: Box) -> np.ndarray:
        """The pixels of ``box`` (a view)."""
        return self.pixels[box.y0 : box.y1, box.x0 : box.x1]

    def put(self, box: Box, rgb: np.ndarray) -> None:
        """Overwrite the pixels of ``box`` with ``rgb``."""
        self.pixels[box.y0 : box.y1, box.x0 : box.x1] = rgb


class _I420Frame:
    """An I420 frame as ``video_io`` decodes it, read and written in RGB one box at a time.

    Only the box, widened to even coordinates, is converted (OpenCV's BT.601 conversions); every other
    pixel stays as decoded.
    """

    def __init__(self, data: np.ndarray, size: tuple[int, int]) -> None:
        self.data = data  # uint8 (H' * 3 // 2, W'), the even-padded I420 buffer
        self.size = size  # (width, height) of the picture, without the padding
        width, height = data.shape[1], data.shape[0] * 2 // 3
        flat = data.reshape(-1)
        luma, chroma = width * height, width * height // 4
        self._planes = (  # views of the Y, U and V planes
            flat[:luma].reshape(height, width),
            flat[luma : luma + chroma].reshape(height // 2, width // 2),
            flat[luma + chroma :].reshape(height // 2, width // 2),
        )

    def rgb(self, box: Box) -> np.ndarray:
        """The pixels of ``box`` as RGB ``uint8`` (h, w, 3) (a new array)."""
        outer = _even_box(box)
        return self._outer_rgb(outer)[_inner_slices(box, outer)]

    def put(self, box: Box, rgb: np.ndarray) -> None:
        """Overwrite the pixels of ``box`` with RGB ``rgb`` (h, w, 3)."""
        outer = _even_box(box)
        if outer == box:
            pixels = np.ascontiguousarray(rgb)
        else:
            pixels = self._outer_rgb(outer)
            pixels[_inner_slices(box, outer)] = rgb
        i420 = cv2.cvtColor(pixels, cv2.COLOR_RGB2YUV_I420).reshape(-1)
        for plane, values in zip(self._planes, self._split(i420, outer), strict=True):
            plane[_plane_slices(plane, self._planes[0], outer)] = values

    def _outer_rgb(self, outer: Box) -> np.ndarray:
        planes = [plane[_plane_slices(plane, self._planes[0], outer)] for plane in self._planes]
        i420 = np.concatenate([plane.reshape(-1) for plane in planes])
        return cv2.cvtColor(i420.reshape(outer.height * 3 // 2, outer.width), cv2.COLOR_YUV2RGB_I420)

    @staticmethod
    def _split(i420: np.ndarray, outer: Box) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        width, height = outer.width, outer.height
        luma, chroma = width * height, width * height // 4
        return (
            i420[:luma].reshape(height, width),
            i420[luma : luma + chroma].reshape(height // 2, width // 2),
            i420[luma + chroma :].reshape(height // 2, width // 2),
        )


_Frame = _RgbFrame | _I420Frame


def _even_box(box: Box) -> Box:
    """``box`` widened to even coordinates, so that it covers whole 2x2 chroma blocks."""
    return Box(box.x0 - box.x0 % 2, box.y0 - box.y0 % 2, box.x1 + box.x1 % 2, box.y1 + box.y1 % 2)


def _inner_slices(box: Box, outer: Box) -> tuple[slice, slice]:
    """Where ``box`` lies inside an array covering ``outer``."""
    return (
        slice(box.y0 - outer.y0, box.y1 - outer.y0),
        slice(box.x0 - outer.x0, box.x1 - outer.x0),
    )


def _plane_slices(plane: np.ndarray, luma: np.ndarray, box: Box) -> tuple[slice, slice]:
    """Where the even ``box`` of the picture lies in ``plane`` (full size for Y, halved for U and V)."""
    step = luma.shape[0] // plane.shape[0]
    return slice(box.y0 // step, box.y1 // step), slice(box.x0 // step, box.x1 // step)


# --- reading -------------------------------------------------------------------------------------


def _background_frames(background: VideoInfo, timeline: Timeline) -> Iterator[_I420Frame]:
    """The background frames of every output frame, restarting the video when it loops; ends early when
    the video stops decoding before its probed length (and never loops an undecodable video)."""
    size = (background.width, background.height)
    remaining = timeline.num_frames
    while remaining > 0:
        decoded = 0
        for frame in iter_frames(background.path, stop=remaining, pixel_format="yuv420p"):
            yield _I420Frame(frame, size)
            decoded += 1
        remaining -= decoded
        if decoded == 0 or not timeline.loop:
            return


def _object_frames(
    obj: VideoInfo, mask_set: MaskSet, options: ComposeOptions, timeline: Timeline
) -> Iterator[tuple[_I420Frame, ObjectMask | None]]:
    """(object frame, its selected masks) for every output frame, in output order; ends early when the
    video stops decoding before its probed length."""
    selected = _selected_objects(mask_set, options)
    size = (obj.width, obj.height)
    decoder: Iterator[np.ndarray] | None = None
    position = -1  # index of ``current`` in the object video
    current: tuple[_I420Frame, ObjectMask | None] | None = None
    for index in range(timeline.num_frames):
        wanted = timeline.object_index(index)
        if decoder is None or wanted < position:  # first frame, or the object video restarts (loop)
            decoder, position = iter_frames(obj.path, start=wanted, pixel_format="yuv420p"), wanted - 1
        while position < wanted:
            frame = next(decoder, None)
            if frame is None:
                return
            position += 1
            if position == wanted:
                current = (_I420Frame(frame, size), mask_set.mask_for(wanted, selected, size))
        yield current


def _cut_out_objects(
    frames: Iterator[tuple[_I420Frame, ObjectMask | None]], options: ComposeOptions, timeline: Timeline
) -> Iterator[tuple[_I420Frame, ObjectMask | None, tuple[Box, Cutout] | None]]:
    """``frames`` with the ``refine`` or ``matte`` cut-out of each (None for ``hard`` or no mask), made in
    the object reader's thread so that it overlaps the blend and the encoder; it follows the motion."""
    history = EdgeHistory()
    for index, (frame, mask) in enumerate(frames):
        cut = None
        if mask is not None and options.edge != "hard":
            cut = _soft_cutout(frame, mask, options, history, timeline.object_index(index))
        yield frame, mask, cut


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
        raise BadInput(f"object ids {unknown} are not in the masks (they hold {have})")
    return options.objects


def _probed(video: str | os.PathLike | VideoInfo) -> VideoInfo:
    """``video``'s probe: itself when already probed, else counted from packets (as ``render`` does)."""
    return video if isinstance(video, VideoInfo) else probe_video(video, exact=False)


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
            raise BadInput(f"cannot write snapshot {path.name}")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def _check_frame(name: str, frame: np.ndarray) -> None:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"{name} must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
