"""What each Segment control does for the session that sent the event.

Each handler finds the caller's `BrowserSession` by gradio's `request.session_hash`, calls one
`segment_actions` function and returns what the components show.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import numpy as np

from sam2_gradio import config
from sam2_gradio.app import brush, projects_view, segment_actions
from sam2_gradio.app.edge import progress_line, segment_progress, user_errors
from sam2_gradio.app.frame_slider import frame_range, no_frames
from sam2_gradio.app.live_job import Finished, last_of, stream
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.projects import ProjectLibrary
from sam2_gradio.app.sessions import BrowserSession, SessionStore
from sam2_gradio.app.timeline import TimelineObject, timeline_html
from sam2_gradio.config import option_fields, options_from_values
from sam2_gradio.engine.exports.overlay import color_hex, enlarge
from sam2_gradio.engine.options import ExportChoices, SegmentOptions
from sam2_gradio.engine.tracking.pipeline import SegmentResult
from sam2_gradio.engine.tracking.track_project import FrameTracked
from sam2_gradio.errors import NotReady, UserError
from sam2_gradio.jobs import Progress

if TYPE_CHECKING:
    from sam2_gradio.app.segment_tab import SegmentView


def object_choices(
    obj_ids: Sequence[int],
    selected: int | None = None,
    names: Mapping[int, str] | None = None,
    absent: Collection[int] = (),
) -> tuple[dict, str]:
    """The object selector's update (`selected`, else the last object) and the colour legend's HTML,
    each object labelled with its name when it has one ("Object 2 · dog"); the `absent` objects are
    marked "not on this frame" (greyed, their dot hollow)."""
    labels = object_labels(obj_ids, names)
    value = selected if selected in obj_ids else obj_ids[-1]
    legend = "".join(_legend_entry(obj_id, labels[obj_id], obj_id in absent) for obj_id in obj_ids)
    choices = [(labels[obj_id], obj_id) for obj_id in obj_ids]
    return gr.update(choices=choices, value=value), f'<div class="object-legend">{legend}</div>'


def _legend_entry(obj_id: int, label: str, absent: bool) -> str:
    dot = f'<span class="dot" style="color:{color_hex(obj_id)}">{"○" if absent else "●"}</span>'
    marked = ' class="absent"' if absent else ""
    note = " <em>not on this frame</em>" if absent else ""
    return f'<span{marked} data-object="{obj_id}">{dot} {html.escape(label)}{note}</span>'


def object_labels(obj_ids: Sequence[int], names: Mapping[int, str] | None = None) -> dict[int, str]:
    """Each object's label in the selector, the legend and the timeline: "Object 2", or "Object 2 · dog"
    once it is named."""
    names = names or {}
    return {
        obj_id: f"Object {obj_id}" + (f" · {names[obj_id]}" if obj_id in names else "") for obj_id in obj_ids
    }


def session_timeline(session: BrowserSession, frame: int) -> str:
    """The timeline strip under the frame slider (`timeline.timeline_html`) of the session's objects,
    prompts and latest propagation, its cursor at `frame`; empty without a video."""
    if session.segment is None:
        return ""
    prompted = segment_actions.prompted_frames(session)
    labels = object_labels(segment_actions.object_ids(session), segment_actions.object_names(session))
    objects = [
        TimelineObject(obj_id, label, color_hex(obj_id), prompted.get(obj_id, []))
        for obj_id, label in labels.items()
    ]
    num_frames = segment_actions.segment_of(session).source.meta.num_frames
    return timeline_html(num_frames, objects, segment_actions.tracked_frames(session), int(frame))


def _session_objects(
    session: BrowserSession, selected: int | None = None, frame: int | None = None
) -> tuple[dict, str]:
    """`object_choices` of the session's objects and names, those off `frame` marked (none without one)."""
    absent = segment_actions.absent_objects(session, frame) if frame is not None else ()
    return object_choices(
        segment_actions.object_ids(session), selected, segment_actions.object_names(session), absent
    )


def _session_objects_named(
    session: BrowserSession, selected: int | None = None, frame: int | None = None
) -> tuple[dict, str, str]:
    """`_session_objects` and the name box's value: the selected object's name in the state (empty when
    it has none), so that the controls show the state's values after undo, redo, load or reset."""
    objects, legend = _session_objects(session, selected, frame)
    return objects, legend, segment_actions.object_names(session).get(objects["value"], "")


def finished_line(result: SegmentResult, *, resumed_from: int | None = None) -> str:
    """One sentence on a finished (or cancelled) propagation (`resumed_from`: where Continue resumed)."""
    objects = f"{len(result.obj_ids)} object{'s' if len(result.obj_ids) != 1 else ''}"
    if result.partial:
        first, last = result.tracked.start, result.tracked.stop - 1
        why = "Cancelled" if result.stopped is None else f"Stopped ({result.stopped})"
        return (
            f"{why} with {len(result.tracked)} frames kept: {objects} tracked over frames {first}–{last}, "
            "the result for now; Continue resumes the run."
        )
    resumed = f", continued from frame {resumed_from}" if resumed_from is not None else ""
    return f"Tracked {objects} over {result.frames_tracked} frames at {result.fps:.1f} frames/s{resumed}."


def _result_files(session: BrowserSession, result: SegmentResult) -> tuple[str | None, str | None, str]:
    """The preview, the masks zip and the state file of `result`, as the output components take them
    (served from the session's own folder in gradio's cache, `BrowserSession.serve`)."""
    preview = session.serve(result.preview) if result.preview is not None else None
    masks = session.serve(result.masks_zip) if result.masks_zip is not None else None
    return preview, masks, session.serve(segment_actions.state_file_of(result))


NO_VIDEO_INFO = "Upload a video or pick the example."


@dataclass(frozen=True)
class PropagationChoices:
    """How a propagation runs and which exports it writes, as the Segment tab's controls say."""

    options: SegmentOptions
    exports: ExportChoices

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> PropagationChoices:
        """The choices from values named as the `SegmentOptions` and `ExportChoices` fields (others
        ignored)."""
        return cls(options_from_values(SegmentOptions, values), options_from_values(ExportChoices, values))

    @classmethod
    def from_controls(cls, values: Sequence[Any]) -> PropagationChoices:
        """The choices from the controls' values in the tab's order: the `SegmentOptions` fields, then
        the `ExportChoices` fields."""
        fields = [*option_fields(SegmentOptions), *option_fields(ExportChoices)]
        return cls.from_values(dict(zip((field.name for field, _ in fields), values, strict=True)))


def _shown(session: BrowserSession, image: np.ndarray) -> str:
    """`image` as the frame box shows it: smaller videos enlarged (`segment_actions.shown_scale`), in a
    file of the session's own (`BrowserSession.serve_frame`)."""
    return session.serve_frame(enlarge(image, segment_actions.shown_scale(session)))


class SegmentHandlers:
    """What each Segment control does for the session that sent the event."""

    def __init__(
        self, model: AppModel, sessions: SessionStore, library: ProjectLibrary | None = None
    ) -> None:
        self.model = model  # the shared SAM 2 model (or why there is none)
        self.sessions = sessions  # every browser session's state
        self.library = library  # where uploaded videos' projects are kept (None: in the session's folder)

    def _session(self, request: gr.Request) -> BrowserSession:
        return self.sessions.get(request.session_hash)

    @user_errors
    def open_video(self, video: str | None, request: gr.Request) -> tuple:
        """Open an uploaded video: its summary, first frame, frame range and objects; results, the status
        line and the results note cleared (an error shown on them goes too).

        An emptied box changes nothing here: its x closes the video (`close_video`), and a refused upload
        is taken out of the box (`drop_refused_upload`) with the open video kept. Nor does the video a
        reopened project puts in the box (`segment_actions.shown_video`): that project is open already.
        """
        session = self._session(request)
        if not video or segment_actions.is_shown_video(session, video):  # the box shows the open project
            return (gr.skip(),) * 11
        opened = segment_actions.open_video(session, video, self.model, self.library)
        objects, legend = _session_objects(session, frame=0)
        slider = frame_range(opened.num_frames, value=0)
        image = _shown(session, segment_actions.show_frame(session, 0))
        timeline = session_timeline(session, 0)
        return opened.summary, image, slider, objects, legend, timeline, None, None, None, "", ""

    def remember_project(self, kept: dict | None, request: gr.Request) -> dict:
        """The browser's project ids (`gr.BrowserState`) with the session's project made the current one."""
        session = self._session(request)
        return projects_view.remembered(kept, session.project_id)

    @user_errors
    def restore_project(self, kept: dict | None, request: gr.Request) -> tuple:
        """On page load: reopen the browser's current project as it was left (video, frame, prompts with
        their history, tracked masks, results); nothing when it has none (or it is gone)."""
        project_id = projects_view.current(kept)
        if project_id is None or self.library is None:
            return gr.skip()  # one skip leaves every output as it is
        session = self._session(request)
        try:
            opened, frame = segment_actions.reopen_project(session, self.library, project_id, self.model)
        except NotReady:
            return gr.skip()
        return self._shown_project(session, opened, frame)

    @user_errors
    def open_project(self, project_id: str | None, request: gr.Request) -> tuple:
        """Reopen a project chosen in the Projects list (the same as a reload does for the current one)."""
        if not project_id or self.library is None:
            raise NotReady("Choose a project in the list first.")
        session = self._session(request)
        opened, frame = segment_actions.reopen_project(session, self.library, project_id, self.model)
        return self._shown_project(session, opened, frame)

    def _shown_project(self, session: BrowserSession, opened: Any, frame: int) -> tuple:
        objects, legend = _session_objects(session, frame=frame)
        slider = frame_range(opened.num_frames, value=frame)
        image = _shown(session, segment_actions.show_frame(session, frame))
        result = session.segment_result
        files = _result_files(session, result) if result is not None else (None, None, None)
        info = f"{segment_actions.video_name(session)} · {opened.summary}"
        note = segment_actions.results_note(session)
        video = segment_actions.shown_video(session) or gr.skip()
        return info, image, slider, objects, legend, session_timeline(session, frame), *files, note, video

    def project_list(self, kept: dict | None) -> dict:
        """The Projects list's choices: the browser's projects that still exist, the most recent first."""
        if self.library is None:
            return gr.update(choices=[], value=None)
        return projects_view.choices_update(self.library.entries(projects_view.known(kept)))

    @user_errors
    def delete_project(self, project_id: str | None, kept: dict | None, request: gr.Request) -> dict:
        """Delete the project chosen in the Projects list (not the one open now); the browser forgets it."""
        if not project_id or self.library is None:
            raise NotReady("Choose a project in the list first.")
        if project_id == self._session(request).project_id:
            raise NotReady("That project is open: open or upload another video first, then delete it.")
        self.library.delete(project_id)
        return projects_view.forgotten(kept, project_id)

    def close_video(self, request: gr.Request) -> tuple:
        """The video box's x: close the session's video; frame, clicks, info and results go."""
        return self._close_video(self._session(request))

    def drop_refused_upload(self, video: str | None, request: gr.Request) -> dict:
        """Empty the video box when it shows a file that was refused (the warning said why)."""
        refused = segment_actions.refused_upload(self._session(request), video)
        return gr.update(value=None) if refused else gr.skip()

    def _close_video(self, session: BrowserSession) -> tuple:
        had_clicks = segment_actions.close_video(session)
        if had_clicks:
            gr.Warning("The video was closed and its clicks cleared; Save state first to keep clicks.")
        objects, legend = object_choices([1])
        return NO_VIDEO_INFO, None, no_frames(), objects, legend, "", None, None, None, "", ""

    @user_errors
    def show_frame(self, frame: float, request: gr.Request) -> tuple:
        """Frame `frame` with its masks and clicks, and the timeline with its cursor there."""
        session = self._session(request)
        image = _shown(session, segment_actions.view_frame(session, int(frame)))
        return image, session_timeline(session, int(frame))

    @user_errors
    def previous_frame(self, frame: float, request: gr.Request) -> tuple:
        """Step one frame back."""
        return self._step(frame, -1, request)

    @user_errors
    def next_frame(self, frame: float, request: gr.Request) -> tuple:
        """Step one frame forward."""
        return self._step(frame, 1, request)

    def _step(self, frame: float, delta: int, request: gr.Request) -> tuple:
        session = self._session(request)
        last = segment_actions.segment_of(session).source.meta.num_frames - 1
        frame = min(max(int(frame) + delta, 0), last)
        image = _shown(session, segment_actions.view_frame(session, frame))
        return frame, image, session_timeline(session, frame)

    @user_errors
    def add_click(
        self,
        frame: float,
        obj_id: int | None,
        point_label: str,
        brush_size: float,
        event: gr.SelectData,
        request: gr.Request,
    ) -> tuple:
        """Where the frame was clicked: a positive or negative point, a box corner, or a brush or eraser
        dab, as the prompt type says (`segment_actions.prompt_at`); the frame redrawn and the timeline."""
        session = self._session(request)
        obj_id = obj_id or segment_actions.object_ids(session)[0]
        x, y = segment_actions.video_point(session, *event.index)
        drawn = segment_actions.prompt_at(session, int(frame), int(obj_id), x, y, point_label, brush_size)
        return _shown(session, drawn), session_timeline(session, int(frame))

    @user_errors
    def paint_stroke(
        self,
        stroke: str | None,
        frame: float,
        obj_id: int | None,
        point_label: str,
        brush_size: float,
        request: gr.Request,
    ) -> tuple:
        """A stroke dragged on the frame (`brush.stroke_box`; points in pixels of the frame as shown)
        painted with the brush, or erased with the eraser, as one undo step; the frame redrawn and the
        timeline. Nothing happens for another prompt type or a stroke without points."""
        points = brush.stroke_points(stroke)
        if point_label not in brush.BRUSH_KINDS or not points:
            return gr.skip(), gr.skip()
        session = self._session(request)
        obj_id = obj_id or segment_actions.object_ids(session)[0]
        video_points = [segment_actions.video_point(session, x, y) for x, y in points]
        drawn = segment_actions.stroke(
            session, int(frame), int(obj_id), video_points, brush_size, erase=point_label == "erase"
        )
        return _shown(session, drawn), session_timeline(session, int(frame))

    @user_errors
    def mark_absent(self, frame: float, obj_id: int | None, request: gr.Request) -> tuple:
        """The selected object is not on this frame: SAM 2 gets an empty mask prompt (undoable); the frame
        redrawn and the timeline."""
        session = self._session(request)
        if obj_id is None:
            raise NotReady("Select the object that is not on this frame first.")
        drawn = segment_actions.mark_absent(session, int(frame), int(obj_id))
        return _shown(session, drawn), session_timeline(session, int(frame))

    def brush_setup(self, request: gr.Request) -> tuple:
        """For the video just opened: the brush size it starts with (2% of its shorter side) and the
        brush's scale in the page (`brush.scale_value`); unchanged without a video."""
        session = self._session(request)
        if session.segment is None:
            return gr.skip(), gr.skip()
        radius = segment_actions.default_brush_radius(session)
        return radius, brush.scale_value(segment_actions.shown_scale(session))

    def prompt_hint(self, point_label: str) -> str:
        """The line under the prompt type: what a click on the frame does with it."""
        return segment_actions.PROMPT_HINTS.get(point_label, "")

    @user_errors
    def new_object(self, frame: float, request: gr.Request) -> tuple:
        """Create an object and select it; the selector, the legend and the timeline (cursor at `frame`)."""
        session = self._session(request)
        obj_id = segment_actions.new_object(session)
        return *_session_objects(session, obj_id, int(frame)), session_timeline(session, int(frame))

    @user_errors
    def name_object(self, obj_id: int | None, name: str, frame: float, request: gr.Request) -> tuple:
        """Name the selected object ("dog"; empty: no name): the selector, the legend, the timeline and
        the exports show it (undoable)."""
        session = self._session(request)
        if obj_id is None:
            raise NotReady("Select an object to name first.")
        segment_actions.name_object(session, int(obj_id), name)
        return *_session_objects(session, int(obj_id), int(frame)), session_timeline(session, int(frame))

    def frame_legend(self, frame: float, request: gr.Request) -> str | dict:
        """The colour legend for the frame shown, the objects off it marked
        (`segment_actions.absent_objects`); unchanged without a video."""
        try:
            return _session_objects(self._session(request), frame=int(frame))[1]
        except UserError:  # no video, or a frame the page has not caught up with: the legend stays
            return gr.skip()

    def object_name(self, obj_id: int | None, request: gr.Request) -> str:
        """The name of the selected object, for its name box (empty when it has none)."""
        if obj_id is None or self._session(request).segment is None:
            return ""
        return segment_actions.object_names(self._session(request)).get(int(obj_id), "")

    @user_errors
    def remove_object(self, obj_id: int | None, frame: float, request: gr.Request) -> tuple:
        """Remove the selected object with all its clicks."""
        session = self._session(request)
        if obj_id is None:
            raise NotReady("Select an object to remove first.")
        segment_actions.remove_object(session, int(obj_id))
        objects, legend = _session_objects(session, frame=int(frame))
        image = _shown(session, segment_actions.show_frame(session, int(frame)))
        return image, objects, legend, session_timeline(session, int(frame))

    @user_errors
    def undo(self, frame: float, obj_id: int | None, request: gr.Request) -> tuple:
        """Take back the latest edit (click, clear, object, name, reset, loaded state) and show its frame;
        the controls show the state's values (the selected object's name in its box)."""
        return self._undone(segment_actions.undo, frame, obj_id, request)

    @user_errors
    def redo(self, frame: float, obj_id: int | None, request: gr.Request) -> tuple:
        """Make the latest undone edit again and show its frame."""
        return self._undone(segment_actions.redo, frame, obj_id, request)

    def _undone(self, action: Callable, frame: float, obj_id: int | None, request: gr.Request) -> tuple:
        session = self._session(request)
        shown, image = action(session, int(frame))
        objects, legend, name = _session_objects_named(session, obj_id, shown)
        return shown, _shown(session, image), objects, legend, session_timeline(session, shown), name

    @user_errors
    def clear_frame(self, frame: float, obj_id: int | None, request: gr.Request) -> tuple:
        """Remove the selected object's clicks on this frame; the frame redrawn and the timeline."""
        session = self._session(request)
        obj_id = obj_id or segment_actions.object_ids(session)[0]
        image = _shown(session, segment_actions.clear_frame(session, int(frame), int(obj_id)))
        return image, session_timeline(session, int(frame))

    @user_errors
    def reset(self, frame: float, request: gr.Request) -> tuple:
        """Remove every object, click and result."""
        session = self._session(request)
        segment_actions.reset(session)
        objects, legend, name = _session_objects_named(session, frame=int(frame))
        return (
            _shown(session, segment_actions.show_frame(session, int(frame))),
            objects,
            legend,
            session_timeline(session, int(frame)),
            None,
            None,
            None,
            name,
        )

    @user_errors
    def save_state(self, request: gr.Request) -> str:
        """The clicks as interactive_state.json, for download."""
        session = self._session(request)
        return session.serve(segment_actions.save_state(session))

    @user_errors
    def load_state(self, state_file: str | None, frame: float, request: gr.Request) -> tuple:
        """Replace the clicks with those of an uploaded state JSON."""
        if not state_file:
            return (gr.skip(),) * 5
        session = self._session(request)
        segment_actions.load_state(session, state_file)
        objects, legend, name = _session_objects_named(session, frame=int(frame))
        image = _shown(session, segment_actions.show_frame(session, int(frame)))
        return image, objects, legend, session_timeline(session, int(frame)), name

    @user_errors
    def propagate(
        self,
        video: str | None,
        state_file: str | None = None,
        direction: str = "forward",
        batch_size: float = config.DEFAULT_BATCH_SIZE,
        coco: bool = False,
        davis: bool = False,
        alpha_video: Sequence[str] = (),
        feather: float = config.DEFAULT_FEATHER,
        edge: str = config.DEFAULT_EDGE,
        edge_band: float = config.DEFAULT_EDGE_BAND,
        request: gr.Request = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (gradio finds its progress bar by this default)
    ) -> tuple[str, str, str]:
        """Track the clicked objects through the whole video with SAM 2.

        The video becomes the session's video unless it already is; a state file replaces its clicks.
        Cancelled (/cancel_propagate), the frames tracked so far are the result (a `_partial` zip).
        The exports asked for are then given by /export_files (this endpoint's outputs stay the three).

        Parameters:
            video: the video to segment (mp4, mov, webm, avi).
            state_file: the clicks as interactive_state.json; leave it out to use the clicks made in the page.
            direction: "forward", "backward" or "both", from the prompted frames.
            batch_size: frames decoded and handed to the model at a time.
            coco: also write the masks as a YouTube-VIS style JSON (COCO compressed RLE).
            davis: also write DAVIS indexed PNGs (pixel value = object id), zipped.
            alpha_video: the objects on transparency, one video per format listed: "webm" (VP9), "mov"
                (ProRes 4444).
            feather: soft edge of the alpha video, pixels (0 = hard; edge "hard" only).
            edge: the alpha video's edge: "hard", "refine" (the default) or "matte".
            edge_band: pixels on either side of the mask's edge that refine and matte may change.
        Returns:
            The preview MP4 with the masks drawn, the masks zip (per_object/ and combined/ PNGs, one per
            frame) and the state JSON the run used.
        """
        chosen = PropagationChoices.from_values(locals())  # the API's parameters are the fields
        session = self._session(request)
        if video and Path(video) != session.video_path:
            segment_actions.open_video(session, video, self.model, self.library)
        if state_file:
            segment_actions.load_state(session, state_file)
        result = segment_actions.propagate(
            session, chosen.options, exports=chosen.exports, progress=segment_progress(progress)
        )
        gr.Info(finished_line(result))
        return _result_files(session, result)

    def live_handler(self, view: SegmentView, *, resume: bool) -> Callable[..., Iterator[dict]]:
        """The Propagate button's handler: track the objects, showing each step's masks on the frame as
        they come; with `resume`, the Continue button's: resume a cancelled propagation where it stopped
        (or start again when the prompts changed since). A generator function, as gradio streams it; it
        takes the values of `view`'s option and export controls, in the tab's order."""

        @user_errors
        def propagate_live(
            request: gr.Request,
            progress: gr.Progress = gr.Progress(),  # noqa: B008 (gradio finds its progress bar by this default)
            *controls: Any,
        ) -> Iterator[dict]:
            chosen = PropagationChoices.from_controls(controls)
            yield from self._live(view, chosen, request, progress, resume=resume)

        return propagate_live

    def _live(
        self,
        ui: SegmentView,
        chosen: PropagationChoices,
        request: gr.Request,
        progress: gr.Progress,
        *,
        resume: bool,
    ) -> Iterator[dict]:
        """Yields what changed per redraw and per propagation step (the frame, the slider, the status;
        the timeline at most once a step), then the results, each a dict keyed by component."""
        session = self._session(request)
        view, move_bar = segment_actions.LiveView(session), segment_progress(progress)
        resumed_from: int | None = None  # Continue: the first frame this run tracks
        sent_timeline = ""  # the timeline last sent
        line = "Continuing the propagation…" if resume else "Starting the propagation…"
        yield {ui.status: line}  # no earlier run's text stays
        bursts = stream(
            lambda emit: segment_actions.propagate(
                session, chosen.options, exports=chosen.exports, resume=resume, progress=emit, watch=emit
            )
        )
        try:
            for burst in bursts:
                if resume and resumed_from is None:
                    first = next((event for event in burst if isinstance(event, FrameTracked)), None)
                    resumed_from = first.frame if first is not None else None
                report = last_of(burst, Progress)
                if report is not None:
                    move_bar(report)
                    line = progress_line(report, resumed_from=resumed_from)
                finished = last_of(burst, Finished)
                if finished is not None:
                    view.finished = True
                    yield self._live_results(ui, session, view, finished.value, resumed_from)
                    return
                changed = {}
                shown = view.redraw(last_of(burst, FrameTracked))
                if shown is not None:
                    image, move_to = shown
                    changed[ui.frame] = _shown(session, image)
                    if move_to is not None:
                        changed[ui.slider] = move_to
                if report is not None and report.stage == "tracking":  # a step's frames are tracked
                    drawn = session_timeline(session, view.slider_frame)
                    if drawn != sent_timeline:  # an unchanged timeline is not sent again
                        changed[ui.timeline] = sent_timeline = drawn
                if changed or report is not None:  # every phase's progress, not only the tracking's
                    yield {**changed, ui.status: line}
        finally:
            if not view.finished:
                session.cancel_flag("segment").set()  # the page went away: stop the run, keep what it tracked

    @staticmethod
    def _live_results(
        ui: SegmentView,
        session: BrowserSession,
        view: segment_actions.LiveView,
        result: SegmentResult,
        resumed_from: int | None,
    ) -> dict:
        """What a finished (or cancelled) live propagation shows: its frame, results, status (saying where
        Continue resumed, `resumed_from`) and note."""
        preview, masks, state = _result_files(session, result)
        return {
            ui.frame: _shown(session, segment_actions.show_frame(session, view.frame)),
            ui.preview: preview,
            ui.masks: masks,
            ui.state_file: state,
            ui.status: finished_line(result, resumed_from=resumed_from),
            ui.results_note: segment_actions.results_note(session),
            ui.timeline: session_timeline(session, view.slider_frame),
        }

    @user_errors
    def alpha_sizes(self, formats: Sequence[str] | str | None, request: gr.Request) -> str:
        """About how large the ticked alpha videos will be, said before they are written."""
        chosen = [formats] if isinstance(formats, str) else list(formats or [])
        return segment_actions.alpha_video_sizes(self._session(request), chosen)

    @user_errors
    def write_exports(
        self,
        coco: bool = False,
        davis: bool = False,
        alpha_video: Sequence[str] = (),
        feather: float = config.DEFAULT_FEATHER,
        edge: str = config.DEFAULT_EDGE,
        edge_band: float = config.DEFAULT_EDGE_BAND,
        request: gr.Request = None,
    ) -> list[str] | None:
        """Write the ticked exports of the last propagation from the project's store (no tracking).

        Parameters:
            coco: the masks as a YouTube-VIS style JSON (COCO compressed RLE).
            davis: DAVIS indexed PNGs (pixel value = object id), zipped.
            alpha_video: the objects on transparency, one video per format listed: "webm" (VP9), "mov"
                (ProRes 4444).
            feather: inward feather of the alpha video with edge "hard", pixels.
            edge: "hard", "refine" or "matte": how the alpha video's objects are cut out.
            edge_band: pixels on either side of the mask's edge that refine and matte may change.
        Returns:
            Every export file of the last propagation.
        """
        session = self._session(request)
        chosen = PropagationChoices.from_values(locals())  # the API's parameters are the fields
        files = segment_actions.write_exports_now(session, chosen.exports)
        return [session.serve(path) for path in files] or None

    def export_files(self, request: gr.Request) -> list[str] | None:
        """The export files of this session's last propagation (COCO JSON, DAVIS PNGs zip, alpha video),
        as asked for when it ran; None when there are none."""
        session = self._session(request)
        return [session.serve(path) for path in segment_actions.export_files(session)] or None

    def results_note(self, request: gr.Request) -> str:
        """The note beside the results: partial, or out of date after an edit (empty when neither)."""
        return segment_actions.results_note(self._session(request))

    def cancel(self, request: gr.Request) -> None:
        """Stop this session's propagation at its next frame, or as it starts when it still waits."""
        self._session(request).cancel("segment")

    def request_propagation(self, request: gr.Request) -> None:
        """Note that a propagation was asked for (before it queues), so a Cancel while it waits stops it."""
        self._session(request).request_job("segment")
