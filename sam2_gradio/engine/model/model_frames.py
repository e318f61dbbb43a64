"""Frames as SAM 2 sees them, decoded batch by batch instead of all at once.

SAM 2's `init_state` loads every frame of a video as a normalised float tensor (12 MiB each at 1024 px).
`ModelFrames` is a drop-in for that list: indexing it returns the same tensor SAM 2's JPEG loader
would (PIL resize, /255, ImageNet mean and std), but only one batch of frames, plus the next one being
decoded in a background thread, is ever held.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image

from sam2_gradio.errors import BadInput, VideoReadError
from sam2_gradio.media.frames import FrameSource

IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)

Batch = dict[int, np.ndarray]  # frame -> RGB uint8 resized to the model input


def resize_for_model(frame: np.ndarray, image_size: int) -> np.ndarray:
    """Resize an RGB uint8 (H, W, 3) frame to (image_size, image_size, 3) exactly as SAM 2's loader does."""
    return np.asarray(Image.fromarray(frame).resize((image_size, image_size)))


def to_model_tensor(resized: np.ndarray, device: torch.device) -> torch.Tensor:
    """Normalise a resized RGB uint8 frame into SAM 2's (3, S, S) float32 input on `device`."""
    tensor = torch.from_numpy(resized / 255.0).permute(2, 0, 1).to(device=device, dtype=torch.float32)
    mean = torch.tensor(IMAGE_MEAN, dtype=torch.float32, device=device)[:, None, None]
    std = torch.tensor(IMAGE_STD, dtype=torch.float32, device=device)[:, None, None]
    return (tensor - mean) / std


class ModelFrames:
    """A list-like view of `source` for SAM 2's predictor, decoded `batch_size` frames at a time.

    Frames are expected in the order `reverse` says (ascending, or descending); a miss loads the batch
    that starts at the missed frame, and the following batch is decoded in the background meanwhile.
    """

    def __init__(
        self,
        source: FrameSource,
        image_size: int,
        device: torch.device,
        *,
        batch_size: int = 1,
        reverse: bool = False,
        prefetch: bool = True,
    ) -> None:
        if batch_size < 1:
            raise BadInput(f"batch_size must be at least 1, got {batch_size}")
        self.source = source  # where frames are decoded from
        self.image_size = image_size  # side of the square model input
        self.device = device  # where the returned tensors live
        self.batch_size = batch_size  # frames decoded per batch
        self.reverse = reverse  # True when frames are visited in descending order
        self._batch: Batch = {}  # the frames of the current batch
        self._pinned: Batch = {}  # frames kept outside the batch window (prompted frames)
        self._next: tuple[int, Future[Batch]] | None = None  # (first frame, pending batch)
        self._forward_reader: tuple[int, Iterator[np.ndarray]] | None = None  # (next frame, open reader)
        self._executor = ThreadPoolExecutor(max_workers=1) if prefetch else None

    def __len__(self) -> int:
        return self.source.meta.num_frames

    def __getitem__(self, index: int) -> torch.Tensor:
        return to_model_tensor(self._frame(index), self.device)

    def pin(self, indices: list[int]) -> None:
        """Decode `indices` now and keep them until `unpin` (used for the prompted frames)."""
        for index in sorted(set(indices) - set(self._pinned)):
            self._pinned.update(self._decode(index, self.source.read(index, index + 1)))

    def unpin(self) -> None:
        """Forget the pinned frames."""
        self._pinned.clear()

    def close(self) -> None:
        """Stop the background decoder and drop every held frame."""
        self._batch.clear()
        self._pinned.clear()
        self._next = None
        self._forward_reader = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def _frame(self, index: int) -> np.ndarray:
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} is outside the video (0 to {len(self) - 1})")
        if index in self._pinned:
            return self._pinned[index]
        if index not in self._batch:
            self._batch = self._take_batch_starting_at(index)
            self._prefetch_after(index)
        return self._batch[index]

    def _batch_range(self, first: int) -> tuple[int, int]:
        if self.reverse:
            return max(first - self.batch_size + 1, 0), first + 1
        return first, min(first + self.batch_size, len(self))

    def _take_batch_starting_at(self, first: int) -> Batch:
        pending, self._next = self._next, None
        if pending is not None:
            batch = pending[1].result()  # also waits until the decoder thread lets go of the reader
            if pending[0] == first:
                return batch
        return self._load(*self._batch_range(first))

    def _prefetch_after(self, first: int) -> None:
        start, stop = self._batch_range(first)
        following = start - 1 if self.reverse else stop
        if self._executor is None or not 0 <= following < len(self):
            return
        self._next = (following, self._executor.submit(self._load, *self._batch_range(following)))

    def _load(self, start: int, stop: int) -> Batch:
        frames = self.source.read(start, stop) if self.reverse else self._read_forward(start, stop)
        batch = self._decode(start, frames)
        if len(batch) != stop - start:
            raise VideoReadError(f"frames {start} to {stop - 1} could not all be decoded")
        return batch

    def _decode(self, start: int, frames: Iterator[np.ndarray]) -> Batch:
        return {
            index: resize_for_model(frame, self.image_size)
            for index, frame in enumerate(list(frames), start=start)
        }

    def _read_forward(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Continue the open sequential reader when `start` is where it stopped, else open a new one."""
        if self._forward_reader is None or self._forward_reader[0] != start:
            self._forward_reader = (start, self.source.read(start, len(self)))
        reader = self._forward_reader[1]
        for _ in range(stop - start):
            frame = next(reader, None)
            if frame is None:
                return
            yield frame
        self._forward_reader = (stop, reader)
