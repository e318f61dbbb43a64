"""What propagation leaves behind: mask PNGs, a preview video, a zip and a state file, written atomically.

Layout of a mask folder (single-channel 0/255 PNGs at the video's resolution, one per frame):

    <mask_dir>/per_object/mask_00012_obj_2.png   one object
    <mask_dir>/combined/mask_00012.png           the union of all objects

A complete run has a mask for every frame (empty where nothing was tracked); a partial (cancelled) run
has masks for the frames it tracked only, its zip is named `<name>_partial.zip` and its state file says
which frames were tracked (`save_run_state`).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np

from sam2_gradio.engine.exports.overlay import draw_legend, draw_masks
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.jobs import CancelFlag, ProgressCallback, ProgressMeter, raise_if_cancelled
from sam2_gradio.media import mask_files
from sam2_gradio.media.atomic import atomic_path, publish, remove, temp_sibling
from sam2_gradio.media.frames import FrameSource, VideoMeta
from sam2_gradio.media.video import VideoWriter

PER_OBJECT_DIR = "per_object"
COMBINED_DIR = "combined"
PREVIEW_REPORT_EVERY = 10  # frames between progress reports of the preview
MAX_QUEUED_FRAMES = 8  # frames of masks waiting for the PNG writer
# Every zip entry gets this date, so the same masks always give the same zip (and one cached download).
_ZIP_ENTRY_DATE = (1980, 1, 1, 0, 0, 0)


class MaskExporter:
    """Writes per-object and union mask PNGs as frames arrive, in a background thread.

    Files go to a hidden partial folder beside `mask_dir`; `finish()` writes empty masks for frames that
    got none (unless told not to) and returns that folder, `publish()` then moves it into place,
    `abort()` deletes it. Use as a context manager: leaving the block with an exception aborts.
    """

    def __init__(self, mask_dir: str | Path, meta: VideoMeta, obj_ids: list[int]) -> None:
        self.mask_dir = Path(mask_dir)  # where the finished folder ends up
        self.meta = meta  # the video the masks belong to
        self.obj_ids = list(obj_ids)  # every object that gets a mask per frame
        self.mask_dir.parent.mkdir(parents=True, exist_ok=True)
        self._partial = temp_sibling(self.mask_dir)  # the folder being written
        (self._partial / PER_OBJECT_DIR).mkdir(parents=True)
        (self._partial / COMBINED_DIR).mkdir()
        self._written = bytearray(meta.num_frames)  # 1 for each frame already written
        self._writer = ThreadPoolExecutor(max_workers=1)  # PNG encoding overlaps the model
        self._pending: list[Future[None]] = []

    def __enter__(self) -> MaskExporter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self.abort()

    def write(self, frame: int, obj_ids: list[int], masks: np.ndarray) -> None:
        """Queue the masks (bool (objects, H, W), in `obj_ids` order) of `frame` for writing."""
        if masks.shape[0] != len(obj_ids):
            raise ValueError(f"{masks.shape[0]} masks for {len(obj_ids)} objects on frame {frame}")
        self._written[frame] = 1
        self._wait_for_backlog()
        by_object = dict(zip(obj_ids, masks, strict=True))
        self._pending.append(self._writer.submit(self._write_now, frame, by_object))

    def _wait_for_backlog(self) -> None:
        """Surface failed writes, and wait while too many frames are queued (memory stays bounded)."""
        while self._pending and (self._pending[0].done() or len(self._pending) >= MAX_QUEUED_FRAMES):
            self._pending.pop(0).result()

    def _write_now(self, frame: int, by_object: dict[int, np.ndarray]) -> None:
        empty = np.zeros((self.meta.height, self.meta.width), dtype=bool)
        union = empty.copy()
        masks = {obj_id: by_object.get(obj_id, empty) for obj_id in self.obj_ids}
        for obj_id, mask in masks.items():
            union |= mask
            mask_files.save_mask_png(
                self._partial / PER_OBJECT_DIR / mask_files.per_object_mask_name(frame, obj_id),
                mask,
                make_folders=False,  # a session folder deleted under the run is not made again
            )
        mask_files.save_mask_png(
            self._partial / COMBINED_DIR / mask_files.combined_mask_name(frame), union, make_folders=False
        )

    def finish(self, *, fill_untracked: bool = True) -> Path:
        """Write empty masks for untouched frames (if `fill_untracked`); return the (still partial) folder."""
        for frame in range(self.meta.num_frames):
            if fill_untracked and not self._written[frame]:
                self._pending.append(self._writer.submit(self._write_now, frame, {}))
        self._writer.shutdown(wait=True)
        for job in self._pending:
            job.result()  # re-raises a failed write
        return self._partial

    def publish(self) -> Path:
        """Move the finished folder to `mask_dir` (replacing what was there) and return it."""
        publish(self._partial, self.mask_dir)
        return self.mask_dir

    def abort(self) -> None:
        """Stop writing and delete the partial folder."""
        self._writer.shutdown(wait=True, cancel_futures=True)
        remove(self._partial)


class FrameMaskReader(Protocol):
    """Masks by frame, such as `export_formats.TrackedMasks` (a project's `masks()`)."""

    obj_ids: list[int]

    def masks_of(self, frame: int) -> np.ndarray: ...


def render_preview_from(
    source: FrameSource,
    masks: FrameMaskReader,
    out_path: str | Path,
    *,
    fps: float | None = None,
    frames: range | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    legend: Mapping[int, str] | None = None,
) -> Path:
    """Encode the frames of `source` with each object's mask drawn over it (H.264, browser-playable).

    `frames` (a range, default all) says which frames; `fps` defaults to the source's. `progress` gets
    a `Progress` every 10 frames; `cancel` (anything with `is_set()`) is checked per frame and leaves no
    output file. `legend` (obj_id -> label, `overlay.legend_labels`) is written in the top-left corner.
    """
    return _render_preview(
        source, lambda frame: dict(zip(masks.obj_ids, masks.masks_of(frame), strict=True)), out_path,
        fps=fps, frames=frames, progress=progress, cancel=cancel, legend=legend,
    )  # fmt: skip


def _render_preview(
    source: FrameSource,
    masks_on: Callable[[int], dict[int, np.ndarray]],
    out_path: str | Path,
    *,
    fps: float | None,
    frames: range | None,
    progress: ProgressCallback | None,
    cancel: CancelFlag | None,
    legend: Mapping[int, str] | None = None,
) -> Path:
    frames = range(source.meta.num_frames) if frames is None else frames
    if frames.step != 1 or not frames or frames.start < 0 or frames.stop > source.meta.num_frames:
        raise ValueError(f"preview frames must be a non-empty ascending range inside the video, got {frames}")
    meter = ProgressMeter(len(frames), PREVIEW_REPORT_EVERY, progress)
    with VideoWriter(out_path, fps=fps or source.meta.fps) as writer:
        for frame_index, frame in enumerate(source.read(frames.start, frames.stop), start=frames.start):
            raise_if_cancelled(cancel, "preview rendering")
            writer.write(draw_legend(draw_masks(frame, masks_on(frame_index)), legend or {}))
            meter.frame_done()
    return Path(out_path)


def zip_masks(mask_dir: str | Path, zip_path: str | Path) -> Path:
    """Pack the `per_object/` and `combined/` folders of `mask_dir` into `zip_path` (atomically)."""
    mask_dir = Path(mask_dir)
    entries = [
        (f"{folder}/{path.name}", path)
        for folder in (PER_OBJECT_DIR, COMBINED_DIR)
        for path in sorted((mask_dir / folder).glob("*.png"))
    ]
    return _zip_files(entries, Path(zip_path))


def zip_pngs(folder: str | Path, zip_path: str | Path) -> Path:
    """Pack the PNGs of `folder` (e.g. DAVIS PNGs) at the top level of `zip_path` (atomically)."""
    return _zip_files([(path.name, path) for path in sorted(Path(folder).glob("*.png"))], Path(zip_path))


def _zip_files(entries: list[tuple[str, Path]], zip_path: Path) -> Path:
    """Write `(name in the zip, file)` entries, uncompressed and dated `_ZIP_ENTRY_DATE`, to `zip_path`."""
    with (
        atomic_path(zip_path) as partial,
        zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive,
    ):
        for name, path in entries:
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_ENTRY_DATE), path.read_bytes())
    return zip_path


def save_run_state(
    prompts: PromptState, path: str | Path, *, direction: str, tracked: range, partial: bool
) -> Path:
    """Write the clicks (interactive_state.json schema) plus a "propagation" entry saying what was tracked.

    The entry is `{"direction": ..., "partial": bool, "tracked_frames": [first, stop]}` (frames
    `first <= f < stop` have masks); loading the file as a prompt state ignores it.
    """
    data = prompts.to_dict()
    data["propagation"] = {
        "direction": direction,
        "partial": partial,
        "tracked_frames": [tracked.start, tracked.stop] if tracked else [],
    }
    path = Path(path)
    with atomic_path(path) as temp:
        temp.write_text(json.dumps(data, indent=2))
    return path
