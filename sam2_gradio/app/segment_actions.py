"""What each control of the Segment tab does, without Gradio: the app's handlers call these.

Every function takes the caller's `BrowserSession` first. Functions that need a video raise
`NoVideo` until one is opened; bad input raises `errors.BadInput` (or `PromptStateError`) with one sentence,
and leaves the session as it was. Frames come back as RGB uint8 images with every mask and click drawn.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import math
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from sam2_gradio import config
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.projects import ProjectLibrary, upload_name
from sam2_gradio.app.sessions import BoxCorner, BrowserSession, check_video_upload
from sam2_gradio.engine.exports import project_exports
from sam2_gradio.engine.exports.export_formats import ExportedFiles
from sam2_gradio.engine.exports.mask_folder import save_run_state, zip_pngs
from sam2_gradio.engine.exports.overlay import display_factor, draw_corner
from sam2_gradio.engine.options import ExportChoices, SegmentOptions
from sam2_gradio.engine.store.project import Project
from sam2_gradio.engine.tracking import strokes
from sam2_gradio.engine.tracking.interactive import InteractiveSession
from sam2_gradio.engine.tracking.pipeline import SegmentResult
from sam2_gradio.engine.tracking.prompts import PromptState, box_from_corners, load_prompt_state
from sam2_gradio.engine.tracking.propagation import same_clicks
from sam2_gradio.engine.tracking.track_project import FrameTracked, TrackingResult, track_project
from sam2_gradio.errors import BadInput, NotReady, NoVideo, UploadRejected
from sam2_gradio.jobs import Progress, ProgressCallback, with_stage
from sam2_gradio.media.frames import VideoFileFrames
from sam2_gradio.media.video import probe_video

logger = logging.getLogger(__name__)
T = TypeVar("T")
_ENCODER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode-ahead")  # see `encode_ahead`

STATE_FILE_NAME = "interactive_state.json"
PROMPT_KINDS = ("positive", "negative", "box", "brush", "erase")  # what a click on the frame gives
_MASK_PROMPT_NOTE = (
    " A painted mask replaces the object's clicks and box on this frame (SAM 2 takes a mask instead of "
    "them); Undo brings them back."
)
PROMPT_HINTS = {
    "positive": "A click adds a positive point on the selected object.",
    "negative": "A click adds a negative point: where the selected object is not.",
    "box": (
        "Click two opposite corners of a box around the object (the first shows until the second); "
        "SAM 2 gets it with the object's clicks on this frame."
    ),
    "brush": "Press and drag on the frame to paint a stroke of the brush's size (the circle under the "
    "pointer) into the selected object's mask; each stroke is one undo step." + _MASK_PROMPT_NOTE,
    "erase": "Press and drag on the frame to erase a stroke of the brush's size from the selected "
    "object's mask; each stroke is one undo step." + _MASK_PROMPT_NOTE,
}


@dataclass(frozen=True)
class OpenedVideo:
    """What the Segment tab shows about a freshly opened video."""

    num_frames: int  # frames that decode
    fps: float
    width: int
    height: int
    duration: float  # seconds
    undecodable_frames: int  # frames the container indexes that do not decode (a lower bound; 0 if intact)

    @property
    def summary(self) -> str:
        """One line, e.g. ``90 frames · 30 fps · 640×360 · 3.0 s``."""
        line = (
            f"{self.num_frames} frames · {self.fps:g} fps · {self.width}×{self.height} · "
            f"{self.duration:.1f} s"
        )
        if self.undecodable_frames:
            line += (
                f" · the file is damaged: at least {self.undecodable_frames} more "
                f"{'frame does' if self.undecodable_frames == 1 else 'frames do'} not decode; "
                f"using the {self.num_frames} that do"
            )
        return line


def open_video(
    session: BrowserSession, path: str | Path, model: AppModel, library: ProjectLibrary | None = None
) -> OpenedVideo:
    """Make `path` the session's video (checked against the upload limits) in a new project of `library`
    (without one, a project in the session's folder, gone with it); its clicks start empty.

    Raises `errors.UploadRejected` for a file that is not a video or is over the limits; the session's
    previous video and clicks are then kept (and so is its project, on disk), and `refused_upload` names
    the file (`refused_upload` takes it out of the upload box).
    """
    try:
        info = check_video_upload(path)
        session.adopt_upload(path, "video")
    except UploadRejected:
        session.refused_upload = Path(path)
        raise
    session.refused_upload = None
    announced = probe_video(path, exact=False).num_frames
    if library is not None:
        project_id, project = library.create(path)
    else:
        project_id, project = None, Project.create(session.folder / f"project-{uuid.uuid4().hex[:12]}", path)
    _adopt_project(session, project, project_id, model, PromptState(video=project.meta), shown_frame=0)
    return OpenedVideo(
        info.num_frames,
        info.fps,
        info.width,
        info.height,
        info.duration,
        max(0, announced - info.num_frames),
    )


def refused_upload(session: BrowserSession, shown: str | Path | None) -> bool:
    """True when the video box shows `shown`, the upload `open_video` refused last (it is to be emptied)."""
    return shown is not None and session.refused_upload == Path(shown)


def reopen_project(
    session: BrowserSession, library: ProjectLibrary, project_id: str, model: AppModel
) -> tuple[OpenedVideo, int]:
    """Open the project `project_id` of `library` as it was left: its video, prompts with their undo
    history, tracked masks and results, at the frame shown last. Returns the video's summary and that
    frame. Raises `BadInput` when the project is gone or its video cannot be read."""
    project = library.open(project_id)
    info = check_video_upload(project.video.path)
    meta = project.meta
    shown = min(max(int(project.setting("shown_frame", "0") or 0), 0), meta.num_frames - 1)
    _adopt_project(session, project, project_id, model, project.prompts(), shown_frame=shown)
    if project.latest_run() is not None:
        segment = session.segment
        segment.tracked_masks = project.frame_masks
        with session.job("segment") as folder:
            result = _results(project, folder, None, ExportChoices(), Path(upload_name(project)).stem)
        with session.lock:
            session.segment_result, session.segment_prompts = (
                result,
                project.run_prompts(result_run_id(project)),
            )
    opened = OpenedVideo(info.num_frames, info.fps, info.width, info.height, info.duration, 0)
    return opened, shown


def shown_video(session: BrowserSession) -> str | None:
    """The session's project video served for the video box, under the name it was uploaded with, so that
    a reopened project shows its video there too; None when it cannot be served without a copy."""
    project = session.project
    served = None if project is None else session.serve_linked(project.video.path, upload_name(project))
    session.shown_video = None if served is None else Path(served)
    return served


def is_shown_video(session: BrowserSession, video: str | Path) -> bool:
    """Whether `video` (what the video box holds now) is the file `shown_video` put there: the box then
    shows the project that is open, and nothing is to be opened."""
    shown = session.shown_video
    try:
        return shown is not None and os.path.samefile(video, shown)
    except OSError:  # either file is gone
        return False


def video_name(session: BrowserSession) -> str:
    """The file name the session's video was uploaded with ("video" when none is open)."""
    project = session.project
    return upload_name(project) if project is not None else "video"


def result_run_id(project: Project) -> int:
    """The id of the project's latest run (the one its masks come from)."""
    latest = project.latest_run()
    if latest is None:
        raise NotReady("Propagate first: this project has no tracked masks yet.")
    return latest.id


def _adopt_project(
    session: BrowserSession,
    project: Project,
    project_id: str | None,
    model: AppModel,
    prompts: PromptState,
    *,
    shown_frame: int,
) -> None:
    """Make `project` the session's: its video, `prompts`, no results yet, `shown_frame` encoded ahead."""
    source = VideoFileFrames.open(project.video.path)
    with session.lock:
        session.segment = InteractiveSession(model, source, prompts)
        session.video_path = project.video.path
        session.project, session.project_id = project, project_id
        session.segment_result = None
        session.shown_video = None
        session.running_tracked = None
        session.box_corner = None
        session.viewed_frame = shown_frame
    encode_ahead(session, shown_frame)


def close_video(session: BrowserSession) -> bool:
    """Forget the session's video with its clicks and results; True when it had any click."""
    with session.lock:
        had_clicks = session.segment is not None and bool(session.segment.prompts.prompted_frames())
        session.segment, session.video_path, session.segment_result = None, None, None
        session.running_tracked, session.box_corner = None, None
        session.project, session.project_id = None, None  # its project stays on disk
        session.shown_video = None
    return had_clicks


def _persisted(action: Callable[..., T]) -> Callable[..., T]:
    """`action` (an edit of the session's prompts, session first), followed by storing the prompts and
    their history in the session's project: a reload or a crash loses no edit."""

    @functools.wraps(action)
    def edit(session: BrowserSession, *args: Any, **kwargs: Any) -> T:
        try:
            return action(session, *args, **kwargs)
        finally:  # a refused edit changed nothing, but the ones before it are stored all the same
            with session.lock:
                if session.project is not None and session.segment is not None:
                    session.project.save_prompts(session.segment.prompts)

    return edit


def shown_scale(session: BrowserSession) -> int:
    """The factor the Segment tab enlarges this video's frames by (`config.MIN_SHOWN_SIDE`); 1 without one."""
    if session.segment is None:
        return 1
    meta = session.segment.source.meta
    return display_factor(meta.width, meta.height, config.MIN_SHOWN_SIDE)


def video_point(session: BrowserSession, x: float, y: float) -> tuple[float, float]:
    """The video pixel under pixel (x, y) of the frame as shown (enlarged by `shown_scale`): the centre of
    a shown pixel maps to the same point of the video pixel it enlarges."""
    scale = shown_scale(session)
    return max(0.0, (x + 0.5) / scale - 0.5), max(0.0, (y + 0.5) / scale - 0.5)


def segment_of(session: BrowserSession) -> InteractiveSession:
    """The session's `InteractiveSession`, or `NoVideo` when no video is open."""
    if session.segment is None:
        raise NoVideo("Upload a video (or pick an example) first.")
    return session.segment


def show_frame(session: BrowserSession, frame: int) -> np.ndarray:
    """Frame `frame` with every known mask and click drawn on it."""
    with session.lock:
        return _render(session, _checked_frame(session, frame))


def _render(session: BrowserSession, frame: int, masks: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """`InteractiveSession.render`, with the first corner of a box being drawn on `frame` marked."""
    image = segment_of(session).render(frame, masks)
    corner = session.box_corner
    if corner is not None and corner.frame == frame:
        image = draw_corner(image, corner.x, corner.y, corner.obj_id)
    return image


@_persisted
def add_click(
    session: BrowserSession, frame: int, obj_id: int, x: float, y: float, *, positive: bool
) -> np.ndarray:
    """Add a click for `obj_id` at video pixel (x, y) of `frame`; returns the frame redrawn."""
    with session.lock:
        segment, frame = segment_of(session), _checked_frame(session, frame)
        return segment.render(frame, segment.click(frame, obj_id, x, y, positive=positive))


def prompt_at(
    session: BrowserSession,
    frame: int,
    obj_id: int,
    x: float,
    y: float,
    kind: str,
    brush_radius: float = config.DEFAULT_BRUSH_RADIUS,
) -> np.ndarray:
    """A click at video pixel (x, y) of `frame`, taken as `kind` says (`PROMPT_KINDS`): a positive or
    negative point, a box corner (`add_box_corner`), or a brush or eraser dab (`brush`). Returns the
    frame redrawn."""
    if kind not in PROMPT_KINDS:
        raise BadInput(f"prompt type {kind!r} is not one of {', '.join(PROMPT_KINDS)}")
    if kind == "box":
        return add_box_corner(session, frame, obj_id, x, y)
    session.box_corner = None  # another kind of prompt abandons a half-drawn box
    if kind in ("positive", "negative"):
        return add_click(session, frame, obj_id, x, y, positive=kind == "positive")
    return brush(session, frame, obj_id, x, y, brush_radius, erase=kind == "erase")


@_persisted
def add_box_corner(session: BrowserSession, frame: int, obj_id: int, x: float, y: float) -> np.ndarray:
    """A corner of a box for `obj_id` at video pixel (x, y) of `frame`: the first is kept and marked, the
    second gives the object that box on the frame (one undo step). A first corner on another frame or
    of another object is replaced. Returns the frame redrawn."""
    with session.lock:
        segment, frame = segment_of(session), _checked_frame(session, frame)
        first = session.box_corner
        if first is None or (first.frame, first.obj_id) != (frame, obj_id):
            session.box_corner = BoxCorner(frame, obj_id, x, y)
            return _render(session, frame)
        masks = segment.box(frame, obj_id, box_from_corners((first.x, first.y), (x, y)))
        session.box_corner = None
        return _render(session, frame, masks)


@_persisted
def brush(
    session: BrowserSession, frame: int, obj_id: int, x: float, y: float, radius: float, *, erase: bool
) -> np.ndarray:
    """Paint (or `erase`) a disc of `radius` video pixels at (x, y) into the mask of `obj_id` on `frame`,
    given to SAM 2 as a mask prompt (`InteractiveSession.brush`). Returns the frame redrawn."""
    _check_brush(radius)
    with session.lock:
        segment, frame = segment_of(session), _checked_frame(session, frame)
        return _render(session, frame, segment.brush(frame, obj_id, x, y, radius, erase=erase))


@_persisted
def stroke(
    session: BrowserSession,
    frame: int,
    obj_id: int,
    points: list[tuple[float, float]],
    radius: float,
    *,
    erase: bool = False,
) -> np.ndarray:
    """Paint (or `erase`) a stroke along `points` (video pixels) with a brush of `radius` video pixels
    into the mask of `obj_id` on `frame`, given to SAM 2 as one mask prompt (`InteractiveSession.stroke`;
    one undo step). Returns the frame redrawn."""
    _check_brush(radius)
    if not points or len(points) > config.MAX_STROKE_POINTS:
        raise BadInput(f"a stroke has from 1 to {config.MAX_STROKE_POINTS} points, got {len(points)}")
    with session.lock:
        segment, frame = segment_of(session), _checked_frame(session, frame)
        return _render(session, frame, segment.stroke(frame, obj_id, points, radius, erase=erase))


@_persisted
def mark_absent(session: BrowserSession, frame: int, obj_id: int) -> np.ndarray:
    """Tell SAM 2 that `obj_id` is not on `frame` (an empty mask prompt, undoable): propagation then
    loses it there. Returns the frame redrawn."""
    with session.lock:
        segment, frame = segment_of(session), _checked_frame(session, frame)
        session.box_corner = None
        return _render(session, frame, segment.absent(frame, obj_id))


def default_brush_radius(session: BrowserSession) -> int:
    """The brush size the session's video starts with (`strokes.default_brush_radius`)."""
    meta = segment_of(session).source.meta
    return strokes.default_brush_radius(meta.width, meta.height, config.MAX_BRUSH_RADIUS)


def _check_brush(radius: float) -> None:
    if not 0 < radius <= config.MAX_BRUSH_RADIUS:
        raise BadInput(f"the brush size must be from 1 to {config.MAX_BRUSH_RADIUS} pixels, got {radius:g}")


@_persisted
def undo(session: BrowserSession, shown_frame: int) -> tuple[int, np.ndarray]:
    """Take back the latest edit of any kind (click, clear, object, reset, loaded state).

    Returns the frame to show (`shown_frame` when the edit changed it or no frame, else the first frame
    it changed) and that frame drawn.
    """
    with session.lock:
        return _show_changed(session, segment_of(session).undo(), shown_frame)


@_persisted
def redo(session: BrowserSession, shown_frame: int) -> tuple[int, np.ndarray]:
    """Make the latest undone edit again; returns the frame to show and that frame drawn (as `undo`)."""
    with session.lock:
        return _show_changed(session, segment_of(session).redo(), shown_frame)


def _show_changed(
    session: BrowserSession, changed: list[int] | None, shown_frame: int
) -> tuple[int, np.ndarray]:
    frame = _checked_frame(session, shown_frame)
    if changed and frame not in changed:
        frame = changed[0]
    return frame, _render(session, frame)


@_persisted
def clear_frame(session: BrowserSession, frame: int, obj_id: int) -> np.ndarray:
    """Remove the clicks of `obj_id` on `frame`; returns the frame redrawn."""
    with session.lock:
        segment, frame = segment_of(session), _checked_frame(session, frame)
        return segment.render(frame, segment.clear(frame, obj_id))


@_persisted
def new_object(session: BrowserSession) -> int:
    """Create an object and return its id."""
    with session.lock:
        return segment_of(session).new_object()


@_persisted
def remove_object(session: BrowserSession, obj_id: int) -> None:
    """Remove an object with all its clicks."""
    with session.lock:
        segment_of(session).remove_object(obj_id)


@_persisted
def reset(session: BrowserSession) -> None:
    """Remove every object, click and propagated mask of the session's video (undo brings the clicks back)."""
    with session.lock:
        segment_of(session).reset()
        session.segment_result = None
        session.box_corner = None


def object_ids(session: BrowserSession) -> list[int]:
    """The session's objects, at least one: a video with no object gets object 1."""
    with session.lock:
        prompts = segment_of(session).prompts
        prompts.ensure_an_object()
        return list(prompts.object_ids)


def object_names(session: BrowserSession) -> dict[int, str]:
    """The names the user gave the session's objects (obj_id -> name)."""
    with session.lock:
        return dict(segment_of(session).prompts.names)


def prompted_frames(session: BrowserSession) -> dict[int, list[int]]:
    """Per object (every object of the session), the frames holding a click, box or painted mask of it,
    in ascending order."""
    with session.lock:
        prompts = segment_of(session).prompts
        return {
            obj_id: sorted(frame for frame, objects in prompts.clicks.items() if obj_id in objects)
            for obj_id in prompts.object_ids
        }


def tracked_frames(session: BrowserSession) -> dict[int, range]:
    """Per object, the frames the latest propagation tracked: the running one's so far while one runs,
    else the last result's (a cancelled run's partial frames included); empty when there is none."""
    with session.lock:
        running, result = session.running_tracked, session.segment_result
    if running is not None:
        return dict(running)
    if result is None:
        return {}
    return dict.fromkeys(result.obj_ids, result.tracked)


def absent_objects(session: BrowserSession, frame: int) -> list[int]:
    """The objects known to be off `frame`: it was tracked for them (the latest propagation) or they have
    a prompt there, and their mask on it is empty. Objects of untracked frames are not known to be off."""
    tracked = tracked_frames(session)
    with session.lock:
        segment, frame = segment_of(session), _checked_frame(session, frame)
        prompted = segment.prompts.clicks.get(frame, {})
        masks = segment.masks_on(frame)
        obj_ids = list(segment.prompts.object_ids)
    known = [obj_id for obj_id in obj_ids if obj_id in prompted or frame in tracked.get(obj_id, ())]
    return [obj_id for obj_id in known if obj_id not in masks or not masks[obj_id].any()]


@_persisted
def name_object(session: BrowserSession, obj_id: int, name: str) -> None:
    """Name an object ("dog"; an empty name removes it), as one undoable edit; refused over the length
    limit (`PromptStateError`)."""
    with session.lock:
        segment_of(session).prompts.set_name(obj_id, name)


def save_state(session: BrowserSession) -> Path:
    """Write the clicks as `interactive_state.json` in a fresh job folder; returns the file."""
    with session.lock:
        state = copy.deepcopy(segment_of(session).prompts)
    with session.job("state") as folder:
        return state.save(folder / STATE_FILE_NAME)


@_persisted
def load_state(session: BrowserSession, path: str | Path) -> PromptState:
    """Replace the clicks with those of a state file, checked against the video first (undoable).

    Raises `PromptStateError` naming the offending entry; the current clicks are then kept.
    """
    with session.lock:
        segment = segment_of(session)
        prompts = load_prompt_state(path, segment.source.meta)
        segment.replace_prompts(prompts)
        session.segment_result = None
        return prompts


def propagate(
    session: BrowserSession,
    options: SegmentOptions | None = None,
    *,
    exports: ExportChoices | None = None,
    resume: bool = False,
    progress: ProgressCallback | None = None,
    watch: Callable[[FrameTracked], None] | None = None,
) -> SegmentResult:
    """Track the clicked objects through the whole video into the session's project; then the preview
    MP4, the masks zip and the state file, written from the project's store into a job folder.

    Every tracked frame is committed to the project as it comes, so the frame view shows its masks and
    a reload, a closed tab or a crash keeps it; `watch` gets each tracked frame. The model is held one
    step at a time, so other sessions' clicks are served between steps. The session's "segment" cancel
    flag stops the run: the frames tracked so far are then the result (`SegmentResult.partial`). A run
    of the same prompts in the same direction that did not finish is continued where it stopped (Continue,
    or Propagate again; `resume` is accepted for the API's sake); with the masks current nothing is
    tracked again. `exports` (COCO JSON, DAVIS PNGs zipped, an alpha video) are written from the store
    once the run is complete (`export_files`).
    """
    options = options or SegmentOptions()
    with session.lock:
        segment, project = segment_of(session), session.project
        prompts = copy.deepcopy(segment.prompts)
        name = Path(upload_name(project)).stem
    if not prompts.prompted_objects():
        raise NotReady("Click on an object first, then propagate.")
    project.save_prompts(segment.prompts)
    session.running_prompts = prompts

    def show_tracked(tracked: FrameTracked) -> None:
        # Not under the session lock: this runs while the propagation holds the model, and a click of
        # this session holds that lock while it waits for the model. One attribute set is atomic, and
        # setting it on a segment the session has just replaced is harmless.
        if session.segment is segment:
            segment.tracked_masks = project.frame_masks
            session.running_tracked = dict.fromkeys(tracked.masks, tracked.tracked)
        if watch is not None:
            watch(tracked)

    with session.job("segment") as folder, _running(session):
        tracking = track_project(
            segment.model, project, **asdict(options), progress=progress,
            cancel=session.cancel_flag("segment"), watch=show_tracked, features=segment.features,
        )  # fmt: skip
        result = _results(project, folder, tracking, exports or ExportChoices(), name, progress=progress)
    with session.lock:
        if session.segment is segment:
            segment.tracked_masks = project.frame_masks
            session.segment_result = result
            session.segment_prompts = prompts
    return result


def _results(
    project: Project,
    folder: Path,
    tracking: TrackingResult | None,
    exports: ExportChoices,
    name: str,
    *,
    progress: ProgressCallback | None = None,
) -> SegmentResult:
    """The results of the project's latest run, written from its store into the job `folder`: the
    preview (the one encoded while tracking, when there is one), the masks zip (`_partial` when the run
    did not finish), the state file and, once it finished, the `exports`."""
    latest = project.latest_run()
    tracked_list = project.tracked_frames(latest.id)
    tracked = range(tracked_list[0], tracked_list[-1] + 1) if tracked_list else range(0)
    partial = not latest.finished
    preview = None
    if tracked:
        if tracking is not None and tracking.preview is not None:
            preview = project_exports.deliver(tracking.preview, folder / "preview.mp4")
        else:
            preview = project_exports.preview(
                project, folder / "preview.mp4", progress=with_stage(progress, "preview")
            )
    zip_path = folder / ("masks_partial.zip" if partial else "masks.zip")
    masks_zip = project_exports.masks_zip(project, zip_path, progress=with_stage(progress, "masks"))
    state_file = save_run_state(
        project.run_prompts(latest.id), folder / STATE_FILE_NAME, direction=latest.direction,
        tracked=tracked, partial=partial,
    )  # fmt: skip
    exported = ExportedFiles() if partial else _write_exports(project, folder, exports, name, progress)
    seconds, fps = (tracking.seconds, tracking.fps) if tracking is not None else (0.0, 0.0)
    frames = tracking.frames_done if tracking is not None else latest.frames_tracked
    return SegmentResult(
        mask_dir=project_exports.mask_pngs(project), preview=preview, masks_zip=masks_zip,
        obj_ids=project.mask_objects(), frames_tracked=frames, seconds=seconds, fps=fps, partial=partial,
        tracked=tracked,
        stopped=None if latest.stopped in (None, "cancelled") else latest.stopped, state_file=state_file,
        exported=exported,
    )  # fmt: skip


def _write_exports(
    project: Project, folder: Path, choices: ExportChoices, name: str, progress: ProgressCallback | None
) -> ExportedFiles:
    """The exports `choices` ask for, from the store, into the job `folder`, named after the video;
    `progress` hears when each starts (stages "coco", "davis"; the alpha video's frames, "alpha video")."""
    coco = None
    if choices.coco:
        _starting(progress, "coco")
        coco = project_exports.coco(project, folder / f"{name}_youtube_vis.json")
    davis = None
    if choices.davis:
        _starting(progress, "davis")
        davis = project_exports.davis(project, folder / f"{name}_davis")
        zip_pngs(davis, davis_zip_path(davis))
    alphas = []
    if choices.alpha_video:  # each frame cut out once for every format ticked
        alphas = project_exports.alpha_videos(
            project, [folder / f"{name}_alpha.{suffix}" for suffix in choices.alpha_video],
            feather=choices.feather, edge=choices.edge, edge_band=choices.edge_band,
            progress=with_stage(progress, "alpha video"),
        )  # fmt: skip
    return ExportedFiles(coco=coco, davis_dir=davis, alpha_videos=tuple(alphas))


def _starting(progress: ProgressCallback | None, stage: str) -> None:
    """Tell `progress` that `stage`, a step without frames to count, starts (a report of 0/0 frames)."""
    if progress is not None:
        progress(Progress(0, 0, 0.0, 0.0, stage=stage))


def davis_zip_path(davis_dir: Path) -> Path:
    """Where the zip of a DAVIS PNG folder goes: beside it, `<folder>.zip`."""
    return davis_dir.with_name(f"{davis_dir.name}.zip")


def write_exports_now(session: BrowserSession, choices: ExportChoices) -> list[Path]:
    """Write the exports `choices` ask for from the project's store, without tracking again (the
    masks of the last propagation; a partial one's tracked frames); returns them as `export_files`
    does, and the session's result offers them from now on."""
    with session.lock:
        project, result = session.project, session.segment_result
        name = session.video_path.stem if session.video_path is not None else "video"
    if project is None or result is None:
        raise NotReady("Propagate first: the exports are written from the tracked masks.")
    if not choices.wanted:
        raise NotReady("Tick an export first (COCO JSON, DAVIS PNGs or an alpha video).")
    with session.job("exports") as folder:
        exported = _write_exports(project, folder, choices, name, None)
    with session.lock:
        if session.segment_result is result:
            session.segment_result = replace(result, exported=exported)
    return export_files(session)


def alpha_video_sizes(session: BrowserSession, formats: Sequence[str]) -> str:
    """One line on about how large each alpha video of `formats` ("webm", "mov") of the session's
    project will be (`project_exports.alpha_video_bytes`: from its stored mask areas), before it is
    written; empty without a project or a format."""
    with session.lock:
        project = session.project
    chosen = [fmt for fmt in formats if fmt and fmt != "none"]
    if project is None or not chosen:
        return ""
    megabytes = [project_exports.alpha_video_bytes(project, f".{fmt}") / 1e6 for fmt in chosen]
    sizes = [f"{size:.0f} MB ({fmt})" for size, fmt in zip(megabytes, chosen, strict=True)]
    return "About " + ", ".join(sizes) + " for the masks tracked so far."


def export_files(session: BrowserSession) -> list[Path]:
    """The export files of the session's last propagation (COCO JSON, DAVIS zip, alpha videos), if any."""
    with session.lock:
        result = session.segment_result
    if result is None:
        return []
    exported = result.exported
    davis = davis_zip_path(exported.davis_dir) if exported.davis_dir is not None else None
    return [path for path in (exported.coco, davis, *exported.alpha_videos) if path is not None]


@contextlib.contextmanager
def _running(session: BrowserSession) -> Iterator[None]:
    """While a propagation of `session.running_prompts` runs; then there is none."""
    try:
        yield
    finally:
        session.running_prompts = None
        session.running_tracked = None


def results_note(session: BrowserSession) -> str:
    """One line on the propagation's results: partial, out of date after an edit, or nothing."""
    with session.lock:
        result, prompts = session.segment_result, session.segment_prompts
        running = session.running_prompts
        current = session.segment.prompts if session.segment is not None else None
    if running is not None and current is not None and not same_clicks(running, current):
        return "**Out of date:** the prompts changed during this propagation; propagate again after it ends."
    if result is None or prompts is None or current is None:
        return ""
    if not same_clicks(prompts, current):
        return "**Out of date:** the prompts changed after this propagation; propagate again to update it."
    if result.partial:
        first, last = result.tracked.start, result.tracked.stop - 1
        why = "cancelled" if result.stopped is None else "stopped"
        latest = session.project.latest_run() if session.project is not None else None
        total = latest.total if latest is not None else len(result.tracked)
        return (
            f"**Partial:** {why} with frames {first}–{last} tracked ({len(result.tracked)} of {total}); "
            "*Continue* resumes it."
        )
    return ""


def view_frame(session: BrowserSession, frame: int) -> np.ndarray:
    """`show_frame` for a frame the user chose: a running propagation stops moving the view then."""
    with session.lock:
        session.navigations += 1
        session.viewed_frame = int(frame)
    image = show_frame(session, frame)
    if session.project is not None:
        session.project.set_setting("shown_frame", str(int(frame)))
    encode_ahead(session, int(frame))
    return image


def encode_ahead(session: BrowserSession, frame: int) -> Future | None:
    """Encode `frame` in a background thread while the model is idle, so that the first click on it is
    as quick as the next ones (`InteractiveSession.prepare`; `AppModel.may_encode_ahead` and `idle` say
    when). Only the session's latest frame is encoded: a frame the user has moved on from is skipped.
    Returns the background job (it ends after every earlier one), or None where nothing is ever encoded
    ahead (ZeroGPU, or turned off)."""
    segment = session.segment
    if segment is None or not (isinstance(segment.model, AppModel) and segment.model.may_encode_ahead):
        return None
    session.frame_to_encode = frame
    return _ENCODER.submit(_encode_if_still_wanted, session, segment, frame)


def _encode_if_still_wanted(session: BrowserSession, segment: InteractiveSession, frame: int) -> None:
    if session.frame_to_encode != frame or session.segment is not segment or not segment.model.idle:
        return
    try:
        segment.prepare(frame)
    except Exception:  # a head start only: the first click encodes the frame and reports what fails
        logger.debug("encoding frame %d ahead failed", frame, exc_info=True)


class LiveView:
    """What the frame view shows while a propagation runs.

    The frame being tracked, with its masks, at most every `config.LIVE_VIEW_SECONDS`, until the user
    picks a frame (`view_frame`); from then on their frame, redrawn once it has been tracked.
    """

    def __init__(self, session: BrowserSession, clock: Callable[[], float] = time.monotonic) -> None:
        self.session = session  # whose run and view
        self.frame = session.viewed_frame  # the frame shown now
        self.finished = False  # the run's results were shown
        self._navigations = session.navigations  # the user's frame picks when the run started
        self._clock = clock
        self._last_redraw = -math.inf  # clock reading of the last redraw
        self._redrawn_tracked: int | None = None  # the user's frame, once redrawn with its masks

    @property
    def following(self) -> bool:
        """Whether the view still follows the tracking (the user picked no frame since it started)."""
        return self.session.navigations == self._navigations

    @property
    def slider_frame(self) -> int:
        """The frame the slider is at: the one tracked last shown while following, else the user's."""
        return self.frame if self.following else self.session.viewed_frame

    def redraw(self, tracked: FrameTracked | None) -> tuple[np.ndarray, int | None] | None:
        """The image to show after `tracked`, and the frame the slider should move to (None: leave it).

        None when nothing needs redrawing yet.
        """
        if tracked is None or self._clock() - self._last_redraw < config.LIVE_VIEW_SECONDS:
            return None
        if self.following:
            self._last_redraw, self.frame = self._clock(), tracked.frame
            with self.session.lock:  # its masks come with it: their files may not be written yet
                return segment_of(self.session).render(tracked.frame, tracked.masks), tracked.frame
        chosen = self.session.viewed_frame
        if chosen not in tracked.tracked or self._redrawn_tracked == chosen:
            return None
        self._last_redraw, self.frame, self._redrawn_tracked = self._clock(), chosen, chosen
        return show_frame(self.session, chosen), None


def state_file_of(result: SegmentResult) -> Path:
    """The clicks a propagation ran with (and which frames it tracked), saved beside its masks."""
    return result.state_file or result.mask_dir.parent / STATE_FILE_NAME


def _checked_frame(session: BrowserSession, frame: int) -> int:
    total = segment_of(session).source.meta.num_frames
    frame = int(frame)
    if not 0 <= frame < total:
        raise BadInput(f"frame {frame} is outside the video (0 to {total - 1})")
    return frame
