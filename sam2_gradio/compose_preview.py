"""One output frame of a composite, as an array: what the Compose tab shows while its controls move.

`compositor.snapshot` writes the same frame to a PNG; these two functions give it to the app without a
file, with the mask set already loaded (the app keeps it per session).
"""

from __future__ import annotations

import os

import numpy as np

from sam2_gradio.compositor import ComposeOptions, compose_frame, plan_timeline
from sam2_gradio.masks import MaskSet
from sam2_gradio.video_io import probe_video, read_frame


def output_frame_count(bg_path: str | os.PathLike, obj_path: str | os.PathLike, *, loop: bool) -> int:
    """How many frames `compositor.render` writes for these two videos."""
    return plan_timeline(probe_video(bg_path), probe_video(obj_path), loop=loop).num_frames


def preview_frame(
    bg_path: str | os.PathLike,
    obj_path: str | os.PathLike,
    masks: MaskSet,
    index: int,
    options: ComposeOptions,
) -> np.ndarray:
    """Output frame `index` of the composite, RGB uint8 (H, W, 3) of the background's size.

    Raises ValueError when `index` is outside the output.
    """
    timeline = plan_timeline(probe_video(bg_path), probe_video(obj_path), loop=options.loop)
    if not 0 <= index < timeline.num_frames:
        raise ValueError(f"frame {index} is outside the composite ({timeline.num_frames} frames)")
    object_index = timeline.object_index(index)
    return compose_frame(
        read_frame(bg_path, timeline.background_index(index)),
        read_frame(obj_path, object_index),
        masks,
        object_index,
        options,
    )
