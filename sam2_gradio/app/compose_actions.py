"""What each control of the Compose tab does, without Gradio: the app's handlers call these.

The inputs are three files: the object video, its masks (a zip or folder of PNGs, as the Segment tab or
the segment CLI writes them) and the background video. The first two may come from a project
(`project_files`: its video and the masks zip written from its store, as `compose --project` takes them),
and then the object choices carry the objects' names (`object_choices`). Each function checks its inputs
first and raises `MissingInput` or a `errors.BadInput` of one sentence; results go into the session's own
job folders. The files a request reads (masks, holdout masks, objects and keyframe files) share one CPU
budget (`request_budget`): a handler that checks more before acting opens it around its whole parsing step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sam2_gradio.app import holdout_actions
from sam2_gradio.app.projects import ProjectEntry, ProjectLibrary, upload_name
from sam2_gradio.app.sessions import BrowserSession, check_video_upload
from sam2_gradio.compositor import render as compositor
from sam2_gradio.compositor.layers import Layer, plan_layers
from sam2_gradio.compositor.render import ComposeOptions, RenderResult, plan_timeline
from sam2_gradio.cpu_budget import parse_budget
from sam2_gradio.engine.exports.project_exports import compose_input
from sam2_gradio.engine.store.project import Project
from sam2_gradio.errors import BadInput, MissingInput
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
    """Inputs that exist and are readable, with what their probes, index and options' files say."""

    obj: VideoInfo
    background: VideoInfo
    mask_set: MaskSet
    holdouts: MaskSet | None  # the options' holdout masks, None without them
    layers: tuple[Layer, ...]  # `plan_layers` of the masks' objects: the objects and keyframe files read


@dataclass(frozen=True)
class ComposePreview:
    """One output frame and what the Compose tab says around it."""

    image: np.ndarray  # RGB uint8, the background's size
    num_frames: int  # frames the rendered video will have
    note: str | None  # that several objects move as one group (see `placement_note`), if they do


NO_OBJECTS = "Propagate in the Segment tab, or upload an object video and its masks zip."
REQUEST_FILES = "this request's masks, holdout masks, objects and keyframe files"
NOTHING_TO_COMPOSE = (
    "**Nothing to compose yet.** First, in the Segment tab, upload a video, click the object and press "
    "*Propagate*; its video and masks then come here. Or upload an object video and its masks zip here."
)


@contextmanager
def request_budget() -> Iterator[None]:
    """One CPU budget (`cpu_budget.parse_budget`) for every file read until the block exits."""
    with parse_budget(REQUEST_FILES):
        yield


@dataclass(frozen=True)
class ProjectFiles:
    """A project's object video and masks zip, served to the session's page as the Compose inputs."""

    obj_video: str  # named as the uploaded video
    masks: str  # named `masks_file_name(...)`: the masks version tells a stale zip from a current one


def project_entries(library: ProjectLibrary, project_ids: Sequence[str]) -> list[ProjectEntry]:
    """The Compose tab's project choices: those of `project_ids` with tracked masks, the most recent
    first."""
    return [entry for entry in library.entries(project_ids) if entry.has_masks]


def masks_file_name(video_name: str, masks_version: int) -> str:
    """The served masks zip of a project, e.g. ``dog_masks_v72.zip`` (`masks_version`: the store's)."""
    return f"{Path(video_name).stem}_masks_v{masks_version}.zip"


def project_files(
    session: BrowserSession, project: Project, shown_masks: str | None = None
) -> ProjectFiles | None:
    """`project`'s video and masks zip (written from its store) served for the session's Compose inputs;
    None when `shown_masks` (the masks box's file) already holds the project's current masks.

    Raises `NotReady` before the project has tracked masks, `BadInput` when its video is gone."""
    video_name = upload_name(project)
    if shown_masks and Path(shown_masks).name == masks_file_name(video_name, project.masks_version):
        return None
    taken = compose_input(project, zipped=True)
    return ProjectFiles(
        session.serve(taken.video, f"{Path(video_name).stem}{taken.video.suffix}"),
        session.serve(taken.masks, masks_file_name(video_name, taken.masks_version)),
    )


def library_project_files(
    session: BrowserSession, library: ProjectLibrary, project_id: str, shown_masks: str | None = None
) -> ProjectFiles | None:
    """`project_files` of the project `project_id` of `library` (`BadInput` when it is gone)."""
    with library.open(project_id) as project:
        return project_files(session, project, shown_masks)


def project_names(library: ProjectLibrary, project_id: str, masks: str | Path) -> dict[int, str]:
    """The names the user gave the objects of project `project_id` (obj_id -> name), when `masks` is
    the masks zip `project_files` served of it (of any masks version); else none."""
    try:
        project = library.open(project_id)
    except BadInput:  # deleted meanwhile
        return {}
    with project:
        video_name = upload_name(project)
        if not re.fullmatch(rf"{re.escape(Path(video_name).stem)}_masks_v\d+\.zip", Path(masks).name):
            return {}
        return {obj_id: name for obj_id, name in project.objects() if name}


def object_choices(obj_ids: Sequence[int], names: dict[int, str] | None = None) -> list[tuple[str, int]]:
    """The object checkboxes' (label, id): "dog (1)" for a named object, else "Object 1"."""
    names = names or {}
    return [
        (f"{names[obj_id]} ({obj_id})" if names.get(obj_id) else f"Object {obj_id}", obj_id)
        for obj_id in obj_ids
    ]


def with_segment_result(session: BrowserSession, inputs: ComposeInputs) -> ComposeInputs:
    """`inputs`, the Segment tab's last propagation (its video and masks zip) standing in for the object
    video and masks when neither was given; the user's own uploads always win."""
    result = session.segment_result
    if inputs.obj_video or inputs.masks or result is None or result.masks_zip is None:
        return inputs
    if session.video_path is None:
        return inputs
    return ComposeInputs(session.video_path, result.masks_zip, inputs.bg_video)


def check_inputs(
    session: BrowserSession, inputs: ComposeInputs | CheckedInputs, options: ComposeOptions
) -> CheckedInputs:
    """Probe both videos (against the upload limits), index the masks (loaded once per session), load
    the holdout masks and plan the layers (objects and keyframe files), all read in one `request_budget`;
    inputs already checked are returned as they are.

    Without an object video and masks the Segment tab's last propagation is used (`with_segment_result`);
    a missing input raises `MissingInput` saying what to do.
    """
    if isinstance(inputs, CheckedInputs):
        return inputs
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
    with request_budget():
        mask_set = session.mask_set(inputs.masks)
        holdouts = compositor.holdout_masks(options)
        layers = plan_layers(mask_set.object_ids, options)
    return CheckedInputs(obj, background, mask_set, holdouts, layers)


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
    session: BrowserSession, inputs: ComposeInputs | CheckedInputs, index: int, options: ComposeOptions
) -> ComposePreview:
    """Output frame `index` (clamped to the output) as the render would make it."""
    checked = check_inputs(session, inputs, options)
    total = plan_timeline(checked.background, checked.obj, options).num_frames
    index = min(max(int(index), 0), total - 1)
    holdouts = holdout_actions.preview_holdouts(session, checked.background.path, checked.holdouts)
    image = compositor.output_frame(
        checked.background, checked.obj, checked.mask_set, index, options,
        holdouts=holdouts, layers=checked.layers,
    )  # fmt: skip
    note = compositor.placement_note(checked.mask_set, options, layers=checked.layers)
    return ComposePreview(image, total, note)


def snapshot(
    session: BrowserSession, inputs: ComposeInputs | CheckedInputs, index: int, options: ComposeOptions
) -> Path:
    """Output frame `index` as a PNG in a fresh job folder."""
    checked = check_inputs(session, inputs, options)
    with session.job("snapshot") as folder:
        return compositor.snapshot(
            checked.background,
            checked.obj,
            checked.mask_set,
            int(index),
            options,
            folder / f"composite_{int(index):05d}.png",
            holdouts=holdout_actions.preview_holdouts(session, checked.background.path, checked.holdouts),
            layers=checked.layers,
        )


def render(
    session: BrowserSession,
    inputs: ComposeInputs | CheckedInputs,
    options: ComposeOptions,
    *,
    progress: ProgressCallback | None = None,
) -> RenderResult:
    """Render the whole composite into a fresh job folder, the clicked holdouts tracked through the
    background first when they are not current; the "compose" cancel flag stops it."""
    checked = check_inputs(session, inputs, options)
    with session.job("compose") as folder:
        holdouts = holdout_actions.render_holdouts(
            session, checked.background.path, checked.holdouts, progress=progress
        )
        return compositor.render(
            checked.background.path,
            checked.obj.path,
            checked.mask_set,  # kept readable even if the session's cached set is replaced meanwhile
            folder / "composite.mp4",
            options,
            progress=progress,
            cancel=session.cancel_flag("compose"),
            holdouts=holdouts,
            layers=checked.layers,
        )
