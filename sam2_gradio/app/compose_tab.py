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
from sam2_gradio.app.edge import COMPOSE_QUEUE, FRAME_SLIDER_MAX, PREVIEW_QUEUE
from sam2_gradio.app.frame_slider import FrameSlider
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


def build_compose_tab(handlers: ComposeHandlers, tab: gr.Tab, kept_projects: gr.BrowserState) -> None:
    """The Compose tab's components and events; opening `tab` offers the browser's projects
    (`kept_projects`) and takes in the Segment tab's project."""
    with gr.Row():
        with gr.Column(scale=1):
            files = _compose_files_column()
        with gr.Column(scale=2):
            result = _compose_result_column()
    view = ComposeView(**files, **result)
    _wire_compose_events(handlers, view)
    _wire_project_choice(handlers, view, tab, kept_projects)


def _wire_project_choice(
    handlers: ComposeHandlers, ui: ComposeView, tab: gr.Tab, kept_projects: gr.BrowserState
) -> None:
    objects = [ui.obj_video, ui.masks]
    tab.select(
        handlers.offer_projects, [kept_projects, ui.project, *objects], [ui.project, *objects],
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
    gr.Examples([[str(EXAMPLE_BACKGROUND)]], inputs=[bg_video], label="Example background")
    return dict(project=project, obj_video=obj_video, masks=masks, use_segment=use_segment, bg_video=bg_video)


def _compose_result_column() -> dict[str, gr.components.Component]:
    preview = ui_assets.frame_view("Preview", "cmp-preview")
    note = gr.Markdown(elem_id="cmp-note")
    frame = FrameSlider(
        0, FRAME_SLIDER_MAX, value=0, step=1, label="Output frame", elem_id="cmp-frame-slider"
    )
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
    # The flag stops a running render; `cancels` drops one still waiting in the queue.
    ui.cancel.click(handlers.cancel, None, None, api_name="cancel_compose", queue=False, cancels=[rendering])
