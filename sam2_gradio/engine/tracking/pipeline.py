"""Segment a video in one call: propagate the clicks, export the masks, render the preview, zip.

This is the whole segmentation flow without any UI, as the CLI, the app and scripts use it:

    model = get_shared_model(ModelSettings(model_size="tiny"))
    source = open_frames("clip.mp4")
    prompts = load_prompt_state("interactive_state.json", source.meta)
    result = segment_video(model, source, prompts, "masks/", preview_path="preview.mp4")

With `keep_partial=True` a cancelled run keeps what it tracked (`result.partial`); passing that result
back as `resume=` continues it where it stopped, giving the masks of an uninterrupted run, as long as
the clicks and the direction are the same (otherwise it starts again).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sam2_gradio import config
from sam2_gradio.engine.exports.export_formats import (
    ExportedFiles,
    ExportFormats,
    TrackedMasks,
    write_exports,
)
from sam2_gradio.engine.exports.mask_folder import (
    MaskExporter,
    partial_file,
    partial_zip_path,
    render_preview,
    save_run_state,
    zip_masks,
)
from sam2_gradio.engine.model.features import FeatureStore
from sam2_gradio.engine.model.predictor import PredictorLender
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.engine.tracking.propagation import PropagationRun, start_propagation
from sam2_gradio.engine.tracking.steps import run_steps
from sam2_gradio.errors import BadInput, GpuStopped
from sam2_gradio.jobs import CancelFlag, Cancelled, Progress, ProgressCallback, with_stage
from sam2_gradio.media.frames import FrameSource
from sam2_gradio.media.video import check_output_video


@dataclass(frozen=True)
class TrackedFrame:
    """A frame a running propagation has just tracked, as `segment_video` gives it to `watch`."""

    frame: int  # the frame
    tracked: range  # every frame tracked so far, this one included (one contiguous range)
    mask_dir: Path  # the folder being written: the masks of the frames tracked before this one are there
    masks: dict[int, np.ndarray]  # this frame's bool (H, W) mask of each object


@dataclass(frozen=True)
class SegmentResult:
    """What a segmentation run produced and how fast."""

    mask_dir: Path  # per_object/ and combined/ mask PNGs
    preview: Path | None  # masks drawn over the video, when asked for
    masks_zip: Path | None  # both mask folders zipped, when asked for (`<name>_partial.zip` if partial)
    obj_ids: list[int]  # the tracked objects
    frames_tracked: int  # frames the model produced masks for (with those of a resumed run)
    seconds: float  # wall time of this call's propagation
    fps: float  # frames tracked per second by this call
    partial: bool = False  # cancelled (or stopped): only `tracked` frames have masks
    tracked: range = range(0)  # the frames that got masks from the model (one contiguous range)
    stopped: str | None = None  # why a partial run stopped, when it was not cancelled (`GpuStopped`)
    state_file: Path | None = None  # the clicks plus what was tracked, when asked for
    run: PropagationRun | None = None  # a partial run, parked: pass this result as `resume=` to continue
    exported: ExportedFiles = ExportedFiles()  # COCO JSON, DAVIS PNGs, alpha video, when asked for



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


def _resumable(
    resume: SegmentResult | None, source: FrameSource, prompts: PromptState, direction: str
) -> bool:
    """Whether `resume` is a partial run of these clicks on this video whose masks are still on disk."""
    return (
        resume is not None
        and resume.partial
        and resume.run is not None
        and resume.run.meta == source.meta
        and resume.run.tracks(prompts, direction)
        and resume.run.tracked_frames == resume.tracked
        and resume.mask_dir.is_dir()
    )


def segment_video(
    model: PredictorLender,
    source: FrameSource,
    prompts: PromptState,
    mask_dir: str | Path,
    *,
    preview_path: str | Path | None = None,
    zip_path: str | Path | None = None,
    state_path: str | Path | None = None,
    fps: float | None = None,
    direction: str = "forward",
    batch_size: int = config.DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    exports: ExportFormats | None = None,
    keep_partial: bool = False,
    resume: SegmentResult | None = None,
    watch: Callable[[TrackedFrame], None] | None = None,
    features: FeatureStore | None = None,
) -> SegmentResult:
    """Propagate `prompts` through `source` and write masks (and optionally a preview, a zip, a state file).

    Every output path is checked first (`check_outputs`), and so are the `exports`. Masks are written
    while propagating into a partial folder, the preview and the zip into partial files beside theirs;
    all three are moved into place together at the end, so a failed run leaves `mask_dir`, `preview_path`
    and `zip_path` as they were. So does a cancelled one (`jobs.Cancelled`) unless `keep_partial`: then
    the frames tracked so far are the result (their masks, a preview of those frames,
    `<zip>_partial.zip`, the state file saying which frames were tracked) and it says `partial`; the
    same when a GPU call fails after some frames (`GpuStopped`: ZeroGPU's quota or duration ran out),
    and `stopped` says why.
    `resume` (a partial result) continues that run where it stopped when the clicks and direction are
    unchanged, giving the masks of an uninterrupted run (else it starts again). The model is held one
    step at a time; `watch` gets each tracked frame (`TrackedFrame`) as it comes. `exports` (COCO JSON,
    DAVIS PNGs, alpha video) are written once the masks are in place, from the masks kept as RLE while
    propagating, with the objects' names. `features` (the video's `FeatureStore`) lends the image
    features of the frames it keeps and keeps those computed, so a second run skips the encoder on them.
    `progress` gets `Progress` reports with stage "propagate"
    after every step, then "preview", then "alpha video".
    """
    check_outputs(mask_dir, preview_path=preview_path, zip_path=zip_path)
    obj_ids = prompts.prompted_objects()
    exports = exports or ExportFormats()
    exports.check(obj_ids)
    kept = TrackedMasks(source.meta, obj_ids) if exports.wanted else None
    run, carried_from = _run_to_continue(resume, source, prompts, direction, batch_size)
    run.features = features
    started, done_before = time.perf_counter(), run.frames_done
    staged: list[tuple[Path, Path]] = []  # (partial file, final path), published together
    try:
        with MaskExporter(
            mask_dir,
            source.meta,
            obj_ids,
            on_frame=kept.add if kept is not None else None,
            carried_from=carried_from,
            carried_frames=run.tracked_frames,
        ) as exporter:
            stopped = None
            try:
                for frame, frame_obj_ids, masks in run_steps(
                    model, run, source, progress=with_stage(progress, "propagate"), cancel=cancel
                ):
                    exporter.write(frame, frame_obj_ids, masks)
                    if watch is not None:
                        by_object = dict(zip(frame_obj_ids, masks, strict=True))
                        watch(TrackedFrame(frame, run.tracked_frames, exporter.folder, by_object))
            except GpuStopped as error:
                if not (keep_partial and run.tracked_frames):
                    raise
                stopped = str(error)
                exporter.keep_only(run.tracked_frames)
            partial = not run.done
            if partial and not keep_partial:
                raise Cancelled("propagation was cancelled")
            seconds = time.perf_counter() - started
            written = exporter.finish(fill_untracked=not partial)
            tracked = run.tracked_frames
            if preview_path is not None and tracked:
                staged.append((partial_file(preview_path), Path(preview_path)))
                render_preview(
                    source,
                    written,
                    obj_ids,
                    staged[-1][0],
                    fps=fps,
                    frames=tracked if partial else None,
                    progress=with_stage(progress, "preview"),
                    cancel=None if partial else cancel,  # a cancelled run still shows what it tracked
                )
            if zip_path is not None:
                final_zip = partial_zip_path(zip_path) if partial else Path(zip_path)
                staged.append((partial_file(final_zip), final_zip))
                zip_masks(written, staged[-1][0])
            for staged_file, final in staged:  # publish them together
                staged_file.replace(final)
            if zip_path is not None and not partial:
                partial_zip_path(zip_path).unlink(missing_ok=True)  # a complete zip drops the partial one
            mask_dir = exporter.publish()
    finally:
        for staged_file, _ in staged:
            staged_file.unlink(missing_ok=True)
        run.close()
        if not run.done:
            run.park()
    published = [final for _, final in staged]
    preview = Path(preview_path) if preview_path is not None and Path(preview_path) in published else None
    masks_zip = published[-1] if zip_path is not None else None
    state_file = None
    if state_path is not None:
        state_file = save_run_state(
            prompts, state_path, direction=direction, tracked=tracked, partial=partial
        )
    exported = ExportedFiles()
    if kept is not None and not partial:
        exported = write_exports(
            exports,
            source,
            kept,
            names=prompts.names,
            progress=with_stage(progress, "alpha video"),
            cancel=cancel,
        )
    frames_now = run.frames_done - done_before
    return SegmentResult(
        mask_dir=Path(mask_dir),
        preview=preview,
        masks_zip=masks_zip,
        obj_ids=obj_ids,
        frames_tracked=run.frames_done,
        seconds=seconds,
        fps=frames_now / seconds if seconds > 0 else 0.0,
        partial=partial,
        tracked=tracked,
        stopped=stopped,
        state_file=state_file,
        run=run if partial else None,
        exported=exported,
    )


def _run_to_continue(
    resume: SegmentResult | None, source: FrameSource, prompts: PromptState, direction: str, batch_size: int
) -> tuple[PropagationRun, Path | None]:
    """The run to advance and the mask folder it continues from: `resume`'s, if resumable, else a new one."""
    if _resumable(resume, source, prompts, direction):
        return resume.run, resume.mask_dir
    return start_propagation(source, prompts, direction=direction, batch_size=batch_size), None


__all__ = ["Progress", "SegmentResult", "TrackedFrame", "check_outputs", "segment_video"]
