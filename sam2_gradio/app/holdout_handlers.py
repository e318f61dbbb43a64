"""What each holdout control of the Compose tab does for the session that sent the event.

Each handler finds the caller's `BrowserSession` by gradio's `request.session_hash`, calls one
`holdout_actions` function and returns what the components show.
"""

from __future__ import annotations

import gradio as gr

from sam2_gradio.app import holdout_actions
from sam2_gradio.app.edge import segment_progress, user_errors
from sam2_gradio.app.frame_slider import frame_range, no_frames
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.sessions import BrowserSession, SessionStore


class HoldoutHandlers:
    """The holdout controls: the background's frame to click on, its slider, the buttons."""

    def __init__(self, model: AppModel, sessions: SessionStore) -> None:
        self.model = model  # the shared SAM 2 model (the Segment tab's)
        self.sessions = sessions  # every browser session's state

    def _holdouts(
        self, bg_video: str | None, request: gr.Request
    ) -> tuple[BrowserSession, holdout_actions.HoldoutClicks]:
        session = self.sessions.get(request.session_hash)
        return session, holdout_actions.holdouts_for(session, self.model, bg_video)

    @user_errors
    def open_background(self, bg_video: str | None, request: gr.Request) -> tuple:
        """The background's first frame to click holdouts on, the slider over its frames, the note."""
        if not bg_video:
            return None, no_frames(), holdout_actions.note(None)
        session, holdouts = self._holdouts(bg_video, request)
        image = session.serve_frame(holdout_actions.show(holdouts, 0))
        slider = frame_range(holdouts.project.meta.num_frames, value=0)
        return image, slider, holdout_actions.note(holdouts)

    @user_errors
    def show_frame(self, bg_video: str | None, frame: float, request: gr.Request) -> str:
        """Background frame `frame` with the holdouts drawn."""
        session, holdouts = self._holdouts(bg_video, request)
        return session.serve_frame(holdout_actions.show(holdouts, int(frame)))

    @user_errors
    def click(
        self, bg_video: str | None, frame: float, kind: str, event: gr.SelectData, request: gr.Request
    ) -> tuple:
        """A positive or negative click on the background frame: the frame redrawn, the note, and the
        output frame that shows this background frame (the preview moves there)."""
        session, holdouts = self._holdouts(bg_video, request)
        drawn = holdout_actions.click(session, holdouts, int(frame), *event.index, kind)
        return session.serve_frame(drawn), holdout_actions.note(holdouts), int(frame)

    @user_errors
    def new_holdout(self, bg_video: str | None, request: gr.Request) -> str:
        """Start another holdout object; the note names it."""
        session, holdouts = self._holdouts(bg_video, request)
        holdout_actions.new_holdout(session, holdouts)
        return holdout_actions.note(holdouts)

    @user_errors
    def clear(self, bg_video: str | None, frame: float, request: gr.Request) -> tuple:
        """Remove every holdout: the frame redrawn and the note."""
        session, holdouts = self._holdouts(bg_video, request)
        holdout_actions.clear(session, holdouts)
        return session.serve_frame(holdout_actions.show(holdouts, int(frame))), holdout_actions.note(holdouts)

    def cancel(self, request: gr.Request) -> None:
        """Stop this session's holdout tracking at its next frame."""
        holdout_actions.cancel(self.sessions.get(request.session_hash))

    @user_errors
    def track(
        self,
        bg_video: str | None,
        frame: float,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (gradio finds its progress bar by this default)
    ) -> tuple:
        """Track the holdouts through the background: the frame redrawn and the note."""
        session, holdouts = self._holdouts(bg_video, request)
        holdout_actions.track(session, holdouts, progress=segment_progress(progress))
        return session.serve_frame(holdout_actions.show(holdouts, int(frame))), holdout_actions.note(holdouts)
