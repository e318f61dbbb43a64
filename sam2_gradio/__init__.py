"""sam2-gradio: segment objects in a video with SAM 2 and composite them into another video.

The whole flow in a script, with nothing but this import:

    from sam2_gradio import ComposeOptions, ModelSettings, compose_video, get_shared_model
    from sam2_gradio import load_prompt_state, open_frames, segment_video

    model = get_shared_model(ModelSettings(model_size="tiny"))
    source = open_frames("clip.mp4")
    prompts = load_prompt_state("interactive_state.json", source.meta)
    result = segment_video(model, source, prompts, "masks/")
    compose_video("background.mp4", "clip.mp4", result.mask_dir, "composite.mp4", ComposeOptions())

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
    "ModelSettings": ("sam2_gradio.engine.model", "ModelSettings"),
    "get_shared_model": ("sam2_gradio.engine.model", "get_shared_model"),
    "open_frames": ("sam2_gradio.media.frames", "open_frames"),
    "load_prompt_state": ("sam2_gradio.engine.prompts", "load_prompt_state"),
    "segment_video": ("sam2_gradio.engine.pipeline", "segment_video"),
    "ComposeOptions": ("sam2_gradio.compositor.render", "ComposeOptions"),
    "compose_video": ("sam2_gradio.compositor.render", "render"),
    "load_mask_set": ("sam2_gradio.media.mask_files", "load_mask_set"),
}
__all__ = sorted(_SCRIPTING_API)


def __getattr__(name: str) -> Any:
    """Import a scripting-API name on first use (PEP 562), keeping `import sam2_gradio` cheap."""
    if name not in _SCRIPTING_API:
        raise AttributeError(f"module 'sam2_gradio' has no attribute {name!r}")
    module, attribute = _SCRIPTING_API[name]
    return getattr(importlib.import_module(module), attribute)
