"""The frame sliders of both tabs (in a module of their own: gradio writes a ``.pyi`` stub beside every
module that defines a component; ``frame_slider.pyi`` is that stub, kept in the repository)."""

from __future__ import annotations

import gradio as gr

from sam2_gradio.app.edge import FRAME_SLIDER_MAX


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
