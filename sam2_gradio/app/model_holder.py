"""The app's handle on the shared SAM 2 model: built once, or a plain message saying what is missing.

The app starts whether or not weights are available: Compose never needs the model, and Segment shows
`AppModel.status` (which weights run where, or which file is missing and the exact command that fetches
it). Everything that runs the model goes through `AppModel.use()`, which behaves like
`SharedModel.use()` and raises `ModelUnavailable` with that message when there is no model.

Its `tasks` (`engine.tracking.gpu_tasks.ModelTasks`) are the calls that run SAM 2: under `spaces.GPU` on a
Hugging Face ZeroGPU Space, where the model is built on the CPU (the main process never touches CUDA)
and each call moves it to the GPU it is lent; in this process everywhere else.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from sam2_gradio import config
from sam2_gradio.engine.tracking.gpu_tasks import ModelTasks, zerogpu_wrapper
from sam2_gradio.errors import ModelUnavailable

if TYPE_CHECKING:
    import torch
    from sam2.sam2_video_predictor import SAM2VideoPredictor

    from sam2_gradio.engine.model.predictor import ModelSettings, SharedModel


logger = logging.getLogger(__name__)


class AppModel:
    """The shared model of the app, built on first use (or by `load()` at start-up); a `PredictorLender`."""

    def __init__(self, settings: ModelSettings, *, model: SharedModel | None = None) -> None:
        self.tasks = ModelTasks(self, gpu=zerogpu_wrapper())  # the SAM 2 calls (on ZeroGPU: in a worker)
        if self.tasks.remote:  # the main process of a ZeroGPU Space must not initialise CUDA
            settings = replace(settings, device="cpu")
        self.settings = settings  # which model to build
        self._model = model  # the built model (given directly by tests)
        self._error: str | None = None  # why the model cannot be built, once known
        self._lock = threading.Lock()  # one build at a time

    def load(self) -> SharedModel:
        """The shared model, built on the first call; raises `ModelUnavailable` when weights are missing."""
        with self._lock:
            if self._model is None and self._error is None:
                self._build()
            if self._model is None:
                raise ModelUnavailable(self._error)
            return self._model

    def _build(self) -> None:
        from sam2_gradio.engine.model.checkpoints import fetch_command
        from sam2_gradio.engine.model.predictor import get_shared_model
        from sam2_gradio.errors import CheckpointUnavailable

        try:
            self._model = get_shared_model(self.settings)
        except CheckpointUnavailable as error:
            self._error = str(error)
        except FileNotFoundError as error:  # an explicit checkpoint path that names no file
            fetch = fetch_command(self.settings.model_size)
            self._error = f"{error}; give an existing file, or fetch the weights with `{fetch}`."
        if self._error is not None:
            logger.warning("Segmentation is unavailable: %s", self._error)

    @contextlib.contextmanager
    def use(self, device: torch.device | None = None) -> Iterator[SAM2VideoPredictor]:
        """Hold the model exclusively (see `SharedModel.use`)."""
        with self.load().use(device) as predictor:
            yield predictor

    @property
    def may_encode_ahead(self) -> bool:
        """Whether a shown frame may be encoded in the background (`config.ENCODE_SHOWN_FRAME`): not on
        ZeroGPU, where each encode would be a GPU call spending the visitor's quota (and the main
        process must not run the model)."""
        return config.ENCODE_SHOWN_FRAME and not self.tasks.remote

    @property
    def idle(self) -> bool:
        """Whether the model is built and nobody uses it or waits for it now."""
        model = self._model  # not under `_lock`: that is held for the whole build
        return model is not None and model.idle

    @property
    def status(self) -> str:
        """One line for the Segment tab: the model in use, or what is missing and how to fetch it."""
        try:
            model = self.load()
        except ModelUnavailable as error:
            return f"Segmentation is unavailable: {error}"
        line = model.description
        if self.tasks.remote:
            line += ", moved to a ZeroGPU GPU for each call"
        if self.settings.random_weights:
            line += ". Random weights: masks are meaningless; this mode is for trying the app offline."
        return line

    @property
    def available(self) -> bool:
        """Whether a model is built (or can be)."""
        try:
            self.load()
        except ModelUnavailable:
            return False
        return True
