"""Helpers for tests that run the real SAM 2 architecture with seeded random weights on CPU."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import torch

from sam2_gradio.engine.model.predictor import ModelSettings, SharedModel, build_predictor
from sam2_gradio.engine.tracking.prompts import PromptState

TEST_IMAGE_SIZE = 256
SCENE_SIZE = (160, 120)  # width, height of the synthetic scene


def build_random_model(image_size: int = TEST_IMAGE_SIZE, *, present: bool = True) -> SharedModel:
    """The SAM 2.1 tiny architecture with seeded random weights, its object-score head set to "present".

    A positive bias on the head's last layer makes masks non-trivial, so comparisons between runs mean
    something; with `present` False a negative one makes the head say "absent": every mask it predicts
    or tracks is empty (a painted mask prompt is kept as it is).
    """
    settings = ModelSettings(random_weights=True, image_size=image_size, device="cpu")
    predictor = build_predictor(settings)
    head = predictor.sam_mask_decoder.pred_obj_score_head
    last = head.layers[-1] if hasattr(head, "layers") else head
    with torch.no_grad():
        last.bias.fill_(5.0 if present else -5.0)
    return SharedModel(predictor, settings)


def random_model_for(settings: ModelSettings) -> SharedModel:
    """`build_random_model` at `settings.image_size`: a model factory for runners that take one (batch)."""
    return build_random_model(settings.image_size)


def scene_frame(index: int) -> np.ndarray:
    """Frame `index` of a synthetic scene: a red disc moving right and a green box moving down."""
    width, height = SCENE_SIZE
    rng = np.random.default_rng(0)
    frame = (rng.random((height, width, 3)) * 120).astype(np.uint8)
    cv2.circle(frame, (30 + 2 * index, 60), 18, (255, 0, 0), -1)
    cv2.rectangle(frame, (100, 20 + index), (140, 60 + index), (0, 255, 0), -1)
    return frame


def write_scene_jpegs(folder: Path, count: int) -> Path:
    """Write `count` scene frames as `folder/00000.jpg, ...` (the layout SAM 2 reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        cv2.imwrite(str(folder / f"{index:05d}.jpg"), cv2.cvtColor(scene_frame(index), cv2.COLOR_RGB2BGR))
    return folder


def official_masks(model: SharedModel, jpeg_folder: Path, prompts: PromptState, direction: str) -> dict:
    """Masks of SAM 2's own `SAM2VideoPredictor` over the whole video: frame -> bool (objects, H, W).

    All prompts are added before propagating, each object's clicks and box on a frame in one call, a
    painted mask in an `add_new_mask` call of its own; "both" runs
    forward from the first prompted frame, then backward from it; "backward" starts at the last one.
    """
    frames = prompts.prompted_frames()
    masks: dict[int, np.ndarray] = {}
    os.environ.setdefault("TQDM_DISABLE", "1")
    with model.use() as predictor:
        state = predictor.init_state(str(jpeg_folder))
        for frame in frames:
            for obj_id, entry in sorted(prompts.clicks_on(frame).items()):
                if entry.mask is not None:  # a painted mask replaces clicks and box (SAM 2 drops them)
                    predictor.add_new_mask(state, frame, obj_id, entry.mask.to_mask())
                    continue
                predictor.add_new_points_or_box(
                    state,
                    frame,
                    obj_id,
                    points=np.array(entry.points, np.float32).reshape(-1, 2),
                    labels=np.array(entry.labels, np.int32),
                    box=None if entry.box is None else np.array(entry.box, np.float32),
                )
        runs = {
            "forward": [{}],
            "backward": [{"start_frame_idx": frames[-1], "reverse": True}],
            "both": [{}, {"reverse": True}],
        }[direction]
        for kwargs in runs:
            for frame, _, logits in predictor.propagate_in_video(state, **kwargs):
                masks.setdefault(frame, (logits[:, 0] > 0).cpu().numpy())
    return masks
