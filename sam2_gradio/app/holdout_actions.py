"""The Compose tab's clicked holdouts, without Gradio: objects of the background video, clicked and tracked
with the Segment tab's engine, that pass in front of every pasted object.

The background gets a project of its own in the session's folder (`engine.store.Project`): the clicks
are its prompts (`InteractiveSession`, the same one-frame SAM 2 prediction as the Segment tab's) and
`track_project` propagates them into its store, from which the composite reads the masks back
(`compositor.holdouts.FrameMasks` over `Project.frame_masks`). The preview also shows a clicked frame's
live masks before any tracking; a render tracks the holdouts first when their masks are not current.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sam2_gradio import config
from sam2_gradio.app.sessions import BrowserSession, check_video_upload
from sam2_gradio.compositor.holdouts import FrameMasks, HoldoutMasks, united
from sam2_gradio.engine.exports.overlay import display_factor, enlarge
from sam2_gradio.engine.model.predictor import PredictorLender
from sam2_gradio.engine.store.project import Project
from sam2_gradio.engine.tracking.interactive import InteractiveSession
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.engine.tracking.track_project import TrackingResult, track_project
from sam2_gradio.errors import BadInput, MissingInput, NotReady
from sam2_gradio.jobs import CancelFlag, ProgressCallback, with_stage

HOLDOUT_KINDS = ("positive", "negative")  # what a click on the background frame gives
NO_BACKGROUND = "Upload a background video first; holdouts are clicked on its frames."


@dataclass
class HoldoutClicks:
    """The holdouts clicked on one background video."""

    background: Path  # the background video (resolved)
    project: Project  # its own project: the clicks as prompts, the tracked masks
    clicks: InteractiveSession  # its frames, the clicks and their live masks (the Segment tab's engine)
    obj_id: int  # the holdout object that clicks go to

    @property
    def shown_scale(self) -> int:
        """The factor the background's frames are shown enlarged by (`config.MIN_SHOWN_SIDE`), as in the
        Segment tab."""
        meta = self.project.meta
        return display_factor(meta.width, meta.height, config.MIN_SHOWN_SIDE)

    def video_point(self, x: float, y: float) -> tuple[float, float]:
        """The background pixel under pixel (x, y) of the frame as shown."""
        scale = self.shown_scale
        return max(0.0, (x + 0.5) / scale - 0.5), max(0.0, (y + 0.5) / scale - 0.5)

    @property
    def clicked(self) -> bool:
        """Whether any holdout has a click."""
        return bool(self.clicks.prompts.prompted_objects())


def holdouts_for(
    session: BrowserSession, model: PredictorLender, background: str | Path | None
) -> HoldoutClicks:
    """The session's holdouts on `background`: kept while the background stays, else a fresh project of
    it in the session's folder (the old one's clicks are dropped with it)."""
    if not background:
        raise MissingInput(NO_BACKGROUND)
    path = Path(background).resolve()
    with session.lock:
        kept = session.holdouts
        if kept is not None and kept.background == path:
            return kept
    check_video_upload(path, "background video")
    project = Project.create(session.folder / f"holdouts-{uuid.uuid4().hex[:12]}", path)
    clicks = InteractiveSession(model, project.frames(), PromptState(video=project.meta))
    holdouts = HoldoutClicks(path, project, clicks, clicks.new_object())
    with session.lock:
        session.holdouts = holdouts
    return holdouts


def session_holdouts(session: BrowserSession, background: str | Path | None) -> HoldoutClicks | None:
    """The session's clicked holdouts on `background`, or None when it has none there."""
    holdouts = session.holdouts
    if holdouts is None or not background or holdouts.background != Path(background).resolve():
        return None
    return holdouts if holdouts.clicked else None


def show(holdouts: HoldoutClicks, frame: int) -> np.ndarray:
    """Background frame `frame` with the holdouts' masks and clicks drawn, as shown (RGB uint8, enlarged
    by `HoldoutClicks.shown_scale`)."""
    return enlarge(holdouts.clicks.render(_checked_frame(holdouts, frame)), holdouts.shown_scale)


def click(
    session: BrowserSession, holdouts: HoldoutClicks, frame: int, x: float, y: float, kind: str
) -> np.ndarray:
    """A positive or negative click (`kind`) for the current holdout at pixel (x, y) of background
    frame `frame` as shown; SAM 2 predicts its mask there. Returns the frame redrawn, as shown."""
    if kind not in HOLDOUT_KINDS:
        raise BadInput(f"holdout click type {kind!r} is not one of {', '.join(HOLDOUT_KINDS)}")
    x, y = holdouts.video_point(x, y)
    with session.lock:
        frame = _checked_frame(holdouts, frame)
        masks = holdouts.clicks.click(frame, holdouts.obj_id, x, y, positive=kind == "positive")
        holdouts.project.save_prompts(holdouts.clicks.prompts)
        return enlarge(holdouts.clicks.render(frame, masks), holdouts.shown_scale)


def new_holdout(session: BrowserSession, holdouts: HoldoutClicks) -> int:
    """Start another holdout object (the next clicks go to it); returns its id."""
    with session.lock:
        holdouts.obj_id = holdouts.clicks.new_object()
        holdouts.project.save_prompts(holdouts.clicks.prompts)
        return holdouts.obj_id


def clear(session: BrowserSession, holdouts: HoldoutClicks) -> None:
    """Remove every holdout with its clicks and tracked masks."""
    with session.lock:
        holdouts.clicks.reset()
        holdouts.obj_id = holdouts.clicks.new_object()
        holdouts.project.save_prompts(holdouts.clicks.prompts)


def track(
    session: BrowserSession, holdouts: HoldoutClicks, *, progress: ProgressCallback | None = None
) -> TrackingResult:
    """Propagate the holdouts' clicks through the whole background into its project (nothing to do when
    its masks are current), as a job of its own that the session's "holdouts" cancel flag stops."""
    if not holdouts.clicked:
        raise NotReady("Click a holdout on the background first.")
    with session.job("holdouts"):
        return _track(session, holdouts, session.cancel_flag("holdouts"), progress)


def _track(
    session: BrowserSession, holdouts: HoldoutClicks, cancel: CancelFlag, progress: ProgressCallback | None
) -> TrackingResult:
    result = track_project(
        holdouts.clicks.model, holdouts.project, progress=progress, cancel=cancel,
        features=holdouts.clicks.features, preview=False,
    )  # fmt: skip
    with session.lock:
        holdouts.clicks.tracked_masks = holdouts.project.frame_masks
    return result


def preview_holdouts(
    session: BrowserSession, background: str | Path, given: HoldoutMasks | None
) -> HoldoutMasks | None:
    """The holdouts a preview of `background` shows: the clicked ones (their tracked masks, with the live
    ones of clicked frames) and the `given` ones (the masks of `options.holdout_mask`, already read)."""
    holdouts = session_holdouts(session, background)
    clicked = None
    if holdouts is not None:

        def masks_of(frame: int) -> dict[int, np.ndarray]:
            with session.lock:
                return holdouts.clicks.masks_on(frame)

        clicked = FrameMasks(masks_of)
    return united(clicked, given)


def cancel(session: BrowserSession) -> None:
    """Stop the session's holdout tracking at its next frame."""
    session.cancel("holdouts")


def render_holdouts(
    session: BrowserSession,
    background: str | Path,
    given: HoldoutMasks | None,
    *,
    progress: ProgressCallback | None = None,
) -> HoldoutMasks | None:
    """The holdouts a render over `background` uses: the clicked ones read back from the background's
    project (tracked first when their masks are not current, in the render's job: its "compose" cancel
    flag stops that too, and `progress` gets the tracking's frames) and the `given` ones (the masks of
    `options.holdout_mask`, already read)."""
    holdouts = session_holdouts(session, background)
    clicked = None
    if holdouts is not None:
        _track(session, holdouts, session.cancel_flag("compose"), with_stage(progress, "holdouts"))
        clicked = FrameMasks(holdouts.project.frame_masks)
    return united(clicked, given)


def note(holdouts: HoldoutClicks | None) -> str:
    """One line on the holdouts: which one clicks go to, and whether their masks are tracked."""
    if holdouts is None:
        return "Click an object of the background to keep it in front of the pasted objects."
    tracked = holdouts.project.is_current()
    state = "tracked through the background" if tracked else "shown where clicked; tracked when you render"
    if not holdouts.clicked:
        state = "none clicked yet"
    return f"Clicks go to holdout {holdouts.obj_id} · {state}."


def _checked_frame(holdouts: HoldoutClicks, frame: int) -> int:
    total = holdouts.project.meta.num_frames
    frame = int(frame)
    if not 0 <= frame < total:
        raise BadInput(f"frame {frame} is outside the background (0 to {total - 1})")
    return frame
