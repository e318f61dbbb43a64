"""The Compose tab: the object video, its masks and a background, the placement and blend controls, a
live preview of any output frame, a snapshot and the render.

`build_compose_tab` lays the components out (`ComposeView`) and wires each event to a
`ComposeHandlers` method, with an `api_name` on every event a user or a test may call.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from sam2_gradio import config
from sam2_gradio.app import assets as ui_assets
from sam2_gradio.app.assets import FILE_HEIGHT
from sam2_gradio.app.compose_handlers import GEOMETRY_CONTROLS, ComposeHandlers
from sam2_gradio.app.edge import COMPOSE_QUEUE, GPU_QUEUE, PREVIEW_QUEUE
from sam2_gradio.app.frame_slider import frame_slider
from sam2_gradio.app.holdout_actions import HOLDOUT_KINDS
from sam2_gradio.app.holdout_handlers import HoldoutHandlers
from sam2_gradio.app.option_controls import option_controls
from sam2_gradio.compositor.render import ComposeOptions

EXAMPLE_BACKGROUND = config.EXAMPLES_DIR / "background.mp4"


@dataclass(frozen=True)
class ComposeView:
    """The Compose tab's components."""

    project: gr.Dropdown  # the project the object video and masks come from (None: uploaded ones)
    obj_video: gr.Video  # the video the objects are cut from
    masks: gr.File  # their masks (zip)
    use_segment: gr.Button
    bg_video: gr.Video  # the video they are pasted into
    preview: gr.Image  # output frame `frame` as the render will make it
    note: gr.Markdown  # that several objects move as one group, or that none is ticked
    frame: gr.Slider
    options: dict[str, gr.components.Component]  # one control per `ComposeOptions` field, in its order
    snapshot: gr.Button
    render: gr.Button
    cancel: gr.Button
    snapshot_file: gr.File
    output: gr.Video  # the rendered composite

    @property
    def inputs(self) -> list[gr.components.Component]:
        """The three files and every option, in the order of `/compose`'s parameters."""
        return [self.obj_video, self.masks, self.bg_video, *self.options.values()]


def build_compose_tab(
    handlers: ComposeHandlers,
    tab: gr.Tab,
    kept_projects: gr.BrowserState,
    holdout_handlers: HoldoutHandlers | None = None,
) -> None:
    """The Compose tab's components and events; opening `tab` offers the browser's projects
    (`kept_projects`) and takes in the Segment tab's project. With `holdout_handlers`, holdouts are
    clicked on the background's frames (`HoldoutView`)."""
    with gr.Row(elem_id="cmp-layout"):
        with gr.Column(scale=1, elem_id="cmp-files-column"):
            files = _compose_files_column()
            holdouts = _holdout_controls() if holdout_handlers is not None else None
        with gr.Column(scale=2, elem_id="cmp-result-column"):
            result = _compose_result_column()
    view = ComposeView(**files, **result)
    _wire_compose_events(handlers, view)
    if holdouts is not None:
        _wire_holdout_events(holdout_handlers, holdouts, handlers, view)
    _wire_project_choice(handlers, view, tab, kept_projects)


def _wire_project_choice(
    handlers: ComposeHandlers, ui: ComposeView, tab: gr.Tab, kept_projects: gr.BrowserState
) -> None:
    objects = [ui.obj_video, ui.masks]
    tab.select(
        handlers.offer_projects, [kept_projects, ui.project, *objects], [ui.project, *objects, ui.note],
        api_visibility="private", **PREVIEW_QUEUE,
    )  # fmt: skip
    ui.project.input(handlers.use_project, [ui.project], objects, api_visibility="private", **PREVIEW_QUEUE)
    for upload in objects:  # the user's own file: the inputs are no project's any more
        upload.upload(handlers.forget_project, None, [ui.project], api_visibility="private", queue=False)
    ui.use_segment.click(
        handlers.use_segment_result, None, objects, api_name="use_segment_result", **PREVIEW_QUEUE
    ).success(handlers.segment_project, [kept_projects], [ui.project], api_visibility="private", queue=False)


def _compose_files_column() -> dict[str, gr.components.Component]:
    project = gr.Dropdown(
        [], value=None, label="Project (its video and masks, the objects named)", elem_id="cmp-project"
    )
    obj_video = gr.Video(label="Object video", sources=["upload"], elem_id="cmp-obj")
    masks = gr.File(label="Masks (zip)", file_types=[".zip"], height=FILE_HEIGHT, elem_id="cmp-masks")
    use_segment = gr.Button("Use the Segment tab's result", elem_id="cmp-use-segment")
    bg_video = gr.Video(label="Background video", sources=["upload"], elem_id="cmp-bg")
    gr.Examples(
        [[str(EXAMPLE_BACKGROUND)]], inputs=[bg_video], label="Example background", elem_id="cmp-bg-example"
    )
    return dict(project=project, obj_video=obj_video, masks=masks, use_segment=use_segment, bg_video=bg_video)


def _compose_result_column() -> dict[str, gr.components.Component]:
    preview = ui_assets.frame_view("Preview", "cmp-preview")
    note = gr.Markdown(elem_id="cmp-note")
    frame = frame_slider("Output frame", "cmp-frame-slider")
    options = option_controls(ComposeOptions, id_prefix="cmp")
    with gr.Row():
        snapshot = gr.Button("Snapshot PNG", elem_id="cmp-snapshot")
        render = gr.Button("Render", variant="primary", elem_id="cmp-render")
        cancel = gr.Button("Cancel", variant="stop", elem_id="cmp-cancel")
    snapshot_file = gr.File(
        label="Snapshot", interactive=False, height=FILE_HEIGHT, elem_id="cmp-snapshot-file"
    )
    output = gr.Video(label="Composite", interactive=False, elem_id="cmp-output")
    return dict(
        preview=preview, note=note, frame=frame, options=options, snapshot=snapshot, render=render,
        cancel=cancel, snapshot_file=snapshot_file, output=output,
    )  # fmt: skip


def _wire_compose_events(handlers: ComposeHandlers, ui: ComposeView) -> None:
    gr.on(  # the names come with the project: its choice may arrive after its masks
        [ui.masks.change, ui.project.change], handlers.mask_objects, [ui.masks, ui.project],
        [ui.options["objects"]], api_name="mask_objects", trigger_mode="always_last", **PREVIEW_QUEUE,
    )  # fmt: skip
    framed = [ui.frame, *ui.inputs]
    gr.on(
        [control.change for control in ui.inputs] + [ui.frame.input],
        handlers.preview,
        framed,
        [ui.preview, ui.frame, ui.note],
        api_name="compose_preview",
        trigger_mode="always_last",
        show_progress="minimal",  # the previous frame stays until the next one is ready (no blank flash)
        **PREVIEW_QUEUE,
    )
    placement = ui.options["placement"]
    placement.change(
        handlers.placement_controls,
        [placement],
        [ui.options[name] for name in GEOMETRY_CONTROLS],
        api_visibility="private",
        queue=False,
    )
    ui.snapshot.click(handlers.snapshot, framed, [ui.snapshot_file], api_name="snapshot", **PREVIEW_QUEUE)
    rendering = ui.render.click(handlers.compose, ui.inputs, [ui.output], api_name="compose", **COMPOSE_QUEUE)
    # The flag stops a running render; `cancels` drops one still waiting in the queue. The composite and
    # snapshot shown before are taken away: they no longer match what was asked for.
    ui.cancel.click(
        handlers.cancel,
        None,
        [ui.output, ui.snapshot_file, ui.note],
        api_name="cancel_compose",
        queue=False,
        cancels=[rendering],
    )


@dataclass(frozen=True)
class HoldoutView:
    """The holdout controls: objects of the background clicked to pass in front of the pasted ones."""

    frame: gr.Image  # the background frame to click on, with the holdouts drawn
    slider: gr.Slider  # which background frame
    kind: gr.Radio  # positive or negative click
    new: gr.Button  # start another holdout object
    clear: gr.Button
    track: gr.Button  # propagate the holdouts through the background (a render does it when needed)
    note: gr.Markdown  # which holdout clicks go to, and whether they are tracked


def _holdout_controls() -> HoldoutView:
    with gr.Accordion("Holdouts: background objects in front", open=False, elem_id="cmp-holdouts"):
        frame = ui_assets.frame_view("Background: click objects to keep in front", "cmp-holdout-frame")
        slider = frame_slider("Background frame", "cmp-holdout-slider")
        kind = gr.Radio(list(HOLDOUT_KINDS), value="positive", label="Click", elem_id="cmp-holdout-kind")
        with gr.Row():
            new = gr.Button("New holdout", size="sm", elem_id="cmp-holdout-new")
            clear = gr.Button("Clear holdouts", size="sm", elem_id="cmp-holdout-clear")
            track = gr.Button("Track holdouts", size="sm", elem_id="cmp-holdout-track")
        note = gr.Markdown(elem_id="cmp-holdout-note")
    return HoldoutView(frame, slider, kind, new, clear, track, note)


def _wire_holdout_events(
    handlers: HoldoutHandlers, ui: HoldoutView, compose: ComposeHandlers, view: ComposeView
) -> None:
    """Each holdout edit redraws the background frame, then the composite's preview."""
    shown = [ui.frame, ui.note]
    view.bg_video.change(
        handlers.open_background, [view.bg_video], [ui.frame, ui.slider, ui.note],
        api_name="holdout_background", **PREVIEW_QUEUE,
    )  # fmt: skip
    ui.slider.input(
        handlers.show_frame, [view.bg_video, ui.slider], [ui.frame], api_name="holdout_frame", **PREVIEW_QUEUE
    )
    edits = [
        ui.frame.select(  # needs the click's position (gr.SelectData)
            handlers.click,
            [view.bg_video, ui.slider, ui.kind],
            [*shown, view.frame],
            api_name="holdout_click",
            api_visibility="undocumented",
            **GPU_QUEUE,
        ),
        ui.new.click(
            handlers.new_holdout, [view.bg_video], [ui.note], api_name="new_holdout", **PREVIEW_QUEUE
        ),
        ui.clear.click(
            handlers.clear, [view.bg_video, ui.slider], shown, api_name="clear_holdouts", **GPU_QUEUE
        ),
        ui.track.click(
            handlers.track, [view.bg_video, ui.slider], shown, api_name="track_holdouts", **COMPOSE_QUEUE
        ),
    ]
    # Cancel stops the holdouts' tracking too (a render's own tracking stops with the render).
    view.cancel.click(handlers.cancel, None, None, api_name="cancel_holdouts", queue=False)
    for edit in edits:
        edit.success(
            compose.preview, [view.frame, *view.inputs], [view.preview, view.frame, view.note],
            api_visibility="private", **PREVIEW_QUEUE,
        )  # fmt: skip
