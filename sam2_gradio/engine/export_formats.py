"""Mask exports that other tools read: YouTube-VIS JSON, DAVIS indexed PNGs, videos with alpha.

Each is written from `TrackedMasks`, the masks of a propagation kept as COCO compressed RLE (a few
kilobytes per object and frame), which `MaskExporter` fills while it writes the PNGs, so nothing is
decoded from PNG again:

- `write_youtube_vis`: ``{"videos", "categories", "annotations"}`` with one ``segmentations`` entry
  per frame (compressed RLE, null where the object is absent), ``bboxes`` and ``areas``; pycocotools'
  ``mask.decode`` reads it.
- `write_davis_pngs`: ``00000.png, ...``, palette PNGs whose pixel value is the object id (SAM 2's
  ``tools/vos_inference.py`` and the DAVIS evaluation read them).
- `write_alpha_video`: the objects on transparency, ``.webm`` (VP9) or ``.mov`` (ProRes 4444).
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sam2_gradio import config
from sam2_gradio.compositor.blend import feather_alpha
from sam2_gradio.engine.exports import partial_sibling, replace_path
from sam2_gradio.jobs import BadInput, CancelFlag, ProgressCallback, ProgressMeter, raise_if_cancelled
from sam2_gradio.media.frames import FrameSource, VideoMeta
from sam2_gradio.media.mask_files import indexed_mask_name, save_indexed_png
from sam2_gradio.media.rle import CompressedRle
from sam2_gradio.media.video import ALPHA_PIXEL_FORMAT, VideoWriter, check_alpha_video_path

MAX_INDEXED_OBJECT_ID = 255  # an indexed PNG stores object ids as 8-bit pixel values
ALPHA_REPORT_EVERY = 10  # frames between progress reports of the alpha video


class TrackedMasks:
    """Every object's mask on every frame of one video, as COCO compressed RLE.

    `add` may be called from a writer thread while the caller reads other frames.
    """

    def __init__(self, meta: VideoMeta, obj_ids: Sequence[int]) -> None:
        self.meta = meta  # the video the masks belong to
        self.obj_ids = list(obj_ids)  # the objects, in export order
        self._frames: dict[int, dict[int, CompressedRle]] = {}  # frame -> obj -> mask
        self._lock = threading.Lock()

    def add(self, frame: int, by_object: dict[int, np.ndarray]) -> None:
        """Keep the bool (H, W) masks of `frame`; objects left out or empty have no mask there."""
        encoded = {obj_id: CompressedRle.from_mask(mask) for obj_id, mask in by_object.items() if mask.any()}
        with self._lock:
            self._frames[frame] = encoded

    def put(self, frame: int, rles: dict[int, CompressedRle]) -> None:
        """Keep the already encoded masks of `frame` (objects left out have no mask there)."""
        with self._lock:
            self._frames[frame] = dict(rles)

    def rle(self, frame: int, obj_id: int) -> CompressedRle | None:
        """The mask of `obj_id` on `frame`, or None when it has none."""
        with self._lock:
            return self._frames.get(frame, {}).get(obj_id)

    def mask(self, frame: int, obj_id: int) -> np.ndarray:
        """The bool (H, W) mask of `obj_id` on `frame` (all False when it has none)."""
        rle = self.rle(frame, obj_id)
        if rle is None:
            return np.zeros((self.meta.height, self.meta.width), dtype=bool)
        return rle.to_mask()


    def masks_of(self, frame: int) -> np.ndarray:
        """The bool (objects, H, W) masks of every object on `frame`, in `obj_ids` order."""
        meta = self.meta
        masks = np.zeros((len(self.obj_ids), meta.height, meta.width), dtype=bool)
        for index, obj_id in enumerate(self.obj_ids):
            rle = self.rle(frame, obj_id)
            if rle is not None:
                masks[index] = rle.to_mask()
        return masks


@dataclass(frozen=True)
class ExportFormats:
    """Which of these exports a segmentation run writes, and how; a None path is not written."""

    coco_path: Path | None = None  # YouTube-VIS style JSON with COCO RLE masks
    davis_dir: Path | None = None  # one DAVIS palette PNG per frame
    alpha_video_path: Path | None = None  # .webm (VP9) or .mov (ProRes 4444) with alpha
    alpha_objects: tuple[int, ...] | None = None  # objects shown in the alpha video (None: all)
    feather: int = config.DEFAULT_FEATHER  # soft edge of the alpha video, pixels

    @property
    def wanted(self) -> bool:
        """True when at least one export is asked for."""
        return any(path is not None for path in (self.coco_path, self.davis_dir, self.alpha_video_path))

    def check(self, obj_ids: Sequence[int]) -> None:
        """Refuse (`BadInput`) options that would fail only after a long propagation."""
        if self.davis_dir is not None and any(not 1 <= obj <= MAX_INDEXED_OBJECT_ID for obj in obj_ids):
            raise BadInput(f"DAVIS PNGs hold object ids 1 to {MAX_INDEXED_OBJECT_ID}; got {list(obj_ids)}")
        for path in (self.coco_path, self.alpha_video_path):
            if path is not None and not Path(path).parent.is_dir():
                raise BadInput(f"output folder {Path(path).parent} does not exist")
        if self.alpha_video_path is None:
            return
        try:
            check_alpha_video_path(self.alpha_video_path)
        except ValueError as error:
            raise BadInput(str(error)) from None
        unknown = sorted(set(self.alpha_objects or ()) - set(obj_ids))
        if unknown:
            raise BadInput(f"alpha video objects {unknown} are not among the tracked objects {list(obj_ids)}")
        if self.feather < 0:
            raise BadInput(f"feather must be >= 0 pixels, got {self.feather}")


@dataclass(frozen=True)
class ExportedFiles:
    """What `write_exports` wrote (None: not asked for)."""

    coco: Path | None = None
    davis_dir: Path | None = None
    alpha_video: Path | None = None


def write_exports(
    formats: ExportFormats,
    source: FrameSource,
    tracked: TrackedMasks,
    *,
    names: dict[int, str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> ExportedFiles:
    """Write every export `formats` asks for from `tracked` (the alpha video also reads `source`)."""
    formats.check(tracked.obj_ids)
    video_name = Path(getattr(source, "path", "video")).stem or "video"
    coco = (
        write_youtube_vis(formats.coco_path, tracked, names=names, video_name=video_name)
        if (formats.coco_path is not None)
        else None
    )
    davis = write_davis_pngs(formats.davis_dir, tracked) if formats.davis_dir is not None else None
    alpha = None
    if formats.alpha_video_path is not None:
        alpha = write_alpha_video(
            formats.alpha_video_path,
            source,
            tracked,
            obj_ids=formats.alpha_objects,
            feather=formats.feather,
            progress=progress,
            cancel=cancel,
        )
    return ExportedFiles(coco=coco, davis_dir=davis, alpha_video=alpha)


# --- YouTube-VIS JSON -------------------------------------------------------------------------------


def youtube_vis(
    tracked: TrackedMasks, *, names: dict[int, str] | None = None, video_name: str = "video"
) -> dict:
    """The masks as a YouTube-VIS style dataset of one video (see the module docstring).

    Objects with the same name share a category; unnamed objects are in category "object". Each
    annotation's ``id`` is the object id.
    """
    names = names or {}
    meta = tracked.meta
    category_names = list(dict.fromkeys(names.get(obj_id) or "object" for obj_id in tracked.obj_ids))
    category_ids = {name: index + 1 for index, name in enumerate(category_names)}
    annotations = []
    for obj_id in tracked.obj_ids:
        rles = [tracked.rle(frame, obj_id) for frame in range(meta.num_frames)]
        annotations.append(
            {
                "id": obj_id,
                "video_id": 1,
                "category_id": category_ids[names.get(obj_id) or "object"],
                "iscrowd": 0,
                "width": meta.width,
                "height": meta.height,
                "length": 1,
                "segmentations": [rle.to_coco() if rle else None for rle in rles],
                "bboxes": [_bbox(rle) if rle else None for rle in rles],
                "areas": [rle.area() if rle else None for rle in rles],
            }
        )
    return {
        "info": {"description": "SAM 2 masks exported by sam2-gradio"},
        "videos": [
            {
                "id": 1,
                "width": meta.width,
                "height": meta.height,
                "length": meta.num_frames,
                "fps": meta.fps,
                "file_names": [f"{video_name}/{frame:05d}.jpg" for frame in range(meta.num_frames)],
            }
        ],
        "categories": [
            {"id": category_ids[name], "name": name, "supercategory": "object"} for name in category_names
        ],
        "annotations": annotations,
    }


def _bbox(rle: CompressedRle) -> list[float]:
    """COCO box [x, y, width, height] of a non-empty mask."""
    rows, columns = np.nonzero(rle.to_mask())
    x0, y0 = int(columns.min()), int(rows.min())
    return [float(x0), float(y0), float(columns.max() + 1 - x0), float(rows.max() + 1 - y0)]


def write_youtube_vis(
    path: str | Path, tracked: TrackedMasks, *, names: dict[int, str] | None = None, video_name: str = "video"
) -> Path:
    """Write `youtube_vis(...)` as JSON to `path` (atomically) and return it."""
    path = Path(path)
    partial = partial_sibling(path)
    try:
        partial.write_text(json.dumps(youtube_vis(tracked, names=names, video_name=video_name)))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


# --- DAVIS indexed PNGs -----------------------------------------------------------------------------


def indexed_labels(masks: dict[int, np.ndarray], height: int, width: int) -> np.ndarray:
    """One ``uint8`` (H, W) image of object ids from bool masks; where masks overlap the lower id wins.

    As ``put_per_obj_mask`` in SAM 2's ``tools/vos_inference.py``.
    """
    labels = np.zeros((height, width), dtype=np.uint8)
    for obj_id in sorted(masks, reverse=True):
        if not 1 <= obj_id <= MAX_INDEXED_OBJECT_ID:
            raise ValueError(f"object id {obj_id} does not fit an indexed PNG (1 to {MAX_INDEXED_OBJECT_ID})")
        labels[masks[obj_id]] = obj_id
    return labels


def write_davis_pngs(davis_dir: str | Path, tracked: TrackedMasks) -> Path:
    """Write one DAVIS palette PNG per frame (``00000.png``, ...) into `davis_dir`, replacing it."""
    davis_dir = Path(davis_dir)
    davis_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_sibling(davis_dir)
    partial.mkdir()
    try:
        meta = tracked.meta
        for frame in range(meta.num_frames):
            masks = {obj_id: tracked.mask(frame, obj_id) for obj_id in tracked.obj_ids}
            save_indexed_png(
                partial / indexed_mask_name(frame), indexed_labels(masks, meta.height, meta.width)
            )
        replace_path(partial, davis_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return davis_dir


# --- video with alpha -------------------------------------------------------------------------------


def alpha_frame(frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """RGBA ``uint8`` (H, W, 4) from RGB ``uint8`` (H, W, 3) and ``float32`` (H, W) alpha in [0, 1].

    Colour is kept where alpha > 0 and set to black where the pixel is fully transparent.
    """
    coverage = np.round(alpha * 255).astype(np.uint8)
    rgba = np.empty((*frame.shape[:2], 4), dtype=np.uint8)
    rgba[:, :, :3] = frame * (coverage > 0)[:, :, None]
    rgba[:, :, 3] = coverage
    return rgba


def write_alpha_video(
    path: str | Path,
    source: FrameSource,
    tracked: TrackedMasks,
    *,
    obj_ids: Sequence[int] | None = None,
    feather: int = config.DEFAULT_FEATHER,
    fps: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> Path:
    """Encode the objects `obj_ids` (all when None) of `source` on transparency to `path`.

    ``.webm`` gives VP9 with alpha, ``.mov`` ProRes 4444; the video's size and fps (or `fps`). Edges are
    softened inwards over `feather` pixels as the compositor does (`blend.feather_alpha`).
    """
    selected = list(tracked.obj_ids if obj_ids is None else obj_ids)
    ExportFormats(alpha_video_path=Path(path), alpha_objects=tuple(selected), feather=feather).check(
        tracked.obj_ids
    )
    meta = source.meta
    meter = ProgressMeter(meta.num_frames, ALPHA_REPORT_EVERY, progress)
    with VideoWriter(path, fps=fps or meta.fps, pixel_format=ALPHA_PIXEL_FORMAT) as writer:
        for index, frame in enumerate(source.read(0, meta.num_frames)):
            raise_if_cancelled(cancel, "alpha video")
            union = np.zeros((meta.height, meta.width), dtype=bool)
            for obj_id in selected:
                union |= tracked.mask(index, obj_id)
            writer.write(alpha_frame(frame, feather_alpha(union.astype(np.float32), feather)))
            meter.frame_done()
    return Path(path)
