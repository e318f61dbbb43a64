"""sam2-gradio: segment objects in a video with SAM 2 and composite them into another video.

The whole flow in a script, with nothing but this import:

    from sam2_gradio import ComposeOptions, ModelSettings, Project, compose_video, exports
    from sam2_gradio import get_shared_model, load_prompt_state, track_project

    model = get_shared_model(ModelSettings(model_size="tiny"))
    with Project.open_or_create("projects/clip", "clip.mp4") as project:   # the durable store
        project.save_prompts(load_prompt_state("interactive_state.json", project.meta))
        track_project(model, project)                  # continues a stopped run, skips a current one
        masks = exports.mask_pngs(project, "masks/")   # any output, from the store, without the model
    compose_video("background.mp4", "clip.mp4", masks, "composite.mp4", ComposeOptions())

`segment_video(model, "clip.mp4", prompts, OutputRequest(mask_dir=Path("masks")))` is `track_project`
then the outputs asked for, in one call (in a temporary project unless `project=` names one).

The package is laid out by role: `media` (video, frames, mask files), `engine` (SAM 2 model, prompts,
propagation, exports), `compositor` (placement, blend, render), `app` (the Gradio UI and its sessions)
and `cli` (the two command-line tools and the `.venv` bootstrap). Importing the package is cheap: each
name above is imported on first use, and torch and sam2 only by the engine modules that run the model.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SCRIPTING_API = {  # public name -> (module, attribute)
    "ModelSettings": ("sam2_gradio.engine.model.predictor", "ModelSettings"),
    "get_shared_model": ("sam2_gradio.engine.model.predictor", "get_shared_model"),
    "open_frames": ("sam2_gradio.media.frames", "open_frames"),
    "load_prompt_state": ("sam2_gradio.engine.tracking.prompts", "load_prompt_state"),
    "segment_video": ("sam2_gradio.engine.tracking.pipeline", "segment_video"),
    "OutputRequest": ("sam2_gradio.engine.exports.project_exports", "OutputRequest"),
    "SegmentOptions": ("sam2_gradio.engine.options", "SegmentOptions"),
    "ComposeOptions": ("sam2_gradio.compositor.render", "ComposeOptions"),
    "compose_video": ("sam2_gradio.compositor.render", "render"),
    "load_mask_set": ("sam2_gradio.media.mask_files", "load_mask_set"),
    "Project": ("sam2_gradio.engine.store.project", "Project"),
    "track_project": ("sam2_gradio.engine.tracking.track_project", "track_project"),
    "exports": ("sam2_gradio.engine.exports.project_exports", None),  # the module: exports.coco(project, ...)
    "FrameMasks": ("sam2_gradio.compositor.holdouts", "FrameMasks"),  # holdouts read from a project
}
__all__ = sorted(_SCRIPTING_API)


def __getattr__(name: str) -> Any:
    """Import a scripting-API name on first use (PEP 562), keeping `import sam2_gradio` cheap."""
    if name not in _SCRIPTING_API:
        raise AttributeError(f"module 'sam2_gradio' has no attribute {name!r}")
    module, attribute = _SCRIPTING_API[name]
    imported = importlib.import_module(module)
    return imported if attribute is None else getattr(imported, attribute)
