"""Composite the masked objects of one video into another: instant previews, snapshots, full renders.

The output has the background's size and frame rate. Output frame ``i`` shows time ``t = i / bg_fps``:
the background frame at ``t`` and the object frame at ``t`` (``floor(t * obj_fps)``), so clips of
different frame rates stay in sync. The object's clip may start later (``start_frame``: no object before
it, then its first frame) and be trimmed (``trim``: object frames ``in`` to ``out - 1``). Without ``loop``
the output ends when either the background or the clip ends; with ``loop`` the shorter one restarts and
the output lasts as long as the longer. The background's audio is carried over, cut (or repeated, with
``loop``) to the output's length.

The objects are pasted as layers, back to front (``layers.plan_layers``: one layer of the selected
objects, or one per entry of an objects file), each placed by ``layers.place`` (``relocate``,
``original``, or ``follow`` along its smoothed path, with keyframes), mirrored and rotated, its shadow cast
first; the background's holdout masks cut every layer's alpha and shadow, so they stay in front.

A render overlaps its work: two reader threads decode the background and the object (plus its masks), a
third makes each soft-edged layer's cut-out (``edges.cut_out``, in frame order), while the main thread
places and blends and an ffmpeg process encodes. Frames travel as I420 (the videos' own
YUV 4:2:0), and only the object's box is converted to RGB and back (OpenCV, BT.601), so the background
goes from decoder to encoder untouched and no whole frame is ever colour-converted.

Example::

    from sam2_gradio.compositor.render import ComposeOptions, render
    render("beach.mp4", "dog.mp4", "dog_masks.zip", "out.mp4", ComposeOptions(pos="bottom-left", size=300))
"""

from __future__ import annotations

import functools
import math
import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from sam2_gradio import config
from sam2_gradio.compositor.blend import composite, feather_alpha, match_brightness, match_colour
from sam2_gradio.compositor.edges import Cutout, EdgeHistory, cut_out, reach
from sam2_gradio.compositor.holdouts import HoldoutMasks
from sam2_gradio.compositor.layers import Layer, place, plan_layers
from sam2_gradio.compositor.motion import (
    ObjectPath,
    PathPoint,
    Placed,
    fit_matrix,
    transform_patch,
    turn_matrix,
    turned_box,
)
from sam2_gradio.compositor.options import ComposeOptions
from sam2_gradio.compositor.placement import Box, clip_box, grow_box, intersect
from sam2_gradio.compositor.shadow import darken, shadow_alpha
from sam2_gradio.errors import BadInput
from sam2_gradio.jobs import (
    CancelFlag,
    Cancelled,
    ProgressCallback,
    ProgressMeter,
    raise_if_cancelled,
    with_stage,
)
from sam2_gradio.media.atomic import atomic_path
from sam2_gradio.media.frame_cursors import FrameCursors
from sam2_gradio.media.mask_files import MaskSet, ObjectMask, load_mask_set
from sam2_gradio.media.video import VideoInfo, VideoWriter, iter_frames, probe_video

__all__ = [
    "Cancelled",
    "ComposeOptions",
    "RenderResult",
    "Timeline",
    "compose_frame",
    "holdout_masks",
    "output_frame",
    "placement_note",
    "plan_timeline",
    "render",
    "snapshot",
]

_QUEUED_FRAMES = 8  # decoded frames each reader thread may hold ahead of the compositor
_BOXES_KEPT = 8  # objects whose follow paths' mask boxes are kept between previews
_HOLDOUTS_KEPT = 2  # holdout mask sets kept loaded between previews
_SHADOW_SIDE_FRAMES = 2  # an enlarged object's shadow is made at most this many frames long a side
_FRAMES_KEPT = 4  # decoded video frames kept between previews (two outputs' background and object)
_DECODERS_KEPT = 4  # previews' ffmpeg decoders kept open between previews (about 80 MB each at 720p)
_CURSORS = FrameCursors(kept=_DECODERS_KEPT)  # those decoders, each where it stopped
_FRAME_READERS = ThreadPoolExecutor(config.PREVIEW_CONCURRENCY, thread_name_prefix="preview-frames")
T = TypeVar("T")


@dataclass(frozen=True)
class RenderResult:
    """What ``render`` produced."""

    path: Path  # the finished video
    num_frames: int  # frames in it
    fps: float  # its frame rate (the background's)
    seconds: float  # wall time the render took
    note: str | None  # the several-objects-as-one-group message, if any (see ``placement_note``)


@dataclass(frozen=True)
class Timeline:
    """Which background and object frame each output frame shows (see the module docstring)."""

    num_frames: int  # output frames
    fps: float  # output frame rate (the background's)
    background_frames: int
    object_frames: int  # frames of the object's clip (the object video, trimmed)
    object_fps: float
    loop: bool
    start_frame: int = 0  # output frame on which the object's clip starts
    first_object_frame: int = 0  # object video frame that starts the clip (the trim's in point)

    def background_index(self, index: int) -> int:
        """Background frame shown by output frame ``index``."""
        return index % self.background_frames if self.loop else index

    def object_index(self, index: int) -> int | None:
        """Object frame shown by output frame ``index``: the one on screen at the same time after the
        clip's start (None before it)."""
        local = index - self.start_frame
        if local < 0:
            return None
        frame = math.floor(local / self.fps * self.object_fps + 1e-6)
        frame = frame % self.object_frames if self.loop else min(frame, self.object_frames - 1)
        return self.first_object_frame + frame

    @property
    def clip(self) -> range:
        """The object video's frames in the clip."""
        return range(self.first_object_frame, self.first_object_frame + self.object_frames)


def plan_timeline(background: VideoInfo, obj: VideoInfo, options: ComposeOptions) -> Timeline:
    """Timeline of a composite of ``obj`` over ``background`` (lengths and fps from their probes), with
    the options' loop, start frame and trim.

    Raises:
        BadInput: the trim leaves no object frame, or the start frame is past the background's end.
    """
    trim_in, trim_out = options.trim_range
    trim_out = obj.num_frames if trim_out is None else min(trim_out, obj.num_frames)
    if trim_in >= trim_out:
        raise BadInput(f"trim {options.trim} leaves no frame of the object video ({obj.num_frames} frames)")
    if options.start_frame >= background.num_frames:
        raise BadInput(
            f"start frame {options.start_frame} is past the background's end ({background.num_frames} frames)"
        )
    clip = trim_out - trim_in
    object_in_output = options.start_frame + math.ceil(clip / obj.fps * background.fps - 1e-6)
    combine = max if options.loop else min
    num_frames = combine(background.num_frames, object_in_output)
    return Timeline(
        num_frames, background.fps, background.num_frames, clip, obj.fps, options.loop, options.start_frame,
        trim_in,
    )  # fmt: skip


def placement_note(
    mask_set: MaskSet, options: ComposeOptions, *, layers: tuple[Layer, ...] | None = None
) -> str | None:
    """Message saying that several objects pasted without an objects file move together as one group
    (their union mask, placed as the options say), or None; ``layers`` are the already planned
    ``plan_layers(mask_set.object_ids, options)`` (planned here when None)."""
    layers = plan_layers(mask_set.object_ids, options) if layers is None else layers
    if len(layers) > 1 or len(layers[0].obj_ids) < 2:
        return None
    ids = ", ".join(str(obj_id) for obj_id in layers[0].obj_ids)
    return (
        f"The objects ({ids}) are placed together as one group; give an objects file "
        "(JSON, one entry per object) to place each on its own."
    )


def compose_frame(
    bg_frame: np.ndarray,
    obj_frame: np.ndarray,
    masks: MaskSet,
    frame_index: int,
    options: ComposeOptions,
    *,
    output_index: int | None = None,
    holdout: ObjectMask | None = None,
) -> np.ndarray:
    """Composite the selected objects of object frame ``frame_index`` over a background frame.

    Args:
        bg_frame: ``uint8`` (H, W, 3) RGB background frame (left unchanged).
        obj_frame: ``uint8`` (h, w, 3) RGB frame ``frame_index`` of the object video.
        masks: the object video's masks.
        frame_index: index of ``obj_frame`` in the object video (picks its masks).
        options: placement, blending and object selection.
        output_index: the output frame it makes (picks the keyframes' values; default ``frame_index``).
        holdout: the background's pixels that pass in front of the objects (``float32`` alpha over its box).

    Returns:
        ``uint8`` (H, W, 3) RGB composite.
    """
    _check_frame("bg_frame", bg_frame)
    _check_frame("obj_frame", obj_frame)
    trim_in, trim_out = options.trim_range
    last = trim_out - 1 if trim_out is not None else max(masks.frame_order[-1], frame_index)
    scene = _Scene(masks, options, (obj_frame.shape[1], obj_frame.shape[0]), range(trim_in, last + 1))
    canvas = _RgbFrame(bg_frame.copy())
    index = frame_index if output_index is None else output_index
    scene.paste(canvas, _RgbFrame(obj_frame), scene.layer_frames(frame_index), index, holdout)
    return canvas.pixels


def output_frame(
    background: str | os.PathLike | VideoInfo,
    obj: str | os.PathLike | VideoInfo,
    masks: MaskSet,
    frame_index: int,
    options: ComposeOptions,
    *,
    holdouts: HoldoutMasks | None = None,
    layers: tuple[Layer, ...] | None = None,
) -> np.ndarray:
    """Output frame ``frame_index`` of the composite ``render`` would make, ``uint8`` (H, W, 3) RGB.

    ``background`` and ``obj`` are the videos' paths, or their ``VideoInfo`` when already probed;
    ``holdouts`` the background's holdouts (default: the masks of ``options.holdout_mask``, see
    ``holdout_masks``) and ``layers`` the already planned ``plan_layers(masks.object_ids, options)``
    (planned here when None).

    Raises:
        ValueError: ``frame_index`` is outside the output, or an input is unreadable.
    """
    background, obj = _probed(background), _probed(obj)
    timeline = plan_timeline(background, obj, options)
    if not 0 <= frame_index < timeline.num_frames:
        raise BadInput(f"frame {frame_index} is outside the output ({timeline.num_frames} frames)")
    holdouts = holdout_masks(options) if holdouts is None else holdouts
    scene = _Scene(masks, options, (obj.width, obj.height), timeline.clip, holdouts, background, layers)
    object_index = timeline.object_index(frame_index)
    # the two frames are decoded side by side (each by its own ffmpeg)
    obj_pixels = None if object_index is None else _FRAME_READERS.submit(_kept_frame, obj, object_index)
    canvas = _RgbFrame(_kept_frame(background, timeline.background_index(frame_index)).copy())
    obj_frame = None if obj_pixels is None else _RgbFrame(obj_pixels.result())
    holdout = scene.holdout(timeline.background_index(frame_index))
    scene.paste(canvas, obj_frame, scene.layer_frames(object_index), frame_index, holdout)
    return canvas.pixels


def snapshot(
    background: str | os.PathLike | VideoInfo,
    obj: str | os.PathLike | VideoInfo,
    masks: MaskSet | str | os.PathLike,
    frame_index: int,
    options: ComposeOptions,
    out_png: str | os.PathLike,
    *,
    holdouts: HoldoutMasks | None = None,
    layers: tuple[Layer, ...] | None = None,
) -> Path:
    """Write ``output_frame(...)`` as an RGB PNG (atomically); ``masks`` may also be a folder or zip path."""
    with ExitStack() as cleanup:
        mask_set = _as_mask_set(masks, cleanup)
        composed = output_frame(
            background, obj, mask_set, frame_index, options, holdouts=holdouts, layers=layers
        )
    return _write_png(Path(out_png), composed)


def render(
    bg_path: str | os.PathLike,
    obj_path: str | os.PathLike,
    masks: MaskSet | str | os.PathLike,
    out_path: str | os.PathLike,
    options: ComposeOptions,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    holdouts: HoldoutMasks | None = None,
    layers: tuple[Layer, ...] | None = None,
) -> RenderResult:
    """Render the composite video to ``out_path`` (H.264 + AAC mp4, written to a temp file then renamed).

    ``progress`` gets a `jobs.Progress` (stage "render") after every frame; ``cancel.is_set()`` is checked
    between frames and a set flag raises ``Cancelled``. A failed or cancelled render leaves no file.
    Inputs are probed by counting packets (``probe_video(exact=False)``); should a damaged input stop
    decoding earlier than that, the output ends there (``RenderResult.num_frames`` says where).
    ``holdouts`` are the background's holdouts (default: the masks of ``options.holdout_mask``) and
    ``layers`` the already planned ``plan_layers`` of the masks' objects (planned here when None).

    Raises:
        ValueError: an unreadable input, unknown object ids, or a bad output path.
        Cancelled: ``cancel`` was set.
    """
    started = time.perf_counter()
    background, obj = probe_video(bg_path, exact=False), probe_video(obj_path, exact=False)
    timeline = plan_timeline(background, obj, options)
    with ExitStack() as cleanup:
        mask_set = _as_mask_set(masks, cleanup)
        holdouts = holdout_masks(options) if holdouts is None else holdouts
        scene = _Scene(
            mask_set, options, (obj.width, obj.height), timeline.clip, holdouts, background, layers
        )
        backgrounds = cleanup.enter_context(_Prefetch(_background_frames(background, timeline, scene)))
        objects = cleanup.enter_context(_Prefetch(_object_frames(obj, scene, timeline)))
        objects = cleanup.enter_context(_Prefetch(_cut_out_frames(scene, objects)))  # off the compositor
        audio = bg_path if background.has_audio else None
        writer = cleanup.enter_context(
            VideoWriter(
                out_path,
                fps=background.fps,
                audio_from=audio,
                loop_audio=options.loop,
                pixel_format="yuv420p",
                frames=timeline.num_frames,
            )
        )
        pairs = zip(backgrounds, objects, strict=False)  # ends when either input stops decoding
        meter = ProgressMeter(timeline.num_frames, 1, with_stage(progress, "render"))
        for index, ((canvas, holdout), (obj_frame, layer_frames)) in enumerate(pairs):
            raise_if_cancelled(cancel, "rendering")
            scene.paste(canvas, obj_frame, layer_frames, index, holdout)
            writer.write(canvas.data)
            meter.frame_done()
        note = placement_note(mask_set, options, layers=scene.layers)
    return RenderResult(
        writer.path, writer.frames_written, background.fps, time.perf_counter() - started, note
    )


# --- layers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LayerFrame:
    """One layer on one object frame: its mask and, for ``follow``, its path's (start, current) points."""

    mask: ObjectMask | None
    path: tuple[PathPoint, PathPoint] | None = None
    object_index: int | None = None  # the object video's frame (soft edges follow the motion by it)
    cutout: tuple[Box, Cutout] | None = None  # the soft edge's crop and cut-out, when made ahead of pasting

    def shown(self, layer: Layer) -> bool:
        """Whether ``layer`` is pasted on this frame: it has a mask and, for ``follow``, a path."""
        return self.mask is not None and (layer.options.placement != "follow" or self.path is not None)


class _Scene:
    """The layers of a composite, back to front, and what each frame needs of them: masks, paths and
    the background's holdouts."""

    def __init__(
        self,
        masks: MaskSet,
        options: ComposeOptions,
        object_size: tuple[int, int],
        clip: range,
        holdouts: HoldoutMasks | None = None,
        background: VideoInfo | None = None,
        layers: tuple[Layer, ...] | None = None,  # plan_layers(masks.object_ids, options) when None
    ) -> None:
        self.masks, self.options, self.object_size = masks, options, object_size
        self.layers = plan_layers(masks.object_ids, options) if layers is None else layers
        self.holdouts = holdouts
        self.background_size = None if background is None else (background.width, background.height)
        self.paths = [self._path(layer, clip) for layer in self.layers]
        self.edge_histories = [EdgeHistory() for _ in self.layers]  # soft edges follow each layer's motion

    def _path(self, layer: Layer, clip: range) -> ObjectPath | None:
        if layer.options.placement != "follow":
            return None

        known = _known_boxes(id(self.masks), self.masks.source, layer.obj_ids, self.object_size)

        def box_at(frame: int) -> Box | None:
            if frame not in known:
                mask = self.masks.mask_for(frame, layer.obj_ids, self.object_size)
                known[frame] = None if mask is None else mask.box
            return known[frame]

        radius = config.FOLLOW_SMOOTH_RADIUS
        return ObjectPath(box_at, clip.start, clip.stop - 1, layer.options.pos, radius)

    def layer_frames(self, object_index: int | None) -> tuple[_LayerFrame, ...]:
        """Each layer's mask (and path) on object frame ``object_index`` (None: before the clip)."""
        if object_index is None:
            return tuple(_LayerFrame(None) for _ in self.layers)
        frames = []
        for layer, path in zip(self.layers, self.paths, strict=True):
            mask = self.masks.mask_for(object_index, layer.obj_ids, self.object_size)
            start, current = (
                (None, None) if path is None or mask is None else (path.start(), path.at(object_index))
            )
            points = None if start is None or current is None else (start, current)
            frames.append(_LayerFrame(mask, points, object_index))
        return tuple(frames)

    def cut_out(self, obj_frame: _Frame, layer_frames: Sequence[_LayerFrame]) -> tuple[_LayerFrame, ...]:
        """``layer_frames`` of ``obj_frame`` with each shown soft-edged layer's cut-out made
        (``_soft_cutout``, following the layer's motion): a render calls it in a thread of its own, in frame
        order, so that the compositing thread only places and blends."""
        frames = []
        for layer, frame, history in zip(self.layers, layer_frames, self.edge_histories, strict=True):
            if frame.shown(layer) and layer.options.edge != "hard":
                made = _soft_cutout(obj_frame, frame.mask, layer.options, history, frame.object_index)
                frame = replace(frame, cutout=made)
            frames.append(frame)
        return tuple(frames)

    def holdout(self, background_index: int) -> ObjectMask | None:
        """The holdout of background frame ``background_index``, feathered like the objects (or None)."""
        if self.holdouts is None or self.background_size is None:
            return None
        mask = self.holdouts.mask_for(background_index, None, self.background_size)
        return None if mask is None else ObjectMask(feather_alpha(mask.alpha, self.options.feather), mask.box)

    def paste(
        self,
        canvas: _Frame,
        obj_frame: _Frame | None,
        layer_frames: Sequence[_LayerFrame],
        output_index: int,
        holdout: ObjectMask | None,
    ) -> None:
        """Paste every layer with a mask on this frame into ``canvas``, back to front."""
        if obj_frame is None:
            return
        for layer, frame, history in zip(self.layers, layer_frames, self.edge_histories, strict=True):
            if not frame.shown(layer):
                continue
            placed = place(layer, frame.mask.box, canvas.size, output_index, frame.path)
            _paste(
                canvas, obj_frame, frame.mask, layer.options, placed, holdout,
                history=history, frame_index=frame.object_index, cutout=frame.cutout,
            )  # fmt: skip


# --- pasting --------------------------------------------------------------------------------------


def _paste(
    canvas: _Frame,
    obj_frame: _Frame,
    mask: ObjectMask,
    options: ComposeOptions,
    placed: Placed,
    holdout: ObjectMask | None = None,
    history: EdgeHistory | None = None,
    frame_index: int | None = None,
    cutout: tuple[Box, Cutout] | None = None,
) -> None:
    """Composite ``obj_frame`` through ``mask`` into ``canvas`` in place, as ``placed`` says (with its
    shadow under it, and the ``holdout`` in front of both); touches only the target and shadow boxes.
    Brightness and colour are matched to the background as it was before the shadow.

    The edge stage (``options.edge``) runs on the object's box grown by its reach, at the source
    resolution, before rescaling (``history`` and ``frame_index``, the object frame, let ``refine`` and
    ``matte`` follow the motion), unless ``cutout`` brings it already made (its crop and cut-out); ``hard``
    keeps the tight box and feathers after rescaling. An enlarged
    object that the frame clips is resampled only where it shows (`_needed_part`) when it is neither
    turned, mirrored nor casting a shadow."""
    hard = options.edge == "hard"
    if hard:
        box, landing, pixels, mask_alpha = mask.box, placed.box, obj_frame.rgb(mask.box), mask.alpha
    else:
        box, made = cutout or _soft_cutout(obj_frame, mask, options, history, frame_index)
        landing = _grown_target(placed.box, mask.box, box)
        if placed.mirror:  # the margins the frame's border cut mirror too: the object stays in place
            twice_centre = placed.box.x0 + placed.box.x1
            landing = Box(twice_centre - landing.x1, landing.y0, twice_centre - landing.x0, landing.y1)
        pixels, mask_alpha = made.foreground, made.alpha
    placed = replace(placed, box=landing)
    feather = options.feather if hard else 0
    turned = placed.rotation % 360 != 0 or placed.mirror
    enlarged = landing.width > box.width and landing.height > box.height
    if enlarged or not (turned or options.shadow):  # made only where it shows (and the feather around it)
        whole = turned_box(landing, placed.rotation)
        shown = clip_box(whole, canvas.size)
        target = None if shown is None else _needed_part(box, whole, shown, feather)
        if target is None:
            patch = alpha = None
        elif turned:
            patch, alpha = _placed_part(pixels, mask_alpha, box, placed, target)
        else:
            patch, alpha = _scaled_patch(pixels, mask_alpha, box, landing, target)
    else:
        patch, alpha = _scaled_patch(pixels, mask_alpha, box, landing)
        patch, alpha, target = transform_patch(patch, alpha, placed)
    if hard and alpha is not None:
        alpha = feather_alpha(alpha, options.feather)
    visible = None if target is None else clip_box(target, canvas.size)
    if visible is not None:
        inside = _inner_slices(visible, target)
        patch, visible_alpha = patch[inside], _held_out(np.ascontiguousarray(alpha[inside]), visible, holdout)
        if options.brightness_match or options.color_match > 0:
            reference = canvas.rgb(_surroundings(visible, canvas.size))
            if options.brightness_match:
                patch = match_brightness(patch, visible_alpha, reference)
            if options.color_match > 0:
                patch = match_colour(patch, visible_alpha, reference, options.color_match)
    if options.shadow and enlarged:
        _cast_enlarged_shadow(canvas, mask_alpha, box, placed, options, holdout)
    elif options.shadow:
        _cast_shadow(canvas, alpha, target, options, holdout)
    if visible is None:
        return
    region = np.ascontiguousarray(canvas.rgb(visible))
    canvas.put(visible, composite(region, np.ascontiguousarray(patch), visible_alpha, options.blend_mode))


def _placed_part(
    pixels: np.ndarray, alpha: np.ndarray, box: Box, placed: Placed, part: Box
) -> tuple[np.ndarray, np.ndarray]:
    """The part ``part`` of the object's placed patch (resized, mirrored and turned as ``placed`` says),
    made in one warp from its pixels and alpha over ``box``, with the sharp edge of the turned box."""
    turn, whole = turn_matrix(placed.box, placed.rotation)
    to_part = _shifted(turn, whole.x0 - part.x0, whole.y0 - part.y0)
    return _warped_patch(pixels, alpha, box, placed, to_part, (part.width, part.height))


def _warped_patch(
    pixels: np.ndarray | None,
    alpha: np.ndarray,
    box: Box,
    placed: Placed,
    to_output: np.ndarray,
    size: tuple[int, int],
) -> tuple[np.ndarray | None, np.ndarray]:
    """``pixels`` and ``alpha`` over ``box`` resized to ``placed.box`` (``fit_matrix``), then mapped by
    ``to_output`` (pixels of ``placed.box`` -> output pixels) into an output of ``size``. Samples past the
    object's box repeat its edge, and the alpha is cut by the coverage of ``placed.box`` (its edge ramps
    over one output pixel, as a patch resized first and then turned with a zero border), so that a large
    enlargement keeps a sharp edge."""
    matrix = (to_output @ fit_matrix(box, placed))[:2]
    flags, border = cv2.INTER_LINEAR, cv2.BORDER_REPLICATE
    warped = None if pixels is None else cv2.warpAffine(pixels, matrix, size, flags=flags, borderMode=border)
    warped_alpha = cv2.warpAffine(alpha, matrix, size, flags=flags, borderMode=border)
    back = np.linalg.inv(to_output)  # output pixels -> pixels of placed.box
    xs, ys = np.arange(size[0], dtype=np.float32), np.arange(size[1], dtype=np.float32)[:, None]
    u = back[0, 0] * xs + back[0, 1] * ys + np.float32(back[0, 2])
    v = back[1, 0] * xs + back[1, 1] * ys + np.float32(back[1, 2])
    width, height = placed.box.width, placed.box.height
    across = np.clip(u + 1, 0, 1) * np.clip(width - u, 0, 1)
    warped_alpha *= (across * np.clip(v + 1, 0, 1) * np.clip(height - v, 0, 1)).astype(np.float32)
    return warped, warped_alpha


def _shifted(matrix: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The (3, 3) ``matrix`` followed by a shift of (``dx``, ``dy``)."""
    return np.array([[1.0, 0, dx], [0, 1, dy], [0, 0, 1]]) @ matrix


def _cast_shadow(
    canvas: _Frame, alpha: np.ndarray, target: Box, options: ComposeOptions, holdout: ObjectMask | None
) -> None:
    """Darken ``canvas`` by the shadow of an object whose ``alpha`` covers ``target``."""
    cast = shadow_alpha(
        alpha, target, angle=options.shadow_angle, length=options.shadow_length, blur=options.shadow_blur,
        opacity=options.shadow_opacity,
    )  # fmt: skip
    if cast is None:
        return
    shadow, box = cast
    visible = clip_box(box, canvas.size)
    if visible is None:
        return
    shadow = _held_out(np.ascontiguousarray(shadow[_inner_slices(visible, box)]), visible, holdout)
    canvas.put(visible, darken(np.ascontiguousarray(canvas.rgb(visible)), shadow))


def _cast_enlarged_shadow(
    canvas: _Frame,
    mask_alpha: np.ndarray,
    box: Box,
    placed: Placed,
    options: ComposeOptions,
    holdout: ObjectMask | None,
) -> None:
    """``_cast_shadow`` for an enlarged object (alpha ``mask_alpha`` over ``box`` in its video): the shadow
    is made from its placed alpha at most ``_SHADOW_SIDE_FRAMES`` frames long a side (at a lower resolution
    past that; it is blurred anyway), and only its part on the frame is resized back and applied, so the
    memory it takes does not grow with the enlargement."""
    turn, whole = turn_matrix(placed.box, placed.rotation)
    factor = min(1.0, _SHADOW_SIDE_FRAMES * max(canvas.size) / max(whole.width, whole.height))
    size = (max(1, math.ceil(whole.width * factor)), max(1, math.ceil(whole.height * factor)))
    reduce = np.array([[factor, 0, 0.5 * factor - 0.5], [0, factor, 0.5 * factor - 0.5], [0, 0, 1]])
    _, alpha = _warped_patch(None, mask_alpha, box, placed, reduce @ turn, size)
    if options.edge == "hard":
        alpha = feather_alpha(alpha, round(options.feather * factor))
    cast = shadow_alpha(
        alpha, Box(0, 0, *size), angle=options.shadow_angle, length=options.shadow_length,
        blur=round(options.shadow_blur * factor), opacity=options.shadow_opacity,
    )  # fmt: skip
    if cast is None:
        return
    shadow, small = cast
    reach = Box(
        whole.x0 + math.floor(small.x0 / factor), whole.y0 + math.floor(small.y0 / factor),
        whole.x0 + math.ceil(small.x1 / factor), whole.y0 + math.ceil(small.y1 / factor),
    )  # fmt: skip
    visible = clip_box(reach, canvas.size)
    if visible is None:
        return
    back = np.array(  # frame pixels of `visible` -> pixels of the small shadow
        [
            [factor, 0, (visible.x0 - whole.x0 + 0.5) * factor - 0.5 - small.x0],
            [0, factor, (visible.y0 - whole.y0 + 0.5) * factor - 0.5 - small.y0],
        ]
    )
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    shadow = cv2.warpAffine(shadow, back, (visible.width, visible.height), flags=flags, borderValue=0.0)
    shadow = _held_out(shadow, visible, holdout)
    canvas.put(visible, darken(np.ascontiguousarray(canvas.rgb(visible)), shadow))


def _held_out(alpha: np.ndarray, box: Box, holdout: ObjectMask | None) -> np.ndarray:
    """``alpha`` over ``box`` times ``1 - holdout`` where the holdout covers it (a copy when it does)."""
    if holdout is None:
        return alpha
    overlap = intersect(box, holdout.box)
    if overlap is None:
        return alpha
    alpha = alpha.copy()
    alpha[_inner_slices(overlap, box)] *= 1 - holdout.alpha[_inner_slices(overlap, holdout.box)]
    return alpha


def _needed_part(box: Box, target: Box, visible: Box, feather: int) -> Box:
    """The part of ``target`` to resample: all of it, or, for an enlarged object that the frame clips,
    the ``visible`` part and the ``feather`` pixels around it that its feathering reads (so the work is
    bounded by the frame, not by the size asked for)."""
    if target.width <= box.width or target.height <= box.height:
        return target  # not enlarged: never larger than the object video's frame
    return Box(
        max(visible.x0 - feather, target.x0),
        max(visible.y0 - feather, target.y0),
        min(visible.x1 + feather, target.x1),
        min(visible.y1 + feather, target.y1),
    )


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
    patch: np.ndarray, alpha: np.ndarray, box: Box, target: Box, part: Box | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The object's pixels ``patch`` and ``alpha`` on ``box``, resized to the size of ``target`` and cut to
    its ``part`` (default: all of it; bilinear, as ``cv2.resize`` maps pixel centres, for a smaller part)."""
    if part is not None and part != target:
        scale_x, scale_y = target.width / box.width, target.height / box.height
        matrix = np.array(
            [
                [1 / scale_x, 0.0, (part.x0 - target.x0 + 0.5) / scale_x - 0.5],
                [0.0, 1 / scale_y, (part.y0 - target.y0 + 0.5) / scale_y - 0.5],
            ]
        )
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        return tuple(
            cv2.warpAffine(
                image, matrix, (part.width, part.height), flags=flags, borderMode=cv2.BORDER_REPLICATE
            )
            for image in (patch, alpha)
        )
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


def _background_frames(
    background: VideoInfo, timeline: Timeline, scene: _Scene
) -> Iterator[tuple[_I420Frame, ObjectMask | None]]:
    """The background frames of every output frame with their holdouts, restarting the video when it
    loops; ends early when the video stops decoding before its probed length (and never loops an
    undecodable video)."""
    size = (background.width, background.height)
    remaining, index = timeline.num_frames, 0
    while remaining > 0:
        decoded = 0
        for frame in iter_frames(background.path, stop=remaining, pixel_format="yuv420p"):
            yield _I420Frame(frame, size), scene.holdout(timeline.background_index(index))
            decoded, index = decoded + 1, index + 1
        remaining -= decoded
        if decoded == 0 or not timeline.loop:
            return


def _object_frames(
    obj: VideoInfo, scene: _Scene, timeline: Timeline
) -> Iterator[tuple[_I420Frame | None, tuple[_LayerFrame, ...]]]:
    """(object frame, its layers' masks and paths) for every output frame, in output order (no frame
    before the clip starts); ends early when the video stops decoding before its probed length. An object
    frame shown by several output frames is the same item each time."""
    size = (obj.width, obj.height)
    decoder: Iterator[np.ndarray] | None = None
    position = -1  # index of ``current`` in the object video
    current: tuple[_I420Frame | None, tuple[_LayerFrame, ...]] | None = None
    for index in range(timeline.num_frames):
        wanted = timeline.object_index(index)
        if wanted is None:
            yield None, scene.layer_frames(None)
            continue
        if decoder is None or wanted < position:  # first frame, or the object video restarts (loop)
            decoder, position = iter_frames(obj.path, start=wanted, pixel_format="yuv420p"), wanted - 1
        while position < wanted:
            frame = next(decoder, None)
            if frame is None:
                return
            position += 1
            if position == wanted:
                current = (_I420Frame(frame, size), scene.layer_frames(wanted))
        yield current


def _cut_out_frames(
    scene: _Scene, objects: Iterator[tuple[_I420Frame | None, tuple[_LayerFrame, ...]]]
) -> Iterator[tuple[_I420Frame | None, tuple[_LayerFrame, ...]]]:
    """``objects`` (from ``_object_frames``) with each soft-edged layer's cut-out made (``_Scene.cut_out``),
    once per object frame and in frame order, so that its temporal smoothing follows the motion."""
    previous = made = None
    for item in objects:
        if item is not previous:
            obj_frame, layer_frames = item
            made = item if obj_frame is None else (obj_frame, scene.cut_out(obj_frame, layer_frames))
            previous = item
        yield made


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


def _probed(video: str | os.PathLike | VideoInfo) -> VideoInfo:
    """``video``'s probe: itself when already probed, else counted from packets (as ``render`` does)."""
    return video if isinstance(video, VideoInfo) else probe_video(video, exact=False)


def _kept_frame(video: VideoInfo, index: int) -> np.ndarray:
    """Frame ``index`` of ``video`` (read-only), the last few kept: a preview after a change of the
    options, not of the frame, decodes nothing; one of a frame a little further on decodes only the
    frames in between (``FrameCursors``)."""
    stat = os.stat(video.path)
    return _decoded_frame(video, index, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=_FRAMES_KEPT)
def _decoded_frame(video: VideoInfo, index: int, modified_ns: int, size: int) -> np.ndarray:
    frame = _CURSORS.frame(video, index)
    frame.setflags(write=False)  # shared by every caller through the cache
    return frame


@functools.lru_cache(maxsize=_BOXES_KEPT)
def _known_boxes(
    masks_id: int, source: str, obj_ids: tuple[int, ...], object_size: tuple[int, int]
) -> dict[int, Box | None]:
    """The mask boxes by frame of objects ``obj_ids`` of a mask set (by its id and source) found so far:
    kept between previews, so that each change does not read the follow path's frames again."""
    return {}


def holdout_masks(options: ComposeOptions) -> MaskSet | None:
    """The masks of ``options.holdout_mask``, or None without one; kept loaded while the folder or zip is
    unchanged (its zip closes when the set is dropped), so that previews do not index them again."""
    if options.holdout_mask is None:
        return None
    path = Path(options.holdout_mask)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0  # load_mask_set says what is wrong with it
    return _loaded_mask_set(str(path), stamp)


@functools.lru_cache(maxsize=_HOLDOUTS_KEPT)
def _loaded_mask_set(path: str, modified_ns: int) -> MaskSet:
    return load_mask_set(path)


def _as_mask_set(masks: MaskSet | str | os.PathLike, cleanup: ExitStack) -> MaskSet:
    """``masks`` itself, or the mask set loaded from a path (closed when ``cleanup`` exits)."""
    if isinstance(masks, MaskSet):
        return masks
    mask_set = load_mask_set(masks)
    cleanup.callback(mask_set.close)
    return mask_set


def _write_png(path: Path, rgb: np.ndarray) -> Path:
    with atomic_path(path) as temp:
        if not cv2.imwrite(str(temp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise BadInput(f"cannot write snapshot {path.name}")
    return path


def _check_frame(name: str, frame: np.ndarray) -> None:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"{name} must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
