"""Streaming SAM 2 propagation: the official predictor's masks with memory that stays flat.

SAM 2's `init_state` decodes the whole video and its state keeps every frame's memory for ever. Yet on
any frame the model only attends to the conditioning (prompted) frames, the last `num_maskmem - 1`
frames' memories and the object pointers of the last `max_obj_ptrs_in_encoder - 1` frames. This module
runs the official `SAM2VideoPredictor` code on a state whose frames are decoded batch by batch
(`ModelFrames`) and whose per-frame outputs are dropped once no later frame can attend to them, so the
masks equal the official run over the whole video while memory does not grow with its length.

Semantics are those of the official predictor given all the prompts before propagating: the clicks and
box of each object on each frame are added in one call (a painted mask, which replaces them, in an
`add_new_mask` call), every prompted frame is a conditioning frame, and
`num_frames` is the true frame count (it shapes the object-pointer position encoding).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from sam2_gradio.engine.model import PredictorLender
from sam2_gradio.engine.model_frames import ModelFrames
from sam2_gradio.engine.options import DIRECTIONS
from sam2_gradio.engine.prompts import ObjectClicks, PromptState
from sam2_gradio.jobs import (
    BadInput,
    CancelFlag,
    NotReady,
    ProgressCallback,
    ProgressMeter,
    raise_if_cancelled,
)
from sam2_gradio.media.frames import FrameSource

if TYPE_CHECKING:
    from sam2.sam2_video_predictor import SAM2VideoPredictor

    from sam2_gradio.engine.interactive import FeatureCache


FrameMasks = tuple[int, list[int], np.ndarray]  # (frame, object ids, bool masks (objects, H, W))


def new_inference_state(predictor: SAM2VideoPredictor, images: ModelFrames) -> dict[str, Any]:
    """An inference state like `SAM2VideoPredictor.init_state`'s, over lazily decoded `images`."""
    meta = images.source.meta
    return {
        "images": images,  # list-like frames; only a batch of them is ever decoded
        "num_frames": meta.num_frames,  # the true frame count (object-pointer position encoding)
        "offload_video_to_cpu": False,  # frames live in ModelFrames, not in the state
        "offload_state_to_cpu": False,  # outputs stay on the model's device
        "video_height": meta.height,  # masks are returned at the video's resolution
        "video_width": meta.width,
        "device": predictor.device,  # where the model runs
        "storage_device": predictor.device,  # where per-frame outputs are kept
        "point_inputs_per_obj": {},  # obj_idx -> {frame: clicks}
        "mask_inputs_per_obj": {},  # obj_idx -> {frame: mask prompt}
        "cached_features": {},  # {frame: (image, backbone features)} of the last encoded frame
        "constants": {},  # values shared by every frame (mask memory position encoding)
        "obj_id_to_idx": OrderedDict(),  # client object id -> model slot
        "obj_idx_to_id": OrderedDict(),  # model slot -> client object id
        "obj_ids": [],  # client object ids in slot order
        "output_dict_per_obj": {},  # obj_idx -> {"cond_frame_outputs", "non_cond_frame_outputs"}
        "temp_output_dict_per_obj": {},  # outputs of clicks not yet encoded into memory
        "frames_tracked_per_obj": {},  # obj_idx -> {frame: {"reverse": bool}}
    }


def add_prompts(
    predictor: SAM2VideoPredictor, state: dict[str, Any], prompts: PromptState, frame: int | None = None
) -> None:
    """Add the prompts of every object on every prompted frame (or only on `frame`) to `state`.

    Each object's clicks and box on a frame go in one `add_new_points_or_box` call (the box first, as
    SAM 2 puts it); a painted mask goes to `add_new_mask` instead, since it replaces them.
    """
    frames = prompts.prompted_frames() if frame is None else [frame]
    for index in frames:
        for obj_id, entry in sorted(prompts.clicks_on(index).items()):
            add_object_prompt(predictor, state, index, obj_id, entry)


def add_object_prompt(
    predictor: SAM2VideoPredictor, state: dict[str, Any], frame: int, obj_id: int, entry: ObjectClicks
) -> None:
    """Give SAM 2 one object's prompts on one frame: its mask, or its clicks with its box."""
    if entry.mask is not None:
        predictor.add_new_mask(state, frame_idx=frame, obj_id=obj_id, mask=entry.mask.to_mask())
        return
    has_clicks = bool(entry.points)
    predictor.add_new_points_or_box(
        state,
        frame_idx=frame,
        obj_id=obj_id,
        points=np.asarray(entry.points, dtype=np.float32) if has_clicks else None,
        labels=np.asarray(entry.labels, dtype=np.int32) if has_clicks else None,
        box=np.asarray(entry.box, dtype=np.float32) if entry.box is not None else None,
    )


def memory_reach(predictor: SAM2VideoPredictor) -> int:
    """How many frames back (in tracking order) a frame's memory or object pointers can reach."""
    stride = predictor.memory_temporal_stride_for_eval
    return max(1 + (predictor.num_maskmem - 2) * stride, predictor.max_obj_ptrs_in_encoder - 1)


def _passes(direction: str, prompts: PromptState) -> list[tuple[int, bool]]:
    """The (start frame, reverse) passes of the official predictor for `direction`."""
    frames = prompts.prompted_frames()
    if direction == "forward":
        return [(frames[0], False)]
    if direction == "backward":
        return [(frames[-1], True)]
    if direction == "both":
        return [(frames[0], False), (frames[0], True)]
    raise BadInput(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")


def frames_to_track(direction: str, prompts: PromptState, num_frames: int) -> int:
    """How many frames a propagation in `direction` yields."""
    total = 0
    for start, reverse in _passes(direction, prompts):
        total += start + 1 if reverse else num_frames - start
    return total - (1 if direction == "both" else 0) if total else 0


def _forget_old_outputs(state: dict[str, Any], frame: int, reverse: bool, reach: int, keep: range) -> None:
    """Drop the non-conditioning outputs no frame after `frame` (in tracking order) can attend to."""
    stale = frame + reach + 1 if reverse else frame - reach - 1
    if stale in keep or not 0 <= stale < state["num_frames"]:
        return
    for outputs in state["output_dict_per_obj"].values():
        outputs["non_cond_frame_outputs"].pop(stale, None)
    for tracked in state["frames_tracked_per_obj"].values():
        tracked.pop(stale, None)


def _check_ready(prompts: PromptState, source: FrameSource) -> None:
    if not prompts.prompted_frames():
        raise NotReady("no clicks yet: add a click on an object first")
    last = prompts.prompted_frames()[-1]
    if last >= source.meta.num_frames:
        raise BadInput(f"clicks on frame {last}, but the video has {source.meta.num_frames} frames")


def propagate(
    model: PredictorLender,
    source: FrameSource,
    prompts: PromptState,
    *,
    direction: str = "forward",
    batch_size: int = 32,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> Iterator[FrameMasks]:
    """Track every prompted object through `source`, yielding `(frame, obj_ids, masks)` per frame.

    Frames are decoded `batch_size` at a time; `progress` is called after each batch and `cancel` (an
    object with `is_set()`, e.g. `threading.Event`) is checked between frames, raising `jobs.Cancelled`.
    Holds the model for the whole run.
    """
    _check_ready(prompts, source)
    passes = _passes(direction, prompts)
    total = frames_to_track(direction, prompts, source.meta.num_frames)
    meter = ProgressMeter(total, batch_size, progress)
    with model.use() as predictor:
        images = ModelFrames(source, predictor.image_size, predictor.device, batch_size=batch_size)
        try:
            state = new_inference_state(predictor, images)
            images.pin(prompts.prompted_frames())
            add_prompts(predictor, state, prompts)
            predictor.propagate_in_video_preflight(state)  # encodes the prompted frames' memory
            images.unpin()
            reach = memory_reach(predictor)
            for start, reverse in passes:
                images.reverse = reverse
                keep = range(start, start + reach + 1) if direction == "both" and not reverse else range(0)
                for frame, obj_ids, logits in _official_pass(predictor, state, start, reverse):
                    raise_if_cancelled(cancel, "propagation")
                    _forget_old_outputs(state, frame, reverse, reach, keep)
                    if direction == "both" and reverse and frame == start:
                        continue  # the forward pass already gave this frame
                    yield frame, list(obj_ids), (logits[:, 0] > 0).cpu().numpy()
                    meter.frame_done()
        finally:
            images.close()


def _official_pass(
    predictor: SAM2VideoPredictor, state: dict[str, Any], start: int, reverse: bool
) -> Iterator[tuple[int, list[int], torch.Tensor]]:
    """`propagate_in_video` from `start`; a reverse pass from frame 0 gives frame 0 (SAM 2 gives none)."""
    if reverse and start == 0:
        return predictor.propagate_in_video(state, start_frame_idx=0, max_frame_num_to_track=0)
    return predictor.propagate_in_video(state, start_frame_idx=start, reverse=reverse)


@torch.inference_mode()
def predict_prompted_frame(
    predictor: SAM2VideoPredictor,
    images: ModelFrames,
    prompts: PromptState,
    frame: int,
    features: FeatureCache | None = None,
) -> dict[int, np.ndarray]:
    """Masks of every object clicked on `frame`, as the frame's conditioning output will be.

    Runs SAM 2 on that frame alone (no memory), exactly as propagation treats a prompted frame.
    `features` lends and keeps the frame's image features.
    Returns obj_id -> bool (H, W) mask.
    """
    state = new_inference_state(predictor, images)
    if features is not None:
        features.lend(state, frame)
    add_prompts(predictor, state, prompts, frame)
    if features is not None:
        features.keep(state)
    if not state["obj_ids"]:
        return {}
    consolidated = predictor._consolidate_temp_output_across_obj(
        state, frame, is_cond=True, consolidate_at_video_res=True
    )
    _, logits = predictor._get_orig_video_res_output(state, consolidated["pred_masks_video_res"])
    masks = (logits[:, 0] > 0).cpu().numpy()
    return dict(zip(state["obj_ids"], masks, strict=True))
