"""Propagation driven in steps: a `PropagationRun` advanced one `ModelTasks.track` call at a time.

`propagation` holds the run itself and `gpu_tasks` the calls that advance it (in this process, or in a
ZeroGPU worker); this module chains those calls, so neither of them imports the other's caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import closing

from sam2_gradio import config
from sam2_gradio.engine.model.features import FeatureStore
from sam2_gradio.engine.model.predictor import PredictorLender
from sam2_gradio.engine.tracking.gpu_tasks import ModelTasks, model_tasks
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.engine.tracking.propagation import FrameMasks, PropagationRun, start_propagation
from sam2_gradio.errors import GpuStopped
from sam2_gradio.jobs import (
    CancelFlag,
    ProgressCallback,
    ProgressMeter,
    StepSizer,
    raise_if_cancelled,
)
from sam2_gradio.media.frames import FrameSource

logger = logging.getLogger(__name__)


def run_steps(
    model: PredictorLender,
    run: PropagationRun,
    source: FrameSource,
    *,
    step_frames: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    after_chunk: Callable[[], None] | None = None,
) -> Iterator[FrameMasks]:
    """Advance `run` in chunks, each one call of `ModelTasks.track`, and yield every frame it tracks.

    In process a chunk holds the model for about `config.STEP_SECONDS` (`jobs.StepSizer`); on ZeroGPU
    it is one GPU call doing as many frames as fit its duration, resumed from the parked run by the
    next (`ModelTasks.chunk_sizer`). `step_frames` fixes a chunk's frames instead. `progress` gets a
    `Progress` after every chunk (and every `config.STEP_SECONDS` within a ZeroGPU call), and
    `after_chunk` is called once a chunk's state is back in `run` (e.g. to checkpoint it). Stops at
    the end, or as soon as `cancel` is set (checked after every frame; no exception). Stopping early,
    or leaving the loop early, leaves `run` right after the last frame yielded (`park` it to keep it,
    `close` it to drop it).
    """
    tasks = model_tasks(model)
    sizer = tasks.chunk_sizer(run)
    meter = ProgressMeter(run.total, None, progress, done=run.frames_done)
    stop, clean_up = tasks.stop_flag(cancel)
    retried = False  # a GPU call that failed before its first frame is made once more
    try:
        while not run.done and not (cancel is not None and cancel.is_set()):
            planned = sizer.begin()  # also starts timing the chunk
            frames = max(1, min(step_frames or planned, run.total - run.frames_done))
            done_before, counters = run.frames_done, run.counters()
            try:
                yield from _chunk(tasks, run, source, frames, sizer, meter, stop, cancel)
            except Exception as error:
                if not tasks.remote:
                    raise
                run.rewind(counters)
                if run.frames_done == done_before and not retried:  # a lost worker: ZeroGPU forks anew
                    logger.warning("GPU call failed before its first frame (%s); trying once more", error)
                    retried = True
                    continue
                raise GpuStopped(f"the GPU call stopped ({error})") from error
            retried = False
            sizer.end(run.frames_done - done_before)
            meter.report()
            if after_chunk is not None:
                after_chunk()
    finally:
        clean_up()


def _chunk(
    tasks: ModelTasks,
    run: PropagationRun,
    source: FrameSource,
    frames: int,
    sizer: StepSizer,
    meter: ProgressMeter,
    stop: CancelFlag | None,
    cancel: CancelFlag | None,
) -> Iterator[FrameMasks]:
    """One chunk of `run_steps`: one `ModelTasks.track` call of `frames` frames."""
    with closing(tasks.track(run, source, frames, sizer.seconds_per_frame, stop)) as chunk:
        for item in chunk:
            if isinstance(item, PropagationRun):
                run.adopt(item)
                continue
            meter.frame_done()
            if tasks.remote:  # a chunk lasts long: report as often as in-process steps would
                run.record_frame(item[0])
                if meter.seconds_since_report() >= config.STEP_SECONDS:
                    meter.report()
            yield item
            if tasks.remote and stop is not None and cancel.is_set():
                stop.set()  # the worker stops after its current frame and sends the run back


def propagate(
    model: PredictorLender,
    source: FrameSource,
    prompts: PromptState,
    *,
    direction: str = "forward",
    batch_size: int = 32,
    step_frames: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    features: FeatureStore | None = None,
) -> Iterator[FrameMasks]:
    """Track every prompted object through `source`, yielding `(frame, obj_ids, masks)` per frame.

    Frames are decoded `batch_size` at a time and tracked in steps of at most as many (`run_steps`:
    about `config.STEP_SECONDS` each, or `step_frames`); the model is held for one step at a time.
    `progress` is called after each step and `cancel` (an object with `is_set()`, e.g.
    `threading.Event`) is checked between frames, raising `jobs.Cancelled`. `features` (a
    `FeatureStore`) lends and keeps the frames' image features.
    """
    run = start_propagation(source, prompts, direction=direction, batch_size=batch_size, features=features)
    try:
        for item in run_steps(model, run, source, step_frames=step_frames, progress=progress):
            raise_if_cancelled(cancel, "propagation")
            yield item
    finally:
        run.close()
