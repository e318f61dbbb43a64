"""Where a composite's holdouts come from: objects of the background that pass in front of the pasted ones.

A composite asks its holdouts for one thing, the mask of a background frame (`HoldoutMasks.mask_for`,
the shape of `MaskSet.mask_for`): a mask folder or zip (`--holdout-mask`) is one source, the masks of
a background tracked into its own project are another (`FrameMasks` over `Project.frame_masks`), and
`UnitedHoldouts` puts several together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from sam2_gradio.compositor.placement import Box
from sam2_gradio.media.mask_files import ObjectMask, tight_mask


class HoldoutMasks(Protocol):
    """Masks of the background's frames (a `MaskSet` is one)."""

    def mask_for(self, frame: int, obj_ids: Sequence[int] | None, size: tuple[int, int]) -> ObjectMask | None:
        """Union of the masks of `obj_ids` (all when None) on background frame `frame`, at `size` =
        (width, height), cropped to its tight box; None when there is none."""


@dataclass(frozen=True)
class FrameMasks:
    """Holdouts read frame by frame from a function: frame -> {obj_id: bool (H, W) mask}, such as
    `Project.frame_masks` (a tracked background) or `InteractiveSession.masks_on` (its clicks' masks)."""

    masks_of: Callable[[int], Mapping[int, np.ndarray]]

    def mask_for(self, frame: int, obj_ids: Sequence[int] | None, size: tuple[int, int]) -> ObjectMask | None:
        """As `HoldoutMasks.mask_for`; masks of another size are resized (nearest) to `size`."""
        masks = [
            mask for obj_id, mask in self.masks_of(frame).items() if obj_ids is None or obj_id in obj_ids
        ]
        if not masks:
            return None
        coverage = np.logical_or.reduce(masks).astype(np.uint8) * np.uint8(255)
        if (coverage.shape[1], coverage.shape[0]) != tuple(size):
            coverage = cv2.resize(coverage, tuple(size), interpolation=cv2.INTER_NEAREST)
        return tight_mask(coverage)


@dataclass(frozen=True)
class UnitedHoldouts:
    """Several holdout sources as one: on each frame, the union of their masks."""

    sources: tuple[HoldoutMasks, ...]

    def mask_for(self, frame: int, obj_ids: Sequence[int] | None, size: tuple[int, int]) -> ObjectMask | None:
        """As `HoldoutMasks.mask_for`: the largest alpha of any source at each pixel."""
        masks = [
            mask for source in self.sources if (mask := source.mask_for(frame, obj_ids, size)) is not None
        ]
        return unite(masks)


def unite(masks: Sequence[ObjectMask]) -> ObjectMask | None:
    """The union of `masks` (each alpha over its box) over the box around them all: at each pixel the
    largest alpha; None for no mask, the mask itself for one."""
    if len(masks) <= 1:
        return masks[0] if masks else None
    box = Box(
        min(mask.box.x0 for mask in masks),
        min(mask.box.y0 for mask in masks),
        max(mask.box.x1 for mask in masks),
        max(mask.box.y1 for mask in masks),
    )
    alpha = np.zeros((box.height, box.width), np.float32)
    for mask in masks:
        rows = slice(mask.box.y0 - box.y0, mask.box.y1 - box.y0)
        cols = slice(mask.box.x0 - box.x0, mask.box.x1 - box.x0)
        np.maximum(alpha[rows, cols], mask.alpha, out=alpha[rows, cols])
    return ObjectMask(alpha, box)


def united(*sources: HoldoutMasks | None) -> HoldoutMasks | None:
    """The given sources (None ones left out) as one: None for none, the source itself for one."""
    present = tuple(source for source in sources if source is not None)
    if len(present) <= 1:
        return present[0] if present else None
    return UnitedHoldouts(present)
