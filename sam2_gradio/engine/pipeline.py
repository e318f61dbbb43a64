"""Segment a video in one call: propagate the clicks, export the masks, render the preview, zip.

This is the whole segmentation flow without any UI, as the CLI, the app and scripts use it:

    model = get_shared_model(ModelSettings(model_size="tiny"))
    source = open_frames("clip.mp4")
    prompts = load_prompt_state("interactive_state.json", source.meta)
    result = segment_video(model, source, prompts, "masks/", preview_path="preview.mp4")
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from sam2_gradio import config
from sam2_gradio.engine.export_formats import ExportedFiles, ExportFormats, TrackedMasks, write_exports
from sam2_gradio.engine.exports import MaskExporter, render_preview, zip_masks
from sam2_gradio.engine.model import PredictorLender
from sam2_gradio.engine.prompts import PromptState
from sam2_gradio.engine.propagation import propagate
from sam2_gradio.jobs import CancelFlag, Progress, ProgressCallback
from sam2_gradio.media.frames import FrameSource


@dataclass(frozen=True)
class SegmentResult:
    """What a segmentation run produced and how fast."""

    mask_dir: Path  # per_object/ and combined/ mask PNGs
    preview: Path | None  # masks drawn over the video, when asked for
    masks_zip: Path | None  # both mask folders zipped, when asked for
    obj_ids: list[int]  # the tracked objects
    frames_tracked: int  # frames the model produced masks for
    seconds: float  # wall time of the propagation
    fps: float  # frames tracked per second
    exported: ExportedFiles = ExportedFiles()  # COCO JSON, DAVIS PNGs, alpha video, when asked for


def _staged(progress: ProgressCallback | None, stage: str) -> ProgressCallback | None:
    if progress is None:
        return None
    return lambda report: progress(replace(report, stage=stage))


def segment_video(
    model: PredictorLender,
    source: FrameSource,
    prompts: PromptState,
    mask_dir: str | Path,
    *,
    preview_path: str | Path | None = None,
    zip_path: str | Path | None = None,
    fps: float | None = None,
    direction: str = "forward",
    batch_size: int = config.DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    exports: ExportFormats | None = None,
) -> SegmentResult:
    """Propagate `prompts` through `source` and write masks (and optionally a preview, a zip, `exports`).

    Masks are written while propagating, into a partial folder moved to `mask_dir` at the end; a
    failed or cancelled run (`jobs.Cancelled`) leaves `mask_dir`, `preview_path` and `zip_path` as
    they were. `exports` (COCO JSON, DAVIS PNGs, alpha video) are checked before propagating and
    written from the masks kept as RLE, with the objects' names. `progress` gets `Progress` reports with
    stage "propagate", then "preview", then "alpha video".
    """
    obj_ids = prompts.prompted_objects()
    exports = exports or ExportFormats()
    exports.check(obj_ids)
    tracked = TrackedMasks(source.meta, obj_ids) if exports.wanted else None
    started = time.perf_counter()
    frames_tracked = 0
    on_frame = tracked.add if tracked is not None else None
    with MaskExporter(mask_dir, source.meta, obj_ids, on_frame=on_frame) as exporter:
        for frame, frame_obj_ids, masks in propagate(
            model,
            source,
            prompts,
            direction=direction,
            batch_size=batch_size,
            progress=_staged(progress, "propagate"),
            cancel=cancel,
        ):
            exporter.write(frame, frame_obj_ids, masks)
            frames_tracked += 1
        seconds = time.perf_counter() - started
        mask_dir = exporter.finish()
    preview = None
    if preview_path is not None:
        preview = render_preview(
            source,
            mask_dir,
            obj_ids,
            preview_path,
            fps=fps,
            progress=_staged(progress, "preview"),
            cancel=cancel,
        )
    masks_zip = zip_masks(mask_dir, zip_path) if zip_path is not None else None
    exported = ExportedFiles()
    if tracked is not None:
        exported = write_exports(
            exports,
            source,
            tracked,
            names=prompts.names,
            progress=_staged(progress, "alpha video"),
            cancel=cancel,
        )
    return SegmentResult(
        mask_dir=Path(mask_dir),
        preview=preview,
        masks_zip=masks_zip,
        obj_ids=obj_ids,
        frames_tracked=frames_tracked,
        seconds=seconds,
        fps=frames_tracked / seconds if seconds > 0 else 0.0,
        exported=exported,
    )


__all__ = ["Progress", "SegmentResult", "segment_video"]
