"""The Gradio app: a Segment tab (click objects, track them with SAM 2) and a Compose tab (paste them
into another video), wired to `segment_actions` and `compose_actions`.

This module only builds components and wires events. Each handler finds the caller's `BrowserSession`
by gradio's `request.session_hash`, calls one library action and returns what the components show;
library errors become a one-sentence `gr.Error` in `user_errors`. Events that run SAM 2 share one
queue slot ("gpu", limit 1) and run under `spaces.GPU` on Hugging Face ZeroGPU; renders and previews
have their own slots (`config.COMPOSE_CONCURRENCY`, `config.PREVIEW_CONCURRENCY`).

Named API endpoints (gradio_client): `/propagate` (video + state JSON -> preview, masks zip, state) and
`/compose` (object video + masks zip + background -> composite), plus one per control.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from sam2_gradio import config
from sam2_gradio.app import assets as ui_assets
from sam2_gradio.app import compose_actions, segment_actions
from sam2_gradio.app.model_holder import AppModel
from sam2_gradio.app.sessions import BrowserSession, SessionStore
from sam2_gradio.compositor.blend import BLEND_MODES
from sam2_gradio.compositor.placement import ANCHORS, PLACEMENTS
from sam2_gradio.compositor.render import ComposeOptions, RenderProgress
from sam2_gradio.engine.checkpoints import add_model_arguments
from sam2_gradio.engine.overlay import color_hex
from sam2_gradio.jobs import Cancelled, NotReady, Progress, ProgressCallback, UserError

logger = logging.getLogger(__name__)

# Queue slots: SAM 2 runs one job at a time; renders and quick previews run beside it.
GPU_QUEUE = {"concurrency_id": "gpu", "concurrency_limit": 1}
COMPOSE_QUEUE = {"concurrency_id": "compose", "concurrency_limit": config.COMPOSE_CONCURRENCY}
PREVIEW_QUEUE = {"concurrency_id": "preview", "concurrency_limit": config.PREVIEW_CONCURRENCY}
POINT_LABELS = ("positive", "negative")
FILE_HEIGHT = 110  # pixels of an empty file box
EXAMPLE_VIDEO = config.EXAMPLES_DIR / "toy_car.mp4"
EXAMPLE_BACKGROUND = config.EXAMPLES_DIR / "background.mp4"


# --- the UI edge: errors, progress, ZeroGPU ---------------------------------------------------------
INTERNAL_ERROR = "An internal error happened; the server log has the details."


def user_errors(handler: Callable) -> Callable:
    """Wrap a handler so exceptions reach the user as one sentence, never as a traceback.

    A `jobs.UserError` (`UploadRejected`, `PromptStateError`, `NoVideo`, `ModelUnavailable`, ...) or a
    `Cancelled` job becomes a `gr.Error` of its message; the session is left as the library left it
    (unchanged, for a bad input). Anything else is a bug or a failure of the machine: its traceback goes
    to the log and the user reads `INTERNAL_ERROR`.
    """

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except gr.Error:
            raise
        except (UserError, Cancelled) as error:
            logger.warning("%s: %s", handler.__name__, error, exc_info=logger.isEnabledFor(logging.DEBUG))
            raise gr.Error(_sentence(error), print_exception=False) from None
        except Exception:
            logger.exception("%s failed", handler.__name__)
            raise gr.Error(INTERNAL_ERROR, print_exception=False) from None

    return wrapper


def keep_outputs_when_cancelled(outputs: int) -> Callable[[Callable], Callable]:
    """Wrap a job's handler so that `jobs.Cancelled` shows a warning and leaves its `outputs` as they were."""

    def decorate(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            except Cancelled as cancelled:
                gr.Warning(_sentence(cancelled))
                return gr.skip() if outputs == 1 else (gr.skip(),) * outputs

        return wrapper

    return decorate


def _sentence(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def on_gpu(handler: Callable) -> Callable:
    """`handler` under `spaces.GPU` when the `spaces` package is importable (Hugging Face ZeroGPU)."""
    try:
        import spaces
    except ImportError:
        return handler
    return spaces.GPU(duration=config.SPACES_GPU_SECONDS)(handler)


def segment_progress(progress: gr.Progress) -> ProgressCallback:
    """A `jobs.ProgressCallback` that moves a gradio progress bar and shows frames per second."""

    def report(update: Progress) -> None:
        stage = update.stage or "working"
        progress(
            (update.frames_done, update.total), desc=f"{stage} · {update.fps:.1f} frames/s", unit="frames"
        )

    return report


def render_progress(progress: gr.Progress) -> RenderProgress:
    """A `compositor.RenderProgress` that moves a gradio progress bar and shows frames per second."""

    def report(frames_done: int, total: int, fps: float) -> None:
        progress((frames_done, total), desc=f"render · {fps:.1f} frames/s", unit="frames")

    return report


def object_choices(obj_ids: Sequence[int], selected: int | None = None) -> tuple[dict, str]:
    """The object selector's update (`selected`, else the last object) and the colour legend's HTML."""
    value = selected if selected in obj_ids else obj_ids[-1]
    legend = "".join(
        f'<span><span class="dot" style="color:{color_hex(obj_id)}">●</span> Object {obj_id}</span>'
        for obj_id in obj_ids
    )
    choices = [(f"Object {obj_id}", obj_id) for obj_id in obj_ids]
    return gr.update(choices=choices, value=value), f'<div class="object-legend">{legend}</div>'


# --- Segment tab ------------------------------------------------------------------------------------
class SegmentHandlers:
    """What each Segment control does for the session that sent the event."""

    def __init__(self, model: AppModel, sessions: SessionStore) -> None:
        self.model = model  # the shared SAM 2 model (or why there is none)
        self.sessions = sessions  # every browser session's state

    def _session(self, request: gr.Request) -> BrowserSession:
        return self.sessions.get(request.session_hash)

    @user_errors
    def open_video(self, video: str | None, request: gr.Request) -> tuple:
        """Open an uploaded video: its summary, first frame, frame range and objects; results cleared."""
        if not video:
            return (gr.skip(),) * 8
        session = self._session(request)
        opened = segment_actions.open_video(session, video, self.model)
        objects, legend = object_choices(segment_actions.object_ids(session))
        slider = gr.update(value=0, maximum=max(opened.num_frames - 1, 1))
        image = segment_actions.show_frame(session, 0)
        return opened.summary, image, slider, objects, legend, None, None, None

    @user_errors
    def show_frame(self, frame: float, request: gr.Request) -> Any:
        """Frame `frame` with its masks and clicks."""
        return segment_actions.show_frame(self._session(request), int(frame))

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
        return frame, segment_actions.show_frame(session, frame)

    @user_errors
    def add_click(
        self, frame: float, obj_id: int | None, point_label: str, event: gr.SelectData, request: gr.Request
    ) -> Any:
        """Add a positive or negative click where the frame was clicked."""
        session = self._session(request)
        obj_id = obj_id or segment_actions.object_ids(session)[0]
        x, y = event.index
        positive = point_label != "negative"
        return segment_actions.add_click(session, int(frame), int(obj_id), x, y, positive=positive)

    @user_errors
    def new_object(self, request: gr.Request) -> tuple:
        """Create an object and select it."""
        session = self._session(request)
        obj_id = segment_actions.new_object(session)
        return object_choices(segment_actions.object_ids(session), obj_id)

    @user_errors
    def remove_object(self, obj_id: int | None, frame: float, request: gr.Request) -> tuple:
        """Remove the selected object with all its clicks."""
        session = self._session(request)
        if obj_id is None:
            raise NotReady("Select an object to remove first.")
        segment_actions.remove_object(session, int(obj_id))
        objects, legend = object_choices(segment_actions.object_ids(session))
        return segment_actions.show_frame(session, int(frame)), objects, legend

    @user_errors
    def undo(self, frame: float, request: gr.Request) -> tuple:
        """Undo the last click and show the frame it was on."""
        return segment_actions.undo_click(self._session(request), int(frame))

    @user_errors
    def clear_frame(self, frame: float, obj_id: int | None, request: gr.Request) -> Any:
        """Remove the selected object's clicks on this frame."""
        session = self._session(request)
        obj_id = obj_id or segment_actions.object_ids(session)[0]
        return segment_actions.clear_frame(session, int(frame), int(obj_id))

    @user_errors
    def reset(self, frame: float, request: gr.Request) -> tuple:
        """Remove every object, click and result."""
        session = self._session(request)
        segment_actions.reset(session)
        objects, legend = object_choices(segment_actions.object_ids(session))
        return segment_actions.show_frame(session, int(frame)), objects, legend, None, None

    @user_errors
    def save_state(self, request: gr.Request) -> str:
        """The clicks as interactive_state.json, for download."""
        return str(segment_actions.save_state(self._session(request)))

    @user_errors
    def load_state(self, state_file: str | None, frame: float, request: gr.Request) -> tuple:
        """Replace the clicks with those of an uploaded state JSON."""
        if not state_file:
            return (gr.skip(),) * 3
        session = self._session(request)
        segment_actions.load_state(session, state_file)
        objects, legend = object_choices(segment_actions.object_ids(session))
        return segment_actions.show_frame(session, int(frame)), objects, legend

    @user_errors
    @keep_outputs_when_cancelled(outputs=3)
    def propagate(
        self,
        video: str | None,
        state_file: str | None = None,
        direction: str = "forward",
        batch_size: float = config.DEFAULT_BATCH_SIZE,
        request: gr.Request = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (gradio finds its progress bar by this default)
    ) -> tuple[str, str, str]:
        """Track the clicked objects through the whole video with SAM 2.

        The video becomes the session's video unless it already is; a state file replaces its clicks.

        Parameters:
            video: the video to segment (mp4, mov, webm, avi).
            state_file: the clicks as interactive_state.json; leave it out to use the clicks made in the page.
            direction: "forward", "backward" or "both", from the prompted frames.
            batch_size: frames decoded and handed to the model at a time.
        Returns:
            The preview MP4 with the masks drawn, the masks zip (per_object/ and combined/ PNGs, one per
            frame) and the state JSON the run used.
        """
        session = self._session(request)
        if video and Path(video) != session.video_path:
            segment_actions.open_video(session, video, self.model)
        if state_file:
            segment_actions.load_state(session, state_file)
        result = segment_actions.propagate(
            session, direction=direction, batch_size=int(batch_size), progress=segment_progress(progress)
        )
        tracked = f"Tracked {len(result.obj_ids)} object(s) over {result.frames_tracked} frames"
        gr.Info(f"{tracked} at {result.fps:.1f} frames/s.")
        return str(result.preview), str(result.masks_zip), str(segment_actions.state_file_of(result))

    def cancel(self, request: gr.Request) -> None:
        """Stop this session's propagation at its next frame."""
        self._session(request).cancel_flag("segment").set()


@dataclass(frozen=True)
class SegmentView:
    """The Segment tab's components."""

    video: gr.Video  # the video being segmented
    info: gr.Markdown  # its frames, fps, size and duration
    direction: gr.Radio
    batch_size: gr.Slider
    propagate: gr.Button
    cancel: gr.Button
    preview: gr.Video  # results of the last propagation
    masks: gr.File
    state_file: gr.File  # saved clicks, or the clicks of the last propagation
    api_state: gr.File  # hidden: the state JSON an API client gives /propagate
    frame: gr.Image  # the shown frame; a click on it adds a point
    slider: gr.Slider
    previous: gr.Button
    next: gr.Button
    point_label: gr.Radio
    objects: gr.Radio
    legend: gr.HTML  # each object's colour
    new_object: gr.Button
    remove_object: gr.Button
    undo: gr.Button
    clear: gr.Button
    reset: gr.Button
    save_state: gr.Button
    load_state: gr.UploadButton


def build_segment_tab(handlers: SegmentHandlers) -> None:
    """The Segment tab's components and events."""
    gr.Markdown(handlers.model.status, elem_id="seg-model-status")
    with gr.Row():
        with gr.Column(scale=1):
            source = _segment_source_column()
        with gr.Column(scale=2):
            editor = _segment_frame_column()
    _wire_segment_events(handlers, SegmentView(**source, **editor))


def _segment_source_column() -> dict[str, gr.components.Component]:
    video = gr.Video(label="Video", sources=["upload"], elem_id="seg-video")
    gr.Examples([[str(EXAMPLE_VIDEO)]], inputs=[video], label="Example")
    info = gr.Markdown("Upload a video or pick the example.", elem_id="seg-info")
    with gr.Accordion("Advanced", open=False):
        directions = list(segment_actions.DIRECTIONS)
        direction = gr.Radio(directions, value="forward", label="Direction", elem_id="seg-direction")
        batch_size = gr.Slider(
            1,
            128,
            value=config.DEFAULT_BATCH_SIZE,
            step=1,
            label="Batch size (frames)",
            elem_id="seg-batch-size",
        )
    with gr.Row():
        propagate = gr.Button("Propagate", variant="primary", elem_id="seg-propagate")
        cancel = gr.Button("Cancel", variant="stop", elem_id="seg-cancel")
    preview = gr.Video(label="Preview", interactive=False, elem_id="seg-preview")
    masks = gr.File(label="Masks (zip)", interactive=False, height=FILE_HEIGHT, elem_id="seg-masks")
    state_file = gr.File(
        label="State (JSON)", interactive=False, height=FILE_HEIGHT, elem_id="seg-state-file"
    )
    api_state = gr.File(label="State JSON for API clients", file_types=[".json"], visible="hidden")
    return dict(
        video=video, info=info, direction=direction, batch_size=batch_size, propagate=propagate,
        cancel=cancel, preview=preview, masks=masks, state_file=state_file, api_state=api_state,
    )  # fmt: skip


def _segment_frame_column() -> dict[str, gr.components.Component]:
    frame = gr.Image(
        label="Frame: click to add a point",
        type="numpy",
        format="jpeg",
        interactive=False,
        elem_id="seg-frame",
    )
    with gr.Row():
        previous = gr.Button("◀ Previous", size="sm", scale=0, elem_id="seg-prev")
        slider = gr.Slider(0, 1, value=0, step=1, label="Frame", scale=4, elem_id="seg-frame-slider")
        next_frame = gr.Button("Next ▶", size="sm", scale=0, elem_id="seg-next")
    with gr.Row():
        point_label = gr.Radio(list(POINT_LABELS), value="positive", label="Point", elem_id="seg-point-label")
        objects = gr.Radio([("Object 1", 1)], value=1, label="Object", elem_id="seg-object")
    legend = gr.HTML(js_on_load=None, elem_id="seg-legend")
    with gr.Row():
        new_object = gr.Button("New object", elem_id="seg-new-object")
        remove_object = gr.Button("Remove object", elem_id="seg-remove-object")
        undo = gr.Button("Undo", elem_id="seg-undo")
        clear = gr.Button("Clear frame", elem_id="seg-clear")
        reset = gr.Button("Reset", elem_id="seg-reset")
    with gr.Row():
        save_state = gr.Button("Save state", elem_id="seg-save-state")
        load_state = gr.UploadButton("Load state", file_types=[".json"], elem_id="seg-load-state")
    gr.Markdown(ui_assets.SHORTCUTS_HELP)
    return dict(
        frame=frame, slider=slider, previous=previous, next=next_frame, point_label=point_label,
        objects=objects, legend=legend, new_object=new_object, remove_object=remove_object, undo=undo,
        clear=clear, reset=reset, save_state=save_state, load_state=load_state,
    )  # fmt: skip


def _wire_segment_events(handlers: SegmentHandlers, ui: SegmentView) -> None:
    opened = [ui.info, ui.frame, ui.slider, ui.objects, ui.legend, ui.preview, ui.masks, ui.state_file]
    ui.video.change(handlers.open_video, [ui.video], opened, api_name="open_video", **PREVIEW_QUEUE)
    ui.slider.input(handlers.show_frame, [ui.slider], [ui.frame], api_name="show_frame", **PREVIEW_QUEUE)
    stepped = [ui.slider, ui.frame]
    ui.previous.click(
        handlers.previous_frame, [ui.slider], stepped, api_name="previous_frame", **PREVIEW_QUEUE
    )
    ui.next.click(handlers.next_frame, [ui.slider], stepped, api_name="next_frame", **PREVIEW_QUEUE)
    ui.frame.select(  # needs the click's position (gr.SelectData): API clients give /propagate a state file
        on_gpu(handlers.add_click),
        [ui.slider, ui.objects, ui.point_label],
        [ui.frame],
        api_name="add_click",
        api_visibility="undocumented",
        **GPU_QUEUE,
    )
    listed = [ui.objects, ui.legend]
    ui.new_object.click(handlers.new_object, None, listed, api_name="new_object", **PREVIEW_QUEUE)
    ui.remove_object.click(
        on_gpu(handlers.remove_object),
        [ui.objects, ui.slider],
        [ui.frame, *listed],
        api_name="remove_object",
        **GPU_QUEUE,
    )
    ui.undo.click(on_gpu(handlers.undo), [ui.slider], stepped, api_name="undo", **GPU_QUEUE)
    ui.clear.click(
        on_gpu(handlers.clear_frame), [ui.slider, ui.objects], [ui.frame], api_name="clear_frame", **GPU_QUEUE
    )
    cleared = [ui.frame, *listed, ui.preview, ui.masks]
    ui.reset.click(handlers.reset, [ui.slider], cleared, api_name="reset", **PREVIEW_QUEUE)
    ui.save_state.click(handlers.save_state, None, [ui.state_file], api_name="save_state", **PREVIEW_QUEUE)
    ui.load_state.upload(
        on_gpu(handlers.load_state),
        [ui.load_state, ui.slider],
        [ui.frame, *listed],
        api_name="load_state",
        **GPU_QUEUE,
    )
    ui.propagate.click(
        on_gpu(handlers.propagate),
        [ui.video, ui.api_state, ui.direction, ui.batch_size],
        [ui.preview, ui.masks, ui.state_file],
        api_name="propagate",
        **GPU_QUEUE,
    ).success(handlers.show_frame, [ui.slider], [ui.frame], api_visibility="private", **PREVIEW_QUEUE)
    ui.cancel.click(handlers.cancel, None, None, api_name="cancel_propagate", queue=False)


# --- Compose tab ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ComposeControls:
    """The Compose inputs, in the order of `/compose`'s parameters."""

    obj_video: gr.Video
    masks: gr.File
    bg_video: gr.Video
    placement: gr.Dropdown
    pos: gr.Dropdown
    size: gr.Slider
    offset_x: gr.Slider
    offset_y: gr.Slider
    blend_mode: gr.Dropdown
    brightness_match: gr.Checkbox
    loop: gr.Checkbox
    feather: gr.Slider
    objects: gr.CheckboxGroup

    @property
    def inputs(self) -> list[gr.components.Component]:
        """Every control, as the handlers take them."""
        return [getattr(self, name) for name in self.__dataclass_fields__]


def _inputs_and_options(
    obj_video: str | None,
    masks: str | None,
    bg_video: str | None,
    placement: str,
    pos: str,
    size: float,
    offset_x: float,
    offset_y: float,
    blend_mode: str,
    brightness_match: bool,
    loop: bool,
    feather: float,
    objects: Sequence[int] | None,
) -> tuple[compose_actions.ComposeInputs, ComposeOptions]:
    inputs = compose_actions.ComposeInputs(obj_video, masks, bg_video)
    options = compose_actions.make_options(
        placement=placement,
        pos=pos,
        size=size,
        offset_x=offset_x,
        offset_y=offset_y,
        blend_mode=blend_mode,
        brightness_match=brightness_match,
        loop=loop,
        feather=feather,
        objects=objects,
    )
    return inputs, options


class ComposeHandlers:
    """What each Compose control does for the session that sent the event."""

    def __init__(self, sessions: SessionStore) -> None:
        self.sessions = sessions  # every browser session's state

    def _session(self, request: gr.Request) -> BrowserSession:
        return self.sessions.get(request.session_hash)

    @user_errors
    def use_segment_result(self, request: gr.Request) -> tuple[str, str]:
        """The Segment tab's video and its last propagation's masks zip, as the object inputs."""
        session = self._session(request)
        result = session.segment_result
        if result is None or result.masks_zip is None or session.video_path is None:
            raise NotReady("Propagate in the Segment tab first; its video and masks are then used here.")
        return str(session.video_path), str(result.masks_zip)

    @user_errors
    def mask_objects(self, masks: str | None, request: gr.Request) -> dict:
        """Object checkboxes for a masks zip, shown when it holds several objects."""
        if not masks:
            return gr.update(choices=[], value=[], visible=False)
        obj_ids = compose_actions.mask_objects(self._session(request), masks)
        choices = [(f"Object {obj_id}", obj_id) for obj_id in obj_ids]
        return gr.update(choices=choices, value=list(obj_ids), visible=len(obj_ids) > 1)

    @user_errors
    def preview(self, request: gr.Request, frame: float, *controls: Any) -> tuple:
        """Output frame `frame` as the render would make it, the frame range and the placement note.

        `controls` are the values of `ComposeControls.inputs`, in order (`request` comes first so that
        gradio can pass them positionally).
        """
        inputs, options = _inputs_and_options(*controls)
        try:
            shown = compose_actions.preview(self._session(request), inputs, int(frame), options)
        except compose_actions.MissingInput as missing:
            return None, gr.skip(), str(missing)
        last = shown.num_frames - 1
        slider = gr.update(maximum=max(last, 1), value=min(int(frame), last))
        return shown.image, slider, f"**Note:** {shown.note}" if shown.note else ""

    @user_errors
    def snapshot(self, request: gr.Request, frame: float, *controls: Any) -> str:
        """Output frame `frame` as a PNG, for download (arguments as for `preview`)."""
        inputs, options = _inputs_and_options(*controls)
        return str(compose_actions.snapshot(self._session(request), inputs, int(frame), options))

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
        objects: Sequence[int] | None = None,
        request: gr.Request = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (gradio finds its progress bar by this default)
    ) -> str:
        """Composite the masked objects of one video into another; the output has the background's size.

        Parameters:
            obj_video: the video the objects are cut from.
            masks: their masks, a zip of per_object/ (or combined/) PNGs as /propagate returns it.
            bg_video: the video they are pasted into (its audio is kept).
            placement: "relocate" (crop, rescale, anchor) or "original" (keep each object's position).
            pos: anchor of "relocate", e.g. "center" or "bottom-left".
            size: longer side of the relocated object, pixels.
            offset_x: pixels right of the anchor (negative: left).
            offset_y: pixels below the anchor (negative: up).
            blend_mode: "normal", "multiply", "screen" or "overlay".
            brightness_match: bring the object's brightness toward the background's around it.
            loop: restart the shorter video so the output lasts as long as the longer one.
            feather: mask edge softening, pixels.
            objects: object ids to paste (empty: all); API clients call /mask_objects first to use it.
        Returns:
            The composited MP4.
        """
        inputs, options = _inputs_and_options(
            obj_video, masks, bg_video, placement, pos, size, offset_x, offset_y,
            blend_mode, brightness_match, loop, feather, objects,
        )  # fmt: skip
        session = self._session(request)
        result = compose_actions.render(session, inputs, options, progress=render_progress(progress))
        return str(result.path)

    def cancel(self, request: gr.Request) -> None:
        """Stop this session's render at its next frame."""
        self._session(request).cancel_flag("compose").set()


@dataclass(frozen=True)
class ComposeView:
    """The Compose tab's components besides its controls."""

    use_segment: gr.Button
    preview: gr.Image  # output frame `frame` as the render will make it
    note: gr.Markdown  # why the placement was forced to "original"
    frame: gr.Slider
    snapshot: gr.Button
    render: gr.Button
    cancel: gr.Button
    snapshot_file: gr.File
    output: gr.Video  # the rendered composite


def build_compose_tab(handlers: ComposeHandlers) -> None:
    """The Compose tab's components and events."""
    with gr.Row():
        with gr.Column(scale=1):
            obj_video = gr.Video(label="Object video", sources=["upload"], elem_id="cmp-obj")
            masks = gr.File(label="Masks (zip)", file_types=[".zip"], height=FILE_HEIGHT, elem_id="cmp-masks")
            use_segment = gr.Button("Use the Segment tab's result", elem_id="cmp-use-segment")
            bg_video = gr.Video(label="Background video", sources=["upload"], elem_id="cmp-bg")
            gr.Examples([[str(EXAMPLE_BACKGROUND)]], inputs=[bg_video], label="Example background")
        with gr.Column(scale=2):
            preview = gr.Image(
                label="Preview", type="numpy", format="jpeg", interactive=False, elem_id="cmp-preview"
            )
            note = gr.Markdown(elem_id="cmp-note")
            frame = gr.Slider(0, 1, value=0, step=1, label="Output frame", elem_id="cmp-frame-slider")
            controls = _compose_options(obj_video, masks, bg_video)
            with gr.Row():
                snapshot = gr.Button("Snapshot PNG", elem_id="cmp-snapshot")
                render = gr.Button("Render", variant="primary", elem_id="cmp-render")
                cancel = gr.Button("Cancel", variant="stop", elem_id="cmp-cancel")
            snapshot_file = gr.File(
                label="Snapshot", interactive=False, height=FILE_HEIGHT, elem_id="cmp-snapshot-file"
            )
            output = gr.Video(label="Composite", interactive=False, elem_id="cmp-output")
    view = ComposeView(use_segment, preview, note, frame, snapshot, render, cancel, snapshot_file, output)
    _wire_compose_events(handlers, controls, view)


def _compose_options(obj_video: gr.Video, masks: gr.File, bg_video: gr.Video) -> ComposeControls:
    with gr.Row():
        placement = gr.Dropdown(
            list(PLACEMENTS), value="relocate", label="Placement", elem_id="cmp-placement"
        )
        pos = gr.Dropdown(list(ANCHORS), value="center", label="Position", elem_id="cmp-pos")
        blend_mode = gr.Dropdown(list(BLEND_MODES), value="normal", label="Blend mode", elem_id="cmp-blend")
    with gr.Row():
        size = gr.Slider(
            16, 2048, value=config.DEFAULT_OBJECT_SIZE, step=1, label="Size (px)", elem_id="cmp-size"
        )
        feather = gr.Slider(
            0, 32, value=config.DEFAULT_FEATHER, step=1, label="Feather (px)", elem_id="cmp-feather"
        )
    with gr.Row():
        offset_x = gr.Slider(-2000, 2000, value=0, step=1, label="Offset x (px)", elem_id="cmp-offset-x")
        offset_y = gr.Slider(-2000, 2000, value=0, step=1, label="Offset y (px)", elem_id="cmp-offset-y")
    with gr.Row():
        brightness = gr.Checkbox(label="Match brightness", elem_id="cmp-brightness")
        loop = gr.Checkbox(label="Loop the shorter video", elem_id="cmp-loop")
    objects = gr.CheckboxGroup([], value=[], label="Objects", visible=False, elem_id="cmp-objects")
    return ComposeControls(
        obj_video, masks, bg_video, placement, pos, size, offset_x, offset_y,
        blend_mode, brightness, loop, feather, objects,
    )  # fmt: skip


def _wire_compose_events(handlers: ComposeHandlers, controls: ComposeControls, ui: ComposeView) -> None:
    ui.use_segment.click(
        handlers.use_segment_result,
        None,
        [controls.obj_video, controls.masks],
        api_name="use_segment_result",
        **PREVIEW_QUEUE,
    )
    controls.masks.change(
        handlers.mask_objects, [controls.masks], [controls.objects], api_name="mask_objects", **PREVIEW_QUEUE
    )
    framed = [ui.frame, *controls.inputs]
    gr.on(
        [control.change for control in controls.inputs] + [ui.frame.input],
        handlers.preview,
        framed,
        [ui.preview, ui.frame, ui.note],
        api_name="compose_preview",
        trigger_mode="always_last",
        **PREVIEW_QUEUE,
    )
    ui.snapshot.click(handlers.snapshot, framed, [ui.snapshot_file], api_name="snapshot", **PREVIEW_QUEUE)
    ui.render.click(handlers.compose, controls.inputs, [ui.output], api_name="compose", **COMPOSE_QUEUE)
    ui.cancel.click(handlers.cancel, None, None, api_name="cancel_compose", queue=False)


# --- the app ----------------------------------------------------------------------------------------
def create_app(model: AppModel, *, sessions: SessionStore | None = None) -> gr.Blocks:
    """The whole app, queue configured; each browser session's files go when its tab closes."""
    sessions = sessions if sessions is not None else SessionStore()

    def close_session(request: gr.Request) -> None:
        sessions.close(request.session_hash)

    stale_seconds = int(config.STALE_SESSION_HOURS * 3600)
    with gr.Blocks(title="SAM 2: segment and compose", delete_cache=(3600, stale_seconds)) as demo:
        gr.Markdown(
            "## SAM 2 video segmentation and compositing\n"
            "Click objects in a video, let SAM 2 track them, then paste them into another video."
        )
        with gr.Tab("Segment", id="segment", elem_id="tab-segment"):
            build_segment_tab(SegmentHandlers(model, sessions))
        with gr.Tab("Compose", id="compose", elem_id="tab-compose"):
            build_compose_tab(ComposeHandlers(sessions))
        demo.load(None, js=ui_assets.page_setup_js())
        demo.unload(close_session)
    demo.queue(default_concurrency_limit=config.PREVIEW_CONCURRENCY)
    return demo


def build_parser() -> argparse.ArgumentParser:
    """The app's arguments: where to serve, and which model (the segment CLI's model flags)."""
    parser = argparse.ArgumentParser(
        prog="sam2-gradio",
        description="Segment objects in a video with SAM 2 and composite them into another.",
    )
    parser.add_argument(
        "--host", default=config.DEFAULT_HOST, help="address to serve on (0.0.0.0: every interface)"
    )
    parser.add_argument("--port", type=int, default=config.DEFAULT_PORT, help="port to serve on")
    parser.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    add_model_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `python app.py`: parse, load the model (or learn what is missing), serve."""
    parser = build_parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")  # SAM 2's per-frame bar; the app shows its own progress
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from sam2_gradio.engine.model import settings_from_args

    try:
        model = AppModel(settings_from_args(args))
        if model.available:  # builds it now; a missing checkpoint is logged once by AppModel
            logger.info("%s", model.status)
    except UserError as error:
        parser.exit(2, f"error: {error}\n")
    demo = create_app(model)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        allowed_paths=[str(config.EXAMPLES_DIR)],
    )


__all__ = ["build_parser", "create_app", "main"]
