"""What each control of the Compose tab does, without Gradio: the app's handlers call these.

The inputs are three files: the object video, its masks (a zip or folder of PNGs, as the Segment tab or
the segment CLI writes them) and the background video. Each function checks them first and raises
`MissingInput` or a `errors.BadInput` of one sentence; results go into the session's own job folders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sam2_gradio.app.sessions import BrowserSession, check_video_upload
from sam2_gradio.compositor import render as compositor
from sam2_gradio.compositor.render import ComposeOptions, RenderResult, plan_timeline
from sam2_gradio.errors import MissingInput
from sam2_gradio.jobs import ProgressCallback
from sam2_gradio.media.mask_files import MaskSet
from sam2_gradio.media.video import VideoInfo


@dataclass(frozen=True)
class ComposeInputs:
    """The three files of a composite."""

    obj_video: str | Path | None  # the video the objects are cut from
    masks: str | Path | None  # their masks: a zip or folder of PNGs
    bg_video: str | Path | None  # the video they are pasted into


@dataclass(frozen=True)
class CheckedInputs:
    """Inputs that exist and are readable, with what their probes and index say."""

    obj: VideoInfo
    background: VideoInfo
    mask_set: MaskSet


@dataclass(frozen=True)
class ComposePreview:
    """One output frame and what the Compose tab says around it."""

    image: np.ndarray  # RGB uint8, the background's size
    num_frames: int  # frames the rendered video will have
    note: str | None  # that several objects move as one group (see `placement_note`), if they do


NO_OBJECTS = "Propagate in the Segment tab, or upload an object video and its masks zip."


def with_segment_result(session: BrowserSession, inputs: ComposeInputs) -> ComposeInputs:
    """`inputs`, the Segment tab's last propagation (its video and masks zip) standing in for the object
    video and masks when neither was given; the user's own uploads always win."""
    result = session.segment_result
    if inputs.obj_video or inputs.masks or result is None or result.masks_zip is None:
        return inputs
    if session.video_path is None:
        return inputs
    return ComposeInputs(session.video_path, result.masks_zip, inputs.bg_video)


def check_inputs(session: BrowserSession, inputs: ComposeInputs) -> CheckedInputs:
    """Probe both videos (against the upload limits) and index the masks, loaded once per session.

    Without an object video and masks the Segment tab's last propagation is used (`with_segment_result`);
    a missing input raises `MissingInput` saying what to do.
    """
    inputs = with_segment_result(session, inputs)
    if not inputs.obj_video and not inputs.masks:
        raise MissingInput(NO_OBJECTS)
    if not inputs.masks:
        raise MissingInput("Upload the object video's masks (a zip), or propagate in the Segment tab.")
    if not inputs.obj_video:
        raise MissingInput("Upload the object video these masks were made for.")
    if not inputs.bg_video:
        raise MissingInput("Upload a background video (or pick the example background).")
    obj = check_video_upload(inputs.obj_video, "object video")
    background = check_video_upload(inputs.bg_video, "background video")
    for role, path in (
        ("object video", inputs.obj_video),
        ("background video", inputs.bg_video),
        ("masks", inputs.masks),
    ):
        session.adopt_upload(path, role)
    return CheckedInputs(obj, background, session.mask_set(inputs.masks))


def ticked_objects(session: BrowserSession, inputs: ComposeInputs, ticked: Sequence[int]) -> tuple[int, ...]:
    """The objects the page pastes: those of the masks (or of the Segment result) that are ticked; a
    single object is always pasted (its box is hidden), several with none ticked paste nothing."""
    inputs = with_segment_result(session, inputs)
    if not inputs.masks:
        return ()
    obj_ids = session.mask_set(inputs.masks).object_ids
    return obj_ids if len(obj_ids) == 1 else tuple(obj_id for obj_id in obj_ids if obj_id in set(ticked))


def mask_objects(session: BrowserSession, masks: str | Path) -> tuple[int, ...]:
    """The object ids a mask set holds."""
    return session.mask_set(masks).object_ids


def preview(
    session: BrowserSession, inputs: ComposeInputs, index: int, options: ComposeOptions
) -> ComposePreview:
    """Output frame `index` (clamped to the output) as the render would make it."""
    checked = check_inputs(session, inputs)
    total = plan_timeline(checked.background, checked.obj, options).num_frames
    index = min(max(int(index), 0), total - 1)
    image = compositor.output_frame(checked.background, checked.obj, checked.mask_set, index, options)
    return ComposePreview(image, total, compositor.placement_note(checked.mask_set, options))


def snapshot(session: BrowserSession, inputs: ComposeInputs, index: int, options: ComposeOptions) -> Path:
    """Output frame `index` as a PNG in a fresh job folder."""
    checked = check_inputs(session, inputs)
    with session.job("snapshot") as folder:
        return compositor.snapshot(
            checked.background,
            checked.obj,
            checked.mask_set,
            int(index),
            options,
            folder / f"composite_{int(index):05d}.png",
        )


def render(
    session: BrowserSession,
    inputs: ComposeInputs,
    options: ComposeOptions,
    *,
    progress: ProgressCallback | None = None,
) -> RenderResult:
    """Render the whole composite into a fresh job folder; the "compose" cancel flag stops it."""
    checked = check_inputs(session, inputs)
    with session.job("compose") as folder:
        return compositor.render(
            checked.background.path,
            checked.obj.path,
            checked.mask_set,  # kept readable even if the session's cached set is replaced meanwhile
            folder / "composite.mp4",
            options,
            progress=progress,
            cancel=session.cancel_flag("compose"),
        )
