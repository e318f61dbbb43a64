"""What each control of the Segment tab does, without Gradio: the app's handlers call these.

Every function takes the caller's `BrowserSession` first. Functions that need a video raise
`NoVideo` until one is opened; bad input raises `jobs.BadInput` (or `PromptStateError`) with one sentence,
and leaves the session as it was. Frames come back as RGB uint8 images with every mask and click drawn.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sam2_gradio import config
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.sessions import BoxCorner, BrowserSession, check_video_upload
from sam2_gradio.engine.export_formats import ExportFormats
from sam2_gradio.engine.exports import zip_pngs
from sam2_gradio.engine.interactive import InteractiveSession
from sam2_gradio.engine.options import ExportChoices, SegmentOptions
from sam2_gradio.engine.overlay import display_factor, draw_corner
from sam2_gradio.engine.pipeline import SegmentResult, TrackedFrame, segment_video
from sam2_gradio.engine.prompts import PromptState, box_from_corners, load_prompt_state
from sam2_gradio.engine.propagation import same_clicks
from sam2_gradio.jobs import BadInput, NotReady, ProgressCallback
from sam2_gradio.media.frames import VideoFileFrames
from sam2_gradio.media.video import probe_video

logger = logging.getLogger(__name__)
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
    "brush": "Each click paints a disc of the brush size into the selected object's mask."
    + _MASK_PROMPT_NOTE,
    "erase": "Each click erases a disc of the brush size from the selected object's mask."
    + _MASK_PROMPT_NOTE,
}


class NoVideo(NotReady):
    """A Segment action was asked for before a video was opened."""


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


def open_video(session: BrowserSession, path: str | Path, model: AppModel) -> OpenedVideo:
    """Make `path` the session's video (checked against the upload limits); its clicks start empty.

    Raises `sessions.UploadRejected` for a file that is not a video or is over the limits; the session's
    previous video and clicks are then kept.
    """
    info = check_video_upload(path)
    session.adopt_upload(path, "video")
    announced = probe_video(path, exact=False).num_frames
    source = VideoFileFrames.open(path)
    with session.lock:
        session.segment = InteractiveSession(model, source)
        session.video_path = Path(path)
        session.segment_result = None
        session.running_tracked = None
        session.box_corner = None
    encode_ahead(session, 0)
    return OpenedVideo(
        info.num_frames,
        info.fps,
        info.width,
        info.height,
        info.duration,
        max(0, announced - info.num_frames),
    )


def close_video(session: BrowserSession) -> bool:
    """Forget the session's video with its clicks and results; True when it had any click."""
    with session.lock:
        had_clicks = session.segment is not None and bool(session.segment.prompts.prompted_frames())
        session.segment, session.video_path, session.segment_result = None, None, None
        session.running_tracked, session.box_corner = None, None
    return had_clicks


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


def brush(
    session: BrowserSession, frame: int, obj_id: int, x: float, y: float, radius: float, *, erase: bool
) -> np.ndarray:
    """Paint (or `erase`) a disc of `radius` video pixels at (x, y) into the mask of `obj_id` on `frame`,
    given to SAM 2 as a mask prompt (`InteractiveSession.brush`). Returns the frame redrawn."""
    if not 0 < radius <= config.MAX_BRUSH_RADIUS:
        raise BadInput(f"the brush size must be from 1 to {config.MAX_BRUSH_RADIUS} pixels, got {radius:g}")
    with session.lock:
        segment, frame = segment_of(session), _checked_frame(session, frame)
        return _render(session, frame, segment.brush(frame, obj_id, x, y, radius, erase=erase))


def undo(session: BrowserSession, shown_frame: int) -> tuple[int, np.ndarray]:
    """Take back the latest edit of any kind (click, clear, object, reset, loaded state).

    Returns the frame to show (`shown_frame` when the edit changed it or no frame, else the first frame
    it changed) and that frame drawn.
    """
    with session.lock:
        return _show_changed(session, segment_of(session).undo(), shown_frame)


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


def clear_frame(session: BrowserSession, frame: int, obj_id: int) -> np.ndarray:
    """Remove the clicks of `obj_id` on `frame`; returns the frame redrawn."""
    with session.lock:
        segment, frame = segment_of(session), _checked_frame(session, frame)
        return segment.render(frame, segment.clear(frame, obj_id))


def new_object(session: BrowserSession) -> int:
    """Create an object and return its id."""
    with session.lock:
        return segment_of(session).new_object()


def remove_object(session: BrowserSession, obj_id: int) -> None:
    """Remove an object with all its clicks."""
    with session.lock:
        segment_of(session).remove_object(obj_id)


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
    watch: Callable[[TrackedFrame], None] | None = None,
) -> SegmentResult:
    """Track the clicked objects through the whole video; writes masks, a preview MP4, a zip and a state.

    The clicks are copied first, so the video can be browsed and clicked meanwhile; while the run goes,
    the frame view shows every tracked frame's masks (they are on disk as they come) and `watch` gets
    each tracked frame. The model is held one step at a time, so other sessions' clicks are served
    between steps. The session's "segment" cancel flag stops the run: the frames tracked so far are then
    the result (`SegmentResult.partial`), and `resume=True` continues it where it stopped, as long as the
    clicks and direction are unchanged (else it starts again). `exports` (COCO JSON, DAVIS PNGs zipped, an
    alpha video) are written beside the masks once the run is complete (`export_files`).
    """
    options = options or SegmentOptions()
    with session.lock:
        segment = segment_of(session)
        prompts = copy.deepcopy(segment.prompts)
        earlier = session.segment_result if resume else None
        name = session.video_path.stem if session.video_path is not None else "video"
    if not prompts.prompted_objects():
        raise NotReady("Click on an object first, then propagate.")
    session.running_prompts = prompts

    def show_tracked(tracked: TrackedFrame) -> None:
        # Not under the session lock: this runs while the propagation holds the model, and a click of
        # this session holds that lock while it waits for the model. One attribute set is atomic, and
        # setting it on a segment the session has just replaced is harmless.
        if session.segment is segment:
            segment.mask_dir = tracked.mask_dir
            session.running_tracked = dict.fromkeys(tracked.masks, tracked.tracked)
        if watch is not None:
            watch(tracked)

    with session.job("segment") as folder, _running(session):
        result = segment_video(
            segment.model,
            segment.source,
            prompts,
            folder / "masks",
            preview_path=folder / "preview.mp4",
            zip_path=folder / "masks.zip",
            state_path=folder / STATE_FILE_NAME,
            **asdict(options),
            progress=progress,
            cancel=session.cancel_flag("segment"),
            keep_partial=True,
            resume=earlier,
            watch=show_tracked,
            exports=_export_formats(exports or ExportChoices(), folder, name),
            features=segment.features,
        )
        if result.exported.davis_dir is not None:
            zip_pngs(result.exported.davis_dir, davis_zip_path(result.exported.davis_dir))
    with session.lock:
        if session.segment is segment:
            segment.mask_dir = result.mask_dir
            session.segment_result = result
            session.segment_prompts = prompts
    return result


def _export_formats(choices: ExportChoices, folder: Path, name: str) -> ExportFormats:
    """The engine's `ExportFormats` for `choices`, their files in the job `folder`, named after the video."""
    alpha = choices.alpha_video != "none"
    return ExportFormats(
        coco_path=folder / f"{name}_youtube_vis.json" if choices.coco else None,
        davis_dir=folder / f"{name}_davis" if choices.davis else None,
        alpha_video_path=folder / f"{name}_alpha.{choices.alpha_video}" if alpha else None,
        feather=choices.feather,
        edge=choices.edge,
        edge_band=choices.edge_band,
    )


def davis_zip_path(davis_dir: Path) -> Path:
    """Where the zip of a DAVIS PNG folder goes: beside it, `<folder>.zip`."""
    return davis_dir.with_name(f"{davis_dir.name}.zip")


def export_files(session: BrowserSession) -> list[Path]:
    """The export files of the session's last propagation (COCO JSON, DAVIS zip, alpha video), if any."""
    with session.lock:
        result = session.segment_result
    if result is None:
        return []
    exported = result.exported
    davis = davis_zip_path(exported.davis_dir) if exported.davis_dir is not None else None
    return [path for path in (exported.coco, davis, exported.alpha_video) if path is not None]


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
        return (
            f"**Partial:** {why} with frames {first}–{last} tracked ({len(result.tracked)} of "
            f"{result.run.total if result.run else len(result.tracked)}); *Continue* resumes it."
        )
    return ""


def view_frame(session: BrowserSession, frame: int) -> np.ndarray:
    """`show_frame` for a frame the user chose: a running propagation stops moving the view then."""
    with session.lock:
        session.navigations += 1
        session.viewed_frame = int(frame)
    image = show_frame(session, frame)
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

    def redraw(self, tracked: TrackedFrame | None) -> tuple[np.ndarray, int | None] | None:
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
