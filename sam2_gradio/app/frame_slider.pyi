"""The frame sliders of both tabs (in a module of their own: gradio writes a ``.pyi`` stub beside every
module that defines a component; ``frame_slider.pyi`` is that stub, kept in the repository).

A slider is disabled until its tab has a video, and then runs over that video's frames only."""

from __future__ import annotations

import gradio as gr

from sam2_gradio.app.edge import FRAME_SLIDER_MAX

from gradio.events import Dependency

class FrameSlider(gr.Slider):
    """A frame slider whose maximum is the page's hint, not a check: the handlers check the frame against
    the session's video. (Gradio refuses values over the maximum it last sent a session, which an API call
    that changes the video, such as /propagate, leaves stale.)"""

    is_template = True  # the page draws it as gradio's own slider

    def preprocess(self, payload: float) -> float:
        """The frame as a whole number; values outside 0 to `edge.FRAME_SLIDER_MAX` are refused."""
        if (
            isinstance(payload, bool)
            or not isinstance(payload, (int, float))
            or not 0 <= payload <= FRAME_SLIDER_MAX
        ):
            raise gr.Error(
                f"frame {payload!r} is not a whole number from 0 to {FRAME_SLIDER_MAX}", print_exception=False
            )
        return round(payload)
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component


def frame_slider(label: str, elem_id: str) -> FrameSlider:
    """A tab's frame slider before any video: disabled, over frames 0 to 1 (the handler that shows a
    video enables it over that video's frames, `frame_range`)."""
    return FrameSlider(0, 1, value=0, step=1, label=label, interactive=False, elem_id=elem_id)


def frame_range(num_frames: int, **changes: object) -> dict:
    """The slider's update for a video of `num_frames` frames: enabled, its maximum the last frame (a
    one-frame video's slider runs 0 to 1), with `changes` (such as `value=`) besides."""
    return gr.update(maximum=max(num_frames - 1, 1), interactive=True, **changes)


def no_frames() -> dict:
    """The slider's update once its tab has no video: back at frame 0, disabled."""
    return gr.update(value=0, maximum=1, interactive=False)
