"""Image features kept from one use of SAM 2 for the next, so a frame goes through the encoder once.

SAM 2's image encoder takes most of a frame's time (at 1024 px on a CPU about nine tenths), and its
output depends on the frame alone. A `FeatureStore` keeps each frame's backbone features, as the model
produced them (its dtype: bf16 under autocast), in CPU memory under a budget in MiB
(`config.FEATURE_STORE_MB`). A propagation that is given the store lends SAM 2 the features of every
frame kept and keeps those it computes, so propagating again after a correction skips the encoder for
every kept frame, with the same masks. Clicks use the same store (`InteractiveSession.features`).

When full, the least recently used frame is dropped first, except that a scan (one propagation) never
drops a frame it used itself: a video longer than the budget keeps its first frames, instead of each new
frame pushing out the one the next run needs first.

A store belongs to one video (its owner, e.g. an `InteractiveSession`, is made per video) and to one
model: used with another predictor, device or autocast dtype, or a video of another size, it starts empty.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any

import torch

from sam2_gradio import config

CPU = torch.device("cpu")
MIB = 2**20

Entry = tuple[torch.Tensor, ...]  # one frame's "backbone_fpn" levels, on the CPU


def _autocast_dtype(device: torch.device) -> torch.dtype | None:
    if device.type in ("cuda", "cpu") and torch.is_autocast_enabled(device.type):
        return torch.get_autocast_dtype(device.type)
    return None


class FeatureStore:
    """Frame -> SAM 2 backbone features, in CPU memory, at most `budget_mb` MiB of them."""

    def __init__(self, budget_mb: float = config.FEATURE_STORE_MB) -> None:
        if budget_mb < 0:
            raise ValueError(f"the feature budget must be at least 0 MiB, got {budget_mb}")
        self.budget_bytes = int(budget_mb * MIB)  # the most the kept features may take
        self._entries: OrderedDict[int, Entry] = OrderedDict()  # frame -> features, least recent first
        self._used_by: dict[int, int] = {}  # frame -> the scan that last used it
        self._position_encoding: list[torch.Tensor] | None = None  # the same for every frame
        self._owner: tuple[Any, ...] | None = None  # (predictor ref, device, autocast dtype, video)
        self._last_scan = 0  # the token of the latest propagation
        self.nbytes = 0  # bytes of the kept features

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, frame: int) -> bool:
        return frame in self._entries

    def new_scan(self) -> int:
        """A token for one propagation: frames it uses are not dropped to make room for its later ones."""
        self._last_scan += 1
        return self._last_scan

    def clear(self) -> None:
        """Drop every kept feature."""
        self._entries.clear()
        self._used_by.clear()
        self._position_encoding = None
        self.nbytes = 0

    def lend(
        self, predictor: Any, state: dict[str, Any], frames: list[int], *, scan: int | None = None
    ) -> None:
        """Make the features of `frames` SAM 2's cached features in `state`, on the model's device.

        Those kept here are lent; those `state` already caches stay; no other frame stays cached.
        """
        self._check_owner(predictor, state)
        cached, lent = state["cached_features"], {}
        for frame in frames:
            if frame in self._entries:
                self._touch(frame, scan)
                lent[frame] = self._as_cached(predictor, state["device"], self._entries[frame])
            elif frame in cached:
                lent[frame] = cached[frame]
        state["cached_features"] = lent

    def keep(self, predictor: Any, state: dict[str, Any], *, scan: int | None = None) -> None:
        """Keep the features SAM 2 cached in `state` (copied to the CPU), as the budget allows."""
        self._check_owner(predictor, state)
        for frame, (_, backbone_out) in state["cached_features"].items():
            if frame in self._entries:
                self._touch(frame, scan)
                continue
            levels = tuple(level.to(CPU) for level in backbone_out["backbone_fpn"])
            if self._add(frame, levels, scan) and self._position_encoding is None:
                self._position_encoding = [pos[:1].to(CPU) for pos in backbone_out["vision_pos_enc"]]

    def only(self, frames: list[int]) -> FeatureStore:
        """A store holding the kept features of `frames` alone (the same tensors, not copies).

        It pickles without the position encodings (rebuilt from the model where it is used): what a
        call in another process (a ZeroGPU worker) is sent, and sends back for `absorb`.
        """
        part = FeatureStore(self.budget_bytes / MIB)
        for frame in frames:
            if frame in self._entries:
                part._add(frame, self._entries[frame], None)
        return part

    def absorb(self, other: FeatureStore) -> None:
        """Keep the features `other` holds that this store lacks, as the budget allows."""
        for frame, levels in other._entries.items():
            if frame not in self._entries:
                self._add(frame, levels, None)

    def __getstate__(self) -> dict[str, Any]:
        # the owner holds a weak reference, and the position encodings are as large as the features
        return {**self.__dict__, "_owner": None, "_position_encoding": None}

    def _add(self, frame: int, levels: Entry, scan: int | None) -> bool:
        """Keep `levels` as the features of `frame` if room can be made; whether they were kept."""
        size = sum(level.nbytes for level in levels)
        if not self._make_room(size, scan):
            return False
        self._entries[frame] = levels
        self.nbytes += size
        self._touch(frame, scan)
        return True

    def _touch(self, frame: int, scan: int | None) -> None:
        self._entries.move_to_end(frame)
        self._used_by[frame] = scan or 0

    def _make_room(self, size: int, scan: int | None) -> bool:
        """Drop least recently used frames (not those of `scan`) until `size` more bytes fit."""
        while self.nbytes + size > self.budget_bytes:
            droppable = next((f for f in self._entries if scan is None or self._used_by[f] != scan), None)
            if droppable is None:
                return False
            self.nbytes -= sum(level.nbytes for level in self._entries.pop(droppable))
            del self._used_by[droppable]
        return True

    def _as_cached(self, predictor: Any, device: torch.device, levels: Entry) -> tuple[Any, dict]:
        """An entry of SAM 2's `cached_features`: (image, backbone output) on `device`.

        SAM 2 only expands the image alongside the features and never reads it, so a stand-in of the
        right shape that takes no memory is lent instead.
        """
        fpn = [level.to(device) for level in levels]
        if self._position_encoding is None:  # kept elsewhere (`only`): they depend on the map sizes alone
            encode = predictor.image_encoder.neck.position_encoding
            self._position_encoding = [encode(level[:1]).to(level.dtype).to(CPU) for level in fpn]
        size = predictor.image_size
        image = torch.zeros((), device=device).expand(1, 3, size, size)
        backbone_out = {
            "vision_features": fpn[-1],
            "vision_pos_enc": [pos.to(device) for pos in self._position_encoding],
            "backbone_fpn": fpn,
        }
        return image, backbone_out

    def _check_owner(self, predictor: Any, state: dict[str, Any]) -> None:
        """Start empty when the model, its device or dtype, or the video's size is not the kept one.

        A store not used yet (new, or from `only` and unpickled) takes the model it is first used with.
        """
        device = state["device"]
        video = (state["num_frames"], state["video_width"], state["video_height"])
        owner = (weakref.ref(predictor), device, _autocast_dtype(device), video)
        if self._owner is not None and owner != self._owner:
            self.clear()
        self._owner = owner
