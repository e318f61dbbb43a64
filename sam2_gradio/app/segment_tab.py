"""The Segment tab: a video, its frame to click on, the object and click controls, and propagation.

`build_segment_tab` lays the components out (`SegmentView`) and wires each event to a
`SegmentHandlers` method, with an `api_name` on every event a user or a test may call.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
from gradio.events import Dependency

from sam2_gradio import config
from sam2_gradio.app import assets as ui_assets
from sam2_gradio.app import brush
from sam2_gradio.app.assets import FILE_HEIGHT
from sam2_gradio.app.edge import GPU_QUEUE, PREVIEW_QUEUE, PROPAGATE_QUEUE
from sam2_gradio.app.frame_slider import frame_slider
from sam2_gradio.app.option_controls import option_controls
from sam2_gradio.app.segment_actions import PROMPT_HINTS, PROMPT_KINDS
from sam2_gradio.app.segment_handlers import NO_VIDEO_INFO, SegmentHandlers
from sam2_gradio.engine.options import ExportChoices, SegmentOptions

EXAMPLE_VIDEO = config.EXAMPLES_DIR / "toy_car.mp4"
# The browser downloads the file of a file box (its value, given as the argument): Save state is a download.
DOWNLOAD_FILE_JS = """(file) => {
  if (file && file.url) {
    const link = document.createElement("a");
    link.href = file.url;
    link.download = file.orig_name || "interactive_state.json";
    document.body.appendChild(link);
    link.click();
    link.remove();
  }
  return [];
}"""


@dataclass(frozen=True)
class SegmentView:
    """The Segment tab's components."""

    video: gr.Video  # the video being segmented
    info: gr.Markdown  # its frames, fps, size and duration
    options: dict[str, gr.components.Component]  # one control per `SegmentOptions` field, in its order
    export_options: dict[str, gr.components.Component]  # one control per `ExportChoices` field
    alpha_sizes: gr.Markdown  # about how large the ticked alpha videos will be
    write_exports: gr.Button  # writes the ticked exports from the store, without tracking again
    propagate: gr.Button
    cancel: gr.Button
    continue_run: gr.Button  # resumes a cancelled propagation
    api_propagate: gr.Button  # hidden: serves /propagate for API clients (no live view)
    status: gr.Markdown  # where a running propagation stands, or how the last one ended
    results_note: gr.Markdown  # the results are partial, or out of date after an edit
    preview: gr.Video  # results of the last propagation
    masks: gr.File
    exports: gr.File  # the exports asked for (COCO JSON, DAVIS PNGs zip, alpha video)
    state_file: gr.File  # saved clicks, or the clicks of the last propagation
    api_state: gr.File  # hidden: the state JSON an API client gives /propagate
    frame: gr.Image  # the shown frame; a click on it adds a prompt (point, box corner, brush dab)
    stroke: gr.HTML  # runs the brush in the page: a press-and-drag on the frame sends one stroke
    slider: gr.Slider
    timeline: gr.HTML  # under the slider: each object's prompted and tracked frames, the shown frame
    previous: gr.Button
    next: gr.Button
    point_label: gr.Radio  # what a click on the frame gives: point, box corner, brush or eraser dab
    brush_size: gr.Slider  # radius of the brush or eraser, video pixels (a stroke is twice as wide)
    prompt_hint: gr.Markdown  # what a click does with the chosen prompt type
    objects: gr.Radio
    object_name: gr.Textbox  # the selected object's name; Enter names it
    legend: gr.HTML  # each object's colour
    new_object: gr.Button
    absent: gr.Button  # the selected object is not on this frame (an empty mask prompt)
    remove_object: gr.Button
    undo: gr.Button
    redo: gr.Button
    clear: gr.Button
    reset: gr.Button
    save_state: gr.Button
    load_state: gr.UploadButton
    kept_projects: gr.BrowserState  # {"current": id, "ids": [...]}: the browser's projects
    project_list: gr.Dropdown  # the browser's projects, the most recent first
    open_project: gr.Button
    delete_project: gr.Button


def build_segment_tab(handlers: SegmentHandlers, *, projects_note: str = "") -> SegmentView:
    """The Segment tab's components and events; returns them (the page's load restores the project)."""
    gr.Markdown(handlers.model.status, elem_id="seg-model-status")
    with gr.Row(elem_id="seg-layout"):
        with gr.Column(scale=1, elem_id="seg-source-column"):
            source = _segment_source_column()
            projects = _projects_panel(projects_note)
        with gr.Column(scale=2, elem_id="seg-frame-column"):
            editor = _segment_frame_column()
    ui = SegmentView(**source, **editor, **projects)
    _wire_segment_events(handlers, ui)
    _wire_projects(handlers, ui)
    return ui


def _projects_panel(note: str) -> dict[str, gr.components.Component]:
    kept_projects = gr.BrowserState(
        {"current": None, "ids": []}, storage_key="sam2-gradio-projects", secret="sam2-gradio-projects"
    )
    with gr.Accordion("Projects", open=False, elem_id="seg-projects"):
        gr.Markdown(note, elem_id="seg-projects-note")
        project_list = gr.Dropdown([], label="Your projects (most recent first)", elem_id="seg-project-list")
        with gr.Row():
            open_project = gr.Button("Open", size="sm", elem_id="seg-open-project")
            delete_project = gr.Button("Delete", size="sm", variant="stop", elem_id="seg-delete-project")
    return dict(
        kept_projects=kept_projects, project_list=project_list, open_project=open_project,
        delete_project=delete_project,
    )  # fmt: skip


def restored_outputs(ui: SegmentView) -> list[gr.components.Component]:
    """What reopening a project shows (`SegmentHandlers.restore_project` and `open_project`)."""
    return [
        ui.info, ui.frame, ui.slider, ui.objects, ui.legend, ui.timeline, ui.preview, ui.masks, ui.state_file,
        ui.results_note, ui.video,
    ]  # fmt: skip


def wire_restore(handlers: SegmentHandlers, ui: SegmentView, demo: gr.Blocks) -> None:
    """On every page load, bring back the browser's current project as it was left."""
    demo.load(
        handlers.restore_project,
        [ui.kept_projects],
        restored_outputs(ui),
        api_visibility="private",
        **PREVIEW_QUEUE,
    ).then(
        handlers.project_list, [ui.kept_projects], [ui.project_list], api_visibility="private", queue=False
    ).then(handlers.brush_setup, None, [ui.brush_size, ui.stroke], api_visibility="private", queue=False)


def _wire_projects(handlers: SegmentHandlers, ui: SegmentView) -> None:
    ui.open_project.click(
        handlers.open_project,
        [ui.project_list],
        restored_outputs(ui),
        api_visibility="private",
        **PREVIEW_QUEUE,
    ).then(handlers.remember_project, [ui.kept_projects], [ui.kept_projects], api_visibility="private").then(
        handlers.brush_setup, None, [ui.brush_size, ui.stroke], api_visibility="private", queue=False
    )
    ui.delete_project.click(
        handlers.delete_project, [ui.project_list, ui.kept_projects], [ui.kept_projects],
        api_visibility="private", **PREVIEW_QUEUE,
    )  # fmt: skip
    ui.kept_projects.change(
        handlers.project_list, [ui.kept_projects], [ui.project_list], api_visibility="private", queue=False
    )


def _segment_source_column() -> dict[str, gr.components.Component]:
    video = gr.Video(label="Video", sources=["upload"], elem_id="seg-video")
    gr.Examples([[str(EXAMPLE_VIDEO)]], inputs=[video], label="Example")
    info = gr.Markdown(NO_VIDEO_INFO, elem_id="seg-info")
    with gr.Accordion("Advanced", open=False):
        options = option_controls(SegmentOptions, id_prefix="seg", choice_control=gr.Radio)
    with gr.Accordion("Exports (besides the masks zip)", open=False, elem_id="seg-exports-options"):
        export_options = option_controls(ExportChoices, id_prefix="seg-export", choice_control=gr.Radio)
        alpha_sizes = gr.Markdown(elem_id="seg-export-sizes")  # about how large the alpha videos will be
        write_exports = gr.Button(
            "Write these exports now (from the tracked masks)", size="sm", elem_id="seg-write-exports"
        )
    with gr.Row(elem_id="seg-run-row"):
        propagate = gr.Button("Propagate", variant="primary", elem_id="seg-propagate")
        cancel = gr.Button("Cancel", variant="stop", elem_id="seg-cancel")
        continue_run = gr.Button("Continue", elem_id="seg-continue")
    api_propagate = gr.Button(visible=False, elem_id="seg-api-propagate")
    preview = gr.Video(label="Preview", interactive=False, elem_id="seg-preview")
    masks = gr.File(label="Masks (zip)", interactive=False, height=FILE_HEIGHT, elem_id="seg-masks")
    exports = gr.File(  # no fixed height: every export file shows, none scrolled out of sight
        label="Exports", file_count="multiple", interactive=False, elem_id="seg-exports"
    )
    state_file = gr.File(
        label="State (JSON)", interactive=False, height=FILE_HEIGHT, elem_id="seg-state-file"
    )
    api_state = gr.File(label="State JSON for API clients", file_types=[".json"], visible="hidden")
    return dict(
        video=video, info=info, options=options, export_options=export_options, alpha_sizes=alpha_sizes,
        write_exports=write_exports,
        propagate=propagate, cancel=cancel, continue_run=continue_run, api_propagate=api_propagate,
        preview=preview, masks=masks, exports=exports, state_file=state_file,
        api_state=api_state,
    )  # fmt: skip


def _segment_frame_column() -> dict[str, gr.components.Component]:
    frame = ui_assets.frame_view(
        "Frame: click to add a prompt, drag to paint with the brush (fullscreen zooms in)", "seg-frame"
    )
    # where a propagation stands, right under the frame it redraws (on a phone, above the actions)
    status = gr.Markdown(elem_id="seg-status")
    results_note = gr.Markdown(elem_id="seg-results-note")
    stroke = brush.stroke_box(config.MAX_STROKE_POINTS)
    with gr.Row():
        previous = gr.Button("◀ Previous", size="sm", scale=0, elem_id="seg-prev")
        with gr.Column(scale=4), gr.Group():  # one box: the slider with its timeline under it
            slider = frame_slider("Frame", "seg-frame-slider")
            timeline = gr.HTML(js_on_load=ui_assets.TIMELINE_JS, elem_id="seg-timeline")
        next_frame = gr.Button("Next ▶", size="sm", scale=0, elem_id="seg-next")
    with gr.Row():
        point_label = gr.Radio(
            list(PROMPT_KINDS), value="positive", label="Prompt", elem_id="seg-point-label"
        )
        brush_size = gr.Slider(
            1, config.MAX_BRUSH_RADIUS, value=config.DEFAULT_BRUSH_RADIUS, step=1,
            label="Brush size (radius, pixels)", elem_id="seg-brush-size",
        )  # fmt: skip
        objects = gr.Radio([("Object 1", 1)], value=1, label="Object", elem_id="seg-object")
        object_name = gr.Textbox(
            label="Name (Enter)", placeholder="e.g. dog", max_length=config.MAX_OBJECT_NAME_LENGTH,
            elem_id="seg-object-name",
        )  # fmt: skip
    prompt_hint = gr.Markdown(PROMPT_HINTS["positive"], elem_id="seg-prompt-hint")
    legend = gr.HTML(js_on_load=None, elem_id="seg-legend")
    with gr.Row():
        new_object = gr.Button("New object", elem_id="seg-new-object")
        absent = gr.Button("Absent here", elem_id="seg-absent")
        remove_object = gr.Button("Remove object", elem_id="seg-remove-object")
        undo = gr.Button("Undo", elem_id="seg-undo")
        redo = gr.Button("Redo", elem_id="seg-redo")
        clear = gr.Button("Clear frame", elem_id="seg-clear")
        reset = gr.Button("Reset", elem_id="seg-reset")
    with gr.Row():
        save_state = gr.Button("Save state", elem_id="seg-save-state")
        load_state = gr.UploadButton("Load state", file_types=[".json"], elem_id="seg-load-state")
    gr.Markdown(ui_assets.SHORTCUTS_HELP)
    return dict(
        frame=frame, status=status, results_note=results_note, stroke=stroke, slider=slider,
        timeline=timeline, previous=previous, next=next_frame,
        point_label=point_label, brush_size=brush_size, prompt_hint=prompt_hint, objects=objects,
        object_name=object_name, legend=legend, new_object=new_object, absent=absent,
        remove_object=remove_object,
        undo=undo, redo=redo, clear=clear, reset=reset, save_state=save_state, load_state=load_state,
    )  # fmt: skip


def _wire_segment_events(handlers: SegmentHandlers, ui: SegmentView) -> None:
    opened = [
        ui.info, ui.frame, ui.slider, ui.objects, ui.legend, ui.timeline, ui.preview, ui.masks, ui.state_file,
        ui.status, ui.results_note,
    ]  # fmt: skip
    opening = ui.video.change(handlers.open_video, [ui.video], opened, api_name="open_video", **PREVIEW_QUEUE)
    opening.then(handlers.drop_refused_upload, [ui.video], [ui.video], api_visibility="private", queue=False)
    ui.video.clear(handlers.close_video, None, opened, api_name="close_video", **PREVIEW_QUEUE)
    opening.then(
        handlers.export_files,
        None,
        [ui.exports],
        api_name="shown_exports",
        api_visibility="private",
        **PREVIEW_QUEUE,
    )
    opening.success(
        handlers.remember_project, [ui.kept_projects], [ui.kept_projects], api_visibility="private"
    )
    opening.success(handlers.brush_setup, None, [ui.brush_size, ui.stroke], api_visibility="private")
    ui.slider.input(  # the latest frame asked for is shown once the one being drawn is (keys, drags)
        handlers.show_frame, [ui.slider], [ui.frame, ui.timeline], api_name="show_frame",
        trigger_mode="always_last", **PREVIEW_QUEUE,
    )  # fmt: skip
    ui.frame.change(  # each frame shown: the legend marks the objects off it
        handlers.frame_legend, [ui.slider], [ui.legend], api_visibility="private", queue=False,
        trigger_mode="always_last",
    )  # fmt: skip
    stepped = [ui.slider, ui.frame, ui.timeline]
    ui.previous.click(
        handlers.previous_frame, [ui.slider], stepped, api_name="previous_frame", **PREVIEW_QUEUE
    )
    ui.next.click(handlers.next_frame, [ui.slider], stepped, api_name="next_frame", **PREVIEW_QUEUE)
    ui.new_object.click(
        handlers.new_object,
        [ui.slider],
        [ui.objects, ui.legend, ui.timeline],
        api_name="new_object",
        **PREVIEW_QUEUE,
    )
    # a new object starts with positive clicks: set in the page as the button is pressed, so a prompt type
    # chosen once the object shows is kept
    ui.new_object.click(None, None, [ui.point_label], js="() => 'positive'", queue=False)
    ui.objects.change(
        handlers.object_name, [ui.objects], [ui.object_name], api_visibility="private", queue=False
    )
    ui.point_label.change(
        handlers.prompt_hint, [ui.point_label], [ui.prompt_hint], api_visibility="private", queue=False
    )
    ui.save_state.click(
        handlers.save_state, None, [ui.state_file], api_name="save_state", **PREVIEW_QUEUE
    ).success(None, [ui.state_file], None, js=DOWNLOAD_FILE_JS, api_visibility="private", queue=False)
    for edit in _wire_edits(handlers, ui):  # the note says when an edit outdates the results
        edit.then(handlers.results_note, None, [ui.results_note], api_visibility="private", **PREVIEW_QUEUE)
    _wire_propagation(handlers, ui)
    ui.write_exports.click(
        handlers.write_exports, list(ui.export_options.values()), [ui.exports], api_name="write_exports",
        **PREVIEW_QUEUE,
    )  # fmt: skip
    alpha_formats = ui.export_options["alpha_video"]
    alpha_formats.change(
        handlers.alpha_sizes, [alpha_formats], [ui.alpha_sizes], api_visibility="private", **PREVIEW_QUEUE
    )


def _wire_edits(handlers: SegmentHandlers, ui: SegmentView) -> list[Dependency]:
    """The events that change the prompts; returns them."""
    listed, stepped = [ui.objects, ui.legend, ui.timeline], [ui.slider, ui.frame]
    return [
        ui.frame.select(  # needs the click's position (gr.SelectData): API clients give /propagate a state
            handlers.add_click,
            [ui.slider, ui.objects, ui.point_label, ui.brush_size],
            [ui.frame, ui.timeline],
            api_name="add_click",
            api_visibility="undocumented",
            **GPU_QUEUE,
        ),
        ui.stroke.stroke(  # needs the page's pointer: API clients give /propagate a state
            handlers.paint_stroke,
            [ui.stroke, ui.slider, ui.objects, ui.point_label, ui.brush_size],
            [ui.frame, ui.timeline],
            api_name="paint_stroke",
            api_visibility="undocumented",
            **GPU_QUEUE,
        ),
        ui.absent.click(
            handlers.mark_absent,
            [ui.slider, ui.objects],
            [ui.frame, ui.timeline],
            api_name="mark_absent",
            **GPU_QUEUE,
        ),
        ui.object_name.submit(
            handlers.name_object,
            [ui.objects, ui.object_name, ui.slider],
            listed,
            api_name="name_object",
            **PREVIEW_QUEUE,
        ),
        ui.remove_object.click(
            handlers.remove_object,
            [ui.objects, ui.slider],
            [ui.frame, *listed],
            api_name="remove_object",
            **GPU_QUEUE,
        ),
        *(
            button.click(
                handler,
                [ui.slider, ui.objects],
                [*stepped, *listed, ui.object_name],
                api_name=name,
                **GPU_QUEUE,
            )
            for button, handler, name in ((ui.undo, handlers.undo, "undo"), (ui.redo, handlers.redo, "redo"))
        ),
        ui.clear.click(
            handlers.clear_frame,
            [ui.slider, ui.objects],
            [ui.frame, ui.timeline],
            api_name="clear_frame",
            **GPU_QUEUE,
        ),
        ui.reset.click(
            handlers.reset,
            [ui.slider],
            [ui.frame, *listed, ui.preview, ui.masks, ui.exports, ui.object_name],
            api_name="reset",
            **PREVIEW_QUEUE,
        ),
        ui.load_state.upload(
            handlers.load_state,
            [ui.load_state, ui.slider],
            [ui.frame, *listed, ui.object_name],
            api_name="load_state",
            **GPU_QUEUE,
        ),
    ]


def _wire_propagation(handlers: SegmentHandlers, ui: SegmentView) -> None:
    """Propagate and Continue run live; /propagate serves API clients; Cancel keeps what was tracked."""
    live_outputs = [
        ui.frame, ui.slider, ui.preview, ui.masks, ui.state_file, ui.status, ui.results_note, ui.timeline
    ]  # fmt: skip
    options = [*ui.options.values(), *ui.export_options.values()]
    for button, handler, name in (
        (ui.propagate, handlers.live_handler(ui, resume=False), "propagate_live"),
        (ui.continue_run, handlers.live_handler(ui, resume=True), "continue_propagate"),
    ):
        # the first, unqueued step notes the request, so a Cancel while the run waits stops it as it starts
        button.click(handlers.request_propagation, None, None, queue=False, api_visibility="private").then(
            handler,
            options,
            live_outputs,
            api_name=name,
            api_visibility="undocumented",
            show_progress_on=[ui.status],
            **PROPAGATE_QUEUE,
        ).then(
            handlers.export_files,
            None,
            [ui.exports],
            api_name="shown_exports",
            api_visibility="private",
            **PREVIEW_QUEUE,
        )
    for_api = ui.api_propagate.click(
        handlers.propagate,
        [ui.video, ui.api_state, *options],
        [ui.preview, ui.masks, ui.state_file],
        api_name="propagate",
        **PROPAGATE_QUEUE,
    )
    for_api.then(handlers.export_files, None, [ui.exports], api_name="export_files", **PREVIEW_QUEUE)
    # The flag stops a running propagation, which then shows what it tracked; `cancels` drops an API
    # propagation still waiting in the queue.
    ui.cancel.click(handlers.cancel, None, None, api_name="cancel_propagate", queue=False, cancels=[for_api])
