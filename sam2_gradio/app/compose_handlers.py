"""What each Compose control does for the session that sent the event.

Each handler finds the caller's `BrowserSession` by gradio's `request.session_hash`, calls one
`compose_actions` function and returns what the components show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr

from sam2_gradio import config
from sam2_gradio.app import compose_actions, projects_view
from sam2_gradio.app.edge import from_page, keep_outputs_when_cancelled, render_progress, user_errors
from sam2_gradio.app.frame_slider import frame_range, no_frames
from sam2_gradio.app.projects import ProjectLibrary
from sam2_gradio.app.sessions import BrowserSession, SessionStore
from sam2_gradio.compositor.render import ComposeOptions
from sam2_gradio.config import option_fields, options_from_values
from sam2_gradio.errors import MissingInput, NotReady


def _read_controls(controls: Sequence[Any]) -> tuple[compose_actions.ComposeInputs, ComposeOptions, Any]:
    """The three files, the options and the raw ticked objects from the values of `ComposeView.inputs`,
    in order."""
    files, values = controls[:3], controls[3:]
    names = [field.name for field, _ in option_fields(ComposeOptions)]
    named = dict(zip(names, values, strict=True))
    return compose_actions.ComposeInputs(*files), options_from_values(ComposeOptions, named), named["objects"]


CANCELLED = "**Cancelled:** no composite was written; the earlier composite and snapshot were removed."
NONE_TICKED = "No object is ticked, so nothing is pasted: tick the objects to paste."
# The options each placement uses (the others are greyed out while it is chosen).
GEOMETRY_CONTROLS = {
    "pos": ("relocate", "follow"),
    "size": ("relocate",),
    "offset_x": ("relocate", "follow"),
    "offset_y": ("relocate", "follow"),
    "scale": ("follow",),
}


class ComposeHandlers:
    """What each Compose control does for the session that sent the event."""

    def __init__(self, sessions: SessionStore, library: ProjectLibrary | None = None) -> None:
        self.sessions = sessions  # every browser session's state
        self.library = library  # the projects the Compose tab offers (None: the Segment result only)

    def _session(self, request: gr.Request) -> BrowserSession:
        return self.sessions.get(request.session_hash)

    @user_errors
    def use_segment_result(self, request: gr.Request) -> tuple[str, str]:
        """The Segment tab's video and its project's masks zip (written from the store), as the object
        inputs."""
        session = self._session(request)
        if session.segment_result is None or session.project is None:
            raise NotReady("Propagate in the Segment tab first; its video and masks are then used here.")
        files = compose_actions.project_files(session, session.project)
        return files.obj_video, files.masks

    def segment_project(self, kept: dict | None, request: gr.Request) -> dict:
        """The project choice with the Segment tab's project chosen (after `use_segment_result`)."""
        return self._project_choice(kept, self._session(request).project_id)

    def _project_choice(self, kept: dict | None, chosen: str | None) -> dict:
        """The project dropdown's update: the browser's projects with tracked masks, `chosen` chosen
        when it is one of them."""
        entries = (
            compose_actions.project_entries(self.library, projects_view.known(kept)) if self.library else []
        )
        listed = [entry.project_id for entry in entries]
        choices = [(projects_view.entry_label(entry), entry.project_id) for entry in entries]
        return gr.update(choices=choices, value=chosen if chosen in listed else None)

    @user_errors
    def offer_projects(
        self, kept: dict | None, chosen: str | None, obj_video: str | None, masks: str | None,
        request: gr.Request,
    ) -> tuple:  # fmt: skip
        """On opening the tab: the project choices, the object video and masks of the project chosen
        (unless the user uploaded their own), and with neither a note saying what to do first
        (`compose_actions.NOTHING_TO_COMPOSE`). The Segment tab's project is chosen when it changed since
        the tab was last opened (or nothing is chosen), else the user's choice stays."""
        session = self._session(request)
        current, last_offered = session.project_id, session.compose_offered_project
        session.compose_offered_project = current
        if chosen is None and (obj_video or masks):  # the user's own uploads
            return self._project_choice(kept, None), gr.skip(), gr.skip(), gr.skip()
        target = current if current != last_offered or chosen is None else chosen
        choice = self._project_choice(kept, target)
        files = None
        if choice["value"] is not None and self.library is not None:
            shown = masks if target == chosen else None
            files = compose_actions.library_project_files(session, self.library, target, shown)
        if files is None:
            return choice, gr.skip(), gr.skip(), compose_actions.NOTHING_TO_COMPOSE
        return choice, files.obj_video, files.masks, gr.skip()

    @user_errors
    def use_project(self, project_id: str | None, request: gr.Request) -> tuple:
        """The chosen project's video and masks zip (written from its store), as the object inputs."""
        if not project_id or self.library is None:
            return gr.skip(), gr.skip()
        files = compose_actions.library_project_files(self._session(request), self.library, project_id)
        return files.obj_video, files.masks

    @staticmethod
    def forget_project() -> dict:
        """An uploaded object video or masks: the inputs are no project's any more."""
        return gr.update(value=None)

    @user_errors
    def mask_objects(
        self, masks: str | None, project_id: str | None = None, request: gr.Request = None
    ) -> dict:
        """Object checkboxes for a masks zip, shown when it holds several objects; labelled with the
        objects' names when the masks are those of the project `project_id` ("dog (1)")."""
        if not masks:
            return gr.update(choices=[], value=[], visible=False)
        obj_ids = compose_actions.mask_objects(self._session(request), masks)
        names = {}
        if project_id and self.library is not None:
            names = compose_actions.project_names(self.library, project_id, masks)
        choices = compose_actions.object_choices(obj_ids, names)
        return gr.update(choices=choices, value=list(obj_ids), visible=len(obj_ids) > 1)

    @user_errors
    def preview(self, request: gr.Request, frame: float, *controls: Any) -> tuple:
        """Output frame `frame` as the render would make it, the frame range and the placement note.

        `controls` are the values of `ComposeView.inputs`, in order (`request` comes first so that
        gradio can pass them positionally). In the page, several objects none of which is ticked paste
        nothing, and the note says so (an API client's empty list means every object).
        """
        inputs, options, ticked = _read_controls(controls)
        session = self._session(request)
        try:
            checked = compose_actions.check_inputs(session, inputs, options)
            if from_page(request) and not ticked and not compose_actions.ticked_objects(session, inputs, []):
                return gr.skip(), gr.skip(), f"**Note:** {NONE_TICKED}"
            shown = compose_actions.preview(session, checked, int(frame), options)
        except MissingInput as missing:
            return None, no_frames(), str(missing)
        # Only the range: a reply that set the value would pull back a slider the user is still dragging.
        slider = frame_range(shown.num_frames)
        return shown.image, slider, f"**Note:** {shown.note}" if shown.note else ""

    @staticmethod
    def placement_controls(placement: str) -> tuple:
        """Position, size, offsets and scale editable only for the placements that use them."""
        return tuple(gr.update(interactive=placement in users) for users in GEOMETRY_CONTROLS.values())

    @user_errors
    def snapshot(self, request: gr.Request, frame: float, *controls: Any) -> str:
        """Output frame `frame` as a PNG, for download (arguments as for `preview`)."""
        inputs, options, _ = _read_controls(controls)
        session = self._session(request)
        return session.serve(compose_actions.snapshot(session, inputs, int(frame), options))

    @user_errors
    @keep_outputs_when_cancelled(outputs=1)
    def compose(
        self,
        obj_video: str,
        masks: str,
        bg_video: str,
        placement: str = "relocate",
        pos: str = "center",
        size: float = config.DEFAULT_OBJECT_SIZE,
        offset_x: float = 0,
        offset_y: float = 0,
        blend_mode: str = "normal",
        brightness_match: bool = False,
        loop: bool = False,
        feather: float = config.DEFAULT_FEATHER,
        edge: str = config.DEFAULT_EDGE,
        edge_band: float = config.DEFAULT_EDGE_BAND,
        objects: Sequence[int] | None = None,
        scale: float = 1.0,
        mirror: bool = False,
        keyframes: str | None = None,
        start_frame: float = 0,
        trim: str = "",
        holdout_mask: str | None = None,
        shadow: bool = False,
        shadow_angle: float = 60,
        shadow_length: float = 40,
        shadow_blur: float = 6,
        shadow_opacity: float = 0.5,
        color_match: float = 0.0,
        objects_file: str | None = None,
        request: gr.Request = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (gradio finds its progress bar by this default)
    ) -> str:
        """Composite the masked objects of one video into another; the output has the background's size.

        Parameters:
            obj_video: the video the objects are cut from.
            masks: their masks, a zip of per_object/ (or combined/) PNGs as /propagate returns it.
            bg_video: the video they are pasted into (its audio is kept).
            placement: "relocate" (crop, rescale, anchor), "original" (keep each object's position) or
                "follow" (keep the object's own motion from the anchor, scaled by `scale`).
            pos: anchor of "relocate", e.g. "center" or "bottom-left".
            size: longer side of the relocated object, pixels.
            offset_x: pixels right of the anchor (negative: left).
            offset_y: pixels below the anchor (negative: up).
            blend_mode: "normal", "multiply", "screen" or "overlay".
            brightness_match: bring the object's brightness toward the background's around it.
            loop: restart the shorter video so the output lasts as long as the longer one.
            feather: mask edge softening, pixels (edge "hard" only).
            edge: "hard" (the mask), "refine" (edge-aware alpha and edge colours, the default) or "matte"
                (a matting solve, seconds per frame).
            edge_band: pixels on either side of the mask's edge that refine and matte may change.
            objects: object ids to paste (empty: all); API clients call /mask_objects first to use it.
            scale: follow: multiplies the object's own size and motion.
            mirror: flip the object left to right (follow: its motion too).
            keyframes: JSON file of offsets, scale and rotation at output frames (relocate, follow).
            start_frame: background frame at which the object's clip starts.
            trim: object frames "IN:OUT" making its clip (empty: all).
            holdout_mask: zip of mask PNGs of the background video, passing in front of the objects.
            shadow: cast a contact shadow from the object's mask.
            shadow_angle: direction of the shadow, degrees (0: right, 90: up).
            shadow_length: shadow length, percent of the object's height.
            shadow_blur: shadow softness, pixels.
            shadow_opacity: shadow darkness, 0..1.
            color_match: strength of the Lab colour match toward the background, 0..1.
            objects_file: JSON list of objects, back to front, each with its own placement and blend.
        Returns:
            The composited MP4.
        """
        options = options_from_values(ComposeOptions, locals())  # the parameters named as its fields
        inputs = compose_actions.ComposeInputs(obj_video, masks, bg_video)
        session = self._session(request)
        with compose_actions.request_budget():  # the masks, then the options' files: one CPU budget
            if from_page(request) and not objects and not compose_actions.ticked_objects(session, inputs, []):
                raise NotReady(NONE_TICKED)
            checked = compose_actions.check_inputs(session, inputs, options)
        result = compose_actions.render(session, checked, options, progress=render_progress(progress))
        return session.serve(result.path)

    def cancel(self, request: gr.Request) -> tuple[None, None, str]:
        """Stop this session's render at its next frame; the composite and snapshot shown go, and the note
        says so."""
        self._session(request).cancel("compose")
        return None, None, CANCELLED
