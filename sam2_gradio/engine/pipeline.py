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
from dataclasses import dataclass, replace
from pathlib import Path

from sam2_gradio import config
from sam2_gradio.engine.exports import (
    MaskExporter,
    partial_zip_path,
    render_preview,
    save_run_state,
    zip_masks,
)
from sam2_gradio.engine.model import SharedModel
from sam2_gradio.engine.prompts import PromptState
from sam2_gradio.engine.propagation import PropagationRun, run_steps, start_propagation
from sam2_gradio.jobs import CancelFlag, Cancelled, Progress, ProgressCallback
from sam2_gradio.media.frames import FrameSource


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
    partial: bool = False  # cancelled: only `tracked` frames have masks
    tracked: range = range(0)  # the frames that got masks from the model (one contiguous range)
    state_file: Path | None = None  # the clicks plus what was tracked, when asked for
    run: PropagationRun | None = None  # a partial run, parked: pass this result as `resume=` to continue


def _staged(progress: ProgressCallback | None, stage: str) -> ProgressCallback | None:
    if progress is None:
        return None
    return lambda report: progress(replace(report, stage=stage))


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
    model: SharedModel,
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
    keep_partial: bool = False,
    resume: SegmentResult | None = None,
) -> SegmentResult:
    """Propagate `prompts` through `source` and write masks (and optionally a preview, a zip, a state file).

    Masks are written while propagating, into a partial folder moved to `mask_dir` at the end. A failed
    run leaves `mask_dir`, `preview_path` and `zip_path` as they were; so does a cancelled one
    (`jobs.Cancelled`) unless `keep_partial`: then the frames tracked so far are the result (masks, a
    preview of those frames, `<zip>_partial.zip`, the state file) and it says `partial`. `resume` (a
    partial result) continues that run when the clicks and direction are unchanged. `progress` gets
    `Progress` reports with stage "propagate" after every step, then "preview".
    """
    obj_ids = prompts.prompted_objects()
    if _resumable(resume, source, prompts, direction):
        run, carried_from = resume.run, resume.mask_dir
    else:
        run, carried_from = (
            start_propagation(source, prompts, direction=direction, batch_size=batch_size),
            None,
        )
    started, done_before = time.perf_counter(), run.frames_done
    try:
        with MaskExporter(
            mask_dir, source.meta, obj_ids, carried_from=carried_from, carried_frames=run.tracked_frames
        ) as exporter:
            steps = run_steps(model, run, source, progress=_staged(progress, "propagate"), cancel=cancel)
            for frame, frame_obj_ids, masks in steps:
                exporter.write(frame, frame_obj_ids, masks)
            partial = not run.done
            if partial and not keep_partial:
                raise Cancelled("propagation was cancelled")
            seconds = time.perf_counter() - started
            mask_dir = exporter.finish(fill_untracked=not partial)
    finally:
        run.close()
        if not run.done:
            run.park()
    tracked = run.tracked_frames
    preview = None
    if preview_path is not None and tracked:
        preview = render_preview(
            source,
            mask_dir,
            obj_ids,
            preview_path,
            fps=fps,
            frames=tracked if partial else None,
            progress=_staged(progress, "preview"),
            cancel=None if partial else cancel,  # a cancelled run still shows what it tracked
        )
    masks_zip = _zip(mask_dir, zip_path, partial) if zip_path is not None else None
    state_file = None
    if state_path is not None:
        state_file = save_run_state(
            prompts, state_path, direction=direction, tracked=tracked, partial=partial
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
        state_file=state_file,
        run=run if partial else None,
    )


def _zip(mask_dir: Path, zip_path: str | Path, partial: bool) -> Path:
    """Zip the masks as `zip_path`, or `<name>_partial.zip` when partial (a complete zip drops that one)."""
    if partial:
        return zip_masks(mask_dir, partial_zip_path(zip_path))
    partial_zip_path(zip_path).unlink(missing_ok=True)
    return zip_masks(mask_dir, zip_path)


__all__ = ["Progress", "SegmentResult", "segment_video"]
