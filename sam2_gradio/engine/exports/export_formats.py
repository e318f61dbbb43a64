"""Mask exports that other tools read: YouTube-VIS JSON, DAVIS indexed PNGs, videos with alpha.

Each is written from `TrackedMasks`, the masks of a propagation kept in the store's code
(`media.mask_code`, a few hundred bytes per object and frame), which `MaskExporter` fills while it writes
the PNGs, so nothing is decoded from PNG again:

- `write_youtube_vis`: ``{"videos", "categories", "annotations"}`` with one ``segmentations`` entry
  per frame (compressed RLE, null where the object is absent), ``bboxes`` and ``areas``; pycocotools'
  ``mask.decode`` reads it.
- `write_davis_pngs`: ``00000.png, ...``, palette PNGs whose pixel value is the object id (SAM 2's
  ``tools/vos_inference.py`` and the DAVIS evaluation read them).
- `write_alpha_video`: the objects on transparency, ``.webm`` (VP9) or ``.mov`` (ProRes 4444);
  `write_alpha_videos` writes several of them from one pass.
- `write_alpha_pngs`: the same frames as RGBA PNGs, ``00000.png, ...``.

Both cut the objects out with the compositor's edge stage (`compositor.edges`): ``hard`` (the mask,
feathered), ``refine`` or ``matte``, whose edge colours are the objects' own, estimated.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sam2_gradio import config
from sam2_gradio.compositor.blend import feather_alpha
from sam2_gradio.compositor.edges import EdgeHistory, check_edge, cut_out, reach
from sam2_gradio.errors import BadInput
from sam2_gradio.jobs import CancelFlag, ProgressCallback, ProgressMeter, raise_if_cancelled
from sam2_gradio.media.atomic import atomic_path
from sam2_gradio.media.frames import FrameSource, VideoMeta
from sam2_gradio.media.mask_code import MaskCode
from sam2_gradio.media.mask_files import indexed_mask_name, save_indexed_png
from sam2_gradio.media.video import ALPHA_PIXEL_FORMAT, VideoWriter, check_alpha_video_path

MAX_INDEXED_OBJECT_ID = 255  # an indexed PNG stores object ids as 8-bit pixel values
ALPHA_REPORT_EVERY = 10  # frames between progress reports of the alpha video


class TrackedMasks:
    """Every object's mask on every frame of one video, each as a `MaskCode`.

    `add` may be called from a writer thread while the caller reads other frames.
    """

    def __init__(self, meta: VideoMeta, obj_ids: Sequence[int]) -> None:
        self.meta = meta  # the video the masks belong to
        self.obj_ids = list(obj_ids)  # the objects, in export order
        self._frames: dict[int, dict[int, MaskCode]] = {}  # frame -> obj -> mask
        self._lock = threading.Lock()

    def add(self, frame: int, by_object: dict[int, np.ndarray]) -> None:
        """Keep the bool (H, W) masks of `frame`; objects left out or empty have no mask there."""
        encoded = {obj_id: MaskCode.from_mask(mask) for obj_id, mask in by_object.items() if mask.any()}
        with self._lock:
            self._frames[frame] = encoded

    def put(self, frame: int, codes: dict[int, MaskCode]) -> None:
        """Keep the already encoded masks of `frame` (objects left out have no mask there)."""
        with self._lock:
            self._frames[frame] = dict(codes)

    def code(self, frame: int, obj_id: int) -> MaskCode | None:
        """The mask of `obj_id` on `frame`, or None when it has none."""
        with self._lock:
            return self._frames.get(frame, {}).get(obj_id)

    def mask(self, frame: int, obj_id: int) -> np.ndarray:
        """The bool (H, W) mask of `obj_id` on `frame` (all False when it has none)."""
        code = self.code(frame, obj_id)
        if code is None:
            return np.zeros((self.meta.height, self.meta.width), dtype=bool)
        return code.to_mask()

    def masks_of(self, frame: int) -> np.ndarray:
        """The bool (objects, H, W) masks of every object on `frame`, in `obj_ids` order."""
        meta = self.meta
        masks = np.zeros((len(self.obj_ids), meta.height, meta.width), dtype=bool)
        for index, obj_id in enumerate(self.obj_ids):
            code = self.code(frame, obj_id)
            if code is not None:
                masks[index] = code.to_mask()
        return masks


@dataclass(frozen=True)
class ExportFormats:
    """Which of these exports a segmentation run writes, and how; a None path is not written."""

    coco_path: Path | None = None  # YouTube-VIS style JSON with COCO RLE masks
    davis_dir: Path | None = None  # one DAVIS palette PNG per frame
    alpha_video_path: Path | None = None  # .webm (VP9) or .mov (ProRes 4444) with alpha
    alpha_objects: tuple[int, ...] | None = None  # objects shown in the alpha video (None: all)
    feather: int = config.DEFAULT_FEATHER  # soft edge of the alpha video with edge "hard", pixels
    alpha_png_dir: Path | None = None  # one RGBA PNG per frame, the alpha video's frames
    edge: str = config.DEFAULT_EDGE  # edge of the alpha video and PNGs (compositor.edges.EDGE_MODES)
    edge_band: int = config.DEFAULT_EDGE_BAND  # pixels either side of the edge refine changes (matte 1.5x)

    @property
    def wanted(self) -> bool:
        """True when at least one export is asked for."""
        paths = (self.coco_path, self.davis_dir, self.alpha_video_path, self.alpha_png_dir)
        return any(path is not None for path in paths)

    def check(self, obj_ids: Sequence[int]) -> None:
        """Refuse (`BadInput`) options that would fail only after a long propagation."""
        if self.davis_dir is not None and any(not 1 <= obj <= MAX_INDEXED_OBJECT_ID for obj in obj_ids):
            raise BadInput(f"DAVIS PNGs hold object ids 1 to {MAX_INDEXED_OBJECT_ID}; got {list(obj_ids)}")
        for path in (self.coco_path, self.alpha_video_path, self.alpha_png_dir):
            if path is not None and not Path(path).parent.is_dir():
                raise BadInput(f"output folder {Path(path).parent} does not exist")
        if self.alpha_video_path is None and self.alpha_png_dir is None:
            return
        try:
            if self.alpha_video_path is not None:
                check_alpha_video_path(self.alpha_video_path)
            check_edge(self.edge, self.edge_band)
        except ValueError as error:
            raise BadInput(str(error)) from None
        unknown = sorted(set(self.alpha_objects or ()) - set(obj_ids))
        if unknown:
            raise BadInput(f"alpha video objects {unknown} are not among the tracked objects {list(obj_ids)}")
        if self.feather < 0:
            raise BadInput(f"feather must be >= 0 pixels, got {self.feather}")


@dataclass(frozen=True)
class ExportedFiles:
    """The exports a run wrote (None: not asked for)."""

    coco: Path | None = None
    davis_dir: Path | None = None
    alpha_videos: tuple[Path, ...] = ()  # one per format asked for
    alpha_pngs: Path | None = None


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
        codes = [tracked.code(frame, obj_id) for frame in range(meta.num_frames)]
        annotations.append(
            {
                "id": obj_id,
                "video_id": 1,
                "category_id": category_ids[names.get(obj_id) or "object"],
                "iscrowd": 0,
                "width": meta.width,
                "height": meta.height,
                "length": 1,
                "segmentations": [code.to_coco() if code else None for code in codes],
                "bboxes": [code.bbox() if code else None for code in codes],
                "areas": [code.area() if code else None for code in codes],
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


def write_youtube_vis(
    path: str | Path, tracked: TrackedMasks, *, names: dict[int, str] | None = None, video_name: str = "video"
) -> Path:
    """Write `youtube_vis(...)` as JSON to `path` (atomically) and return it."""
    path = Path(path)
    with atomic_path(path) as partial:
        partial.write_text(json.dumps(youtube_vis(tracked, names=names, video_name=video_name)))
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
    with atomic_path(davis_dir) as partial:
        partial.mkdir()
        meta = tracked.meta
        for frame in range(meta.num_frames):
            masks = {obj_id: tracked.mask(frame, obj_id) for obj_id in tracked.obj_ids}
            save_indexed_png(
                partial / indexed_mask_name(frame), indexed_labels(masks, meta.height, meta.width)
            )
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


def cutout_rgba(
    frame: np.ndarray,
    mask: np.ndarray,
    *,
    edge: str,
    edge_band: int,
    feather: int,
    frame_index: int | None = None,
    history: EdgeHistory | None = None,
) -> np.ndarray:
    """RGBA ``uint8`` (H, W, 4): the object of bool (H, W) ``mask`` cut out of RGB ``frame`` with edge mode
    ``edge`` (``hard``: ``alpha_frame(frame, feather_alpha(mask, feather))``, as before edges existed).

    ``refine`` and ``matte`` work on the mask's box grown by their reach; their colour is the estimated
    foreground; ``history`` and ``frame_index`` let them follow the motion from frame to frame.
    """
    if edge == "hard":
        return alpha_frame(frame, feather_alpha(mask.astype(np.float32), feather))
    rgba = np.zeros((*frame.shape[:2], 4), np.uint8)
    if not mask.any():
        return rgba
    height, width = mask.shape
    x, y, box_width, box_height = cv2.boundingRect(mask.astype(np.uint8))
    margin = reach(edge, edge_band)
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(width, x + box_width + margin), min(height, y + box_height + margin)
    cutout = cut_out(
        np.ascontiguousarray(frame[y0:y1, x0:x1]),
        mask[y0:y1, x0:x1].astype(np.float32),
        edge=edge,
        band=edge_band,
        feather=feather,
        box=(x0, y0, x1, y1),
        frame_index=frame_index,
        history=history,
    )
    rgba[y0:y1, x0:x1] = alpha_frame(cutout.foreground, cutout.alpha)
    return rgba


def alpha_frames(
    source: FrameSource,
    tracked: TrackedMasks,
    obj_ids: Sequence[int],
    *,
    edge: str,
    edge_band: int,
    feather: int,
) -> Iterator[np.ndarray]:
    """The RGBA frames of the objects `obj_ids` of `source` on transparency, one per frame (`cutout_rgba`)."""
    meta, history = source.meta, EdgeHistory()
    for index, frame in enumerate(source.read(0, meta.num_frames)):
        union = np.zeros((meta.height, meta.width), dtype=bool)
        for obj_id in obj_ids:
            union |= tracked.mask(index, obj_id)
        yield cutout_rgba(
            frame, union, edge=edge, edge_band=edge_band, feather=feather, frame_index=index, history=history
        )


def write_alpha_video(
    path: str | Path,
    source: FrameSource,
    tracked: TrackedMasks,
    *,
    obj_ids: Sequence[int] | None = None,
    feather: int = config.DEFAULT_FEATHER,
    edge: str = config.DEFAULT_EDGE,
    edge_band: int = config.DEFAULT_EDGE_BAND,
    fps: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> Path:
    """Encode the objects `obj_ids` (all when None) of `source` on transparency to `path`.

    ``.webm`` gives VP9 with alpha, ``.mov`` ProRes 4444; the video's size and fps (or `fps`). Edges as the
    compositor's (`cutout_rgba`): `edge` ``hard`` softens the mask inwards over `feather` pixels
    (`blend.feather_alpha`); ``refine`` changes `edge_band` pixels either side of the edge, ``matte`` 1.5
    times as many.
    """
    (written,) = write_alpha_videos(
        [path], source, tracked, obj_ids=obj_ids, feather=feather, edge=edge, edge_band=edge_band, fps=fps,
        progress=progress, cancel=cancel,
    )  # fmt: skip
    return written


def write_alpha_videos(
    paths: Sequence[str | Path],
    source: FrameSource,
    tracked: TrackedMasks,
    *,
    obj_ids: Sequence[int] | None = None,
    feather: int = config.DEFAULT_FEATHER,
    edge: str = config.DEFAULT_EDGE,
    edge_band: int = config.DEFAULT_EDGE_BAND,
    fps: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> list[Path]:
    """`write_alpha_video` to each of `paths` (e.g. a ``.webm`` and a ``.mov``) at once: each frame is cut
    out once and goes to every encoder, which run side by side."""
    selected = list(tracked.obj_ids if obj_ids is None else obj_ids)
    for path in paths:
        ExportFormats(
            alpha_video_path=Path(path), alpha_objects=tuple(selected), feather=feather, edge=edge,
            edge_band=edge_band,
        ).check(tracked.obj_ids)  # fmt: skip
    meta = source.meta
    meter = ProgressMeter(meta.num_frames, ALPHA_REPORT_EVERY, progress)
    frames = alpha_frames(source, tracked, selected, edge=edge, edge_band=edge_band, feather=feather)
    with ExitStack() as stack:
        writers = [
            stack.enter_context(VideoWriter(path, fps=fps or meta.fps, pixel_format=ALPHA_PIXEL_FORMAT))
            for path in paths
        ]
        for rgba in frames:
            raise_if_cancelled(cancel, "alpha video")
            for writer in writers:
                writer.write(rgba)
            meter.frame_done()
    return [Path(path) for path in paths]


def write_alpha_pngs(
    png_dir: str | Path,
    source: FrameSource,
    tracked: TrackedMasks,
    *,
    obj_ids: Sequence[int] | None = None,
    feather: int = config.DEFAULT_FEATHER,
    edge: str = config.DEFAULT_EDGE,
    edge_band: int = config.DEFAULT_EDGE_BAND,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> Path:
    """Write the frames `write_alpha_video` would encode as RGBA PNGs ``00000.png, ...`` into `png_dir`
    (replacing it; written beside it first, so a failure leaves the previous folder)."""
    selected = list(tracked.obj_ids if obj_ids is None else obj_ids)
    png_dir = Path(png_dir)
    ExportFormats(
        alpha_png_dir=png_dir, alpha_objects=tuple(selected), feather=feather, edge=edge, edge_band=edge_band
    ).check(tracked.obj_ids)
    meter = ProgressMeter(source.meta.num_frames, ALPHA_REPORT_EVERY, progress)
    with atomic_path(png_dir) as partial:
        partial.mkdir()
        frames = alpha_frames(source, tracked, selected, edge=edge, edge_band=edge_band, feather=feather)
        for index, rgba in enumerate(frames):
            raise_if_cancelled(cancel, "alpha PNGs")
            if not cv2.imwrite(
                str(partial / indexed_mask_name(index)), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)
            ):
                raise OSError(f"could not write alpha PNG {index} in {png_dir}")
            meter.frame_done()
    return png_dir
