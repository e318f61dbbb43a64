"""SAM 2's work as calls a GPU worker process can run: plain picklable inputs, picklable CPU outputs.

On Hugging Face ZeroGPU a `@spaces.GPU` function runs in a worker process forked from the app: its
arguments are pickled to it, its results (or each value a generator yields) pickled back, and whatever
it changes in its own memory stays there. So everything that runs SAM 2 goes through calls that take
what they need and return what they made, and the caller keeps the state:

- `ModelTasks.frame_masks`: the masks of one clicked frame (its image, its prompts, and that frame's
  image features when the video's `FeatureStore` keeps them), and the features to keep;
- `ModelTasks.frame_features`: one frame's image features alone (a frame encoded before its first click);
- `ModelTasks.track`: one chunk of a propagation (the parked `PropagationRun`, its frame source, how
  many frames), yielding each tracked frame and then the run, parked again.

`ModelTasks(model)` runs them in this process, on the model's device (no copies: the CLIs, scripts and a
dedicated-GPU app). `ModelTasks(model, gpu=zerogpu_wrapper())` runs each call under `spaces.GPU`, with a
duration computed from its arguments: the model, built on the CPU, is moved to CUDA inside the call, and
every tensor that comes back is on the CPU. Propagation is then a chain of such calls (`run_steps`).

The video's `FeatureStore` stays in the caller's process (the session's). In process the calls use it
directly. A click's call in a worker is sent the clicked frame's features alone and sends back what it
kept (`FeatureStore.only`, `absorb`); a propagation chunk in a worker encodes its frames there, since
moving a frame's features (8 to 16 MiB at 1024 px) through a pickle costs more than a GPU encoding them.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from sam2_gradio import config
from sam2_gradio.engine.model.features import FeatureStore
from sam2_gradio.engine.model.model_frames import ModelFrames
from sam2_gradio.engine.model.predictor import PredictorLender
from sam2_gradio.engine.tracking.prompts import PromptState
from sam2_gradio.engine.tracking.propagation import (
    FrameMasks,
    PropagationRun,
    encode_frame,
    predict_prompted_frame,
)
from sam2_gradio.jobs import CancelFlag, StepSizer
from sam2_gradio.media.frames import FrameSource, VideoMeta

if TYPE_CHECKING:
    from sam2.sam2_video_predictor import SAM2VideoPredictor

Masks = dict[int, np.ndarray]  # obj_id -> bool (H, W)
GpuWrapper = Callable[[Callable, Callable[..., float]], Callable]  # (task, duration of its args) -> call


def zerogpu_wrapper() -> GpuWrapper | None:
    """`spaces.GPU` as a `GpuWrapper` when it runs calls in a ZeroGPU worker, else None (run in process).

    Outside a ZeroGPU Space the real `spaces` package returns the function unchanged: that is None too.
    """
    try:
        import spaces
    except ImportError:
        return None

    def wrap(task: Callable, duration: Callable[..., float]) -> Callable:
        return spaces.GPU(duration=duration)(task)

    probe = wrap(zerogpu_wrapper, lambda: 1)
    return wrap if hasattr(probe, "zerogpu") else None  # the package marks the wrappers it makes


@dataclass(frozen=True)
class OneFrame:
    """A `FrameSource` that holds a single decoded frame of a video (what a click's call needs)."""

    meta: VideoMeta  # the whole video's (SAM 2 sizes its outputs by it)
    index: int  # which frame `image` is
    image: np.ndarray  # RGB uint8 (H, W, 3)

    def read(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Yield the frame if `index` is in `[start, stop)`."""
        if start <= self.index < stop:
            yield self.image


@dataclass(frozen=True)
class StopFile:
    """A cancel flag that another process can read: set once its file exists (it pickles)."""

    path: Path

    def set(self) -> None:
        """Raise the flag."""
        self.path.touch()

    def is_set(self) -> bool:
        """Whether the flag is raised."""
        return self.path.exists()


def frame_prompts(prompts: PromptState, frame: int) -> PromptState:
    """The prompts of `frame` alone (no other frame, no undo history): what a click's call needs."""
    clicks = {frame: {obj: entry.copy() for obj, entry in prompts.clicks_on(frame).items()}}
    return PromptState(video=prompts.video, clicks=clicks, object_ids=list(prompts.object_ids))


def click_seconds(*_: Any) -> float:
    """The duration a click's call asks for (`config.SPACES_CLICK_SECONDS`)."""
    return config.SPACES_CLICK_SECONDS


def chunk_seconds(
    run: PropagationRun, source: FrameSource, max_frames: int, seconds_per_frame: float | None, *_: Any
) -> float:
    """The duration a propagation chunk asks for: its frames at the measured speed, plus
    `config.SPACES_MARGIN_SECONDS`, at most `config.SPACES_GPU_SECONDS` (all of it before any measure)."""
    if seconds_per_frame is None:
        return config.SPACES_GPU_SECONDS
    wanted = max_frames * seconds_per_frame + config.SPACES_MARGIN_SECONDS
    return min(float(config.SPACES_GPU_SECONDS), wanted)


class ModelTasks:
    """The SAM 2 calls of the app (`frame_masks`, `frame_features`, `track`), in this process or in a GPU
    worker."""

    def __init__(self, model: PredictorLender, *, gpu: GpuWrapper | None = None) -> None:
        self.model = model  # lends the predictor (in a worker: its forked copy)
        self.remote = gpu is not None  # calls cross a process boundary: results come back on the CPU
        self.calls = 0  # calls made from this process
        wrap = gpu or (lambda task, duration: task)
        self._frame_masks = wrap(self._frame_masks_here, click_seconds)
        self._track = wrap(self._track_here, chunk_seconds)
        self._frame_features = wrap(self._frame_features_here, click_seconds)

    # --- the calls, as the caller makes them -----------------------------------------------------
    def frame_masks(
        self, image: np.ndarray, frame: int, prompts: PromptState, features: FeatureStore | None = None
    ) -> Masks:
        """Masks of every object prompted on `frame` (`predict_prompted_frame`).

        `image` is the frame (RGB uint8), `prompts` the video's (only `frame`'s travel), `features` the
        video's store: the frame's features kept there are used (its image is then not encoded again),
        and those computed are kept there. In a worker only that frame's features travel, both ways.
        """
        self.calls += 1
        sent = self._sent(features, frame)
        masks, kept = self._frame_masks(image, frame, frame_prompts(prompts, frame), sent)
        self._take_back(features, kept)
        return masks

    def frame_features(self, image: np.ndarray, frame: int, video: VideoMeta, features: FeatureStore) -> None:
        """Encode `frame` (`image`, RGB uint8, of `video`) and keep its features in `features` (the
        video's store), as `frame_masks` would; nothing to do when they are kept already."""
        self.calls += 1
        self._take_back(features, self._frame_features(image, frame, video, self._sent(features, frame)))

    def track(
        self,
        run: PropagationRun,
        source: FrameSource,
        max_frames: int,
        seconds_per_frame: float | None = None,
        stop: CancelFlag | None = None,
    ) -> Iterator[FrameMasks | PropagationRun]:
        """Advance `run` by up to `max_frames` frames: yields each `(frame, obj_ids, masks)`, then the run.

        Stops early once `stop` is set (checked after every frame) and, in a worker, before the call's
        duration (`chunk_seconds`) runs out. The run yielded last is the one to continue from: in a
        worker, `run`'s state advanced there and comes back parked (give it to `PropagationRun.adopt`).
        """
        self.calls += 1
        if self.remote:
            run.park()
        return self._track(run, source, max_frames, seconds_per_frame, stop)

    def chunk_sizer(self, run: PropagationRun) -> StepSizer:
        """How `run_steps` sizes the chunks: steps of `config.STEP_SECONDS` in process (the model is
        shared between sessions step by step), as many frames as fit a call's duration in a worker."""
        if not self.remote:
            return StepSizer(run.batch_size)
        work = config.SPACES_GPU_SECONDS - config.SPACES_MARGIN_SECONDS
        return StepSizer(max(run.total, 1), work, first_frames=max(run.total, 1))

    def stop_flag(self, cancel: CancelFlag | None) -> tuple[CancelFlag | None, Callable[[], None]]:
        """The flag `track` checks for `cancel`, and the cleanup for when the run ends.

        In process it is `cancel` itself; a worker cannot see a `threading.Event`, so it gets a
        `StopFile` that `run_steps` raises when `cancel` is set.
        """
        if not self.remote or cancel is None:
            return cancel, lambda: None
        flag = StopFile(Path(tempfile.gettempdir()) / f"sam2-gradio-stop-{uuid.uuid4().hex}")
        return flag, lambda: flag.path.unlink(missing_ok=True)

    def _sent(self, features: FeatureStore | None, frame: int) -> FeatureStore | None:
        """What a call is given of the video's store: the store itself in process; in a worker, a store
        of `frame`'s features alone (`FeatureStore.only`), which the call sends back."""
        return features.only([frame]) if self.remote and features is not None else features

    def _take_back(self, features: FeatureStore | None, kept: FeatureStore | None) -> None:
        """Keep in the video's store what a call sent back (in process it is the store itself)."""
        if kept is not None and kept is not features:
            features.absorb(kept)

    # --- the calls, as they run (here or in a worker) ---------------------------------------------
    def _frame_masks_here(
        self, image: np.ndarray, frame: int, prompts: PromptState, features: FeatureStore | None
    ) -> tuple[Masks, FeatureStore | None]:
        with self._use() as predictor:
            source = OneFrame(prompts.video, frame, image)
            images = ModelFrames(source, predictor.image_size, predictor.device, prefetch=False)
            masks = predict_prompted_frame(predictor, images, prompts, frame, features)
        return masks, features

    def _frame_features_here(
        self, image: np.ndarray, frame: int, video: VideoMeta, features: FeatureStore
    ) -> FeatureStore:
        with self._use() as predictor:
            source = OneFrame(video, frame, image)
            images = ModelFrames(source, predictor.image_size, predictor.device, prefetch=False)
            encode_frame(predictor, images, frame, features)
        return features

    def _track_here(
        self,
        run: PropagationRun,
        source: FrameSource,
        max_frames: int,
        seconds_per_frame: float | None,
        stop: CancelFlag | None,
    ) -> Iterator[FrameMasks | PropagationRun]:
        budget = chunk_seconds(run, source, max_frames, seconds_per_frame) - config.SPACES_MARGIN_SECONDS
        deadline = time.monotonic() + budget if self.remote else float("inf")
        slowest = 0.0  # the longest frame of this call: the next one must fit before the deadline too
        with (
            self._use() as predictor,
            contextlib.closing(run.step(predictor, source, max_frames=max_frames)) as step,
        ):
            started = time.monotonic()
            for item in step:
                slowest = max(slowest, time.monotonic() - started)
                yield item
                if (stop is not None and stop.is_set()) or time.monotonic() + slowest >= deadline:
                    break
                started = time.monotonic()
        if self.remote:
            run.close()
            run.park()
        yield run

    @contextlib.contextmanager
    def _use(self) -> Iterator[SAM2VideoPredictor]:
        """The predictor, on CUDA inside a worker when there is one (ZeroGPU lends it only there)."""
        device = torch.device("cuda") if self.remote and torch.cuda.is_available() else None
        with self.model.use(device=device) as predictor:
            yield predictor


def model_tasks(model: PredictorLender) -> ModelTasks:
    """The tasks of `model`: its own when it has some (the app's, maybe on ZeroGPU), else in-process ones."""
    tasks = getattr(model, "tasks", None)
    return tasks if isinstance(tasks, ModelTasks) else ModelTasks(model)
