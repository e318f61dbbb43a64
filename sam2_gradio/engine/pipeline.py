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
from sam2_gradio.engine.exports import MaskExporter, partial_file, render_preview, zip_masks
from sam2_gradio.engine.model import PredictorLender
from sam2_gradio.engine.prompts import PromptState
from sam2_gradio.engine.propagation import propagate
from sam2_gradio.jobs import BadInput, CancelFlag, Progress, ProgressCallback
from sam2_gradio.media.frames import FrameSource
from sam2_gradio.media.video import check_output_video


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


def check_outputs(
    mask_dir: str | Path, *, preview_path: str | Path | None = None, zip_path: str | Path | None = None
) -> None:
    """Check the output paths of a segmentation before any work starts.

    Raises:
        ValueError: the mask folder is a file, the preview is not a writable video name (see
            `media.video.check_output_video`), the zip's folder is missing or the zip is a folder, or two
            outputs are the same path or one lies inside the mask folder (it would be replaced with it).
    """
    mask_dir = Path(mask_dir).absolute()
    if mask_dir.exists() and not mask_dir.is_dir():
        raise BadInput(f"mask folder {mask_dir.name} is an existing file")
    others = {}
    if preview_path is not None:
        check_output_video(preview_path)
        others["preview"] = Path(preview_path).absolute()
    if zip_path is not None:
        zip_path = Path(zip_path).absolute()
        if not zip_path.parent.is_dir():
            raise BadInput(f"the folder of the zip {zip_path.name} does not exist")
        if zip_path.is_dir():
            raise BadInput(f"zip {zip_path.name} is an existing folder")
        others["zip"] = zip_path
    if len(set(others.values())) < len(others):
        raise BadInput("the preview and the zip must be different files")
    for what, path in others.items():
        if path.is_relative_to(mask_dir):
            raise BadInput(f"the {what} {path.name} must not be inside the mask folder {mask_dir.name}")


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
    """Propagate `prompts` through `source` and write masks (and optionally a preview and a zip).

    Every output path is checked first (`check_outputs`). Masks are written while propagating into a
    partial folder, the preview and the zip into partial files beside theirs; all three are moved into
    place together at the end, so a failed or cancelled run (`jobs.Cancelled`) leaves `mask_dir`,
    `preview_path` and `zip_path` as they were. `exports` (COCO JSON, DAVIS PNGs, alpha video) are
    checked first too, and written once the masks are in place, each atomically, from the masks kept
    as RLE while propagating, with the objects' names. `progress` gets `Progress` reports with stage
    "propagate", then "preview", then "alpha video".
    """
    check_outputs(mask_dir, preview_path=preview_path, zip_path=zip_path)
    obj_ids = prompts.prompted_objects()
    exports = exports or ExportFormats()
    exports.check(obj_ids)
    tracked = TrackedMasks(source.meta, obj_ids) if exports.wanted else None
    on_frame = tracked.add if tracked is not None else None
    started = time.perf_counter()
    frames_tracked = 0
    preview_partial = partial_file(preview_path) if preview_path is not None else None
    zip_partial = partial_file(zip_path) if zip_path is not None else None
    staged = [(preview_partial, preview_path), (zip_partial, zip_path)]
    try:
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
            written = exporter.finish()
            if preview_partial is not None:
                render_preview(
                    source,
                    written,
                    obj_ids,
                    preview_partial,
                    fps=fps,
                    progress=_staged(progress, "preview"),
                    cancel=cancel,
                )
            if zip_partial is not None:
                zip_masks(written, zip_partial)
            for partial, final in staged:  # publish all three together
                if partial is not None:
                    partial.replace(final)
            mask_dir = exporter.publish()
    finally:
        for partial, _ in staged:
            if partial is not None:
                partial.unlink(missing_ok=True)
    preview = Path(preview_path) if preview_path is not None else None
    masks_zip = Path(zip_path) if zip_path is not None else None
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


__all__ = ["Progress", "SegmentResult", "check_outputs", "segment_video"]
