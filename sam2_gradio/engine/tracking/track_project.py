"""Track a project's prompts through its video into its store, continuing a stopped run exactly.

    with Project.open_or_create("projects/dog", "dog.mp4") as project:
        project.save_prompts(load_prompt_state("interactive_state.json", project.meta))
        result = track_project(model, project)           # masks committed frame by frame
        project_exports.coco(project, "dog.json")         # any output, from the store, any time

Every tracked frame is committed to the store in its own transaction, and every
`config.CHECKPOINT_FRAMES` frames the run's parked state goes with it, so a run stopped in any way
(Cancel, a spent GPU quota, an error, a crash, `kill -9`) continues from its last checkpoint with the
masks of an uninterrupted run: called again with the same prompts, `track_project` continues it, or does
nothing when the masks are current; with other prompts it starts a new run. A cancelled or stopped run
is checkpointed where it stopped, so nothing it tracked is tracked again.

A forward run's preview is encoded while it tracks (`PreviewStream`), so it is ready moments after the
last frame; other directions' previews (and those of runs on ZeroGPU) are written from the store when
asked for.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sam2_gradio import config
from sam2_gradio.engine.exports import project_exports
from sam2_gradio.engine.exports.mask_folder import FrameMaskReader
from sam2_gradio.engine.exports.overlay import draw_legend, draw_masks, legend_labels
from sam2_gradio.engine.model.features import FeatureStore
from sam2_gradio.engine.model.predictor import PredictorLender
from sam2_gradio.engine.store.project import Project
from sam2_gradio.engine.tracking.prompts import PromptState, prompts_key
from sam2_gradio.engine.tracking.propagation import PropagationRun, start_propagation
from sam2_gradio.engine.tracking.steps import run_steps
from sam2_gradio.errors import BadInput, GpuStopped
from sam2_gradio.jobs import CancelFlag, ProgressCallback, with_stage
from sam2_gradio.media.atomic import temp_sibling
from sam2_gradio.media.frames import FrameSource
from sam2_gradio.media.video import VideoWriter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameTracked:
    """A frame `track_project` has just committed, as `watch` gets it."""

    frame: int
    tracked: range  # every frame of the run tracked so far (one contiguous range)
    masks: dict[int, np.ndarray]  # this frame's bool (H, W) mask of each object


@dataclass(frozen=True)
class TrackingResult:
    """What one `track_project` call did."""

    run_id: int | None  # the run tracked into (None: the masks were current already)
    frames_tracked: int  # frames this call tracked
    frames_done: int  # frames of the run tracked so far, by every call
    total: int  # frames of the whole run
    finished: bool  # the run reached its end
    seconds: float  # wall time of this call's tracking
    resumed_at: int | None = None  # the frame this call continued the run from (None: a new run)
    stopped: str | None = None  # why the run stopped early ("cancelled", or the GPU call's failure)
    preview: Path | None = None  # the preview written while tracking (cached in the project)
    already_current: bool = False  # nothing to do: the masks were tracked from these prompts

    @property
    def fps(self) -> float:
        """Frames tracked per second by this call."""
        return self.frames_tracked / self.seconds if self.seconds > 0 else 0.0


def track_project(
    model: PredictorLender,
    project: Project,
    *,
    direction: str = "forward",
    batch_size: int = config.DEFAULT_BATCH_SIZE,
    step_frames: int | None = None,
    preview: bool = True,
    preview_fps: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    watch: Callable[[FrameTracked], None] | None = None,
    features: FeatureStore | None = None,
) -> TrackingResult:
    """Propagate the project's prompts in `direction` and commit every frame's masks to its store.

    Continues the latest run when it tracked these prompts in this direction and did not finish;
    returns at once (`already_current`) when it finished. The model is held one step at a time
    (`run_steps`; `step_frames` fixes a step's frames); `cancel` stops after the current frame, keeping
    every frame tracked, and so does a GPU call that fails after some frames (`GpuStopped`, e.g. a spent
    ZeroGPU quota: `stopped` says why; before any frame it is raised); `progress` gets `Progress`
    reports with stage "tracking"; `watch` gets each
    committed frame. With `preview`, a forward run encodes the preview while it tracks (`result.preview`).
    `features` (the video's `FeatureStore`) lends and keeps image features.
    Raises `BadInput`/`NotReady` for prompts that cannot be tracked, `DiskFull` when the disk fills.
    """
    prompts = project.prompts()
    if project.is_current(direction):
        latest = project.latest_run()
        return TrackingResult(latest.id, 0, latest.total, latest.total, True, 0.0, already_current=True)
    source = project.frames()
    run, run_id, resumed_at = _run_to_continue(project, source, prompts, direction, batch_size)
    run.features = features
    stream = _preview_stream(project, source, run, preview_fps) if preview and _local(model) else None
    started, done_before = time.perf_counter(), run.frames_done
    stopped, clean_stop = None, False
    checkpointed = [run.frames_done]  # frames done at the last checkpoint

    def checkpoint_if_due() -> tuple[int, bytes] | None:
        if run.done or not run.checkpointable or run.frames_done - checkpointed[0] < config.CHECKPOINT_FRAMES:
            return None
        checkpointed[0] = run.frames_done
        return run.frames_done, run.checkpoint()

    def checkpoint_chunk() -> None:  # a GPU worker's chunk: its state is back only now
        if (due := checkpoint_if_due()) is not None:
            project.save_checkpoint(run_id, *due)

    try:
        try:
            for frame, obj_ids, masks in run_steps(
                model, run, source, step_frames=step_frames, progress=with_stage(progress, "tracking"),
                cancel=cancel, after_chunk=checkpoint_chunk,
            ):  # fmt: skip
                project.commit_frame(run_id, frame, obj_ids, masks, checkpoint=checkpoint_if_due())
                by_object = dict(zip(obj_ids, masks, strict=True))
                if stream is not None:
                    stream.add(frame, by_object)
                if watch is not None:
                    watch(FrameTracked(frame, run.tracked_frames, by_object))
        except GpuStopped as error:  # the run was left after the last chunk that came back whole
            stopped, clean_stop = str(error), True
            if not run.tracked_frames:
                raise  # nothing tracked: the GPU's refusal is the answer
        clean_stop = True  # every frame the run counts is committed: a checkpoint here is exact
    finally:
        run.close()
        if run.done:
            project.end_run(run_id, finished=True)
        else:
            if clean_stop and run.checkpointable:
                project.save_checkpoint(run_id, run.frames_done, run.checkpoint())
            project.end_run(
                run_id, finished=False, stopped=stopped or ("cancelled" if clean_stop else "failed")
            )
        written = stream.finish(complete=run.done) if stream is not None else None
        if written is not None and not clean_stop:
            written.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    kept = (
        project_exports.adopt_preview(project, written, fps=preview_fps, legend=stream.legend)
        if written
        else None
    )
    if stopped is None and not run.done:
        stopped = "cancelled"
    return TrackingResult(
        run_id, run.frames_done - done_before, run.frames_done, run.total, run.done, seconds,
        resumed_at=resumed_at, stopped=stopped, preview=kept,
    )  # fmt: skip


def _run_to_continue(
    project: Project, source: FrameSource, prompts: PromptState, direction: str, batch_size: int
) -> tuple[PropagationRun, int, int | None]:
    """(run, its id, frame it resumes at): the latest run continued from its checkpoint when it tracks
    these prompts in this direction, else a new run."""
    latest = project.latest_run()
    if latest is not None and not latest.finished and latest.direction == direction:
        checkpoint = project.checkpoint(latest.id) if latest.prompts_key == prompts_key(prompts) else None
        if checkpoint is not None:
            try:
                run = PropagationRun.from_checkpoint(checkpoint[1], prompts)
            except BadInput as error:
                logger.warning("starting the run again: %s", error)
            else:
                return run, latest.id, run.next_frame()
    run = start_propagation(source, prompts, direction=direction, batch_size=batch_size)
    return run, project.begin_run(prompts, direction, run.total), None


def _local(model: PredictorLender) -> bool:
    """Whether SAM 2 runs in this process. On ZeroGPU each call forks a worker, which would inherit the
    pipes of an ffmpeg started meanwhile by the preview thread and keep them open: no preview stream there
    (the preview is written from the store afterwards)."""
    from sam2_gradio.engine.tracking.gpu_tasks import model_tasks

    return not model_tasks(model).remote


def _preview_stream(
    project: Project, source: FrameSource, run: PropagationRun, fps: float | None
) -> PreviewStream | None:
    """A preview encoded while tracking, for runs that visit frames in ascending order (one forward
    pass); None for the others."""
    if len(run.passes) != 1 or run.passes[0].reverse:
        return None
    first_new = run.next_frame()
    legend = legend_labels(project.objects())
    return PreviewStream(source, project.masks(), first_new, project.folder, fps=fps, legend=legend)


class PreviewStream:
    """Encodes the preview in a background thread as frames are tracked, in ascending order.

    Frames before `first_new` are drawn with the masks of `earlier` (the run's frames tracked before a
    resume; none for a new run); each later frame waits for its masks from `add`. `finish` writes the
    frames after the last one tracked without masks when the run is complete, or stops after the last
    tracked frame when it is not, and returns the file.
    """

    _END = object()

    def __init__(
        self,
        source: FrameSource,
        earlier: FrameMaskReader,
        first_new: int,
        folder: Path,
        *,
        fps: float | None = None,
        legend: dict[int, str] | None = None,
    ) -> None:
        self.path = temp_sibling(folder / "preview.mp4")  # hidden until adopted by the project
        self.legend = legend or {}  # obj_id -> label written on every frame (`overlay.draw_legend`)
        self._source, self._earlier, self._first_new = source, earlier, first_new
        self._fps = fps or source.meta.fps
        self._frames: queue.Queue = queue.Queue(maxsize=config.PREVIEW_QUEUE_FRAMES)
        self._complete = False
        self._ended = False  # the end marker was read
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="preview-stream", daemon=True)
        self._thread.start()

    def add(self, frame: int, masks: dict[int, np.ndarray]) -> None:
        """The masks of the next tracked frame (frames must come in ascending order, none skipped)."""
        if self._error is None:
            self._frames.put((frame, masks))

    def finish(self, *, complete: bool) -> Path | None:
        """Stop the stream; returns the preview, or None when it failed (the error is logged)."""
        self._complete = complete
        self._frames.put(self._END)
        self._thread.join()
        if self._error is not None:
            logger.warning("the preview written while tracking failed: %s", self._error)
            self.path.unlink(missing_ok=True)
            return None
        return self.path

    def _run(self) -> None:
        try:
            with VideoWriter(self.path, fps=self._fps) as writer:
                self._encode(writer)
        except BaseException as error:  # reported by finish(); the tracking goes on
            self._error = error
            while not self._ended:  # keep the producer from blocking
                self._next()

    def _next(self) -> object:
        item = self._frames.get()
        self._ended = item is self._END
        return item

    def _encode(self, writer: VideoWriter) -> None:
        meta = self._source.meta
        pending = None
        for index, pixels in enumerate(self._source.read(0, meta.num_frames)):
            if index < self._first_new:
                masks = dict(zip(self._earlier.obj_ids, self._earlier.masks_of(index), strict=True))
            else:
                pending = self._next() if pending is None else pending
                if pending is self._END:
                    if not self._complete:
                        return
                    masks = {}
                else:
                    frame, masks = pending
                    if frame != index:
                        raise ValueError(f"preview stream got frame {frame}, expected {index}")
                    pending = None
            writer.write(draw_legend(draw_masks(pixels, masks), self.legend))
        while not self._ended:
            self._next()  # up to the end marker
